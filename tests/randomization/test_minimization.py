"""Pocock-Simon minimization: hand-worked scores, the biased coin, purity, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from oncotrial.randomization import Minimization
from tests.conftest import REFERENCE

SEX_AGE = {"sex": ["F", "M"], "age": ["young", "old"]}
# Five patients already assigned to three arms; the sixth is (F, young).
#   among sex=F:       A 2 (patients 1, 4), B 0, C 1 (patient 3)
#   among age=young:   A 2 (patients 1, 4), B 1 (patient 2), C 0
HISTORY = [
    ({"sex": "F", "age": "young"}, "A"),
    ({"sex": "M", "age": "young"}, "B"),
    ({"sex": "F", "age": "old"}, "C"),
    ({"sex": "F", "age": "young"}, "A"),
    ({"sex": "M", "age": "old"}, "B"),
]
NEW = {"sex": "F", "age": "young"}


def test_range_scores_by_hand():
    # to A: F [3,0,1] range 3 + young [3,1,0] range 3 = 6
    # to B: F [2,1,1] range 1 + young [2,2,0] range 2 = 3
    # to C: F [2,0,2] range 2 + young [2,1,1] range 1 = 3
    m = Minimization(SEX_AGE, ["A", "B", "C"], ratio=(1, 1, 1))
    assert m.scores(NEW, HISTORY) == {"A": 6.0, "B": 3.0, "C": 3.0}
    # B and C tie for best: each is first half the time, p = 0.5*0.8 + 0.5*0.1
    assert m.probabilities(NEW, HISTORY) == pytest.approx({"A": 0.1, "B": 0.45, "C": 0.45})
    # and assign draws at those probabilities (ties broken at random, then the biased coin)
    picks = [Minimization(SEX_AGE, ["A", "B", "C"], ratio=(1, 1, 1), seed=s).assign(NEW, HISTORY) for s in range(1500)]
    observed = [picks.count(a) for a in "ABC"]
    assert stats.chisquare(observed, [150, 675, 675]).pvalue > 0.001
    # weight sex twice: A 2*3+3 = 9, B 2*1+2 = 4, C 2*2+1 = 5 -> B
    w = Minimization(SEX_AGE, ["A", "B", "C"], ratio=(1, 1, 1), weights={"sex": 2}, p_best=1.0)
    assert w.scores(NEW, HISTORY) == {"A": 9.0, "B": 4.0, "C": 5.0}
    assert all(Minimization(SEX_AGE, ["A", "B", "C"], (1, 1, 1), {"sex": 2}, p_best=1.0, seed=s).assign(NEW, HISTORY) == "B"
               for s in range(20))


def test_variance_scores_by_hand():
    # population variance of the hypothetical counts, e.g. {3,1,0}: mean 4/3,
    # ((5/3)^2 + (1/3)^2 + (4/3)^2) / 3 = 42/27 = 14/9
    # to A: 14/9 + 14/9 = 28/9;  to B: {2,1,1} 2/9 + {2,2,0} 8/9 = 10/9;  to C: {2,0,2} 8/9 + {2,1,1} 2/9 = 10/9
    m = Minimization(SEX_AGE, ["A", "B", "C"], ratio=(1, 1, 1), imbalance="variance")
    assert m.scores(NEW, HISTORY) == pytest.approx({"A": 28 / 9, "B": 10 / 9, "C": 10 / 9})
    w = Minimization(SEX_AGE, ["A", "B", "C"], ratio=(1, 1, 1), imbalance="variance", weights=[2, 1])
    assert w.scores(NEW, HISTORY) == pytest.approx({"A": 42 / 9, "B": 12 / 9, "C": 18 / 9})


def test_unequal_ratio_scales_counts_by_the_ratio():
    # among sex=F: A 2, B 1 is balanced at 2:1; next F: to A [3/2, 1] range 0.5, to B [1, 2] range 1
    m = Minimization({"sex": ["F", "M"]}, ["A", "B"], ratio=(2, 1), p_best=1.0)
    hist = [({"sex": "F"}, "A"), ({"sex": "F"}, "B"), ({"sex": "F"}, "A")]
    assert m.scores({"sex": "F"}, hist) == {"A": 0.5, "B": 1.0}
    # nobody yet: to A [1/2, 0] range 0.5 beats to B [0, 1] range 1, so the coin favours A
    # (0.8, not 2/3: scaled-count minimization does not keep the unequal ratio exactly)
    assert Minimization({"sex": ["F", "M"]}, ["A", "B"], ratio=(2, 1)).probabilities({"sex": "M"}, []) == pytest.approx(
        {"A": 0.8, "B": 0.2})


def test_all_arms_tied_are_drawn_at_the_ratio():
    m = Minimization({"sex": ["F", "M"]}, ["A", "B"])
    assert m.probabilities({"sex": "M"}, []) == {"A": 0.5, "B": 0.5}
    draws = [Minimization({"sex": ["F", "M"]}, ["A", "B"], seed=s).assign({"sex": "M"}, []) for s in range(600)]
    assert stats.binomtest(draws.count("A"), 600, 0.5).pvalue > 0.001


def test_biased_coin_picks_the_best_arm_with_p_best():
    # after A for an F patient, another F patient: B is best (G_A 2, G_B 0)
    hist = [({"sex": "F", "age": "young"}, "A")]
    m = Minimization(SEX_AGE, ["A", "B"], p_best=0.7)
    assert m.probabilities(NEW, hist) == pytest.approx({"A": 0.3, "B": 0.7})
    picks = [Minimization(SEX_AGE, ["A", "B"], p_best=0.7, seed=s).assign(NEW, hist) for s in range(1000)]
    assert stats.binomtest(picks.count("B"), 1000, 0.7).pvalue > 0.001


def test_assign_is_pure_and_depends_on_seed_and_history_length():
    m = Minimization(SEX_AGE, ["A", "B", "C"], ratio=(1, 1, 1), seed=123)
    hist = list(HISTORY)
    first = m.assign(NEW, hist)
    assert hist == HISTORY
    assert all(m.assign(NEW, tuple(HISTORY)) == first for _ in range(5))
    # a long sequence is reproducible
    rng = np.random.default_rng(0)
    profiles = [{"sex": ("F", "M")[rng.integers(2)], "age": ("young", "old")[rng.integers(2)]} for _ in range(60)]
    assert m.assign_sequence(profiles) == m.assign_sequence(profiles)


def test_minimization_balances_margins_better_than_simple_randomization():
    factors = {"resp": ["CR_PR", "SD"], "prior": ["YES", "NO"], "endo": ["AI", "FULV"], "her2": ["DUAL", "SINGLE"]}
    prevalence = {"resp": 0.685, "prior": 0.30, "endo": 0.907, "her2": 0.94}
    rng = np.random.default_rng(2024)
    profiles = [{f: lv[0] if rng.random() < prevalence[f] else lv[1] for f, lv in factors.items()} for _ in range(150)]
    minimized = Minimization(factors, ["A", "B"], p_best=0.8, seed=7).assign_sequence(profiles)
    simple = tuple(rng.choice(["A", "B"], size=150))

    def worst_margin(arms):
        worst = 0
        for f, levels in factors.items():
            for level in levels:
                a = sum(1 for p, x in zip(profiles, arms) if p[f] == level and x == "A")
                b = sum(1 for p, x in zip(profiles, arms) if p[f] == level and x == "B")
                worst = max(worst, abs(a - b))
        return worst

    assert worst_margin(minimized) <= 3
    assert worst_margin(minimized) < worst_margin(simple)


def test_site_is_just_another_factor():
    sites = [f"S{i:03d}" for i in range(1, 124)]
    m = Minimization({"resp": ["CR_PR", "SD"], "site": sites}, ["A", "B"], weights={"site": 0.5}, p_best=1.0)
    hist = [({"resp": "SD", "site": "S007"}, "A")]
    # resp=CR_PR: nobody yet, either arm gives range 1; site S007: A 1 -> to A 2, to B 0 (weight 0.5)
    assert m.scores({"resp": "CR_PR", "site": "S007"}, hist) == {"A": 2.0, "B": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"imbalance": "max"}, "imbalance: 'max' is not one of 'range', 'variance'"),
        ({"p_best": 0.3}, r"p_best: 0.3 must lie in \[1/2, 1\]"),
        ({"weights": {"stage": 1}}, "weights: 'stage' is not a factor"),
        ({"weights": [1]}, "weights: has 1 entries but there are 2 factors"),
        ({"ratio": (1, 1, 1)}, "ratio: has 3 entries but there are 2 arms"),
        ({"factors": {}}, "factors: expected at least one factor"),
    ],
)
def test_bad_construction_is_named(kwargs, message):
    args = {"factors": SEX_AGE, "arms": ["A", "B"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Minimization(**args)


def test_bad_profile_and_history_are_named():
    m = Minimization(SEX_AGE, ["A", "B"])
    with pytest.raises(ValueError, match=r"profile\['sex'\]: unknown level 'X'; expected one of 'F', 'M'"):
        m.assign({"sex": "X", "age": "old"}, [])
    with pytest.raises(ValueError, match="profile: factor 'age' is missing"):
        m.assign({"sex": "F"}, [])
    with pytest.raises(ValueError, match="history\\[1\\]: arm 'Z' is not one of 'A', 'B'"):
        m.assign(NEW, [(NEW, "A"), (NEW, "Z")])
    with pytest.raises(ValueError, match=r"history\[0\]\['age'\]: unknown level 'mid'"):
        m.assign(NEW, [({"sex": "F", "age": "mid"}, "A")])


R_REFERENCE = json.loads((REFERENCE / "randomization" / "minimization_scores.json").read_text())


@pytest.mark.parametrize("design", [1, 2])
def test_scores_and_probabilities_match_an_independent_r_implementation(design):
    # 120 random histories per design, scored in base R by validation/randomization_reference.R
    d = R_REFERENCE["designs"][design - 1]
    cases = [c for c in R_REFERENCE["cases"] if c["design"] == design]
    assert len(cases) == 120
    for kind in ("range", "variance"):
        m = Minimization(d["factors"], d["arms"], ratio=d["ratio"], weights=d["weights"], imbalance=kind, p_best=d["p_best"])
        for c in (c for c in cases if c["imbalance"] == kind):
            history = [(h["profile"], h["arm"]) for h in c["history"]]
            assert m.scores(c["profile"], history) == pytest.approx(c["scores"], abs=1e-12)
            assert m.probabilities(c["profile"], history) == pytest.approx(c["probabilities"], abs=1e-12)
