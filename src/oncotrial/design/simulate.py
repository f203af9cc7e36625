"""Batched simulation of whole trials: generate and analyse N replicates in one pass.

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

from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from oncotrial.design import _kernels
from oncotrial.design.events import Accrual, PiecewiseExponential
from oncotrial.design.group_sequential import characteristics
from oncotrial.design.sample_size import SurvivalDesign

SEED_BLOCK = 250
_COX_TOL = 1e-10
_COX_MAX_ITER = 50


@dataclass(frozen=True)
class SimulationSettings:
    """Everything that defines one simulated trial (one scenario).

    ``strata`` holds, per stratification factor, the prevalences of its levels (each tuple
    sums to 1); patients fall into the cross-classified strata independently. ``accrual``
    gives the shape of entry over calendar time (its intensities are rescaled to
    ``n_subjects``). ``events_per_look`` are the event counts that trigger each analysis,
    ``critical_values`` / ``futility_bounds`` the Z-scale bounds (large Z favours the
    experimental arm; -inf = no futility bound). Arm 1 is experimental, arm 0 control.
    """

    n_subjects: int
    control: PiecewiseExponential
    experimental: PiecewiseExponential
    accrual: Accrual
    events_per_look: tuple[int, ...]
    critical_values: tuple[float, ...]
    futility_bounds: tuple[float, ...]
    strata: tuple[tuple[float, ...], ...] = ((0.5, 0.5),)
    allocation: tuple[int, int] = (1, 1)
    block_sizes: tuple[int, ...] = (2, 4)
    dropout_hazards: tuple[float, float] = (0.0, 0.0)
    strata_names: tuple[str, ...] = ()
    arm_codes: tuple[str, str] = ("A", "B")

    def __post_init__(self) -> None:
        if not isinstance(self.n_subjects, (int, np.integer)) or self.n_subjects < 2:
            raise ValueError(f"n_subjects: expected an integer >= 2, got {self.n_subjects!r}")
        k = len(self.events_per_look)
        ev = np.asarray(self.events_per_look)
        if k == 0 or np.any(ev < 1) or np.any(np.diff(ev) <= 0) or not np.issubdtype(ev.dtype, np.integer):
            raise ValueError(f"events_per_look: expected increasing positive integers, got {self.events_per_look!r}")
        if ev[-1] > self.n_subjects:
            raise ValueError(f"events_per_look: {ev[-1]} events cannot occur among {self.n_subjects} patients")
        if len(self.critical_values) != k:
            raise ValueError(f"critical_values: expected {k} values (one per look), got {len(self.critical_values)}")
        if len(self.futility_bounds) not in (k - 1, k):
            raise ValueError(f"futility_bounds: expected {k - 1} values (one per interim look), got {len(self.futility_bounds)}")
        for i, lv in enumerate(self.strata):
            p = np.asarray(lv, float)
            if p.size < 1 or np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
                raise ValueError(f"strata[{i}]: expected level prevalences summing to 1, got {lv!r}")
        if len(self.strata_names) not in (0, len(self.strata)):
            raise ValueError("strata_names: expected one name per stratification factor")
        if len(self.allocation) != 2 or min(self.allocation) < 1:
            raise ValueError(f"allocation: expected (experimental, control) positive integers, got {self.allocation!r}")
        total = sum(self.allocation)
        if not self.block_sizes or any(b <= 0 or b % total for b in self.block_sizes):
            raise ValueError(f"block_sizes: expected positive multiples of {total}, got {self.block_sizes!r}")
        if len(self.dropout_hazards) != 2 or min(self.dropout_hazards) < 0:
            raise ValueError(f"dropout_hazards: expected two non-negative hazards, got {self.dropout_hazards!r}")
        for name in ("control", "experimental"):
            # A zero tail (a cure fraction) gives infinite event times, which the kernels
            # would count as events at time infinity.
            if float(getattr(self, name).hazards[-1]) <= 0:
                raise ValueError(f"{name}.hazards: the last, open-ended piece needs a positive hazard, got "
                                 f"{getattr(self, name).hazards!r} (cure fractions are not simulated)")

    @property
    def n_looks(self) -> int:
        return len(self.events_per_look)

    @property
    def n_strata(self) -> int:
        return int(np.prod([len(x) for x in self.strata]))

    def cell_probabilities(self) -> np.ndarray:
        """Probability of each cross-classified stratum (mixed radix, first factor slowest)."""
        p = np.ones(1)
        for lv in self.strata:
            p = np.outer(p, np.asarray(lv, float)).ravel()
        return p

    def with_hazard_ratio(self, hazard_ratio: float) -> "SimulationSettings":
        """The same trial with the experimental hazard = ``hazard_ratio`` x control."""
        if not (hazard_ratio > 0 and np.isfinite(hazard_ratio)):
            raise ValueError(f"hazard_ratio: expected a positive number, got {hazard_ratio!r}")
        return replace(self, experimental=self.control.scaled(hazard_ratio))

    def to_dict(self) -> dict:
        return asdict(self)


def settings_from_design(
    design: SurvivalDesign,
    n_subjects: int | None = None,
    hazard_ratio: float | None = None,
    strata: Sequence[Sequence[float]] = ((0.5, 0.5),),
    strata_names: Sequence[str] = (),
    block_sizes: Sequence[int] = (2, 4),
    arm_codes: tuple[str, str] = ("A", "B"),
) -> SimulationSettings:
    """Simulation settings for a sized design: its events (rounded up), bounds, accrual and dropout.

    ``hazard_ratio`` is the true HR to simulate (default: the design's alternative).
    """
    r = design.allocation_ratio
    if abs(r - round(r)) > 1e-12:
        raise ValueError(f"design: allocation ratio {r} is not an integer ratio; simulate with explicit settings")
    n = int(round(design.max_subjects)) if n_subjects is None else n_subjects
    events = tuple(int(np.ceil(e - 1e-9)) for e in design.events_per_stage)
    control = design.control
    experimental = control.scaled(design.hazard_ratio if hazard_ratio is None else hazard_ratio)
    return SimulationSettings(
        n_subjects=n,
        control=control,
        experimental=experimental,
        accrual=design.accrual,
        events_per_look=events,
        critical_values=design.design.critical_values,
        futility_bounds=design.design.futility_bounds[:-1],
        strata=tuple(tuple(map(float, s)) for s in strata),
        allocation=(int(round(r)), 1),
        block_sizes=tuple(int(b) for b in block_sizes),
        dropout_hazards=design.dropout_hazards,
        strata_names=tuple(strata_names),
        arm_codes=arm_codes,
    )


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


def _check_seed(seed: int) -> int:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


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
    ``stop_look`` (1-based) and ``decision`` (1 efficacy, -1 futility, 0 none at the final
    look) follow the group-sequential rules.
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

    @property
    def logrank_z(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.observed_minus_expected / np.sqrt(self.variance)

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
    res = [np.empty((r, k), dt) for dt in (np.int64, np.int64, float, float, float, float, bool, float, float)]
    stratum = batch.stratum.astype(np.int64)
    for look in range(k):
        out = _kernels.analyse(
            batch.entry, batch.pfs, batch.dropout, batch.arm, stratum, s.n_strata,
            np.ascontiguousarray(cuts[:, look]), _COX_TOL, _COX_MAX_ITER,
        )
        for a, o in zip(res, out):
            a[:, look] = o
    n_enr, n_ev, oe, var, beta, info, conv, m1, m0 = res
    with np.errstate(divide="ignore", invalid="ignore"):
        z = -oe / np.sqrt(var)
        se = 1.0 / np.sqrt(info)
    stop_look, decision = _decide(z, np.asarray(s.critical_values), np.asarray(s.futility_bounds, float))
    return BatchAnalysis(
        first=batch.first, events_per_look=s.events_per_look, cut_time=cuts, n_enrolled=n_enr,
        n_events=n_ev, observed_minus_expected=oe, variance=var, log_hr=beta, se_log_hr=se,
        converged=conv, median_experimental=m1, median_control=m0, stop_look=stop_look, decision=decision,
    )


def _decide(z: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, k = z.shape
    a = np.full(k, -np.inf)
    a[: min(lower.size, k - 1)] = lower[: k - 1]
    eff = z >= upper
    fut = z <= a
    fut[:, -1] = False
    stop_any = eff | fut
    stop_any[:, -1] = True
    stop_idx = np.argmax(stop_any, axis=1)
    rows = np.arange(r)
    decision = np.where(eff[rows, stop_idx], 1, np.where(fut[rows, stop_idx], -1, 0)).astype(np.int8)
    return (stop_idx + 1).astype(np.int64), decision


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics estimated from simulated replicates of one scenario.

    ``hr_mean_log`` / ``hr_quantiles`` are over the replicates whose Cox fit at the stopping
    look converged; ``n_not_converged`` counts the others (their log HR is NaN).
    """

    hazard_ratio: float
    n_replicates: int
    seed: int
    power: float
    power_se: float
    reject_by_look: tuple[float, ...]
    futility_by_look: tuple[float, ...]
    stop_by_look: tuple[float, ...]
    expected_events: float
    expected_duration: float
    expected_subjects: float
    hr_mean_log: float
    hr_quantiles: dict[str, float]
    median_experimental: float
    median_control: float
    n_not_converged: int
    analysis: BatchAnalysis = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "analysis"}
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per look: probabilities of stopping for efficacy / futility there."""
        k = len(self.reject_by_look)
        return pd.DataFrame(
            {
                "look": np.arange(1, k + 1),
                "events": self.analysis.events_per_look,
                "reject": self.reject_by_look,
                "futility": self.futility_by_look,
                "stop": self.stop_by_look,
                "mean_cut_time": np.nanmean(self.analysis.cut_time, axis=0),
            }
        )


def _summarise(analysis: BatchAnalysis, hazard_ratio: float, seed: int) -> SimulationResult:
    n = analysis.n_replicates
    k = analysis.cut_time.shape[1]
    looks = np.arange(1, k + 1)
    at_k = analysis.stop_look[:, None] == looks
    reject = (at_k & (analysis.decision[:, None] == 1)).mean(axis=0)
    fut = (at_k & (analysis.decision[:, None] == -1)).mean(axis=0)
    power = float(reject.sum())
    # Cox fits that did not converge (e.g. every event in one arm) are NaN, as in
    # oncotrial.stats.cox: the HR summaries are over the others, and their number is reported.
    hr_stop = analysis.at_stop("log_hr")
    n_not_converged = int(np.count_nonzero(~analysis.at_stop("converged")))
    fitted = hr_stop[np.isfinite(hr_stop)]
    probs = [0.025, 0.25, 0.5, 0.75, 0.975]
    q = np.quantile(np.exp(fitted), probs) if fitted.size else np.full(len(probs), np.nan)
    hr_mean_log = float(fitted.mean()) if fitted.size else float("nan")
    return SimulationResult(
        hazard_ratio=float(hazard_ratio),
        n_replicates=n,
        seed=seed,
        power=power,
        power_se=float(np.sqrt(power * (1 - power) / n)),
        reject_by_look=tuple(map(float, reject)),
        futility_by_look=tuple(map(float, fut)),
        stop_by_look=tuple(map(float, at_k.mean(axis=0))),
        expected_events=float(analysis.at_stop("n_events").mean()),
        expected_duration=float(analysis.at_stop("cut_time").mean()),
        expected_subjects=float(analysis.at_stop("n_enrolled").mean()),
        hr_mean_log=hr_mean_log,
        hr_quantiles=dict(zip(("q025", "q25", "q50", "q75", "q975"), map(float, q))),
        median_experimental=float(np.nanmean(analysis.at_stop("median_experimental"))),
        median_control=float(np.nanmean(analysis.at_stop("median_control"))),
        n_not_converged=n_not_converged,
        analysis=analysis,
    )


def _true_hr(settings: SimulationSettings) -> float:
    ratio = np.asarray(settings.experimental.hazards) / np.asarray(settings.control.hazards)
    if settings.experimental.starts != settings.control.starts or np.ptp(ratio) > 1e-12:
        return float("nan")  # non-proportional hazards: no single true HR
    return float(ratio[0])


def run_blocks(settings: SimulationSettings, seed: int, first: int, n_replicates: int) -> BatchAnalysis:
    """Simulate and analyse one contiguous range of replicates (the unit of work of a chunk)."""
    return analyse_trials(simulate_trials(settings, n_replicates, seed, first))


def chunk_ranges(n_replicates: int, chunk_size: int) -> list[tuple[int, int]]:
    """(first, count) ranges covering 0..n-1, each a whole number of seed blocks."""
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    step = max(SEED_BLOCK, (chunk_size // SEED_BLOCK) * SEED_BLOCK)
    return [(a, min(step, n_replicates - a)) for a in range(0, n_replicates, step)]


def simulate_design(
    settings: SimulationSettings,
    n_replicates: int = 1000,
    seed: int = 1,
    chunk_size: int = 2000,
    client=None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Simulate ``n_replicates`` trials and estimate power, stopping probabilities, expected events etc.

    ``client``: a ``dask.distributed.Client`` to spread the chunks over a cluster; the
    result is identical to the local run for the same ``seed``. ``progress`` is called with
    the number of replicates finished after each chunk (the CLI draws a progress bar with it).

    Example:
        >>> from oncotrial.design import sample_size_survival
        >>> d = sample_size_survival(0.667, median_control=24, accrual_time=(0, 48), max_subjects=518)
        >>> res = simulate_design(settings_from_design(d), n_replicates=500, seed=3)
        >>> 0.8 < res.power < 0.97
        True
    """
    if not isinstance(settings, SimulationSettings):
        raise ValueError("settings: expected SimulationSettings")
    n_replicates = _check_replicates(n_replicates)
    seed = _check_seed(seed)
    ranges = chunk_ranges(n_replicates, chunk_size)
    if client is None:
        parts = []
        for first, count in ranges:
            parts.append(run_blocks(settings, seed, first, count))
            if progress is not None:
                progress(count)
    else:
        from oncotrial.design.distributed import run_on_client

        parts = run_on_client(client, settings, seed, ranges, progress)
    return _summarise(BatchAnalysis.concat(parts), _true_hr(settings), seed)


