"""Interim monitoring of a group-sequential survival trial (rpact ``getAnalysisResults`` for a
survival dataset and a group-sequential design).

From the cumulative events and cumulative (stratified) log-rank Z statistics at the looks done
so far: the design's bounds recalculated at the observed information, the test decision,
conditional rejection probabilities and conditional power, repeated confidence intervals and
p-values, and, once the trial stops, the final p-value, confidence interval and median unbiased
estimate of the hazard ratio (stage-wise ordering).

Recalculation, as rpact's boundary-update vignette (Wassmer & Brannath 2016, p. 78f) and
gsDesign recommend:

* at an interim look, the information rate of look j is events_j / planned maximum events and the
  spending functions are evaluated there; planned future looks keep their rates;
* at the final look when its events differ from the plan (more: over-running; fewer, with
  ``final=True`` or at the last planned look: under-running), the information rates become
  events_j / events at this look, the earlier looks keep the alpha (and beta) they spent at
  events_j / planned maximum, and this look spends all that is left. That is rpact's
  ``getAnalysisResults(maxInformation = , informationEpsilon = )``, a design with
  ``typeOfDesign = "asUser"`` and ``userAlphaSpending`` the alpha actually spent, and gsDesign's
  ``maxn.IPlan`` / ``usTime``. A look that reaches the planned maximum events is final.
* an interim look whose information rate reaches the next planned look's is refused: the planned
  schedule no longer holds, and dropping a look silently would change how alpha is spent.

Sign convention: ``z`` is the log-rank statistic against HR = 1, positive when the experimental
arm does better (rpact's ``cumulativeLogRanks`` is -z). The test statistic against ``hr0`` on the
design's scale is direction * (z + sqrt(r d) / (1 + r) * log(hr0)), direction +1 when the design
alternative ``hazard_ratio_h1`` is below ``hr0`` (rpact ``directionUpper = FALSE``), -1 otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from oncotrial.design.group_sequential import (
    GroupSequentialDesign,
    _efficacy_bounds,
    _futility_array,
    group_sequential_design,
)
from oncotrial.design.recursion import DEFAULT_R, crossing_probabilities
from oncotrial.design.sample_size import _check_hr, _check_hr0, _check_ratio, hr_scale

# rpact searches repeated p-values in (0, 0.5] and final-analysis effects in [-8, 8] per sqrt(event).
_P_MAX = 0.5
_P_MIN = 1e-12
_THETA_RANGE = 8.0
_Z_NO_ESTIMATE = 8.0  # rpact gives no final interval from a statistic this large


@dataclass(frozen=True)
class InterimAnalysis:
    """The analysis at look ``look`` of a group-sequential survival trial.

    ``design`` is the design recalculated at the observed information (its ``k_max`` looks; fewer
    than planned when this look was made the final one). Per look done (1..``look``): ``events``,
    ``z`` (log-rank vs HR 1, positive favouring experimental), ``test_statistics`` (vs ``hr0`` on
    the design's scale, compared with the bounds), ``hazard_ratio`` (rpact's effect estimate
    exp(-z (1 + r) / sqrt(r d))), ``overall_p_values`` (one-sided, of the test statistic),
    ``test_actions`` (rpact's "reject and stop", "accept and stop", "continue", or "reject" /
    "accept" at the final look), ``conditional_rejection_probabilities`` (NaN at the final
    look), ``repeated_ci_lower`` / ``repeated_ci_upper`` (HR) and ``repeated_p_values`` (the
    level, ``sided``-sided as ``alpha``, whose bound the statistic meets; within [1e-12, 0.5] as
    rpact searches (0, 0.5]). Per look
    of the design: ``planned_events``, ``critical_values_hr`` and ``futility_bounds_hr`` (NaN: no
    bound). ``n_planned`` are the further events per remaining look (rpact ``nPlanned``) for the
    conditional power under ``hazard_ratio_h1`` and under the observed hazard ratio (None at the
    final look). ``final_look``, ``final_p_value``, ``final_ci`` and ``median_unbiased_estimate``
    are set once the trial stops (efficacy, binding futility, or the final look). ``overrun`` is
    True when this final look's events differ from ``max_events`` (see the module docstring).
    """

    design: GroupSequentialDesign
    look: int
    max_events: float
    events: tuple[float, ...]
    z: tuple[float, ...]
    hazard_ratio_h1: float
    hr0: float
    allocation_ratio: float
    test_statistics: tuple[float, ...]
    hazard_ratio: tuple[float, ...]
    overall_p_values: tuple[float, ...]
    test_actions: tuple[str, ...]
    conditional_rejection_probabilities: tuple[float, ...]
    repeated_ci_lower: tuple[float, ...]
    repeated_ci_upper: tuple[float, ...]
    repeated_p_values: tuple[float, ...]
    planned_events: tuple[float, ...]
    critical_values_hr: tuple[float, ...]
    futility_bounds_hr: tuple[float, ...]
    n_planned: tuple[float, ...]
    conditional_power_design: float | None
    conditional_power_observed: float | None
    final_look: int | None
    final_p_value: float | None
    final_ci: tuple[float, float] | None
    median_unbiased_estimate: float | None
    overrun: bool

    @property
    def direction(self) -> int:
        """+1 when the alternative is HR < hr0 (rpact ``directionUpper = FALSE``), else -1."""
        return 1 if self.hazard_ratio_h1 < self.hr0 else -1

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per look of the recalculated design; looks not done yet have NaN observations."""
        k, n = self.design.k_max, self.look

        def pad(values, fill=np.nan) -> list:
            return list(values) + [fill] * (k - n)

        return pd.DataFrame(
            {
                "look": np.arange(1, k + 1),
                "information_rate": self.design.information_rates,
                "planned_events": self.planned_events,
                "events": pad(self.events),
                "z": pad(self.z),
                "test_statistic": pad(self.test_statistics),
                "hazard_ratio": pad(self.hazard_ratio),
                "critical_value": self.design.critical_values,
                "futility_bound": self.design.futility_bounds,
                "critical_value_hr": self.critical_values_hr,
                "futility_bound_hr": self.futility_bounds_hr,
                "overall_p_value": pad(self.overall_p_values),
                "test_action": pad(self.test_actions, None),
                "conditional_rejection_probability": pad(self.conditional_rejection_probabilities),
                "repeated_ci_lower": pad(self.repeated_ci_lower),
                "repeated_ci_upper": pad(self.repeated_ci_upper),
                "repeated_p_value": pad(self.repeated_p_values),
            }
        )


