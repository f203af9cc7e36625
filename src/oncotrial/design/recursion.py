"""Boundary-crossing probabilities of a group-sequential Z-statistic.

The numerical core of every group-sequential computation here: the recursive numerical
integration of Armitage, McPherson & Rowe (1969) in the form of Jennison & Turnbull
(2000, ch. 19): the sub-density of Z_k on the continuation region is carried forward on a
grid with Simpson weights, one matrix-vector product per stage.

Z_k = S_k / sqrt(I_k) with S_k a Brownian motion with drift; ``t`` are information
fractions I_k / I_K and ``drift`` is E[Z_K] (so E[Z_k] = drift * sqrt(t_k)).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

DEFAULT_R = 32


def grid(mean: float, lower: float, upper: float, r: int = DEFAULT_R) -> tuple[np.ndarray, np.ndarray]:
    """Jennison-Turnbull grid on (lower, upper) around ``mean`` with Simpson weights.

    Returns the points z (odd count, alternating knots and midpoints) and weights w, so
    that sum(w * f(z)) approximates the integral of f over the trimmed interval.
    """
    i = np.arange(1, 6 * r)
    x = np.empty(i.size)
    lo = i < r
    mid = (i >= r) & (i <= 5 * r)
    hi = i > 5 * r
    x[lo] = mean - 3.0 - 4.0 * np.log(r / i[lo])
    x[mid] = mean - 3.0 + 3.0 * (i[mid] - r) / (2.0 * r)
    x[hi] = mean + 3.0 + 4.0 * np.log(r / (6.0 * r - i[hi]))
    # Trim to the continuation region: points outside collapse onto the bound.
    x = np.unique(np.clip(x, lower, upper))
    if x.size < 2:
        return np.array([lower]), np.array([0.0])
    z = np.empty(2 * x.size - 1)
    z[0::2] = x
    z[1::2] = 0.5 * (x[:-1] + x[1:])
    d = np.diff(x)
    w = np.zeros(z.size)
    w[0::2][:-1] += d / 6.0
    w[0::2][1:] += d / 6.0
    w[1::2] = 4.0 * d / 6.0
    return z, w


def crossing_probabilities(
    t: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    drift: float = 0.0,
    r: int = DEFAULT_R,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of first crossing the upper / lower bound at each stage.

    ``upper[k]`` may be +inf and ``lower[k]`` -inf (no bound). Returns (p_upper, p_lower),
    each of length K: P(Z_j in (lower_j, upper_j) for j < k, Z_k >= upper_k) and the same
    with Z_k <= lower_k.
    """
    t = np.asarray(t, float)
    upper = np.asarray(upper, float)
    lower = np.asarray(lower, float)
    k_max = t.size
    p_up = np.zeros(k_max)
    p_lo = np.zeros(k_max)
    mean1 = drift * np.sqrt(t[0])
    p_up[0] = norm.sf(upper[0] - mean1)
    p_lo[0] = norm.cdf(lower[0] - mean1)
    if k_max == 1:
        return p_up, p_lo
    z, w = _stage_grid(mean1, lower[0], upper[0], r)
    h = w * norm.pdf(z - mean1)
    for k in range(1, k_max):
        p_up[k], p_lo[k], z, h = _step(z, h, t[k - 1], t[k], upper[k], lower[k], drift, r, k < k_max - 1)
    return p_up, p_lo


def _stage_grid(mean: float, lower: float, upper: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    # The grid only needs to cover mean +- ~(3 + 4 log r); infinite bounds are harmless.
    span = 3.0 + 4.0 * np.log(r) + 1.0
    return grid(mean, max(lower, mean - span), min(upper, mean + span), r)


def _step(z, hw, t_prev, t_k, upper, lower, drift, r, need_density):
    """One stage of the recursion; ``hw`` are weight-times-density values on grid ``z``."""
    dt = t_k - t_prev
    sd = np.sqrt(dt)
    # Z_k sqrt(t_k) = Z_{k-1} sqrt(t_{k-1}) + N(drift sqrt(.)*dt / sqrt(1), dt) on the t scale.
    shift = z * np.sqrt(t_prev) + drift * dt
    a = np.sqrt(t_k)
    p_up = float(hw @ norm.sf((upper * a - shift) / sd)) if np.isfinite(upper) else 0.0
    p_lo = float(hw @ norm.cdf((lower * a - shift) / sd)) if np.isfinite(lower) else 0.0
    if not need_density:
        return p_up, p_lo, z, hw
    mean_k = drift * np.sqrt(t_k)
    z_new, w_new = _stage_grid(mean_k, lower, upper, r)
    dens = norm.pdf((z_new[:, None] * a - shift[None, :]) / sd) @ hw * (a / sd)
    return p_up, p_lo, z_new, w_new * dens


def stage_probability(z, hw, t_prev, t_k, bound, drift, side):
    """P(continue to k-1, then Z_k beyond ``bound``) from a carried density (used in root finding)."""
    sd = np.sqrt(t_k - t_prev)
    shift = z * np.sqrt(t_prev) + drift * (t_k - t_prev)
    x = (bound * np.sqrt(t_k) - shift) / sd
    return float(hw @ (norm.sf(x) if side == "upper" else norm.cdf(x)))
