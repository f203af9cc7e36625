"""Compiled per-replicate kernels of the batched trial simulator (numba).

Each replicate needs a sort, tie-group scans and a few Newton steps, all sequential within
the trial; one compiled pass per replicate, parallel over replicates (prange), replaces the
Python loop over trials. Profiling (benchmarks/design_simulate.py) put the sort at half of
the analysis time, hence the bucket sort below. The kernels consume random numbers drawn
beforehand by numpy, so results do not depend on numba's generator or the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# quantile.survfit (R survival) treats survival within sqrt(eps) of 0.5 as equal to it
_QTOL = float(np.sqrt(np.finfo(np.float64).eps))
# aeqSurv (R survival, timefix = TRUE) merges distinct times closer than this (see below)
_TIMEFIX_TOL = float(np.sqrt(np.finfo(np.float64).eps))


@njit(cache=True, inline="always")
def _inverse(y, yb, xb, slope_inv):
    """Inverse of an increasing piecewise-linear map with breakpoints (xb, yb)."""
    j = 0
    while j + 1 < yb.size and yb[j + 1] <= y:
        j += 1
    if y == yb[j]:
        return xb[j]
    return xb[j] + (y - yb[j]) * slope_inv[j]


@njit(cache=True, parallel=True)
def generate(gaps, u_strat, u_block, u_assign, e_pfs, e_drop, acc_y, acc_x, acc_s, cells,
             block_sizes, n_exp_per_block, haz_y, haz_x, haz_s, eta):
    """Patient-level data of each replicate from pre-drawn random numbers.

    Entry times are accrual-quantiles of sorted uniforms (normalized partial sums of n + 1
    exponentials, so no sort); strata are cross-classified cells drawn from ``cells``
    (cumulative probabilities); arms by stratified permuted blocks (see ``assign_arms``);
    PFS by inverting each arm's cumulative hazard (row 1 experimental, row 0 control) at an
    Exp(1) variate; dropout exponential with hazard ``eta[arm]``.
    """
    n_rep, n = e_pfs.shape
    entry = np.empty((n_rep, n))
    stratum = np.empty((n_rep, n), np.int64)
    pfs = np.empty((n_rep, n))
    dropout = np.empty((n_rep, n))
    n_cells = cells.size
    for r in prange(n_rep):
        total = 0.0
        for j in range(n + 1):
            total += gaps[r, j]
        acc = 0.0
        for j in range(n):
            acc += gaps[r, j]
            entry[r, j] = _inverse(acc / total, acc_y, acc_x, acc_s)
            u = u_strat[r, j]
            c = 0
            while c + 1 < n_cells and cells[c] <= u:
                c += 1
            stratum[r, j] = c
    arm = assign_arms(stratum, n_cells, u_block, u_assign, block_sizes, n_exp_per_block)
    n_piece = haz_y.shape[1]
    for r in prange(n_rep):
        for j in range(n):
            a = arm[r, j]
            y = e_pfs[r, j]
            # inverse cumulative hazard, indexing the 2-d tables directly (no row views)
            p = 0
            while p + 1 < n_piece and haz_y[a, p + 1] <= y:
                p += 1
            pfs[r, j] = haz_x[a, p] if y == haz_y[a, p] else haz_x[a, p] + (y - haz_y[a, p]) * haz_s[a, p]
            dropout[r, j] = e_drop[r, j] / eta[a] if eta[a] > 0 else np.inf
    return entry, stratum, arm, pfs, dropout


@njit(cache=True, parallel=True)
def assign_arms(stratum, n_strata, u_block, u_assign, block_sizes, n_exp_per_block):
    """Stratified permuted blocks: one block sequence per stratum, patients in entry order.

    A new block's size is drawn from ``block_sizes`` with ``u_block`` (one value per block,
    counted across strata within a replicate); within a block each patient is experimental
    with probability (experimental slots left) / (slots left), which yields a uniformly
    random arrangement of the block.
    """
    n_rep, n = stratum.shape
    arm = np.zeros((n_rep, n), np.int8)
    nb = block_sizes.size
    for r in prange(n_rep):
        left = np.zeros(n_strata, np.int64)
        left_exp = np.zeros(n_strata, np.int64)
        blocks = 0
        for j in range(n):
            s = stratum[r, j]
            if left[s] == 0:
                k = min(int(u_block[r, blocks] * nb), nb - 1)
                blocks += 1
                left[s] = block_sizes[k]
                left_exp[s] = n_exp_per_block[k]
            if u_assign[r, j] * left[s] < left_exp[s]:
                arm[r, j] = 1
                left_exp[s] -= 1
            left[s] -= 1
    return arm


@njit(cache=True)
def _counting_order(order, key, n_key):
    """Stable bucket sort of the positions ``order`` by the small integer ``key``."""
    counts = np.zeros(n_key + 1, np.int64)
    for i in range(order.size):
        counts[key[order[i]] + 1] += 1
    for k in range(n_key):
        counts[k + 1] += counts[k]
    out = np.empty(order.size, np.int64)
    for i in range(order.size):
        p = order[i]
        out[counts[key[p]]] = p
        counts[key[p]] += 1
    return out


@njit(cache=True)
def _argsort_by_time(time, idx):
    """Positions ``idx`` ordered by ``time``: bucket pass then insertion sort.

    About 4x faster than np.argsort for a trial's few hundred times (profiling: the sort
    was half of the analysis); equal times end up adjacent, which is all the scans need.
    """
    m = idx.size
    tmax = 0.0
    for i in range(m):
        v = time[idx[i]]
        if v > tmax:
            tmax = v
    counts = np.zeros(m + 1, np.int64)
    key = np.empty(m, np.int64)
    scale = m / tmax if tmax > 0 else 0.0
    for i in range(m):
        b = min(int(time[idx[i]] * scale), m - 1)
        key[i] = b
        counts[b + 1] += 1
    for b in range(m):
        counts[b + 1] += counts[b]
    out = np.empty(m, np.int64)
    for i in range(m):
        out[counts[key[i]]] = idx[i]
        counts[key[i]] += 1
    for i in range(1, m):
        p = out[i]
        v = time[p]
        j = i - 1
        while j >= 0 and time[out[j]] > v:
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = p
    return out


@njit(cache=True)
def _timefix_map(order, time, arm, which, mean, out):
    """Write to ``out`` the times of arm ``which`` (-1: all) merged as R's aeqSurv does.

    Along ``order`` (increasing time), a distinct time within tol of the previous distinct
    time -- absolutely, or relative to ``mean`` (of the distinct times) -- takes the value
    of the first time of its run. The map is monotone, so ``order`` still sorts ``out``.
    """
    first = True
    cut = 0.0
    prev = 0.0
    for i in range(order.size):
        p = order[i]
        if which >= 0 and arm[p] != which:
            continue
        v = time[p]
        if first:
            cut = v
            first = False
        elif v != prev:
            dy = v - prev
            if not (dy <= _TIMEFIX_TOL or dy / mean <= _TIMEFIX_TOL):
                cut = v
        prev = v
        out[p] = cut


@njit(cache=True)
def _timefix_trial(order, time, arm, pooled, per_arm):
    """oncotrial.stats' timefix (R aeqSurv) of one trial: over all patients and within each arm.

    One pass finds, for all patients and for each arm, the mean distinct time and the
    smallest gap between consecutive distinct times; only a trial with a gap within the
    tolerance (a few in 10,000 PATINA-sized trials) pays for the mapping passes. Returns
    whether ``pooled`` / ``per_arm`` were written (else the times stand as they are).
    """
    total = np.zeros(3)  # index 0: all patients; 1 + a: arm a
    count = np.zeros(3, np.int64)
    prev = np.zeros(3)
    gap = np.full(3, np.inf)
    for i in range(order.size):
        p = order[i]
        v = time[p]
        for k in (0, 1 + arm[p]):
            if count[k] == 0 or v != prev[k]:
                if count[k] > 0 and v - prev[k] < gap[k]:
                    gap[k] = v - prev[k]
                total[k] += abs(v)
                count[k] += 1
                prev[k] = v
    tied = np.zeros(3, np.bool_)
    mean = np.ones(3)
    for k in range(3):
        if count[k] > 1:
            mean[k] = total[k] / count[k]
            tied[k] = gap[k] <= _TIMEFIX_TOL or gap[k] / mean[k] <= _TIMEFIX_TOL
    if tied[0]:
        _timefix_map(order, time, arm, -1, mean[0], pooled)
    if tied[1] or tied[2]:
        for a in range(2):
            _timefix_map(order, time, arm, a, mean[1 + a], per_arm)
    return tied[0], tied[1] or tied[2]


@njit(cache=True)
def _km_median(order, time, event, arm, which):
    """KM median of one arm in R's quantile.survfit convention (midpoint on an exact 0.5 flat)."""
    surv = 1.0
    x1 = np.nan  # first event time with 1 - S >= 0.5 - tol
    x2 = np.nan  # first event time with 1 - S >= 0.5 + tol
    last_time = np.nan
    n_risk = 0
    for i in range(order.size):
        if arm[order[i]] == which:
            n_risk += 1
    m = order.size
    i = 0
    while i < m:
        p = order[i]
        if arm[p] != which:
            i += 1
            continue
        t = time[p]
        d = 0
        c = 0
        j = i
        # other-arm rows are skipped: ``time`` holds per-arm merged times, sorted within each arm only
        while j < m and (arm[order[j]] != which or time[order[j]] == t):
            if arm[order[j]] == which:
                if event[order[j]]:
                    d += 1
                else:
                    c += 1
            j += 1
        last_time = t
        if d > 0:
            surv = surv * (1.0 - d / n_risk)
            y = 1.0 - surv
            if np.isnan(x1) and y + _QTOL >= 0.5:
                x1 = t
            if np.isnan(x2) and y - _QTOL >= 0.5:
                x2 = t
        n_risk -= d + c
        i = j
    if np.isnan(x1):
        return np.nan
    if np.isnan(x2):
        # the curve ends flat at 0.5: R takes the midpoint with the last observed time
        return 0.5 * (x1 + last_time) if abs(1.0 - surv - 0.5) < _QTOL else np.nan
    return 0.5 * (x1 + x2)


