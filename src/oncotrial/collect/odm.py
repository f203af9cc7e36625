"""CDISC ODM 1.3.2: the protocol's eCRFs and the entered data, with their audit records.

ODM is the interchange every other EDC reads (OpenClinica, REDCap, Rave). The study's metadata
come from the protocol: one ``StudyEventDef`` per visit definition, one ``FormDef`` and
``ItemGroupDef`` per form version (``F.AE.V2``), one ``ItemDef`` per field with its question,
range checks, code list and an ``Alias`` naming the SDTM variable it feeds. The clinical data are
written one subject at a time (:func:`write_odm` takes an iterable, so a trial of any size is
written in the memory of one casebook): with ``audit=True`` the file is Transactional and
each item appears once per change, in order, with who, when and why (``AuditRecord``); without,
it is a Snapshot of the current values.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from xml.etree import ElementTree as ET

from oncotrial.collect.schedule import visit_definition
from oncotrial.collect.validate import edc_form
from oncotrial.protocol import Protocol
from oncotrial.protocol.edc import FormField

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DATA_TYPES = {"text": "text", "integer": "integer", "decimal": "float", "date": "date", "datetime": "datetime",
               "code": "text", "boolean": "boolean"}
_EVENT_TYPES = {"screening": "Scheduled", "cycle": "Scheduled", "assessment": "Scheduled",
                "end_of_treatment": "Scheduled", "follow_up": "Scheduled", "unscheduled": "Unscheduled",
                "log": "Common"}


@dataclass(frozen=True)
class Change:
    """One audit link of an entry: the fields it set (``None``: the value was removed)."""

    when: str
    user: str
    values: Mapping[str, Any]
    reason: str = ""
    source_id: str = ""


@dataclass(frozen=True)
class Entry:
    """One entry of a subject's casebook: where it sits, its current values and how it got them."""

    visit: str
    form: str
    version: int
    repeat_key: str
    values: Mapping[str, Any]
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Subject:
    """One subject's casebook for ODM: its key, site and entries."""

    subject_key: str
    site: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _translated(parent: ET.Element, tag: str, text: str) -> None:
    el = ET.SubElement(parent, _q(tag))
    ET.SubElement(el, _q("TranslatedText"), {XML_LANG: "en"}).text = text


def _oid(prefix: str, *parts: object) -> str:
    return ".".join([prefix, *(str(p).replace(" ", "_") for p in parts)])


def item_oid(form: str, field_id: str) -> str:
    return _oid("IT", form, field_id)


def form_oid(form: str, version: int) -> str:
    return _oid("F", form, f"V{version}")


def event_oid(protocol: Protocol, visit: str) -> str:
    """The StudyEventDef of a visit name: its visit definition's id."""
    definition = visit_definition(protocol, visit)
    if definition is None:
        raise ValueError(f"visit: {visit!r} is not a visit of protocol {protocol.study.id}'s schedule")
    return _oid("SE", definition.id)


