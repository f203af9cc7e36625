"""The piecewise exponential against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotrial.stats.pwexp import PiecewiseExponential

# hazard 0.1 on [0, 5), 0.2 on [5, 10), 0.05 from 10: H(5) = 0.5, H(10) = 1.5
PE = PiecewiseExponential((0.0, 5.0, 10.0), (0.1, 0.2, 0.05))


def test_cumulative_hazard_and_survival_by_hand():
    t = np.array([0.0, 2.0, 5.0, 7.5, 10.0, 20.0])
    want = np.array([0.0, 0.2, 0.5, 1.0, 1.5, 2.0])
    assert np.allclose(PE.cumulative_hazard(t), want, rtol=0, atol=1e-15)
    assert np.allclose(PE.survival(t), np.exp(-want), rtol=1e-15)
    assert PE.cumulative_hazard(-1.0) == pytest.approx(-0.1)  # the first piece extends below 0


def test_inverses_and_median_by_hand():
    # S(t) = 0.5 <=> H(t) = ln 2 = 0.6931..., in the second piece: 5 + (ln 2 - 0.5) / 0.2
    assert PE.median() == pytest.approx(5 + (math.log(2) - 0.5) / 0.2, rel=1e-15)
    t = np.array([0.5, 3.0, 6.0, 9.9, 15.0])
    assert np.allclose(PE.quantile_time(PE.survival(t)), t, rtol=1e-13)
    assert np.allclose(PE.quantile_of_cumhaz(PE.cumulative_hazard(t)), t, rtol=1e-13)
    cured = PiecewiseExponential((0.0, 12.0), (0.05, 0.0))
    assert cured.quantile_time(0.1) == np.inf  # never reaches S = 0.1


def test_through_passes_through_its_points_and_scaled_is_proportional():
    pe = PiecewiseExponential.through([(24.0, 0.3), (6.0, 0.8)])
    assert np.allclose(pe.survival([6.0, 24.0]), [0.8, 0.3], rtol=1e-13)
    assert pe.starts == (0.0, 6.0, 24.0) and pe.hazards[-1] == pe.hazards[-2]
    assert np.allclose(pe.scaled(0.7).cumulative_hazard([3.0, 30.0]), 0.7 * pe.cumulative_hazard([3.0, 30.0]))


def test_samples_follow_the_distribution():
    times = PE.sample(np.random.default_rng(3), 200_000)
    # P(T <= 5) = 1 - exp(-0.5) = 0.3935; binomial s.e. about 0.0011
    assert abs(np.mean(times <= 5.0) - (1 - math.exp(-0.5))) < 0.006


@pytest.mark.parametrize("starts,hazards,words", [
    ((1.0,), (0.1,), "beginning at 0"),
    ((0.0, 5.0, 5.0), (0.1, 0.2, 0.3), "strictly increasing"),
    ((0.0, 5.0), (0.1,), "expected 2 hazards"),
    ((0.0,), (-0.1,), "hazards: expected a non-empty sequence of finite non-negative numbers"),
    ((0.0,), (float("nan"),), "finite non-negative"),
])
def test_bad_pieces_are_named(starts, hazards, words):
    with pytest.raises(ValueError, match=words):
        PiecewiseExponential(starts, hazards)
