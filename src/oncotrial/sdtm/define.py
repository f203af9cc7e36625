"""define.xml 2.1: the metadata that travels with a set of SDTM datasets.

:func:`define_xml` describes each dataset (one ``ItemGroupDef`` with its class, keys and file),
each variable (one ``ItemDef`` with data type, length, label, origin and code list) and each
code list, from the frames themselves, the standard labels of :mod:`oncotrial.sdtm.spec`, and
what the caller knows of where a variable came from (:class:`VariableMeta`: the data capture
passes the protocol's field labels, origins and code lists, so a reviewer reads the eCRF's own
words). The document follows the CDISC Define-XML 2.1 model on ODM 1.3.2.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd

from oncotrial.sdtm.spec import label_for, spec_for

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

ORIGIN_TYPES = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
ORIGIN_SOURCES = ("Subject", "Investigator", "Vendor", "Sponsor")

_CLASSES = {
    "SPECIAL PURPOSE": ("DM", "CO", "SE", "SV", "SM"),
    "EVENTS": ("AE", "CE", "DS", "DV", "HO", "MH"),
    "INTERVENTIONS": ("CM", "EC", "EX", "ML", "PR", "SU"),
    "TRIAL DESIGN": ("TA", "TD", "TE", "TI", "TM", "TS", "TV"),
}
_STRUCTURE = {
    "DM": "One record per subject",
    "SV": "One record per subject per actual visit",
    "AE": "One record per adverse event per subject",
    "DS": "One record per disposition status or protocol milestone per subject",
    "MH": "One record per medical history event per subject",
    "EX": "One record per constant dosing interval per subject",
    "CM": "One record per recorded intervention occurrence per subject",
    "PR": "One record per recorded procedure per subject",
    "TU": "One record per identified tumor per subject per assessor",
    "TR": "One record per tumor measurement/assessment per visit per subject per assessor",
    "RS": "One record per response assessment per visit per subject per assessor",
}
# Variables whose value the sponsor's system assigns rather than anyone collects.
_ASSIGNED = {"STUDYID", "DOMAIN", "USUBJID", "RDOMAIN", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QORIG"}


@dataclass(frozen=True)
class VariableMeta:
    """What is known of one variable beyond its values.

    ``origin`` is a Define-XML origin type (``Collected``, ``Derived``, ``Assigned``, ``Protocol``,
    ``Predecessor``, ``Not Available``) and ``source`` who gave it (``Subject``, ``Investigator``,
    ``Vendor``, ``Sponsor``); ``codes`` maps each allowed value to its decode ("" for none).
    """

    label: str = ""
    origin: str = ""
    source: str = ""
    codes: Mapping[str, str] = field(default_factory=dict)
    codelist: str = ""

    def __post_init__(self) -> None:
        if self.origin and self.origin not in ORIGIN_TYPES:
            raise ValueError(f"origin: expected one of {', '.join(ORIGIN_TYPES)}, got {self.origin!r}")
        if self.source and self.source not in ORIGIN_SOURCES:
            raise ValueError(f"source: expected one of {', '.join(ORIGIN_SOURCES)}, got {self.source!r}")


def dataset_class(name: str) -> str:
    """The SDTM observation class of a dataset (``FINDINGS`` unless it is known to be another).

    >>> dataset_class("AE"), dataset_class("SUPPAE"), dataset_class("TR")
    ('EVENTS', 'RELATIONSHIP', 'FINDINGS')
    """
    up = name.upper()
    if up.startswith("SUPP") or up == "RELREC":
        return "RELATIONSHIP"
    for cls, members in _CLASSES.items():
        if up in members:
            return cls
    return "FINDINGS"


def _keys(name: str, columns: list[str]) -> list[str]:
    up = name.upper()
    if up == "DM":
        wanted = ["STUDYID", "USUBJID"]
    elif up.startswith("SUPP"):
        wanted = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
    else:
        wanted = ["STUDYID", "USUBJID", f"{up}SEQ"]
    return [k for k in wanted if k in columns]


def _present(values: pd.Series) -> pd.Series:
    return values[values.notna() & (values.astype(str).str.strip() != "")]


class ColumnSummary:
    """What define.xml says of one variable's values (data type, length, significant digits), and
    how many rows, gathered a part of the dataset at a time: the summary of the parts is that of the whole.

    >>> whole = ColumnSummary("AESEV").add(pd.Series(["MILD", "SEVERE"]))
    >>> parts = ColumnSummary("AESEV").add(pd.Series(["MILD"])).add(pd.Series(["SEVERE"]))
    >>> whole.data_type() == parts.data_type() == ("text", 6, None)
    True
    """

    def __init__(self, column: str) -> None:
        self.column = column
        self.rows = 0
        self.kind: str | None = None  # "bool", "number" or "text", from the values' dtype
        self.present = False
        self.all_dates = True
        self.any_time = False
        self.integral = True
        self.longest = 0
        self.negative = False
        self.decimals = 0
        self.digits = 0
        self.length = 0

    def add(self, values: pd.Series) -> "ColumnSummary":
        """Take in more values of the variable (the dtype is the whole dataset's); returns itself."""
        self.kind = ("bool" if pd.api.types.is_bool_dtype(values) else
                     "number" if pd.api.types.is_numeric_dtype(values) else "text")
        self.rows += len(values)
        present = _present(values)
        if present.empty:
            return self
        self.present = True
        if self.column.endswith("DTC"):
            text = present.astype(str)
            self.all_dates &= bool((text.str.len() == 10).all())
            self.any_time |= bool(text.str.contains("T").any())
        elif self.kind == "number":
            numbers = pd.to_numeric(present, errors="coerce").dropna()
            if not numbers.empty:
                self.integral &= bool((numbers == numbers.round()).all())
                self.longest = max(self.longest, int(numbers.abs().max()))
                self.negative |= bool((numbers < 0).any())
                self.decimals = max(self.decimals, max(len(f"{v:.10g}".partition(".")[2]) for v in numbers))
                self.digits = max(self.digits, max(len(f"{v:.10g}".replace("-", "").replace(".", "")) for v in numbers))
        elif self.kind == "text":
            self.length = max(self.length, int(present.astype(str).str.encode("utf-8").str.len().max()))
        return self

    def data_type(self) -> tuple[str, int | None, int | None]:
        """Define-XML DataType, Length and SignificantDigits."""
        if self.column.endswith("DTC"):
            if not self.present or self.all_dates:
                return "date", None, None
            return ("datetime" if self.any_time else "partialDate"), None, None
        if self.kind == "bool":
            return "text", 1, None
        if self.kind == "number":
            if self.integral:
                return "integer", max(1, len(str(self.longest)) + int(self.negative)), None
            return "float", max(self.digits, 1), self.decimals
        return "text", max(1, self.length), None


def summarize(frame: pd.DataFrame) -> dict[str, ColumnSummary]:
    """Each column's :class:`ColumnSummary` of a dataset (or its first part: ``add`` the next parts)."""
    return {str(c): ColumnSummary(str(c)).add(frame[c]) for c in frame.columns}


def add_to_summary(summary: dict[str, ColumnSummary], frame: pd.DataFrame) -> None:
    """Take a further part of the dataset ``summary`` describes (same columns) into it."""
    for c in frame.columns:
        summary[str(c)].add(frame[c])


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, tag)
    tt = ET.SubElement(el, f"{{{ODM_NS}}}TranslatedText", {XML_LANG: "en"})
    tt.text = text
    return el


