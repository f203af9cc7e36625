"""Binomial intervals, MN difference of proportions, odds ratio against R (validation/binomial_reference.R)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from oncotrial.stats import clopper_pearson, odds_ratio, prop_diff, wilson
from tests.conftest import REFERENCE

from ._ref import close

REF = json.loads((REFERENCE / "binomial.json").read_text())


@pytest.mark.parametrize("case", REF["single"], ids=lambda c: f"{c['x']}of{c['n']}")
def test_clopper_pearson_and_wilson_match_r(case) -> None:
    cp = clopper_pearson(case["x"], case["n"])
    close([cp.lower, cp.upper], [case["cp_lower"], case["cp_upper"]], "binom.test")
    w = wilson(case["x"], case["n"])
    close([w.lower, w.upper], [case["wilson_lower"], case["wilson_upper"]], "prop.test")
    assert cp.estimate == w.estimate == case["x"] / case["n"]


@pytest.mark.parametrize("case", REF["prop_diff"], ids=lambda c: f"{c['x1']}-{c['x2']}")
def test_miettinen_nurminen_matches_brute_force(case) -> None:
    r = prop_diff(case["x1"], case["n1"], case["x2"], case["n2"])
    close([r.estimate, r.lower, r.upper, r.p_value],
          [case["estimate"], case["lower"], case["upper"], case["p_value"]], "MN")


@pytest.mark.parametrize("case", REF["odds_ratio"], ids=lambda c: f"{c['x1']}-{c['x2']}")
def test_odds_ratio_matches_r(case) -> None:
    w = odds_ratio(case["x1"], case["n1"], case["x2"], case["n2"])
    ref = case["woolf"]
    close([w.estimate, w.lower, w.upper, w.p_value], [ref["estimate"], ref["lower"], ref["upper"], ref["p_value"]],
          "woolf")
    f = odds_ratio(case["x1"], case["n1"], case["x2"], case["n2"], method="exact")
    tight = case["fisher_tight"]
    close([f.estimate, f.lower, f.upper], [tight["estimate"], tight["lower"], tight["upper"]], "exact (tight)")
    close(f.p_value, case["fisher"]["p_value"], "fisher.test p")
    # fisher.test's own limits stop at uniroot's default tolerance (~1e-4)
    ft = case["fisher"]
    np.testing.assert_allclose([f.estimate, f.lower, f.upper], [ft["estimate"], ft["lower"], ft["upper"]],
                               rtol=2e-3)


def test_stratum_with_an_empty_arm_gets_no_weight() -> None:
    a = prop_diff([10, 5, 0], [20, 15, 0], [6, 4, 3], [22, 14, 5])
    b = prop_diff([10, 5], [20, 15], [6, 4], [22, 14])
    assert a.estimate == pytest.approx(b.estimate) and a.lower == pytest.approx(b.lower)


def test_no_information_is_nan() -> None:
    r = prop_diff(0, 0, 3, 10)
    assert np.isnan(r.estimate) and np.isnan(r.lower)
    assert np.isnan(odds_ratio(0, 10, 3, 10).estimate)
    # every patient responded: a single possible table, the exact OR is not estimable
    exact = odds_ratio(10, 10, 8, 8, method="exact")
    assert np.isnan(exact.estimate) and exact.p_value == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: clopper_pearson(11, 10), "x: value 0 .* exceeds n"),
        (lambda: wilson(-1, 10), "x: value 0 is -1"),
        (lambda: wilson(1.5, 10), "whole number"),
        (lambda: clopper_pearson(0, 0), "n: is 0"),
        (lambda: prop_diff([1, 2], [5, 5], [1], [5]), "x1, x2"),
        (lambda: odds_ratio(1, 5, 2, 5, method="mid-p"), "method"),
        (lambda: wilson(1, 5, conf_level=95), "conf_level"),
    ],
)
def test_bad_input_names_the_problem(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()