def _check_sequence(values, name: str, k_max: int) -> np.ndarray:
    x = np.asarray(values, dtype=float) if not isinstance(values, (str, bytes)) else np.array([np.nan])
    if x.ndim != 1 or x.size < 1:
        raise ValueError(f"{name}: expected a non-empty sequence with one value per look done")
    if x.size > k_max:
        raise ValueError(f"{name}: {x.size} looks given, the design has {k_max}")
    if np.any(~np.isfinite(x)):
        raise ValueError(f"{name}: expected finite numbers, got {list(x)}")
    return x


def _recalculated(design: GroupSequentialDesign, rates: np.ndarray, spending_time: np.ndarray | None,
                  alpha: float | None = None) -> GroupSequentialDesign:
    """``design`` with new information rates (and spending times), optionally at another level."""
    k = rates.size
    given = beta_fn = None
    if k > 1:
        beta_fn = design.beta_spending_function
        if design.sided == 1 and beta_fn is None and np.any(np.isfinite(design.futility_bounds[:-1])):
            # A shortened (final) design keeps the Z-scale bounds of its first k - 1 looks.
            given = list(design.futility_bounds[: k - 1])
    return group_sequential_design(
        rates.tolist(), alpha=design.alpha if alpha is None else alpha, beta=design.beta,
        alpha_spending=design.alpha_spending_function, futility_bounds=given, beta_spending=beta_fn,
        binding_futility=design.binding_futility and (given is not None or beta_fn is not None),
        sided=design.sided, spending_time=None if spending_time is None else spending_time.tolist(),
    )


def _efficacy_at_level(design: GroupSequentialDesign, rates: np.ndarray, spending_time: np.ndarray | None,
                       level: float) -> np.ndarray:
    """The efficacy bounds of ``design`` (at ``rates``) had its level been ``level``.

    Only binding beta spending ties the efficacy bounds to the futility ones (solved jointly);
    otherwise the bounds are computed directly, with binding Z-scale futility bounds in the H0
    law, so a level at which an efficacy bound falls below a futility bound (the root search
    for a repeated p-value passes such levels) is no error here.
    """
    k = rates.size
    if design.binding_futility and design.beta_spending is not None and k > 1:
        return np.asarray(_recalculated(design, rates, spending_time, level).critical_values)
    lower = np.full(k, -np.inf)
    if design.binding_futility and k > 1:
        lower = _futility_array(design.futility_bounds[: k - 1], k, np.full(k, np.inf))
        lower[-1] = -np.inf
    return _efficacy_bounds(rates, level, design.alpha_spending_function, lower, DEFAULT_R, design.sided,
                            spending_time)