@dataclass(frozen=True)
class PowerCurve:
    """Simulated and analytic rejection probabilities over a grid of true hazard ratios."""

    hazard_ratios: tuple[float, ...]
    simulated: tuple[float, ...]
    simulated_se: tuple[float, ...]
    analytic: tuple[float, ...]
    expected_events: tuple[float, ...]
    expected_duration: tuple[float, ...]
    n_replicates: int
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        del d["n_replicates"], d["seed"]
        return pd.DataFrame(d)


def analytic_power(settings: SimulationSettings, hazard_ratio: float) -> float:
    """Power of the settings' bounds at a true HR by Schoenfeld's approximation (no simulation)."""
    if not (hazard_ratio > 0 and np.isfinite(hazard_ratio)):
        raise ValueError(f"hazard_ratio: expected a positive number, got {hazard_ratio!r}")
    ev = np.asarray(settings.events_per_look, float)
    r1, r0 = settings.allocation
    drift = -np.log(hazard_ratio) * np.sqrt(ev[-1] * r1 * r0) / (r1 + r0)
    ch = characteristics(ev / ev[-1], settings.critical_values, settings.futility_bounds, drift)
    return ch.power


def power_curve(
    settings: SimulationSettings,
    hazard_ratios: Sequence[float],
    n_replicates: int = 1000,
    seed: int = 1,
    chunk_size: int = 2000,
    client=None,
    progress: Callable[[int], None] | None = None,
) -> PowerCurve:
    """Power over a grid of true HRs (common random numbers: the same seed for every HR)."""
    hrs = [float(h) for h in hazard_ratios]
    if not hrs or any(not (h > 0 and np.isfinite(h)) for h in hrs):
        raise ValueError(f"hazard_ratios: expected positive numbers, got {hazard_ratios!r}")
    scenarios = [settings.with_hazard_ratio(h) for h in hrs]
    if client is None:
        results = [simulate_design(s, n_replicates, seed, chunk_size, None, progress) for s in scenarios]
    else:
        from oncotrial.design.distributed import simulate_scenarios

        # all scenarios at once, so the cluster is not idle between hazard ratios
        results = simulate_scenarios(client, scenarios, n_replicates, seed, chunk_size, progress)
    return PowerCurve(
        hazard_ratios=tuple(hrs),
        simulated=tuple(r.power for r in results),
        simulated_se=tuple(r.power_se for r in results),
        analytic=tuple(analytic_power(settings, h) for h in hrs),
        expected_events=tuple(r.expected_events for r in results),
        expected_duration=tuple(r.expected_duration for r in results),
        n_replicates=int(n_replicates),
        seed=int(seed),
    )


__all__ = [
    "BatchAnalysis",
    "PowerCurve",
    "SEED_BLOCK",
    "SimulationResult",
    "SimulationSettings",
    "TrialBatch",
    "analyse_trials",
    "analytic_power",
    "chunk_ranges",
    "power_curve",
    "replicate_frame",
    "run_blocks",
    "settings_from_design",
    "simulate_design",
    "simulate_trials",
]
