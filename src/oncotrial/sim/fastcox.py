"""A one-covariate stratified Cox fit (Efron ties) in plain numpy, for the reconstruction's search loops.

The search evaluates thousands of candidate data sets; every published figure is
still computed at the end with :func:`oncotrial.stats.cox` (tests check the two
agree). Numeric core only: no argument checks beyond shapes.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm


def _prepare(time: np.ndarray, event: np.ndarray, x: np.ndarray, strata: np.ndarray | None):
    """Event rows with their risk-set and tie-group indices, per stratum."""
    n = time.size
    s = np.zeros(n, dtype=np.int64) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
    # sort by stratum, then time descending (so cumulative sums give risk sets), events before censorings at a tie
    order = np.lexsort((-event.astype(int), -time, s))
    t, e, xx, ss = time[order], event[order].astype(bool), x[order].astype(float), s[order]
    # risk set of an event at time t in stratum k: the rows of k with time >= t, a contiguous run
    risk_end = np.empty(n, dtype=np.int64)
    for k in np.unique(ss):
        idx = np.flatnonzero(ss == k)
        tk = t[idx]
        # rows are in descending time: the risk set of time tk[j] is idx[0] .. last row with time >= tk[j]
        last = np.searchsorted(-tk, -tk, side="right") - 1
        risk_end[idx] = idx[last]
    ev = np.flatnonzero(e)
    # tie groups: events of one stratum at one time
    gid = np.unique(np.stack([ss[ev], t[ev]], axis=1), axis=0, return_inverse=True)[1].ravel()
    d = np.bincount(gid)
    # position of each event within its group (0..d-1)
    order_g = np.argsort(gid, kind="stable")
    pos = np.empty(ev.size, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(d)[:-1]])
    pos[order_g] = np.arange(ev.size) - np.repeat(starts, d)
    # each stratum's cumulative sums start at its first row
    first_row = np.zeros(n, dtype=np.int64)
    for k in np.unique(ss):
        idx = np.flatnonzero(ss == k)
        first_row[idx] = idx[0]
    return xx, ev, risk_end, first_row, gid, d, pos


def cox_1d(time: np.ndarray, event: np.ndarray, x: np.ndarray, strata: np.ndarray | None = None,
           conf_level: float = 0.95, iterations: int = 25) -> tuple[float, float, float]:
    """(HR, lower, upper) of a binary or numeric covariate, Efron ties, Newton-Raphson from beta = 0."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float)
    xx, ev, risk_end, first_row, gid, d, pos = _prepare(time, event, x, strata)
    frac = pos / d[gid]
    beta = 0.0
    info = np.nan
    for _ in range(iterations):
        w = np.exp(beta * xx)
        c0 = np.cumsum(w)
        c1 = np.cumsum(w * xx)
        c2 = np.cumsum(w * xx * xx)

        def risk(c: np.ndarray) -> np.ndarray:
            before = np.where(first_row[ev] > 0, c[first_row[ev] - 1], 0.0)
            return c[risk_end[ev]] - before

        r0, r1, r2 = risk(c0), risk(c1), risk(c2)
        t0 = np.bincount(gid, weights=w[ev])[gid]
        t1 = np.bincount(gid, weights=(w * xx)[ev])[gid]
        t2 = np.bincount(gid, weights=(w * xx * xx)[ev])[gid]
        den0 = r0 - frac * t0
        den1 = r1 - frac * t1
        den2 = r2 - frac * t2
        m = den1 / den0
        score = float(np.sum(xx[ev] - m))
        info = float(np.sum(den2 / den0 - m * m))
        if not np.isfinite(info) or info <= 0:
            break
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    se = 1.0 / np.sqrt(info) if info > 0 else np.nan
    z = norm.ppf(0.5 + conf_level / 2)
    return float(np.exp(beta)), float(np.exp(beta - z * se)), float(np.exp(beta + z * se))
