"""Balance simulation: exact distributions, marginals, and the shared minimization core."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from oncotrial.randomization import Minimization
from oncotrial.randomization._rng import stream
from oncotrial.randomization.simulation import minimization_arms, simulate_balance
from tests.conftest import REFERENCE

PATINA = {
    "induction_response": ["CR_PR", "SD"],
    "prior_antiher2": ["YES", "NO"],
    "endocrine_therapy": ["AI", "FULV"],
    "her2_blockade": ["DUAL", "SINGLE"],
}
PREVALENCE = {
    "induction_response": [0.685, 0.315],
    "prior_antiher2": [0.30, 0.70],
    "endocrine_therapy": [0.907, 0.093],
    "her2_blockade": [0.94, 0.06],
}


BLOCK_REFERENCE = json.loads((REFERENCE / "randomization" / "block_imbalance.json").read_text())["cases"]


@pytest.mark.parametrize("case", BLOCK_REFERENCE, ids=lambda c: f"n{c['n']}-sizes{'_'.join(map(str, c['sizes']))}")
def test_blocks_match_the_exact_imbalance_distribution_from_r(case):
    # exact distribution of the stratum's imbalance, computed in base R by
    # validation/randomization_reference.R (renewal over block starts + hypergeometric)
    ratio = tuple(case["ratio"])
    sim = simulate_balance("blocks", n=case["n"], trials=20000, strata_levels={"all": ["x"]}, ratio=ratio,
                           block_sizes=tuple(case["sizes"]), block_size_weights=case["probs"], seed=5)
    exact = {round(v, 6): p for v, p in zip(case["imbalance"], case["probability"]) if p > 0}
    observed = sim.distribution("max_stratum_imbalance")
    counts = {round(v, 6): c for v, c in zip(observed["value"], observed["count"])}
    assert set(counts) <= set(exact)
    values = sorted(exact)
    obs = [counts.get(v, 0) for v in values]
    expected = [exact[v] * sim.trials for v in values]
    assert stats.chisquare(obs, expected).pvalue > 0.001


def test_simple_matches_the_binomial():
    sim = simulate_balance("simple", n=518, trials=20000, strata_levels={"all": ["x"]}, seed=6)
    n_a = sim.counts[:, 0, 0]
    # |2X - n| with X ~ Binomial(518, 1/2): mean and the whole distribution of X
    x = np.arange(519)
    exact_mean = float(np.sum(np.abs(2 * x - 518) * stats.binom(518, 0.5).pmf(x)))
    se = sim.overall_imbalance.std() / np.sqrt(sim.trials)
    assert abs(sim.overall_imbalance.mean() - exact_mean) < 4 * se
    # arm A's count, binned (tails pooled), against Binomial(518, 1/2)
    edges = np.r_[-1, np.arange(240, 279, 3), 518]
    obs = np.histogram(n_a, bins=edges + 0.5)[0]
    cdf = stats.binom(518, 0.5).cdf(edges)
    assert stats.chisquare(obs, np.diff(cdf) * sim.trials).pvalue > 0.001


@pytest.mark.parametrize("method", ["blocks", "simple", "minimization"])
def test_stratum_counts_follow_the_prevalences(method):
    sim = simulate_balance(method, n=518, trials=2000, strata_levels=PATINA, prevalence=PREVALENCE, seed=2)
    per_stratum = sim.counts.sum(axis=2)
    assert (per_stratum.sum(axis=1) == 518).all()
    p = np.ones(1)
    for f in PATINA:
        p = np.outer(p, PREVALENCE[f]).ravel()
    se = np.sqrt(518 * p * (1 - p) / sim.trials)
    assert np.all(np.abs(per_stratum.mean(axis=0) - 518 * p) < 4.5 * se)
    # the first factor's first level is 68.5% of patients
    cr_pr = [i for i, s in enumerate(sim.strata) if s.startswith("induction_response=CR_PR|")]
    share = per_stratum[:, cr_pr].sum() / (518 * sim.trials)
    assert share == pytest.approx(0.685, abs=0.005)


def test_methods_rank_as_expected_for_patina():
    common = dict(n=518, trials=2000, strata_levels=PATINA, prevalence=PREVALENCE, seed=3)
    blocks = simulate_balance("blocks", **common)
    simple = simulate_balance("simple", **common)
    mini = simulate_balance("minimization", **common)
    assert blocks.max_stratum_imbalance.max() <= 2
    assert mini.max_marginal_imbalance.mean() < blocks.max_marginal_imbalance.mean() < simple.max_marginal_imbalance.mean()
    assert mini.overall_imbalance.mean() < simple.overall_imbalance.mean()
    # a 2:1 list keeps whole blocks at the ratio: the imbalance (n_A/2 - n_B) stays within one block
    two_one = simulate_balance("blocks", **{**common, "trials": 500}, arms=("A", "B"), ratio=(2, 1), block_sizes=(3, 6))
    assert two_one.max_stratum_imbalance.max() <= 2


def test_vectorized_minimization_is_the_same_rule_as_assign():
    factors = {"sex": ["F", "M"], "age": ["young", "mid", "old"], "site": ["S1", "S2", "S3", "S4"]}
    m = Minimization(factors, ["A", "B", "C"], ratio=(2, 1, 1), weights={"site": 0.5}, imbalance="variance", p_best=0.75, seed=17)
    rng = np.random.default_rng(0)
    names = list(factors)
    n_levels = [len(v) for v in factors.values()]
    for _ in range(3):
        idx = np.stack([rng.integers(0, L, size=40) for L in n_levels], axis=-1)
        profiles = [{f: factors[f][int(row[j])] for j, f in enumerate(names)} for row in idx]

        def draws(i: int):
            u = stream(17, "minimization", str(i)).random(5)
            return u[None, :3], u[3:4], u[4:5]

        vec = minimization_arms(idx[None, :, :], n_levels, (2, 1, 1), [1.0, 1.0, 0.5], "variance", 0.75, draws)
        assert tuple(m.arms[a] for a in vec[0]) == m.assign_sequence(profiles)


def test_sites_and_results_interface():
    sim = simulate_balance("minimization", n=120, trials=200, strata_levels=PATINA, prevalence=PREVALENCE,
                           n_sites=10, site_weight=0.5, seed=4)
    assert sim.site_counts.shape == (200, 10, 2) and int(sim.site_counts.sum()) == 200 * 120
    frame = sim.to_frame()
    assert list(frame.columns) == ["trial", "max_stratum_imbalance", "max_marginal_imbalance", "overall_imbalance",
                                   "max_site_imbalance"]
    dist = sim.distribution("overall_imbalance")
    assert dist["count"].sum() == 200 and dist["cumulative"].iloc[-1] == pytest.approx(1.0)
    assert set(sim.summary()["metric"]) == set(frame.columns) - {"trial"}
    again = simulate_balance("minimization", n=120, trials=200, strata_levels=PATINA, prevalence=PREVALENCE,
                             n_sites=10, site_weight=0.5, seed=4)
    assert np.array_equal(again.counts, sim.counts) and np.array_equal(again.site_counts, sim.site_counts)
    with pytest.raises(ValueError):
        sim.counts[0, 0, 0] = 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "urn"}, "method: 'urn' is not one of 'blocks', 'simple', 'minimization'"),
        ({"n_sites": 5}, "n_sites: only minimization uses sites"),
        ({"prevalence": {"induction_response": [1.0]}}, r"prevalence\['induction_response'\]: has 1 entries; expected 2"),
        ({"prevalence": {"stage": [1.0]}}, "prevalence: 'stage' is not a factor"),
        ({"trials": 0}, "trials: expected an integer >= 1"),
        ({"block_sizes": (3,)}, r"block_sizes\[0\]: block size 3 is not a multiple of the ratio sum 2"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"method": "blocks", "n": 20, "trials": 10, "strata_levels": PATINA}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        simulate_balance(**args)
