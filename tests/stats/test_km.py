"""Kaplan-Meier against R survfit / quantile.survfit / summary.survfit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.stats import km, median_followup

from ._ref import close, reference


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_km_matches_r(case: tuple[str, pd.DataFrame], conf_type: str) -> None:
    name, d = case
    ref = reference(name)["km"][conf_type]
    for g, r in ref.items():
        sub = d if g == "ALL" else d[d["group"] == g]
        fit = km(sub["time"], sub["event"], conf_type=conf_type)
        tab = fit.table
        for col in ["time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"]:
            close(tab[col], r["table"][col], f"{name}/{g}/{conf_type}: {col}")
        q = fit.quantile(r["quantile"]["p"])
        for col in ["time", "lower", "upper"]:
            close(q[col], r["quantile"][col], f"{name}/{g}/{conf_type}: quantile {col}")
        close(fit.median, r["quantile"]["time"][1], f"{name}/{g}: median")
        close(fit.median_ci, [r["quantile"]["lower"][1], r["quantile"]["upper"][1]], f"{name}/{g}: median CI")
        at = fit.survival_at(r["survival_at"]["time"])
        for col in ["surv", "lower", "upper", "n_risk"]:
            close(at[col], r["survival_at"][col], f"{name}/{g}/{conf_type}: survival_at {col}")


def test_median_followup_matches_r(case: tuple[str, pd.DataFrame]) -> None:
    name, d = case
    ref = reference(name)["followup"]
    res = median_followup(d["time"], d["event"])
    close([res.median, res.lower, res.upper], [ref["median"], ref["lower"], ref["upper"]], name)


def test_median_not_reached_is_nan() -> None:
    fit = km([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0])
    assert np.isnan(fit.median) and np.isnan(fit.median_ci[1])
    assert fit.to_dict()["median"] != fit.to_dict()["median"]


def test_all_censored_curve_is_flat() -> None:
    fit = km([3.0, 1.0, 2.0], [0, 0, 0])
    assert list(fit.table["surv"]) == [1.0, 1.0, 1.0]
    assert np.isnan(fit.median)
    assert fit.n_events == 0


def test_median_on_a_flat_half_is_the_midpoint() -> None:
    # S is exactly 0.5 from t=3 (the censoring at 4 does not move it) until the next event at 5:
    # quantile.survfit takes the midpoint (3 + 5) / 2. R survival 3.x:
    # quantile(survfit(Surv(c(1,2,3,4,5,6), c(1,1,1,0,1,0)) ~ 1), 0.5)          -> 4, lower 2, upper NA
    # quantile(survfit(..., conf.type = "log-log"), 0.5)                      -> 4, lower 1, upper NA
    fit = km([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0], conf_type="log")
    s = fit.table.set_index("time")["surv"]
    assert s.loc[3.0] == pytest.approx(0.5, abs=1e-15) and s.loc[4.0] == s.loc[3.0]
    assert fit.median == 4.0
    assert fit.median_ci[0] == 2.0 and np.isnan(fit.median_ci[1])
    ll = km([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0], conf_type="log-log")
    assert ll.median == 4.0 and ll.median_ci[0] == 1.0 and np.isnan(ll.median_ci[1])
    # the curve ends at 0.5 then drops to 0 at t=4: R gives (2 + 4) / 2 = 3
    fit = km([2, 2, 4, 4], [1, 1, 1, 1])
    assert fit.median == 3.0


def test_survival_at_steps_and_beyond_last_time() -> None:
    fit = km([1, 2, 3, 4], [1, 0, 1, 0])
    at = fit.survival_at([0.5, 1.0, 3.5, 10.0])
    assert list(at["n_risk"]) == [4, 4, 1, 0]
    assert at["surv"].iloc[0] == 1.0 and at["surv"].iloc[1] == 0.75
    assert np.isnan(at["surv"].iloc[3])


@pytest.mark.parametrize(
    ("time", "event", "kwargs", "message"),
    [
        ([1, -2, 3], [1, 0, 1], {}, "time: row 1"),
        ([1, float("nan"), 3], [1, 0, 1], {}, "time: row 1"),
        ([1, 2, 3], [1, 2, 1], {}, "event: row 1"),
        ([1, 2, 3], [1, 0], {}, "event: length 2"),
        ([1, 2, 3], [1, 0, 1], {"conf_type": "logit"}, "conf_type"),
        ([1, 2, 3], [1, 0, 1], {"conf_level": 1.5}, "conf_level"),
        ([], [], {}, "no rows"),
    ],
)
def test_bad_input_names_the_problem(time, event, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        km(time, event, **kwargs)


def test_result_is_frozen_and_exports_frames() -> None:
    fit = km([1, 2, 3], [1, 1, 0])
    with pytest.raises(AttributeError):
        fit.median = 1.0  # type: ignore[misc]
    assert list(fit.to_frame().columns) == ["time", "n_risk", "n_event", "n_censor", "surv", "std_err",
                                           "lower", "upper"]


@pytest.mark.parametrize("tied", [True, False])
def test_time_table_paths_agree_with_unique(tied: bool) -> None:
    # above 50,000 rows the tally switches to hashing when times are heavily tied
    from oncotrial.stats._core import time_table

    rng = np.random.default_rng(7)
    t = rng.exponential(10, 60_000)
    t = np.round(t, 1) if tied else t
    e = (rng.random(t.size) < 0.6).astype(float)
    ut, n_risk, n_event = time_table(t, e)
    ref_t, inv = np.unique(t, return_inverse=True)
    np.testing.assert_array_equal(ut, ref_t)
    np.testing.assert_array_equal(n_risk, np.cumsum(np.bincount(inv)[::-1])[::-1])
    np.testing.assert_array_equal(n_event, np.bincount(inv, weights=e))
