"""Numeric core for Kaplan-Meier and log-rank: plain numpy on validated arrays.

Nothing here checks arguments or builds DataFrames; the public wrappers in
kaplan_meier.py, logrank_test.py, restricted_mean.py and followup.py do that. Every function works on
whole arrays at once (sums over tied times by ``np.add.reduceat``/``bincount``,
risk sets by reverse cumulative sums), so the cost is one sort plus a few
linear passes, with no Python loop over rows or event times.

The formulas follow R survival 3.x so that results agree to rounding:
Greenwood variance and the confidence bands of ``survfit_confint``; medians
and their confidence limits as ``quantile.survfit`` (its ``findq`` helper);
log-rank and Fleming-Harrington G(rho) as ``survdiff``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special as _sp

# quantile.survfit treats survival values within sqrt(eps) of the target as equal
QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class KMArrays:
    """Kaplan-Meier step function at every distinct observed time."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    greenwood: np.ndarray  # variance of log S (R survfit's std.err squared)


def many_ties(time: np.ndarray) -> bool:
    """True for large, heavily tied time arrays (days, 0.1 months), judged on a sample.

    There, hashing (pandas.factorize / unique) and then sorting the few distinct
    values is several times cheaper than sorting every row.
    """
    n = time.size
    if n <= 50_000:
        return False
    sample = time[:: n // 4096]
    return bool(np.unique(sample).size < 0.25 * sample.size)


def time_table(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times (sorted), number at risk and events at each: the only O(n) step of a KM fit.

    Two ways, the same result: with many ties (typical: days or 0.1 months) a
    hash table (pandas.factorize) then a sort of the few distinct times; with
    mostly distinct times, sorting all times and the event times.
    """
    time = time + 0.0  # -0.0 and 0.0 are one time
    n = time.size
    if many_ties(time):
        codes, uniq = pd.factorize(time, sort=False)
        o = np.argsort(uniq)
        n_all = np.bincount(codes, minlength=uniq.size)[o]
        n_event = np.bincount(codes, weights=event, minlength=uniq.size)[o]
        return uniq[o], np.cumsum(n_all[::-1])[::-1], n_event
    ts = np.sort(time)
    te = np.sort(time[event > 0])
    new = np.ones(n, dtype=bool)
    np.not_equal(ts[1:], ts[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    utime = ts[starts]
    # at risk at a time: everyone from its first sorted row on; events: a count in the sorted event times
    n_event = np.diff(np.searchsorted(te, utime, side="left"), append=te.size)
    return utime, n - starts, n_event


def km_arrays(time: np.ndarray, event: np.ndarray) -> KMArrays:
    """Kaplan-Meier estimate with Greenwood's variance of log S, as R survfit (right censoring)."""
    utime, n_risk, n_event = time_table(time, event)
    n_risk = n_risk.astype(float)
    n_event = n_event.astype(float)
    with np.errstate(divide="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        # d/(n(n-d)) is infinite when everyone at risk dies, as in R (std.err Inf); 0 when d = 0
        greenwood = np.cumsum(n_event / (n_risk * (n_risk - n_event)))
    n_censor = n_risk - n_event - np.append(n_risk[1:], 0.0)
    return KMArrays(utime, n_risk, n_event, n_censor, surv, greenwood)


@lru_cache(maxsize=64)
def z_value(conf_level: float) -> float:
    return float(_sp.ndtri(1.0 - (1.0 - conf_level) / 2.0))


def chisq_sf(stat: float | np.ndarray, df: float | np.ndarray) -> np.ndarray | float:
    """Upper tail of the chi-square distribution (scipy.special, without the scipy.stats overhead)."""
    return _sp.chdtrc(df, stat)


def norm_sf2(z: float | np.ndarray) -> np.ndarray | float:
    """Two-sided normal p-value for z."""
    return 2.0 * _sp.ndtr(-np.abs(z))


def km_confint(surv: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits for S(t) from the standard error of log S(t), as R ``survfit_confint``."""
    z = z_value(conf_level)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se_log * surv * z
            lower = np.maximum(surv - se2, 0.0)
            upper = np.minimum(surv + se2, 1.0)
            # R: max(NaN, 0) is NaN where S = 0 and the variance is infinite
            bad = np.isnan(se2)
            lower = np.where(bad, np.nan, lower)
            upper = np.where(bad, np.nan, upper)
        elif conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            se2 = z * se_log
            lower = np.exp(np.log(xx) - se2)
            upper = np.minimum(np.exp(np.log(xx) + se2), 1.0)
            upper = np.where(np.isnan(xx) | np.isnan(se2), np.nan, upper)
        elif conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            # R: exp(-exp(log(-log S) -/+ z se / log S)), i.e. S ** exp(-/+ z se / log S)
            se2 = z * se_log / np.log(xx)
            lower = xx ** np.exp(-se2)
            upper = xx ** np.exp(se2)
        else:  # pragma: no cover - the public wrapper checks the option
            raise ValueError(f"conf_type: {conf_type!r}")
    return lower, upper


def km_quantiles(km: KMArrays, lower: np.ndarray, upper: np.ndarray, probs: np.ndarray,
                 tol: float = QUANTILE_TOL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles of the survival time and their confidence limits, as R ``quantile.survfit``.

    ``probs`` are failure probabilities (0.5 gives the median). A re-statement of
    R survival's ``findq`` for the three curves S, lower, upper at once, on
    y = 1 - curve (non-decreasing): the quantile is the first time y reaches
    p; where y is flat at p (within sqrt(eps)) it is the midpoint of that flat
    stretch; NaN where y never gets there. A confidence limit is NaN where it
    does not exist -- for a KM curve a leading run (S = 1) and a trailing run
    (S = 0) -- and R drops those points, as comparisons with NaN do here.
    """
    t = km.time
    m = t.size
    y = 1.0 - np.vstack((km.surv, lower, upper))[:, None, :]  # curve x prob x time
    pp = np.atleast_1d(np.asarray(probs, dtype=float))[None, :, None]
    g1 = y >= pp - tol
    g2 = y >= pp + tol
    i1 = g1.argmax(axis=2)
    i2 = g2.argmax(axis=2)
    p2 = pp[:, :, 0]
    reached = g2.any(axis=2) & (p2 >= tol)
    out = np.where(reached, (t[i1] + t[i2]) / 2.0, np.nan)
    # R's last-point rule: p within tol of the last defined level (and not above it) gives
    # the midpoint with the last time -- unless R's de-duplicated curve ends in NaN,
    # i.e. a trailing NaN run with no NaN before it. Rare (the curve must end flat at
    # p), so it is looked at only when some curve's top level is that close to some p.
    top = np.fmax.reduce(y[:, 0, :], axis=1)  # highest defined level (NaN-skipping)
    if np.any(np.abs(p2 - top[:, None]) < tol):
        defined = ~np.isnan(y[:, 0, :])
        last_def = m - 1 - defined[:, ::-1].argmax(axis=1)
        y_last = y[np.arange(3), 0, last_def]
        trailing = last_def < m - 1
        leading = defined.sum(axis=1) < last_def + 1
        rule = ~(trailing & ~leading) & defined.any(axis=1)
        # (R returns NA for every p when the curve stays below the smallest p)
        last = rule[:, None] & (np.abs(p2 - y_last[:, None]) < tol) & (y_last[:, None] >= p2.min()) & (p2 >= tol)
        out = np.where(last, (t[i1] + t[-1]) / 2.0, out)
    out[:, p2[0] == 0] = 0.0  # the origin
    return out[0], out[1], out[2]


def step_index(grid: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index of the last grid time <= each requested time (-1 when before the first)."""
    return np.searchsorted(grid, at, side="right") - 1


def rmst_arrays(km: KMArrays, tau: float) -> tuple[float, float]:
    """Area under the KM curve on [0, tau] and its variance, as survRM2 / R ``survmean``.

    The variance sums, over event times t_j <= tau, the squared area from t_j to
    tau times d_j / (n_j (n_j - d_j)), with 0 where n_j = d_j.
    """
    keep = km.time <= tau
    t = np.concatenate((km.time[keep], [tau]))
    s = km.surv[keep]
    d, nr = km.n_event[keep], km.n_risk[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(nr - d == 0, 0.0, d / (nr * (nr - d)))
    areas = np.diff(np.concatenate(([0.0], t))) * np.concatenate(([1.0], s))
    # area from each time point to tau
    tail = np.cumsum(areas[::-1])[::-1][1:]
    var = float(np.sum(tail**2 * hh))
    return float(areas.sum()), var


@dataclass(frozen=True)
class LogrankArrays:
    observed: np.ndarray
    expected: np.ndarray
    var: np.ndarray
    n: np.ndarray


def logrank_arrays(time: np.ndarray, event: np.ndarray, group: np.ndarray, ngroup: int,
                   strata: np.ndarray, nstrata: int, rho: float) -> LogrankArrays:
    """Observed, expected and variance of the G(rho) statistic, summed over strata, as R ``survdiff``.

    ``group`` and ``strata`` are integer codes 0..ngroup-1 and 0..nstrata-1.
    Rows are reduced to a (tied set x group) table of counts, tied sets being the
    distinct (stratum, time) pairs in sorted order; numbers at risk are reverse
    cumulative sums of those counts within each stratum (exact: integers).
    """
    from ._cox_core import tied_sets

    ts = tied_sets(time, strata)
    uid, set_stratum = ts.uid, ts.stratum
    nu = set_stratum.size
    cell = uid * ngroup + group
    at = np.bincount(cell, minlength=nu * ngroup).reshape(nu, ngroup).astype(float)
    dk = np.bincount(cell, weights=event, minlength=nu * ngroup).reshape(nu, ngroup)
    # reverse cumulative sums within strata: total from the set to the end, less the
    # total after the stratum's last set
    rc = np.vstack((np.cumsum(at[::-1], axis=0)[::-1], np.zeros((1, ngroup))))
    new_block = np.ones(nu, dtype=bool)
    new_block[1:] = set_stratum[1:] != set_stratum[:-1]
    starts = np.flatnonzero(new_block)
    ends = np.concatenate((starts[1:], [nu]))
    block_end = np.repeat(ends, np.diff(np.concatenate((starts, [nu]))))
    nk = rc[:-1] - rc[block_end]
    n = nk.sum(axis=1)
    d = dk.sum(axis=1)
    if rho != 0.0:
        # left-continuous pooled KM within each stratum (loop over strata only)
        wt = np.empty(nu)
        for a, b in zip(starts, ends):
            km_after = np.cumprod((n[a:b] - d[a:b]) / n[a:b])
            wt[a:b] = np.concatenate(([1.0], km_after[:-1])) ** rho
    else:
        wt = np.ones(nu)
    obs = (wt[:, None] * dk).sum(axis=0)
    exp = (wt * d / n) @ nk
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where((d > 0) & (n > 1), wt**2 * d * (n - d) / (n * (n - 1.0)), 0.0)
    # sum_t c_t [diag(n_k) - n_j n_k / n]
    var = np.diag(c @ nk) - (nk * (c / n)[:, None]).T @ nk
    n_per = np.bincount(group, minlength=ngroup).astype(float)
    return LogrankArrays(obs, exp, var, n_per)


def logrank_chisq(la: LogrankArrays) -> tuple[float, int]:
    """Chi-square on groups with expected > 0, dropping the first of them, as survdiff."""
    use = la.expected > 0
    df = int(use.sum()) - 1
    if df < 1:
        return float("nan"), max(df, 0)
    diff = (la.observed - la.expected)[use][1:]
    vv = la.var[np.ix_(use, use)][1:, 1:]
    try:
        sol = np.linalg.solve(vv, diff)
    except np.linalg.LinAlgError:
        sol = np.linalg.lstsq(vv, diff, rcond=None)[0]
    return float(sol @ diff), df
