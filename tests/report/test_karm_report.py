"""The tables, figures, prose and report of a trial with three arms: the bundled COLON protocol
(OBS control, LEV, LEV5FU; recurrence-free and overall survival only), reconstructed once and
reported through the same function as ``oncotrial reproduce colon --out DIR``."""

from __future__ import annotations

import html
import json
import math

import pytest

from oncotrial.protocol import load_protocol

from .test_chromium import chromium, page_requests  # noqa: F401  (chromium is a fixture)


@pytest.fixture(scope="module")
def colon():
    return load_protocol("colon")


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory, colon):
    """COLON reconstructed (seed 0) and reported into a temporary folder: (JobResult, folder)."""
    from oncotrial.jobs.pipeline import reproduce

    out = tmp_path_factory.mktemp("colon_out")
    return reproduce(colon, out, seed=0), out


@pytest.fixture(scope="module")
def results(reproduced):
    return reproduced[0].results


@pytest.fixture(scope="module")
def report_html(reproduced):
    return (reproduced[1] / "report.html").read_text(encoding="utf-8")


LABELS = {"OBS": "Observation", "LEV": "Levamisole", "LEV5FU": "Levamisole + 5-FU"}


def test_results_json_has_both_comparisons_with_finite_hrs(reproduced):
    doc = json.loads((reproduced[1] / "results.json").read_text())
    res = doc["results"]
    assert res["arm_order"] == ["OBS", "LEV", "LEV5FU"]
    for key in ("pfs", "os"):
        comps = res[key]["comparisons"]
        assert [(c["experimental"], c["control"]) for c in comps] == [("LEV", "OBS"), ("LEV5FU", "OBS")]
        for c in comps:
            for f in ("hr", "hr_lower", "hr_upper", "logrank_p"):
                assert c[f] is not None and math.isfinite(c[f]), (key, c["experimental"], f)
            assert c["hr_lower"] < c["hr"] < c["hr_upper"]
        assert res[key]["hr"] is None  # no single comparison with three arms
    # The protocol names PFS "Recurrence-free survival"; that is the label the results carry.
    assert res["pfs"]["label"] == "Recurrence-free survival"


def test_tables_have_one_column_per_arm(results):
    from oncotrial.tlg import tables as T

    heads = [LABELS[c] for c in ("OBS", "LEV", "LEV5FU")]
    assert list(T.flow_table(results).columns) == ["Stage", *heads]
    for res in (results.pfs, results.os):
        tab = T.time_to_event_table(res, results)
        assert list(tab.columns) == ["", *heads]
        hr_row = tab[tab[""].str.startswith("Hazard ratio")].iloc[0]
        p_row = tab[tab[""].str.startswith("P value")].iloc[0]
        assert hr_row["Observation"] == p_row["Observation"] == "reference"
        for code in ("LEV", "LEV5FU"):
            h = res.comparison(code)
            assert hr_row[LABELS[code]] == f"{h.hr:.2f} ({h.hr_lower:.2f}-{h.hr_upper:.2f})"
            assert p_row[LABELS[code]] == T.pvalue(h.logrank_p)
    base = T.baseline_frame(results.baseline, results)
    assert [c.split(" (N=")[0] for c in base.columns[1:]] == [*heads, "Total"]


def test_subgroup_table_has_a_hazard_ratio_column_per_comparison(results):
    from oncotrial.tlg import tables as T

    tab = T.subgroup_table(results)
    assert list(tab.columns[1:4]) == [f"{LABELS[c]} events/N" for c in ("OBS", "LEV", "LEV5FU")]
    hr_cols = [c for c in tab.columns if "hazard ratio" in c]
    assert len(hr_cols) == 2 and hr_cols[0].startswith("Levamisole vs Observation")
    overall = tab.iloc[0]
    for col, code in zip(hr_cols, ("LEV", "LEV5FU")):
        o = results.subgroups_by_comparison[code].overall
        assert overall[col] == f"{o.hr:.2f} ({o.hr_lower:.2f}-{o.hr_upper:.2f})"
        assert overall[f"{LABELS[code]} events/N"] == f"{o.events[code]}/{o.n[code]}"


def test_rate_difference_goes_in_each_experimental_column(results):
    # COLON plans no response endpoint, but the analysis computes the rates the data allow.
    from oncotrial.tlg import tables as T

    if results.cbr is None:
        pytest.skip("the reconstruction has no clinical-benefit data")
    tab = T.binary_table(results.cbr, results)
    diff = tab[tab[""].str.startswith("Difference")].iloc[0]
    assert diff["Observation"] == "reference"
    for code in ("LEV", "LEV5FU"):
        d = results.cbr.comparison(code)
        assert diff[LABELS[code]] == f"{100 * d.difference:.1f} ({100 * d.difference_lower:.1f}-{100 * d.difference_upper:.1f})"


