"""SDTM to casebooks: the eCRF entries a site would have made to produce a set of SDTM domains.

The inverse of :func:`oncotrial.collect.casebooks_to_sdtm`, by the same declared targets: no
hand mapping. A row of a domain becomes an entry of the form that feeds that domain, is allowed
at the row's visit (for a row without one: the log, else the form's screening or end-of-treatment
visit) and whose constants the row does not contradict, the one agreeing with most of them (an end
of treatment and an end of study are both DS rows; their DSCAT/DSSCAT tell them apart). A findings
form (``testcd`` fields) gathers the rows of one visit (and lesion, for a form keyed by
``repeat_key``) into one entry. Fields feeding DM or SUPPDM take the subject's DM values; forms
that feed only DM (demography, death) become one entry each when the subject has a value for
them. SUPP-- qualifiers return to the entry of their parent row.

This is how the rehearsal (``oncotrial rehearse``) lets the simulator play every site, and how a
trial migrated from another system can be loaded into the data capture.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from oncotrial.collect.records import Casebook, FormRecord
from oncotrial.collect.schedule import visit_definition
from oncotrial.protocol import Protocol
from oncotrial.protocol.edc import Form, FormField

RAND_FORM = "RAND"
# Findings results that say the test was not done: the entry's field is left empty.
NOT_DONE = frozenset({"NOT DONE", "ND", "NE", "NOT EVALUABLE", "NOT ASSESSED"})
# Constants that say where a row sits in the trial, not what it is: a row need not carry them.
_PLACEMENT = ("EPOCH",)


@dataclass
class _FormMap:
    """What one form reads from the SDTM."""

    form: Form
    driver: str | None  # the non-DM domain whose rows make its entries (None: DM only)
    plain: dict[str, list[FormField]] = field(default_factory=dict)  # "DOM.VAR" -> fields
    tests: dict[str, FormField] = field(default_factory=dict)  # TESTCD -> field (driver domain)
    supp: dict[str, FormField] = field(default_factory=dict)  # "SUPPDOM.QNAM" -> field
    constants: dict[str, str] = field(default_factory=dict)  # driver-domain constants: VAR -> value

    @property
    def findings(self) -> bool:
        return bool(self.tests)


def _form_maps(protocol: Protocol) -> list[_FormMap]:
    out = []
    for form in protocol.edc.forms:
        fields = form.fields_of(form.latest_version)
        domains = [t.split(".")[0] for f in fields for t in f.sdtm]
        domains += [t.split(".")[0] for t in form.constants]
        drivers = list(dict.fromkeys(d for d in domains if d != "DM" and not d.startswith("SUPP")))
        if len(drivers) > 2 or (len(drivers) == 2 and set(drivers) != {"TU", "TR"}):
            raise ValueError(f"form {form.id}: feeds {drivers}; an entry can be rebuilt from one domain's rows")
        driver = "TR" if "TR" in drivers else (drivers[0] if drivers else None)
        m = _FormMap(form, driver)
        for f in fields:
            for target in f.sdtm:
                dom, _, var = target.partition(".")
                if dom.startswith("SUPP"):
                    m.supp[target] = f
                elif f.testcd and dom == driver:
                    m.tests[f.testcd] = f
                elif not f.testcd:
                    m.plain.setdefault(target, []).append(f)
        m.constants = {t.partition(".")[2]: v for t, v in form.constants.items()
                       if t.partition(".")[0] == driver and t.partition(".")[2] not in _PLACEMENT}
        out.append(m)
    return out


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()) \
        or v is pd.NA or v is pd.NaT


def _typed(f: FormField, v: Any) -> Any:
    if f.type == "integer":
        return int(round(float(v)))
    if f.type == "decimal":
        return float(v)
    if f.type == "boolean":
        return v is True or str(v).upper() in ("Y", "YES", "TRUE", "1")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _text(v: Any) -> str:
    return "" if _missing(v) else str(v)


class _Rows:
    """One subject's SDTM rows, by domain, with the SUPP-- qualifiers of each parent row."""

    def __init__(self, usubjid: str, frames: Mapping[str, pd.DataFrame]):
        self.usubjid = usubjid
        self.domains: dict[str, list[dict[str, Any]]] = {}
        self.supp: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)  # (DOM, SEQ or "") -> QNAM -> QVAL
        for name, frame in frames.items():
            rows = frame.to_dict("records")
            if name.startswith("SUPP"):
                for r in rows:
                    key = _seq(r.get("IDVARVAL")) if _text(r.get("IDVAR")) else ""
                    self.supp[(name[4:], key)][str(r["QNAM"])] = r.get("QVAL")
            else:
                self.domains[name] = rows
        # a lesion's identification (TU) goes with its measurements (TR), by link id
        self.tu_by_link = {_text(r.get("TULNKID")): r for r in self.domains.get("TU", []) if _text(r.get("TULNKID"))}

    def dm(self) -> dict[str, Any]:
        rows = self.domains.get("DM", [])
        return rows[0] if rows else {}


