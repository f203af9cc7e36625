"""Group-sequential designs with Lan-DeMets spending: efficacy and futility bounds.

Designs in rpact's conventions (``getDesignGroupSequential``): efficacy critical values
from an alpha-spending function, futility bounds either given on the Z scale or from a
beta-spending function; futility is non-binding by default, i.e. the efficacy bounds are
computed as if futility bounds did not exist, while power and stopping probabilities do
account for them. Two-sided designs (``sided=2``) have symmetric efficacy bounds +-c_k,
each tail spending the spending function at alpha / 2, and no futility bounds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from oncotrial.design.recursion import DEFAULT_R, _stage_grid, _step, crossing_probabilities, stage_probability
from oncotrial.design.spending_functions import spending
from oncotrial.design.spending_spec import DEFAULT_HSD_GAMMA, SpendingFunction, parse_spending

_ZMAX = 8.0  # bounds beyond this are treated as "never crossed" (P < 1e-15)


@dataclass(frozen=True)
class GroupSequentialDesign:
    """A group-sequential design on the Z scale (large Z favors the experimental arm).

    ``alpha`` is the overall level of the ``sided``-sided test (as in rpact: two-sided 0.05
    puts 0.025 in each tail); ``alpha_spent`` is cumulative over both tails, ``stage_levels``
    are one-tail nominal levels. A two-sided design rejects at look k when |Z_k| >= c_k.
    ``futility_bounds`` has K entries with the last equal to the final critical value; -inf
    means no futility bound at that look. ``shift`` is the squared drift E[Z_K]^2 giving power
    1 - beta (rejection in favor of the experimental arm); ``inflation_factor`` is
    shift / (z_{alpha/sided} + z_beta)^2 (maximum information relative to a fixed design).
    ``gamma_alpha`` / ``gamma_beta`` are the spending families' parameters (HSD gamma,
    Kim-DeMets rho; unused by obf and pocock). A two-sided design's ``futility_probabilities``
    are its crossings of -c_k under the alternative (stops against the experimental arm).
    ``spending_time`` are the times at which the spending functions were evaluated when they
    differ from the information rates (a final analysis with more or fewer events than
    planned, see ``group_sequential_design``); None means the information rates.

    Example:
        >>> d = group_sequential_design([0.5, 1.0], alpha=0.05, alpha_spending="hsd:-2", sided=2)
        >>> d.sided, str(d.alpha_spending_function), round(d.alpha_spent[0], 5)
        (2, 'hsd:-2', 0.01345)
    """

    information_rates: tuple[float, ...]
    alpha: float
    beta: float
    alpha_spending: str
    gamma_alpha: float
    beta_spending: str | None
    gamma_beta: float
    binding_futility: bool
    critical_values: tuple[float, ...]
    futility_bounds: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    stage_levels: tuple[float, ...]
    shift: float
    inflation_factor: float
    rejection_probabilities: tuple[float, ...]
    futility_probabilities: tuple[float, ...]
    power: float
    sided: int = 1
    spending_time: tuple[float, ...] | None = None

    @property
    def k_max(self) -> int:
        return len(self.information_rates)

    @property
    def alpha_spending_function(self) -> SpendingFunction:
        """The alpha-spending function, e.g. ``str(d.alpha_spending_function) == "hsd:-4"``."""
        return parse_spending(self.alpha_spending, "alpha_spending", self.gamma_alpha)

    @property
    def beta_spending_function(self) -> SpendingFunction | None:
        """The beta-spending function, or None when futility bounds were given on the Z scale (or none)."""
        return None if self.beta_spending is None else parse_spending(self.beta_spending, "beta_spending",
                                                                      self.gamma_beta)

    @property
    def drift(self) -> float:
        """E[Z_K] under the design alternative."""
        return float(np.sqrt(self.shift))

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per look."""
        return pd.DataFrame(
            {
                "look": np.arange(1, self.k_max + 1),
                "information_rate": self.information_rates,
                "critical_value": self.critical_values,
                "futility_bound": self.futility_bounds,
                "alpha_spent": self.alpha_spent,
                "stage_level": self.stage_levels,
                "rejection_probability": self.rejection_probabilities,
                "futility_probability": self.futility_probabilities,
            }
        )