def _conditional(t: np.ndarray, c: np.ndarray, f: np.ndarray, j: int, zj: float, drift: float, sided: int,
                 with_futility: bool) -> tuple[np.ndarray, np.ndarray]:
    """Crossing probabilities of the looks after j (0-based) given Z_j = zj.

    The remaining Brownian increments, standardised, form a group-sequential statistic at the
    rates (t_m - t_j) / (1 - t_j) with bounds shifted by zj (rpact's shifted decision regions).
    Two-sided, the lower region is -c_m shifted the same way (rpact's conditional power does
    so; its conditional rejection probability shifts +c_m and mirrors it, which is not the
    probability of |Z_m| >= c_m, so we do not follow it there).
    """
    m = np.arange(j + 1, t.size)
    dt = t[m] - t[j]
    base = zj * np.sqrt(t[j])
    upper = (c[m] * np.sqrt(t[m]) - base) / np.sqrt(dt)
    if sided == 2:
        lower = (-c[m] * np.sqrt(t[m]) - base) / np.sqrt(dt)
    elif with_futility:
        lower = np.where(np.isfinite(f[m]), (f[m] * np.sqrt(t[m]) - base) / np.sqrt(dt), -np.inf)
        lower[-1] = -np.inf
    else:
        lower = np.full(m.size, -np.inf)
    return crossing_probabilities(dt / (1 - t[j]), upper, lower, drift)


def _root(fn, lo: float, hi: float) -> float | None:
    f_lo, f_hi = fn(lo), fn(hi)
    if np.sign(f_lo) == np.sign(f_hi):
        return None
    return float(brentq(fn, lo, hi, xtol=1e-12, rtol=1e-14))


