"""The blinded review of a masked trial: the protocol's endpoints pooled over arms.

While a masked trial runs, the sponsor's study team looks at the data without the arms: how many
patients, how many events, how long they are followed, the pooled Kaplan-Meier median (an early
warning that the event rate differs from the design's), the pooled response rate and the safety
counts. Nothing here compares arms, so the blind holds. The same estimators as the comparative
analysis (:func:`oncotrial.stats.km`) are used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from oncotrial.analysis._frames import require_columns
from oncotrial.analysis.plan import BINARY_PARAMS, LABELS, TTE_PARAMS, binary_param, binary_population, tte_param
from oncotrial.analysis.response import responders
from oncotrial.analysis.survival import tte_frame
from oncotrial.protocol import Protocol
from oncotrial.stats import km


@dataclass(frozen=True)
class PooledTimeToEvent:
    """One time-to-event endpoint over every patient: events, and the pooled KM median with its CI."""

    endpoint: str
    label: str
    paramcd: str
    n: int
    events: int
    median: float
    median_lower: float
    median_upper: float


@dataclass(frozen=True)
class PooledSummary:
    """A masked trial's endpoints pooled over arms (no arm is named anywhere in it)."""

    study: str
    unit: str
    n_randomized: int
    time_to_event: tuple[PooledTimeToEvent, ...] = ()
    response: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # endpoint -> (responders, n of its population)
    patients_with_ae: int | None = None
    patients_with_grade3_ae: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "unit": self.unit, "blinded": True, "n_randomized": self.n_randomized,
                "time_to_event": [vars(t) for t in self.time_to_event],
                "response": {k: {"responders": r, "n": n} for k, (r, n) in self.response.items()},
                "patients_with_ae": self.patients_with_ae, "patients_with_grade3_ae": self.patients_with_grade3_ae}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(t) for t in self.time_to_event])


def pooled_summary(adam: Mapping[str, pd.DataFrame], protocol: Protocol) -> PooledSummary:
    """The protocol's endpoints pooled over arms, from ADaM keyed by lower-case name (as
    :func:`oncotrial.analysis.run_analysis` takes them).

    Example
    -------
    >>> s = pooled_summary(adam_from_sdtm(read_sdtm("export/sdtm"), protocol), protocol)   # doctest: +SKIP
    >>> s.to_dict()["time_to_event"][0]["events"]                                          # doctest: +SKIP
    """
    for key in ("adsl", "adtte"):
        if key not in adam or adam[key] is None:
            raise ValueError(f"adam: the {key.upper()} dataset is required; got {sorted(adam)}")
    adsl, adtte = adam["adsl"], adam["adtte"]
    require_columns(adsl, "ADSL", ["USUBJID"])
    a = protocol.analysis
    tte = []
    for ep in TTE_PARAMS:
        code = tte_param(adtte, ep)
        if code is None:
            continue
        frame = tte_frame(adsl, adtte, protocol, code)
        fit = km(frame["TIME"].to_numpy(), frame["EVENT"].to_numpy(), conf_level=a.conf_level,
                 conf_type=a.km_conf_type)
        tte.append(PooledTimeToEvent(ep, LABELS[ep], code, int(len(frame)), int(frame["EVENT"].sum()),
                                     float(fit.median), float(fit.median_ci[0]), float(fit.median_ci[1])))
    response: dict[str, tuple[int, int]] = {}
    adrs = adam.get("adrs")
    for ep in BINARY_PARAMS:
        found = binary_param(adrs, ep)
        if found is None:
            continue
        code, yes = found
        ids = pd.Index(adsl["USUBJID"].astype(str).unique())
        exclude, _population = binary_population(adsl, protocol, ep)  # the comparative analysis's population
        if exclude is not None:
            ids = ids[~exclude.reindex(ids).fillna(False).astype(bool).to_numpy()]
        flags = responders(adrs, code, yes).reindex(ids).fillna(False).astype(bool)
        response[ep] = (int(flags.sum()), len(ids))
    adae = adam.get("adae")
    any_ae = grade3 = None
    if adae is not None and "USUBJID" in adae.columns:
        any_ae = int(adae["USUBJID"].nunique())
        if "AETOXGR" in adae.columns:
            grades = pd.to_numeric(adae["AETOXGR"], errors="coerce")
            grade3 = int(adae.loc[grades >= 3, "USUBJID"].nunique())
    return PooledSummary(protocol.study.id, a.time_unit, int(adsl["USUBJID"].nunique()), tuple(tte), response,
                         any_ae, grade3)
