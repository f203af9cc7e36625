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
import os
import pickle
import tempfile
from collections import defaultdict
from typing import Any, Iterable, Iterator

import numpy as np
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


def _order(dom: str) -> tuple[str, ...]:
    if dom == "DM":
        return _DM_ORDER
    return _SUPP_ORDER if dom.startswith("SUPP") else ("STUDYID", "DOMAIN", "USUBJID", f"{dom}SEQ")


def _column_order(dom: str, columns: Iterable[str]) -> list[str]:
    columns = list(columns)
    first = list(dict.fromkeys(c for c in (*_order(dom), *known_variables(dom)) if c in columns))
    return first + [c for c in columns if c not in first]


def _frame(rows: list[dict[str, Any]], dom: str) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    return df[_column_order(dom, df.columns)].reset_index(drop=True)


def sdtm_rows(protocol: Protocol, casebooks: Iterable[Casebook], *,
              studyid: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The rows :func:`casebooks_to_sdtm` makes its domains of, keyed by domain, each a dict of
    variable to value in casebook order. Every row depends on its own subject only (``--SEQ``
    and study days are per subject), so the rows of a trial are the rows of its subjects in turn.

    >>> from oncotrial.protocol import load_protocol
    >>> from oncotrial.collect import Casebook, FormRecord
    >>> book = Casebook("P-1", (FormRecord("P-1", "SCREENING", "RAND", 1, {"RANDDT": "2021-01-04", "ARMCD": "A"}),))
    >>> rows = sdtm_rows(load_protocol("patina"), [book])
    >>> rows["DM"][0]["USUBJID"], rows["DM"][0]["ARMCD"]
    ('P-1', 'A')
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
    return dict(out)


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
    A trial too large to hold goes through :class:`SdtmSpool` a chunk of subjects at a time.

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
    return {dom: _frame(rows, dom) for dom, rows in sorted(sdtm_rows(protocol, casebooks, studyid=studyid).items())}


_MISSING = object()  # a row without the variable: pandas fills it with NaN


def _kind(v: Any) -> tuple[type, bool]:
    return type(v), isinstance(v, float) and math.isnan(v)


class SdtmSpool:
    """The rows of a trial's subjects kept on disk a chunk at a time, read back as the chunks of the
    domains :func:`casebooks_to_sdtm` would make of all of them at once: every chunk has every
    domain of the trial (empty where its subjects have no row), with the trial's columns in the
    trial's order and the trial's dtypes, so a row reads and writes the same whichever chunk holds it.

    pandas types a column by the kinds of value in it (ints alone are int64, ints with a missing
    value float64, ints with text object), so one value of each kind seen, and whether a row lacked
    the variable, is enough to type the trial's column.

    >>> import tempfile
    >>> from oncotrial.protocol import load_protocol
    >>> from oncotrial.collect import Casebook, FormRecord
    >>> p = load_protocol("patina")
    >>> books = [Casebook(f"P-{i}", (FormRecord(f"P-{i}", "SCREENING", "RAND", 1, {"RANDDT": "2021-01-04", "ARMCD": "A"}),
    ...                              *([FormRecord(f"P-{i}", "LOG", "AE", 1, {"AETERM": "Nausea"})] if i == 2 else [])))
    ...          for i in (1, 2)]
    >>> with tempfile.TemporaryDirectory() as folder, SdtmSpool(folder) as spool:
    ...     for book in books:
    ...         spool.add(sdtm_rows(p, [book]))
    ...     chunks = list(spool.chunks())
    >>> [len(chunk["AE"]) for chunk in chunks], list(chunks[0]["AE"].columns) == list(casebooks_to_sdtm(p, books)["AE"].columns)
    ([0, 1], True)
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        fd, path = tempfile.mkstemp(prefix=".sdtm-rows.", suffix=".pickle", dir=folder)
        self._file = os.fdopen(fd, "w+b")
        self._path = path
        self._chunks = 0
        self._columns: dict[str, dict[str, None]] = {}
        self._kinds: dict[str, dict[str, dict[tuple[type, bool], Any]]] = {}
        self._dtypes: dict[str, dict[str, Any]] | None = None

    def __enter__(self) -> "SdtmSpool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        if os.path.exists(self._path):
            os.unlink(self._path)

    def add(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Keep one chunk's rows (:func:`sdtm_rows` of some subjects, in the trial's order)."""
        if self._dtypes is not None:
            raise ValueError("SdtmSpool: chunks are added before the spool is read")
        for dom, dom_rows in rows.items():
            earlier = dom in self._columns
            columns = self._columns.setdefault(dom, {})
            kinds = self._kinds.setdefault(dom, {})
            for row in dom_rows:
                for c, v in row.items():
                    if c not in columns:
                        columns[c] = None
                        if earlier:  # the rows of the chunks before lack it
                            kinds.setdefault(c, {})[_kind(_MISSING)] = _MISSING
                    kinds.setdefault(c, {}).setdefault(_kind(v), v)
            for c in columns:
                if any(c not in row for row in dom_rows):
                    kinds[c][_kind(_MISSING)] = _MISSING
        pickle.dump(rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._chunks += 1

    def _trial_dtypes(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for dom, kinds in self._kinds.items():
            columns = _column_order(dom, self._columns[dom])
            out[dom] = {c: pd.DataFrame([{} if v is _MISSING else {c: v} for v in kinds[c].values()],
                                        columns=[c])[c].dtype for c in columns}
        return dict(sorted(out.items()))

    def chunks(self) -> Iterator[dict[str, pd.DataFrame]]:
        """Each chunk's domains, typed and ordered as the whole trial's; readable more than once."""
        if self._dtypes is None:
            self._dtypes = self._trial_dtypes()
        self._file.flush()
        with open(self._path, "rb") as fh:
            for _ in range(self._chunks):
                rows = pickle.load(fh)
                yield {dom: self._typed(rows.get(dom, []), dtypes) for dom, dtypes in self._dtypes.items()}

    @staticmethod
    def _typed(rows: list[dict[str, Any]], dtypes: dict[str, Any]) -> pd.DataFrame:
        df = pd.DataFrame(rows).reindex(columns=list(dtypes))
        for c, dtype in dtypes.items():
            if df[c].dtype != dtype:
                # rebuilt from the values as stored: an int read as float in this chunk is an int in an object column
                df[c] = pd.Series([row.get(c, np.nan) for row in rows], dtype=object, index=df.index).astype(dtype)
        return df.reset_index(drop=True)


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
