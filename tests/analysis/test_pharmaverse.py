"""The analysis on the pharmaverse pilot ADaM agrees with R survival run on the same files.

Reference: tests/reference/report/pharmaverse_r.json, written by
    Rscript validation/report_check.R adtte_onco.csv adsl.csv pharmaverse_r.json Xan_Hi Pbo 1,2
"""

from __future__ import annotations

import json
import math

import pytest

from oncotrial.analysis import run_analysis
from tests.analysis.helpers import pilot_protocol, read_pharmaverse
from tests.conftest import PHARMAVERSE, REFERENCE

R = json.loads((REFERENCE / "report" / "pharmaverse_r.json").read_text())


def close(ours: float, theirs: float | None, rel: float = 1e-6) -> bool:
    if theirs is None:
        return ours is None or (isinstance(ours, float) and math.isnan(ours))
    return ours == pytest.approx(theirs, rel=rel, abs=1e-9)


@pytest.fixture(scope="module")
def pv():
    if not PHARMAVERSE.is_dir():
        pytest.skip("../shared/data/pharmaverse is not present")
    return read_pharmaverse(PHARMAVERSE)


@pytest.fixture(scope="module")
def results(pv):
    return run_analysis(pv, pilot_protocol())


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_km_per_arm_matches_r(results, endpoint):
    res = getattr(results, endpoint.lower())
    for code, ref in R[endpoint]["arms"].items():
        a = res.arm(code)
        assert (a.n, a.events) == (ref["n"], ref["events"])
        for fld in ("median", "median_lower", "median_upper"):
            assert close(getattr(a, fld), ref[fld]), (endpoint, code, fld)
        for lm, rl in zip(a.landmarks, ref["landmarks"]):
            assert lm.time == rl["time"]
            for fld in ("surv", "lower", "upper"):
                assert close(getattr(lm, fld), rl[fld]), (endpoint, code, lm.time, fld)


def test_pfs_hazard_ratio_and_logrank_match_r(results):
    ref = R["PFS"]
    res = results.pfs
    assert not res.hr_stratified and not res.logrank_stratified
    assert (res.n, res.events) == (ref["n"], ref["events"])
    for fld in ("hr", "hr_lower", "hr_upper", "logrank_chisq", "logrank_p"):
        assert close(getattr(res, fld), ref[fld], rel=1e-5), fld


def test_os_without_events_in_one_arm(results):
    # R's coxph warns that the coefficient is infinite (HR -> 0); the log-rank test is still defined.
    ref = R["OS"]
    assert results.os.arm("Xan_Hi").events == 0
    assert math.isnan(results.os.hr) or results.os.hr < 1e-6
    assert close(results.os.logrank_p, ref["logrank_p"], rel=1e-6)


def test_median_followup_matches_r(results):
    ref = R["median_followup"]
    assert close(results.median_followup, ref["median"])
    assert close(results.median_followup_lower, ref["lower"])
    assert close(results.median_followup_upper, ref["upper"])


def test_screen_failures_are_not_randomized(results, pv):
    adsl = pv["adsl"]
    assert (adsl.ARMCD == "Scrnfail").any()
    assert results.n_randomized == {"Xan_Hi": int((adsl.ARMCD == "Xan_Hi").sum()), "Pbo": int((adsl.ARMCD == "Pbo").sum())}


def test_confirmed_response_counts_from_cbor(results, pv):
    cbor = pv["adrs"][pv["adrs"].PARAMCD == "CBOR"]
    for arm in results.orr.arms:
        ids = set(pv["adsl"].query("ARMCD == @arm.arm").USUBJID)
        expected = cbor[cbor.USUBJID.isin(ids) & cbor.AVALC.isin(["CR", "PR"])].USUBJID.nunique()
        assert arm.responders == expected and arm.n == len(ids)
