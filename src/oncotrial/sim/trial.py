"""Simulate one trial patient by patient: :func:`simulate_trial`, :func:`write_trial`."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from oncotrial._seed import check_seed
from oncotrial.protocol import DAYS_PER_MONTH, Protocol, load_protocol
from oncotrial.sim.domains import build_sdtm
from oncotrial.sim.outcomes import draw_course
from oncotrial.sim.params import SimParams, default_params
from oncotrial.sim.patients import enrol
from oncotrial.sim.safety import draw_safety


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated trial: SDTM domains and the patient-level truth behind them.

    ``patients`` has one row per randomized patient: identifiers, baseline, strata
    (``STRAT_<factor>``), arm, randomization date and the simulated course (analysis
    days: day 1 = randomization date).
    """

    protocol_id: str
    seed: int
    data_cutoff: dt.date
    sdtm: dict[str, pd.DataFrame]
    patients: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        return {"protocol_id": self.protocol_id, "seed": self.seed, "data_cutoff": self.data_cutoff.isoformat(),
                "n": len(self.patients), "domains": {k: len(v) for k, v in self.sdtm.items()}}

    def to_frame(self) -> pd.DataFrame:
        return self.patients.copy()


def as_protocol(protocol: Protocol | str | os.PathLike) -> Protocol:
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, (str, os.PathLike)):
        return load_protocol(protocol)
    raise ValueError(f"protocol: expected a Protocol, a bundled name or a path, got {type(protocol).__name__}")


def data_cutoff(protocol: Protocol) -> dt.date:
    """The protocol's data cut-off, else one median follow-up (or two years) after accrual ends."""
    if protocol.accrual.data_cutoff is not None:
        return protocol.accrual.data_cutoff
    pub = protocol.published
    months = pub.median_followup if pub is not None and pub.median_followup else 24.0
    return protocol.accrual.end + dt.timedelta(days=int(months * DAYS_PER_MONTH / 2))


def simulate_trial(protocol: Protocol | str, seed: int = 0, params: SimParams | None = None, *,
                   cutoff: dt.date | None = None) -> SimulatedTrial:
    """Simulate one trial of ``protocol``; the same seed gives the same data.

    Example
    -------
    >>> t = simulate_trial("patina", seed=1)
    >>> sorted(t.sdtm)
    ['AE', 'CM', 'DM', 'DS', 'EX', 'RS', 'SUPPDM', 'SV', 'TR', 'TU']
    >>> len(t.sdtm["DM"])
    518
    """
    protocol = as_protocol(protocol)
    seed = check_seed(seed)
    if params is None:
        params = default_params(protocol)
    if not isinstance(params, SimParams):
        raise ValueError(f"params: expected SimParams, got {type(params).__name__}")
    missing = [a for a in protocol.arm_codes if a not in params.pfs]
    if missing:
        raise ValueError(f"params.pfs: no PFS model for arm(s) {missing}")
    cut = cutoff or params.data_cutoff or data_cutoff(protocol)
    rng = np.random.default_rng([seed, 0x5EED])
    pts = enrol(protocol, rng, seed=int(rng.integers(2**31 - 1)))
    course, rs, cm = draw_course(protocol, params, pts, np.datetime64(cut.isoformat(), "D"), rng)
    ae, ex = draw_safety(protocol, params, pts, course, rng)
    sdtm = build_sdtm(protocol, pts, course, rs, ae, ex, cm)
    patients = pd.concat([pts.reset_index(drop=True), course.reset_index(drop=True)], axis=1)
    return SimulatedTrial(protocol.study.id, seed, cut, sdtm, patients)


def write_trial(trial, directory: str | os.PathLike, formats: tuple[str, ...] = ("csv", "xpt")) -> list[Path]:
    """Write a trial's SDTM domains (``trial.sdtm``) with :func:`oncotrial.sdtm.write_sdtm`."""
    from oncotrial.sdtm import write_sdtm

    sdtm = getattr(trial, "sdtm", None)
    if not isinstance(sdtm, dict) or not sdtm:
        raise ValueError("trial: expected an object with a non-empty .sdtm dict of DataFrames")
    return write_sdtm(sdtm, directory, formats=formats)
