"""Exact counts behind published percentages: denominators, numerators, binomial CIs."""

from __future__ import annotations

import numpy as np
from oncotrial.sim.rounding import decimals_of, within_rounding


def clopper_pearson(k: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    from oncotrial.stats import clopper_pearson as cp

    r = cp(int(k), int(n), conf_level=conf_level)
    return r.lower, r.upper


def count_for(pct: float, n: int) -> int:
    """The number of patients out of ``n`` whose percentage is nearest ``pct``."""
    return int(np.clip(round(pct / 100.0 * n), 0, n))


def consistent(pct: float, n: int) -> bool:
    return n > 0 and within_rounding(pct, 100.0 * count_for(pct, n) / n, decimals_of(pct))


def best_denominator(pcts: list[float], n_max: int, n_min: int | None = None) -> int:
    """The largest n <= n_max for which the most published percentages are attainable."""
    n_min = n_min if n_min is not None else max(1, int(0.8 * n_max))
    best, best_score = n_max, -1
    for n in range(n_max, n_min - 1, -1):
        score = sum(consistent(p, n) for p in pcts)
        if score > best_score:
            best, best_score = n, score
    return best


def binomial_design(rate: float, ci: tuple[float, float] | None, n_max: int, n_min: int,
                    conf_level: float = 0.95, prefer: int | None = None) -> tuple[int, int]:
    """(k, n) with n in [n_min, n_max] matching a published rate and its exact CI as well as possible."""
    best, best_score = (count_for(rate, n_max), n_max), (-1, 0)
    for n in range(n_min, n_max + 1):
        k = count_for(rate, n)
        score = int(within_rounding(rate, 100 * k / n, decimals_of(rate))) * 3
        if ci is not None:
            lo, hi = clopper_pearson(k, n, conf_level)
            score += int(within_rounding(ci[0], 100 * lo, decimals_of(ci[0])))
            score += int(within_rounding(ci[1], 100 * hi, decimals_of(ci[1])))
        tie = -abs(n - (prefer if prefer is not None else n_max))
        if (score, tie) > best_score:
            best, best_score = (k, n), (score, tie)
    return best