@njit(cache=True)
def _efron_info(beta, n0, n1, d0, d1, n_groups):
    """Efron information of one binary covariate at ``beta``."""
    e = np.exp(beta)
    info = 0.0
    for g in range(n_groups):
        d = d0[g] + d1[g]
        if d == 0:
            continue
        s0 = n0[g] + n1[g] * e
        s1 = n1[g] * e
        dd0 = d0[g] + d1[g] * e
        dd1 = d1[g] * e
        for l in range(d):
            f = l / d
            m = (s1 - f * dd1) / (s0 - f * dd0)
            info += m - m * m
    return info


@njit(cache=True)
def _cox_efron(n0, n1, d0, d1, n_groups, tol, max_iter):
    """Newton-Raphson for the Efron partial likelihood of one binary covariate.

    With a binary covariate the risk-set sums depend only on the at-risk and event counts
    per arm of each (stratum, time) group, so each iteration costs O(groups).
    Returns (beta, information at beta, converged); a fit that does not converge (e.g.
    every event in one arm, beta running off to infinity) gives NaN beta and information,
    as ``oncotrial.stats.cox`` does.
    """
    beta = 0.0
    ll_old = -np.inf
    step = 0.0
    for it in range(max_iter + 1):
        e = np.exp(beta)
        ll = 0.0
        u = 0.0
        info = 0.0
        for g in range(n_groups):
            d = d0[g] + d1[g]
            if d == 0:
                continue
            s0 = n0[g] + n1[g] * e
            s1 = n1[g] * e
            dd0 = d0[g] + d1[g] * e
            dd1 = d1[g] * e
            ll += beta * d1[g]
            u += d1[g]
            for l in range(d):
                f = l / d
                a0 = s0 - f * dd0
                a1 = s1 - f * dd1
                ll -= np.log(a0)
                m = a1 / a0
                u -= m
                info += m - m * m
        if it > 0 and ll < ll_old - 1e-12 * abs(ll_old):
            # overshoot: halve the previous step, as R coxph does
            step *= 0.5
            beta -= step
            if abs(step) < tol:
                # ``info`` above belongs to the rejected beta: recompute at the accepted one
                return beta, _efron_info(beta, n0, n1, d0, d1, n_groups), True
            continue
        if info <= 0.0:
            return np.nan, np.nan, False
        step = u / info
        beta += step
        ll_old = ll
        if abs(step) < tol:
            # one more evaluation gives the information at the converged beta
            return beta, _efron_info(beta, n0, n1, d0, d1, n_groups), True
    return np.nan, np.nan, False


