"""The one spending-function parser (CLI and API), Kim-DeMets spending, and the keyword options."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from oncotrial.design import SpendingFunction, group_sequential_design, parse_spending, spending, spending_kd


@pytest.mark.parametrize(
    "text, want",
    [
        ("obf", SpendingFunction("obf")),
        ("Pocock", SpendingFunction("pocock")),
        ("hsd", SpendingFunction("hsd", -4.0)),
        ("hsd:-2", SpendingFunction("hsd", -2.0)),
        ("hsd:1.5", SpendingFunction("hsd", 1.5)),
        (" kd:3 ", SpendingFunction("kd", 3.0)),
    ],
)
def test_parse_spending_forms(text, want):
    fn = parse_spending(text)
    assert fn == want
    assert parse_spending(str(fn)) == fn  # the spec round-trips


@pytest.mark.parametrize(
    "text, message",
    [
        ("linear", "--x: expected obf, pocock, hsd, hsd:GAMMA or kd:RHO, got 'linear'"),
        ("obf:1", "--x: expected obf, pocock"),
        ("hsd:", "--x: expected a number after 'hsd:'"),
        ("hsd:inf", "--x: expected a finite parameter"),
        ("kd", "--x: kd needs its exponent rho"),
        ("kd:0", "--x: kd needs rho > 0"),
        (3, "--x: expected obf"),
    ],
)
def test_parse_spending_errors_name_the_option(text, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_spending(text, "--x")


def test_separate_gamma_serves_plain_names_and_must_agree():
    assert parse_spending("hsd", gamma=-2) == SpendingFunction("hsd", -2.0)
    assert parse_spending("kd", gamma=2) == SpendingFunction("kd", 2.0)
    assert parse_spending("hsd:-2", gamma=-2) == SpendingFunction("hsd", -2.0)
    assert parse_spending("obf", gamma=-4) == SpendingFunction("obf")  # ignored: obf takes none
    with pytest.raises(ValueError, match="alpha_spending"):
        group_sequential_design((0.5, 1.0), alpha_spending="hsd:-2", gamma_alpha=1.0)


def test_kim_demets_is_the_power_family():
    t = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(spending_kd(t, 0.025, 2), 0.025 * t**2, rtol=1e-15)
    np.testing.assert_allclose(spending(SpendingFunction("kd", 3.0), t, 0.05), 0.05 * t**3, rtol=1e-15)
    # rho = 1 is linear spending, the same as Hwang-Shih-DeCani with gamma 0
    a = group_sequential_design((0.4, 0.7, 1.0), alpha_spending="kd:1")
    b = group_sequential_design((0.4, 0.7, 1.0), alpha_spending="hsd:0")
    np.testing.assert_allclose(a.critical_values, b.critical_values, atol=1e-12)


def test_old_calls_and_spelled_out_specs_agree():
    old = group_sequential_design((0.5, 1.0), 0.025, 0.1, "hsd", -2.0, None, "hsd", 1.0)
    new = group_sequential_design((0.5, 1.0), alpha_spending="hsd:-2", beta_spending="hsd:1")
    assert old == new
    assert (new.alpha_spending, new.gamma_alpha, new.beta_spending, new.gamma_beta) == ("hsd", -2.0, "hsd", 1.0)
    assert str(new.alpha_spending_function) == "hsd:-2"
    assert group_sequential_design((0.5, 1.0)).gamma_alpha == -4.0  # unchanged default for obf


def test_two_sided_design_is_symmetric_and_refuses_futility():
    d = group_sequential_design((0.5, 1.0), alpha=0.05, sided=2)
    one = group_sequential_design((0.5, 1.0), alpha=0.025)
    # the opposite tail barely changes the bounds at these levels, but does change alpha spent
    np.testing.assert_allclose(d.critical_values, one.critical_values, atol=1e-6)
    np.testing.assert_allclose(d.alpha_spent, 2 * np.array(one.alpha_spent), atol=1e-6)
    assert d.sided == 2 and d.to_frame().shape[0] == 2
    for kw in (dict(futility_bounds=(0.0,)), dict(beta_spending="obf")):
        with pytest.raises(ValueError, match="two-sided design has no futility bounds"):
            group_sequential_design((0.5, 1.0), alpha=0.05, sided=2, **kw)
    with pytest.raises(TypeError):
        group_sequential_design((0.5, 1.0), 0.05, 0.1, "obf", None, None, None, None, False, 32, 2)  # keyword-only


def test_design_cli_module_loads_no_numerical_library():
    code = ("import sys, oncotrial.design.cli; "
            "print(sorted(m for m in ('numpy', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_fixed_two_sided_sample_size_uses_one_tail_level():
    from oncotrial.design import events_schoenfeld, sample_size_survival

    s = sample_size_survival(0.7, median_control=12, alpha=0.05, beta=0.2, max_subjects=500, sided=2)
    assert s.design.sided == 2
    assert s.events_fixed == pytest.approx(events_schoenfeld(0.7, 0.025, 0.2), rel=1e-12)
    with pytest.raises(ValueError, match="sided"):
        sample_size_survival(0.7, median_control=12, design=group_sequential_design(), max_subjects=500, sided=2)


def test_binding_futility_lowers_efficacy_bounds_and_spends_alpha_with_futility_in_place():
    from oncotrial.design.recursion import crossing_probabilities

    free = group_sequential_design((0.4, 0.7, 1.0), beta_spending="obf")
    bound = group_sequential_design((0.4, 0.7, 1.0), beta_spending="obf", binding_futility=True)
    assert bound.binding_futility and not free.binding_futility
    assert bound.critical_values[0] == free.critical_values[0]  # nothing to account for before look 1
    assert all(b < f for b, f in zip(bound.critical_values[1:], free.critical_values[1:]))
    # under H0 with the futility stops, the design spends exactly alpha
    lower = np.array(bound.futility_bounds[:-1] + (-np.inf,))
    p_up, _ = crossing_probabilities(np.array(bound.information_rates), np.array(bound.critical_values), lower)
    assert p_up.sum() == pytest.approx(0.025, abs=1e-10)
    with pytest.raises(ValueError, match="^binding_futility: expected True or False"):
        group_sequential_design((0.5, 1.0), beta_spending="obf", binding_futility="yes")


def test_hr0_default_keeps_results_and_margin_shifts_the_log_hr():
    from oncotrial.design import events_schoenfeld, sample_size_survival

    kw = dict(median_control=24, accrual_time=(0, 48), max_subjects=600)
    assert sample_size_survival(0.667, **kw) == sample_size_survival(0.667, hr0=1.0, **kw)
    assert events_schoenfeld(0.9, hr0=1.3) == pytest.approx(events_schoenfeld(0.9 / 1.3), rel=1e-12)
    ni = sample_size_survival(0.9, hr0=1.3, **kw)
    assert ni.hr0 == 1.3 and ni.critical_values_hr[-1] < 1.3  # rejecting H0: HR >= 1.3 needs HR below it
    for bad in (0, -1.0, float("inf"), float("nan"), "1.3", True):
        with pytest.raises(ValueError, match="^hr0: expected a positive null hazard ratio"):
            sample_size_survival(0.9, hr0=bad, **kw)
    with pytest.raises(ValueError, match="^hazard_ratio: expected a positive number other than hr0 = 1.3"):
        sample_size_survival(1.3, hr0=1.3, **kw)
    with pytest.raises(ValueError, match="^hr0: .* needs method 'schoenfeld'"):
        sample_size_survival(0.9, hr0=1.3, method="freedman", **kw)
    with pytest.raises(ValueError, match="^hr0: .* needs a one-sided design"):
        sample_size_survival(0.9, hr0=1.3, sided=2, alpha=0.05, **kw)


def test_simulation_refuses_a_non_inferiority_design():
    from oncotrial.design import sample_size_survival
    from oncotrial.design.settings import settings_from_design

    ni = sample_size_survival(0.9, hr0=1.3, median_control=24, accrual_time=(0, 48), max_subjects=600)
    with pytest.raises(ValueError, match="null hazard ratio is 1.3"):
        settings_from_design(ni)
