"""Casebooks to SDTM, from the SDTM targets the protocol's fields name: no hand mapping.

Each field names the ``DOMAIN.VARIABLE`` it feeds. A record gives one row in each domain its fields or
constants feed; a findings field (``testcd``) gives one row of its domain per value, carrying the
record's other values for that domain as qualifiers (so a target-lesion form gives a TU row and a TR
LDIAM row). DM is one row per subject, merged from every record that feeds it. ``SUPPxx.QNAM``
targets become supplemental-qualifier rows tied to their parent row by ``--SEQ``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any, Iterable

import pandas as pd

from oncotrial.collect.coding import code_term, load_dictionary
from oncotrial.collect.records import Casebook, FormRecord
from oncotrial.collect.schedule import is_log_visit, visit_number
from oncotrial.collect.validate import edc_form
from oncotrial.protocol import Protocol
from oncotrial.protocol.edc import FormField
from oncotrial.sdtm.define import VariableMeta
from oncotrial.sdtm.spec import known_variables

_DM_ORDER = ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC",
             "DTHDTC", "DTHFL", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "ARMCD", "ARM", "ACTARMCD",
             "ACTARM", "COUNTRY")
_SUPP_ORDER = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG")


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, float):
        return f"{v:g}" if math.isfinite(v) else ""
    return str(v)


def _full_date(v: Any) -> dt.date | None:
    if isinstance(v, str) and len(v) >= 10:
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _study_day(date: Any, ref: dt.date | None) -> int | None:
    """SDTM study day: the reference date is day 1 and there is no day 0."""
    d = _full_date(date)
    if d is None or ref is None:
        return None
    n = (d - ref).days
    return n + 1 if n >= 0 else n


class _Subject:
    """The rows of one subject while its casebook is exported."""

    def __init__(self, usubjid: str):
        self.usubjid = usubjid
        self.dm: dict[str, Any] = {}
        self.dm_from: dict[str, str] = {}
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.supp: list[tuple[str, str, dict[str, Any] | None, FormField, Any]] = []

    def set_dm(self, var: str, value: Any, record: FormRecord) -> None:
        old = self.dm.get(var)
        if old is not None and old != value:
            raise ValueError(f"subject {self.usubjid}: DM.{var} is {old!r} in record {self.dm_from[var]} "
                             f"but {value!r} in record {record.record_key}")
        self.dm[var] = value
        self.dm_from[var] = record.record_key


def _record_rows(protocol: Protocol, subject: _Subject, r: FormRecord) -> None:
    form = edc_form(protocol, r.form)
    fields = form.fields_of(r.version)
    known = {f.id for f in fields}
    extra = sorted(set(r.values) - known)
    if extra:
        raise ValueError(f"subject {r.usubjid}: record {r.record_key} has values for {extra}, "
                         f"which version {r.version} of form {r.form} does not have")
    plain: dict[str, dict[str, Any]] = defaultdict(dict)
    for target, value in form.constants.items():
        dom, _, var = target.partition(".")
        plain[dom][var] = value
    findings: dict[str, list[tuple[FormField, Any]]] = defaultdict(list)
    supp: list[tuple[str, str, FormField, Any]] = []
    for f in fields:
        if f.id not in r.values:
            continue
        v = r.values[f.id]
        for target in f.sdtm:
            dom, _, var = target.partition(".")
            if dom.startswith("SUPP"):
                supp.append((dom[4:], var, f, v))
            elif f.testcd:
                findings[dom].append((f, v))
            else:
                plain[dom][var] = v
    for var, v in plain.pop("DM", {}).items():
        subject.set_dm(var, v, r)
    log = is_log_visit(protocol, r.visit)
    visitnum = r.visitnum if r.visitnum is not None else (None if log else visit_number(protocol, r.visit))
    visit = {} if log else {"VISITNUM": visitnum, "VISIT": r.visit}
    parents: dict[str, dict[str, Any]] = {}
    for dom in list(dict.fromkeys([*plain, *findings])):
        base = {"DOMAIN": dom, "USUBJID": r.usubjid, **visit, **plain.get(dom, {})}
        if dom in findings:
            for f, v in findings[dom]:
                row = {**base, f"{dom}TESTCD": f.testcd, f"{dom}TEST": f.test, f"{dom}ORRES": _text(v),
                       f"{dom}STRESC": _text(v)}
                if f.unit:
                    row[f"{dom}ORRESU"] = row[f"{dom}STRESU"] = f.unit
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    row[f"{dom}STRESN"] = float(v)
                subject.rows[dom].append(row)
                parents.setdefault(dom, row)
        else:
            subject.rows[dom].append(base)
            parents[dom] = base
    for parent_dom, qnam, f, v in supp:
        subject.supp.append((parent_dom, qnam, None if parent_dom == "DM" else parents.get(parent_dom), f, v))


def _dm_row(protocol: Protocol, s: _Subject, studyid: str) -> dict[str, Any]:
    ex = s.rows.get("EX", [])
    starts = sorted(x for x in (row.get("EXSTDTC") for row in ex) if _full_date(x))
    ends = sorted(x for x in (row.get("EXENDTC") or row.get("EXSTDTC") for row in ex) if _full_date(x))
    dm = {"STUDYID": studyid, "DOMAIN": "DM", "USUBJID": s.usubjid, **s.dm}
    dm.setdefault("SUBJID", s.usubjid)
    if starts:
        dm.setdefault("RFSTDTC", starts[0])
        dm.setdefault("RFXSTDTC", starts[0])
    if ends:
        dm.setdefault("RFENDTC", ends[-1])
        dm.setdefault("RFXENDTC", ends[-1])
    dm["DTHFL"] = "Y" if dm.get("DTHDTC") else ""
    if "ARMCD" in dm:
        treated = bool(starts)
        dm.setdefault("ACTARMCD", dm["ARMCD"] if treated else "NOTTRT")
        dm.setdefault("ACTARM", dm.get("ARM", dm["ARMCD"]) if treated else "Not Treated")
    return dm


def _reference_date(protocol: Protocol, book: Casebook, dm: dict[str, Any]) -> dt.date | None:
    ref = protocol.edc.dy_reference
    if ref == "RFSTDTC":
        return _full_date(dm.get("RFSTDTC"))
    form, _, fld = ref.partition(".")
    for r in book.records:
        if r.form == form and fld in r.values:
            return _full_date(r.values[fld])
    return None


def _add_study_days(rows: list[dict[str, Any]], dom: str, ref: dt.date | None) -> None:
    known = set(known_variables(dom))
    for row in rows:
        for suffix, dy in (("DTC", "DY"), ("STDTC", "STDY"), ("ENDTC", "ENDY")):
            var = f"{dom}{suffix}"
            if var in row and (f"{dom}{dy}" in known or not known):
                row[f"{dom}{dy}"] = _study_day(row[var], ref)


def _code_events(rows: list[dict[str, Any]], dictionary: Any) -> None:
    """AEDECOD and AEBODSYS from the verbatim term where the site did not code it; a term the
    dictionary lacks stays uncoded (empty) for manual coding."""
    for row in rows:
        if row.get("AEDECOD") or not row.get("AETERM"):
            continue
        hit = code_term(dictionary, str(row["AETERM"]))
        row["AEDECOD"] = hit.pt if hit else ""
        row["AEBODSYS"] = hit.soc if hit else ""


def _frame(rows: list[dict[str, Any]], dom: str, order: Iterable[str] = ()) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    first = [c for c in (*order, *known_variables(dom)) if c in df.columns]
    first = list(dict.fromkeys(first))
    return df[first + [c for c in df.columns if c not in first]].reset_index(drop=True)


def casebooks_to_sdtm(protocol: Protocol, casebooks: Iterable[Casebook], *,
                      studyid: str | None = None) -> dict[str, pd.DataFrame]:
    """SDTM domains from subjects' casebooks, keyed by domain name (``"DM"``, ``"AE"``, ``"SUPPDM"``, ...).

    ``STUDYID`` is the protocol's study id unless given. ``--SEQ`` numbers each subject's rows of a domain
    in casebook order; study days (``--DY``, ``--STDY``, ``--ENDY``) count from the protocol's
    ``edc.dy_reference`` (day 1, no day 0). DM's reference dates come from the exposure records
    (RFSTDTC first dose, RFENDTC last), DTHFL from a death date, ACTARM from the randomized arm if any
    dose was recorded (else "Not Treated"). A value fed to DM twice with different values, or a record
    holding a field its form version does not have, is an error naming the subject and records.
    Adverse events are coded (AEDECOD, AEBODSYS) with the protocol's ``edc.ae_dictionary`` where the
    record does not carry a coding; a term the dictionary lacks is left empty for manual coding.

    >>> from oncotrial.protocol import load_protocol
    >>> from oncotrial.collect import Casebook, FormRecord
    >>> p = load_protocol("patina")
    >>> book = Casebook("P-1", (FormRecord("P-1", "SCREENING", "RAND", 1, {"RANDDT": "2021-01-04", "ARMCD": "A"}),
    ...                         FormRecord("P-1", "LOG", "AE", 1, {"AETERM": "Nausea", "AESTDTC": "2021-01-10",
    ...                                                              "AETOXGR": "2"})))
    >>> sdtm = casebooks_to_sdtm(p, [book])
    >>> sdtm["AE"][["USUBJID", "AESEQ", "AETERM", "AETOXGR", "AESTDY"]].to_dict("records")
    [{'USUBJID': 'P-1', 'AESEQ': 1, 'AETERM': 'Nausea', 'AETOXGR': '2', 'AESTDY': 7}]
    """
    if protocol.edc is None:
        raise ValueError(f"protocol {protocol.study.id} has no [edc] block: its casebooks have no SDTM targets")
    studyid = studyid or protocol.study.id
    dictionary = load_dictionary(protocol.edc.ae_dictionary) if protocol.edc.ae_dictionary else None
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    for book in casebooks:
        if book.usubjid in seen:
            raise ValueError(f"subject {book.usubjid}: more than one casebook")
        seen.add(book.usubjid)
        s = _Subject(book.usubjid)
        for r in book.records:
            _record_rows(protocol, s, r)
        dm = _dm_row(protocol, s, studyid)
        ref = _reference_date(protocol, book, dm)
        for dom, rows in s.rows.items():
            for i, row in enumerate(rows, start=1):
                row["STUDYID"] = studyid
                row[f"{dom}SEQ"] = i
            _add_study_days(rows, dom, ref)
            if dom == "AE" and dictionary is not None:
                _code_events(rows, dictionary)
            out[dom].extend(rows)
        out["DM"].append(dm)
        for parent_dom, qnam, parent, f, v in s.supp:
            seq = {} if parent is None else {"IDVAR": f"{parent_dom}SEQ", "IDVARVAL": str(parent[f"{parent_dom}SEQ"])}
            out[f"SUPP{parent_dom}"].append({"STUDYID": studyid, "RDOMAIN": parent_dom, "USUBJID": s.usubjid,
                                             "IDVAR": "", "IDVARVAL": "", **seq, "QNAM": qnam,
                                             "QLABEL": f.label[:40], "QVAL": _text(v), "QORIG": f.origin})
    return {dom: _frame(rows, dom, _DM_ORDER if dom == "DM" else _SUPP_ORDER if dom.startswith("SUPP") else
                        ("STUDYID", "DOMAIN", "USUBJID", f"{dom}SEQ"))
            for dom, rows in sorted(out.items())}


_ORIGINS = {"CRF": ("Collected", "Investigator"), "ASSIGNED": ("Assigned", "Sponsor"),
            "DERIVED": ("Derived", "Sponsor"), "PROTOCOL": ("Protocol", "Sponsor")}


def define_metadata(protocol: Protocol) -> dict[str, VariableMeta]:
    """What the protocol's eCRFs say of each SDTM variable they feed, for define.xml: the field's label,
    origin and code list, keyed ``"DOMAIN.VARIABLE"``. A findings field (``testcd``) describes a test,
    not a variable, so it adds nothing here; a SUPP-- target describes ``SUPPxx.QVAL`` only through
    its QLABEL, which the rows carry.

    >>> from oncotrial.protocol import load_protocol
    >>> meta = define_metadata(load_protocol("patina"))
    >>> meta["AE.AESER"].origin, sorted(meta["AE.AESER"].codes)
    ('Collected', ['N', 'Y'])
    """
    if protocol.edc is None:
        raise ValueError(f"protocol {protocol.study.id} has no [edc] block: it describes no SDTM variable")
    lists = {c.id: {code.code: code.label for code in c.codes} for c in protocol.edc.codelists}
    out: dict[str, VariableMeta] = {}
    for form in protocol.edc.forms:
        for f in form.fields:
            if f.testcd:
                continue
            origin, source = _ORIGINS.get(f.origin.upper(), ("Collected", "Investigator"))
            for target in f.sdtm:
                if target.startswith("SUPP") or target in out:
                    continue
                out[target] = VariableMeta(label=f.label, origin=origin, source=source,
                                           codes=lists.get(f.codelist, {}), codelist=f.codelist)
    return out
