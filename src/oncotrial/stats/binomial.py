"""Response rates: binomial intervals, difference of proportions, odds ratio.

- ``clopper_pearson``: exact interval (R ``binom.test``).
- ``wilson``: score interval without continuity correction (R ``prop.test(correct = FALSE)``).
- ``prop_diff``: p1 - p2 with the Miettinen-Nurminen score interval (Miettinen O,
  Nurminen M. Comparative analysis of two rates. Stat Med 1985;4:213-226), the
  variance including their N/(N-1) factor. Given one count per stratum it is
  the stratified version with Cochran-Mantel-Haenszel weights
  w_i = n1_i n2_i / (n1_i + n2_i): estimate sum w_i d_i / sum w_i, interval from
  the weighted score statistic sum w_i (d_i - delta) / sqrt(sum w_i^2 V_i(delta)).
- ``odds_ratio``: Woolf (logit) interval, or the conditional ("exact") MLE and
  interval of R ``fisher.test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize as _opt
from scipy import stats as _st

from . import _checks
from ._core import norm_sf2, z_value


@dataclass(frozen=True)
class ProportionCI:
    """A proportion x/n with a confidence interval."""

    estimate: float
    lower: float
    upper: float
    x: int
    n: int
    conf_level: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x, "n": self.n, "estimate": self.estimate, "lower": self.lower,
                "upper": self.upper, "conf_level": self.conf_level, "method": self.method}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class ComparisonResult:
    """A two-group comparison (difference of proportions or odds ratio) with CI and p-value."""

    estimate: float
    lower: float
    upper: float
    p_value: float
    conf_level: float
    method: str
    n_strata: int

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper,
                "p_value": self.p_value, "conf_level": self.conf_level, "method": self.method,
                "n_strata": self.n_strata}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def _count(x: Any, n: Any, xname: str = "x", nname: str = "n") -> tuple[np.ndarray, np.ndarray]:
    xa = np.atleast_1d(np.asarray(x, dtype=float))
    na = np.atleast_1d(np.asarray(n, dtype=float))
    if xa.ndim != 1 or na.shape != xa.shape:
        raise ValueError(f"{xname}, {nname}: expected the same number of values, got {xa.shape} and {na.shape}")
    for name, a in ((xname, xa), (nname, na)):
        bad = ~np.isfinite(a) | (a < 0) | (a != np.round(a))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}: value {i} is {float(a[i]):g}; expected a whole number >= 0")
    over = xa > na
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ValueError(f"{xname}: value {i} ({xa[i]:g}) exceeds {nname} ({na[i]:g})")
    return xa, na


def _single(x: Any, n: Any) -> tuple[int, int]:
    xa, na = _count(x, n)
    if xa.size != 1:
        raise ValueError(f"x: expected one count, got {xa.size}")
    if na[0] == 0:
        raise ValueError("n: is 0; expected at least one patient")
    return int(xa[0]), int(na[0])


def clopper_pearson(x: int, n: int, *, conf_level: float = 0.95) -> ProportionCI:
    """Exact (Clopper-Pearson) interval for x/n, as R ``binom.test(x, n)$conf.int``.

    Example
    -------
    >>> round(clopper_pearson(7, 20).lower, 4)
    0.1539
    """
    xi, ni = _single(x, n)
    c = _checks.check_conf_level(conf_level)
    a = (1.0 - c) / 2.0
    lower = 0.0 if xi == 0 else float(_st.beta.ppf(a, xi, ni - xi + 1))
    upper = 1.0 if xi == ni else float(_st.beta.ppf(1.0 - a, xi + 1, ni - xi))
    return ProportionCI(xi / ni, lower, upper, xi, ni, c, "clopper-pearson")


def wilson(x: int, n: int, *, conf_level: float = 0.95) -> ProportionCI:
    """Wilson score interval for x/n, as R ``prop.test(x, n, correct = FALSE)$conf.int``.

    Example
    -------
    >>> round(wilson(7, 20).upper, 4)
    0.5671
    """
    xi, ni = _single(x, n)
    c = _checks.check_conf_level(conf_level)
    z = z_value(c)
    p = xi / ni
    z22n = z * z / (2.0 * ni)
    half = z * np.sqrt(p * (1.0 - p) / ni + z22n / (2.0 * ni))
    lower = 0.0 if xi == 0 else float((p + z22n - half) / (1.0 + 2.0 * z22n))
    upper = 1.0 if xi == ni else float((p + z22n + half) / (1.0 + 2.0 * z22n))
    return ProportionCI(p, lower, upper, xi, ni, c, "wilson")


def _restricted_mle(p1: np.ndarray, p2: np.ndarray, n1: np.ndarray, n2: np.ndarray,
                    delta: float) -> tuple[np.ndarray, np.ndarray]:
    """MLE of (p1, p2) under p1 - p2 = delta (closed-form root of the likelihood cubic)."""
    theta = n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + p1 + theta * p2 + delta * (theta + 2.0))
    c = delta * delta + delta * (2.0 * p1 + theta + 1.0) + p1 + theta * p2
    d = -p1 * delta * (1.0 + delta)
    v = b**3 / (27.0 * a**3) - b * c / (6.0 * a * a) + d / (2.0 * a)
    # sign(0) taken as +1: v = 0 is a regular point (e.g. delta = 0 with n1 = n2)
    u = np.where(v >= 0, 1.0, -1.0) * np.sqrt(np.maximum(b * b / (9.0 * a * a) - c / (3.0 * a), 0.0))
    u3 = u**3
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(u3 != 0, v / np.where(u3 != 0, u3, 1.0), 0.0)
    w = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3.0
    pt1 = np.clip(2.0 * u * np.cos(w) - b / (3.0 * a), 0.0, 1.0)
    pt2 = np.clip(pt1 - delta, 0.0, 1.0)
    return pt1, pt2


def _mn_stat(delta: float, d_hat: float, p1, p2, n1, n2, w) -> float:
    pt1, pt2 = _restricted_mle(p1, p2, n1, n2, delta)
    n = n1 + n2
    var = (pt1 * (1.0 - pt1) / n1 + pt2 * (1.0 - pt2) / n2) * n / (n - 1.0)
    den = np.sqrt(np.sum(w * w * var))
    num = d_hat - delta
    if den == 0:
        return 0.0 if num == 0 else np.sign(num) * np.inf
    return float(num / den)


def prop_diff(x1: Any, n1: Any, x2: Any, n2: Any, *, conf_level: float = 0.95) -> ComparisonResult:
    """Difference of proportions x1/n1 - x2/n2 with the Miettinen-Nurminen interval.

    Scalars give the unstratified analysis; equal-length arrays (one entry per
    stratum) the stratified one with CMH weights (strata with an empty arm get
    weight 0). The p-value is the MN score test of no difference.

    Example
    -------
    >>> r = prop_diff(30, 50, 20, 50)
    >>> round(r.estimate, 2)
    0.2
    """
    a1, m1 = _count(x1, n1, "x1", "n1")
    a2, m2 = _count(x2, n2, "x2", "n2")
    if a1.shape != a2.shape:
        raise ValueError(f"x1, x2: expected one count per stratum in each arm, got {a1.size} and {a2.size}")
    conf = _checks.check_conf_level(conf_level)
    use = (m1 > 0) & (m2 > 0)
    nan = float("nan")
    if not use.any():
        return ComparisonResult(nan, nan, nan, nan, conf, "miettinen-nurminen", int(a1.size))
    a1, m1, a2, m2 = a1[use], m1[use], a2[use], m2[use]
    p1, p2 = a1 / m1, a2 / m2
    w = m1 * m2 / (m1 + m2)
    w = w / w.sum()
    d_hat = float(np.sum(w * (p1 - p2)))
    z = z_value(conf)
    args = (d_hat, p1, p2, m1, m2, w)
    eps = 1e-12

    def bound(target: float, lo: float, hi: float, at_edge: float) -> float:
        f = lambda dl: _mn_stat(dl, *args) - target  # noqa: E731
        f_lo, f_hi = f(lo), f(hi)
        if np.sign(f_lo) == np.sign(f_hi):
            return at_edge
        return float(_opt.brentq(f, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500))

    lower = bound(z, -1.0 + eps, d_hat, -1.0) if d_hat > -1.0 + eps else -1.0
    upper = bound(-z, d_hat, 1.0 - eps, 1.0) if d_hat < 1.0 - eps else 1.0
    t0 = _mn_stat(0.0, *args)
    p = float(norm_sf2(t0)) if np.isfinite(t0) else 0.0
    return ComparisonResult(d_hat, lower, upper, p, conf, "miettinen-nurminen", int(use.size))


def odds_ratio(x1: int, n1: int, x2: int, n2: int, *, conf_level: float = 0.95,
               method: str = "woolf") -> ComparisonResult:
    """Odds ratio of responding, arm 1 versus arm 2.

    method "woolf": sample OR with the logit interval exp(log OR +/- z sqrt(1/a + 1/b + 1/c + 1/d))
    and a Wald p-value; NaN when a cell is zero. method "exact": conditional MLE,
    exact interval and two-sided p-value of R ``fisher.test``.

    Example
    -------
    >>> round(odds_ratio(30, 50, 20, 50).estimate, 3)
    2.25
    """
    _checks.check_option(method, ("woolf", "exact"), "method")
    conf = _checks.check_conf_level(conf_level)
    a, na_ = _single(x1, n1)
    c, nc = _single(x2, n2)
    b, d = na_ - a, nc - c
    nan = float("nan")
    if method == "woolf":
        if min(a, b, c, d) == 0:
            return ComparisonResult(nan, nan, nan, nan, conf, "woolf", 1)
        lor = np.log(a * d / (b * c))
        se = np.sqrt(1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d)
        z = z_value(conf)
        return ComparisonResult(float(np.exp(lor)), float(np.exp(lor - z * se)), float(np.exp(lor + z * se)),
                                float(norm_sf2(lor / se)), conf, "woolf", 1)
    return _fisher(a, b, c, d, conf)


def _fisher(a: int, b: int, c: int, d: int, conf: float) -> ComparisonResult:
    """Conditional MLE and exact CI of the odds ratio, as R fisher.test (2 x 2)."""
    m, n, k = a + c, b + d, a + b  # responders, non-responders, arm-1 size
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1)
    logdc = _st.hypergeom.logpmf(support, m + n, m, k)

    def dnhyper(ncp: float) -> np.ndarray:
        lg = logdc + np.log(ncp) * support
        lg -= lg.max()
        dd = np.exp(lg)
        return dd / dd.sum()

    def mnhyper(ncp: float) -> float:
        if ncp == 0:
            return float(lo)
        if np.isinf(ncp):
            return float(hi)
        return float(np.sum(support * dnhyper(ncp)))

    def pnhyper(q: int, ncp: float, upper: bool) -> float:
        if ncp == 1:
            return float(_st.hypergeom.sf(q - 1, m + n, m, k) if upper else _st.hypergeom.cdf(q, m + n, m, k))
        if ncp == 0:
            return float(q <= lo) if upper else float(q >= lo)
        if np.isinf(ncp):
            return float(q <= hi) if upper else float(q >= hi)
        dd = dnhyper(ncp)
        return float(dd[support >= q].sum() if upper else dd[support <= q].sum())

    def solve(f, target: float) -> float:
        # R: uniroot on log scale; f increasing in ncp
        g = lambda t: f(np.exp(t)) - target  # noqa: E731
        return float(np.exp(_opt.brentq(g, -50.0, 50.0, xtol=1e-12)))

    x = a
    if x == lo and x == hi:  # one possible table (e.g. everyone responded): nothing to estimate
        est = float("nan")
    elif x == lo:
        est = 0.0
    elif x == hi:
        est = float("inf")
    else:
        est = solve(mnhyper, float(x))
    alpha = (1.0 - conf) / 2.0
    lower = 0.0 if x == lo else solve(lambda t: pnhyper(x, t, True), alpha)
    upper = float("inf") if x == hi else 1.0 / solve(lambda t: pnhyper(x, 1.0 / t, False), alpha)
    # two-sided p: sum of tables no more likely than the observed, with R's relative tolerance
    dens = np.exp(logdc - logdc.max())
    dens /= dens.sum()
    obs = dens[support == x][0]
    p = float(min(1.0, dens[dens <= obs * (1.0 + 1e-7)].sum()))
    return ComparisonResult(est, lower, upper, p, conf, "exact", 1)
