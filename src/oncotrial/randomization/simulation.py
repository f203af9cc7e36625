"""Balance simulation: how unbalanced do trials get under each allocation method?

Patients' factor levels are drawn independently with the given prevalences, and
each simulated trial is allocated by the method. Blocks and simple randomization
depend only on how many patients each stratum receives, so they are simulated on
per-stratum counts, vectorized over trials; minimization is sequential in the
patients but vectorized over trials, and uses the same scoring and biased-coin
core as :class:`~oncotrial.randomization.Minimization`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from oncotrial.randomization._checks import (
    check_arms,
    check_block_sizes,
    check_count,
    check_levels,
    check_probabilities,
    check_ratio,
    check_seed,
)
from oncotrial.randomization._rng import stream
from oncotrial.randomization.balance import imbalance
from oncotrial.randomization.minimization import IMBALANCE, choose_arm, imbalance_scores
from oncotrial.randomization.strata import enumerate_strata

METHODS = ("blocks", "simple", "minimization")
_ALIASES = {"permuted_blocks": "blocks"}
METRICS = ("max_stratum_imbalance", "max_marginal_imbalance", "overall_imbalance", "max_site_imbalance")

Draws = Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]


# ------------------------------------------------------------------ numeric cores
def block_counts(
    rng: np.random.Generator,
    stratum_n: np.ndarray,
    ratio: tuple[int, ...],
    block_sizes: tuple[int, ...],
    size_probs: tuple[float, ...],
) -> np.ndarray:
    """Arm counts (T, S, K) when each stratum's ``stratum_n`` (T, S) patients follow permuted blocks.

    Complete blocks contribute exactly the ratio; only the block in progress matters.
    Its start is found from cumulated random block sizes, and its arms so far are a
    multivariate hypergeometric draw (sequential hypergeometrics) from the block.

    Example
    -------
    >>> out = block_counts(np.random.default_rng(0), np.array([[5, 8]]), (1, 1), (2,), (1.0,))
    >>> out[0, 1].tolist(), int(out[0, 0].sum()), sorted(out[0, 0].tolist())
    ([4, 4], 5, [2, 3])
    """
    t, s = stratum_n.shape
    k = len(ratio)
    total = sum(ratio)
    out = np.zeros((t, s, k), dtype=np.int64)
    sizes = np.asarray(block_sizes)
    for j in range(s):
        c = stratum_n[:, j]
        n_blocks = int(c.max()) // int(sizes.min()) + 1
        drawn = sizes[rng.choice(len(sizes), size=(t, n_blocks), p=size_probs)]
        ends = np.cumsum(drawn, axis=1)
        complete = (ends <= c[:, None]).sum(axis=1)  # whole blocks already filled
        start = np.where(complete > 0, np.take_along_axis(ends, np.maximum(complete - 1, 0)[:, None], 1)[:, 0], 0)
        b = np.take_along_axis(drawn, np.minimum(complete, n_blocks - 1)[:, None], 1)[:, 0]
        m = c - start  # patients in the block in progress, 0 <= m < b
        left_size, left_draw = b.copy(), m.copy()
        for a in range(k):
            full = start * ratio[a] // total
            if a == k - 1:
                x = left_draw
            else:
                good = b * ratio[a] // total
                x = rng.hypergeometric(good, left_size - good, left_draw)
            out[:, j, a] = full + x
            left_size = left_size - b * ratio[a] // total
            left_draw = left_draw - x
    return out


def minimization_arms(
    profiles: np.ndarray,
    n_levels: Sequence[int],
    ratio: Sequence[int],
    weights: Sequence[float],
    imbalance_kind: str,
    p_best: float,
    draws: Draws,
) -> np.ndarray:
    """Arm index (T, n) of every patient of T trials allocated by minimization.

    ``profiles`` (T, n, F) holds level indices; ``draws(i)`` returns the uniforms for
    patient i: ties (T, K), choice (T,), other (T,).

    Example
    -------
    >>> def draws(i):  # the same uniforms for every patient
    ...     return np.full((1, 2), 0.5), np.full(1, 0.3), np.full(1, 0.5)
    >>> minimization_arms(np.zeros((1, 4, 1), dtype=int), [1], (1, 1), [1.0], "range", 1.0, draws).tolist()
    [[0, 1, 0, 1]]
    """
    t, n, f = profiles.shape
    k = len(ratio)
    n_lev = max(n_levels)
    # one row of K arm counts per (trial, factor, level); gathering rows by a flat
    # index is much cheaper than three-array fancy indexing on a 4-D array
    counts = np.zeros((t * f * n_lev, k), dtype=np.int32)
    base = (np.arange(t)[:, None] * f + np.arange(f)[None, :]) * n_lev
    r = np.asarray(ratio, dtype=float)
    w = np.asarray(weights, dtype=float)
    probs = r / r.sum()
    arms = np.empty((t, n), dtype=np.int8)
    for i in range(n):
        rows = base + profiles[:, i, :]  # (T, F)
        g = imbalance_scores(counts[rows], r, w, imbalance_kind)
        u_ties, u_choice, u_other = draws(i)
        a = choose_arm(g, probs, p_best, u_ties, u_choice, u_other)
        counts[rows, a[:, None]] += 1
        arms[:, i] = a
    return arms


# ------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class BalanceSimulation:
    """Per-trial arm counts by stratum from :func:`simulate_balance`, and imbalance metrics.

    ``counts`` has shape (trials, strata, arms); ``site_counts`` (trials, sites, arms)
    only for minimization with sites. Imbalance is the range of ``n_j / ratio_j``.
    """

    method: str
    n: int
    trials: int
    seed: int
    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    strata: tuple[str, ...]
    factors: tuple[tuple[str, tuple[str, ...]], ...]
    counts: np.ndarray
    site_counts: np.ndarray | None = None
    _cache: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.counts.setflags(write=False)
        if self.site_counts is not None:
            self.site_counts.setflags(write=False)

    def _metric(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._compute(name)
            self._cache[name].setflags(write=False)
        return self._cache[name]

    def _compute(self, name: str) -> np.ndarray:
        if name == "max_stratum_imbalance":
            return imbalance(self.counts, self.ratio).max(axis=1)
        if name == "overall_imbalance":
            return imbalance(self.counts.sum(axis=1), self.ratio)
        if name == "max_marginal_imbalance":
            keys = [dict(part.split("=") for part in s.split("|")) for s in self.strata]
            worst = np.zeros(self.trials)
            for f, levels in self.factors:
                for lv in levels:
                    member = np.array([kv[f] == lv for kv in keys])
                    worst = np.maximum(worst, imbalance(self.counts[:, member, :].sum(axis=1), self.ratio))
            return worst
        if name == "max_site_imbalance":
            if self.site_counts is None:
                return np.full(self.trials, np.nan)
            return imbalance(self.site_counts, self.ratio).max(axis=1)
        raise ValueError(f"metric: {name!r} is not one of {', '.join(map(repr, METRICS))}")

    @property
    def max_stratum_imbalance(self) -> np.ndarray:
        """Per trial, the largest within-stratum imbalance."""
        return self._metric("max_stratum_imbalance")

    @property
    def max_marginal_imbalance(self) -> np.ndarray:
        """Per trial, the largest imbalance within one level of one factor."""
        return self._metric("max_marginal_imbalance")

    @property
    def overall_imbalance(self) -> np.ndarray:
        """Per trial, the imbalance of the whole trial."""
        return self._metric("overall_imbalance")

    @property
    def max_site_imbalance(self) -> np.ndarray:
        """Per trial, the largest within-site imbalance (NaN unless sites were simulated)."""
        return self._metric("max_site_imbalance")

    def to_frame(self) -> pd.DataFrame:
        """One row per simulated trial with each imbalance metric."""
        data = {"trial": np.arange(1, self.trials + 1)}
        for m in METRICS:
            if m == "max_site_imbalance" and self.site_counts is None:
                continue
            data[m] = self._metric(m)
        return pd.DataFrame(data)

    def distribution(self, metric: str = "max_stratum_imbalance") -> pd.DataFrame:
        """Frequency table of one metric: value, count, proportion, cumulative proportion."""
        values = self._metric(metric)
        uniq, cnt = np.unique(values, return_counts=True)
        return pd.DataFrame(
            {"value": uniq, "count": cnt, "proportion": cnt / self.trials, "cumulative": np.cumsum(cnt) / self.trials}
        )

    def summary(self) -> pd.DataFrame:
        """Per metric: mean, sd, median, 95th and 99th percentile, maximum."""
        rows = []
        for m in METRICS:
            if m == "max_site_imbalance" and self.site_counts is None:
                continue
            v = self._metric(m)
            rows.append(
                {
                    "method": self.method,
                    "metric": m,
                    "mean": float(v.mean()),
                    "sd": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                    "median": float(np.median(v)),
                    "p95": float(np.quantile(v, 0.95)),
                    "p99": float(np.quantile(v, 0.99)),
                    "max": float(v.max()),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, object]:
        """Settings and the summary as plain Python objects."""
        return {
            "method": self.method,
            "n": self.n,
            "trials": self.trials,
            "seed": self.seed,
            "arms": list(self.arms),
            "ratio": list(self.ratio),
            "summary": self.summary().to_dict(orient="records"),
        }


# ------------------------------------------------------------------ interface
def _draw_levels(rng: np.random.Generator, probs: tuple[float, ...], size: tuple[int, int]) -> np.ndarray:
    cum = np.cumsum(probs)
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(size), side="right").astype(np.int16)


def simulate_balance(
    method: str,
    n: int,
    trials: int,
    strata_levels: Mapping[str, Sequence[str]],
    prevalence: Mapping[str, Sequence[float]] | None = None,
    arms: Sequence[str] = ("A", "B"),
    ratio: Sequence[int] = (1, 1),
    block_sizes: Sequence[int] = (2, 4),
    block_size_weights: Sequence[float] | None = None,
    weights: Mapping[str, float] | None = None,
    imbalance_kind: str = "range",
    p_best: float = 0.8,
    n_sites: int | None = None,
    site_weight: float = 1.0,
    seed: int = 0,
) -> BalanceSimulation:
    """Simulate ``trials`` trials of ``n`` patients and record arm counts per stratum.

    ``method`` is ``"blocks"`` (stratified permuted blocks, sizes drawn from
    ``block_sizes``), ``"simple"`` or ``"minimization"`` (Pocock-Simon over the
    stratification factors, optionally plus ``n_sites`` equally likely sites as one more
    factor with ``site_weight``). ``prevalence`` gives each factor's level
    probabilities (default equal); factors are independent.

    Example
    -------
    >>> sim = simulate_balance("blocks", n=518, trials=1000,
    ...     strata_levels={"resp": ["CR_PR", "SD"], "prior": ["YES", "NO"]},
    ...     prevalence={"resp": [0.685, 0.315], "prior": [0.3, 0.7]}, seed=1)
    >>> sim.counts.shape
    (1000, 4, 2)
    >>> int(sim.max_stratum_imbalance.max()) <= 2   # blocks of 2 and 4: at most 2 apart
    True
    """
    method = _ALIASES.get(method, method)
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of {', '.join(map(repr, METHODS))}")
    n = check_count(n, "n")
    trials = check_count(trials, "trials")
    levels = check_levels(strata_levels)
    arm_codes = check_arms(arms)
    r = check_ratio(ratio, len(arm_codes))
    seed = check_seed(seed)
    prevalence = dict(prevalence or {})
    unknown = [f for f in prevalence if f not in levels]
    if unknown:
        raise ValueError(f"prevalence: {unknown[0]!r} is not a factor; expected some of {', '.join(map(repr, levels))}")
    probs = {f: check_probabilities(prevalence.get(f), len(lv), f"prevalence[{f!r}]") for f, lv in levels.items()}
    if imbalance_kind not in IMBALANCE:
        raise ValueError(f"imbalance_kind: {imbalance_kind!r} is not one of {', '.join(map(repr, IMBALANCE))}")
    if n_sites is not None:
        n_sites = check_count(n_sites, "n_sites")
        if method != "minimization":
            raise ValueError(f"n_sites: only minimization uses sites as a factor, not method {method!r}")
    strata = tuple(s.key for s in enumerate_strata(levels))
    factor_info = tuple((f, lv) for f, lv in levels.items())
    rng = stream(seed, f"simulate_balance/{method}")

    if method in ("blocks", "simple"):
        p_strata = np.ones(1)
        for f in levels:
            p_strata = np.outer(p_strata, probs[f]).ravel()
        stratum_n = rng.multinomial(n, p_strata / p_strata.sum(), size=trials)
        if method == "blocks":
            sizes = check_block_sizes(block_sizes, r)
            size_probs = check_probabilities(block_size_weights, len(sizes), "block_size_weights")
            counts = block_counts(rng, stratum_n, r, sizes, size_probs)
        else:
            counts = rng.multinomial(stratum_n, np.asarray(r) / sum(r))
        return BalanceSimulation(method, n, trials, seed, arm_codes, r, strata, factor_info, counts.astype(np.int32))

    # minimization
    w = dict(weights or {})
    unknown = [f for f in w if f not in levels]
    if unknown:
        raise ValueError(f"weights: {unknown[0]!r} is not a factor; expected some of {', '.join(map(repr, levels))}")
    factor_weights = [float(w.get(f, 1.0)) for f in levels]
    if not (1.0 / len(arm_codes) <= float(p_best) <= 1.0):
        raise ValueError(f"p_best: {p_best!r} must lie in [1/{len(arm_codes)}, 1]")
    profile_parts = [_draw_levels(rng, probs[f], (trials, n)) for f in levels]
    n_levels = [len(lv) for lv in levels.values()]
    if n_sites is not None:
        if not np.isfinite(site_weight) or site_weight < 0:
            raise ValueError(f"site_weight: expected a finite number >= 0, got {site_weight!r}")
        profile_parts.append(rng.integers(0, n_sites, size=(trials, n), dtype=np.int16))
        n_levels.append(n_sites)
        factor_weights.append(float(site_weight))
    profiles = np.stack(profile_parts, axis=-1)
    k = len(arm_codes)

    def draws(_: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u = rng.random((trials, k + 2))
        return u[:, :k], u[:, k], u[:, k + 1]

    arms_idx = minimization_arms(profiles, n_levels, r, factor_weights, imbalance_kind, float(p_best), draws)
    n_strat = len(levels)
    stratum_idx = np.ravel_multi_index(tuple(profiles[:, :, j] for j in range(n_strat)), [len(lv) for lv in levels.values()])
    counts = _tally(stratum_idx, arms_idx, len(strata), k)
    site_counts = _tally(profiles[:, :, -1].astype(np.int64), arms_idx, n_sites, k) if n_sites is not None else None
    return BalanceSimulation(method, n, trials, seed, arm_codes, r, strata, factor_info, counts, site_counts)


def _tally(group: np.ndarray, arm: np.ndarray, n_groups: int, k: int) -> np.ndarray:
    """Counts (T, groups, K) from per-patient group (T, n) and arm (T, n) indices."""
    t = group.shape[0]
    flat = (np.arange(t)[:, None] * n_groups + group) * k + arm
    return np.bincount(flat.ravel(), minlength=t * n_groups * k).reshape(t, n_groups, k).astype(np.int32)
