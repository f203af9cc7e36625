"""Log-rank / G(rho) against R survdiff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.stats import logrank

from ._ref import close, reference

VARIANTS = {
    "plain": {"strata": False, "rho": 0.0, "group": "group"},
    "rho1": {"strata": False, "rho": 1.0, "group": "group"},
    "strata": {"strata": True, "rho": 0.0, "group": "group"},
    "strata_rho05": {"strata": True, "rho": 0.5, "group": "group"},
    "by_stratum": {"strata": False, "rho": 0.0, "group": "stratum"},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_logrank_matches_r(case: tuple[str, pd.DataFrame], variant: str) -> None:
    name, d = case
    ref = reference(name)["logrank"].get(variant)
    if ref is None:
        pytest.skip(f"{name} has a single stratum")
    v = VARIANTS[variant]
    res = logrank(d["time"], d["event"], d[v["group"]], strata=d["stratum"] if v["strata"] else None,
                  rho=v["rho"])
    assert [str(g) for g in res.observed.index] == ref["groups"]
    close(res.observed, ref["observed"], f"{name}/{variant}: observed")
    close(res.expected, ref["expected"], f"{name}/{variant}: expected")
    close(res.var.to_numpy().ravel(), np.array(ref["var"], dtype=float).ravel(), f"{name}/{variant}: var")
    # R reports df = -1 when no group has expected events; oncotrial reports 0 (and NaN chisq)
    assert res.df == max(ref["df"], 0)
    close(res.chisq, ref["chisq"], f"{name}/{variant}: chisq")
    close(res.p_value, ref["p_value"], f"{name}/{variant}: p")


def test_one_group_is_not_estimable() -> None:
    res = logrank([1, 2, 3], [1, 0, 1], ["A", "A", "A"])
    assert np.isnan(res.chisq) and np.isnan(res.p_value) and res.df == 0


def test_no_events_is_not_estimable() -> None:
    res = logrank([1, 2, 3, 4], [0, 0, 0, 0], ["A", "B", "A", "B"])
    assert np.isnan(res.chisq) and np.isnan(res.p_value)
    assert res.to_frame()["observed"].sum() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group": ["A", None, "B"]}, "group: row 1 is missing"),
        ({"group": ["A", "B"]}, "group: length 2"),
        ({"strata": [1, 2]}, "strata: length 2"),
        ({"rho": "x"}, "rho"),
        ({"event": [1, 0, 3]}, "event: row 2"),
    ],
)
def test_bad_input_names_the_problem(kwargs, message) -> None:
    args = {"time": [1, 2, 3], "event": [1, 0, 1], "group": ["A", "B", "A"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        logrank(args.pop("time"), args.pop("event"), args.pop("group"), **args)
