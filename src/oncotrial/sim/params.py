"""Simulation parameters: the numbers that drive a simulated trial, as one frozen object.

Times are in months (``DAYS_PER_MONTH`` days) unless a name says days. Per-arm
values are dicts keyed by arm code. :func:`default_params` builds parameters from a
protocol's design settings and, where present, its ``published`` block (an analytic
first guess); :func:`oncotrial.sim.calibrate` refines them by simulation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from oncotrial.protocol import DAYS_PER_MONTH, Protocol
from oncotrial.stats.pwexp import PiecewiseExponential
from oncotrial.sim.safety_model import AEModel, DoseModel, ae_models, dose_models


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class SimParams:
    """Everything the patient-level simulator needs beyond the protocol.

    ``pfs`` / ``death_first`` / ``post_progression_death``: per arm, the time to
    progression or death, the share of PFS events that are deaths, and the hazard of
    death after progression (per month). ``data_cutoff`` overrides the protocol's. ``response_prob``: per arm, P(confirmed
    objective response) among patients without a CR to induction who stay on study
    long enough; ``cr_share``: share of responses that are CR; ``responder_hazard_ratio``: per arm,
    responders' hazard of progression relative to the arm's (the others' balances it). ``aes``: per arm, the
    AE terms; ``dose``: per arm, reducible drugs. ``ae_onset_median``: months.
    """

    pfs: Mapping[str, PiecewiseExponential]
    death_first: Mapping[str, float]
    post_progression_death: Mapping[str, float]
    response_prob: Mapping[str, float]
    cr_share: float = 0.1
    responder_hazard_ratio: Mapping[str, float] | float = 0.6
    dropout_per_month: float = 0.004
    new_therapy_prob: float = 0.03
    missed_visit_prob: float = 0.03
    ne_prob: float = 0.01
    untreated_prob: Mapping[str, float] = field(default_factory=dict)
    aes: Mapping[str, tuple[AEModel, ...]] = field(default_factory=dict)
    dose: Mapping[str, tuple[DoseModel, ...]] = field(default_factory=dict)
    ae_onset_median: float = 3.2
    data_cutoff: dt.date | None = None
    pfs_shape: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.responder_hazard_ratio, Mapping):
            object.__setattr__(self, "responder_hazard_ratio", {a: float(self.responder_hazard_ratio) for a in self.pfs})
        for name in ("pfs", "death_first", "post_progression_death", "response_prob", "untreated_prob", "aes", "dose",
                     "responder_hazard_ratio", "pfs_shape"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for arm, p in self.response_prob.items():
            if not 0 <= p <= 1:
                raise ValueError(f"response_prob[{arm!r}]: expected a probability in [0, 1], got {p}")

    def with_(self, **changes) -> SimParams:
        return replace(self, **changes)


def months_to_days(m: np.ndarray | float) -> np.ndarray:
    return np.asarray(m, dtype=float) * DAYS_PER_MONTH


def pct(x: float | None) -> float | None:
    return None if x is None else float(x) / 100.0


def _pfs_points(protocol: Protocol, arm: str) -> list[tuple[float, float]]:
    """(time in months, survival) points the published PFS results pin for one arm."""
    pub = protocol.published
    pts: list[tuple[float, float]] = []
    if pub is not None and pub.pfs is not None:
        if arm in pub.pfs.median and np.isfinite(pub.pfs.median[arm]):
            pts.append((pub.pfs.median[arm], 0.5))
        for lm in pub.pfs.landmarks:
            if arm in lm.rate and np.isfinite(lm.rate[arm]):
                pts.append((lm.time, lm.rate[arm] / 100.0))
    if pub is not None and pub.cbr is not None and arm in pub.cbr.rate:
        # Everyone still free of progression at the SD landmark has clinical benefit.
        t = protocol.schedule.cbr_min_sd_weeks * 7 / DAYS_PER_MONTH
        pts.append((t, min(pub.cbr.rate[arm] / 100.0, 0.999)))
    # keep a monotone subset: drop points that contradict earlier ones
    pts.sort()
    out: list[tuple[float, float]] = []
    for t, s in pts:
        if not out or (t > out[-1][0] and s < out[-1][1]):
            out.append((t, s))
    return out


def default_params(protocol: Protocol) -> SimParams:
    """First-guess parameters from the protocol's design and its published results.

    Without published results: exponential PFS with the design's control median
    (``analysis.control_median_months``, else 12 months) and the target HR for the
    experimental arms.
    """
    arms = protocol.arm_codes
    pub = protocol.published
    control = protocol.control_arm
    base_median = protocol.analysis.control_median_months or 12.0
    pfs: dict[str, PiecewiseExponential] = {}
    for a in arms:
        pts = _pfs_points(protocol, a)
        if not pts:
            med = base_median
            if a != control and protocol.analysis.target_hr:
                med = base_median / protocol.analysis.target_hr
            if pub is not None and pub.pfs is not None and pub.pfs.hr and a != control and control in pub.pfs.median:
                med = pub.pfs.median[control] / pub.pfs.hr
            pts = [(med, 0.5)]
        pfs[a] = PiecewiseExponential.through(pts)
    response = {}
    for a in arms:
        if pub is not None and pub.orr is not None and a in pub.orr.rate:
            response[a] = min(pub.orr.rate[a] / 100.0, 1.0)
        else:
            response[a] = 0.3
    untreated = {a: 0.0 for a in arms}
    onset = 3.2
    if pub is not None:
        times = [m.median_time_to_first_reduction for m in pub.dose_modifications if m.median_time_to_first_reduction]
        onset = times[0] if times else onset
    return SimParams(
        ae_onset_median=onset,
        pfs=pfs,
        death_first={a: 0.15 for a in arms},
        post_progression_death={a: 0.02 for a in arms},
        response_prob=response,
        untreated_prob=untreated,
        aes=ae_models(protocol),
        dose=dose_models(protocol),
    )
