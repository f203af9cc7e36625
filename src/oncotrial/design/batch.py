"""Generating and analysing a batch of replicates: the compiled kernels behind ``simulate_design``.

Each replicate is a complete trial: stratified permuted-block randomization, entry by the
accrual curve, piecewise-exponential PFS per arm, exponential dropout, and event-driven
analyses (the data cut-off of look k is the calendar time of the d_k-th event). Every look
of every replicate is analysed by a stratified log-rank test, a stratified Cox model (Efron
ties) and Kaplan-Meier medians per arm, in compiled per-replicate kernels. As in
``oncotrial.stats`` and R survival (``timefix = TRUE``), times equal up to floating-point
error are merged first (over the trial for log-rank and Cox, within each arm for the
medians): in about 3 of 10,000 PATINA-sized trials two distinct times do fall within that
tolerance, and the batch must give the same numbers as the one-trial path. The kernels
merge on their own sorted order (the merge is monotone), so it costs two linear passes.

Random numbers are drawn per *seed block* of ``SEED_BLOCK`` replicates, block j seeded by
``SeedSequence(seed, spawn_key=(j,))``: replicate i is the same trial however the run is
chunked (locally or across a Dask cluster) and however many replicates are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from oncotrial._seed import check_seed as _check_seed
from oncotrial.design import _kernels
from oncotrial.design.settings import SimulationSettings

SEED_BLOCK = 250
_COX_TOL = 1e-10
_COX_MAX_ITER = 50


@dataclass(frozen=True)
class TrialBatch:
    """Patient-level data of replicates ``first`` .. ``first + n_replicates - 1`` (arrays replicate x patient).

    Patients are in randomization (entry) order; ``pfs`` and ``dropout`` are latent times
    from randomization (a patient's PFS is observed only if it precedes dropout and the cut).
    """

    settings: SimulationSettings
    first: int
    entry: np.ndarray
    pfs: np.ndarray
    dropout: np.ndarray
    arm: np.ndarray
    stratum: np.ndarray

    @property
    def n_replicates(self) -> int:
        return int(self.entry.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Latent data of every replicate, one row per patient (long format)."""
        r, n = self.entry.shape
        return pd.DataFrame(
            {
                "replicate": np.repeat(np.arange(self.first, self.first + r), n),
                "patient": np.tile(np.arange(1, n + 1), r),
                "ENTRY": self.entry.ravel(),
                "PFS": self.pfs.ravel(),
                "DROPOUT": self.dropout.ravel(),
                "TRT01PN": self.arm.ravel().astype(int),
                "STRATUM": self.stratum.ravel().astype(int),
            }
        )

    def to_dict(self) -> dict:
        return {"settings": self.settings.to_dict(), "first": self.first,
                **{k: getattr(self, k).tolist() for k in ("entry", "pfs", "dropout", "arm", "stratum")}}

    def calendar_events(self) -> np.ndarray:
        """Calendar time of each patient's observable event (inf if dropout comes first)."""
        return np.where(self.pfs <= self.dropout, self.entry + self.pfs, np.inf)

    def cut_times(self) -> np.ndarray:
        """Data cut-off of each look: the calendar time of the d_k-th event (replicate x look).

        A replicate that never reaches d_k events is analysed at its last event.
        """
        ev = np.asarray(self.settings.events_per_look, np.int64)
        return _kernels.cut_times(self.entry, self.pfs, self.dropout, ev)

    def replicate(self, i: int, look: int | None = None) -> pd.DataFrame:
        """Replicate ``i`` (global index) as a patient-level DataFrame.

        With ``look`` (1-based), only patients randomized by that look's cut-off, with
        follow-up cut there; without, every patient followed to PFS or dropout.
        Columns: USUBJID, ARM (arm code), TRT01PN (1 experimental, 0 control), STRATUM,
        one column per stratification factor (level index), ENTRY, AVAL, EVENT, CNSR.
        """
        j = i - self.first
        if not (0 <= j < self.n_replicates):
            raise ValueError(f"i: replicate {i} is not in this batch ({self.first}..{self.first + self.n_replicates - 1})")
        s = self.settings
        entry, pfs, drop = self.entry[j], self.pfs[j], self.dropout[j]
        if look is None:
            cut = np.inf
        else:
            if not (1 <= look <= s.n_looks):
                raise ValueError(f"look: expected 1..{s.n_looks}, got {look!r}")
            # only this row: looping over a batch must not redo every replicate's cuts (O(R^2))
            ev = np.asarray(s.events_per_look[look - 1:look], np.int64)
            cut = float(_kernels.cut_times(self.entry[j:j + 1], self.pfs[j:j + 1], self.dropout[j:j + 1], ev)[0, 0])
        keep = entry <= cut
        # the same arithmetic as the analysis kernel: an event counts if entry + pfs <= cut
        event = (pfs <= drop) & (entry + pfs <= cut)
        aval = np.where(event, pfs, np.minimum(drop, cut - entry))
        arm = self.arm[j].astype(int)
        df = pd.DataFrame(
            {
                "USUBJID": [f"SIM-{i:07d}-{k + 1:04d}" for k in range(entry.size)],
                "ARM": np.where(arm == 1, s.arm_codes[0], s.arm_codes[1]),
                "TRT01PN": arm,
                "STRATUM": self.stratum[j].astype(int),
            }
        )
        names = s.strata_names or tuple(f"STRAT{f + 1}" for f in range(len(s.strata)))
        codes = self.stratum[j].astype(int)
        for f in reversed(range(len(s.strata))):
            size = len(s.strata[f])
            df[names[f]] = codes % size
            codes = codes // size
        df["ENTRY"] = entry
        df["AVAL"] = aval
        df["EVENT"] = event.astype(int)
        df["CNSR"] = 1 - df["EVENT"]
        return df.loc[keep].reset_index(drop=True)


def _check_replicates(n_replicates: int, name: str = "n_replicates") -> int:
    if not isinstance(n_replicates, (int, np.integer)) or n_replicates < 1:
        raise ValueError(f"{name}: expected a positive integer, got {n_replicates!r}")
    return int(n_replicates)


def _piecewise_inverse_params(breaks_x: np.ndarray, rates: np.ndarray, scale: float = 1.0):
    """(y breakpoints, x breakpoints, dx/dy per piece) of y = scale * int_0^x rate."""
    y = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(breaks_x))]) * scale
    with np.errstate(divide="ignore"):
        s_inv = np.where(rates > 0, 1.0 / (np.where(rates > 0, rates, 1.0) * scale), np.inf)
    return y, breaks_x.astype(float), s_inv