@dataclass(frozen=True)
class Characteristics:
    """Operating characteristics of a design at one drift E[Z_K]."""

    drift: float
    rejection_probabilities: tuple[float, ...]
    futility_probabilities: tuple[float, ...]
    power: float
    expected_information_rate: float

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        k = len(self.rejection_probabilities)
        return pd.DataFrame(
            {
                "look": np.arange(1, k + 1),
                "rejection_probability": self.rejection_probabilities,
                "futility_probability": self.futility_probabilities,
            }
        )


def _check_rates(information_rates: Sequence[float], name: str = "information_rates") -> np.ndarray:
    t = np.asarray(information_rates, dtype=float)
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"{name}: expected a non-empty sequence")
    if np.any(~np.isfinite(t)) or np.any(t <= 0) or abs(t[-1] - 1.0) > 1e-12 or np.any(np.diff(t) <= 0):
        raise ValueError(
            f"{name}: expected strictly increasing values in (0, 1] ending at 1, got {list(t)}"
        )
    return t


def _efficacy_bounds(t: np.ndarray, alpha: float, fn: SpendingFunction, lower: np.ndarray, r: int,
                     sided: int = 1, s: np.ndarray | None = None) -> np.ndarray:
    """Critical values spending alpha(s_k) - alpha(s_{k-1}) under H0 at each look.

    ``s`` are the spending times (default the information rates ``t``). Two-sided: each tail
    spends the function at alpha / 2 (rpact's convention, which for obf is not half the
    two-sided function), and the continuation region is (-c_j, c_j).
    """
    inc = _increments(fn, t if s is None else s, alpha / sided)
    b = np.empty(t.size)
    b[0] = norm.isf(inc[0]) if inc[0] > 0 else np.inf
    b[0] = min(b[0], _ZMAX)
    if t.size == 1:
        return b
    if sided == 2:
        lower = np.full(t.size, -np.inf)
        lower[0] = -b[0]
    z, hw = _stage_grid(0.0, lower[0], b[0], r)
    hw = hw * norm.pdf(z)
    for k in range(1, t.size):
        b[k] = _efficacy_root(z, hw, t[k - 1], t[k], inc[k], 0.0 if sided == 2 else -_ZMAX)
        if sided == 2:
            lower[k] = -b[k]
        if k < t.size - 1:
            _, _, z, hw = _step(z, hw, t[k - 1], t[k], b[k], lower[k], 0.0, r, True)
    return b


def characteristics(
    information_rates: Sequence[float],
    critical_values: Sequence[float],
    futility_bounds: Sequence[float] | None,
    drift: float,
    r: int = DEFAULT_R,
    *,
    sided: int = 1,
) -> Characteristics:
    """Rejection/futility probabilities per look and power at drift E[Z_K] = ``drift``.

    ``futility_bounds`` (K-1 or K values, or None) stop the trial for futility when Z_k is at
    or below them; they are always applied here (power of the design as it would be run).
    With ``sided=2`` the trial also stops when Z_k <= -c_k (rejection against the experimental
    arm, counted with the futility stops, as rpact counts power only in favor of it).

    Example:
        >>> ch = characteristics([0.5, 1.0], [2.9626, 1.9686], None, 3.0)
        >>> round(ch.power, 3)
        0.85
    """
    t = _check_rates(information_rates)
    b = np.asarray(critical_values, float)
    if b.shape != t.shape:
        raise ValueError("critical_values: expected one value per information rate")
    _check_sided(sided)
    given = np.asarray([] if futility_bounds is None else futility_bounds, float)[: t.size - 1]
    if sided == 2 and np.any(np.isfinite(given)):
        raise ValueError("futility_bounds: a two-sided design has no futility bounds")
    a = -b if sided == 2 else _futility_array(futility_bounds, t.size, b)
    p_up, p_lo = crossing_probabilities(t, b, a, drift, r)
    stop = p_up + p_lo
    stop[-1] = 1.0 - stop[:-1].sum()
    return Characteristics(
        drift=float(drift),
        rejection_probabilities=tuple(map(float, p_up)),
        futility_probabilities=tuple(map(float, p_lo[:-1])) + (float(1.0 - p_up.sum() - p_lo[:-1].sum()),),
        power=float(p_up.sum()),
        expected_information_rate=float(np.sum(stop * t)),
    )