@njit(cache=True)
def _tie_groups(order, key, tfix, ar, event, n0, n1, d0, d1):
    """Tie groups of (key, time) with an event, scanned backwards along ``order`` (sorted by key,
    then time) so that risk sets accumulate within each key; fills the numbers at risk and events
    per arm and returns how many groups there are."""
    m = order.size
    g = 0
    at0 = 0
    at1 = 0
    cur = -1
    i = m - 1
    while i >= 0:
        p = order[i]
        k = key[p]
        if k != cur:
            at0 = 0
            at1 = 0
            cur = k
        t = tfix[p]
        e0 = 0
        e1 = 0
        j = i
        while j >= 0 and key[order[j]] == k and tfix[order[j]] == t:
            q = order[j]
            if ar[q] == 1:
                at1 += 1
                if event[q]:
                    e1 += 1
            else:
                at0 += 1
                if event[q]:
                    e0 += 1
            j -= 1
        if e0 + e1 > 0:
            n0[g] = at0
            n1[g] = at1
            d0[g] = e0
            d1[g] = e1
            g += 1
        i = j
    return g


@njit(cache=True)
def _logrank_sums(n0, n1, d0, d1, g):
    """Events, observed - expected of arm 1 and its hypergeometric variance over ``g`` tie groups."""
    oe = 0.0
    v = 0.0
    dtot = 0
    for k in range(g):
        nn = n0[k] + n1[k]
        dd = d0[k] + d1[k]
        dtot += dd
        oe += d1[k] - dd * n1[k] / nn
        if nn > 1:
            v += dd * (n1[k] / nn) * (n0[k] / nn) * (nn - dd) / (nn - 1.0)
    return dtot, oe, v