def _draw(settings: SimulationSettings, seed: int, b0: int, b1: int):
    """Random numbers of seed blocks b0..b1, each block from its own spawned stream."""
    n, m = settings.n_subjects, SEED_BLOCK
    total = (b1 - b0 + 1) * m
    gaps = np.empty((total, n + 1))
    # decisions only (stratum cell, block size, slot): single precision is plenty
    u_strat, u_block, u_assign = (np.empty((total, n), np.float32) for _ in range(3))
    e_pfs, e_drop = np.empty((total, n)), np.empty((total, n))
    for k, block in enumerate(range(b0, b1 + 1)):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
        rows = slice(k * m, (k + 1) * m)
        rng.standard_exponential(out=gaps[rows])
        for u in (u_strat, u_block, u_assign):
            rng.random(out=u[rows], dtype=np.float32)
        rng.standard_exponential(out=e_pfs[rows])
        rng.standard_exponential(out=e_drop[rows])
    return gaps, u_strat, u_block, u_assign, e_pfs, e_drop


def simulate_trials(settings: SimulationSettings, n_replicates: int, seed: int, first: int = 0) -> TrialBatch:
    """Patient-level data of replicates ``first`` .. ``first + n_replicates - 1``.

    Example:
        >>> from oncotrial.design import sample_size_survival
        >>> d = sample_size_survival(0.667, median_control=24, accrual_time=(0, 48), max_subjects=518)
        >>> from oncotrial.design.settings import settings_from_design
        >>> batch = simulate_trials(settings_from_design(d), n_replicates=10, seed=1)
        >>> batch.entry.shape
        (10, 518)
    """
    if not isinstance(settings, SimulationSettings):
        raise ValueError("settings: expected SimulationSettings")
    n_replicates = _check_replicates(n_replicates)
    seed = _check_seed(seed)
    if not isinstance(first, (int, np.integer)) or first < 0:
        raise ValueError(f"first: expected a non-negative integer, got {first!r}")
    b0, b1 = first // SEED_BLOCK, (first + n_replicates - 1) // SEED_BLOCK
    lo = first - b0 * SEED_BLOCK
    draws = [a[lo : lo + n_replicates] for a in _draw(settings, seed, b0, b1)]

    acc = settings.accrual
    acc_rates = np.asarray(acc.intensity, float) / acc.n
    ay, ax, as_ = _piecewise_inverse_params(np.asarray(acc.time[:-1], float), acc_rates)
    cells = np.cumsum(settings.cell_probabilities())
    sizes = np.asarray(settings.block_sizes, np.int64)
    n_exp = sizes * settings.allocation[0] // sum(settings.allocation)
    pieces = [settings.control, settings.experimental]
    p_max = max(len(p.starts) for p in pieces)
    hy, hx, hs = (np.full((2, p_max), np.inf) for _ in range(3))
    for a, pe in enumerate(pieces):
        y, x, s_inv = _piecewise_inverse_params(np.asarray(pe.starts, float), np.asarray(pe.hazards, float))
        hy[a, : y.size], hx[a, : x.size], hs[a, : s_inv.size] = y, x, s_inv
    eta = np.array([settings.dropout_hazards[1], settings.dropout_hazards[0]], float)
    entry, stratum, arm, pfs, dropout = _kernels.generate(
        *draws, ay, ax, as_, cells, sizes, n_exp, hy, hx, hs, eta
    )
    return TrialBatch(settings, first, entry, pfs, dropout, arm, stratum.astype(np.int16))