def metadata(protocol: Protocol) -> tuple[ET.Element, str, str]:
    """The ``Study`` element for the protocol, with its study OID and MetaDataVersion OID."""
    if protocol.edc is None:
        raise ValueError(f"protocol {protocol.study.id} has no [edc] block: it has no eCRFs to describe")
    edc = protocol.edc
    study_oid, mdv_oid = _oid("S", protocol.study.id), _oid("MDV", protocol.study.id)
    study = ET.Element(_q("Study"), {"OID": study_oid})
    gv = ET.SubElement(study, _q("GlobalVariables"))
    ET.SubElement(gv, _q("StudyName")).text = protocol.study.id
    ET.SubElement(gv, _q("StudyDescription")).text = protocol.study.title
    ET.SubElement(gv, _q("ProtocolName")).text = protocol.study.id
    mdv = ET.SubElement(study, _q("MetaDataVersion"), {"OID": mdv_oid,
                                                       "Name": f"{protocol.study.id} eCRFs"})
    prot = ET.SubElement(mdv, _q("Protocol"))
    for order, visit in enumerate(edc.visits, start=1):
        ET.SubElement(prot, _q("StudyEventRef"), {"StudyEventOID": _oid("SE", visit.id), "OrderNumber": str(order),
                                                   "Mandatory": "No"})
    forms = {f.id: f for f in edc.forms}
    for visit in edc.visits:
        repeating = visit.kind in ("cycle", "assessment", "follow_up", "unscheduled", "log")
        se = ET.SubElement(mdv, _q("StudyEventDef"), {"OID": _oid("SE", visit.id), "Name": visit.name,
                                                       "Repeating": "Yes" if repeating else "No",
                                                       "Type": _EVENT_TYPES[visit.kind]})
        order = 0
        for form_id in visit.forms:
            for version in forms[form_id].version_numbers:
                order += 1
                ET.SubElement(se, _q("FormRef"), {"FormOID": form_oid(form_id, version), "OrderNumber": str(order),
                                                   "Mandatory": "No"})
    for form in edc.forms:
        for version in form.version_numbers:
            fd = ET.SubElement(mdv, _q("FormDef"), {"OID": form_oid(form.id, version),
                                                     "Name": f"{form.label} (version {version})",
                                                     "Repeating": "Yes" if form.repeats else "No"})
            ET.SubElement(fd, _q("ItemGroupRef"), {"ItemGroupOID": _oid("IG", form.id, f"V{version}"),
                                                    "Mandatory": "Yes"})
    for form in edc.forms:
        for version in form.version_numbers:
            ig = ET.SubElement(mdv, _q("ItemGroupDef"), {"OID": _oid("IG", form.id, f"V{version}"),
                                                          "Name": form.label, "Repeating": "No"})
            for order, f in enumerate(form.fields_of(version), start=1):
                ET.SubElement(ig, _q("ItemRef"), {"ItemOID": item_oid(form.id, f.id), "OrderNumber": str(order),
                                                   "Mandatory": "Yes" if f.required else "No"})
    for form in edc.forms:
        for f in form.fields:
            mdv.append(_item_def(form.id, f))
    for cl in edc.codelists:
        el = ET.SubElement(mdv, _q("CodeList"), {"OID": _oid("CL", cl.id), "Name": cl.id, "DataType": "text"})
        for code in cl.codes:
            item = ET.SubElement(el, _q("CodeListItem"), {"CodedValue": code.code})
            _translated(item, "Decode", code.label or code.code)
    return study, study_oid, mdv_oid


def _item_def(form: str, f: FormField) -> ET.Element:
    kind = "partialDate" if f.type == "date" and f.partial_dates else _DATA_TYPES[f.type]
    item = ET.Element(_q("ItemDef"), {"OID": item_oid(form, f.id), "Name": f.id, "DataType": kind})
    _translated(item, "Question", f.label + (f" ({f.unit})" if f.unit else ""))
    for comparator, bound in (("GE", f.min), ("LE", f.max)):
        if bound is not None:
            rc = ET.SubElement(item, _q("RangeCheck"), {"Comparator": comparator, "SoftHard": "Hard"})
            ET.SubElement(rc, _q("CheckValue")).text = f"{bound:g}"
            _translated(rc, "ErrorMessage", f"{f.label}: expected {'>=' if comparator == 'GE' else '<='} {bound:g}")
    if f.codelist:
        ET.SubElement(item, _q("CodeListRef"), {"CodeListOID": _oid("CL", f.codelist)})
    for target in f.sdtm:
        ET.SubElement(item, _q("Alias"), {"Context": "SDTM", "Name": target})
    return item


def _value(v: Any) -> str:
    """ODM's text of a value: booleans as true/false, floats to 15 significant digits."""
    if isinstance(v, bool):
        return str(v).lower()
    return (f"{v:.15g}" if math.isfinite(v) else "") if isinstance(v, float) else str(v)


def _audit(parent: ET.Element, change: Change, site: str) -> None:
    ar = ET.SubElement(parent, _q("AuditRecord"))
    ET.SubElement(ar, _q("UserRef"), {"UserOID": _oid("USR", change.user)})
    ET.SubElement(ar, _q("LocationRef"), {"LocationOID": _oid("LOC", site)})
    ET.SubElement(ar, _q("DateTimeStamp")).text = change.when
    if change.reason:
        ET.SubElement(ar, _q("ReasonForChange")).text = change.reason
    if change.source_id:
        ET.SubElement(ar, _q("SourceID")).text = change.source_id


