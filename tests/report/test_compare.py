"""Published vs reproduced: every figure of the published block has a row, values come from the results."""

from __future__ import annotations

import math

from oncotrial.analysis import compare_published

# Keys of the published block that describe a figure rather than being one.
DESCRIPTIVE = {"source", "label", "time_unit", "hr_stratified", "p_sided", "p_stratified", "population", "confirmed",
               "time", "term", "grade", "min_grade", "drug", "arm"}


def count_figures(node) -> int:
    """Numbers in the published block, found by walking it (independently of compare_published)."""
    if isinstance(node, dict):
        return sum(count_figures(v) for k, v in node.items() if k not in DESCRIPTIVE)
    if isinstance(node, (list, tuple)):
        return sum(count_figures(v) for v in node)
    return 1 if isinstance(node, (int, float)) and not isinstance(node, bool) else 0


def test_every_published_figure_is_compared(analysed, patina):
    job, _, _ = analysed
    cmp = compare_published(job.results, patina.published, patina)
    assert len(cmp.rows) == count_figures(patina.published.model_dump(exclude_none=True))
    frame = cmp.to_frame()
    assert set(frame.columns) == {"section", "figure", "arm", "published", "reproduced", "kind", "code"}
    missing = frame[frame["reproduced"].isna() & frame["published"].notna()]
    # Only Kaplan-Meier quantiles may be missing: a median (or its limit) the curve never reaches.
    assert set(missing["figure"]) <= {"Median", "Median, lower 95% CI", "Median, upper 95% CI"}


def test_compared_values_are_the_results(analysed, patina):
    job, _, _ = analysed
    r = job.results
    rows = {(x.section, x.figure, x.arm): x for x in compare_published(r, patina.published, patina).rows}
    assert rows[("PFS", "Median", "A")].reproduced == r.pfs.arm("A").median
    assert rows[("PFS", "Hazard ratio (stratified)", "")].reproduced == r.pfs.hr
    assert rows[("PFS", "Log-rank p (2-sided)", "")].reproduced == r.pfs.logrank_p
    assert rows[("PFS", "Rate at 48 months", "B")].reproduced == 100 * r.pfs.arm("B").landmarks[0].surv
    assert rows[("OS", "Events", "B")].reproduced == r.os.arm("B").events
    assert rows[("ORR", "Rate", "A")].reproduced == 100 * r.orr.arm("A").rate
    assert rows[("Safety", "Any adverse event", "B")].reproduced == r.safety.row("any", "", "any").percent["B"]
    assert rows[("Follow-up", "Median follow-up (reverse KM)", "")].published == 53.5
    assert not math.isnan(rows[("Dose modifications (palbociclib)", "Dose reduction", "A")].reproduced)


def test_earlier_cut_one_sided_p(analysed, patina):
    job, _, _ = analysed
    earlier = patina.published_earlier[0]
    cmp = compare_published(job.results, earlier, patina)
    (p,) = [x for x in cmp.rows if x.figure.startswith("Log-rank p")]
    assert p.figure == "Log-rank p (1-sided)"
    # One-sided for benefit: half the two-sided p when the HR favours the experimental arm.
    if job.results.pfs.hr < 1:
        assert abs(p.reproduced - job.results.pfs.logrank_p / 2) < 1e-12


def test_rows_carry_codes_and_labels_follow_the_confidence_level(analysed, patina):
    import dataclasses

    from oncotrial.sim.figures import published_figures

    job, _, _ = analysed
    rows = compare_published(job.results, patina.published, patina).rows
    listed = published_figures(patina)
    # every figure the simulator lists is found by its code, never by its printed label
    assert set(zip(listed["figure"], listed["arm"])) <= {(r.code, r.arm) for r in rows}
    assert all(r.code for r in rows)
    at90 = compare_published(dataclasses.replace(job.results, conf_level=0.90), patina.published, patina).rows
    assert [r.code for r in at90] == [r.code for r in rows]
    labels = {r.figure for r in at90}
    assert "Median, lower 90% CI" in labels and "Hazard ratio, upper 90% CI" in labels
    assert not any("95%" in label for label in labels)


def test_the_summary_states_the_analysis_confidence_level(analysed, patina):
    import dataclasses

    from oncotrial.tlg.summary import results_summary

    job, _, _ = analysed
    assert "95% CI" in results_summary(job.results, patina)
    text = results_summary(dataclasses.replace(job.results, conf_level=0.90), patina)
    assert "90% CI" in text and "95% CI" not in text
