"""Published versus reproduced: every figure of a protocol's ``published`` block beside its recomputation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from oncotrial.analysis.results import HazardComparison, TimeToEventAnalysis, TrialResults, _Result
from oncotrial.protocol import Protocol, Published
from oncotrial.protocol.models import TimeToEventResult

NAN = float("nan")


@dataclass(frozen=True)
class ComparisonRow(_Result):
    """One published figure and its reproduction; ``kind`` says how to print both (percent, time, ratio...).

    ``figure`` is the label a reader sees (its confidence level taken from the analysis);
    ``code`` names the figure for other stages (``PFS median lower CI``, ``AE grade 3 (%)``), the
    name :func:`oncotrial.sim.figures.published_figures` gives it, so no stage matches labels.
    """

    section: str
    figure: str
    arm: str
    published: float
    reproduced: float
    kind: str
    code: str = ""


def event_label(ev, kind: str | None = None) -> str:
    """The code of a published AE figure; ``kind`` "n" or "%" (default: as published, a percentage if given)."""
    g = f"grade {ev.grade}" if ev.grade is not None else f"grade >= {ev.min_grade}"
    kind = kind or ("n" if ev.count and not ev.percent else "%")
    return f"AE {ev.term} {g} ({kind})"


def baseline_level_name(factor: str, level: str) -> str:
    """How a published stratum share is named in the figure codes (``factor=level``)."""
    return f"{factor}={level}"


@dataclass(frozen=True)
class Comparison(_Result):
    source: str
    label: str
    rows: tuple[ComparisonRow, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.to_dict() for r in self.rows]).replace({None: np.nan})


def _arm_tte(res: TimeToEventAnalysis | None, arm: str, attr: str) -> float:
    if res is None:
        return NAN
    return float(getattr(res.arm(arm), attr))


def _landmark(res: TimeToEventAnalysis | None, arm: str, time: float) -> float:
    if res is None:
        return NAN
    for lm in res.arm(arm).landmarks:
        if abs(lm.time - time) < 1e-9:
            return 100.0 * lm.surv
    return NAN


def one_sided_p(res: TimeToEventAnalysis | HazardComparison) -> float:
    """One-sided log-rank p for benefit of the experimental arm, from the two-sided chi-square."""
    if not np.isfinite(res.logrank_chisq):
        return NAN
    z = np.sqrt(res.logrank_chisq) * (-1.0 if res.hr < 1 else 1.0)
    return float(sps.norm.cdf(z))


def published_comparisons(result: TimeToEventResult, protocol: Protocol
                          ) -> list[tuple[str, str, float | None, tuple[float, float] | None, float | None]]:
    """The published hazard ratio, its CI and p of one endpoint per comparison, as
    (arm label, experimental arm, hr, hr_ci, p_value): the label is "" with two arms (one comparison,
    as the tables have always shown it) and the experimental arm's code with three or more.

    Example
    -------
    >>> published_comparisons(load_protocol("patina").published.pfs, load_protocol("patina"))  # doctest: +SKIP
    [('', 'A', 0.75, (0.59, 0.96), 0.02)]
    """
    pairs = protocol.comparisons
    return [("" if len(pairs) == 1 else e, e, result.hr_for(e), result.hr_ci_for(e), result.p_value_for(e))
            for e, _ in pairs]


def _comparison(res: TimeToEventAnalysis | None, experimental: str) -> HazardComparison | TimeToEventAnalysis | None:
    if res is None:
        return None
    # results built before k-arm comparisons existed carry only the top-level (two-arm) fields
    return res.comparison(experimental) if res.comparisons else res


def compare_published(results: TrialResults, published: Published, protocol: Protocol) -> Comparison:
    """List every figure ``published`` gives next to the same figure computed in ``results``.

    Percentages stay percentages, times are in the published unit (the
    analysis unit must match it), p-values are on the published sidedness.

    Example
    -------
    >>> cmp = compare_published(results, p.published, p)   # doctest: +SKIP
    >>> cmp.to_frame().head()                              # doctest: +SKIP
    """
    if published.time_unit != results.unit:
        raise ValueError(f"published.time_unit is {published.time_unit!r} but the analysis reports "
                         f"{results.unit!r}; set analysis.time_unit to match")
    rows: list[ComparisonRow] = []
    ci = f"{100 * results.conf_level:g}% CI"

    def add(section, figure, arm, pub, rep, kind, code):
        rows.append(ComparisonRow(section, figure, arm, float(pub) if pub is not None else NAN, float(rep), kind, code))

    if published.median_followup is not None:
        add("Follow-up", "Median follow-up (reverse KM)", "", published.median_followup, results.median_followup, "time",
            "median follow-up (months)")
    for arm, v in published.n_randomized.items():
        add("Patients", "Randomized", arm, v, results.n_randomized.get(arm, NAN), "count", "randomized (n)")
    for key, title in (("pfs", "PFS"), ("os", "OS"), ("dor", "DoR")):
        pub = getattr(published, key)
        if pub is None:
            continue
        res: TimeToEventAnalysis | None = getattr(results, key)
        E = key.upper()
        for arm, v in pub.events.items():
            add(title, "Events", arm, v, _arm_tte(res, arm, "events"), "count", f"{E} events (n)")
        for arm, v in pub.median.items():
            add(title, "Median", arm, v, _arm_tte(res, arm, "median"), "time", f"{E} median (months)")
        for arm, (lo, hi) in pub.median_ci.items():
            add(title, f"Median, lower {ci}", arm, lo, _arm_tte(res, arm, "median_lower"), "time", f"{E} median lower CI")
            add(title, f"Median, upper {ci}", arm, hi, _arm_tte(res, arm, "median_upper"), "time", f"{E} median upper CI")
        for label, exp, hr, hr_ci, p_value in published_comparisons(pub, protocol):
            c = _comparison(res, exp)
            if hr is not None:
                add(title, "Hazard ratio" + (" (stratified)" if pub.hr_stratified and key != "dor" else ""), label,
                    hr, c.hr if c else NAN, "ratio", f"{E} HR")
            if hr_ci is not None:
                add(title, f"Hazard ratio, lower {ci}", label, hr_ci[0], c.hr_lower if c else NAN, "ratio",
                    f"{E} HR lower CI")
                add(title, f"Hazard ratio, upper {ci}", label, hr_ci[1], c.hr_upper if c else NAN, "ratio",
                    f"{E} HR upper CI")
            if p_value is not None:
                rep = NAN if c is None else (c.logrank_p if pub.p_sided == 2 else one_sided_p(c))
                add(title, f"Log-rank p ({pub.p_sided}-sided)", label, p_value, rep, "p",
                    f"{E} p ({pub.p_sided}-sided)")
        for lm in pub.landmarks:
            for arm, v in lm.rate.items():
                add(title, f"Rate at {lm.time:g} {published.time_unit}", arm, v, _landmark(res, arm, lm.time), "percent",
                    f"{E} rate at {lm.time:g} months (%)")
    for key, title in (("orr", "ORR"), ("cbr", "CBR")):
        pub = getattr(published, key)
        if pub is None:
            continue
        res = getattr(results, key)
        for arm, v in pub.rate.items():
            add(title, "Rate", arm, v, 100 * res.arm(arm).rate if res else NAN, "percent", f"{title} (%)")
        for arm, (lo, hi) in pub.ci.items():
            add(title, f"Rate, lower {ci}", arm, lo, 100 * res.arm(arm).lower if res else NAN, "percent",
                f"{title} lower CI")
            add(title, f"Rate, upper {ci}", arm, hi, 100 * res.arm(arm).upper if res else NAN, "percent",
                f"{title} upper CI")
    if published.safety is not None:
        _safety_rows(results, published, add)
    for dm in published.dose_modifications:
        m = None
        if results.safety is not None:
            m = next((x for x in results.safety.dose_modifications
                      if x.drug.lower() == dm.drug.lower() and x.arm == dm.arm), None)
        for fld, label, attr, kind, code in (
                ("reduction", "Dose reduction", "reduction_percent", "percent", "dose reduction (%)"),
                ("median_time_to_first_reduction", "Median time to first reduction", "median_time_to_first_reduction",
                 "time", "median time to first reduction (months)"),
                ("discontinuation_for_ae", "Discontinued for an AE", "discontinuation_percent", "percent",
                 "discontinued for AE (%)")):
            v = getattr(dm, fld)
            if v is not None:
                add(f"Dose modifications ({dm.drug})", label, dm.arm, v, getattr(m, attr) if m else NAN, kind,
                    f"{dm.drug} {code}")
    if published.baseline is not None:
        _baseline_rows(results, published, protocol, add)
    return Comparison(source=published.source, label=published.label, rows=tuple(rows))


def event_figure(ev) -> str:
    """How a published adverse-event figure is named: "<term>, grade <g>" (count rows add " (patients)")."""
    grade = str(ev.grade) if ev.grade is not None else f">={ev.min_grade}"
    return f"{ev.term}, grade {grade.replace('>=', '≥')}"


def _stratum_labels(protocol: Protocol, factor: str, level: str) -> tuple[str, str]:
    # The protocol has checked that every published level names one of its factors' levels.
    f = protocol.factor(factor)
    lv = next(x for x in f.levels if x.code == level)
    return f.label or f.name, lv.label or lv.code


def stratum_figure(protocol: Protocol, factor: str, level: str) -> str:
    """How a published stratum share is named: "<factor label>: <level label> (%)"."""
    char, lev = _stratum_labels(protocol, factor, level)
    return f"{char}: {lev} (%)"


TERM_ALIASES = {"DIARRHOEA": {"DIARRHOEA", "DIARRHEA"}, "DIARRHEA": {"DIARRHOEA", "DIARRHEA"}}


def _safety_rows(results: TrialResults, published: Published, add) -> None:
    s = published.safety
    res = results.safety
    for fld, grade, label, code in (("any_grade", "any", "Any adverse event", "AE any grade (%)"),
                                    ("grade3", "3", "Worst grade 3 adverse event", "AE grade 3 (%)"),
                                    ("grade4", "4", "Worst grade 4 adverse event", "AE grade 4 (%)"),
                                    ("serious", "any", "Serious adverse event", "Serious AE (%)")):
        cat = "serious" if fld == "serious" else "any"
        for arm, v in getattr(s, fld).items():
            rep = NAN
            if res is not None:
                try:
                    rep = res.row(cat, "", grade).percent.get(arm, NAN)
                except KeyError:
                    pass
            add("Safety", label, arm, v, rep, "percent", code)
    for arm, v in s.treatment_related_deaths.items():
        add("Safety", "Treatment-related deaths", arm, v, res.treatment_related_deaths.get(arm, NAN) if res else NAN,
            "count", "Treatment-related deaths (n)")
    for ev in s.events:
        grade = str(ev.grade) if ev.grade is not None else f">={ev.min_grade}"
        names = TERM_ALIASES.get(ev.term.upper(), {ev.term.upper()})
        row = None
        if res is not None:
            row = next((r for r in res.by_term if r.term.upper() in names and r.grade == grade), None)
        label = event_figure(ev)
        for arm, v in ev.percent.items():
            add("Safety", label, arm, v, row.percent.get(arm, NAN) if row else (0.0 if res else NAN), "percent",
                event_label(ev, "%"))
        for arm, v in ev.count.items():
            add("Safety", label + " (patients)", arm, v, row.count.get(arm, NAN) if row else (0.0 if res else NAN),
                "count", event_label(ev, "n"))


BASELINE_LABELS = {
    "female": "Female (%)", "postmenopausal": "Postmenopausal (%)", "de_novo": "De novo metastatic disease (%)",
    "visceral": "Visceral metastases (%)", "cns_metastases": "CNS metastases (%)",
}


def _baseline_rows(results: TrialResults, published: Published, protocol: Protocol, add) -> None:
    b, t = published.baseline, results.baseline

    def pct(characteristic: str, level: str) -> float:
        if t is None:
            return NAN
        try:
            return t.value(characteristic, level)["percent"]
        except KeyError:
            return NAN

    mapping = {
        "female": ("Sex", "F"), "postmenopausal": ("Postmenopausal", "Yes"), "de_novo": ("De novo metastatic disease", "Yes"),
        "visceral": ("Visceral disease", "Yes"), "cns_metastases": ("CNS metastases", "Yes"),
    }
    if b.age_median is not None:
        rep = t.value("Age (years)", "")["median"] if t is not None and any(
            r.characteristic == "Age (years)" for r in t.rows) else NAN
        add("Baseline", "Median age (years)", "", b.age_median, rep, "years", "baseline age_median (years)")
    for fld, (char, level) in mapping.items():
        v = getattr(b, fld)
        if v is None:
            continue
        rep = pct(char, level)
        if fld == "postmenopausal" and not np.isfinite(rep) and t is not None:
            # Menopausal status held as a category (e.g. PRE/POST): take its post-menopausal level.
            rep = next((r.values["Total"]["percent"] for r in t.rows if r.characteristic == "Menopausal status"
                        and r.level.upper().startswith("POST")), NAN)
        add("Baseline", BASELINE_LABELS[fld], "", v, rep, "percent", f"baseline {fld} (%)")
    for lv in b.strata:
        char, level = _stratum_labels(protocol, lv.factor, lv.level)
        add("Baseline", stratum_figure(protocol, lv.factor, lv.level), "", lv.percent, pct(char, level), "percent",
            f"baseline {baseline_level_name(lv.factor, lv.level)} (%)")