def _check_sided(sided: int) -> int:
    if sided not in (1, 2) or isinstance(sided, bool):
        raise ValueError(f"sided: expected 1 or 2, got {sided!r}")
    return int(sided)


def _futility_array(futility_bounds, k: int, b: np.ndarray) -> np.ndarray:
    a = np.full(k, -np.inf)
    if futility_bounds is not None:
        f = np.asarray(futility_bounds, float)
        if f.size not in (k - 1, k) or f.ndim != 1:
            raise ValueError(f"futility_bounds: expected {k - 1} values (one per interim look), got {f.size}")
        if np.any(np.isnan(f[: k - 1])):
            raise ValueError("futility_bounds: NaN is not a bound; use -inf for 'no futility bound'")
        a[: k - 1] = f[: k - 1]
    a[-1] = b[-1]
    return a


def _drift_for_power(t, b, a, power, r) -> float:
    f = lambda d: crossing_probabilities(t, b, a, d, r)[0].sum() - power  # noqa: E731
    return float(brentq(f, 0.0, 30.0, xtol=1e-13, rtol=1e-15))


def _increments(fn: SpendingFunction, t: np.ndarray, level: float) -> np.ndarray:
    """The error spent at each look: fn(t_k) - fn(t_{k-1}), all of ``level`` by the last."""
    cum = spending(fn, t, level)
    cum[-1] = level
    return np.diff(np.concatenate([[0.0], cum]))


def _efficacy_root(z0, hw0, t_prev, t_k, target: float, lowest: float = -_ZMAX) -> float:
    """The bound crossed with probability ``target`` from the H0 density carried to t_prev."""
    if target <= 1e-15:
        return _ZMAX
    f = lambda c: stage_probability(z0, hw0, t_prev, t_k, c, 0.0, "upper") - target  # noqa: E731
    if f(_ZMAX) > 0:
        return _ZMAX
    # Less H0 mass continues than there is alpha to spend: only while a binding-futility drift
    # search tries drifts so small that the futility bounds nearly close the continuation region.
    return lowest if f(lowest) < 0 else float(brentq(f, lowest, _ZMAX, xtol=1e-12, rtol=1e-14))


