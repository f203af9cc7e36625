"""timefix (R survival's aeqSurv) against R, with timefix on (R's default) and off.

The data set (validation/survival_timefix.R) has times equal only up to
floating-point error: day counts turned into months along different arithmetic
paths, sums of decimals, and perturbations just below / above the tolerance.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from oncotrial.stats import cox, cox_zph, km, logrank, median_followup, rmst, rmst_diff
from oncotrial.stats._timefix import TIMEFIX_TOL, timefix
from tests.conftest import REFERENCE, load_dataset

from ._ref import arr, close

SETTINGS = {"timefix": True, "no_timefix": False}


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REFERENCE / "survival_timefix.json").read_text())


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return load_dataset("timefix")


def test_data_really_has_near_ties(ref: dict, data: pd.DataFrame) -> None:
    assert data["time"].nunique() == ref["n_unique_exact"]
    # R merged some exact-distinct times, so the two settings genuinely differ
    assert ref["timefix"]["n_distinct"] < ref["no_timefix"]["n_distinct"] == ref["n_unique_exact"]
    assert np.unique(timefix(data["time"].to_numpy())).size == ref["timefix"]["n_distinct"]
    assert ref["timefix"]["logrank"]["plain"]["chisq"] != pytest.approx(ref["no_timefix"]["logrank"]["plain"]["chisq"])


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("group", ["ALL", "A", "B"])
def test_km_matches_r(ref: dict, data: pd.DataFrame, setting: str, group: str) -> None:
    r = ref[setting]["km"][group]
    sub = data if group == "ALL" else data[data["arm"] == group]
    fit = km(sub["time"], sub["event"], timefix=SETTINGS[setting])
    for col in ["time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"]:
        close(fit.table[col], r["table"][col], f"{setting}/{group}: {col}")
    close([fit.median, *fit.median_ci], [r["median"], r["lower"], r["upper"]], f"{setting}/{group}: median")


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_followup_matches_r(ref: dict, data: pd.DataFrame, setting: str) -> None:
    r = ref[setting]["followup"]
    res = median_followup(data["time"], data["event"], timefix=SETTINGS[setting])
    close([res.median, res.lower, res.upper], [r["median"], r["lower"], r["upper"]], setting)


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("variant", ["plain", "strata", "rho1"])
def test_logrank_matches_r(ref: dict, data: pd.DataFrame, setting: str, variant: str) -> None:
    r = ref[setting]["logrank"][variant]
    res = logrank(data["time"], data["event"], data["arm"],
                  strata=data["stratum"] if variant == "strata" else None,
                  rho=1.0 if variant == "rho1" else 0.0, timefix=SETTINGS[setting])
    close(res.observed, r["observed"], f"{setting}/{variant}: observed")
    close(res.expected, r["expected"], f"{setting}/{variant}: expected")
    close(res.chisq, r["chisq"], f"{setting}/{variant}: chisq")
    close(res.p_value, r["p_value"], f"{setting}/{variant}: p")


COX = {"efron": {}, "breslow": {"ties": "breslow"}, "efron_strata": {"strata": "stratum"}}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("variant", list(COX))
def test_cox_matches_r(ref: dict, data: pd.DataFrame, setting: str, variant: str) -> None:
    r = ref[setting]["cox"][variant]
    fit = cox(data, time="time", event="event", covariates=["arm", "x1"], timefix=SETTINGS[setting],
              **COX[variant])
    assert list(fit.coef.index) == r["names"]
    what = f"{setting}/{variant}"
    close(fit.coef, r["coef"], f"{what}: coef")
    close(fit.se, r["se"], f"{what}: se")
    close([fit.loglik_null, fit.loglik], r["loglik"], f"{what}: loglik")
    close(fit.score_test.statistic, r["score_test"], f"{what}: score")
    # cox.zph works on the merged times too
    close(cox_zph(fit).table["chisq"], r["zph_chisq"], f"{what}: zph chisq")


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_rmst_matches_r(ref: dict, data: pd.DataFrame, setting: str) -> None:
    r = ref[setting]["rmst"]
    tau = r["tau"]
    for g, want in r["per_group"].items():
        sub = data[data["arm"] == g]
        res = rmst(sub["time"], sub["event"], tau=tau, timefix=SETTINGS[setting])
        close([res.estimate, res.se], [want["estimate"], want["se"]], f"{setting}/{g}")
    diff = rmst_diff(data["time"], data["event"], data["arm"], tau=tau, timefix=SETTINGS[setting])
    a, b = r["per_group"]["A"], r["per_group"]["B"]
    close(diff.estimate, b["estimate"] - a["estimate"], f"{setting}: difference")
    close(diff.se, np.hypot(a["se"], b["se"]), f"{setting}: difference se")


def test_rule_is_aeqsurv_on_consecutive_distinct_times() -> None:
    tol = TIMEFIX_TOL
    # a chain of steps each below the tolerance collapses onto its first member, even
    # though its last member is further than the tolerance from the first (as aeqSurv)
    mean = 10.0
    t = np.array([5.0, 5.0 + 0.7 * tol * mean, 5.0 + 1.4 * tol * mean, 15.0])
    out = timefix(t)
    assert out.tolist() == [5.0, 5.0, 5.0, 15.0]
    # one step of 2x the tolerance stays distinct
    t2 = np.array([5.0, 5.0 + 2 * tol * 10.0, 15.0])
    assert timefix(t2) is t2
    # the absolute part: tiny times within sqrt(eps) of each other tie even when relatively far apart
    t3 = np.array([1e-9, 5e-9, 1e-6])
    assert timefix(t3).tolist() == [1e-9, 1e-9, 1e-6]
    assert timefix(np.array([0.1 + 0.2, 0.3])).tolist() == [0.3, 0.3]
    assert timefix(np.array([2.0])).tolist() == [2.0]


def test_timefix_changes_only_near_ties_and_keeps_order() -> None:
    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(10, 2000), 2)
    t[::7] = t[::7] * (1 + 1e-12)  # near-copies of rounded values
    out = timefix(t)
    assert np.all(np.abs(out - t) <= 1e-9 * t)
    order = np.argsort(t, kind="stable")
    assert np.all(np.diff(out[order]) >= 0)
    assert np.unique(out).size == np.unique(np.round(t, 2)).size


def test_many_rows_take_the_hashing_path_with_the_same_result() -> None:
    from oncotrial.stats import _timefix

    rng = np.random.default_rng(5)
    days = rng.integers(1, 300, 120_000)
    # months from days along two arithmetic paths: equal up to rounding only
    t = np.where(rng.random(days.size) < 0.5, days / 30.4375, (days / 365.25) * 12)
    assert not np.array_equal(days / 30.4375, (days / 365.25) * 12)
    sample = t[:: t.size // 4096]
    assert np.unique(sample).size < 0.25 * sample.size  # so the hashing branch is the one run
    out = timefix(t)
    # each day's near-equal values merge onto the smallest of them
    want = pd.Series(t).groupby(days).transform("min").to_numpy()
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(_timefix._sorted_unique(t), np.unique(t))


@pytest.mark.parametrize(
    "call",
    [
        lambda: km([1, 2], [1, 0], timefix="yes"),
        lambda: median_followup([1, 2], [1, 0], timefix=1),
        lambda: logrank([1, 2], [1, 0], ["A", "B"], timefix=None),
        lambda: rmst([1, 2], [1, 0], tau=1, timefix="no"),
        lambda: cox(pd.DataFrame({"t": [1, 2], "e": [1, 0], "x": [0, 1]}), time="t", event="e",
                    covariates=["x"], timefix="TRUE"),
    ],
)
def test_bad_timefix_is_named(call) -> None:
    with pytest.raises(ValueError, match="timefix: expected True or False"):
        call()


def test_default_is_timefix_on() -> None:
    t = [0.1 + 0.2, 0.3, 0.7, 1.0]
    e = [1, 1, 0, 1]
    assert km(t, e).table["time"].tolist() == [0.3, 0.7, 1.0]
    assert km(t, e, timefix=False).table["time"].size == 4
    np.testing.assert_array_equal(arr(km(t, e).table["n_event"].tolist()), [2, 0, 1])
