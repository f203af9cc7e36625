"""Survival beyond the exponential and accrual that overruns the final analysis (issue 18 §1)
against R rpact (validation/design_survival_rpact.R): piecewise-exponential and Weibull control
survival, the overrun convention, and getPowerSurvival; through the API and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.design import PiecewiseExponential, Weibull, power_survival, sample_size_survival

from .test_rpact_options import METHOD, _check_size, _design
from .test_rpact_reference import COUNT_RTOL, REF, TOL, _vec, check_design

SURVIVAL = json.loads((REF / "design_survival.json").read_text())
SIZES = {r["name"]: r for r in SURVIVAL["sample_sizes"]}
POWERS = {r["name"]: r for r in SURVIVAL["powers"]}
OVERRUN_WARNING = "Accrual duration longer than maximal study duration"


def _control(sv: dict):
    """rpact's survival arguments as oncotrial's control distribution."""
    if "kappa" in sv:
        return Weibull(sv["lambda2"], sv["kappa"]) if "lambda2" in sv else Weibull.from_median(sv["median2"], sv["kappa"])
    if "pwTime" in sv:
        return PiecewiseExponential(tuple(sv["pwTime"]), tuple(sv["lambda2"]))
    return PiecewiseExponential.from_median(sv["median2"])


def _size(case: dict):
    return sample_size_survival(
        case["hr"], _control(case["survival"]), design=_design(case["design"]), accrual_time=case["accrualTime"],
        accrual_intensity=case.get("intensity"), max_subjects=case.get("maxN"), follow_up=case.get("follow"),
        dropout_rate=tuple(case["dropout"]), dropout_time=12.0, allocation_ratio=case["alloc"],
        method=METHOD[case["method"]],
    )


def _tolerances(case: dict) -> tuple[float, float]:
    """(calendar-time atol, patients rtol) against rpact. With piecewise hazards rpact integrates
    the event probability numerically over a kinked integrand (R integrate, rel.tol 1.2e-4):
    its times can be off by ~1e-3 months, where ours solve the closed form to 1e-12
    (test_piecewise_times_solve_the_events_by_quadrature); elsewhere its root finder's 1e-4."""
    return (2e-3, 1e-4) if "pwTime" in case["survival"] else (1e-4, COUNT_RTOL)


def _overruns(ref: dict) -> bool:
    return any(OVERRUN_WARNING in w for w in np.atleast_1d(ref["warnings"]).tolist())


@pytest.mark.parametrize("ref", SIZES.values(), ids=SIZES.keys())
def test_sample_size_survival_matches_rpact(ref):
    s = _size(ref["case"])
    check_design(s.design, ref["design"])
    arm = s.experimental  # rpact's lambda1 = lambda2 * HR^(1 / kappa)
    np.testing.assert_allclose([arm.rate] if isinstance(arm, Weibull) else arm.hazards, _vec(ref["lambda1"]),
                               atol=0, rtol=1e-12)
    time_atol, n_rtol = _tolerances(ref["case"])
    _check_size(s, ref, time_atol, n_rtol)
    np.testing.assert_allclose(s.subjects_per_stage, _vec(ref["subjects_per_stage"]) if s.design.k_max > 1
                               else [ref["subjects_by_final"]], atol=0, rtol=n_rtol)
    assert s.accrual_overrun == _overruns(ref)
    # rpact's planned patients, and (group-sequential designs) the patients accrued by the final analysis
    assert s.planned_subjects == pytest.approx(ref["case"].get("maxN") or ref["max_subjects"], rel=COUNT_RTOL)
    np.testing.assert_allclose(s.max_subjects, ref["subjects_by_final"], atol=0, rtol=n_rtol)
    if s.design.sided == 1:
        # two-sided, rpact leaves the early stops in the opposite tail out (see _check_size)
        np.testing.assert_allclose(s.expected_subjects_h1, ref["expected_subjects_h1"], atol=0, rtol=n_rtol)


