"""Reconstruction of time-to-event data (PFS, OS, duration of response) from published summaries.

Per arm, event times are built with :func:`oncotrial.sim.km_target.follow_curve` to
follow a piecewise-exponential curve through the published points (median, the
survival levels at which the log-log confidence band crosses 0.5 at the published
bounds, landmark rates), then the events defining the median and its bounds are
snapped onto the published times. The early shape of the control arm and the tail
hazard are searched so that the stratified Cox HR and its CI come out as published.
All times are analysis days (day 1 = randomization).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oncotrial.protocol import DAYS_PER_MONTH
from oncotrial.sim.km_target import follow_curve, km_stats, km_stats_exact, snap_statistic
from oncotrial.sim.params import PiecewiseExponential
from oncotrial.sim.rounding import decimals_of, within_rounding

Z95 = 1.959963984540054


@dataclass(frozen=True)
class CurveTarget:
    """Published points of one arm's curve, in months; NaN bound = not estimable; None = not published."""

    median: float | None = None
    lower: float | None = None
    upper: float | None = None
    landmarks: tuple[tuple[float, float], ...] = ()   # (months, survival fraction)
    early: tuple[tuple[float, float], ...] = ()       # soft points, e.g. the clinical-benefit landmark

    def ok(self, which: str, value_days: float) -> bool:
        pub = getattr(self, which)
        if pub is None:
            return True
        v = value_days / DAYS_PER_MONTH if np.isfinite(value_days) else np.nan
        return within_rounding(pub, v, decimals_of(pub))


@dataclass
class Shape:
    """Free shape of a curve: ``alpha`` bends the early part, ``tail`` scales the hazard after the last point."""

    alpha: float = 0.5
    tail: float = 1.0
    s_lo: float | None = None
    s_hi: float | None = None


def curve_for(tg: CurveTarget, shape: Shape, n: int, horizon: float | None = None) -> PiecewiseExponential:
    """The piecewise-exponential curve through the target's points for this shape.

    A median published as not reached (NaN) with a ``horizon`` (the longest follow-up, months) keeps
    the curve above 50% up to it: a knot at the horizon a fifth of the way from the last point to 50%.
    """
    se = 0.5 / np.sqrt(max(n * 0.6, 4))
    pts: list[tuple[float, float]] = list(tg.early) + list(tg.landmarks)
    anchor = []
    if tg.median is not None and np.isfinite(tg.median):
        anchor.append((tg.median, 0.5))
        if tg.lower is not None and np.isfinite(tg.lower) and tg.lower < tg.median:
            anchor.append((tg.lower, shape.s_lo if shape.s_lo is not None else 0.5 + Z95 * se))
        if tg.upper is not None and np.isfinite(tg.upper) and tg.upper > tg.median:
            anchor.append((tg.upper, shape.s_hi if shape.s_hi is not None else 0.5 - Z95 * se))
    # pinned points win over soft ones at nearby times
    pts = [p for p in pts if all(abs(p[0] - a[0]) > 0.5 for a in anchor)] + anchor
    pts.sort()
    clean: list[tuple[float, float]] = []
    for t, s in pts:
        if clean and s >= clean[-1][1]:
            s = clean[-1][1] - 0.002
        clean.append((t, min(max(s, 1e-3), 0.999)))
    # bend the part before the first pinned point: a knot halfway whose level alpha sets
    first_anchor = min((a[0] for a in anchor), default=None)
    if first_anchor is not None:
        before = [p for p in clean if p[0] < first_anchor]
        t0, s0 = (before[-1] if before else (0.0, 1.0))
        s1 = dict(clean)[first_anchor]
        tm = (t0 + first_anchor) / 2
        sm = np.exp((1 - shape.alpha) * np.log(s0) + shape.alpha * np.log(s1))
        if s1 < sm < s0:
            clean.append((tm, float(sm)))
            clean.sort()
    if (horizon is not None and tg.median is not None and not np.isfinite(tg.median) and clean
            and clean[-1][1] > 0.5 and horizon > clean[-1][0] + 1):
        t_last, s_last = clean[-1]
        clean.append((float(horizon), s_last - 0.2 * (s_last - 0.5)))
    pe = PiecewiseExponential.through(clean)
    return PiecewiseExponential(pe.starts, pe.hazards[:-1] + (pe.hazards[-1] * shape.tail,))


def band_levels(time: np.ndarray, event: np.ndarray, conf_level: float) -> tuple[float | None, float | None]:
    """KM levels at which the lower / upper log-log band first reaches 0.5 (None if never)."""
    t = km_stats(time, event, conf_level).table
    lo = np.flatnonzero(t["lower"] <= 0.5)
    hi = np.flatnonzero(t["upper"] <= 0.5)
    return (float(t["surv"][lo[0]]) if lo.size else None, float(t["surv"][hi[0]]) if hi.size else None)


