"""Tables, figures and the written summary from real results (the pharmaverse pilot study)."""

from __future__ import annotations

import numpy as np
import pytest

from oncotrial.analysis import run_analysis
from oncotrial.tlg import (baseline_frame, binary_table, flow_table, forest_figure, km_figure, results_summary,
                           safety_overview_table, safety_term_table, subgroup_table, time_to_event_table)
from oncotrial.tlg.figures import at_risk, png_bytes
from tests.analysis.helpers import pilot_protocol, read_pharmaverse
from tests.conftest import PHARMAVERSE


@pytest.fixture(scope="module")
def pilot():
    if not PHARMAVERSE.is_dir():
        pytest.skip("../shared/data/pharmaverse is not present")
    adam = read_pharmaverse(PHARMAVERSE)
    p = pilot_protocol()
    return adam, p, run_analysis(adam, p)


def test_numbers_at_risk_are_direct_counts(pilot):
    adam, _, r = pilot
    arms = adam["adsl"].set_index("USUBJID")["ARMCD"]
    tte = adam["adtte"][adam["adtte"].PARAMCD == "PFS"]
    tte = tte.assign(ARMCD=tte.USUBJID.map(arms))
    times = np.array([0.0, 1.0, 2.0, 4.0, 6.0])
    for code in ("Xan_Hi", "Pbo"):
        t = tte[tte.ARMCD == code].AVAL.to_numpy() / 30.4375
        expected = [(t >= x).sum() for x in times]
        assert list(at_risk(r.pfs.curves[code], times)) == expected


def test_tables_have_one_column_per_arm(pilot):
    _, _, r = pilot
    t = time_to_event_table(r.pfs, r)
    assert list(t.columns) == ["", "Xanomeline high", "Placebo"]
    assert t.iloc[0, 1] == str(r.pfs.arm("Xan_Hi").n)
    assert "NE" in t.iloc[2, 1]  # upper CI of the median is not reached
    assert list(binary_table(r.orr, r).columns) == ["", "Xanomeline high", "Placebo"]
    assert flow_table(r).iloc[0].tolist() == ["Randomized", r.n_randomized["Xan_Hi"], r.n_randomized["Pbo"]]
    base = baseline_frame(r.baseline, r)
    assert base.columns[-1] == f"Total (N={sum(r.n_randomized.values())})"
    assert base.iloc[0, 0] == "Age (years), median (range)"
    assert len(subgroup_table(r)) == 1 + len(r.subgroups.rows)
    assert r.subgroups.unavailable == ()  # age group (from AGE) and sex are both in the pilot ADSL


def test_safety_tables_without_grades(pilot):
    _, _, r = pilot
    assert not r.safety.graded
    over = safety_overview_table(r.safety, r)
    assert over.iloc[0, 0] == "Any adverse event"
    terms = safety_term_table(r.safety, r)
    assert [c[1] for c in terms.columns[1:]] == ["Any grade", "Any grade"]


def test_figures_render(pilot):
    _, _, r = pilot
    for fig in (km_figure(r.pfs, r), forest_figure(r)):
        assert png_bytes(fig)[:4] == b"\x89PNG"


def test_summary_without_published_block_or_grades(pilot):
    _, p, r = pilot
    text = results_summary(r, p)
    assert text.startswith("## PATINA results")
    assert f"{r.pfs.arm('Xan_Hi').median:.1f}" in text and "nonevaluable [NE]" in text
    assert "Grade 3" not in text and "nan" not in text.lower()


def test_summary_names_the_endpoint_as_the_protocol_does(pilot):
    import dataclasses

    _, p, r = pilot
    assert "median PFS of" in results_summary(r, p)
    renamed = dataclasses.replace(r, pfs=dataclasses.replace(r.pfs, label="Recurrence-free survival"))
    text = results_summary(renamed, p)
    assert "median recurrence-free survival of" in text and "median PFS" not in text
