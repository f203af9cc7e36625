"""The design options of issue 18 §1 against R rpact (validation/design_options_rpact.R):
two-sided designs, Kim-DeMets / Hwang-Shih-DeCani spending with parameters for alpha and
beta, and unequal allocation with each events formula; through the API and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.design import group_sequential_design, sample_size_survival

from .test_rpact_reference import COUNT_RTOL, REF, TOL, _vec, check_design

OPTIONS = json.loads((REF / "design_options.json").read_text())
METHOD = {"Schoenfeld": "schoenfeld", "Freedman": "freedman", "HsiehFreedman": "hsieh-freedman"}


def _design(args: dict):
    return group_sequential_design(
        np.atleast_1d(args["information_rates"]).tolist(), alpha=args["alpha"], beta=args["beta"],
        alpha_spending=args["alpha_spending"], beta_spending=args.get("beta_spending"), sided=args["sided"],
        futility_bounds=None if "futility_bounds" not in args else np.atleast_1d(args["futility_bounds"]).tolist(),
        binding_futility=args.get("binding_futility", False),
    )


@pytest.mark.parametrize("ref", OPTIONS["designs"], ids=lambda r: json.dumps(r["args"], separators=(",", ":")))
def test_design_options_match_rpact(ref):
    check_design(_design(ref["args"]), ref)


def _size(case: dict):
    return sample_size_survival(
        case["hr"], median_control=case["median2"], design=_design(case["design"]),
        accrual_time=case["accrualTime"], max_subjects=case["maxN"], follow_up=case["follow"],
        dropout_rate=tuple(case["dropout"]), dropout_time=12.0, allocation_ratio=case["alloc"],
        method=METHOD[case["method"]], hr0=case.get("hr0", 1.0),
    )


def _check_size(s, ref, time_atol: float = 1e-4, subjects_rtol: float = COUNT_RTOL) -> None:
    """``time_atol`` / ``subjects_rtol``: looser for piecewise hazards, where rpact's numerical
    integration (R integrate, rel.tol 1.2e-4) errs more than its root finder (test_rpact_survival)."""
    for field in ("events_fixed", "max_events", "max_subjects", "expected_events_h0", "expected_events_h1"):
        want = ref[field]
        if field == "max_subjects" and s.design.k_max == 1 and ref["follow_up"] < 0:
            # Events before the end of accrual: rpact reports the patients accrued by the final
            # analysis for a group-sequential design but keeps a fixed design's planned number;
            # oncotrial reports the accrued ones for both (rpact's getNumberOfSubjects then).
            assert ref[field] == ref["case"]["maxN"]
            want = ref["subjects_by_final"]
        rtol = subjects_rtol if field == "max_subjects" else COUNT_RTOL
        np.testing.assert_allclose(getattr(s, field), want, atol=0, rtol=rtol, err_msg=field)
    np.testing.assert_allclose(s.events_per_stage, _vec(ref["events_per_stage"]), atol=0, rtol=COUNT_RTOL)
    # rpact's calendar-time root finder stops at ~1e-6 relative (see test_rpact_reference).
    np.testing.assert_allclose(s.analysis_times, _vec(ref["analysis_times"]), atol=time_atol, rtol=0)
    np.testing.assert_allclose(s.follow_up, ref["follow_up"], atol=time_atol, rtol=0)
    # Two-sided, rpact's studyDurationH1 (unlike its expectedEventsH1) leaves out early stops in
    # the opposite tail (P ~ 1e-5 under H1); we count them, as the trial would stop there.
    opposite = time_atol if s.design.sided == 1 else 1e-3
    np.testing.assert_allclose(s.study_duration_h1, ref["study_duration_h1"], atol=opposite, rtol=0)
    if s.design.sided == 2 and s.design.k_max > 1:
        upper_only = np.array(s.design.rejection_probabilities)
        upper_only[-1] = 1 - upper_only[:-1].sum()
        np.testing.assert_allclose(upper_only @ np.array(s.analysis_times), ref["study_duration_h1"], atol=time_atol,
                                   rtol=0)
    np.testing.assert_allclose(s.critical_values_hr, _vec(ref["critical_values_hr"]), atol=TOL, rtol=0)
    fut = _vec(ref["futility_bounds_hr"]) if ref["futility_bounds_hr"] != [] else np.zeros(0)
    np.testing.assert_allclose(s.futility_bounds_hr, fut, atol=1e-7, rtol=0)  # rpact: 8 significant digits


@pytest.mark.parametrize("ref", OPTIONS["sample_sizes"], ids=lambda r: r["name"])
def test_sample_size_options_match_rpact(ref):
    s = _size(ref["case"])
    np.testing.assert_allclose(s.design.critical_values, _vec(ref["critical_values"]), atol=TOL, rtol=0)
    _check_size(s, ref)
    r = ref["case"]["alloc"]
    if ref["max_subjects_by_arm"] == []:  # rpact reports no arm sizes for a fixed design
        return
    np.testing.assert_allclose([s.max_subjects * r / (1 + r), s.max_subjects / (1 + r)], ref["max_subjects_by_arm"],
                               atol=0, rtol=COUNT_RTOL)


def _cli_args(case: dict) -> list[str]:
    d = case["design"]
    args = ["design", "patina", "--json", "--looks", ",".join(map(str, np.atleast_1d(d["information_rates"]))),
            "--alpha", str(d["alpha"]), "--power", str(1 - d["beta"]), "--sided", str(d["sided"]),
            "--spending", d["alpha_spending"], "--ratio", str(case["alloc"]), "--method", METHOD[case["method"]],
            "--subjects", str(case["maxN"])]
    if "beta_spending" in d:
        args += ["--beta-spending", d["beta_spending"]]
    if d.get("binding_futility"):
        args.append("--binding")
    if "hr0" in case:
        args += ["--hr0", str(case["hr0"])]
    return args


PATINA = [r for r in OPTIONS["sample_sizes"] if r["name"].startswith("patina_")]


@pytest.mark.parametrize("ref", PATINA, ids=lambda r: r["name"])
def test_cli_design_options_match_rpact(ref):
    # PATINA's own accrual, median and dropout; the options set the rest.
    res = CliRunner().invoke(app, _cli_args(ref["case"]))
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    g = out["design"]
    assert (g["sided"], g["alpha"], g["beta"]) == (ref["case"]["design"]["sided"], ref["case"]["design"]["alpha"],
                                                    pytest.approx(ref["case"]["design"]["beta"], abs=1e-12))
    assert out["allocation_ratio"] == ref["case"]["alloc"]
    np.testing.assert_allclose(g["critical_values"], _vec(ref["critical_values"]), atol=TOL, rtol=0)
    for field in ("events_fixed", "max_events", "max_subjects", "expected_events_h0", "expected_events_h1"):
        np.testing.assert_allclose(out[field], ref[field], atol=0, rtol=COUNT_RTOL, err_msg=field)
    np.testing.assert_allclose(out["events_per_stage"], ref["events_per_stage"], atol=0, rtol=COUNT_RTOL)
    np.testing.assert_allclose(out["analysis_times"], ref["analysis_times"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["critical_values_hr"], ref["critical_values_hr"], atol=TOL, rtol=0)
    assert (g["binding_futility"], out["hr0"]) == (ref["case"]["design"].get("binding_futility", False),
                                                   ref["case"].get("hr0", 1.0))
    if g["beta_spending"] is not None:
        np.testing.assert_allclose(out["futility_bounds_hr"], _vec(ref["futility_bounds_hr"]), atol=1e-7, rtol=0)


def test_cli_defaults_are_the_protocols():
    from oncotrial.design.from_protocol import design_from_protocol
    from oncotrial.protocol import load_protocol

    res = CliRunner().invoke(app, ["design", "patina", "--json", "--looks", "0.5,1"])
    assert res.exit_code == 0, res.output
    g = json.loads(res.stdout)["design"]
    an = load_protocol("patina").analysis
    assert (g["alpha"], g["sided"], 1 - g["beta"]) == (an.alpha, an.sided, pytest.approx(an.power, abs=1e-12))
    want = design_from_protocol(load_protocol("patina"), [0.5, 1.0])
    assert g["critical_values"] == list(want.design.critical_values)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--spending", "hsd:x"], "--spending: expected a number after 'hsd:'"),
        (["--spending", "kd"], "--spending: kd needs its exponent rho"),
        (["--spending", "kd:-1"], "--spending: kd needs rho > 0"),
        (["--spending", "linear"], "--spending: expected obf, pocock, hsd, hsd:GAMMA or kd:RHO"),
        (["--spending", "obf:2"], "--spending: expected obf, pocock, hsd, hsd:GAMMA or kd:RHO"),
        (["--looks", "0.5,1", "--beta-spending", "kd:0"], "--beta-spending: kd needs rho > 0"),
        (["--looks", "0.5,1", "--beta-spending", "hsd:nan"], "--beta-spending: expected a finite parameter"),
        (["--sided", "3"], "--sided (sided): expected 1 or 2"),
        (["--alpha", "0.7"], "--alpha (alpha): expected a 1-sided level in (0, 0.5)"),
        (["--sided", "2", "--alpha", "1.2"], "--alpha (alpha): expected a 2-sided level in (0, 1)"),
        (["--power", "1.5"], "--power (power): expected a probability in (0, 1)"),
        (["--ratio", "0"], "--ratio (allocation_ratio): expected a positive number"),
        (["--method", "logrank"], "--method (method): expected one of"),
        (["--looks", "0.5,1", "--sided", "2", "--futility", "0"], "a two-sided design has no futility bounds"),
        (["--beta-spending", "kd:2"], "--beta-spending (beta_spending): needs at least one interim look"),
        (["--looks", "0.5,1", "--binding"], "--binding: binding futility needs futility bounds"),
        (["--looks", "0.5,1", "--binding", "--sided", "2", "--beta-spending", "obf"],
         "a two-sided design has no futility bounds"),
        (["--hr0", "0"], "--hr0: expected a positive null hazard ratio"),
        (["--hr0", "nan"], "--hr0: expected a positive null hazard ratio"),
        (["--hr0", "-1.2"], "--hr0: expected a positive null hazard ratio"),
        (["--hr0", "0.667"], "--hr0 (hazard_ratio): expected a positive number other than hr0 = 0.667"),
        (["--hr0", "1.3", "--method", "freedman"], "--hr0 (hr0): a null hazard ratio other than 1 needs method"),
        (["--hr0", "1.3", "--sided", "2", "--alpha", "0.05"],
         "--hr0 (hr0): a null hazard ratio other than 1 needs a one-sided design"),
    ],
)
def test_cli_bad_option_values_are_clear_errors(args, expected):
    res = CliRunner().invoke(app, ["design", "patina", "--json", *args])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and expected in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_binding_z_scale_futility_matches_rpact():
    ref = next(r for r in OPTIONS["designs"] if r["args"].get("binding_futility") and "futility_bounds" in r["args"]
               and np.atleast_1d(r["args"]["information_rates"]).tolist() == [0.5, 1])
    res = CliRunner().invoke(app, ["design", "patina", "--json", "--looks", "0.5,1", "--futility", "0", "--binding",
                                   "--alpha", "0.025", "--power", "0.9", "--sided", "1"])
    assert res.exit_code == 0, res.output
    g = json.loads(res.stdout)["design"]
    assert g["binding_futility"] is True
    np.testing.assert_allclose(g["critical_values"], _vec(ref["critical_values"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(g["alpha_spent"], _vec(ref["alpha_spent"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(g["power"], _vec(ref["power"])[-1], atol=TOL, rtol=0)
