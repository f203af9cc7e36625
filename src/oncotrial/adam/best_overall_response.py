"""Each subject's best overall response, confirmed and unconfirmed, and its dates, from ADRS.

A reading of the ADRS parameters :func:`oncotrial.adam.adrs` derives (BOR, CBOR, RSP,
CRSP, PD), one row per subject, so a table or listing can show an unconfirmed response as
such: a best response CR or PR that was not confirmed (BOR above CBOR) is reported as
UNCONFIRMED CR/PR beside the confirmed best response (CBOR).  Confirmation (RECIST 1.1 section 4.6.1: a
repeat assessment at least the protocol's ``schedule.confirmation_min_weeks`` later) and
the minimum time for SD (``schedule.sd_min_weeks`` after randomization) are applied by
:func:`adrs`, with the settings :func:`oncotrial.adam.protocol_settings` reads from the
protocol (PATINA: 4 and 6 weeks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotrial.adam._checks import require

__all__ = ["BestResponse", "best_response"]

_PARAMS = ("BOR", "CBOR", "RSP", "CRSP", "PD")


@dataclass(frozen=True)
class BestResponse:
    """``subjects``: USUBJID, BOR, BORDT, CBOR, CBORDT, CONFIRMED (Y/N), UNCONFIRMED (the BOR CR/PR when
    it was not confirmed, else missing), RSPDT (first CR/PR), CRSPDT (first confirmed CR/PR),
    PDDT (first progression)."""

    subjects: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.subjects.copy()

    def counts(self, by: str = "CBOR") -> pd.Series:
        """Subjects per category of ``by`` (BOR, CBOR or UNCONFIRMED)."""
        if by not in ("BOR", "CBOR", "UNCONFIRMED"):
            raise ValueError(f"by: expected BOR, CBOR or UNCONFIRMED, got {by!r}")
        return self.subjects[by].value_counts()


def best_response(dataset_adrs: pd.DataFrame) -> BestResponse:
    """One row per subject of ``dataset_adrs`` (from :func:`oncotrial.adam.adrs`).

    Example
    -------
    >>> a = adrs(adsl_df, rs_df, **protocol_settings(protocol)["adrs"])     # doctest: +SKIP
    >>> best_response(a).subjects[["USUBJID", "BOR", "CBOR", "UNCONFIRMED"]]  # doctest: +SKIP
    """
    require(dataset_adrs, "ADRS", ["USUBJID", "PARAMCD", "AVALC", "ADT"])
    missing = [p for p in _PARAMS if not (dataset_adrs["PARAMCD"] == p).any()]
    if missing:
        raise ValueError(f"ADRS: no {', '.join(missing)} records (PARAMCD); derive ADRS with oncotrial.adam.adrs")
    par = {p: dataset_adrs[dataset_adrs["PARAMCD"] == p].drop_duplicates("USUBJID").set_index("USUBJID")
           for p in _PARAMS}
    ids = par["BOR"].index
    out = pd.DataFrame({"USUBJID": ids})
    for p, val, dt in (("BOR", "BOR", "BORDT"), ("CBOR", "CBOR", "CBORDT")):
        out[val] = par[p]["AVALC"].reindex(ids).to_numpy()
        out[dt] = pd.to_datetime(par[p]["ADT"].reindex(ids)).to_numpy()
    yes = {p: (par[p]["AVALC"].reindex(ids) == "Y").to_numpy() for p in ("RSP", "CRSP", "PD")}
    out["CONFIRMED"] = np.where(yes["CRSP"], "Y", "N")
    # the best response seen was not confirmed (CBOR is lower, possibly a confirmed PR below an unconfirmed CR)
    out["UNCONFIRMED"] = np.where(np.isin(out["BOR"], ["CR", "PR"]) & (out["BOR"] != out["CBOR"]), out["BOR"], None)
    for p, col in (("RSP", "RSPDT"), ("CRSP", "CRSPDT"), ("PD", "PDDT")):
        d = pd.to_datetime(par[p]["ADT"].reindex(ids)).to_numpy()
        out[col] = np.where(yes[p], d, np.datetime64("NaT"))
    return BestResponse(out)