def replicate_frame(settings: SimulationSettings, seed: int, i: int, look: int | None = None) -> pd.DataFrame:
    """Replicate ``i`` of a run with ``seed`` as a patient-level DataFrame (see ``TrialBatch.replicate``).

    It is the very trial that ``simulate_design(settings, n, seed)`` analysed as replicate ``i``,
    for re-analysis with the one-trial code path (``oncotrial.stats``) or R.
    """
    if not isinstance(i, (int, np.integer)) or i < 0:
        raise ValueError(f"i: expected a non-negative replicate index, got {i!r}")
    return simulate_trials(settings, 1, seed, first=int(i)).replicate(int(i), look)


@dataclass(frozen=True)
class BatchAnalysis:
    """Per-replicate, per-look analysis results (arrays replicate x look).

    ``logrank_z`` = (O - E) / sqrt(V) for the experimental arm, stratified (negative when the
    experimental arm does better, as R ``survdiff``); ``z = -logrank_z`` is compared with the
    bounds. ``log_hr`` / ``se_log_hr``: stratified Cox (Efron) for experimental vs control;
    NaN where the fit did not converge (``converged`` False), as ``oncotrial.stats.cox``.
    ``stop_look`` (1-based) and ``decision`` (1 efficacy, -1 futility, -2 rejection in favour
    of control -- two-sided designs only --, 0 none at the final look) follow the
    group-sequential rules applied to the stratified log-rank, the protocol's primary test.
    ``observed_minus_expected_unstratified`` / ``variance_unstratified`` are the unstratified
    log-rank of the same trials (one pooled risk set), and ``stop_look_unstratified`` /
    ``decision_unstratified`` the same rules applied to it: the trial as it would have gone
    had it been analysed unstratified, which the Schoenfeld power describes.
    """

    first: int
    events_per_look: tuple[int, ...]
    cut_time: np.ndarray
    n_enrolled: np.ndarray
    n_events: np.ndarray
    observed_minus_expected: np.ndarray
    variance: np.ndarray
    log_hr: np.ndarray
    se_log_hr: np.ndarray
    converged: np.ndarray
    median_experimental: np.ndarray
    median_control: np.ndarray
    stop_look: np.ndarray
    decision: np.ndarray
    observed_minus_expected_unstratified: np.ndarray
    variance_unstratified: np.ndarray
    stop_look_unstratified: np.ndarray
    decision_unstratified: np.ndarray

    @property
    def logrank_z(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.observed_minus_expected / np.sqrt(self.variance)

    @property
    def logrank_z_unstratified(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.observed_minus_expected_unstratified / np.sqrt(self.variance_unstratified)

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.log_hr)

    @property
    def n_replicates(self) -> int:
        return int(self.cut_time.shape[0])

    def at_stop(self, name: str) -> np.ndarray:
        """A per-look array taken at each replicate's stopping look."""
        a = getattr(self, name)
        return a[np.arange(a.shape[0]), self.stop_look - 1]

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate and look."""
        r, k = self.cut_time.shape
        return pd.DataFrame(
            {
                "replicate": np.repeat(np.arange(self.first, self.first + r), k),
                "look": np.tile(np.arange(1, k + 1), r),
                "cut_time": self.cut_time.ravel(),
                "n_enrolled": self.n_enrolled.ravel(),
                "n_events": self.n_events.ravel(),
                "logrank_z": self.logrank_z.ravel(),
                "logrank_z_unstratified": self.logrank_z_unstratified.ravel(),
                "log_hr": self.log_hr.ravel(),
                "se_log_hr": self.se_log_hr.ravel(),
                "median_experimental": self.median_experimental.ravel(),
                "median_control": self.median_control.ravel(),
                "stopped_here": (self.stop_look[:, None] == np.arange(1, k + 1)).ravel(),
                "decision": np.repeat(self.decision, k),
            }
        )

    def to_dict(self) -> dict:
        return {f: (v.tolist() if isinstance(v, np.ndarray) else v) for f, v in self.__dict__.items()}

    @staticmethod
    def concat(parts: Sequence["BatchAnalysis"]) -> "BatchAnalysis":
        """Join analyses of consecutive replicate ranges (in order)."""
        if not parts:
            raise ValueError("parts: expected at least one BatchAnalysis")
        names = [f for f in BatchAnalysis.__dataclass_fields__ if f not in ("first", "events_per_look")]
        joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in names}
        return BatchAnalysis(first=parts[0].first, events_per_look=parts[0].events_per_look, **joined)


def analyse_trials(batch: TrialBatch) -> BatchAnalysis:
    """Analyse every look of every replicate in ``batch`` and apply the stopping rules."""
    if not isinstance(batch, TrialBatch):
        raise ValueError("batch: expected a TrialBatch")
    s = batch.settings
    cuts = batch.cut_times()
    r, k = cuts.shape
    res = [np.empty((r, k), dt) for dt in (np.int64, np.int64, float, float, float, float, bool, float, float,
                                            float, float)]
    stratum = batch.stratum.astype(np.int64)
    for look in range(k):
        out = _kernels.analyse(
            batch.entry, batch.pfs, batch.dropout, batch.arm, stratum, s.n_strata,
            np.ascontiguousarray(cuts[:, look]), _COX_TOL, _COX_MAX_ITER,
        )
        for a, o in zip(res, out):
            a[:, look] = o
    n_enr, n_ev, oe, var, beta, info, conv, m1, m0, oe_u, var_u = res
    with np.errstate(divide="ignore", invalid="ignore"):
        z = -oe / np.sqrt(var)
        z_u = -oe_u / np.sqrt(var_u)
        se = 1.0 / np.sqrt(info)
    upper, lower = np.asarray(s.critical_values), np.asarray(s.futility_bounds, float)
    stop_look, decision = _decide(z, upper, lower, s.sided)
    stop_u, decision_u = _decide(z_u, upper, lower, s.sided)
    return BatchAnalysis(
        first=batch.first, events_per_look=s.events_per_look, cut_time=cuts, n_enrolled=n_enr,
        n_events=n_ev, observed_minus_expected=oe, variance=var, log_hr=beta, se_log_hr=se,
        converged=conv, median_experimental=m1, median_control=m0, stop_look=stop_look, decision=decision,
        observed_minus_expected_unstratified=oe_u, variance_unstratified=var_u, stop_look_unstratified=stop_u,
        decision_unstratified=decision_u,
    )


def _decide(z: np.ndarray, upper: np.ndarray, lower: np.ndarray, sided: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r, k = z.shape
    a = np.full(k, -np.inf)
    a[: min(lower.size, k - 1)] = lower[: k - 1]
    eff = z >= upper
    # two-sided (symmetric bounds, no futility): Z <= -c_k rejects H0 in favour of control
    against = z <= -upper if sided == 2 else np.zeros_like(eff)
    fut = z <= a
    fut[:, -1] = False
    stop_any = eff | fut | against
    stop_any[:, -1] = True
    stop_idx = np.argmax(stop_any, axis=1)
    rows = np.arange(r)
    decision = np.where(eff[rows, stop_idx], 1, np.where(against[rows, stop_idx], -2,
                                                         np.where(fut[rows, stop_idx], -1, 0))).astype(np.int8)
    return (stop_idx + 1).astype(np.int64), decision


def run_blocks(settings: SimulationSettings, seed: int, first: int, n_replicates: int) -> BatchAnalysis:
    """Simulate and analyse one contiguous range of replicates (the unit of work of a chunk)."""
    return analyse_trials(simulate_trials(settings, n_replicates, seed, first))


def chunk_ranges(n_replicates: int, chunk_size: int) -> list[tuple[int, int]]:
    """(first, count) ranges covering 0..n-1, each a whole number of seed blocks."""
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    step = max(SEED_BLOCK, (chunk_size // SEED_BLOCK) * SEED_BLOCK)
    return [(a, min(step, n_replicates - a)) for a in range(0, n_replicates, step)]
