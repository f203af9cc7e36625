"""All the ADaM datasets of a trial from its SDTM, per its protocol's schedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from oncotrial.adam.adverse_events import adae
from oncotrial.adam.exposure import adex
from oncotrial.adam.response import adrs
from oncotrial.adam.subject_level import adsl
from oncotrial.adam.tumor_results import adtr
from oncotrial.adam.time_to_event import adtte
from oncotrial.adam.settings import protocol_settings

if TYPE_CHECKING:
    from oncotrial.protocol import Protocol


def _drug_with_levels(protocol: Protocol) -> str | None:
    """The experimental drug whose dose can be reduced (time to first reduction is derived for it)."""
    for arm in protocol.arms:
        for d in arm.regimen:
            if len(d.dose_levels) >= 2:
                return d.drug.upper()
    return None


def adam_from_sdtm(sdtm: Mapping[str, pd.DataFrame], protocol: Protocol) -> dict[str, pd.DataFrame]:
    """Derive ADSL, ADRS, ADTTE, ADAE and ADEX from SDTM with :mod:`oncotrial.adam`, per the protocol's schedule.

    ``sdtm`` maps domain names (any case) to DataFrames; DM and RS are required, the
    others (DS, EX, AE, SV, SUPPDM, CM, TU, TR) are used when present (TU and TR give ADTR). Returns the datasets
    keyed by lower-case name, as :func:`oncotrial.analysis.run_analysis` takes them.

    Example
    -------
    >>> from oncotrial.protocol import load_protocol
    >>> from oncotrial.sdtm import read_sdtm
    >>> adam = adam_from_sdtm(read_sdtm("out/sdtm"), load_protocol("patina"))  # doctest: +SKIP
    >>> sorted(adam)  # doctest: +SKIP
    ['adae', 'adex', 'adrs', 'adsl', 'adtte']
    """
    s = {k.upper(): v for k, v in sdtm.items()}
    for need, why in (("DM", "subjects"), ("RS", "tumour response, for PFS")):
        if need not in s:
            raise ValueError(f"sdtm: the {need} domain ({why}) is required; got {sorted(s)}")
    settings = protocol_settings(protocol)
    settings["adrs"].setdefault("sd_min_days", int(round(7 * protocol.schedule.sd_min_weeks)))
    dsl = adsl(s["DM"], ds=s.get("DS"), ex=s.get("EX"), ae=s.get("AE"), sv=s.get("SV"), rs=s.get("RS"),
               suppdm=s.get("SUPPDM"), cm=s.get("CM"))
    drs = adrs(dsl, s["RS"], dataset_tu=s.get("TU"), **settings["adrs"])
    drug = _drug_with_levels(protocol) if "EX" in s else None
    tte = adtte(dsl, drs, dataset_ex=s.get("EX") if drug else None, extrt=drug,
                max_missed=protocol.schedule.missed_assessments_for_censoring, **settings["adtte"])
    out = {"adsl": dsl, "adrs": drs, "adtte": tte}
    if "AE" in s:
        out["adae"] = adae(s["AE"], dsl)
    if "EX" in s:
        out["adex"] = adex(s["EX"], dsl)
    if "TU" in s and "TR" in s:
        out["adtr"] = adtr(dsl, s["TU"], s["TR"])
    return out