def test_km_figure_has_a_curve_and_risk_row_per_arm(results):
    from oncotrial.tlg.figures import km_figure

    fig = km_figure(results.pfs, results)
    curves = [ln for ln in fig.axes[0].lines if (ln.get_gid() or "").startswith("km:")]
    assert [ln.get_gid() for ln in curves] == ["km:OBS", "km:LEV", "km:LEV5FU"]
    assert len({ln.get_color() for ln in curves}) == 3
    risk = next(ax for ax in fig.axes if ax.get_gid() == "risk_table")
    rows = [t for t in risk.texts if (t.get_gid() or "").startswith("risk:")]
    assert [t.get_text() for t in rows] == [LABELS[c] for c in ("OBS", "LEV", "LEV5FU")]
    # the HR box names both comparisons
    box = "\n".join(t.get_text() for t in fig.axes[0].texts)
    assert "Levamisole:" in box and "Levamisole + 5-FU:" in box


def test_forest_and_flow_figures_per_comparison_and_arm(results, reproduced):
    from oncotrial.tlg.figures import consort_figure, forest_figure

    stems = sorted(p.stem for p in (reproduced[1] / "figures").glob("*.png"))
    assert "forest_pfs_lev" in stems and "forest_pfs_lev5fu" in stems and "forest_pfs" not in stems
    # no response analysis is planned: no tumour-response figures
    assert "waterfall" not in stems and "spider" not in stems
    title = forest_figure(results, "LEV5FU").axes[0].get_title(loc="left")
    assert title.endswith("Levamisole + 5-FU vs Observation")
    with pytest.raises(ValueError, match="experimental="):
        forest_figure(results)
    flow = consort_figure(results)
    boxes = {t.get_gid().split(":")[1] for t in flow.axes[0].texts if (t.get_gid() or "").startswith("flow:")}
    assert boxes == {"OBS", "LEV", "LEV5FU"}


def test_summary_describes_each_comparison(reproduced, results):
    text = (reproduced[1] / "summary.md").read_text(encoding="utf-8")
    assert "experimental arm" not in text
    for code in ("LEV", "LEV5FU"):
        h = results.pfs.comparison(code)
        assert f"{LABELS[code]} vs observation: HR, {h.hr:.2f}" in text
    assert "recurrence-free survival" in text and "PFS" not in text
    # sections the protocol does not plan are not written
    assert "Safety" not in text and "response rate" not in text and "clinical benefit" not in text


def test_report_has_every_arm_and_comparison(report_html, results):
    from oncotrial.tlg import tables as T

    for label in LABELS.values():
        assert html.escape(label) in report_html
    tab = T.time_to_event_table(results.pfs, results)
    hr_row = tab[tab[""].str.startswith("Hazard ratio")].iloc[0]
    for code in ("LEV", "LEV5FU"):
        assert f"<td>{hr_row[LABELS[code]]}</td>" in report_html
    assert "Recurrence-free survival" in report_html
    assert 'id="safety"' not in report_html and 'id="response"' not in report_html
    assert 'id="subgroups"' in report_html


def test_colon_report_loads_without_external_requests(chromium, reproduced, tmp_path):  # noqa: F811
    out = reproduced[1]
    dom, urls = page_requests(out / "report.html", tmp_path)
    assert urls == []
    assert "Levamisole + 5-FU" in dom
    assert dom.count("<img") == len(list((out / "figures").glob("*.png")))


def test_endpoint_label_from_the_protocol(colon):
    from oncotrial.analysis.plan import LABELS as FIXED
    from oncotrial.analysis.plan import endpoint_label

    assert endpoint_label(colon, "PFS") == "Recurrence-free survival"
    assert endpoint_label(colon, "ORR") == FIXED["ORR"]  # COLON names no response endpoint


def test_cli_prints_one_line_per_comparison(reproduced, capsys):
    from oncotrial.jobs.cli import _done

    _done(reproduced[0], 1.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "COLON: 929 patients randomized"
    assert [ln.split(":")[0] for ln in lines[1:3]] == ["PFS LEV vs OBS", "PFS LEV5FU vs OBS"]
    h = reproduced[0].results.pfs.comparison("LEV5FU")
    assert f"HR {h.hr:.2f} ({h.hr_lower:.2f}-{h.hr_upper:.2f})" in lines[2]
