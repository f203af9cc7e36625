"""Tables of the report as DataFrames (ready for HTML, CSV or a console) built from analysis results."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from oncotrial.analysis.compare import Comparison
from oncotrial.analysis.results import (BaselineTable, BinaryAnalysis, SafetyAnalysis, SubgroupAnalysis,
                                       TimeToEventAnalysis, TrialResults)
from oncotrial.tlg.format import count_pct, interval, num, pvalue, value

GRADE_LABELS = {"any": "Any grade", "3": "Grade 3", "4": "Grade 4", ">=3": "Grade ≥3", ">=2": "Grade ≥2", "2": "Grade 2"}


def _arm_header(results: TrialResults, code: str) -> str:
    return f"{results.arms[code]} (N={results.n_randomized[code]})"


def arm_columns(results: TrialResults) -> list[str]:
    """The arm codes in table-column order: ``results.arm_order`` ((experimental, control) with two
    arms, protocol order with three or more); results built without it give (experimental, control)."""
    return list(results.arm_order) if results.arm_order else [results.experimental, results.control]


def _by_experimental(res: TimeToEventAnalysis | BinaryAnalysis, results: TrialResults) -> dict[str, Any]:
    """Each experimental arm's comparison with the control (HazardComparison / RateDifference fields).

    With two arms the analysis' own top-level fields are that comparison (and results built
    before ``comparisons`` existed have only them)."""
    if len(arm_columns(results)) <= 2:
        return {results.experimental: res}
    return {c.experimental: c for c in res.comparisons}


def _comparison_cells(results: TrialResults, cols: list[str], by: dict[str, Any], cell) -> list[str]:
    """A row's cells: ``cell(comparison)`` in each experimental arm's column; the control column is
    empty with two arms (as the two-arm tables print it) and "reference" with three or more."""
    ref = "reference" if len(cols) > 2 else ""
    return [cell(by[c]) if c in by else (ref if c == results.control else "") for c in cols]


def flow_table(results: TrialResults) -> pd.DataFrame:
    """The CONSORT-style flow as a table: one row per stage, one column per arm."""
    cols = arm_columns(results)
    return pd.DataFrame([[s.stage] + [s.count.get(c, 0) for c in cols] for s in results.flow],
                        columns=["Stage"] + [results.arms[c] for c in cols])


def time_to_event_table(res: TimeToEventAnalysis, results: TrialResults) -> pd.DataFrame:
    """Events, median with CI and landmark rates per arm; HR and p in the experimental column
    (each experimental arm's column, vs the control, with three or more arms)."""
    cols = arm_columns(results)
    unit = res.unit
    cl = f"{100 * res.conf_level:g}%"
    rows = [["Patients"] + [str(res.arm(c).n) for c in cols],
            ["Events, n (%)"] + [count_pct(res.arm(c).events, 100 * res.arm(c).events / res.arm(c).n if res.arm(c).n
                                           else float("nan")) for c in cols],
            [f"Median, {unit} ({cl} CI)"] + [f"{num(res.arm(c).median)} ({interval(res.arm(c).median_lower, res.arm(c).median_upper)})"
                                            for c in cols]]
    for i, lm in enumerate(res.arm(cols[0]).landmarks):
        rows.append([f"Rate at {lm.time:g} {unit}, % ({cl} CI)"] + [
            f"{num(100 * res.arm(c).landmarks[i].surv)} ({interval(100 * res.arm(c).landmarks[i].lower, 100 * res.arm(c).landmarks[i].upper)})"
            for c in cols])
    by = _by_experimental(res, results)
    strat = "stratified" if res.hr_stratified else "unstratified"
    rows.append([f"Hazard ratio ({strat} Cox, {cl} CI)"] + _comparison_cells(
        results, cols, by, lambda h: f"{num(h.hr, 2)} ({interval(h.hr_lower, h.hr_upper, 2)})"))
    lr = "stratified log-rank" if res.logrank_stratified else "log-rank"
    rows.append([f"P value (two-sided {lr})"] + _comparison_cells(results, cols, by, lambda h: pvalue(h.logrank_p)))
    return pd.DataFrame(rows, columns=["", *(results.arms[c] for c in cols)])


def binary_table(res: BinaryAnalysis, results: TrialResults) -> pd.DataFrame:
    """Rate with exact (or Wilson) CI per arm and the difference with its CI (each experimental arm
    vs the control, in that arm's column)."""
    cols = arm_columns(results)
    cl = f"{100 * res.conf_level:g}%"
    rows = [["Patients analysed"] + [str(res.arm(c).n) for c in cols],
            ["Responders, n"] + [str(res.arm(c).responders) for c in cols],
            [f"Rate, % ({cl} CI)"] + [f"{num(100 * res.arm(c).rate)} ({interval(100 * res.arm(c).lower, 100 * res.arm(c).upper)})"
                                     for c in cols],
            [f"Difference, percentage points ({cl} CI, {res.difference_method})"] + _comparison_cells(
                results, cols, _by_experimental(res, results),
                lambda d: f"{num(100 * d.difference)} ({interval(100 * d.difference_lower, 100 * d.difference_upper)})")]
    return pd.DataFrame(rows, columns=["", *(results.arms[c] for c in cols)])


def baseline_frame(table: BaselineTable, results: TrialResults) -> pd.DataFrame:
    """The baseline table: median (range) for age, n (%) for each level."""
    keys = [*arm_columns(results), "Total"]
    heads = [f"{results.arms.get(k, 'Total')} (N={table.n[k]})" for k in keys]
    rows = []
    for r in table.rows:
        name = r.characteristic if not r.level or r.level == "Yes" else f"{r.characteristic}: {r.level}"
        if r.kind == "median":
            cells = [f"{num(r.values[k]['median'])} ({num(r.values[k]['min'], 0)}-{num(r.values[k]['max'], 0)})"
                     for k in keys]
            name += ", median (range)"
        else:
            cells = [count_pct(int(r.values[k]["n"]), r.values[k]["percent"]) for k in keys]
        rows.append([name, *cells])
    return pd.DataFrame(rows, columns=["Characteristic", *heads])


def safety_overview_table(res: SafetyAnalysis, results: TrialResults) -> pd.DataFrame:
    """Patients with any TEAE, by worst grade, serious, leading to discontinuation, fatal."""
    cols = arm_columns(results)
    names = {("any", "any"): "Any adverse event", ("any", "3"): "Worst grade 3", ("any", "4"): "Worst grade 4",
             ("any", ">=3"): "Grade ≥3", ("serious", "any"): "Serious adverse event",
             ("discontinuation", "any"): "Leading to discontinuation of study treatment",
             ("fatal", "any"): "Fatal adverse event", ("fatal_related", "any"): "Treatment-related death"}
    rows = [[names.get((r.category, r.grade), f"{r.category} {r.grade}")] +
            [count_pct(r.count[c], r.percent[c]) for c in cols] for r in res.overview]
    for m in res.dose_modifications:
        rows.append([f"{m.drug.capitalize()} dose reduction ({results.arms[m.arm]})",
                     *(count_pct(m.reduced, m.reduction_percent) if m.arm == c else "" for c in cols)])
        rows.append([f"Median time to first {m.drug} reduction, {res.unit}",
                     *(num(m.median_time_to_first_reduction) if m.arm == c else "" for c in cols)])
        rows.append([f"{m.drug.capitalize()} discontinued for an adverse event",
                     *(count_pct(m.discontinued_for_ae, m.discontinuation_percent) if m.arm == c else "" for c in cols)])
    return pd.DataFrame(rows, columns=["", *(f"{results.arms[c]} (N={res.n[c]})" for c in cols)])


def safety_term_table(res: SafetyAnalysis, results: TrialResults, *, min_percent: float = 10.0,
                      grades: tuple[str, ...] = ("any", "3", "4")) -> pd.DataFrame:
    """Adverse events by preferred term reported (any grade) in at least ``min_percent`` of an arm."""
    cols = arm_columns(results)
    if not res.graded:
        grades = ("any",)
    by = {}
    for r in res.by_term:
        by.setdefault(r.term, {})[r.grade] = r
    rows = []
    for term, g in by.items():
        if max(g["any"].percent.values()) < min_percent:
            continue
        cells = []
        for c in cols:
            for gr in grades:
                cells.append(count_pct(g[gr].count[c], g[gr].percent[c]))
        rows.append([term, *cells])
    header = pd.MultiIndex.from_tuples([("", "Preferred term")] + [
        (f"{results.arms[c]} (N={res.n[c]})", GRADE_LABELS[gr]) for c in cols for gr in grades])
    return pd.DataFrame(rows, columns=header)


def subgroup_analyses(results: TrialResults) -> dict[str, SubgroupAnalysis]:
    """The subgroup analysis of each experimental arm vs the control, by experimental arm code
    (the one two-arm analysis when ``subgroups_by_comparison`` is not filled in)."""
    if results.subgroups_by_comparison:
        return dict(results.subgroups_by_comparison)
    return {results.experimental: results.subgroups} if results.subgroups is not None else {}


def subgroup_table(results: TrialResults) -> pd.DataFrame:
    """Per subgroup level: patients, events and HR with CI (the forest plot's numbers).

    With three or more arms: events/N per arm and one HR column per comparison (each
    experimental arm vs the control, fitted on those two arms' patients).
    """
    cols = arm_columns(results)
    if len(cols) <= 2:
        sg = results.subgroups
        rows = []
        for r in (sg.overall, *sg.rows):
            rows.append([r.label if not r.level else f"{r.label}: {r.level}"] +
                        [f"{r.events[c]}/{r.n[c]}" for c in cols] +
                        [f"{num(r.hr, 2)} ({interval(r.hr_lower, r.hr_upper, 2)})"])
        return pd.DataFrame(rows, columns=["Subgroup", *(f"{results.arms[c]} events/N" for c in cols),
                                           f"Hazard ratio ({100 * sg.conf_level:g}% CI)"])
    analyses = subgroup_analyses(results)
    if not analyses:
        raise ValueError(f"{results.study}: no subgroup analysis in the results (protocol analysis.subgroups is empty)")
    first = next(iter(analyses.values()))
    # Every comparison has the same subgroup levels in the same order; a level missing from one
    # (no patients of that pair in it) prints an empty cell rather than shifting the rows.
    keyed = {e: {(r.subgroup, r.level): r for r in (sg.overall, *sg.rows)} for e, sg in analyses.items()}
    rows = []
    for r in (first.overall, *first.rows):
        key = (r.subgroup, r.level)
        counts = {}
        for per in keyed.values():
            if key in per:
                counts.update({a: f"{per[key].events[a]}/{per[key].n[a]}" for a in per[key].n})
        hrs = [f"{num(per[key].hr, 2)} ({interval(per[key].hr_lower, per[key].hr_upper, 2)})" if key in per else ""
               for per in keyed.values()]
        rows.append([r.label if not r.level else f"{r.label}: {r.level}", *(counts.get(c, "") for c in cols), *hrs])
    heads = [f"{results.arms[e]} vs {results.arms[sg.control]}: hazard ratio ({100 * sg.conf_level:g}% CI)"
             for e, sg in analyses.items()]
    return pd.DataFrame(rows, columns=["Subgroup", *(f"{results.arms[c]} events/N" for c in cols), *heads])


def comparison_table(cmp: Comparison, results: TrialResults) -> pd.DataFrame:
    """Published beside reproduced for every published figure."""
    rows = []
    for r in cmp.rows:
        arm = results.arms.get(r.arm, r.arm) if r.arm else ""
        rows.append([r.section, r.figure, arm, value(r.published, r.kind), value(r.reproduced, r.kind)])
    return pd.DataFrame(rows, columns=["Endpoint", "Figure", "Arm", "Published", "Reproduced"])


def to_html(df: pd.DataFrame, *, caption: str = "", classes: str = "tbl") -> str:
    """A table as escaped HTML with an optional caption (the report's only table renderer)."""
    out = df.to_html(index=False, escape=True, classes=classes, border=0, na_rep="")
    if caption:
        out = out.replace(">\n  <thead>", f">\n  <caption>{html.escape(caption)}</caption>\n  <thead>", 1)
    return out
