"""Events, patients and analysis times for a time-to-event comparison (rpact ``getSampleSizeSurvival``).

The number of events comes from Schoenfeld's, Freedman's or Hsieh-Freedman's formula times the inflation factor
of the group-sequential design; the number of patients and the expected calendar times of the
analyses come from the Lachin-Foulkes expected-events curve (``oncotrial.design.events``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from oncotrial.design.events import (
    Accrual,
    EventTimeline,
    PiecewiseExponential,
    Survival,
    Weibull,
    dropout_hazard,
    expected_events_by_arm,
)
from oncotrial.design.group_sequential import GroupSequentialDesign, characteristics, group_sequential_design

Method = Literal["schoenfeld", "freedman", "hsieh-freedman"]


def _check_hr0(hr0: float) -> float:
    if isinstance(hr0, bool) or not isinstance(hr0, (int, float, np.floating, np.integer)) or not (
            hr0 > 0 and np.isfinite(hr0)):
        raise ValueError(f"hr0: expected a positive null hazard ratio, got {hr0!r}")
    return float(hr0)


def _check_hr(hazard_ratio: float, hr0: float = 1.0) -> float:
    if not (hazard_ratio > 0 and np.isfinite(hazard_ratio)) or hazard_ratio == hr0:
        other = "1" if hr0 == 1 else f"hr0 = {hr0:g}"
        raise ValueError(f"hazard_ratio: expected a positive number other than {other}, got {hazard_ratio!r}")
    return float(hazard_ratio)


def _check_ratio(allocation_ratio: float) -> float:
    if not (allocation_ratio > 0 and np.isfinite(allocation_ratio)):
        raise ValueError(f"allocation_ratio: expected a positive number (experimental : control), got {allocation_ratio!r}")
    return float(allocation_ratio)


def hr_scale(bounds: Sequence[float] | np.ndarray, events: Sequence[float] | np.ndarray, allocation_ratio: float,
             hr0: float = 1.0, direction: float = 1.0) -> np.ndarray:
    """Z-scale bounds as hazard ratios at the given cumulative events (rpact ``...EffectScale``).

    A Z bound c at d events is the hazard ratio hr0 * exp(-direction * c * (1 + r) / sqrt(r d)),
    ``direction`` +1 when the alternative is HR < hr0; an infinite bound (none) is NaN.

    Example:
        >>> [round(float(x), 4) for x in hr_scale([2.9626, 1.9686], [164, 328], 1.0)]
        [0.6296, 0.8046]
    """
    c = np.asarray(bounds, float)
    scale = (1 + allocation_ratio) / np.sqrt(allocation_ratio * np.asarray(events, float))
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(c), hr0 * np.exp(-direction * c * scale), np.nan)


def _check_error(alpha: float, beta: float) -> None:
    if not (0 < alpha < 0.5):
        raise ValueError(f"alpha: expected a one-sided level in (0, 0.5), got {alpha!r}")
    if not (0 < beta < 1 - alpha):
        raise ValueError(f"beta: expected a type II error in (0, 1 - alpha), got {beta!r}")


def events_schoenfeld(hazard_ratio: float, alpha: float = 0.025, beta: float = 0.1, allocation_ratio: float = 1.0,
                      *, hr0: float = 1.0) -> float:
    """Events for a fixed design by Schoenfeld (1981): (z_a + z_b)^2 (1 + r)^2 / (r log(HR / HR0)^2).

    ``hr0`` is the null hazard ratio (rpact ``thetaH0``): above 1 a non-inferiority margin,
    below 1 superiority by a margin.

    Example:
        >>> round(events_schoenfeld(0.667, 0.025, 0.1), 4)
        256.2835
        >>> round(events_schoenfeld(0.9, 0.025, 0.1, hr0=1.3), 3)
        310.821
    """
    h0 = _check_hr0(hr0)
    hr = _check_hr(hazard_ratio, h0)
    r = _check_ratio(allocation_ratio)
    _check_error(alpha, beta)
    z = norm.isf(alpha) + norm.isf(beta)
    return float(z**2 * (1 + r) ** 2 / (r * (np.log(hr) - np.log(h0)) ** 2))


def events_freedman(hazard_ratio: float, alpha: float = 0.025, beta: float = 0.1, allocation_ratio: float = 1.0) -> float:
    """Events for a fixed design by Freedman (1982): (z_a + z_b)^2 (1 + r HR)^2 / (r (1 - HR)^2).

    Example:
        >>> round(events_freedman(0.667, 0.025, 0.1), 2)
        263.32
    """
    hr = _check_hr(hazard_ratio)
    r = _check_ratio(allocation_ratio)
    _check_error(alpha, beta)
    z = norm.isf(alpha) + norm.isf(beta)
    return float(z**2 * (1 + r * hr) ** 2 / (r * (1 - hr) ** 2))


def events_hsieh_freedman(
    hazard_ratio: float, alpha: float = 0.025, beta: float = 0.1, allocation_ratio: float = 1.0
) -> float:
    """Events for a fixed design by Hsieh & Freedman (Freedman's equal-allocation formula made
    general in r): (z_a + z_b)^2 (1 + HR)^2 (1 + r)^2 / (4 r (1 - HR)^2) (rpact "HsiehFreedman").

    Example:
        >>> round(events_hsieh_freedman(0.667, 0.025, 0.1, allocation_ratio=2), 2)
        296.23
    """
    hr = _check_hr(hazard_ratio)
    r = _check_ratio(allocation_ratio)
    _check_error(alpha, beta)
    z = norm.isf(alpha) + norm.isf(beta)
    return float(z**2 * (1 + hr) ** 2 * (1 + r) ** 2 / (4 * r * (1 - hr) ** 2))


# The events formulas by ``method`` name, as rpact's typeOfComputation.
EVENTS_FORMULAS = {
    "schoenfeld": events_schoenfeld, "freedman": events_freedman, "hsieh-freedman": events_hsieh_freedman,
}


@dataclass(frozen=True)
class SurvivalDesign:
    """A sized time-to-event trial: events, patients and expected analysis times per look.

    ``hr0`` is the null hazard ratio tested against (1: superiority); the HR-scale bounds
    ``critical_values_hr`` / ``futility_bounds_hr`` are hr0 times the Z bounds' HR ratios.
    ``subjects_per_stage`` are the patients accrued by each analysis (rpact ``numberOfSubjects``).
    ``accrual_overrun``: the final analysis falls before the planned end of accrual, so that
    ``max_subjects`` are the patients accrued by then, not the ``planned_subjects``, and
    ``follow_up`` is negative (rpact's convention and its warning "Accrual duration longer
    than maximal study duration").
    """

    design: GroupSequentialDesign
    method: str
    hazard_ratio: float
    allocation_ratio: float
    control: Survival
    experimental: Survival
    dropout_hazards: tuple[float, float]
    accrual: Accrual
    events_fixed: float
    max_events: float
    events_per_stage: tuple[float, ...]
    max_subjects: float
    analysis_times: tuple[float, ...]
    follow_up: float
    expected_events_h0: float
    expected_events_h1: float
    study_duration_h1: float
    critical_values_hr: tuple[float, ...]
    futility_bounds_hr: tuple[float, ...]
    hr0: float = 1.0
    subjects_per_stage: tuple[float, ...] = ()
    expected_subjects_h1: float = float("nan")
    planned_subjects: float = float("nan")
    accrual_overrun: bool = False

    @property
    def median_control(self) -> float:
        return self.control.median()

    @property
    def median_experimental(self) -> float:
        return self.experimental.median()

    def expected_events(self, t: np.ndarray | Sequence[float]) -> np.ndarray:
        """Expected events by calendar time ``t`` (both arms, under the design alternative)."""
        return self._by_arm(t).sum(axis=1)

    def _by_arm(self, t) -> np.ndarray:
        r = self.allocation_ratio
        return expected_events_by_arm(
            t, self.accrual, [self.experimental, self.control], [r / (1 + r), 1 / (1 + r)], self.dropout_hazards
        )

    def timeline(self, times: Sequence[float] | None = None, n_points: int = 200) -> EventTimeline:
        """Expected accrual and event curves, by default on a grid to 1.25 x the final analysis time."""
        if times is None:
            t = np.linspace(0.0, 1.25 * self.analysis_times[-1], n_points)
        else:
            t = np.asarray(times, float)
            if t.ndim != 1 or np.any(~np.isfinite(t)) or np.any(t < 0):
                raise ValueError("times: expected a 1-d sequence of non-negative finite times")
        by_arm = self._by_arm(t)
        return EventTimeline(
            time=tuple(map(float, t)),
            subjects=tuple(map(float, self.accrual.accrued(t))),
            events_experimental=tuple(map(float, by_arm[:, 0])),
            events_control=tuple(map(float, by_arm[:, 1])),
            analysis_times=self.analysis_times,
            analysis_events=self.events_per_stage,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["median_control"] = self.median_control
        d["median_experimental"] = self.median_experimental
        d["control_survival"] = "weibull" if isinstance(self.control, Weibull) else "piecewise-exponential"
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per look."""
        df = self.design.to_frame()
        df["events"] = self.events_per_stage
        df["analysis_time"] = self.analysis_times
        df["critical_value_hr"] = self.critical_values_hr
        k = len(self.events_per_stage)
        df["futility_bound_hr"] = list(self.futility_bounds_hr) + [np.nan] * (k - len(self.futility_bounds_hr))
        return df


def _time_for_events(fn, target: float, n_total: float, start: float = 0.0) -> float:
    """Calendar time at which the expected events reach ``target``."""
    hi = max(start, 1.0)
    while fn(hi) < target:
        hi *= 2.0
        if hi > 1e7:
            raise ValueError(
                f"max_subjects: {n_total:.1f} patients never yield {target:.1f} expected events "
                "(too few patients for the dropout and hazards given)"
            )
    return float(brentq(lambda x: fn(x) - target, 0.0, hi, xtol=1e-12, rtol=1e-15))


def _control_of(control: Survival | None, median_control: float | None) -> Survival:
    if (control is None) == (median_control is None):
        raise ValueError("control: give exactly one of control (PiecewiseExponential or Weibull) or median_control")
    if control is None:
        return PiecewiseExponential.from_median(median_control)
    if not isinstance(control, (PiecewiseExponential, Weibull)):
        raise ValueError(f"control: expected a PiecewiseExponential or a Weibull, got {type(control).__name__}")
    return control


def _design_of(design: GroupSequentialDesign | None, alpha: float, beta: float, sided: int | None):
    if design is None:
        return group_sequential_design((1.0,), alpha=alpha, beta=beta, sided=1 if sided is None else sided)
    if not isinstance(design, GroupSequentialDesign):
        raise ValueError("design: expected a GroupSequentialDesign")
    if sided is not None and sided != design.sided:
        raise ValueError(f"sided: {sided!r} contradicts the given design's sided = {design.sided}")
    return design


def _course(events_k: np.ndarray, accrual: Accrual, arms, fractions, etas, final_time: float | None = None):
    """Analysis times for the events per stage, patients accrued by then, and whether the final
    analysis comes before the end of accrual (only when ``final_time`` is not fixed)."""

    def events_at(x: float) -> float:
        return float(expected_events_by_arm([x], accrual, arms, fractions, etas).sum())

    times = np.asarray([final_time if final_time is not None and k == len(events_k) - 1
                        else _time_for_events(events_at, d, accrual.n) for k, d in enumerate(events_k)])
    overrun = final_time is None and bool(times[-1] < accrual.duration)
    return times, accrual.accrued(times), overrun


def _stopping(ch) -> np.ndarray:
    """Probability of stopping at each look (the last look takes what is left)."""
    return np.asarray(ch.rejection_probabilities) + np.asarray(ch.futility_probabilities)


def sample_size_survival(
    hazard_ratio: float,
    control: Survival | None = None,
    median_control: float | None = None,
    design: GroupSequentialDesign | None = None,
    alpha: float = 0.025,
    beta: float = 0.1,
    accrual_time: Sequence[float] = (0.0, 12.0),
    accrual_intensity: Sequence[float] | None = None,
    max_subjects: float | None = None,
    follow_up: float | None = None,
    dropout_rate: tuple[float, float] = (0.0, 0.0),
    dropout_time: float = 12.0,
    allocation_ratio: float = 1.0,
    method: str = "schoenfeld",
    *,
    sided: int | None = None,
    hr0: float = 1.0,
) -> SurvivalDesign:
    """Events, patients and expected analysis times for a target hazard ratio.

    Give the control survival as ``control`` (``PiecewiseExponential``, rpact
    ``piecewiseSurvivalTime`` / ``lambda2``, or ``Weibull``, rpact ``kappa``; Weibull without
    dropout, as in rpact) or ``median_control`` (exponential); the experimental arm has
    hazard ``hazard_ratio`` times the control's at every time (for a Weibull, rate times
    HR^(1 / shape)).
    Give either ``max_subjects`` (accrued over ``accrual_time``; the follow-up needed for the
    events is solved for) or ``follow_up`` after the end of accrual (the number of patients is
    solved for). When the events are expected before accrual ends, the trial stops accrual at
    the final analysis: ``accrual_overrun`` is set and ``max_subjects`` is the patients
    accrued by then (rpact's convention; the follow-up is negative).
    ``accrual_intensity`` are relative intensities per accrual piece.
    ``dropout_rate`` = (experimental, control) proportions lost by ``dropout_time``.
    Without ``design``, a fixed design at ``alpha`` (overall level of the ``sided``-sided test)
    and power 1 - ``beta`` is used (``sided`` 1 unless given; a given design brings its own).
    ``allocation_ratio`` is experimental:control (rpact ``allocationRatioPlanned``) and
    ``method`` the events formula: "schoenfeld", "freedman" or "hsieh-freedman".
    ``hr0`` is the null hazard ratio (rpact ``thetaH0``): a non-inferiority margin when above 1
    with ``hazard_ratio`` below it, superiority by a margin when below 1; as in rpact, other
    than 1 only with a one-sided design and the Schoenfeld formula.

    Example:
        >>> s = sample_size_survival(0.667, median_control=29, accrual_time=(0, 48), max_subjects=518)
        >>> round(s.max_events, 2), round(s.analysis_times[-1], 2)
        (256.28, 60.67)
        >>> ni = sample_size_survival(0.9, median_control=24, accrual_time=(0, 48), max_subjects=600, hr0=1.3)
        >>> round(ni.events_fixed, 3), round(ni.critical_values_hr[-1], 4)
        (310.821, 1.0408)
        >>> w = sample_size_survival(0.667, Weibull.from_median(24, 1.5), accrual_time=(0, 48), max_subjects=518)
        >>> round(w.analysis_times[-1], 3)
        52.836
        >>> big = sample_size_survival(0.667, median_control=24, accrual_time=(0, 50), max_subjects=900)
        >>> big.accrual_overrun, round(big.max_subjects, 1), big.planned_subjects, round(big.follow_up, 2)
        (True, 721.2, 900.0, -9.93)
    """
    h0 = _check_hr0(hr0)
    hr = _check_hr(hazard_ratio, h0)
    r = _check_ratio(allocation_ratio)
    control = _control_of(control, median_control)
    if method not in EVENTS_FORMULAS:
        raise ValueError(f"method: expected one of {tuple(EVENTS_FORMULAS)}, got {method!r}")
    if (max_subjects is None) == (follow_up is None):
        raise ValueError("max_subjects: give exactly one of max_subjects or follow_up")
    if follow_up is not None and not (follow_up >= 0 and np.isfinite(follow_up)):
        raise ValueError(f"follow_up: expected a non-negative time, got {follow_up!r}")
    if len(dropout_rate) != 2:
        raise ValueError("dropout_rate: expected (experimental, control) proportions")
    design = _design_of(design, alpha, beta, sided)
    if h0 != 1.0 and method != "schoenfeld":
        # rpact: Freedman's formulas are for superiority testing only.
        raise ValueError(f"hr0: a null hazard ratio other than 1 needs method 'schoenfeld', got {method!r}")
    if h0 != 1.0 and design.sided != 1:
        raise ValueError("hr0: a null hazard ratio other than 1 needs a one-sided design (sided 1)")
    etas = (dropout_hazard(dropout_rate[0], dropout_time), dropout_hazard(dropout_rate[1], dropout_time))

    formula = EVENTS_FORMULAS[method]
    # rpact sizes a two-sided design on one tail's level: the other tail adds ~nothing to power.
    margin = {"hr0": h0} if h0 != 1.0 else {}  # checked above: only Schoenfeld's formula takes one
    events_fixed = formula(hr, design.alpha / design.sided, design.beta, r, **margin)
    max_events = events_fixed * design.inflation_factor
    t_rates = np.asarray(design.information_rates)
    events_k = t_rates * max_events

    experimental = control.scaled(hr)
    arms, fractions = [experimental, control], [r / (1 + r), 1 / (1 + r)]
    if max_subjects is not None:
        accrual = Accrual.for_subjects(max_subjects, accrual_time, accrual_intensity)
    else:
        unit = Accrual.for_subjects(1.0, accrual_time, accrual_intensity)
        per_patient = expected_events_by_arm([unit.duration + follow_up], unit, arms, fractions, etas).sum()
        accrual = Accrual.for_subjects(max_events / per_patient, accrual_time, accrual_intensity)
    final = None if follow_up is None else accrual.duration + float(follow_up)
    times, subjects_k, overrun = _course(events_k, accrual, arms, fractions, etas, final)

    futility = np.asarray(design.futility_bounds[:-1])
    # Under H1 the design already holds its stopping probabilities; only H0's need computing.
    ch0 = characteristics(design.information_rates, design.critical_values, futility, 0.0, sided=design.sided)
    stop1 = _stopping(design)
    stop0 = _stopping(ch0)

    a = np.asarray(design.futility_bounds)
    direction = 1.0 if hr < h0 else -1.0
    hr_crit = hr_scale(design.critical_values, events_k, r, h0, direction)
    hr_fut = hr_scale(a, events_k, r, h0, direction)

    return SurvivalDesign(
        design=design,
        method=method,
        hazard_ratio=hr,
        allocation_ratio=r,
        control=control,
        experimental=experimental,
        dropout_hazards=etas,
        accrual=accrual,
        events_fixed=float(events_fixed),
        max_events=float(max_events),
        events_per_stage=tuple(map(float, events_k)),
        max_subjects=float(subjects_k[-1]) if overrun else accrual.n,
        analysis_times=tuple(map(float, times)),
        follow_up=float(times[-1] - accrual.duration),
        expected_events_h0=float(np.sum(stop0 * events_k)),
        expected_events_h1=float(np.sum(stop1 * events_k)),
        study_duration_h1=float(np.sum(stop1 * times)),
        critical_values_hr=tuple(map(float, hr_crit)),
        # rpact reports no effect-scale futility bounds for a design without any.
        futility_bounds_hr=tuple(map(float, hr_fut[:-1])) if np.any(np.isfinite(a[:-1])) else (),
        hr0=h0,
        subjects_per_stage=tuple(map(float, subjects_k)),
        expected_subjects_h1=float(np.sum(stop1 * subjects_k)),
        planned_subjects=accrual.n,
        accrual_overrun=overrun,
    )


@dataclass(frozen=True)
class SurvivalPower:
    """Power and expected course of a trial with a given number of events and patients
    (rpact ``getPowerSurvival``): per look the events, expected calendar time and patients
    accrued; expectations over the stopping probabilities at the true ``hazard_ratio``.
    ``accrual_overrun`` and ``max_subjects`` as in :class:`SurvivalDesign`.
    """

    design: GroupSequentialDesign
    method: str
    hazard_ratio: float
    hr0: float
    direction_upper: bool
    allocation_ratio: float
    control: Survival
    experimental: Survival
    accrual: Accrual
    drift: float
    power: float
    rejection_probabilities: tuple[float, ...]
    futility_probabilities: tuple[float, ...]
    events_per_stage: tuple[float, ...]
    analysis_times: tuple[float, ...]
    subjects_per_stage: tuple[float, ...]
    max_subjects: float
    planned_subjects: float
    follow_up: float
    accrual_overrun: bool
    expected_events: float
    expected_subjects: float
    study_duration: float

    def to_dict(self) -> dict:
        return asdict(self)


def power_survival(
    hazard_ratio: float,
    max_events: float,
    max_subjects: float,
    control: Survival | None = None,
    median_control: float | None = None,
    design: GroupSequentialDesign | None = None,
    alpha: float = 0.025,
    accrual_time: Sequence[float] = (0.0, 12.0),
    accrual_intensity: Sequence[float] | None = None,
    dropout_rate: tuple[float, float] = (0.0, 0.0),
    dropout_time: float = 12.0,
    allocation_ratio: float = 1.0,
    method: str = "schoenfeld",
    *,
    sided: int | None = None,
    hr0: float = 1.0,
    direction_upper: bool = False,
) -> SurvivalPower:
    """Power at ``max_events`` events among ``max_subjects`` patients (rpact ``getPowerSurvival``).

    The drift is the ``method`` formula's at the true ``hazard_ratio``; the test rejects for
    a hazard ratio below ``hr0`` (rpact ``directionUpper = FALSE``) unless ``direction_upper``.
    The other arguments are those of :func:`sample_size_survival` (``design``'s beta is unused).
    A two-sided design's power is that of rejecting in the tested direction.

    Example:
        >>> p = power_survival(0.7, 250, 518, median_control=24, accrual_time=(0, 48))
        >>> round(p.power, 4), round(p.analysis_times[-1], 3)
        (0.8051, 53.478)
    """
    h0 = _check_hr0(hr0)
    if not (hazard_ratio > 0 and np.isfinite(hazard_ratio)):
        raise ValueError(f"hazard_ratio: expected a positive number, got {hazard_ratio!r}")
    hr = float(hazard_ratio)
    r = _check_ratio(allocation_ratio)
    control = _control_of(control, median_control)
    if method not in EVENTS_FORMULAS:
        raise ValueError(f"method: expected one of {tuple(EVENTS_FORMULAS)}, got {method!r}")
    if h0 != 1.0 and method != "schoenfeld":
        raise ValueError(f"hr0: a null hazard ratio other than 1 needs method 'schoenfeld', got {method!r}")
    if not (max_events > 0 and np.isfinite(max_events)):
        raise ValueError(f"max_events: expected a positive number of events, got {max_events!r}")
    if not (max_subjects >= max_events and np.isfinite(max_subjects)):
        raise ValueError(f"max_subjects: expected at least max_events = {max_events:g} patients, got {max_subjects!r}")
    if direction_upper not in (True, False):
        raise ValueError(f"direction_upper: expected True or False, got {direction_upper!r}")
    if len(dropout_rate) != 2:
        raise ValueError("dropout_rate: expected (experimental, control) proportions")
    design = _design_of(design, alpha, 0.1, sided)
    etas = (dropout_hazard(dropout_rate[0], dropout_time), dropout_hazard(dropout_rate[1], dropout_time))

    drift = 0.0
    if hr != h0:
        # Each formula is (z_a + z_b)^2 / (information per event): any level gives the same ratio.
        z = norm.isf(design.alpha / design.sided) + norm.isf(design.beta)
        margin = {"hr0": h0} if h0 != 1.0 else {}
        per_event = z / np.sqrt(EVENTS_FORMULAS[method](hr, design.alpha / design.sided, design.beta, r, **margin))
        drift = float(per_event * np.sqrt(max_events) * (1.0 if (hr > h0) == direction_upper else -1.0))
    ch = characteristics(design.information_rates, design.critical_values, design.futility_bounds[:-1], drift,
                         sided=design.sided)
    stop = _stopping(ch)

    events_k = np.asarray(design.information_rates) * float(max_events)
    experimental = control.scaled(hr)
    accrual = Accrual.for_subjects(max_subjects, accrual_time, accrual_intensity)
    times, subjects_k, overrun = _course(events_k, accrual, [experimental, control], [r / (1 + r), 1 / (1 + r)],
                                         etas)
    return SurvivalPower(
        design=design, method=method, hazard_ratio=hr, hr0=h0, direction_upper=bool(direction_upper),
        allocation_ratio=r, control=control, experimental=experimental, accrual=accrual, drift=drift,
        power=ch.power, rejection_probabilities=ch.rejection_probabilities,
        futility_probabilities=ch.futility_probabilities, events_per_stage=tuple(map(float, events_k)),
        analysis_times=tuple(map(float, times)), subjects_per_stage=tuple(map(float, subjects_k)),
        max_subjects=float(subjects_k[-1]) if overrun else accrual.n, planned_subjects=accrual.n,
        follow_up=float(times[-1] - accrual.duration), accrual_overrun=overrun,
        expected_events=float(np.sum(stop * events_k)), expected_subjects=float(np.sum(stop * subjects_k)),
        study_duration=float(np.sum(stop * times)),
    )