def interim_analysis(
    design: GroupSequentialDesign,
    *,
    events: Sequence[float],
    z: Sequence[float],
    max_events: float,
    hazard_ratio_h1: float,
    allocation_ratio: float = 1.0,
    hr0: float = 1.0,
    final: bool = False,
) -> InterimAnalysis:
    """The analysis of a group-sequential survival trial at its latest look (rpact
    ``getAnalysisResults`` with ``getDataset(cumulativeEvents =, cumulativeLogRanks = -z)``).

    ``design`` is the planned design (``group_sequential_design``), ``events`` and ``z`` the
    cumulative events and log-rank Z statistics (vs HR 1, positive favouring the experimental
    arm) at the looks done so far, ``max_events`` the planned maximum events (rpact
    ``maxInformation``), ``hazard_ratio_h1`` the design alternative (rpact ``thetaH1``, also
    fixing the direction of the test), ``allocation_ratio`` experimental:control (rpact
    ``allocationRatioPlanned``), ``hr0`` the null hazard ratio (rpact ``thetaH0``; one-sided
    designs only). ``final=True`` declares this look the last one (under-running); a look that
    reaches ``max_events`` or the last planned look is final anyway. See the module docstring
    for how the bounds are recalculated.

    Example:
        >>> d = group_sequential_design([0.5, 1.0], alpha=0.025, beta=0.1)
        >>> a = interim_analysis(d, events=[154], z=[2.1], max_events=328, hazard_ratio_h1=0.667)
        >>> round(a.design.information_rates[0], 4), round(a.design.critical_values[0], 4)
        (0.4695, 3.0697)
        >>> a.test_actions, round(a.hazard_ratio[0], 4), round(a.conditional_power_design, 4)
        (('continue',), 0.7129, 0.9742)
    """
    if not isinstance(design, GroupSequentialDesign):
        raise ValueError("design: expected a GroupSequentialDesign (from group_sequential_design)")
    k_plan = design.k_max
    d = _check_sequence(events, "events", k_plan)
    zs = _check_sequence(z, "z", k_plan)
    if zs.size != d.size:
        raise ValueError(f"z: expected one statistic per look of events ({d.size}), got {zs.size}")
    if np.any(d <= 0):
        raise ValueError(f"events: expected positive cumulative events at every look, got {list(d)}")
    if np.any(np.diff(d) <= 0):
        raise ValueError(f"events: expected strictly increasing cumulative events, got {list(d)}")
    if isinstance(max_events, bool) or not isinstance(max_events, (int, float, np.integer, np.floating)) or not (
            np.isfinite(max_events) and max_events > 0):
        raise ValueError(f"max_events: expected a positive number of events, got {max_events!r}")
    h0 = _check_hr0(hr0)
    h1 = _check_hr(hazard_ratio_h1, h0)
    r = _check_ratio(allocation_ratio)
    if final not in (True, False):
        raise ValueError(f"final: expected True or False, got {final!r}")
    if h0 != 1.0 and design.sided != 1:
        raise ValueError("hr0: a null hazard ratio other than 1 needs a one-sided design (sided 1)")
    d_max = float(max_events)
    n = d.size
    if n > 1 and d[-2] >= d_max:
        raise ValueError(f"events: look {n - 1} already had {d[-2]:g} >= max_events {d_max:g} events; "
                         "it was the final look")
    is_final = bool(final) or n == k_plan or d[-1] >= d_max
    planned = np.asarray(design.information_rates)
    if not is_final and d[-1] / d_max >= planned[n]:
        raise ValueError(
            f"events: look {n}'s {d[-1]:g} events are information rate {d[-1] / d_max:.4f}, not before the "
            f"next planned look's {planned[n]:g}; give final=True to make it the last look, or plan the "
            "design's information rates again")

    overrun = is_final and d[-1] != d_max
    if is_final:
        rates = d / d[-1]
        spending_time = np.append(d[:-1] / d_max, 1.0) if overrun else None
        d_design = rates * d[-1]
    else:
        rates = np.concatenate([d / d_max, planned[n:]])
        spending_time = None
        d_design = rates * d_max
    g = _recalculated(design, rates, spending_time)
    k = g.k_max
    t = np.asarray(g.information_rates)
    c = np.asarray(g.critical_values)
    f = np.asarray(g.futility_bounds)
    sided = g.sided
    direction = 1.0 if h1 < h0 else -1.0
    info = r / (1 + r) ** 2  # Fisher information of the log HR per event

    stat = direction * (zs + np.sqrt(info * d) * np.log(h0))
    hr_hat = np.exp(-zs / np.sqrt(info * d))
    p_overall = norm.sf(stat)

    actions = []
    for j in range(n):
        crossed = abs(stat[j]) > c[j] if sided == 2 else stat[j] > c[j]
        if j < k - 1:
            actions.append("reject and stop" if crossed else
                           "accept and stop" if sided == 1 and stat[j] < f[j] else "continue")
        else:
            actions.append("reject" if crossed else "accept")

    crp = np.full(n, np.nan)
    for j in range(min(n, k - 1)):
        up, lo = _conditional(t, c, f, j, stat[j], 0.0, sided, g.binding_futility)
        crp[j] = up.sum() + (lo.sum() if sided == 2 else 0.0)
    if g.binding_futility:
        # A binding futility stop leaves nothing to reject from there on (as rpact).
        stopped = np.flatnonzero(stat[: min(n, k - 1)] <= f[: min(n, k - 1)])
        if stopped.size:
            crp[stopped[0]:] = 0.0

    n_planned: tuple[float, ...] = ()
    cp_design = cp_observed = None
    if n < k:
        future = d_design[n:]
        n_planned = tuple(map(float, np.diff(np.concatenate([[d[-1]], future]))))

        def power(theta: float) -> float:
            drift = theta * np.sqrt(info * (d_design[-1] - d[-1]))
            return float(_conditional(t, c, f, n - 1, stat[-1], drift, sided, True)[0].sum())

        cp_design = power(direction * np.log(h0 / h1))
        cp_observed = power(direction * np.log(h0 / hr_hat[-1]))

    # Repeated confidence intervals: the hazard ratios not rejected at level c_j (closed form,
    # the statistic being linear in log HR); binding futility widens them towards the futility side.
    se = 1.0 / np.sqrt(info * d)
    rci_lo, rci_hi = hr_hat * np.exp(-c[:n] * se), hr_hat * np.exp(c[:n] * se)
    if g.binding_futility:
        # The hazard ratio at which look j - 1's statistic would sit on its futility bound (rpact).
        corr = [hr_hat[j - 1] * np.exp(direction * f[j - 1] * se[j - 1]) for j in range(1, n)]
        for j in range(1, n):
            if not np.isfinite(f[j - 1]):
                continue
            bounds = [x for x, fb in zip(corr[:j], f[:j]) if np.isfinite(fb)]
            if direction > 0:
                rci_hi[j] = max(max(bounds), rci_hi[j])
            else:
                rci_lo[j] = min(min(bounds), rci_lo[j])
    rci_bad = rci_lo > rci_hi
    rci_lo, rci_hi = np.where(rci_bad, np.nan, rci_lo), np.where(rci_bad, np.nan, rci_hi)

    # Repeated p-values: the level (sided-sided, as alpha) whose bound at look j is the statistic.
    rep_p = np.full(n, np.nan)
    for j in range(n):
        target = abs(stat[j]) if sided == 2 else stat[j]

        def excess(level: float, j: int = j, target: float = target) -> float:
            return _efficacy_at_level(design, rates, spending_time, level)[j] - target

        hi = _P_MAX - 1e-12
        if excess(hi) > 0:
            rep_p[j] = _P_MAX
        elif excess(_P_MIN) < 0:
            rep_p[j] = _P_MIN
        else:
            rep_p[j] = brentq(excess, _P_MIN, hi, xtol=1e-13, rtol=1e-12)

    final_look = final_p = final_ci = mue = None
    stop = _stopping_look(stat, c, f, sided, g.binding_futility, k)
    if stop is not None or n == k:
        js = n - 1 if stop is None else stop
        final_look = js + 1
        final_p, final_ci, mue = _final_inference(g, t, c, f, js, stat, hr_hat, se, d, info, h0, direction)

    return InterimAnalysis(
        design=g,
        look=n,
        max_events=d_max,
        events=tuple(map(float, d)),
        z=tuple(map(float, zs)),
        hazard_ratio_h1=h1,
        hr0=h0,
        allocation_ratio=r,
        test_statistics=tuple(map(float, stat)),
        hazard_ratio=tuple(map(float, hr_hat)),
        overall_p_values=tuple(map(float, p_overall)),
        test_actions=tuple(actions),
        conditional_rejection_probabilities=tuple(map(float, crp)),
        repeated_ci_lower=tuple(map(float, rci_lo)),
        repeated_ci_upper=tuple(map(float, rci_hi)),
        repeated_p_values=tuple(map(float, rep_p)),
        planned_events=tuple(map(float, d_design)),
        critical_values_hr=tuple(map(float, hr_scale(c, d_design, r, h0, direction))),
        futility_bounds_hr=tuple(map(float, hr_scale(np.append(f[:-1], np.inf), d_design, r, h0, direction))),
        n_planned=n_planned,
        conditional_power_design=cp_design,
        conditional_power_observed=cp_observed,
        final_look=final_look,
        final_p_value=final_p,
        final_ci=final_ci,
        median_unbiased_estimate=mue,
        overrun=overrun,
    )


