"""oncotrial.design against R rpact (reference values from validation/design_rpact.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from oncotrial.design import (
    Accrual,
    PiecewiseExponential,
    dropout_hazard,
    expected_events_by_arm,
    group_sequential_design,
    sample_size_survival,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "design"
TOL = 1e-6
# rpact solves the drift / inflation factor to ~1e-8 relative, so event and patient counts
# (hundreds) and calendar times agree to that relative precision rather than 1e-6 absolute.
COUNT_RTOL = 1e-7


def _load(name: str) -> list[dict]:
    return json.loads((REF / name).read_text())


def _vec(x) -> np.ndarray:
    if isinstance(x, str):
        x = [x]
    x = np.atleast_1d(np.asarray(x, dtype=object))
    return np.array([-np.inf if v == "-Inf" else (np.nan if v in ("NA", None) else float(v)) for v in x], float)


DESIGNS = _load("designs.json")


def _design(args: dict):
    kw = dict(
        information_rates=np.atleast_1d(args["information_rates"]).tolist(),
        alpha=args["alpha"],
        beta=args["beta"],
        alpha_spending=args["alpha_spending"],
        gamma_alpha=args.get("gamma_alpha", -4.0),
    )
    if "futility_bounds" in args:
        kw["futility_bounds"] = args["futility_bounds"]
        kw["binding_futility"] = args.get("binding_futility", False)
    if "beta_spending" in args:
        kw["beta_spending"] = args["beta_spending"]
        kw["gamma_beta"] = args.get("gamma_beta", -4.0)
    return group_sequential_design(**kw)


@pytest.mark.parametrize("ref", DESIGNS, ids=lambda r: json.dumps(r["args"], separators=(",", ":")))
def test_group_sequential_design_matches_rpact(ref):
    check_design(_design(ref["args"]), ref)


def check_design(d, ref) -> None:
    """A design's bounds, spending and probabilities against rpact's record of it (written by
    validation/rpact_records.R); rpact records futility probabilities for one-sided designs only."""
    np.testing.assert_allclose(d.critical_values, _vec(ref["critical_values"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(d.alpha_spent, _vec(ref["alpha_spent"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(d.stage_levels, _vec(ref["stage_levels"]), atol=TOL, rtol=0)
    fut = _vec(ref["futility_bounds"]) if ref["futility_bounds"] != [] else np.zeros(0)
    np.testing.assert_allclose(d.futility_bounds[:-1], fut, atol=TOL, rtol=0)
    np.testing.assert_allclose(d.shift, ref["shift"], atol=TOL, rtol=0)
    np.testing.assert_allclose(d.inflation_factor, ref["inflation_factor"], atol=TOL, rtol=0)
    np.testing.assert_allclose(d.power, _vec(ref["power"])[-1], atol=TOL, rtol=0)
    if d.k_max > 1:
        np.testing.assert_allclose(d.rejection_probabilities, _vec(ref["rejection_probabilities"]), atol=TOL, rtol=0)
    if d.k_max > 1 and d.sided == 1:
        np.testing.assert_allclose(d.futility_probabilities[:-1], _vec(ref["futility_probabilities"]), atol=TOL, rtol=0)


SIZES = _load("sample_sizes.json")


def _size(case: dict):
    dz = case["design"]
    kw = dict(
        information_rates=np.atleast_1d(dz["rates"]).tolist(),
        alpha=0.025,
        beta=0.1,
        alpha_spending={"asOF": "obf", "asP": "pocock", "asHSD": "hsd"}[dz["type"]],
        gamma_alpha=dz.get("gamma", -4.0),
    )
    if "fut" in dz:
        kw["futility_bounds"] = dz["fut"]
    if "bs" in dz:
        kw["beta_spending"] = {"bsOF": "obf"}[dz["bs"]]
    design = group_sequential_design(**kw)
    if "lambda2" in case:
        control = PiecewiseExponential(tuple(case["pwTime"]), tuple(case["lambda2"]))
        ctrl = dict(control=control)
    else:
        ctrl = dict(median_control=case["median2"])
    return sample_size_survival(
        case["hr"],
        design=design,
        accrual_time=case["accrualTime"],
        accrual_intensity=case.get("intensity"),
        max_subjects=case.get("maxN"),
        follow_up=case.get("follow"),
        dropout_rate=tuple(case["dropout"]),
        dropout_time=12.0,
        allocation_ratio=case["alloc"],
        method=case["method"].lower(),
        **ctrl,
    )


@pytest.mark.parametrize("ref", SIZES, ids=lambda r: r["name"])
def test_sample_size_survival_matches_rpact(ref):
    s = _size(ref["case"])
    for field in ("events_fixed", "max_events", "max_subjects", "expected_events_h0", "expected_events_h1"):
        np.testing.assert_allclose(getattr(s, field), ref[field], atol=0, rtol=COUNT_RTOL, err_msg=field)
    np.testing.assert_allclose(s.events_per_stage, _vec(ref["events_per_stage"]), atol=0, rtol=COUNT_RTOL)
    # rpact's root finder for calendar times stops at ~1e-6 relative (seen with piecewise
    # hazards); ours solves to 1e-12, so times agree to 1e-4 months (about 3 seconds).
    np.testing.assert_allclose(s.analysis_times, _vec(ref["analysis_times"]), atol=1e-4, rtol=0)
    np.testing.assert_allclose(s.follow_up, ref["follow_up"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(s.study_duration_h1, ref["study_duration_h1"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(s.critical_values_hr, _vec(ref["critical_values_hr"]), atol=TOL, rtol=0)
    fut = _vec(ref["futility_bounds_hr"]) if ref["futility_bounds_hr"] != [] else np.zeros(0)
    # rpact rounds effect-scale futility bounds to 8 significant digits.
    np.testing.assert_allclose(s.futility_bounds_hr, fut, atol=1e-7, rtol=0)


EVENTS = _load("event_probabilities.json")


@pytest.mark.parametrize("ref", EVENTS, ids=["exponential", "piecewise"])
def test_expected_events_match_rpact(ref):
    c = ref["case"]
    starts = tuple(c["pwTime"]) if c["pwTime"] else (0.0,)
    control = PiecewiseExponential(starts, tuple(np.atleast_1d(c["lambda2"]).tolist()))
    experimental = control.scaled(c["hr"])
    accrual = Accrual(tuple(c["accrualTime"]), tuple(c["accrualIntensity"]))
    assert accrual.n == pytest.approx(ref["max_subjects"], abs=1e-9)
    r = c["alloc"]
    etas = [dropout_hazard(c["dropout"][0], 12.0), dropout_hazard(c["dropout"][1], 12.0)]
    ev = expected_events_by_arm(c["time"], accrual, [experimental, control], [r / (1 + r), 1 / (1 + r)], etas)
    # Closed form here; rpact integrates piecewise hazards numerically (error ~1e-8), and
    # test_expected_events_closed_form checks ours against adaptive quadrature to 1e-11.
    tol = 1e-9 if c["pwTime"] is None else 5e-8
    np.testing.assert_allclose(ev.sum(axis=1) / accrual.n, ref["cumulative"], atol=tol, rtol=0)
    # rpact's per-arm probabilities are conditional on the arm: divide by that arm's patients.
    np.testing.assert_allclose(ev[:, 0] / (accrual.n * r / (1 + r)), ref["arm1"], atol=tol, rtol=0)
    np.testing.assert_allclose(ev[:, 1] / (accrual.n / (1 + r)), ref["arm2"], atol=tol, rtol=0)


def test_expected_events_closed_form_equals_quadrature():
    from scipy.integrate import quad

    from oncotrial.design import event_probability

    control = PiecewiseExponential((0.0, 6.0, 18.0), (0.05, 0.02, 0.04))
    eta = dropout_hazard(0.2, 12.0)
    accrual = Accrual((0.0, 4.0, 10.0, 20.0), (10.0, 30.0, 20.0))
    t = 24.0

    def integrand(u: float) -> float:
        a = 10.0 if u < 4 else 30.0 if u < 10 else 20.0
        return a * float(event_probability(control, eta, t - u))

    pieces = [(0, 4), (4, 6), (6, 10), (10, 18), (18, 20)]
    want = sum(quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-13, limit=200)[0] for lo, hi in pieces)
    got = expected_events_by_arm([t], accrual, [control], [1.0], [eta])[0, 0]
    assert got == pytest.approx(want, abs=1e-9)
