"""Numeric core of the Cox model: partial likelihood, Newton-Raphson, residuals, PH test.

Rows are put once in (stratum, time) order, so that each tied set -- a
distinct (stratum, time) pair -- is a contiguous run of rows. All risk-set sums
are then made in three sequential steps: per tied set by ``np.add.reduceat``,
reverse cumulative sums over tied sets within a stratum, and a ``repeat`` back
to the rows. The only Python loops are over strata and covariates.

Efron's approximation splits a tied set of d deaths into d sub-steps with
denominators den_k = S0 - (k/d) S0_deaths, k = 0..d-1. Every sum over
sub-steps is written with a handful of per-set scalars

    A1 = sum 1/den_k,  Aw = sum w_k/den_k,
    B1 = sum 1/den_k^2, Bw = sum w_k/den_k^2, Bww = sum w_k^2/den_k^2   (w_k = k/d)

so that, e.g., the sum of the sub-step means is S1*A1 - S1D*Aw, and the first
part of the information is X' diag(r_i c_i) X with c_i the running sum of A1
over the sets at or before row i's time, less Aw for a death of i's own set.
Breslow is the case w_k = 0.

The formulas are those of R survival's coxfit6.c (likelihood, score,
information), coxscore2.c (score residuals, for the robust variance) and
zph1.c / cox.zph (score test for beta(t) = beta + theta g(t)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoxDesign:
    """Centred covariates in (stratum, time) order and the tied-set structure; built once per fit."""

    xt: np.ndarray         # p x n, centred, sorted (rows contiguous: the hot loops run along n)
    event: np.ndarray      # n float 0/1, sorted
    uid: np.ndarray        # n tied-set index of each sorted row (non-decreasing)
    starts: np.ndarray     # U first sorted row of each tied set
    counts: np.ndarray     # U rows per tied set
    n_sets: int            # U
    set_blocks: Blocks      # strata as runs of tied sets
    set_time: np.ndarray   # U time of each tied set
    dset: np.ndarray       # G tied sets with deaths (indices into U)
    d_count: np.ndarray    # G deaths per such set
    sub_grp: np.ndarray    # D death-set index (0..G-1) of each Efron sub-step
    sub_w: np.ndarray      # D Efron down-weight k/d (0 for Breslow)
    sub_first: np.ndarray  # G offset of each set's first sub-step


@dataclass(frozen=True)
class TiedSets:
    """Rows grouped by distinct (stratum, time), sets in sorted order."""

    uid: np.ndarray        # n set of each row
    order: np.ndarray      # n rows in (stratum, time) order
    bounds: np.ndarray     # U + 1 set boundaries in ``order``
    stratum: np.ndarray    # U stratum code of each set
    time: np.ndarray       # U time of each set


def tied_sets(time: np.ndarray, strata: np.ndarray) -> TiedSets:
    """Group rows by (stratum, time): one sort on time, then a stable radix sort on the stratum code."""
    n = time.size
    o1 = np.argsort(time)
    ns = int(strata.max()) + 1 if n else 1
    code_t = np.uint8 if ns <= 256 else (np.uint16 if ns <= 65536 else np.int64)
    order = o1[np.argsort(strata[o1].astype(code_t), kind="stable")]
    t_sorted = time[order]
    s_sorted = strata[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (t_sorted[1:] != t_sorted[:-1]) | (s_sorted[1:] != s_sorted[:-1])
    starts = np.flatnonzero(new)
    uid_sorted = np.cumsum(new) - 1
    uid = np.empty(n, dtype=np.int64)
    uid[order] = uid_sorted
    bounds = np.concatenate((starts, [n]))
    return TiedSets(uid, order, bounds, s_sorted[starts], t_sorted[starts])


def design(time: np.ndarray, event: np.ndarray, xt: np.ndarray, strata: np.ndarray, efron: bool) -> CoxDesign:
    """Sort the rows once and lay out the tied sets; ``xt`` is the covariate matrix as p x n."""
    ts = tied_sets(time, strata)
    set_stratum, set_time = ts.stratum, ts.time
    nsets = set_time.size
    xt = np.take(np.asarray(xt, dtype=float), ts.order, axis=1)
    if xt.shape[1]:
        xt -= xt.mean(axis=1, keepdims=True)
    e = np.asarray(event, dtype=float)[ts.order]
    starts = ts.bounds[:-1]
    counts = np.diff(ts.bounds)
    uid = np.repeat(np.arange(nsets), counts)
    new_block = np.ones(nsets, dtype=bool)
    new_block[1:] = set_stratum[1:] != set_stratum[:-1]
    blocks = np.concatenate((np.flatnonzero(new_block), [nsets]))
    deaths = np.add.reduceat(e, starts) if nsets else np.zeros(0)
    dset = np.flatnonzero(deaths > 0)
    d_count = deaths[dset].astype(np.int64)
    sub_first = np.concatenate(([0], np.cumsum(d_count)[:-1])).astype(np.int64)
    total = int(d_count.sum())
    sub_grp = np.repeat(np.arange(dset.size), d_count)
    if efron and total:
        rank = np.arange(total) - sub_first[sub_grp]
        sub_w = rank / d_count[sub_grp]
    else:
        sub_w = np.zeros(total)
    return CoxDesign(xt, e, uid, starts, counts, nsets, Blocks.make(blocks), set_time, dset, d_count, sub_grp, sub_w,
                     sub_first)


@dataclass(frozen=True)
class Blocks:
    """Strata as runs of tied sets, with a padded (stratum x position) layout when it is
    compact, so that a cumulative sum within every stratum is one numpy call."""

    bounds: np.ndarray            # sets bounds[j]:bounds[j+1] form stratum j
    flat: np.ndarray | None       # flat index of each set in the padded nb x width grid
    width: int

    @classmethod
    def make(cls, bounds: np.ndarray) -> Blocks:
        sizes = np.diff(bounds)
        nb, width = sizes.size, int(sizes.max()) if sizes.size else 0
        total = int(bounds[-1])
        if nb <= 1 or nb * width > 4 * total + 1024:
            return cls(bounds, None, width)
        block = np.repeat(np.arange(nb), sizes)
        pos = np.arange(total) - bounds[:-1][block]
        return cls(bounds, block * width + pos, width)

    def cumsum(self, a: np.ndarray, reverse: bool = False) -> np.ndarray:
        """Cumulative sums of the rows of ``a`` within each stratum (from the end if ``reverse``)."""
        if self.flat is None:
            out = np.empty_like(a)
            for lo, hi in zip(self.bounds[:-1], self.bounds[1:]):  # over strata, not rows
                seg = a[lo:hi][::-1] if reverse else a[lo:hi]
                c = np.cumsum(seg, axis=0)
                out[lo:hi] = c[::-1] if reverse else c
            return out
        nb = self.bounds.size - 1
        grid = np.zeros((nb * self.width,) + a.shape[1:])
        grid[self.flat] = a
        grid = grid.reshape((nb, self.width) + a.shape[1:])
        if reverse:
            grid = np.cumsum(grid[:, ::-1], axis=1)[:, ::-1]
        else:
            grid = np.cumsum(grid, axis=1)
        return grid.reshape((nb * self.width,) + a.shape[1:])[self.flat]


@dataclass(frozen=True)
class SetSums:
    """Risk-set quantities per death set at one beta (G rows), with the per-set Efron scalars."""

    eta: np.ndarray
    risk: np.ndarray
    s1: np.ndarray    # G x p  sum of r x over the risk set
    s1d: np.ndarray   # G x p  sum of r x over the deaths of the set
    logden: np.ndarray  # G  sum_k log den_k
    a1: np.ndarray
    aw: np.ndarray
    b1: np.ndarray
    bw: np.ndarray
    bww: np.ndarray


def set_sums(d: CoxDesign, beta: np.ndarray) -> SetSums:
    eta = beta @ d.xt
    r = np.exp(eta)
    # rows [r, r x], summed per tied set over all rows and over the deaths
    rx = np.empty((d.xt.shape[0] + 1, r.size))
    rx[0] = r
    np.multiply(d.xt, r, out=rx[1:])
    tot = d.set_blocks.cumsum(np.add.reduceat(rx, d.starts, axis=1).T, reverse=True)[d.dset]
    rx *= d.event
    dead = np.add.reduceat(rx, d.starts, axis=1).T[d.dset]
    s0, s1 = tot[:, 0], tot[:, 1:]
    s0d, s1d = dead[:, 0], dead[:, 1:]
    g, w = d.sub_grp, d.sub_w
    den = s0[g] - w * s0d[g]
    inv = 1.0 / den
    inv2 = inv * inv

    def per_set(v: np.ndarray) -> np.ndarray:
        return np.add.reduceat(v, d.sub_first) if v.size else np.zeros(0)

    return SetSums(eta, r, s1, s1d, per_set(np.log(den)), per_set(inv), per_set(w * inv),
                   per_set(inv2), per_set(w * inv2), per_set(w * w * inv2))


def _weighted_gram(xt: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X' diag(w) X for X = xt.T. For a few covariates, p(p+1)/2 dot products beat one
    matrix product with a long inner dimension (by about 3x here)."""
    xw = xt * w
    p = xt.shape[0]
    if p > 8:
        return xw @ xt.T
    g = np.empty((p, p))
    for i in range(p):  # over covariate pairs, not rows
        for j in range(i + 1):
            g[i, j] = g[j, i] = np.dot(xw[i], xt[j])
    return g


