"""run_analysis on hand-made ADaM: what is required, what is optional, what is reported missing."""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.analysis import run_analysis
from oncotrial.protocol import load_protocol
from tests.analysis.helpers import toy_adam, toy_adsl

P = load_protocol("patina")


def test_optional_datasets_leave_their_sections_empty():
    adam = toy_adam()
    r = run_analysis({"adsl": adam["adsl"], "adtte": adam["adtte"]}, P)
    assert r.pfs is not None and r.os is not None and r.dor is None
    assert r.orr is None and r.cbr is None and r.safety is None
    assert r.n_randomized == {"A": 8, "B": 8}
    assert [s.stage for s in r.flow] == ["Randomized", "Received study treatment", "Analysed for PFS (ITT)"]


def test_orr_excludes_cr_to_induction_and_subgroups_report_what_is_missing():
    steps: list[str] = []
    r = run_analysis(toy_adam(), P, progress=steps.append)
    assert steps == ["PFS", "OS", "DOR", "follow-up", "response", "safety", "baseline", "subgroups"]
    assert "excluding" in r.orr.population and r.orr.arm("A").n == 7  # A-00 had CR to induction
    assert r.cbr is None  # no clinical-benefit parameter in this ADRS
    assert r.subgroups.unavailable == ("visceral_disease",)
    assert {x.subgroup for x in r.subgroups.rows} == {"induction_response", "prior_antiher2", "endocrine_therapy",
                                                      "her2_blockade", "age_group", "menopausal_status"}


def test_required_datasets():
    with pytest.raises(ValueError, match=r"the ADTTE dataset is required"):
        run_analysis({"adsl": toy_adsl()}, P)
    adam = toy_adam()
    adam["adtte"] = adam["adtte"][adam["adtte"].PARAMCD == "OS"]
    with pytest.raises(ValueError, match=r"ADTTE: no PFS parameter"):
        run_analysis(adam, P)
