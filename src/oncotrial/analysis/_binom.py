"""The binomial statistics the response analyses use, behind one narrow interface.

Kept apart so the response code reads as the analysis plan and the calls into
``oncotrial.stats`` live in one place.
"""

from __future__ import annotations

import math

from scipy import stats as sps

from oncotrial.stats.binomial import clopper_pearson, prop_diff, wilson

NAN = float("nan")


def rate_ci(x: int, n: int, *, method: str, conf_level: float) -> tuple[float, float]:
    """Confidence interval for one proportion: ``clopper-pearson`` (exact) or ``wilson``."""
    if n == 0:
        return NAN, NAN
    res = (clopper_pearson if method == "clopper-pearson" else wilson)(x, n, conf_level=conf_level)
    return float(res.lower), float(res.upper)


def difference_ci(x1: int, n1: int, x0: int, n0: int, *, method: str,
                  conf_level: float) -> tuple[float, float, float]:
    """Difference of proportions (1 - 0) with its CI: Miettinen-Nurminen, or Wald when the plan says so."""
    if n1 == 0 or n0 == 0:
        return NAN, NAN, NAN
    if method == "wald":
        p1, p0 = x1 / n1, x0 / n0
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        z = float(sps.norm.ppf(0.5 + conf_level / 2))
        return p1 - p0, p1 - p0 - z * se, p1 - p0 + z * se
    res = prop_diff(x1, n1, x0, n0, conf_level=conf_level)
    return float(res.estimate), float(res.lower), float(res.upper)
