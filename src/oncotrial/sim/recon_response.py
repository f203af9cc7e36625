"""Reconstruction of responses: who responds, when, and for how long (duration of response).

Responders are drawn from the ORR population; each responder's first response day
``s`` is free between ``S_MIN`` and 29 days before progression, so their duration
of response (progression day - s + 1) can take any value up to their PFS. Event
durations are assigned one at a time to follow a curve through the published DoR
median and CI (as :func:`oncotrial.sim.km_target.follow_curve` does for PFS), then
the defining events are snapped onto the published times.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from oncotrial.sim.km_target import _inverse, km_stats_exact
from oncotrial.sim.recon_tte import CurveTarget, Shape, band_levels, curve_for, pin_arm

S_MIN = 57            # earliest first-response day (8 weeks)
MIN_DOR = 30          # a response needs a confirming assessment >= 28 days later, before progression
CENSORED_START = 85   # censored responders respond at the first scheduled assessment


def _assign(cens: np.ndarray, n_e: int, maxd: dict[int, float], pool: list[int], curve, rng) -> dict[int, float] | None:
    inv = _inverse(curve)
    cs = sorted(cens.tolist())
    out: dict[int, float] = {}
    s, t_prev = 1.0, 1.0
    free = list(pool)
    while len(out) < n_e:
        def n_at(t: float) -> int:
            return (len(cs) - bisect.bisect_left(cs, t)) + (n_e - len(out))
        n_r = n_at(t_prev)
        t = t_prev
        for _ in range(3):
            t = max(float(math.ceil(inv(s * (1 - 0.5 / n_r)))), t_prev)
            if not math.isfinite(t):
                return None
            n_r = n_at(t)
        ok = [i for i in free if maxd[i] >= t]
        if not ok:
            # no one can respond that long: the rest end as late as their progression allows
            rest = sorted(free, key=lambda j: -maxd[j])[: n_e - len(out)]
            if len(rest) < n_e - len(out):
                return None
            for j in rest:
                out[j] = max(maxd[j], MIN_DOR)
            return out
        i = ok[int(rng.integers(len(ok)))]
        free.remove(i)
        out[i] = max(t, MIN_DOR)
        s *= 1 - 1 / n_r
        t_prev = t
    return out


def plan_arm_responses(final: np.ndarray, event: np.ndarray, pop: np.ndarray, k: int, tg: CurveTarget | None,
                       rng: np.random.Generator, conf_level: float = 0.95, tries: int = 108) -> tuple[dict[int, float], bool]:
    """First-response day per responder (patient index -> day) for one arm, and whether the DoR pins hold."""
    cand_e = [int(i) for i in pop if event[i] and final[i] - S_MIN + 1 >= MIN_DOR + 1]
    cand_c = [int(i) for i in pop if not event[i] and final[i] >= CENSORED_START + 28]
    maxd = {i: float(final[i] - S_MIN + 1) for i in cand_e}
    if k == 0:
        return {}, True
    if tg is None or tg.median is None:
        pick = rng.choice(cand_e + cand_c, size=min(k, len(cand_e) + len(cand_c)), replace=False)
        return {int(i): float(CENSORED_START if (not event[i] or final[i] > CENSORED_START + 28) else S_MIN) for i in pick}, True
    best: tuple[float, dict[int, float]] | None = None
    fracs = np.linspace(0.3, 0.9, 6)
    combos = [(f, t, lam, kap) for kap in (0.0, 3.0, 6.0) for lam in (0.0, 0.7, 1.5) for t in (0.5, 1.5) for f in fracs]
    fin_c = final[cand_c] if cand_c else np.array([])
    rank_c = (np.argsort(np.argsort(fin_c)) + 0.5) / max(len(cand_c), 1) if cand_c else np.array([])
    for attempt in range(min(tries, len(combos))):
        frac, tail, lam, kap = combos[attempt]
        n_c = min(int(round(frac * k)), len(cand_c))
        n_e = k - n_c
        if n_e > len(cand_e):
            continue
        # kap > 0 prefers censored responders with short follow-up (few left at risk late)
        w = np.exp(-kap * rank_c) if n_c else None
        chosen_c = rng.choice(cand_c, size=n_c, replace=False, p=w / w.sum()) if n_c else np.array([], int)
        # censored responders respond at a scheduled visit; later first responses shorten their follow-up
        nvis = np.maximum((final[chosen_c] - 28 - CENSORED_START) // 84 + 1, 1) if n_c else np.array([], int)
        j = np.floor(-np.log(rng.random(n_c)) / lam).astype(int) if lam > 0 else np.zeros(n_c, int)
        s_c = CENSORED_START + 84 * np.minimum(j, nvis - 1) if n_c else np.array([])
        cens = final[chosen_c] - s_c + 1 if n_c else np.array([])
        shape = Shape(tail=tail)
        assigned = None
        for _ in range(2):
            curve = curve_for(tg, shape, k)
            assigned = _assign(cens, n_e, maxd, cand_e, curve, rng)
            if assigned is None:
                break
            idx = list(assigned) + [int(i) for i in chosen_c]
            t = np.array([assigned[i] for i in assigned] + list(cens), dtype=float)
            e = np.r_[np.ones(len(assigned), bool), np.zeros(n_c, bool)]
            lo, hi = band_levels(t, e, conf_level)
            shape.s_lo, shape.s_hi = lo, hi
        if assigned is None:
            continue
        idx = list(assigned) + [int(i) for i in chosen_c]
        t = np.array([assigned[i] for i in assigned] + list(cens), dtype=float)
        e = np.r_[np.ones(len(assigned), bool), np.zeros(n_c, bool)]
        limit = np.array([maxd[i] for i in assigned] + list(cens), dtype=float)
        good = pin_arm(t, e, limit, tg, conf_level, lower_bound=np.full(t.size, float(MIN_DOR)))
        st = km_stats_exact(t, e, conf_level)
        miss = sum(not tg.ok(w, getattr(st, w)) for w in ("median", "lower", "upper"))
        starts = {i: float(final[i] - t[j] + 1) for j, i in enumerate(idx)}
        if best is None or miss < best[0]:
            best = (miss, starts)
        if good and miss == 0:
            return starts, True
    if best is None:
        pick = rng.choice(cand_e + cand_c, size=min(k, len(cand_e) + len(cand_c)), replace=False)
        return {int(i): float(CENSORED_START) for i in pick}, False
    return best[1], best[0] == 0
