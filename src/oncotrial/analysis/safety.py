"""Safety: treatment-emergent adverse events by worst grade, serious events, dose modifications.

Percentages are of the safety population of each arm (subjects who received any
study treatment, ADSL SAFFL = "Y", by the treatment they actually received).
A subject counts once per row, at their worst grade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.analysis._frames import arm_of, arm_order, days_to_unit, flag, require_columns
from oncotrial.analysis.results import DoseModificationSummary, SafetyAnalysis, SafetyRow
from oncotrial.protocol import Protocol

RELATED = {"Y", "YES", "RELATED", "PROBABLE", "POSSIBLE", "DEFINITE", "PROBABLY RELATED", "POSSIBLY RELATED"}
GRADE_COLUMNS = ("ATOXGRN", "ATOXGR", "AETOXGRN", "AETOXGR")


def safety_population(adsl: pd.DataFrame, protocol: Protocol) -> pd.Series:
    """Arm code (as treated) of each safety-population subject, by USUBJID."""
    planned = arm_of(adsl, protocol)
    sl = adsl.assign(USUBJID=adsl["USUBJID"].astype(str)).set_index("USUBJID").reindex(planned.index)
    if "ACTARMCD" in sl.columns:
        # As treated: the actual arm where it names a protocol arm, otherwise the randomized one.
        act = sl["ACTARMCD"].astype(str).where(sl["ACTARMCD"].astype(str).isin(protocol.arm_codes), planned)
    else:
        act = planned
    keep = flag(sl["SAFFL"]) if "SAFFL" in sl.columns else np.ones(len(sl), dtype=bool)
    return act[keep]


def ae_grade(adae: pd.DataFrame) -> pd.Series:
    """Numeric CTCAE grade of each record from the first grade column present (ATOXGRN, ..., AETOXGR).

    ADAE without any grade column (severity only, as outside oncology) gives all-NaN grades.
    """
    for c in GRADE_COLUMNS:
        if c in adae.columns:
            g = pd.to_numeric(adae[c], errors="coerce")
            bad = adae[c].notna() & (g.isna() | ~g.isin([1, 2, 3, 4, 5]))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                # The index label is the row of the ADAE the caller passed (filtering keeps it).
                raise ValueError(f"ADAE: row {adae.index[i]} (USUBJID {str(adae['USUBJID'].iloc[i])!r}) has {c} "
                                 f"{str(adae[c].iloc[i])!r}; expected a CTCAE grade 1-5")
            return g
    return pd.Series(np.nan, index=adae.index)


def treatment_emergent(adae: pd.DataFrame, pop: pd.Series) -> pd.DataFrame:
    """TEAE records of safety-population subjects, with ARM and GRADE columns added."""
    require_columns(adae, "ADAE", ["USUBJID", "AEDECOD"])
    d = adae.assign(USUBJID=adae["USUBJID"].astype(str))
    if "TRTEMFL" in d.columns:
        d = d[flag(d["TRTEMFL"])]
    d = d[d["USUBJID"].isin(pop.index)].copy()
    d["ARM"] = pop.reindex(d["USUBJID"]).to_numpy()
    d["GRADE"] = ae_grade(d).to_numpy() if len(d) else np.array([], dtype=float)
    return d


def _row(category: str, term: str, grade: str, subjects: pd.Series, pop: pd.Series, arms: list[str]) -> SafetyRow:
    """Count distinct subjects (a Series USUBJID -> ARM) per arm as a SafetyRow."""
    uniq = subjects[~subjects.index.duplicated()]
    count, pct = {}, {}
    for a in arms:
        n = int((pop == a).sum())
        c = int((uniq == a).sum())
        count[a] = c
        pct[a] = 100.0 * c / n if n else float("nan")
    return SafetyRow(category, term, grade, count, pct)


def _subjects(d: pd.DataFrame) -> pd.Series:
    return pd.Series(d["ARM"].to_numpy(), index=d["USUBJID"].to_numpy())


def _worst_is(d: pd.DataFrame, grade: int, *, at_least: bool) -> pd.DataFrame:
    """Records of subjects whose worst grade (within ``d``) is ``grade`` (or at least it)."""
    worst = d.groupby("USUBJID")["GRADE"].max()
    ids = worst.index[(worst >= grade) if at_least else (worst == grade)]
    return d[d["USUBJID"].isin(ids)]


def analyze_safety(adsl: pd.DataFrame, adae: pd.DataFrame, protocol: Protocol, *,
                   adtte: pd.DataFrame | None = None, adex: pd.DataFrame | None = None,
                   min_term_percent: float = 0.0) -> SafetyAnalysis:
    """Adverse-event overview, incidence by preferred term and grade, and dose modifications.

    Overview rows: any TEAE; worst grade 3; worst grade 4; worst grade >= 3;
    serious; leading to discontinuation (AEACN DRUG WITHDRAWN); fatal;
    treatment-related fatal. By term (AEDECOD): any grade, grade >= 2, worst
    grade 3, worst grade 4, grade >= 3, for terms reaching ``min_term_percent``
    in some arm. Dose modifications come from ADTTE's TTDR (or ADEX) when given.
    Every arm of ``arm_order`` is counted, however many the protocol has.

    Example
    -------
    >>> s = analyze_safety(adsl, adae, load_protocol("patina"))  # doctest: +SKIP
    >>> s.row("any", "", "any").percent                           # doctest: +SKIP
    """
    arms = list(arm_order(protocol))
    pop = safety_population(adsl, protocol)
    d = treatment_emergent(adae, pop)
    n = {a: int((pop == a).sum()) for a in arms}
    # Without CTCAE grades (severity-only ADAE) the grade rows are left out rather than shown as zero.
    graded = any(c in adae.columns for c in GRADE_COLUMNS)
    overview = [_row("any", "", "any", _subjects(d), pop, arms)]
    if graded:
        for g in (3, 4):
            overview.append(_row("any", "", str(g), _subjects(_worst_is(d, g, at_least=False)), pop, arms))
        overview.append(_row("any", "", ">=3", _subjects(_worst_is(d, 3, at_least=True)), pop, arms))
    if "AESER" in d.columns:
        overview.append(_row("serious", "", "any", _subjects(d[flag(d["AESER"])]), pop, arms))
    if "AEACN" in d.columns:
        withdrawn = d["AEACN"].astype(str).str.upper().str.contains("WITHDRAWN")
        overview.append(_row("discontinuation", "", "any", _subjects(d[withdrawn.to_numpy()]), pop, arms))
    fatal = _fatal(d)
    overview.append(_row("fatal", "", "any", _subjects(d[fatal]), pop, arms))
    related = fatal & _related(d)
    trd = _row("fatal_related", "", "any", _subjects(d[related]), pop, arms)
    overview.append(trd)
    by_term = []
    for term, dt in sorted(d.groupby(d["AEDECOD"].astype(str)), key=lambda kv: -kv[1]["USUBJID"].nunique()):
        rows = [_row("term", term, "any", _subjects(dt), pop, arms)]
        if graded:
            rows.append(_row("term", term, ">=2", _subjects(dt[dt["GRADE"] >= 2]), pop, arms))
            for g in (2, 3, 4):
                rows.append(_row("term", term, str(g), _subjects(_worst_is(dt, g, at_least=False)), pop, arms))
            rows.append(_row("term", term, ">=3", _subjects(dt[dt["GRADE"] >= 3]), pop, arms))
        if max(rows[0].percent.values()) >= min_term_percent:
            by_term.extend(rows)
    mods = dose_modifications(protocol, pop, d, adtte=adtte, adex=adex)
    return SafetyAnalysis(unit=protocol.analysis.time_unit, graded=graded, n=n, overview=tuple(overview), by_term=tuple(by_term),
                          dose_modifications=tuple(mods), treatment_related_deaths=dict(trd.count))


def _fatal(d: pd.DataFrame) -> np.ndarray:
    out = np.zeros(len(d), dtype=bool)
    if "AESDTH" in d.columns:
        out |= flag(d["AESDTH"])
    if "AEOUT" in d.columns:
        out |= d["AEOUT"].astype(str).str.upper().eq("FATAL").to_numpy()
    if len(d):
        out |= (d["GRADE"] == 5).to_numpy()
    return out


def _related(d: pd.DataFrame) -> np.ndarray:
    col = "AREL" if "AREL" in d.columns else "AEREL" if "AEREL" in d.columns else None
    if col is None:
        # Without a causality assessment every fatal event must be presumed related.
        return np.ones(len(d), dtype=bool)
    return d[col].astype(str).str.strip().str.upper().isin(RELATED).to_numpy()


def _ae_withdrawals(d: pd.DataFrame | None, arm: str) -> int:
    """Subjects of ``arm`` with an AE whose action (AEACN or a per-drug AEACNx) was DRUG WITHDRAWN."""
    if d is None:
        return 0
    cols = [c for c in d.columns if c.startswith("AEACN")]
    dd = d[d["ARM"] == arm]
    hit = np.zeros(len(dd), dtype=bool)
    for c in cols:
        hit |= dd[c].astype(str).str.upper().str.contains("WITHDRAWN").to_numpy()
    return int(dd.loc[hit, "USUBJID"].nunique())


def _reductions_from_adtte(adtte: pd.DataFrame, drug: str, n_drugs: int) -> pd.DataFrame | None:
    """TTDR records (time to first dose reduction) of ``drug``: USUBJID, AVAL (days), CNSR; None if absent."""
    t = adtte[adtte["PARAMCD"].astype(str) == "TTDR"]
    if t.empty:
        return None
    if "PARAM" in t.columns and n_drugs > 1:
        t = t[t["PARAM"].astype(str).str.lower().str.contains(drug.lower())]
    return pd.DataFrame({"USUBJID": t["USUBJID"].astype(str).to_numpy(),
                         "AVAL": pd.to_numeric(t["AVAL"], errors="coerce").to_numpy(),
                         "CNSR": pd.to_numeric(t["CNSR"], errors="coerce").to_numpy()})


def _reductions_from_adex(adex: pd.DataFrame, drug: str) -> pd.DataFrame:
    """First dose reduction per subject from exposure records: AVAL = days from first dose (+1), CNSR 0."""
    require_columns(adex, "ADEX", ["USUBJID", "EXTRT", "EXDOSE"])
    start = next((c for c in ("ASTDT", "EXSTDT", "EXSTDTC") if c in adex.columns), None)
    if start is None:
        raise ValueError(f"ADEX: expected a start date column (ASTDT or EXSTDTC); present: {list(adex.columns)}")
    e = adex[adex["EXTRT"].astype(str).str.lower().eq(drug.lower())]
    e = e.assign(USUBJID=e["USUBJID"].astype(str), _D=pd.to_numeric(e["EXDOSE"], errors="coerce"),
                 _S=pd.to_datetime(e[start], errors="coerce"))
    e = e[e["_D"] > 0].sort_values(["USUBJID", "_S"])
    first = e.groupby("USUBJID").agg(d0=("_D", "first"), s0=("_S", "first"))
    e = e.merge(first, left_on="USUBJID", right_index=True)
    red = e[e["_D"] < e["d0"]].groupby("USUBJID").agg(s=("_S", "first"), s0=("s0", "first"))
    return pd.DataFrame({"USUBJID": red.index.to_numpy(),
                         "AVAL": (red["s"] - red["s0"]).dt.days.to_numpy(dtype=float) + 1, "CNSR": 0})


def dose_modifications(protocol: Protocol, pop: pd.Series, d: pd.DataFrame | None, *,
                       adtte: pd.DataFrame | None = None,
                       adex: pd.DataFrame | None = None) -> list[DoseModificationSummary]:
    """Per drug with dose levels: treated subjects with a dose reduction, median time to it, AE withdrawals.

    The first reduction comes from ADTTE's TTDR parameter (time to first dose
    reduction, CNSR 0 = reduced) or else from ADEX doses below the starting
    dose. The median time is over the subjects who had a reduction, in the
    protocol's unit. Percentages are of the arm's safety population.
    """
    out = []
    for arm in protocol.arms:
        drugs = [x for x in arm.regimen if len(x.dose_levels) >= 2]
        for drug in drugs:
            red = None
            if adtte is not None and "PARAMCD" in adtte.columns:
                red = _reductions_from_adtte(adtte, drug.drug, len(drugs))
            if red is None and adex is not None and {"EXTRT", "EXDOSE"} <= set(adex.columns):
                # Record-level exposure (one row per dosing period) holds the reductions too.
                red = _reductions_from_adex(adex, drug.drug)
            if red is None:
                continue
            subj = pop[pop == arm.code].index
            red = red[red["USUBJID"].isin(subj) & (red["CNSR"] == 0)]
            times = days_to_unit(red["AVAL"].to_numpy(dtype=float), protocol.analysis.time_unit)
            n = int(len(subj))
            disc = _ae_withdrawals(d, arm.code)
            out.append(DoseModificationSummary(
                drug=drug.drug, arm=arm.code, n=n, reduced=int(len(red)),
                reduction_percent=100.0 * len(red) / n if n else float("nan"),
                median_time_to_first_reduction=float(np.median(times)) if len(times) else float("nan"),
                discontinued_for_ae=disc, discontinuation_percent=100.0 * disc / n if n else float("nan")))
    return out