def _oid(*parts: str) -> str:
    return ".".join(p.replace(" ", "_") for p in parts)


def define_xml(domains: Mapping[str, pd.DataFrame | Mapping[str, ColumnSummary]], *, study_id: str, study_name: str = "",
               description: str = "", protocol_name: str = "",
               variables: Mapping[str, VariableMeta] | None = None,
               files: Mapping[str, str] | None = None, standard: str = "SDTMIG",
               standard_version: str = "3.4", created: dt.datetime | None = None,
               source_system_version: str = "") -> str:
    """The define.xml 2.1 document describing ``domains``.

    ``variables`` is keyed ``"DOMAIN.VARIABLE"`` (``"AE.AETOXGR"``; ``"SUPPAE.QVAL"`` for a
    supplemental dataset's values); ``files`` names each dataset's file (default
    ``<domain>.xpt``). Values outside a variable's code list are not checked here: the eCRF
    refused them when they were entered. A dataset too large to hold is given as its
    columns' summaries (:func:`summarize`, :func:`add_to_summary`) instead of its frame.

    Example
    -------
    >>> ae = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["AE"], "USUBJID": ["S-1"], "AESEQ": [1],
    ...                    "AETERM": ["Nausea"], "AETOXGR": ["2"], "AESTDTC": ["2021-01-10"]})
    >>> doc = define_xml({"AE": ae}, study_id="S", created=dt.datetime(2026, 1, 1),
    ...                  variables={"AE.AETOXGR": VariableMeta("CTCAE grade", "Collected", "Investigator",
    ...                                                        {"1": "Mild", "2": "Moderate"})})
    >>> 'def:DefineVersion="2.1.0"' in doc, 'CodedValue="2"' in doc
    (True, True)
    """
    if not study_id:
        raise ValueError("study_id: required (it names the Study element)")
    meta = dict(variables or {})
    files = dict(files or {})
    ET.register_namespace("", ODM_NS)
    ET.register_namespace("def", DEF_NS)
    ET.register_namespace("xlink", XLINK_NS)
    when = (created or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
    odm = ET.Element(f"{{{ODM_NS}}}ODM", {
        "FileType": "Snapshot", "FileOID": _oid("DEFINE", study_id), "ODMVersion": "1.3.2",
        "CreationDateTime": when, "Originator": "oncotrial", "SourceSystem": "oncotrial",
        "SourceSystemVersion": source_system_version or "unknown", f"{{{DEF_NS}}}Context": "Submission"})
    study = ET.SubElement(odm, f"{{{ODM_NS}}}Study", {"OID": _oid("STUDY", study_id)})
    gv = ET.SubElement(study, f"{{{ODM_NS}}}GlobalVariables")
    for tag, text in (("StudyName", study_name or study_id), ("StudyDescription", description or study_name or study_id),
                      ("ProtocolName", protocol_name or study_id)):
        ET.SubElement(gv, f"{{{ODM_NS}}}{tag}").text = text
    mdv = ET.SubElement(study, f"{{{ODM_NS}}}MetaDataVersion", {
        "OID": _oid("MDV", study_id, standard), "Name": f"{study_id} {standard} {standard_version}",
        "Description": f"Data definitions for {study_id}", f"{{{DEF_NS}}}DefineVersion": "2.1.0"})
    standards = ET.SubElement(mdv, f"{{{DEF_NS}}}Standards")
    std_oid = _oid("STD", standard, standard_version)
    ET.SubElement(standards, f"{{{DEF_NS}}}Standard", {"OID": std_oid, "Name": standard, "Type": "IG",
                                                        "Version": standard_version, "Status": "Final"})
    item_defs: list[ET.Element] = []
    code_lists: dict[str, ET.Element] = {}
    for name in sorted(domains, key=lambda n: (n.upper() != "DM", n.upper())):
        given = domains[name]
        summary = summarize(given) if isinstance(given, pd.DataFrame) else given
        up = name.upper()
        columns = list(summary)
        keys = _keys(up, columns)
        spec = spec_for(up)
        spec_label = spec.label if spec is not None else up
        parent = up[4:] if up.startswith("SUPP") else up
        label = f"Supplemental Qualifiers for {parent}" if up.startswith("SUPP") else spec_label
        href = files.get(up, f"{up.lower()}.xpt")
        leaf_id = _oid("LF", up)
        group = ET.SubElement(mdv, f"{{{ODM_NS}}}ItemGroupDef", {
            "OID": _oid("IG", up), "Name": up, "SASDatasetName": up[:8], "Repeating": "No" if up == "DM" else "Yes",
            "IsReferenceData": "No", "Purpose": "Tabulation",
            f"{{{DEF_NS}}}Structure": _STRUCTURE.get(up, "One record per supplemental qualifier per related "
                                                          "parent record" if up.startswith("SUPP") else
                                                          f"One record per {up} observation per subject"),
            f"{{{DEF_NS}}}StandardOID": std_oid, f"{{{DEF_NS}}}ArchiveLocationID": leaf_id,
            **({} if up.startswith("SUPP") else {"Domain": up})})
        _text(group, f"{{{ODM_NS}}}Description", label)
        required = set(spec.required) if spec is not None else set()
        for order, column in enumerate(columns, start=1):
            item_oid = _oid("IT", up, column)
            attrs = {"ItemOID": item_oid, "OrderNumber": str(order),
                     "Mandatory": "Yes" if column in required or column in keys else "No"}
            if column in keys:
                attrs["KeySequence"] = str(keys.index(column) + 1)
            ET.SubElement(group, f"{{{ODM_NS}}}ItemRef", attrs)
            item_defs.append(_item_def(up, column, summary[column], meta.get(f"{up}.{column}"), code_lists))
        ET.SubElement(group, f"{{{DEF_NS}}}Class", {"Name": dataset_class(up)})
        leaf = ET.SubElement(group, f"{{{DEF_NS}}}leaf", {"ID": leaf_id, f"{{{XLINK_NS}}}href": href})
        ET.SubElement(leaf, f"{{{DEF_NS}}}title").text = href
    mdv.extend(item_defs)
    mdv.extend(code_lists.values())
    ET.indent(odm, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(odm, encoding="unicode") + "\n"


def _item_def(domain: str, column: str, summary: ColumnSummary, meta: VariableMeta | None,
              code_lists: dict[str, ET.Element]) -> ET.Element:
    kind, length, digits = summary.data_type()
    attrs = {"OID": _oid("IT", domain, column), "Name": column, "SASFieldName": column[:8], "DataType": kind}
    if length is not None:
        attrs["Length"] = str(length)
    if digits is not None:
        attrs[f"{{{DEF_NS}}}SignificantDigits"] = str(digits)
    item = ET.Element(f"{{{ODM_NS}}}ItemDef", attrs)
    label = (meta.label if meta is not None and meta.label else label_for(domain, column))[:40]
    _text(item, f"{{{ODM_NS}}}Description", label)
    if meta is not None and meta.codes:
        cl_oid = _oid("CL", meta.codelist or f"{domain}.{column}")
        if cl_oid not in code_lists:
            code_lists[cl_oid] = _code_list(cl_oid, meta.codelist or f"{domain}.{column}", kind, meta.codes)
        ET.SubElement(item, f"{{{ODM_NS}}}CodeListRef", {"CodeListOID": cl_oid})
    origin, source = _origin(domain, column, meta)
    ET.SubElement(item, f"{{{DEF_NS}}}Origin", {"Type": origin, **({"Source": source} if source else {})})
    return item


def _origin(domain: str, column: str, meta: VariableMeta | None) -> tuple[str, str]:
    if meta is not None and meta.origin:
        return meta.origin, meta.source
    if column in _ASSIGNED:
        return "Assigned", "Sponsor"
    if column.endswith(("SEQ", "DY", "STDY", "ENDY")) or column in ("EPOCH", "ACTARMCD", "ACTARM", "DTHFL"):
        return "Derived", "Sponsor"
    return "Collected", "Investigator"


def _code_list(oid: str, name: str, kind: str, codes: Mapping[str, str]) -> ET.Element:
    cl = ET.Element(f"{{{ODM_NS}}}CodeList", {"OID": oid, "Name": name,
                                                "DataType": kind if kind in ("integer", "float") else "text"})
    decoded = any(codes.values())
    for order, (code, decode) in enumerate(codes.items(), start=1):
        if decoded:
            item = ET.SubElement(cl, f"{{{ODM_NS}}}CodeListItem", {"CodedValue": code, "OrderNumber": str(order)})
            _text(item, f"{{{ODM_NS}}}Decode", decode or code)
        else:
            ET.SubElement(cl, f"{{{ODM_NS}}}EnumeratedItem", {"CodedValue": code, "OrderNumber": str(order)})
    return cl


def write_define(domains: Mapping[str, pd.DataFrame | Mapping[str, ColumnSummary]], path: str | os.PathLike, **kwargs: object) -> Path:
    """Write :func:`define_xml` of ``domains`` to ``path`` (by a temporary file renamed into place)."""
    target = Path(path)
    text = define_xml(domains, **kwargs)  # type: ignore[arg-type]
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