@njit(cache=True, parallel=True)
def analyse(entry, pfs, dropout, arm, stratum, n_strata, cut, tol, max_iter):
    """Analyse every replicate at its data cut-off ``cut`` (calendar time, one per replicate).

    Patients randomized by the cut-off are followed to min(PFS, dropout, cut - entry).
    Returns per replicate: enrolled, events, stratified log-rank O-E and V (experimental arm),
    stratified Cox log HR and its information (Efron ties), converged flag, KM medians
    (experimental, control), and the unstratified log-rank O-E and V (one pooled risk set).
    """
    n_rep, n = entry.shape
    out_n = np.zeros(n_rep, np.int64)
    out_d = np.zeros(n_rep, np.int64)
    o_e = np.zeros(n_rep)
    var = np.zeros(n_rep)
    beta = np.zeros(n_rep)
    info = np.zeros(n_rep)
    conv = np.zeros(n_rep, np.bool_)
    med1 = np.zeros(n_rep)
    med0 = np.zeros(n_rep)
    o_e_u = np.zeros(n_rep)
    var_u = np.zeros(n_rep)
    for r in prange(n_rep):
        c = cut[r]
        time = np.empty(n)
        event = np.zeros(n, np.bool_)
        idx = np.empty(n, np.int64)
        m = 0
        for j in range(n):
            if entry[r, j] <= c:
                # the event test repeats the cut-off's own arithmetic (entry + pfs), so the
                # d-th event itself is counted despite rounding
                ev = pfs[r, j] <= dropout[r, j] and entry[r, j] + pfs[r, j] <= c
                event[j] = ev
                time[j] = pfs[r, j] if ev else min(dropout[r, j], c - entry[r, j])
                idx[m] = j
                m += 1
        idx = idx[:m]
        out_n[r] = m
        by_time = _argsort_by_time(time, idx)
        st = stratum[r]
        ar = arm[r]
        # R's timefix, as oncotrial.stats applies it by default: over the whole trial for the
        # log-rank and Cox fits, within each arm for the per-arm KM medians
        tfix = np.empty(n)
        tarm = np.empty(n)
        fixed_all, fixed_arm = _timefix_trial(by_time, time, ar, tfix, tarm)
        if not fixed_all:
            tfix = time
        if not fixed_arm:
            tarm = time
        order = _counting_order(by_time, st, n_strata)
        n0 = np.zeros(m, np.int64)
        n1 = np.zeros(m, np.int64)
        d0 = np.zeros(m, np.int64)
        d1 = np.zeros(m, np.int64)
        g = _tie_groups(order, st, tfix, ar, event, n0, n1, d0, d1)
        dtot, oe, v = _logrank_sums(n0, n1, d0, d1, g)
        out_d[r] = dtot
        o_e[r] = oe
        var[r] = v
        # the unstratified log-rank of the same trial, for a like-for-like check of the
        # unstratified analytic power: tie groups of time alone along the pooled order
        u0 = np.zeros(m, np.int64)
        u1 = np.zeros(m, np.int64)
        f0 = np.zeros(m, np.int64)
        f1 = np.zeros(m, np.int64)
        gu = _tie_groups(by_time, np.zeros(n, np.int64), tfix, ar, event, u0, u1, f0, f1)
        _, oe_u, v_u = _logrank_sums(u0, u1, f0, f1, gu)
        o_e_u[r] = oe_u
        var_u[r] = v_u
        b, inf_, ok = _cox_efron(n0, n1, d0, d1, g, tol, max_iter)
        beta[r] = b
        info[r] = inf_
        conv[r] = ok
        med1[r] = _km_median(by_time, tarm, event, ar, 1)
        med0[r] = _km_median(by_time, tarm, event, ar, 0)
    return out_n, out_d, o_e, var, beta, info, conv, med1, med0, o_e_u, var_u


@njit(cache=True, parallel=True)
def cut_times(entry, pfs, dropout, events):
    """Calendar time of the events[k]-th observable event of each replicate (its last event if fewer)."""
    n_rep, n = entry.shape
    k_max = events.size
    out = np.empty((n_rep, k_max))
    for r in prange(n_rep):
        ce = np.empty(n)
        m = 0
        for j in range(n):
            if pfs[r, j] <= dropout[r, j]:
                ce[m] = entry[r, j] + pfs[r, j]
                m += 1
        order = _argsort_by_time(ce, np.arange(m))
        for k in range(k_max):
            if m == 0:
                out[r, k] = -np.inf
            else:
                out[r, k] = ce[order[min(events[k], m) - 1]]
    return out
