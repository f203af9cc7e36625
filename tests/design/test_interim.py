"""oncotrial.design.interim_analysis against R rpact's getAnalysisResults for survival data
(reference values from validation/interim_rpact.R, issue 18 §3), and its argument checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from oncotrial.design import InterimAnalysis, group_sequential_design, interim_analysis

from .test_rpact_reference import REF, TOL, _vec

INTERIM = json.loads((REF / "interim.json").read_text())
CASES = {c["case"]["name"]: c for c in INTERIM["cases"]}


def _planned(case: dict):
    return group_sequential_design(
        np.atleast_1d(case["information_rates"]).tolist(), alpha=case["alpha"], beta=case["beta"],
        alpha_spending=case["alpha_spending"], sided=case["sided"], beta_spending=case.get("beta_spending"),
        futility_bounds=None if "futility_bounds" not in case else np.atleast_1d(case["futility_bounds"]).tolist(),
        binding_futility=case.get("binding_futility", False),
    )


def _analyse(case: dict) -> InterimAnalysis:
    return interim_analysis(
        _planned(case), events=np.atleast_1d(case["events"]).tolist(), z=np.atleast_1d(case["z"]).tolist(),
        max_events=case["max_events"], hazard_ratio_h1=case["hazard_ratio_h1"],
        allocation_ratio=case["allocation_ratio"], hr0=case["hr0"], final=case["final"],
    )


def _close(actual, expected, name: str, tol: float = TOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), _vec(expected), atol=tol, rtol=0, err_msg=name)


@pytest.fixture(scope="module")
def analyses() -> dict[str, InterimAnalysis]:
    return {}


def _get(analyses: dict, name: str) -> InterimAnalysis:
    if name not in analyses:
        analyses[name] = _analyse(CASES[name]["case"])
    return analyses[name]


@pytest.mark.parametrize("name", list(CASES))
def test_interim_analysis_matches_rpact(name, analyses):
    ref = CASES[name]
    case = ref["case"]
    a = _get(analyses, name)
    g = a.design
    n = a.look
    assert a.overrun == ref["overrun"]
    _close(g.information_rates, ref["information_rates"], "information_rates")
    _close(g.critical_values, ref["critical_values"], "critical_values")
    _close(g.alpha_spent, ref["alpha_spent"], "alpha_spent")
    if g.k_max > 1:
        _close(g.futility_bounds[:-1], ref["futility_bounds"], "futility_bounds")
    _close(a.critical_values_hr, ref["critical_values_hr"], "critical_values_hr")
    if ref["futility_bounds_hr"]:
        _close(a.futility_bounds_hr[:-1], ref["futility_bounds_hr"], "futility_bounds_hr")
    _close(a.test_statistics, ref["test_statistics"], "test_statistics")
    _close(a.overall_p_values, ref["overall_p_values"], "overall_p_values")
    _close(a.hazard_ratio, ref["effect_sizes"], "hazard_ratio")
    assert list(a.test_actions) == list(np.atleast_1d(ref["test_actions"]))

    # rpact's two-sided CRP mirrors the shifted upper region (not P(|Z_m| >= c_m | Z_j)); the
    # reference is then rpact's conditional power at thetaH0 with twoSidedPower (see the R script).
    crp = ref["crp_two_sided"] if case["sided"] == 2 and g.k_max > 1 else ref["conditional_rejection_probabilities"]
    crp = _vec(crp)
    crp = np.concatenate([crp, np.full(n - crp.size, np.nan)])[:n]
    if case["sided"] == 2 and n == g.k_max:
        crp[-1] = np.nan
    _close(a.conditional_rejection_probabilities, crp, "conditional_rejection_probabilities")

    if n < g.k_max:
        _close(a.n_planned, ref["n_planned"], "n_planned")
        _close(a.conditional_power_design, ref["conditional_power"], "conditional_power_design")
        _close(a.conditional_power_observed, ref["conditional_power_observed"], "conditional_power_observed")
    else:
        assert a.conditional_power_design is None and a.conditional_power_observed is None and a.n_planned == ()

    _close(a.repeated_ci_lower, ref["repeated_ci_lower"], "repeated_ci_lower")
    _close(a.repeated_ci_upper, ref["repeated_ci_upper"], "repeated_ci_upper")
    rep = _vec(ref["repeated_p_values"])
    if a.overrun:
        # rpact gives no repeated p-values for a design with user-defined alpha spending (the
        # over-/under-running final design); ours still decide as the bounds do.
        assert np.all(np.isnan(rep))
        for s, c, p in zip(a.test_statistics, g.critical_values, a.repeated_p_values):
            assert (p <= g.alpha) == (abs(s) >= c)
    else:
        _close(a.repeated_p_values, rep, "repeated_p_values")

    stage = ref["final_stage"]
    if stage is None:
        assert a.final_look is None and a.final_p_value is None and a.final_ci is None
        assert a.median_unbiased_estimate is None
        return
    stage = int(stage)
    assert a.final_look == stage
    p = _vec(ref["final_p_value"])[stage - 1]
    ci = np.array([_vec(ref["final_ci_lower"])[stage - 1], _vec(ref["final_ci_upper"])[stage - 1]])
    mue = _vec(ref["median_unbiased"])[stage - 1]
    if stage == 1 and case["sided"] == 2:
        # rpact reports the one-sided p-value when a two-sided trial stops at look 1; ours is two-sided.
        p = 2 * min(p, 1 - p)
    if stage == 1 and case["hr0"] != 1:
        # At look 1 rpact forgets hr0 in the interval and estimate (exp of the statistic vs hr0,
        # i.e. HR / hr0); ours are hazard ratios, as rpact's from look 2 on.
        ci, mue = ci * case["hr0"], mue * case["hr0"]
    _close(a.final_p_value, p, "final_p_value")
    _close(a.final_ci, ci, "final_ci")
    _close(a.median_unbiased_estimate, mue, "median_unbiased_estimate")


def test_references_cover_the_cases_asked_for():
    kinds = {c["case"]["alpha_spending"] for c in INTERIM["cases"]}
    assert {"obf", "pocock", "hsd:-4", "kd:3"} <= kinds
    assert any(c["case"]["sided"] == 2 for c in INTERIM["cases"])
    assert any(c["overrun"] for c in INTERIM["cases"]) and any(c["case"].get("beta_spending") for c in INTERIM["cases"])
    assert any(c["case"]["hr0"] != 1 for c in INTERIM["cases"]) and any(
        c["case"]["allocation_ratio"] != 1 for c in INTERIM["cases"])
    assert any("reject and stop" in np.atleast_1d(c["test_actions"]) for c in INTERIM["cases"])


def test_sign_convention_large_z_favours_experimental():
    d = group_sequential_design([0.5, 1.0])
    good = interim_analysis(d, events=[164], z=[2.0], max_events=328, hazard_ratio_h1=0.7)
    assert good.hazard_ratio[0] < 1 and good.test_statistics[0] == pytest.approx(2.0)
    assert good.overall_p_values[0] == pytest.approx(0.02275, abs=1e-5)
    harm = interim_analysis(d, events=[164], z=[-2.0], max_events=328, hazard_ratio_h1=1.4)
    assert harm.hazard_ratio[0] > 1 and harm.test_statistics[0] == pytest.approx(2.0)


def test_frame_and_dict():
    a = _analyse(CASES["three_looks_look2"]["case"])
    frame = a.to_frame()
    assert list(frame["look"]) == [1, 2, 3] and math.isnan(frame["z"].iloc[2])
    assert frame["test_action"].iloc[1] == "continue" and frame["test_action"].isna().iloc[2]
    assert a.to_dict()["events"] == (150.0, 290.0)
    with pytest.raises(Exception):
        a.look = 3  # frozen


def test_look_reaching_the_planned_maximum_is_final():
    d = group_sequential_design([0.4, 0.7, 1.0])
    a = interim_analysis(d, events=[150, 400], z=[1.0, 2.2], max_events=400, hazard_ratio_h1=0.7)
    assert a.design.k_max == 2 and not a.overrun and a.final_look == 2
    assert a.design.information_rates == pytest.approx((0.375, 1.0))


D = group_sequential_design([0.4, 0.7, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(events=[150, 140], z=[1, 2]), "events: expected strictly increasing"),
        (dict(events=[0], z=[1]), "events: expected positive"),
        (dict(events=[150, 290, 390, 400], z=[1, 1, 1, 1]), "events: 4 looks given, the design has 3"),
        (dict(events=[150], z=[float("nan")]), "z: expected finite"),
        (dict(events=[150], z=[1, 2]), "z: expected one statistic per look"),
        (dict(events=[], z=[]), "events: expected a non-empty"),
        (dict(events=[150, 290], z=[1, 2], max_events=0), "max_events: expected a positive"),
        (dict(events=[150, 290], z=[1, 2], hazard_ratio_h1=1.0), "hazard_ratio: expected a positive number other"),
        (dict(events=[150, 290], z=[1, 2], allocation_ratio=-1), "allocation_ratio"),
        (dict(events=[150, 290], z=[1, 2], hr0=0), "hr0: expected a positive"),
        (dict(events=[150, 290], z=[1, 2], final="yes"), "final: expected True or False"),
        (dict(events=[290], z=[1]), r"events: look 1's 290 events are information rate 0.7250, not before"),
        (dict(events=[400, 420], z=[1, 2]), "events: look 1 already had 400"),
    ],
)
def test_argument_errors_name_the_argument(kwargs, match):
    args = dict(max_events=400, hazard_ratio_h1=0.7) | kwargs
    with pytest.raises(ValueError, match=match):
        interim_analysis(D, **args)


def test_design_and_two_sided_margin_errors():
    with pytest.raises(ValueError, match="design: expected a GroupSequentialDesign"):
        interim_analysis("obf", events=[150], z=[1.0], max_events=400, hazard_ratio_h1=0.7)
    two = group_sequential_design([0.5, 1.0], alpha=0.05, sided=2)
    with pytest.raises(ValueError, match="hr0: a null hazard ratio other than 1 needs a one-sided design"):
        interim_analysis(two, events=[150], z=[1.0], max_events=300, hazard_ratio_h1=0.9, hr0=1.3)