def test_piecewise_times_solve_the_events_by_quadrature():
    # Where rpact's piecewise times differ from ours most (power_piecewise, look 1), ours give the
    # target events to 1e-9 by adaptive quadrature with the kinks as break points.
    from scipy.integrate import quad

    from oncotrial.design import dropout_hazard, event_probability

    ref = POWERS["power_piecewise"]
    p = _power(ref["case"])
    eta = dropout_hazard(0.05, 12.0)
    t, rate = p.analysis_times[0], p.accrual.intensity[0]
    kinks = [t - s for s in p.control.starts[1:] if 0 < t - s < t]
    events = sum(0.5 * rate * quad(lambda u: float(event_probability(arm, eta, t - u)), 0, t, points=kinks,
                                   epsabs=1e-12, epsrel=1e-13, limit=200)[0] for arm in (p.experimental, p.control))
    assert events == pytest.approx(p.events_per_stage[0], abs=1e-9)
    assert abs(t - ref["analysis_times"][0]) > 1e-4  # rpact's, off by its integration error


def test_overrun_is_rpacts_convention_with_a_negative_follow_up():
    ref = SIZES["patina_overrun_900"]
    s = _size(ref["case"])
    assert s.accrual_overrun and s.follow_up < 0
    assert s.analysis_times[-1] == pytest.approx(s.accrual.duration + s.follow_up, abs=1e-12)
    assert s.max_subjects == pytest.approx(s.accrual.accrued(s.analysis_times[-1]), rel=1e-12)
    assert s.max_subjects < s.planned_subjects == 900


def test_fixed_design_overrun_reports_the_accrued_patients_where_rpact_keeps_the_planned():
    # rpact applies its convention to group-sequential designs only: a fixed design keeps
    # maxNumberOfSubjects = the planned 900 beside its negative follow-up. oncotrial reports the
    # patients accrued by the final analysis for every design (rpact's getNumberOfSubjects then).
    ref = SIZES["patina_overrun_900_fixed"]
    s = _size(ref["case"])
    assert ref["max_subjects"] == 900 and _overruns(ref)
    assert s.accrual_overrun and s.planned_subjects == 900
    np.testing.assert_allclose(s.max_subjects, ref["subjects_by_final"], atol=0, rtol=COUNT_RTOL)


def test_a_design_that_does_not_overrun_says_so():
    s = _size(SIZES["patina_piecewise"]["case"])
    assert not s.accrual_overrun and s.max_subjects == s.planned_subjects == 518 and s.follow_up > 0


def _power(case: dict):
    return power_survival(
        case["hr"], case["maxEvents"], case["maxN"], _control(case["survival"]), design=_design(case["design"]),
        accrual_time=case["accrualTime"], dropout_rate=tuple(case["dropout"]), dropout_time=12.0,
        allocation_ratio=case["alloc"], method=METHOD[case["method"]], hr0=case.get("hr0", 1.0),
    )


