"""RMST against R print(survfit, rmean = tau) (= survRM2's estimator and variance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.stats import rmst, rmst_diff

from ._ref import close, reference


def test_rmst_matches_r(case: tuple[str, pd.DataFrame]) -> None:
    name, d = case
    ref = reference(name)["rmst"]
    if ref is None:
        res = rmst(d["time"], d["event"], tau=d["time"].max() / 2)
        assert res.estimate == pytest.approx(d["time"].max() / 2)  # no events: S = 1 up to tau
        return
    tau = ref["tau"]
    for g, r in ref["per_group"].items():
        sub = d[d["group"] == g]
        res = rmst(sub["time"], sub["event"], tau=tau)
        close([res.estimate, res.se], [r["estimate"], r["se"]], f"{name}/{g}")
    if "diff" in ref:
        res = rmst_diff(d["time"], d["event"], d["group"], tau=tau)
        r = ref["diff"]
        close([res.estimate, res.se, res.lower, res.upper, res.p_value],
              [r["estimate"], r["se"], r["lower"], r["upper"], r["p_value"]], f"{name}: difference")


def test_rmst_by_hand() -> None:
    # S = 1 on [0,1), 0.75 on [1,2), 0.5 on [2,4): area to 3 = 1 + 0.75 + 0.5
    res = rmst([1, 2, 3, 4], [1, 1, 0, 1], tau=3)
    assert res.estimate == pytest.approx(2.25)


def test_tau_beyond_follow_up_is_nan() -> None:
    assert np.isnan(rmst([1, 2, 3], [1, 0, 1], tau=5).estimate)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rmst([1, 2], [1, 0], tau=0), "tau"),
        (lambda: rmst([1, 2], [1, 0], tau="x"), "tau"),
        (lambda: rmst_diff([1, 2, 3], [1, 0, 1], ["A", "B", "C"], tau=1), "exactly 2 groups"),
    ],
)
def test_bad_input_names_the_problem(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()