def _beta_spending_bounds(t, b, beta, fn: SpendingFunction, r, alpha_increments: np.ndarray | None = None,
                          s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Futility bounds spending beta under the drift that makes the final bounds meet.

    Returns (efficacy bounds, futility bounds, drift). Non-binding, the efficacy bounds ``b``
    are fixed beforehand. Binding (``alpha_increments`` given), stopping for futility is part
    of the H0 law, so each efficacy bound after the first spends its alpha given the futility
    bounds before it, which depend on the drift: both bounds are found together for each
    trial drift (rpact ``bindingFutility = TRUE``). ``s`` are the spending times (default ``t``).
    """
    inc = _increments(fn, t if s is None else s, beta)
    binding = alpha_increments is not None

    def bounds_for(drift: float) -> tuple[np.ndarray, np.ndarray, float]:
        c = np.array(b, float)
        a = np.full(t.size, -np.inf)
        m1 = drift * np.sqrt(t[0])
        a[0] = min(m1 + norm.ppf(inc[0]), c[0])
        z, hw = _stage_grid(m1, a[0], c[0], r)
        hw = hw * norm.pdf(z - m1)
        if binding:
            z0, hw0 = _stage_grid(0.0, a[0], c[0], r)
            hw0 = hw0 * norm.pdf(z0)
        for k in range(1, t.size):
            if binding:
                c[k] = _efficacy_root(z0, hw0, t[k - 1], t[k], alpha_increments[k])
            g = lambda x: stage_probability(z, hw, t[k - 1], t[k], x, drift, "lower") - inc[k]  # noqa: E731
            if k == t.size - 1:
                return c, a, g(c[k])
            # Too little mass left to spend (large drift): the bounds meet early.
            a[k] = c[k] if g(c[k]) <= 0 else brentq(g, -_ZMAX - 30, c[k], xtol=1e-12, rtol=1e-14)
            _, _, z, hw = _step(z, hw, t[k - 1], t[k], c[k], a[k], drift, r, True)
            if binding:
                _, _, z0, hw0 = _step(z0, hw0, t[k - 1], t[k], c[k], a[k], 0.0, r, True)
        return c, a, 0.0

    drift = brentq(lambda d: bounds_for(d)[2], 1e-6, 30.0, xtol=1e-13, rtol=1e-15)
    c, a, _ = bounds_for(drift)
    a[-1] = c[-1]
    return c, a, float(drift)


def _parameter(fn: SpendingFunction | None, given: float | None) -> float:
    # obf and pocock take none; the field keeps the HSD default there, as before KD existed.
    if fn is not None and fn.parameter is not None:
        return float(fn.parameter)
    return DEFAULT_HSD_GAMMA if given is None else float(given)


def group_sequential_design(
    information_rates: Sequence[float] = (1.0,),
    alpha: float = 0.025,
    beta: float = 0.1,
    alpha_spending: str | SpendingFunction = "obf",
    gamma_alpha: float | None = None,
    futility_bounds: Sequence[float] | None = None,
    beta_spending: str | SpendingFunction | None = None,
    gamma_beta: float | None = None,
    binding_futility: bool = False,
    r: int = DEFAULT_R,
    *,
    sided: int = 1,
    spending_time: Sequence[float] | None = None,
) -> GroupSequentialDesign:
    """A Lan-DeMets group-sequential design (rpact ``getDesignGroupSequential``).

    Parameters mirror rpact: ``alpha`` is the overall level of the ``sided``-sided test
    (``sided=2, alpha=0.05`` puts 0.025 in each tail, with symmetric efficacy bounds);
    ``alpha_spending`` "obf" (asOF), "pocock" (asP), "hsd" or "hsd:GAMMA" (asHSD, gamma
    ``gamma_alpha`` or -4), "kd:RHO" (asKD, alpha t^rho) or a ``SpendingFunction``; futility
    (one-sided designs only) either as Z-scale ``futility_bounds`` at the K-1 interim looks or
    as ``beta_spending`` in the same forms (bsOF, bsP, bsHSD, bsKD; ``gamma_beta``).
    ``binding_futility=True`` (rpact ``bindingFutility = TRUE``) computes the efficacy bounds
    under H0 with the futility stops in place, so they are lower; with beta spending the
    efficacy and futility bounds are then solved for jointly with the drift.

    ``spending_time`` (one per look, increasing, ending at 1; default the information rates)
    are the times at which the spending functions are evaluated, while the information rates
    give the correlation of the looks (gsDesign's ``usTime`` / ``lsTime``). A final analysis
    with more or fewer events than planned has information rates events_k / final events, but
    its earlier looks keep the error they spent at events_k / planned events and the last look
    spends what is left: rpact's ``typeOfDesign = "asUser"`` with ``userAlphaSpending`` (and
    ``userBetaSpending``) equal to what was spent, as ``getAnalysisResults(maxInformation =)``
    does for over-running.

    Example:
        >>> d = group_sequential_design([0.5, 1.0], alpha=0.025, beta=0.1)
        >>> [round(c, 4) for c in d.critical_values]
        [2.9626, 1.9686]
        >>> d2 = group_sequential_design([0.5, 1.0], alpha=0.05, alpha_spending="kd:2", sided=2)
        >>> [round(c, 4) for c in d2.critical_values]
        [2.4977, 2.0183]
        >>> d3 = group_sequential_design([0.4, 0.7, 1.0], beta_spending="obf", binding_futility=True)
        >>> [round(c, 4) for c in d3.critical_values]
        [3.3569, 2.4444, 1.9601]
        >>> d4 = group_sequential_design([160 / 340, 1.0], spending_time=[160 / 328, 1.0])
        >>> round(d4.alpha_spent[0], 6), round(float(spending("obf", 160 / 328, 0.025)), 6)
        (0.001331, 0.001331)
    """
    t = _check_rates(information_rates)
    s = None if spending_time is None else _check_rates(spending_time, "spending_time")
    if s is not None and s.size != t.size:
        raise ValueError(f"spending_time: expected one value per information rate ({t.size}), got {s.size}")
    sided = _check_sided(sided)
    if not (0 < alpha / sided < 0.5):
        raise ValueError(f"alpha: expected a {sided}-sided level in (0, {sided * 0.5:g}), got {alpha!r}")
    if not (0 < beta < 1 - alpha / sided):
        raise ValueError(f"beta: expected a type II error in (0, 1 - alpha / sided), got {beta!r}")
    alpha_fn = parse_spending(alpha_spending, "alpha_spending", gamma_alpha)
    beta_fn = None if beta_spending is None else parse_spending(beta_spending, "beta_spending", gamma_beta)
    if sided == 2 and (futility_bounds is not None or beta_fn is not None or binding_futility):
        # rpact ignores futility bounds of a two-sided design with a warning; refuse instead.
        raise ValueError("sided: a two-sided design has no futility bounds (futility_bounds, beta_spending)")
    if beta_fn is not None and futility_bounds is not None:
        raise ValueError("futility_bounds: give either futility_bounds or beta_spending, not both")
    if binding_futility not in (True, False):  # 0 and 1 as before; not "yes"
        raise ValueError(f"binding_futility: expected True or False, got {binding_futility!r}")
    if beta_fn is not None and t.size < 2:
        raise ValueError("beta_spending: needs at least one interim look")
    if not isinstance(r, (int, np.integer)) or r < 8:
        raise ValueError(f"r: expected an integer grid parameter >= 8, got {r!r}")

    k = t.size
    lower_for_alpha = np.full(k, -np.inf)
    if binding_futility and futility_bounds is not None:
        lower_for_alpha = _futility_array(futility_bounds, k, np.full(k, np.inf))
        lower_for_alpha[-1] = -np.inf
    b = _efficacy_bounds(t, alpha, alpha_fn, lower_for_alpha, r, sided, s)

    if sided == 2:
        lower_for_alpha = a = -b
        drift = _drift_for_power(t, b, a, 1.0 - beta, r)
    elif beta_fn is not None:
        alpha_inc = _increments(alpha_fn, t if s is None else s, alpha) if binding_futility else None
        b, a, drift = _beta_spending_bounds(t, b, beta, beta_fn, r, alpha_inc, s)
        if binding_futility:
            lower_for_alpha = np.concatenate([a[:-1], [-np.inf]])
    else:
        a = _futility_array(futility_bounds, k, b)
        if np.any(a[:-1] > b[:-1]):
            raise ValueError("futility_bounds: each must lie below the efficacy bound at its look")
        drift = _drift_for_power(t, b, a, 1.0 - beta, r)

    p_up0, _ = crossing_probabilities(t, b, lower_for_alpha, 0.0, r)
    ch = characteristics(t, b, None if sided == 2 else a[:-1], drift, r, sided=sided)
    if sided == 2:
        a = np.concatenate([np.full(k - 1, -np.inf), b[-1:]])
    z_fixed = norm.isf(alpha / sided) + norm.isf(beta)
    return GroupSequentialDesign(
        information_rates=tuple(map(float, t)),
        alpha=float(alpha),
        beta=float(beta),
        alpha_spending=alpha_fn.kind,
        gamma_alpha=float(_parameter(alpha_fn, gamma_alpha)),
        beta_spending=None if beta_fn is None else beta_fn.kind,
        gamma_beta=float(_parameter(beta_fn, gamma_beta)),
        binding_futility=bool(binding_futility),
        critical_values=tuple(map(float, b)),
        futility_bounds=tuple(map(float, a)),
        alpha_spent=tuple(map(float, sided * np.cumsum(p_up0))),
        stage_levels=tuple(map(float, norm.sf(b))),
        shift=float(drift**2),
        inflation_factor=float(drift**2 / z_fixed**2),
        rejection_probabilities=ch.rejection_probabilities,
        futility_probabilities=ch.futility_probabilities,
        power=ch.power,
        sided=sided,
        spending_time=None if s is None else tuple(map(float, s)),
    )