def _info(d: CoxDesign, ss: SetSums, weight: np.ndarray | None = None) -> np.ndarray:
    """sum over sub-steps of weight_set * V_k, V_k the risk-set covariance (p x p)."""
    wg = np.ones(d.dset.size) if weight is None else weight
    place = np.zeros(d.n_sets)
    place[d.dset] = wg * ss.a1
    cu = d.set_blocks.cumsum(place)
    own = np.zeros(d.n_sets)
    own[d.dset] = wg * ss.aw
    c = np.repeat(cu, d.counts) - d.event * np.repeat(own, d.counts)
    first = _weighted_gram(d.xt, ss.risk * c)
    s1, s1d = ss.s1, ss.s1d
    cross = (s1 * (wg * ss.bw)[:, None]).T @ s1d
    means = (s1 * (wg * ss.b1)[:, None]).T @ s1 - cross - cross.T + (s1d * (wg * ss.bww)[:, None]).T @ s1d
    return first - means


def loglik_score_info(d: CoxDesign, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score vector and information matrix at ``beta``."""
    p = d.xt.shape[0]
    if d.dset.size == 0:
        return 0.0, np.zeros(p), np.zeros((p, p))
    ss = set_sums(d, beta)
    ll = float(ss.eta @ d.event - ss.logden.sum())
    u = d.xt @ d.event - (ss.s1 * ss.a1[:, None] - ss.s1d * ss.aw[:, None]).sum(axis=0)
    return ll, u, _info(d, ss)


def loglik_only(d: CoxDesign, beta: np.ndarray) -> float:
    if d.dset.size == 0:
        return 0.0
    ss = set_sums(d, beta)
    return float(ss.eta @ d.event - ss.logden.sum())


@dataclass(frozen=True)
class NewtonResult:
    beta: np.ndarray
    loglik: float
    u: np.ndarray
    info: np.ndarray
    loglik0: float
    u0: np.ndarray
    info0: np.ndarray
    iterations: int
    converged: bool
    last_step: np.ndarray


def newton(d: CoxDesign, max_iter: int = 30, step_tol: float = 1e-10) -> NewtonResult:
    """Newton-Raphson from beta = 0 with step halving, as coxfit6; stops on a negligible step.

    Stopping on the step (not only on R's relative log-likelihood change) makes
    the estimate accurate to about 1e-12, so agreement with R is limited by R's
    own convergence, not ours.
    """
    p = d.xt.shape[0]
    beta = np.zeros(p)
    ll, u, info = loglik_score_info(d, beta)
    ll0, u0, info0 = ll, u, info
    step = np.full(p, np.inf)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, u, rcond=None)[0]
        if it > 1 and np.all(np.abs(step) <= step_tol * (1.0 + np.abs(beta))):
            # the next step is negligible: beta is the maximum to ~1e-10 and its
            # log-likelihood, score and information are already in hand
            converged = True
            it -= 1
            break
        new = beta + step
        ll_new, u_new, info_new = loglik_score_info(d, new)
        halvings = 0
        while not (ll_new >= ll - 1e-12 * max(1.0, abs(ll))) and halvings < 30:
            new = (new + beta) / 2.0
            ll_new, u_new, info_new = loglik_score_info(d, new)
            halvings += 1
        step = new - beta
        beta, ll, u, info = new, ll_new, u_new, info_new
        if np.all(np.abs(step) <= step_tol * (1.0 + np.abs(beta))):
            converged = True
            break
    return NewtonResult(beta, ll, u, info, ll0, u0, info0, it, converged, step)


def score_residuals(d: CoxDesign, beta: np.ndarray) -> np.ndarray:
    """Score residuals per row (in the design's sorted order), as R coxscore2.c (Efron or Breslow)."""
    p, n = d.xt.shape
    x = d.xt.T
    if d.dset.size == 0:
        return np.zeros((n, p))
    ss = set_sums(d, beta)
    s1, s1d = ss.s1, ss.s1d
    # per death set: total hazard, hazard-weighted mean, their down-weighted parts, mean of the means
    m_g = s1 * ss.b1[:, None] - s1d * ss.bw[:, None]
    mb_g = s1 * ss.bw[:, None] - s1d * ss.bww[:, None]
    mbar_g = (s1 * ss.a1[:, None] - s1d * ss.aw[:, None]) / d.d_count[:, None]
    place_h = np.zeros(d.n_sets)
    place_h[d.dset] = ss.a1
    place_m = np.zeros((d.n_sets, p))
    place_m[d.dset] = m_g
    hcum = np.repeat(d.set_blocks.cumsum(place_h), d.counts)
    mcum = np.repeat(d.set_blocks.cumsum(place_m), d.counts, axis=0)
    r = ss.risk[:, None]
    resid = -r * (x * hcum[:, None] - mcum)
    rows = np.flatnonzero(d.event > 0)
    gmap = np.full(d.n_sets, -1)
    gmap[d.dset] = np.arange(d.dset.size)
    g = gmap[d.uid[rows]]
    xd = x[rows]
    resid[rows] += xd - mbar_g[g] + r[rows] * (xd * ss.aw[g][:, None] - mb_g[g])
    return resid


def zph_score(d: CoxDesign, beta: np.ndarray, g_set: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and information of the model with added x * g(t) terms at (beta, 0), as R zph1.

    ``g_set`` is g(t) for each death set. Returns (u of length 2p with the first
    p entries 0, imat 2p x 2p).
    """
    p = d.xt.shape[0]
    ss = set_sums(d, beta)
    i11 = _info(d, ss)
    i12 = _info(d, ss, g_set)
    i22 = _info(d, ss, g_set**2)
    gd = np.zeros(d.n_sets)
    gd[d.dset] = g_set
    u2 = d.xt @ (d.event * np.repeat(gd, d.counts)) - ((ss.s1 * ss.a1[:, None] - ss.s1d * ss.aw[:, None]) * g_set[:, None]).sum(axis=0)
    imat = np.block([[i11, i12], [i12.T, i22]])
    return np.concatenate((np.zeros(p), u2)), imat
