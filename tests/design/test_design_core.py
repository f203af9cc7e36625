"""Design core: spending functions, the recursion, events formulas, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from oncotrial.design import (
    Accrual,
    PiecewiseExponential,
    crossing_probabilities,
    dropout_hazard,
    events_freedman,
    events_schoenfeld,
    group_sequential_design,
    sample_size_survival,
    spending,
)


@pytest.mark.parametrize("kind", ["obf", "pocock", "hsd"])
def test_spending_functions_run_from_zero_to_level(kind):
    t = np.linspace(0, 1, 11)
    a = spending(kind, t, 0.025, -4.0)
    assert a[0] == 0 and a[-1] == pytest.approx(0.025, abs=1e-15)
    assert np.all(np.diff(a) > 0)


def test_two_stage_crossing_equals_bivariate_normal():
    # P(Z1 < b1, Z2 >= b2), corr(Z1, Z2) = sqrt(t1), by adaptive quadrature: independent of the recursion
    t = np.array([0.4, 1.0])
    b = np.array([2.5, 2.0])
    drift = 1.7
    p_up, _ = crossing_probabilities(t, b, np.array([-np.inf, -np.inf]), drift)
    mean = drift * np.sqrt(t)
    # conditional on Z1 = z: Z2 ~ N(mean2 + sqrt(t1) (z - mean1), 1 - t1)
    cond = lambda z: norm.pdf(z - mean[0]) * norm.sf((b[1] - mean[1] - np.sqrt(t[0]) * (z - mean[0])) / np.sqrt(1 - t[0]))  # noqa: E731
    p2 = quad(cond, -np.inf, b[0], epsabs=1e-13, epsrel=1e-13)[0]
    assert p_up[0] == pytest.approx(norm.sf(b[0] - mean[0]), abs=1e-14)
    assert p_up[1] == pytest.approx(p2, abs=1e-8)


def test_fixed_design_is_the_textbook_one():
    d = group_sequential_design((1.0,), alpha=0.025, beta=0.1)
    assert d.critical_values[0] == pytest.approx(norm.isf(0.025), abs=1e-12)
    assert d.shift == pytest.approx((norm.isf(0.025) + norm.isf(0.1)) ** 2, abs=1e-9)
    assert events_schoenfeld(0.667) == pytest.approx(4 * d.shift / np.log(0.667) ** 2, rel=1e-12)
    assert events_freedman(0.5, allocation_ratio=2) == pytest.approx(d.shift * 4 / (2 * 0.25), rel=1e-12)


def test_sample_size_follow_up_and_subjects_agree():
    a = sample_size_survival(0.7, median_control=12, accrual_time=(0, 24), follow_up=12)
    b = sample_size_survival(0.7, median_control=12, accrual_time=(0, 24), max_subjects=a.max_subjects)
    assert b.analysis_times[-1] == pytest.approx(36.0, abs=1e-8)
    assert b.expected_events([36.0])[0] == pytest.approx(a.max_events, rel=1e-10)
    tl = b.timeline()
    assert tl.to_frame()["events"].is_monotonic_increasing
    assert set(tl.to_dict()) >= {"time", "subjects", "events"}


def test_piecewise_exponential_inverse_and_median():
    pe = PiecewiseExponential((0.0, 6.0), (0.1, 0.05))
    x = np.array([0.0, 3.0, 6.0, 20.0])
    np.testing.assert_allclose(pe.quantile_of_cumhaz(pe.cumulative_hazard(x)), x, atol=1e-12)
    assert pe.cumulative_hazard(pe.median()) == pytest.approx(np.log(2))


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: group_sequential_design((0.5, 0.4, 1.0)), "information_rates"),
        (lambda: group_sequential_design((0.5, 0.9)), "information_rates"),
        (lambda: group_sequential_design((1.0,), alpha=0.6), "alpha"),
        (lambda: group_sequential_design((1.0,), beta=0.99), "beta"),
        (lambda: group_sequential_design((0.5, 1.0), alpha_spending="linear"), "alpha_spending"),
        (lambda: group_sequential_design((0.5, 1.0), futility_bounds=(0.0, 1.0, 2.0)), "futility_bounds"),
        (lambda: group_sequential_design((0.5, 1.0), futility_bounds=(5.0,)), "futility_bounds"),
        (lambda: group_sequential_design((0.5, 1.0), beta_spending="obf", binding_futility="yes"), "binding_futility"),
        (lambda: group_sequential_design((1.0,), beta_spending="obf"), "beta_spending"),
        (lambda: events_schoenfeld(1.0), "hazard_ratio"),
        (lambda: events_freedman(0.7, allocation_ratio=0), "allocation_ratio"),
        (lambda: sample_size_survival(0.7, accrual_time=(0, 12), max_subjects=100), "control"),
        (lambda: sample_size_survival(0.7, median_control=12, accrual_time=(0, 12)), "max_subjects"),
        (lambda: sample_size_survival(0.7, median_control=12, max_subjects=100, method="lr"), "method"),
        (lambda: sample_size_survival(0.7, median_control=12, max_subjects=20, dropout_rate=(0.5, 0.5)), "max_subjects"),
        (lambda: dropout_hazard(1.0, 12), "dropout_rate"),
        (lambda: Accrual((0.0, 12.0), (1.0, 2.0)), "accrual_intensity"),
        (lambda: Accrual((5.0, 12.0), (1.0,)), "accrual_time"),
        (lambda: PiecewiseExponential((0.0, 6.0), (0.1,)), "hazards"),
        (lambda: spending("linear", 0.5, 0.025), "spending"),
    ],
)
def test_bad_arguments_are_named(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_results_are_frozen_and_framed():
    d = group_sequential_design((0.5, 1.0), futility_bounds=(0.0,))
    with pytest.raises(Exception):
        d.alpha = 0.05  # type: ignore[misc]
    assert list(d.to_frame()["look"]) == [1, 2]
    assert d.to_dict()["critical_values"] == d.critical_values
    s = sample_size_survival(0.667, median_control=24, design=d, accrual_time=(0, 50), max_subjects=518)
    assert {"events", "analysis_time", "critical_value_hr"} <= set(s.to_frame().columns)
    assert s.to_dict()["median_control"] == pytest.approx(24.0)