@pytest.mark.parametrize("ref", POWERS.values(), ids=POWERS.keys())
def test_power_survival_matches_rpact(ref):
    p = _power(ref["case"])
    check_design(p.design, ref["design"])
    np.testing.assert_allclose(p.power, ref["power"], atol=TOL, rtol=0)
    np.testing.assert_allclose(p.rejection_probabilities, _vec(ref["rejection_probabilities"]), atol=TOL, rtol=0)
    if p.design.k_max > 1:
        np.testing.assert_allclose(p.futility_probabilities[:-1], _vec(ref["futility_probabilities"]), atol=TOL,
                                   rtol=0)
    np.testing.assert_allclose(p.events_per_stage, _vec(ref["events_per_stage"]), atol=0, rtol=1e-12)
    time_atol, n_rtol = _tolerances(ref["case"])
    np.testing.assert_allclose(p.analysis_times, _vec(ref["analysis_times"]), atol=time_atol, rtol=0)
    np.testing.assert_allclose(p.follow_up, ref["follow_up"], atol=time_atol, rtol=0)
    np.testing.assert_allclose(p.study_duration, ref["study_duration"], atol=time_atol, rtol=0)
    np.testing.assert_allclose(p.subjects_per_stage, _vec(ref["subjects_per_stage"]), atol=0, rtol=n_rtol)
    np.testing.assert_allclose(p.expected_events, ref["expected_events"], atol=0, rtol=COUNT_RTOL)
    np.testing.assert_allclose(p.expected_subjects, ref["expected_subjects"], atol=0, rtol=n_rtol)
    # getPowerSurvival echoes the planned patients as maxNumberOfSubjects even when the events
    # come before accrual ends; its numberOfSubjects per stage are the accrued ones.
    assert p.planned_subjects == pytest.approx(ref["max_subjects"], rel=1e-12)
    assert p.accrual_overrun == (ref["follow_up"] < 0)
    assert p.max_subjects == pytest.approx(p.subjects_per_stage[-1] if p.accrual_overrun else ref["max_subjects"],
                                           rel=1e-12)


def test_power_at_the_sized_events_is_the_designs():
    ref = SIZES["patina_piecewise"]
    s = _size(ref["case"])
    c = ref["case"]
    p = power_survival(s.hazard_ratio, s.max_events, s.max_subjects, s.control, design=s.design,
                       accrual_time=c["accrualTime"], dropout_rate=tuple(c["dropout"]))
    assert p.power == pytest.approx(1 - s.design.beta, abs=1e-9)
    np.testing.assert_allclose(p.analysis_times, s.analysis_times, atol=1e-9, rtol=0)
    assert p.expected_subjects == pytest.approx(s.expected_subjects_h1, rel=1e-12)


def test_weibull_with_dropout_is_refused_as_in_rpact():
    with pytest.raises(ValueError, match=r"^dropout_rate: Weibull survival \(shape 1.5\) is computed without dropout"):
        sample_size_survival(0.7, Weibull.from_median(24, 1.5), accrual_time=(0, 24), max_subjects=400,
                             dropout_rate=(0.05, 0.05))


@pytest.mark.parametrize("bad, message", [
    (dict(max_events=0), "max_events: expected a positive number of events"),
    (dict(max_subjects=100), "max_subjects: expected at least max_events"),
    (dict(hazard_ratio=-1), "hazard_ratio: expected a positive number"),
    (dict(direction_upper="yes"), "direction_upper: expected True or False"),
    (dict(method="logrank"), "method: expected one of"),
])
def test_power_survival_argument_errors_name_the_argument(bad, message):
    kw = dict(hazard_ratio=0.7, max_events=250, max_subjects=518, median_control=24, accrual_time=(0, 48)) | bad
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        power_survival(**kw)


# ---- the CLI: PATINA's accrual, with the survival options ------------------------------------
def _cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["design", "patina", *args], env=env)


