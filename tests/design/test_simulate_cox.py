"""Batched Cox fits: information at the accepted beta, NaN for fits that do not converge."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from oncotrial.design import _kernels
from oncotrial.design.simulate import TrialBatch, _summarise, analyse_trials, simulate_trials

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "validation"))
from design_sim_reference import reference_settings  # noqa: E402


def _efron_loglik(beta: float, n0, n1, d0, d1) -> float:
    """Efron partial log-likelihood of one binary covariate from per-group counts (written out directly)."""
    e = np.exp(beta)
    ll = 0.0
    for a0, a1, c0, c1 in zip(n0, n1, d0, d1):
        d = c0 + c1
        ll += beta * c1
        for k in range(d):
            f = k / d
            ll -= np.log(a0 + a1 * e - f * (c0 + c1 * e))
    return ll


def test_information_is_at_the_accepted_beta_after_step_halving():
    # With this loose tolerance the second Newton step overshoots, is halved once and then
    # accepted: the information must be that of the halved beta, not of the rejected one.
    n0, n1 = np.array([5, 5]), np.array([1, 1])
    d0, d1 = np.array([0, 1]), np.array([1, 1])
    beta, info, ok = _kernels._cox_efron(n0, n1, d0, d1, 2, 2.0, 50)
    assert ok and np.isfinite(beta)
    h = 1e-4
    want = -(_efron_loglik(beta + h, n0, n1, d0, d1) - 2 * _efron_loglik(beta, n0, n1, d0, d1)
             + _efron_loglik(beta - h, n0, n1, d0, d1)) / h**2
    assert info == pytest.approx(want, rel=1e-5)
    assert info == pytest.approx(_kernels._efron_info(beta, n0, n1, d0, d1, 2), rel=1e-12)


def test_monotone_likelihood_gives_nan_not_a_huge_beta():
    # every event in the control arm: the partial likelihood rises forever as beta -> -inf
    n0, n1 = np.array([6, 4, 2]), np.array([6, 5, 4])
    d0, d1 = np.array([2, 1, 1]), np.array([0, 0, 0])
    beta, info, ok = _kernels._cox_efron(n0, n1, d0, d1, 3, 1e-10, 50)
    assert not ok and np.isnan(beta) and np.isnan(info)


@pytest.fixture(scope="module")
def one_arm_events():
    """Four replicates; in replicate 1 every experimental patient drops out before progressing."""
    s = reference_settings()
    b = simulate_trials(s, 4, seed=5)
    drop = b.dropout.copy()
    exp = b.arm[1] == 1
    drop[1, exp] = 0.5 * b.pfs[1, exp]
    mod = TrialBatch(s, b.first, b.entry, b.pfs, drop, b.arm, b.stratum)
    return b, analyse_trials(b), mod, analyse_trials(mod)


def test_non_converged_replicate_is_nan_like_one_trial_cox(one_arm_events):
    import oncotrial.stats as stats  # a broken import must fail, not skip

    _, base, mod, an = one_arm_events
    assert not an.converged[1].any()
    assert np.isnan(an.log_hr[1]).all() and np.isnan(an.se_log_hr[1]).all()
    # the log-rank statistic is still defined: only the HR is not
    assert np.isfinite(an.logrank_z[1]).all()
    for look in (1, 2):
        df = mod.replicate(1, look)
        assert df.loc[df["TRT01PN"] == 1, "EVENT"].sum() == 0
        fit = stats.cox(df, time="AVAL", event="EVENT", covariates=["TRT01PN"], strata="STRATUM", ties="efron")
        assert np.isnan(float(fit.coef.iloc[0]))
    # the other replicates are untouched
    for j in (0, 2, 3):
        np.testing.assert_array_equal(an.log_hr[j], base.log_hr[j])
        assert an.converged[j].all()


def test_summaries_leave_out_and_count_non_converged_fits(one_arm_events):
    _, _, _, an = one_arm_events
    res = _summarise(an, 0.667, seed=5)
    assert res.n_not_converged == 1
    at_stop = an.at_stop("log_hr")
    ok = np.delete(at_stop, 1)
    assert np.isfinite(ok).all()
    assert res.hr_mean_log == pytest.approx(ok.mean(), rel=1e-12)
    assert res.hr_quantiles["q50"] == pytest.approx(float(np.median(np.exp(ok))), rel=1e-12)
    assert res.to_dict()["n_not_converged"] == 1


def test_replicate_cut_is_its_row_of_the_batch_cut_times():
    b = simulate_trials(reference_settings(), 30, seed=4, first=240)
    cuts = b.cut_times()
    an = analyse_trials(b)
    for j in range(b.n_replicates):
        for look in (1, 2):
            df = b.replicate(b.first + j, look)
            assert df["ENTRY"].max() <= cuts[j, look - 1]
            assert len(df) == an.n_enrolled[j, look - 1]
            assert df["EVENT"].sum() == an.n_events[j, look - 1]
