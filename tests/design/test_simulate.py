"""Batched trial simulation: agreement with R survival and oncotrial.stats, seeding, power."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncotrial.design import PiecewiseExponential, group_sequential_design, sample_size_survival
from oncotrial.design.simulate import (
    SEED_BLOCK,
    SimulationSettings,
    TrialBatch,
    analyse_trials,
    analytic_power,
    power_curve,
    settings_from_design,
    simulate_design,
    simulate_trials,
)

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference" / "design"
sys.path.insert(0, str(ROOT / "validation"))
from design_sim_reference import reference_settings  # noqa: E402

PATINA_STRATA = ((0.685, 0.315), (0.3, 0.7), (0.907, 0.093), (0.94, 0.06))


def _latent_batch() -> TrialBatch:
    d = pd.read_csv(REF / "sim_latent.csv")
    reps = sorted(d["replicate"].unique())

    def arr(col, dtype=float):
        return np.stack([d.loc[d["replicate"] == i, col].to_numpy(dtype) for i in reps])

    return TrialBatch(reference_settings(), 0, arr("entry"), arr("pfs"), arr("dropout"),
                      arr("arm", np.int8), arr("stratum", np.int16))


@pytest.fixture(scope="module")
def latent():
    batch = _latent_batch()
    return batch, analyse_trials(batch)


def test_batch_analysis_matches_r_survival(latent):
    batch, an = latent
    ref = json.loads((REF / "sim_survival.json").read_text())
    assert len(ref) == 8
    for r in ref:
        i, k = r["replicate"], r["look"] - 1
        assert an.n_enrolled[i, k] == r["n"]
        assert an.n_events[i, k] == r["events"]
        for name in ("observed_minus_expected", "variance", "log_hr", "se_log_hr",
                     "median_control", "median_experimental"):
            want = np.nan if r[name] == "NA" else r[name]  # median not reached
            assert getattr(an, name)[i, k] == pytest.approx(want, abs=1e-9, rel=1e-9, nan_ok=True), (name, i, k)


def test_replicate_extraction_matches_committed_cut(latent):
    batch, _ = latent
    for look in (1, 2):
        ref = pd.read_csv(REF / f"sim_look{look}.csv")
        for i in range(batch.n_replicates):
            got = batch.replicate(i, look)
            want = ref[ref["replicate"] == i].reset_index(drop=True)
            assert list(got["USUBJID"]) == list(want["USUBJID"])
            np.testing.assert_array_equal(got["EVENT"], want["EVENT"])
            np.testing.assert_allclose(got["AVAL"], want["AVAL"], rtol=1e-15, atol=0)


def test_ties_replicate_really_has_ties(latent):
    batch, _ = latent
    df = batch.replicate(3, 2)
    ev = df[df["EVENT"] == 1]
    assert ev.duplicated(["STRATUM", "AVAL"]).sum() > 10


def test_each_look_has_its_target_events(latent):
    batch, an = latent
    target = np.asarray(batch.settings.events_per_look)
    np.testing.assert_array_equal(an.n_events[:3], np.tile(target, (3, 1)))
    # replicate 3 has quarter-month times: events tied in calendar time with the d-th all count
    assert np.all(an.n_events[3] >= target)


def _stats():
    import oncotrial.stats as stats  # a broken import must fail, not skip

    return stats


@pytest.fixture(scope="module", params=["fresh", "ties"])
def fresh(request, latent):
    if request.param == "ties":
        return latent  # includes replicate 3, whose times tie within strata
    s = reference_settings()
    batch = simulate_trials(s, 6, seed=11, first=SEED_BLOCK - 3)  # spans two seed blocks
    return batch, analyse_trials(batch)


@pytest.mark.parametrize("look", [1, 2])
def test_batch_equals_one_trial_logrank_and_km(fresh, look):
    stats = _stats()
    batch, an = fresh
    for i in range(batch.first, batch.first + batch.n_replicates):
        df = batch.replicate(i, look)
        j = i - batch.first
        lr = stats.logrank(df["AVAL"], df["EVENT"], df["TRT01PN"], strata=df["STRATUM"])
        oe = lr.observed[1] - lr.expected[1]
        assert an.observed_minus_expected[j, look - 1] == pytest.approx(oe, abs=1e-9)
        assert an.variance[j, look - 1] == pytest.approx(lr.var.loc[1, 1], abs=1e-9)
        for arm, name in ((1, "median_experimental"), (0, "median_control")):
            sub = df[df["TRT01PN"] == arm]
            med = stats.km(sub["AVAL"], sub["EVENT"]).median
            assert getattr(an, name)[j, look - 1] == pytest.approx(med, abs=1e-9, nan_ok=True)


@pytest.mark.parametrize("look", [1, 2])
def test_batch_equals_one_trial_cox(fresh, look):
    stats = _stats()
    batch, an = fresh
    for i in range(batch.first, batch.first + batch.n_replicates):
        df = batch.replicate(i, look)
        j = i - batch.first
        fit = stats.cox(df, time="AVAL", event="EVENT", covariates=["TRT01PN"], strata="STRATUM", ties="efron")
        assert fit.converged
        assert an.log_hr[j, look - 1] == pytest.approx(float(fit.coef.iloc[0]), abs=1e-9)
        assert an.se_log_hr[j, look - 1] == pytest.approx(float(fit.se.iloc[0]), abs=1e-9)


def test_chunking_and_ranges_do_not_change_replicates():
    s = reference_settings()
    whole = simulate_trials(s, 400, seed=5)
    part = simulate_trials(s, 10, seed=5, first=245)
    np.testing.assert_array_equal(part.pfs, whole.pfs[245:255])
    np.testing.assert_array_equal(part.arm, whole.arm[245:255])
    a = simulate_design(s, 600, seed=5, chunk_size=250)
    b = simulate_design(s, 600, seed=5, chunk_size=5000)
    np.testing.assert_array_equal(a.analysis.log_hr, b.analysis.log_hr)
    assert a.to_dict() == b.to_dict()


def test_replicate_frame_is_the_analysed_replicate():
    from oncotrial.design.simulate import replicate_frame

    s = reference_settings()
    res = simulate_design(s, 300, seed=8)
    df = replicate_frame(s, 8, 271, look=2)
    assert df["EVENT"].sum() == res.analysis.n_events[271, 1]
    assert df["ENTRY"].max() <= res.analysis.cut_time[271, 1]
    assert len(df) == res.analysis.n_enrolled[271, 1]
    assert set(df.columns) >= {"USUBJID", "ARM", "TRT01PN", "STRATUM", "STRAT1", "AVAL", "CNSR"}


def test_stratified_blocks_keep_every_stratum_balanced():
    s = reference_settings()
    b = simulate_trials(s, 200, seed=3)
    for i in range(b.n_replicates):
        for st in np.unique(b.stratum[i]):
            arms = b.arm[i][b.stratum[i] == st].astype(int)
            running = np.cumsum(2 * arms - 1)
            # blocks of 2 and 4: the running imbalance never exceeds half the largest block
            assert np.abs(running).max() <= 2
    assert abs(b.arm.mean() - 0.5) < 0.01


def test_simulated_power_and_type_one_error_match_analytic():
    gs = group_sequential_design((0.5, 1.0), alpha=0.025, beta=0.1, futility_bounds=(0.0,))
    sd = sample_size_survival(0.667, median_control=24, design=gs, accrual_time=(0, 50),
                              max_subjects=518, dropout_rate=(0.05, 0.05))
    s = settings_from_design(sd, strata=PATINA_STRATA)
    n = 4000
    alt = simulate_design(s, n, seed=20260101)
    want = analytic_power(s, 0.667)
    assert want == pytest.approx(0.9, abs=0.005)
    assert abs(alt.power - want) < 4 * np.sqrt(want * (1 - want) / n)
    null = simulate_design(s.with_hazard_ratio(1.0), n, seed=20260102)
    a0 = analytic_power(s, 1.0)
    assert a0 == pytest.approx(0.025, abs=1e-3)  # non-binding futility: slightly below alpha
    assert abs(null.power - a0) < 4 * np.sqrt(a0 * (1 - a0) / n)
    # stopping probabilities at the interim against the recursive integration
    from oncotrial.design import characteristics

    ch = characteristics((0.5, 1.0), gs.critical_values, (0.0,), sd.design.drift * np.sqrt(
        s.events_per_look[-1] / sd.max_events))
    assert abs(alt.reject_by_look[0] - ch.rejection_probabilities[0]) < 4 * np.sqrt(0.25 / n)
    assert abs(alt.futility_by_look[0] - ch.futility_probabilities[0]) < 4 * np.sqrt(0.05 / n)
    assert np.exp(alt.hr_mean_log) == pytest.approx(0.667, rel=0.05)
    # the Lachin-Foulkes expected timeline against the simulated calendar times of the looks
    np.testing.assert_allclose(alt.analysis.cut_time.mean(axis=0), sd.analysis_times, rtol=0.015)


def test_power_curve_is_monotone_and_near_analytic():
    s = reference_settings()
    pc = power_curve(s, [0.6, 0.75, 1.0], n_replicates=500, seed=9)
    assert pc.simulated[0] > pc.simulated[1] > pc.simulated[2]
    for sim, ana in zip(pc.simulated, pc.analytic):
        assert abs(sim - ana) < 4 * np.sqrt(max(ana * (1 - ana), 0.01) / 500)
    assert list(pc.to_frame().columns)[:3] == ["hazard_ratios", "simulated", "simulated_se"]


def test_results_are_frozen_with_frames():
    s = reference_settings()
    res = simulate_design(s, 250, seed=1)
    with pytest.raises(Exception):
        res.power = 0.5  # type: ignore[misc]
    assert set(res.to_frame().columns) >= {"look", "reject", "futility", "stop"}
    assert res.to_dict()["n_replicates"] == 250
    assert len(res.analysis.to_frame()) == 250 * s.n_looks
    batch = simulate_trials(s, 3, seed=1)
    assert len(batch.to_frame()) == 3 * s.n_subjects
    assert len(batch.to_dict()["pfs"]) == 3


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n_replicates=0), "n_replicates"),
        (dict(seed=-1), "seed"),
        (dict(chunk_size=0), "chunk_size"),
    ],
)
def test_simulate_design_argument_errors(kwargs, field):
    s = reference_settings()
    args = dict(n_replicates=10, seed=1) | kwargs
    with pytest.raises(ValueError, match=field):
        simulate_design(s, **args)


def test_settings_argument_errors():
    s = reference_settings()
    base = s.to_dict()
    del base  # settings are validated on construction
    control = PiecewiseExponential.exponential(0.03)
    from oncotrial.design import Accrual

    acc = Accrual.for_subjects(100, (0, 12))
    good = dict(n_subjects=100, control=control, experimental=control, accrual=acc, events_per_look=(50,),
                critical_values=(1.96,), futility_bounds=())
    SimulationSettings(**good)
    for change, field in [
        (dict(events_per_look=(50, 40)), "events_per_look"),
        (dict(events_per_look=(150,)), "events_per_look"),
        (dict(block_sizes=(3,)), "block_sizes"),
        (dict(strata=((0.5, 0.6),)), "strata"),
        (dict(critical_values=(1.96, 2.0)), "critical_values"),
        (dict(n_subjects=1), "n_subjects"),
        (dict(experimental=PiecewiseExponential((0.0, 12.0), (0.05, 0.0))), "experimental.hazards"),
    ]:
        with pytest.raises(ValueError, match=field):
            SimulationSettings(**(good | change))
    with pytest.raises(ValueError, match="look"):
        simulate_trials(s, 2, seed=1).replicate(0, look=5)
    with pytest.raises(ValueError, match="i:"):
        simulate_trials(s, 2, seed=1).replicate(7)


def _one_trial(stats, df, timefix=True):
    lr = stats.logrank(df["AVAL"], df["EVENT"], df["TRT01PN"], strata=df["STRATUM"], timefix=timefix)
    fit = stats.cox(df, time="AVAL", event="EVENT", covariates=["TRT01PN"], strata="STRATUM", timefix=timefix)
    meds = [stats.km(df["AVAL"][df["TRT01PN"] == a], df["EVENT"][df["TRT01PN"] == a], timefix=timefix).median
            for a in (1, 0)]
    return lr.observed[1] - lr.expected[1], lr.var.loc[1, 1], float(fit.coef.iloc[0]), float(fit.se.iloc[0]), meds


def _assert_batch_is_one_trial(an, j, k, one):
    oe, v, b, se, (m1, m0) = one
    assert an.observed_minus_expected[j, k] == pytest.approx(oe, abs=1e-9)
    assert an.variance[j, k] == pytest.approx(v, abs=1e-9)
    assert an.log_hr[j, k] == pytest.approx(b, abs=1e-9)
    assert an.se_log_hr[j, k] == pytest.approx(se, abs=1e-9)
    np.testing.assert_array_equal([an.median_experimental[j, k], an.median_control[j, k]], [m1, m0])


def test_batch_merges_near_equal_times_like_one_trial():
    # Replicate 3854 (seed 11), look 2: two distinct times lie within R's timefix tolerance
    # (a few trials in 10,000 have such a pair); the batch merges them as oncotrial.stats
    # and R survival do by default, which moves the log-rank statistic.
    stats = _stats()
    from oncotrial.stats._timefix import timefix

    i, look = 3854, 2
    batch = simulate_trials(reference_settings(), 1, seed=11, first=i)
    an = analyse_trials(batch)
    df = batch.replicate(i, look)
    t = df["AVAL"].to_numpy()
    assert np.unique(timefix(t)).size < np.unique(t).size
    one = _one_trial(stats, df)
    _assert_batch_is_one_trial(an, 0, look - 1, one)
    assert abs(_one_trial(stats, df, timefix=False)[0] - one[0]) > 1e-3


def test_batch_timefix_per_arm_and_pooled_on_month_conversions():
    # hand-made trial whose times are day counts turned into months along two arithmetic
    # paths (equal up to rounding only), near-ties within and across arms and strata
    stats = _stats()
    rng = np.random.default_rng(4)
    n = 80
    days = rng.integers(30, 60, n)
    months = np.where(rng.random(n) < 0.5, days / 30.4375, (days / 365.25) * 12)
    censored = rng.random(n) < 0.3
    batch = TrialBatch(reference_settings(), 0, np.zeros((1, n)), np.where(censored, 1e3, months)[None],
                       np.where(censored, months, np.inf)[None], (rng.random(n) < 0.5).astype(np.int8)[None],
                       rng.integers(0, 2, n).astype(np.int16)[None])
    an = analyse_trials(batch)
    df = batch.replicate(0, 1)
    one = _one_trial(stats, df)
    _assert_batch_is_one_trial(an, 0, 0, one)
    assert abs(_one_trial(stats, df, timefix=False)[0] - one[0]) > 1e-3