def _stopping_look(stat, c, f, sided: int, binding: bool, k: int) -> int | None:
    """The first look (0-based) at which the trial stops: efficacy, or binding futility (rpact)."""
    for j, s in enumerate(stat):
        if s >= c[j] or (sided == 2 and s <= -c[j]):
            return j
        if binding and j < k - 1 and s <= f[j]:
            return j
    return None


def _final_inference(g: GroupSequentialDesign, t, c, f, js: int, stat, hr_hat, se, d, info, h0, direction):
    """Final p-value, confidence interval and median unbiased estimate (stage-wise ordering)."""
    level = g.alpha / g.sided
    if js == 0:
        p = float(norm.sf(stat[0]))
        if g.sided == 2:
            p = 2 * min(p, 1 - p)
        q = norm.isf(level)
        return p, (float(hr_hat[0] * np.exp(-q * se[0])), float(hr_hat[0] * np.exp(q * se[0]))), float(hr_hat[0])
    lower = np.full(js + 1, -np.inf)
    if g.binding_futility:
        lower[:js] = f[:js]

    def beyond(x: float, drift: float = 0.0) -> float:
        up = np.append(c[:js], x)
        return float(crossing_probabilities(t[: js + 1], up, lower, drift)[0].sum())

    p = beyond(stat[js])
    if g.sided == 2:
        p = 2 * min(p, beyond(-stat[js]))
    if stat[js] >= _Z_NO_ESTIMATE:
        return p, None, None
    # theta is the drift of Z per sqrt(event): E[Z_j] = theta sqrt(d_j), as rpact's decision matrix.
    scale = np.sqrt(d[js] / t[js])
    lo = _root(lambda th: beyond(stat[js], th * scale) - level, -_THETA_RANGE, _THETA_RANGE)
    hi = _root(lambda th: 1 - beyond(stat[js], th * scale) - level, -_THETA_RANGE, _THETA_RANGE)
    mid = _root(lambda th: beyond(stat[js], th * scale) - 0.5, -_THETA_RANGE, _THETA_RANGE)
    if lo is None or hi is None:
        return p, None, None

    def to_hr(th: float) -> float:
        return float(h0 * np.exp(-direction * th / np.sqrt(info)))

    ci = tuple(sorted((to_hr(lo), to_hr(hi))))
    return p, ci, None if mid is None else to_hr(mid)
