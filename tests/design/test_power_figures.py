"""Honest power reports: each figure names its test; stratified information; simulate-design options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.design import sample_size_survival
from oncotrial.design.information import block_balance, stratified_information_ratio
from oncotrial.design.simulate import (
    analytic_power,
    analyse_trials,
    power_curve,
    settings_from_design,
    simulate_design,
    simulate_trials,
)

REF = Path(__file__).resolve().parents[2] / "tests" / "reference" / "design"
PATINA_STRATA = ((0.685, 0.315), (0.3, 0.7), (0.907, 0.093), (0.94, 0.06))
runner = CliRunner()


def _settings(strata=PATINA_STRATA, **kw):
    d = sample_size_survival(0.667, median_control=24, accrual_time=(0, 48), max_subjects=518, **kw)
    return settings_from_design(d, strata=strata)


def test_committed_large_simulation_matches_the_analytic_figures():
    # validation/stratified_power.py: 40,000 PATINA trials per design; the analytic side is
    # recomputed here, so a change to either shows
    from oncotrial.design.from_protocol import design_from_protocol, settings_from_protocol
    from oncotrial.protocol import load_protocol

    rows = json.loads((REF / "stratified_power.json").read_text())
    assert {r["design"] for r in rows} == {"patina", "patina_interim_futility0"}
    p = load_protocol("patina")
    for r in rows:
        s = settings_from_protocol(p, design_from_protocol(p, **r["options"]))
        assert list(s.events_per_look) == r["events_per_look"]
        strat, unstrat = analytic_power(s, r["hazard_ratio"], stratified=True), analytic_power(s, r["hazard_ratio"])
        assert strat == pytest.approx(r["analytic_stratified"], abs=1e-6)
        assert unstrat == pytest.approx(r["analytic_unstratified"], abs=1e-6)
        se = r["simulated_stratified_se"]
        assert r["n_replicates"] >= 20000
        assert abs(r["simulated_stratified"] - strat) < 3 * se
        # the unstratified Schoenfeld figure is about one point above the simulated primary test
        assert 0.006 < unstrat - r["simulated_stratified"] < 0.015
        assert abs(r["simulated_unstratified"] - unstrat) < 3 * r["simulated_unstratified_se"]
        # the power lost to stratification, paired in the same trials
        assert abs(r["stratification_loss_simulated"] - (unstrat - strat)) < 3 * r["stratification_loss_simulated_se"]
        np.testing.assert_allclose(stratified_information_ratio(s), r["information_ratio_simulated"], atol=0.004)


def test_information_ratio_is_one_for_one_stratum_and_falls_with_more():
    one = stratified_information_ratio(_settings(strata=((1.0,),)))
    assert one == pytest.approx((1.0,), abs=1e-12)
    two = stratified_information_ratio(_settings(strata=((0.5, 0.5),)))[0]
    sixteen = stratified_information_ratio(_settings())[0]
    tiny = stratified_information_ratio(_settings(strata=PATINA_STRATA + ((0.9, 0.1),) * 3))[0]
    assert 1.0 > two > 0.995 > sixteen > tiny


def test_block_balance_matches_the_simulators_permuted_blocks():
    from oncotrial.design import _kernels

    rng = np.random.default_rng(7)
    n, reps = 7, 40000
    for sizes, alloc in (((2, 4), (1, 1)), ((3, 6), (2, 1))):
        kappa = block_balance(n, sizes, alloc)
        p = alloc[0] / sum(alloc)
        b = np.asarray(sizes, np.int64)
        arm = _kernels.assign_arms(np.zeros((reps, n), np.int64), 1, rng.random((reps, n), dtype=np.float32),
                                   rng.random((reps, n), dtype=np.float32), b, b * alloc[0] // sum(alloc))
        for m in (2, 3, 5, 7):
            n1 = arm[:, :m].sum(axis=1).astype(float)
            prod = n1 * (m - n1) / (m * (m - 1) * p * (1 - p))
            assert kappa[m] == pytest.approx(prod.mean(), abs=4 * prod.std() / np.sqrt(reps) + 1e-12), (sizes, m)


def test_unstratified_logrank_of_the_batch_is_the_one_trial_logrank():
    import oncotrial.stats as stats

    s = _settings()
    batch = simulate_trials(s, 4, seed=3)
    an = analyse_trials(batch)
    for i in range(4):
        df = batch.replicate(i, 1)
        lr = stats.logrank(df["AVAL"], df["EVENT"], df["TRT01PN"])
        assert an.observed_minus_expected_unstratified[i, 0] == pytest.approx(lr.observed[1] - lr.expected[1],
                                                                              abs=1e-9)
        assert an.variance_unstratified[i, 0] == pytest.approx(lr.var.loc[1, 1], abs=1e-9)
    assert np.all(an.variance < an.variance_unstratified)


def test_power_curve_labels_every_figure():
    pc = power_curve(_settings(), [0.6, 1.0], n_replicates=250, seed=5)
    assert set(pc.tests) == {"simulated", "simulated_unstratified", "analytic", "analytic_stratified"}
    assert "stratified log-rank over 16 strata" in pc.tests["simulated"]
    assert pc.tests["analytic"].startswith("unstratified log-rank, Schoenfeld")
    assert pc.analytic_stratified[0] < pc.analytic[0]
    assert "tests" not in pc.to_frame().columns
    assert len(pc.simulated_unstratified) == len(pc.simulated_unstratified_se) == 2


def test_two_sided_design_stops_both_ways_at_its_level():
    s = _settings(alpha=0.05, sided=2)
    assert s.sided == 2
    null = simulate_design(s.with_hazard_ratio(1.0), 4000, seed=12)
    assert null.rejection_against > 0
    either = null.power + null.rejection_against
    assert abs(either - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 4000)
    assert analytic_power(s, 1.0) == pytest.approx(0.025, abs=1e-4)  # one tail, as rpact counts power
    one_sided = simulate_design(_settings().with_hazard_ratio(1.0), 500, seed=12)
    assert one_sided.rejection_against == 0.0


def _simulate(*args: str) -> tuple[int, dict | None, str]:
    res = runner.invoke(app, ["simulate-design", "patina", "--replicates", "250", "--seed", "2", "--json", *args])
    return res.exit_code, (json.loads(res.stdout) if res.exit_code == 0 else None), res.output


@pytest.mark.parametrize("columns", ["40", "200"])
def test_simulate_design_json_labels_each_power_figure(columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    code, out, text = _simulate()
    assert code == 0, text
    pw = out["power"]
    assert pw["primary"] == "simulated_stratified"
    assert out["analytic_power"] == out["analytic_power_unstratified"] == pw["analytic_unstratified"]["value"]
    assert out["analytic_power_stratified"] == pw["analytic_stratified"]["value"] < out["analytic_power"]
    assert pw["simulated_stratified"]["value"] == out["alternative"]["power"]
    assert pw["simulated_unstratified"]["value"] == out["alternative"]["power_unstratified"]
    assert "stratified log-rank over 16 strata" in pw["simulated_stratified"]["test"]
    assert pw["analytic_unstratified"]["test"].startswith("unstratified log-rank, Schoenfeld")
    assert pw["simulated_unstratified"]["test"].startswith("unstratified log-rank")
    assert len(pw["analytic_stratified"]["information_ratio"]) == 1


def test_simulate_design_honours_the_design_options():
    code, base, text = _simulate()
    assert code == 0, text
    code, out, text = _simulate("--ratio", "2")
    assert code == 0, text
    assert out["design"]["allocation"] == [2, 1] and out["design"]["block_sizes"] == [3, 6]
    code, out, text = _simulate("--sided", "2", "--alpha", "0.05", "--power", "0.8")
    assert code == 0, text
    assert out["design"]["sided"] == 2 and out["design"]["power"] == pytest.approx(0.8)
    assert out["design"]["events_per_look"][-1] < base["design"]["events_per_look"][-1]
    assert "rejection_against" in out["null"]
    code, out, text = _simulate("--method", "freedman")
    assert code == 0, text
    assert out["design"]["method"] == "freedman"
    assert out["design"]["events_per_look"] != base["design"]["events_per_look"]
    code, nonbinding, text = _simulate("--looks", "0.5,1", "--futility", "0")
    assert code == 0, text
    code, out, text = _simulate("--looks", "0.5,1", "--futility", "0", "--binding")
    assert code == 0, text
    assert out["design"]["binding_futility"] is True and nonbinding["design"]["binding_futility"] is False
    # binding futility lowers the efficacy bounds, and the simulated trials stop at futility either way
    assert out["design"]["critical_values"][-1] < nonbinding["design"]["critical_values"][-1]
    assert out["alternative"]["futility_by_look"][0] > 0


@pytest.mark.parametrize(
    "args, option",
    [
        (["--hr0", "1.3"], "--hr0"),
        (["--hr0", "-1"], "--hr0"),
        (["--ratio", "1.37"], "--ratio"),
        (["--binding"], "--binding"),
        (["--sided", "3"], "--sided"),
        (["--alpha", "0.7"], "--alpha"),
        (["--method", "cox"], "--method"),
        (["--weibull-shape", "1.3"], "--weibull-shape"),
        (["--control-hazards", "2:0.03"], "--control-hazards"),
        (["--dropout", "1.5"], "--dropout"),
    ],
)
def test_simulate_design_refuses_what_it_cannot_honour(args, option):
    code, _, text = _simulate(*args)
    assert code == 2
    assert f"error: {option}" in text


def test_simulate_design_draws_the_given_control_survival():
    code, base, text = _simulate("--no-type1")
    assert code == 0, text
    # a control hazard twice the protocol's (median 24 months: 0.0289 per month) reaches the events sooner
    code, fast, text = _simulate("--no-type1", "--control-hazards", "0:0.0578", "--dropout", "0")
    assert code == 0, text
    assert fast["design"]["events_per_look"] == base["design"]["events_per_look"]
    assert fast["alternative"]["expected_duration"] < base["alternative"]["expected_duration"] - 6
