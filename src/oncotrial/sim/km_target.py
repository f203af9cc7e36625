"""Building event times whose Kaplan-Meier curve follows a target survival curve.

The numeric core of reconstruction. :func:`follow_curve` assigns events one at a
time: the next event happens when the target curve reaches the Kaplan-Meier value
it will produce, and it happens to a patient drawn at random from those still at
risk (so censoring stays independent of the event process). :func:`snap_statistic`
then moves the one event that defines a statistic (the median, a bound of its
confidence interval) to the published time. Times are integer analysis days.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from oncotrial.protocol import DAYS_PER_MONTH
from oncotrial.sim.params import PiecewiseExponential
from oncotrial.stats._core import km_arrays, km_confint, km_quantiles


def _inverse(target: PiecewiseExponential):
    """A fast scalar inverse survival function (days) of ``target`` (months)."""
    b = [x * DAYS_PER_MONTH for x in target.starts]
    h = [x / DAYS_PER_MONTH for x in target.hazards]
    cum = [0.0]
    for k in range(len(b) - 1):
        cum.append(cum[-1] + h[k] * (b[k + 1] - b[k]))

    def inv(s: float) -> float:
        x = -math.log(max(s, 1e-300))
        k = bisect.bisect_right(cum, x) - 1
        return b[k] + (x - cum[k]) / h[k] if h[k] > 0 else math.inf
    return inv


def follow_curve(limit: np.ndarray, target: PiecewiseExponential, rng: np.random.Generator,
                 start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) per patient: events placed so that the KM tracks ``target`` (months).

    ``limit`` is each patient's censoring day (the latest day an event can be seen);
    patients without an event are censored there. ``start`` (optional) is the earliest
    day each patient may have an event.
    """
    n = limit.size
    order = np.argsort(limit, kind="stable")
    lim_sorted = limit[order].astype(float).tolist()
    lo = None if start is None else start.astype(float)
    inv = _inverse(target)
    ev_t = np.full(n, np.nan)
    free = np.ones(n, dtype=bool)
    used_lims: list[float] = []          # limits of patients who already have an event, sorted
    u = rng.random(4 * n + 16).tolist()  # one stream of uniforms, consumed in order
    ui = 0

    def at_risk(t: float) -> int:
        return (n - bisect.bisect_left(lim_sorted, t)) - (len(used_lims) - bisect.bisect_left(used_lims, t))

    s = 1.0
    t_prev = 1.0
    while True:
        n_r = at_risk(t_prev)
        if n_r <= 0:
            break
        t = t_prev
        for _ in range(4):
            t = max(float(math.ceil(inv(s * (1 - 0.5 / n_r)))), t_prev)
            if not math.isfinite(t):
                break
            n_new = at_risk(t)
            if n_new == n_r or n_new == 0:
                break
            n_r = n_new
        if not math.isfinite(t) or at_risk(t) == 0:
            break
        first = bisect.bisect_left(lim_sorted, t)
        chosen = -1
        for _ in range(64):
            if ui >= len(u):
                u.extend(rng.random(4 * n).tolist())
            j = order[first + int(u[ui] * (n - first))]
            ui += 1
            if free[j] and (lo is None or lo[j] <= t):
                chosen = j
                break
        if chosen < 0:
            cand = np.flatnonzero(free & (limit >= t) & (True if lo is None else lo <= t))
            if cand.size == 0:
                t_prev = t + 1
                continue
            chosen = int(cand[int(rng.integers(cand.size))])
        n_at = at_risk(t)
        ev_t[chosen] = t
        free[chosen] = False
        bisect.insort(used_lims, float(limit[chosen]))
        s *= 1 - 1 / n_at
        t_prev = t
    event = ~np.isnan(ev_t)
    return np.where(event, ev_t, limit.astype(float)), event


@dataclass(frozen=True)
class KMStats:
    """KM median and CI (days) and the curve, from :func:`km_stats`."""

    median: float
    lower: float
    upper: float
    table: object

    def surv_at(self, day: float) -> float:
        t = self.table
        k = np.searchsorted(t["time"], day, side="right") - 1
        return 1.0 if k < 0 else float(t["surv"][k])


def km_stats(time: np.ndarray, event: np.ndarray, conf_level: float = 0.95, conf_type: str = "log-log") -> KMStats:
    """KM median, its CI and the curve, for search loops.

    The same numeric core as :func:`oncotrial.stats.km` (R ``survfit`` and
    ``quantile.survfit`` rules), without its argument checks and result object:
    a search loop must see exactly the figure the analysis will report.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    a = km_arrays(t, e)
    lower, upper = km_confint(a.surv, np.sqrt(a.greenwood), conf_type, conf_level)
    q, ql, qu = km_quantiles(a, lower, upper, _MEDIAN)
    table = {"time": a.time, "surv": a.surv, "lower": lower, "upper": upper, "n_event": a.n_event}
    return KMStats(float(q[0]), float(ql[0]), float(qu[0]), table)


_MEDIAN = np.array([0.5])


def defining_event(time: np.ndarray, event: np.ndarray, at: float) -> int | None:
    """Index of an event at time ``at`` (the one a statistic equals), or None."""
    idx = np.flatnonzero(event & (time == at))
    return int(idx[0]) if idx.size else None


def snap_statistic(time: np.ndarray, event: np.ndarray, limit: np.ndarray, which: str, target_day: float,
                   ok, conf_level: float = 0.95, lower_bound: np.ndarray | None = None,
                   max_iter: int = 8) -> bool:
    """Move events (in place) until statistic ``which`` ("median", "lower", "upper") satisfies ``ok(value)``.

    The event the statistic currently equals moves to ``target_day`` (within the
    patient's ``limit`` and ``lower_bound``). Returns whether ``ok`` holds at the end.
    """
    for _ in range(max_iter):
        st = km_stats(time, event, conf_level)
        v = getattr(st, which)
        if ok(v):
            return True
        if not np.isfinite(v):
            return False
        i = defining_event(time, event, v)
        if i is None:
            return False
        new = min(target_day, limit[i])
        if lower_bound is not None:
            new = max(new, lower_bound[i])
        if new == time[i]:
            # the defining patient cannot move there: try a neighbouring event instead
            others = np.flatnonzero(event & (limit >= target_day) & (time != v))
            if lower_bound is not None:
                others = others[lower_bound[others] <= target_day]
            if others.size == 0:
                return False
            j = others[np.argmin(np.abs(time[others] - target_day))]
            time[j] = target_day
            continue
        time[i] = new
    return ok(getattr(km_stats(time, event, conf_level), which))


def km_stats_exact(time: np.ndarray, event: np.ndarray, conf_level: float = 0.95) -> KMStats:
    """As :func:`km_stats` (kept for its callers; both use the analysis' KM core)."""
    return km_stats(time, event, conf_level)