def _check_cli_size(out: dict, ref: dict) -> None:
    time_atol, n_rtol = _tolerances(ref["case"])
    for field in ("events_fixed", "max_events", "max_subjects", "expected_events_h0", "expected_events_h1"):
        want = ref["subjects_by_final"] if field == "max_subjects" else ref[field]
        rtol = n_rtol if field == "max_subjects" else COUNT_RTOL
        np.testing.assert_allclose(out[field], want, atol=0, rtol=rtol, err_msg=field)
    np.testing.assert_allclose(out["events_per_stage"], _vec(ref["events_per_stage"]), atol=0, rtol=COUNT_RTOL)
    np.testing.assert_allclose(out["analysis_times"], _vec(ref["analysis_times"]), atol=time_atol, rtol=0)
    np.testing.assert_allclose(out["follow_up"], ref["follow_up"], atol=time_atol, rtol=0)
    np.testing.assert_allclose(out["critical_values_hr"], _vec(ref["critical_values_hr"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(out["design"]["critical_values"], _vec(ref["design"]["critical_values"]), atol=TOL,
                               rtol=0)


@pytest.mark.parametrize("name, args, kind", [
    ("patina_piecewise", ["--control-hazards", "0:0.03,6:0.025,12:0.02"], "piecewise-exponential"),
    ("patina_weibull", ["--weibull-shape", "1.5", "--dropout", "0"], "weibull"),
    ("patina_overrun_900", ["--subjects", "900"], "piecewise-exponential"),
    ("patina_overrun_900_fixed", ["--subjects", "900"], "piecewise-exponential"),
])
def test_cli_survival_options_match_rpact(name, args, kind):
    ref = SIZES[name]
    looks = ",".join(map(str, np.atleast_1d(ref["case"]["design"]["information_rates"])))
    res = _cli("--json", "--looks", looks, "--alpha", "0.025", "--power", "0.9", "--sided", "1", *args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["control_survival"] == kind
    _check_cli_size(out, ref)
    assert out["accrual_overrun"] is _overruns(ref)
    assert out["planned_subjects"] == pytest.approx(ref["case"]["maxN"], rel=1e-12)


@pytest.mark.parametrize("columns", ["40", "200"])
def test_cli_overrun_text_says_so(columns):
    res = _cli("--subjects", "900", env={"COLUMNS": columns})
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "note: accrual would run past the final analysis" in text
    assert "rpact's convention" in text and "of 900 planned" in text
    assert "follow-up after accrual -" not in text
    plain = " ".join(_cli("--subjects", "518", env={"COLUMNS": columns}).stdout.split())
    assert "note: accrual" not in plain and "follow-up after accrual" in plain


@pytest.mark.parametrize("columns", ["40", "200"])
def test_cli_text_names_the_control_survival(columns):
    env = {"COLUMNS": columns}
    pw = " ".join(_cli("--control-hazards", "0:0.03,6:0.025,12:0.02", env=env).stdout.split())
    assert "piecewise exponential, hazard 0.03 from month 0, 0.025 from month 6, 0.02 from month 12" in pw
    wb = " ".join(_cli("--weibull-shape", "1.5", "--dropout", "0", env=env).stdout.split())
    assert "Weibull, shape 1.5" in wb and "median PFS 24.0 months (control)" in wb


@pytest.mark.parametrize("args, expected", [
    (["--control-hazards", "0:x"], "--control-hazards: expected START:HAZARD pieces"),
    (["--control-hazards", "0.03"], "--control-hazards: expected START:HAZARD pieces (month:hazard per month)"),
    (["--control-hazards", "0:0.03,6:inf"], "--control-hazards: expected START:HAZARD pieces with finite numbers"),
    (["--control-hazards", "1:0.03,6:0.02"], "--control-hazards: start months must begin at 0"),
    (["--control-hazards", "0:0.03,6:0.02,6:0.01"], "--control-hazards: start months must begin at 0 and strictly"),
    (["--control-hazards", "0:0.03,6:-0.02"], "--control-hazards: hazards must be non-negative"),
    (["--control-hazards", "0:0.03,6:0"], "--control-hazards: hazards must be non-negative with a positive last"),
    (["--weibull-shape", "0"], "--weibull-shape: expected a positive Weibull shape"),
    (["--weibull-shape", "nan"], "--weibull-shape: expected a positive Weibull shape"),
    (["--weibull-shape", "1.5", "--control-hazards", "0:0.03"], "--weibull-shape: a Weibull control takes"),
    (["--weibull-shape", "1.5"], "--dropout (dropout_rate): Weibull survival (shape 1.5) is computed without dropout"),
    (["--dropout", "1"], "--dropout: expected a proportion lost per year in [0, 1)"),
    (["--dropout", "-0.1"], "--dropout: expected a proportion lost per year in [0, 1)"),
])
def test_cli_bad_survival_options_are_clear_errors(args, expected):
    res = _cli("--json", *args)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and expected in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_dropout_option_sets_both_arms():
    out = json.loads(_cli("--json", "--dropout", "0.1").stdout)
    assert out["dropout_hazards"] == [pytest.approx(-np.log(0.9) / 12, rel=1e-12)] * 2


def test_simulation_refuses_a_weibull_design_and_closes_entry_at_an_overrun():
    from oncotrial.design.settings import settings_from_design

    w = _size(SIZES["patina_weibull"]["case"])
    with pytest.raises(ValueError, match="^control: the simulator draws piecewise-exponential event times"):
        settings_from_design(w)
    s = _size(SIZES["patina_overrun_900"]["case"])
    st = settings_from_design(s)
    assert st.n_subjects == round(s.max_subjects) and st.accrual.duration == pytest.approx(s.analysis_times[-1])
    assert st.accrual.intensity == s.accrual.intensity


# ---- the protocol's [analysis] settings -----------------------------------------------------
def _patina_with(**analysis):
    from oncotrial.protocol import protocol_from_dict

    from ..protocol.test_protocol import patina_dict

    d = patina_dict()
    d["analysis"].update(analysis)
    for key in [k for k, v in analysis.items() if v is None]:
        del d["analysis"][key]
    return protocol_from_dict(d, source="mine.toml")


def test_protocol_control_hazards_and_weibull_shape_match_rpact():
    from oncotrial.design.from_protocol import design_from_protocol

    ref = SIZES["patina_piecewise"]
    p = _patina_with(control_median_months=None, control_hazards=[[0, 0.03], [6, 0.025], [12, 0.02]])
    s = design_from_protocol(p, [0.5, 1.0], alpha=0.025, power=0.9, sided=1)
    assert s.control.hazards == (0.03, 0.025, 0.02)
    _check_size(s, ref, *_tolerances(ref["case"]))
    ref = SIZES["patina_weibull"]
    p = _patina_with(control_weibull_shape=1.5, dropout_rate_per_year=0.0)
    s = design_from_protocol(p, [0.5, 1.0], alpha=0.025, power=0.9, sided=1)
    assert isinstance(s.control, Weibull) and s.control.shape == 1.5
    _check_size(s, ref)
    # the CLI's options take precedence over the protocol's settings
    res = CliRunner().invoke(app, ["design", "patina", "--json", "--control-hazards", "0:0.02"])
    assert json.loads(res.stdout)["control"] == {"starts": [0.0], "hazards": [0.02]}


@pytest.mark.parametrize("analysis, message", [
    (dict(control_hazards=[[0, 0.03]]), "analysis: control_hazards: give either control_hazards or "
                                        "control_median_months, not both"),
    (dict(control_median_months=None, control_hazards=[]), "analysis.control_hazards: expected "
                                                           "[[start_month, hazard_per_month], ...]"),
    (dict(control_median_months=None, control_hazards=[[1, 0.03]]), "analysis.control_hazards: start "
                                                                     "months must begin at 0"),
    (dict(control_median_months=None, control_hazards=[[0, 0.03], [6, 0]]),
     "analysis.control_hazards: hazards must be non-negative with a positive last"),
    (dict(control_weibull_shape=0), "analysis.control_weibull_shape: Input should be greater than 0"),
    (dict(control_median_months=None, control_weibull_shape=1.5),
     "analysis: control_weibull_shape: a Weibull control needs control_median_months"),
])
def test_protocol_survival_settings_are_checked_naming_the_field(analysis, message):
    from oncotrial.protocol import ProtocolError

    with pytest.raises(ProtocolError) as info:
        _patina_with(**analysis)
    assert message in str(info.value)


def test_cli_weibull_shape_needs_the_protocols_median():
    from oncotrial.design.from_protocol import control_survival

    p = _patina_with(control_median_months=None, control_hazards=[[0, 0.03]])
    with pytest.raises(ValueError, match="^weibull_shape: a Weibull control needs the protocol's analysis"):
        control_survival(p, weibull_shape=1.5)
