"""What one batched-simulation scenario is: arms, accrual, dropout, randomization, looks and bounds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from typing import Sequence

import numpy as np

from oncotrial.design.events import Accrual, PiecewiseExponential
from oncotrial.design.sample_size import SurvivalDesign


@dataclass(frozen=True)
class SimulationSettings:
    """Everything that defines one simulated trial (one scenario).

    ``strata`` holds, per stratification factor, the prevalences of its levels (each tuple
    sums to 1); patients fall into the cross-classified strata independently. ``accrual``
    gives the shape of entry over calendar time (its intensities are rescaled to
    ``n_subjects``). ``events_per_look`` are the event counts that trigger each analysis,
    ``critical_values`` / ``futility_bounds`` the Z-scale bounds (large Z favours the
    experimental arm; -inf = no futility bound). Arm 1 is experimental, arm 0 control.
    ``sided=2``: symmetric two-sided bounds +-c_k (no futility bounds); Z <= -c_k stops the
    trial with a rejection in favour of control.
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
    sided: int = 1

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
        if self.sided not in (1, 2) or isinstance(self.sided, bool):
            raise ValueError(f"sided: expected 1 or 2, got {self.sided!r}")
        if self.sided == 2 and np.any(np.isfinite(np.asarray(self.futility_bounds, float)[: k - 1])):
            raise ValueError("futility_bounds: a two-sided design has no futility bounds")
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
    if design.hr0 != 1.0:
        # The simulated log-rank Z tests HR = 1; a margin would need a shifted statistic.
        raise ValueError(f"hr0: simulation tests HR = 1, the design's null hazard ratio is {design.hr0:g}")
    if not isinstance(design.control, PiecewiseExponential):
        raise ValueError(f"control: the simulator draws piecewise-exponential event times, the design's control "
                         f"survival is a {type(design.control).__name__}")
    allocation = allocation_of(design.allocation_ratio)
    n = int(round(design.max_subjects)) if n_subjects is None else n_subjects
    # Entry closes at the final analysis when the events come before the planned end of accrual.
    accrual = design.accrual.until(design.analysis_times[-1]) if design.accrual_overrun else design.accrual
    events = tuple(int(np.ceil(e - 1e-9)) for e in design.events_per_stage)
    control = design.control
    experimental = control.scaled(design.hazard_ratio if hazard_ratio is None else hazard_ratio)
    return SimulationSettings(
        n_subjects=n,
        control=control,
        experimental=experimental,
        accrual=accrual,
        events_per_look=events,
        critical_values=design.design.critical_values,
        futility_bounds=design.design.futility_bounds[:-1],
        strata=tuple(tuple(map(float, s)) for s in strata),
        allocation=allocation,
        block_sizes=tuple(int(b) for b in block_sizes),
        dropout_hazards=design.dropout_hazards,
        strata_names=tuple(strata_names),
        arm_codes=arm_codes,
        sided=design.design.sided,
    )


def allocation_of(ratio: float, max_block_unit: int = 12) -> tuple[int, int]:
    """(experimental, control) slots per allocation unit of an experimental:control ``ratio``.

    Blocks must hold whole patients of each arm, so the ratio must be a fraction p/q with
    p + q at most ``max_block_unit``.

    Example:
        >>> allocation_of(2.0), allocation_of(0.5), allocation_of(1.5)
        ((2, 1), (1, 2), (3, 2))
    """
    if not (ratio > 0 and np.isfinite(ratio)):
        raise ValueError(f"allocation_ratio: expected a positive number (experimental : control), got {ratio!r}")
    f = Fraction(float(ratio)).limit_denominator(max_block_unit)
    if abs(float(f) - ratio) > 1e-9 * ratio or f.numerator + f.denominator > max_block_unit:
        raise ValueError(f"allocation_ratio: the simulator randomizes in blocks, which need a ratio p/q with "
                         f"p + q <= {max_block_unit}; got {ratio!r}")
    return int(f.numerator), int(f.denominator)