def _seq(v: Any) -> str:
    try:
        return str(int(float(v)))
    except (TypeError, ValueError):
        return _text(v)


def _by_subject(sdtm: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    out: dict[str, dict[str, pd.DataFrame]] = defaultdict(dict)
    for name, frame in sdtm.items():
        if "USUBJID" not in frame.columns or frame.empty:
            continue
        for uid, part in frame.groupby(frame["USUBJID"].astype(str), sort=False):
            out[uid][name.upper()] = part
    return out


def sdtm_to_casebooks(protocol: Protocol, sdtm: Mapping[str, pd.DataFrame], *,
                      include_rand: bool = True) -> tuple[list[Casebook], pd.DataFrame]:
    """Each subject's casebook rebuilt from SDTM, in DM order, and the rows no form could take.

    ``include_rand=False`` leaves out the RAND entry (the IRT makes it when the subject is
    randomized), and does not list its rows as left out. The second value lists each SDTM row left out (``DOMAIN``, ``USUBJID``, the row's
    ``--SEQ`` and why), so a caller can see what the eCRFs do not collect.

    >>> from oncotrial.protocol import load_protocol
    >>> dm = pd.DataFrame({"USUBJID": ["P-1"], "SUBJID": ["1"], "AGE": [58.0], "SEX": ["F"], "RACE": ["WHITE"]})
    >>> ae = pd.DataFrame({"USUBJID": ["P-1"], "AESEQ": [1], "AETERM": ["Nausea"], "AETOXGR": ["2"],
    ...                    "AESTDTC": ["2021-01-10"]})
    >>> books, left = sdtm_to_casebooks(load_protocol("patina"), {"DM": dm, "AE": ae}, include_rand=False)
    >>> [(r.visit, r.form, dict(r.values)) for r in books[0].records][1]
    ('LOG', 'AE', {'AETERM': 'Nausea', 'AETOXGR': '2', 'AESTDTC': '2021-01-10'})
    """
    if protocol.edc is None:
        raise ValueError(f"protocol {protocol.study.id} has no [edc] block: it has no forms to fill")
    upper = {str(k).upper(): v for k, v in sdtm.items()}
    if "DM" not in upper:
        raise ValueError(f"sdtm: the DM domain (one row per subject) is required; got {sorted(upper)}")
    maps = _form_maps(protocol)
    elsewhere = set() if include_rand else {RAND_FORM}
    subjects = _by_subject(upper)
    books: list[Casebook] = []
    left: list[dict[str, Any]] = []
    for uid in dict.fromkeys(upper["DM"]["USUBJID"].astype(str)):
        rows = _Rows(uid, subjects.get(uid, {}))
        records = _subject_records(protocol, maps, rows, left, elsewhere)
        books.append(Casebook(uid, tuple(records)))
    return books, pd.DataFrame(left, columns=["DOMAIN", "USUBJID", "SEQ", "WHY"])


def _first_visit_with(protocol: Protocol, form_id: str) -> str:
    for v in protocol.edc.visits:
        if form_id in v.forms and v.kind in ("screening", "log"):
            return v.name
    raise ValueError(f"form {form_id}: no screening or log visit holds it, so its entry has no visit")


def _allowed(protocol: Protocol, visit: str) -> set[str]:
    definition = visit_definition(protocol, visit)
    return set(definition.forms) if definition is not None else set()


def _homes(protocol: Protocol) -> dict[str, str]:
    """Where an entry goes when its row names no visit: the log if the form is kept there, else the
    one visit that is not a series (screening, end of treatment) holding it."""
    homes: dict[str, str] = {}
    for kind in ("log", "screening", "end_of_treatment"):
        for v in protocol.edc.visits:
            if v.kind == kind:
                for form_id in v.forms:
                    homes.setdefault(form_id, v.name)
    return homes


def _values(m: _FormMap, row: Mapping[str, Any], rows: _Rows, supp_key: tuple[str, str] | None) -> dict[str, Any]:
    dm = rows.dm()
    supp_dm = rows.supp.get(("DM", ""), {})
    supp_row = rows.supp.get(supp_key, {}) if supp_key else {}
    values: dict[str, Any] = {}
    for target, fields in m.plain.items():
        dom, _, var = target.partition(".")
        if dom == "DM":
            v = dm.get(var)
        elif dom == m.driver:
            v = row.get(var)
        elif dom == "TU" and m.driver == "TR":
            v = rows.tu_by_link.get(_text(row.get("TRLNKID")), {}).get(var)
        else:
            v = None
        for f in fields:
            if not _missing(v) and f.id not in values:
                values[f.id] = _typed(f, v)
    for target, f in m.supp.items():
        dom, _, qnam = target.partition(".")
        v = supp_dm.get(qnam) if dom == "SUPPDM" else supp_row.get(qnam)
        if not _missing(v) and f.id not in values:
            values[f.id] = _typed(f, v)
    return values


def _repeat_key(m: _FormMap, dom: str, row: Mapping[str, Any]) -> str:
    """The value that tells a keyed form's entries apart (the lesion ID), from the row."""
    if not m.form.repeat_key:
        return ""
    f = next(f for f in m.form.fields if f.id == m.form.repeat_key)
    var = next((t.partition(".")[2] for t in f.sdtm if t.startswith(f"{dom}.")), "")
    return _text(row.get(var))


def _subject_records(protocol: Protocol, maps: list[_FormMap], rows: _Rows, left: list[dict[str, Any]],
                     elsewhere: set[str]) -> list[FormRecord]:
    """The subject's entries; rows of a form in ``elsewhere`` (made by another system) are passed over."""
    records: list[FormRecord] = []
    seqs: dict[tuple[str, str], int] = defaultdict(int)
    homes = _homes(protocol)

    def add(m: _FormMap, visit: str, values: dict[str, Any], key: str = "", visitnum: float | None = None) -> None:
        if not values:
            return
        seq = 1
        if m.form.repeats and not key:
            seqs[(visit, m.form.id)] += 1
            seq = seqs[(visit, m.form.id)]
        records.append(FormRecord(rows.usubjid, visit, m.form.id, m.form.latest_version, values, seq=seq, key=key,
                                  visitnum=visitnum))

    for m in maps:
        if m.driver is None and m.form.id not in elsewhere:
            add(m, _first_visit_with(protocol, m.form.id), _values(m, {}, rows, None))
    measured = {_text(r.get("TRLNKID")) for r in rows.domains.get("TR", [])} if any(
        m.driver == "TR" for m in maps) else set()
    for dom, dom_rows in rows.domains.items():
        if dom == "DM":
            continue
        candidates = [m for m in maps if m.driver == dom]
        grouped: dict[tuple[str, str, str], tuple[_FormMap, list[dict[str, Any]], float | None]] = {}
        for row in dom_rows:
            given = _text(row.get("VISIT"))
            allowed = _allowed(protocol, given) if given else set(homes)
            testcd = _text(row.get(f"{dom}TESTCD"))
            # a constant the row contradicts rules its form out; one the row lacks does not
            fits = [m for m in candidates if m.form.id in allowed
                    and all(_text(row.get(var)) in ("", val) for var, val in m.constants.items())
                    and (not m.findings or testcd in m.tests)]
            visit = given or (homes[fits[0].form.id] if fits else "")
            seq = _seq(row.get(f"{dom}SEQ"))
            if not fits and dom == "TU" and _text(row.get("TULNKID")) in measured:
                continue  # taken with its lesion's measurements
            if not fits:
                left.append({"DOMAIN": dom, "USUBJID": rows.usubjid, "SEQ": seq,
                             "WHY": f"no form of visit {given or '(none)'} takes this {dom} row"})
                continue
            agree = {m.form.id: sum(_text(row.get(var)) == val for var, val in m.constants.items()) for m in fits}
            best = max(fits, key=lambda m: agree[m.form.id])
            if sum(1 for m in fits if agree[m.form.id] == agree[best.form.id]) > 1:
                names = [m.form.id for m in fits if agree[m.form.id] == agree[best.form.id]]
                raise ValueError(f"{dom} row {seq} of {rows.usubjid}: forms {names} would all take it; "
                                 "give them constants that tell their rows apart")
            definition = visit_definition(protocol, visit)
            if best.form.id in elsewhere:
                continue
            visitnum = row.get("VISITNUM") if definition is not None and definition.kind == "unscheduled" else None
            visitnum = None if _missing(visitnum) else float(visitnum)
            key = _repeat_key(best, dom, row)
            if not best.findings:
                add(best, visit, _values(best, row, rows, (dom, seq)), key=key, visitnum=visitnum)
                continue
            group = grouped.setdefault((visit, best.form.id, key), (best, [], visitnum))
            group[1].append(row)
        for (visit, _, key), (m, group_rows, visitnum) in grouped.items():
            values = _values(m, group_rows[0], rows, (dom, _seq(group_rows[0].get(f"{dom}SEQ"))))
            for row in group_rows:
                testcd = _text(row.get(f"{dom}TESTCD"))
                f = m.tests[testcd]
                if f.id in values:  # the entry holds one result per test: a second one would overwrite it
                    left.append({"DOMAIN": dom, "USUBJID": rows.usubjid, "SEQ": _seq(row.get(f"{dom}SEQ")),
                                 "WHY": f"a second {testcd} at visit {visit}: form {m.form.id} holds one"})
                    continue
                v = row.get(f"{dom}ORRES")
                if not _missing(v) and str(v).strip().upper() not in NOT_DONE:  # not done: the field stays empty
                    values[f.id] = _typed(f, v)
            add(m, visit, values, key=key, visitnum=visitnum)
    return records


def unmapped_summary(left: pd.DataFrame) -> dict[str, int]:
    """Rows left out per domain, for a report."""
    return {str(k): int(v) for k, v in left.groupby("DOMAIN").size().items()} if len(left) else {}