def build_arm(limit: np.ndarray, tg: CurveTarget, shape: Shape, seed: int, conf_level: float = 0.95,
              fit_bands: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Event times of one arm following the target (no snapping); bands fitted by fixed point."""
    for _ in range(fit_bands + 1):
        curve = curve_for(tg, shape, limit.size, horizon=float(limit.max()) / DAYS_PER_MONTH if limit.size else None)
        t, e = follow_curve(limit, curve, np.random.default_rng(seed))
        if fit_bands == 0:
            break
        lo, hi = band_levels(t, e, conf_level)
        if lo is not None:
            shape.s_lo = 0.5 * shape.s_lo + 0.5 * lo if shape.s_lo is not None else lo
        if hi is not None:
            shape.s_hi = 0.5 * shape.s_hi + 0.5 * hi if shape.s_hi is not None else hi
        fit_bands -= 1
    return t, e


def pin_arm(time: np.ndarray, event: np.ndarray, limit: np.ndarray, tg: CurveTarget, conf_level: float = 0.95,
            lower_bound: np.ndarray | None = None) -> bool:
    """Snap the median and its CI bounds onto the published times (in place); True if all hold."""
    ok = True
    for which in ("median", "lower", "upper", "median"):
        pub = getattr(tg, which)
        if pub is None:
            continue
        if not np.isfinite(pub):
            ok &= not np.isfinite(getattr(km_stats(time, event, conf_level), which))
            continue
        day = float(np.round(pub * DAYS_PER_MONTH))
        ok &= snap_statistic(time, event, limit, which, day, lambda v, w=which: tg.ok(w, v),
                             conf_level=conf_level, lower_bound=lower_bound)
    st = km_stats(time, event, conf_level)
    for which in ("median", "lower", "upper"):
        ok &= tg.ok(which, getattr(st, which))
    return ok


def landmarks_ok(time: np.ndarray, event: np.ndarray, tg: CurveTarget, conf_level: float = 0.95) -> bool:
    st = km_stats(time, event, conf_level)
    for t_m, s in tg.landmarks:
        v = 100 * st.surv_at(t_m * DAYS_PER_MONTH)
        if not within_rounding(100 * s, v, decimals_of(round(100 * s, 6))):
            return False
    return True


@dataclass(frozen=True)
class HRTarget:
    hr: float | None
    lower: float | None
    upper: float | None
    p: float | None = None
    p_sided: int = 2

    def misses(self, hr: float, lo: float, hi: float, p: float | None = None) -> float:
        """Log-scale distance to the published HR and CI (0 when all round right)."""
        d = 0.0
        for pub, v in ((self.hr, hr), (self.lower, lo), (self.upper, hi)):
            if pub is not None and not within_rounding(pub, v, decimals_of(pub)):
                d += 1 + abs(np.log(v / pub))
        if self.p is not None and p is not None and not within_rounding(self.p, p, decimals_of(self.p)):
            d += 1 + abs(np.log(p / self.p)) * 0.2
        return d


def cox_hr(time: np.ndarray, event: np.ndarray, trt: np.ndarray, strata: np.ndarray | None,
           conf_level: float = 0.95) -> tuple[float, float, float]:
    """(HR, lower, upper) of ``trt``, stratified Cox with Efron ties (numpy core; equals oncotrial.stats.cox)."""
    from oncotrial.stats import cox_hr as _cox_hr

    return _cox_hr(time, np.asarray(event).astype(float), trt, strata, conf_level=conf_level)


def logrank_p(time: np.ndarray, event: np.ndarray, trt: np.ndarray, strata: np.ndarray | None, sided: int = 2) -> float:
    from scipy.stats import norm

    from oncotrial.stats import logrank

    r = logrank(time, event.astype(int), trt, strata=strata)
    if sided == 2:
        return float(r.p_value)
    # one-sided, in favour of the experimental arm: its hazard ratio below 1
    hr, _, _ = cox_hr(time, event, trt, strata)
    z = np.sqrt(r.chisq) * (1 if hr < 1 else -1)
    return float(norm.sf(z))


@dataclass
class TTEResult:
    time: np.ndarray
    event: np.ndarray
    limit_used: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def with_dropouts(limit: np.ndarray, omega: float, order: np.ndarray, frac: np.ndarray, min_day: float = 2) -> np.ndarray:
    """Limits with the first ``omega`` share of patients (in ``order``) censored early, at ``frac`` of their
    limit but not before ``min_day``."""
    k = int(round(omega * limit.size))
    out = limit.astype(float).copy()
    idx = order[:k]
    out[idx] = np.minimum(np.maximum(np.floor(limit[idx] * frac[idx]), min_day), limit[idx])
    return out


def _pair(arm: np.ndarray, experimental: str, control: str) -> np.ndarray | None:
    """Rows of one comparison; None when every row is in it (two arms: no copy)."""
    m = (arm == experimental) | (arm == control)
    return None if m.all() else m


def pair_hr(time: np.ndarray, event: np.ndarray, arm: np.ndarray, experimental: str, control: str,
            strata: np.ndarray | None, conf_level: float = 0.95) -> tuple[float, float, float]:
    """(HR, lower, upper) of ``experimental`` vs ``control`` on those two arms' patients (pairwise, as analysed)."""
    m = _pair(arm, experimental, control)
    if m is None:
        return cox_hr(time, event, (arm == experimental).astype(float), strata, conf_level)
    return cox_hr(time[m], event[m], (arm[m] == experimental).astype(float),
                  None if strata is None else strata[m], conf_level)


def pair_logrank_p(time: np.ndarray, event: np.ndarray, arm: np.ndarray, experimental: str, control: str,
                   strata: np.ndarray | None, sided: int = 2) -> float:
    """The log-rank p of one comparison, on its two arms' patients."""
    m = _pair(arm, experimental, control)
    if m is None:
        return logrank_p(time, event, (arm == experimental).astype(float), strata, sided)
    return logrank_p(time[m], event[m], (arm[m] == experimental).astype(float),
                     None if strata is None else strata[m], sided)


def hr_misses(time: np.ndarray, event: np.ndarray, arm: np.ndarray, control: str, hr: dict[str, HRTarget],
              strata: np.ndarray | None, conf_level: float = 0.95, *, with_p: bool = False) -> float:
    """Summed :meth:`HRTarget.misses` over the comparisons (experimental arm -> its published target)."""
    out = 0.0
    for e, tg in hr.items():
        if tg.hr is None and tg.lower is None and tg.upper is None and tg.p is None:
            continue
        h = pair_hr(time, event, arm, e, control, strata, conf_level)
        p = pair_logrank_p(time, event, arm, e, control, strata, tg.p_sided) if with_p and tg.p is not None else None
        out += tg.misses(*h, p)
    return out


def build_arms(limit_fn, arm: np.ndarray, control: str, targets: dict[str, CurveTarget],
               hr: dict[str, HRTarget], strata: np.ndarray | None, seed: int, conf_level: float = 0.95,
               tries: int = 30, min_drop_day: float = 2) -> TTEResult:
    """Every arm's event times, with the control arm's early shape, the tail hazard and the share of
    patients censored early (withdrawal) searched so that each comparison's stratified Cox HR and CI
    (``hr``: experimental arm -> published target, fitted on that arm and the control) come out as published.

    ``targets`` holds every arm's curve (the experimental arms first, in comparison order, then the
    control: the order draws the random streams). Returns the best attempt (fewest published figures
    missed) and, in ``limit_used``, each patient's censoring limit after withdrawals.
    """
    rng = np.random.default_rng(seed)
    codes = list(targets)
    ctl = control
    masks = {a: arm == a for a in codes}
    shapes = {a: Shape() for a in codes}
    base_seeds = {a: int(rng.integers(2**31)) for a in codes}
    n = arm.size
    drop_order = rng.permutation(n)
    drop_frac = rng.uniform(0.1, 0.95, n)
    searched = any(t.hr is not None for t in hr.values())

    def limits(omega: float) -> np.ndarray:
        return with_dropouts(limit_fn(0), omega, drop_order, drop_frac, min_drop_day)

    limit = limits(0.0)

    def assemble(parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        time = np.zeros(n)
        event = np.zeros(n, dtype=bool)
        for a, (t, e) in parts.items():
            time[masks[a]] = t
            event[masks[a]] = e
        return time, event

    for a in codes:
        build_arm(limit[masks[a]], targets[a], shapes[a], base_seeds[a], conf_level)

    def evaluate(alpha_c: float, tail: float, omega: float) -> float:
        lim = limits(omega)
        sh = {a: Shape(shapes[a].alpha, tail, shapes[a].s_lo, shapes[a].s_hi) for a in codes}
        sh[ctl].alpha = alpha_c
        parts = {a: build_arm(lim[masks[a]], targets[a], sh[a], base_seeds[a], conf_level, fit_bands=0)
                 for a in codes}
        t, e = assemble(parts)
        return hr_misses(t, e, arm, ctl, hr, strata, conf_level)

    best = (np.inf, 0.5, 1.0, 0.0)
    if searched:
        for omega in (0.0, 0.1, 0.2):
            for alpha_c in (0.25, 0.5, 0.75):
                for tail in (0.7, 1.4):
                    m = evaluate(alpha_c, tail, omega)
                    if m < best[0]:
                        best = (m, alpha_c, tail, omega)
        steps = [0.1, 0.2, 0.04]
        for _ in range(10):
            if best[0] == 0:
                break
            improved = False
            for dim in range(3):
                for sign in (1, -1):
                    cand = list(best[1:])
                    cand[dim] = cand[dim] + sign * steps[dim] if dim != 1 else cand[dim] * (1 + sign * steps[dim])
                    cand[0] = float(np.clip(cand[0], 0.02, 0.98))
                    cand[2] = float(np.clip(cand[2], 0.0, 0.6))
                    m = evaluate(*cand)
                    if m < best[0]:
                        best, improved = (m, *cand), True
            if not improved:
                steps = [s_ / 2 for s_ in steps]
    _, alpha_c, tail, omega = best
    for a in codes:
        shapes[a].tail = tail
    shapes[ctl].alpha = alpha_c
    lim = limits(omega)

    best_res: tuple[float, np.ndarray, np.ndarray] | None = None
    for k in range(tries):
        parts = {}
        for a in codes:
            sub = np.random.default_rng([base_seeds[a], k])
            found = None
            for j in range(20):
                s_ = int(sub.integers(2**31))
                sh = Shape(shapes[a].alpha, shapes[a].tail, shapes[a].s_lo, shapes[a].s_hi)
                t, e = build_arm(lim[masks[a]], targets[a], sh, s_, conf_level, fit_bands=0)
                good = landmarks_ok(t, e, targets[a], conf_level) and pin_arm(t, e, lim[masks[a]], targets[a], conf_level)
                if found is None or good:
                    found = (t, e)
                if good:
                    break
            parts[a] = found
        t, e = assemble(parts)
        miss = hr_misses(t, e, arm, ctl, hr, strata, conf_level, with_p=True)
        for a in codes:
            tt, ee = parts[a]
            st = km_stats_exact(tt, ee, conf_level)
            miss += sum(1 for w in ("median", "lower", "upper") if not targets[a].ok(w, getattr(st, w)))
            miss += 0 if landmarks_ok(tt, ee, targets[a], conf_level) else 1
        if best_res is None or miss < best_res[0]:
            best_res = (miss, t.copy(), e.copy(), lim.copy())
        # steer the number of events: more withdrawals widen the CIs, fewer narrow them
        widen = 0.0
        for x, tg in hr.items():
            if tg.lower is not None and tg.upper is not None:
                h = pair_hr(t, e, arm, x, ctl, strata, conf_level)
                widen += np.log(tg.upper / tg.lower) - np.log(h[2] / h[1])
        if widen != 0.0 and miss > 0:
            omega = float(np.clip(omega + (0.01 if widen > 0 else -0.01), 0.0, 0.6))
            lim = limits(omega)
        if miss == 0:
            break
    assert best_res is not None
    t, e, lim = best_res[1], best_res[2], best_res[3]
    if searched and hr_misses(t, e, arm, ctl, hr, strata, conf_level) > 0:
        t, e, lim = polish_tail(t, e, lim, arm, ctl, targets, hr, strata, conf_level)
    return TTEResult(t, e, limit_used=lim)


def polish_tail(time, event, lim, arm, control, targets, hr, strata, conf_level, steps: int = 10):
    """Greedy last adjustment of the HRs and their CIs: turn events after every pinned time into censorings
    (new anticancer therapy), or late censorings into events, one at a time. The KM curve up to the pinned
    times -- hence medians, their CIs and landmark rates -- does not change."""
    time, event, lim = time.copy(), event.copy(), lim.copy()
    pin_day = {}
    for a in targets:
        tg = targets[a]
        pts_ = [x for x in (tg.median, tg.lower, tg.upper) if x is not None and np.isfinite(x)] + [lm[0] for lm in tg.landmarks]
        pin_day[a] = (max(pts_) if pts_ else 0.0) * DAYS_PER_MONTH + 1
    cur = hr_misses(time, event, arm, control, hr, strata, conf_level)
    for _ in range(steps):
        if cur == 0:
            break
        best = (cur, None)
        for a in targets:
            late = np.flatnonzero((arm == a) & (time > pin_day[a]))
            for i in late[:: max(1, late.size // 25)]:
                e2 = event.copy()
                e2[i] = not event[i]
                m = hr_misses(time, e2, arm, control, hr, strata, conf_level)
                if m < best[0]:
                    best = (m, i)
        if best[1] is None:
            break
        i = best[1]
        event[i] = not event[i]
        if not event[i]:
            lim[i] = time[i]
        cur = best[0]
    return time, event, lim