def subject_data(protocol: Protocol, subject: Subject, *, audit: bool = True) -> ET.Element:
    """One ``SubjectData``: each entry as StudyEventData > FormData > ItemGroupData > ItemData."""
    sd = ET.Element(_q("SubjectData"), {"SubjectKey": subject.subject_key, "TransactionType": "Insert"})
    ET.SubElement(sd, _q("SiteRef"), {"LocationOID": _oid("LOC", subject.site)})
    for e in subject.entries:
        form = edc_form(protocol, e.form)
        ev = ET.SubElement(sd, _q("StudyEventData"), {"StudyEventOID": event_oid(protocol, e.visit),
                                                      "StudyEventRepeatKey": e.visit})
        fd = ET.SubElement(ev, _q("FormData"), {"FormOID": form_oid(form.id, e.version),
                                                "FormRepeatKey": e.repeat_key or "1"})
        ig = ET.SubElement(fd, _q("ItemGroupData"), {"ItemGroupOID": _oid("IG", form.id, f"V{e.version}"),
                                                     "ItemGroupRepeatKey": "1", "TransactionType": "Upsert"})
        if audit and e.changes:
            seen: set[str] = set()
            for change in e.changes:
                for name, v in change.values.items():
                    attrs = {"ItemOID": item_oid(form.id, name)}
                    if v is None:
                        attrs["TransactionType"] = "Remove"
                    else:
                        attrs.update(Value=_value(v), TransactionType="Update" if name in seen else "Insert")
                    seen.add(name)
                    _audit(ET.SubElement(ig, _q("ItemData"), attrs), change, subject.site)
        else:
            for name, v in e.values.items():
                ET.SubElement(ig, _q("ItemData"), {"ItemOID": item_oid(form.id, name), "Value": _value(v)})
    return sd


def write_odm(out: TextIO, protocol: Protocol, subjects: Iterable[Subject], *, users: Iterable[str] = (),
              sites: Iterable[tuple[str, str]] = (), audit: bool = True, created: dt.datetime | None = None,
              source_system_version: str = "") -> int:
    """Write the ODM 1.3.2 document to ``out``, one subject at a time; returns the number of subjects.

    ``users`` are the user names the audit records refer to and ``sites`` (code, name) the sites the
    subjects belong to, written as AdminData so every ``UserRef`` and ``LocationRef`` resolves.

    Example
    -------
    >>> import io
    >>> from oncotrial.protocol import load_protocol
    >>> buf = io.StringIO()
    >>> s = Subject("P001", "S01", (Entry("LOG", "AE", 1, "1", {"AETERM": "Nausea"},
    ...             (Change("2021-01-10T09:00:00Z", "kim", {"AETERM": "Nausea"}),)),))
    >>> write_odm(buf, load_protocol("patina"), [s], users=["kim"], sites=[("S01", "Site 1")],
    ...           created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    1
    >>> 'ItemOID="IT.AE.AETERM" Value="Nausea" TransactionType="Insert"' in buf.getvalue()
    True
    """
    ET.register_namespace("", ODM_NS)
    study, study_oid, mdv_oid = metadata(protocol)
    when = (created or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
    head = ET.Element(_q("ODM"), {"FileType": "Transactional" if audit else "Snapshot",
                                  "FileOID": _oid("ODM", protocol.study.id, when), "CreationDateTime": when,
                                  "ODMVersion": "1.3.2", "Originator": "oncotrial", "SourceSystem": "oncotrial",
                                  "SourceSystemVersion": source_system_version or "unknown"})
    opening = ET.tostring(head, encoding="unicode")
    if opening.endswith(" />"):
        opening = opening[:-3] + ">"
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + opening + "\n")
    ET.indent(study, space="  ", level=1)
    out.write("  " + _bare(study) + "\n")
    admin = ET.Element(_q("AdminData"), {"StudyOID": study_oid})
    for name in sorted(set(users)):
        user = ET.SubElement(admin, _q("User"), {"OID": _oid("USR", name)})
        ET.SubElement(user, _q("LoginName")).text = name
    for code, name in sites:
        loc = ET.SubElement(admin, _q("Location"), {"OID": _oid("LOC", code), "Name": name or code,
                                                     "LocationType": "Site"})
        ET.SubElement(loc, _q("MetaDataVersionRef"), {"StudyOID": study_oid, "MetaDataVersionOID": mdv_oid,
                                                      "EffectiveDate": when[:10]})
    ET.indent(admin, space="  ", level=1)
    out.write("  " + _bare(admin) + "\n")
    out.write(f'  <ClinicalData StudyOID="{_attr(study_oid)}" MetaDataVersionOID="{_attr(mdv_oid)}">\n')
    n = 0
    for subject in subjects:
        sd = subject_data(protocol, subject, audit=audit)
        ET.indent(sd, space="  ", level=2)
        out.write("    " + _bare(sd) + "\n")
        n += 1
    out.write("  </ClinicalData>\n</ODM>\n")
    return n


def _bare(el: ET.Element) -> str:
    """An element's XML without the namespace declaration its parent document already makes."""
    return ET.tostring(el, encoding="unicode").replace(f' xmlns="{ODM_NS}"', "", 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
