"""Tumour burden over time: per-visit sum of diameters and its change (waterfall, spider plots).

From a :class:`~oncotrial.recist.RecistResult`: the sum of target diameters (SUMDIAM) at
every post-baseline visit where every target was measured, its percent change from the
baseline sum (PCHG) and from the nadir before the visit (PCHGNAD), and per subject the
best (smallest) percent change from baseline, the value a waterfall plot shows.
Visits with a target not measured have no sum (RECIST 1.1 section 4.4.2) and are left out
of the best change; subjects without target lesions have no burden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotrial.recist.response import RecistResult

__all__ = ["TumourBurden", "tumour_burden"]

_VISIT_COLS = ["USUBJID", "EVAL", "VISITNUM", "VISIT", "TRDTC", "SUMDIAM", "BASE", "NADIR", "PCHG", "PCHGNAD",
               "OVRLRESP"]


@dataclass(frozen=True)
class TumourBurden:
    """``visits``: USUBJID, EVAL, VISITNUM, VISIT, TRDTC, SUMDIAM, BASE, NADIR, PCHG, PCHGNAD,
    OVRLRESP, one row per measured post-baseline visit (baseline rows have PCHG 0).
    ``best``: USUBJID, EVAL, BASE, BESTPCHG (smallest PCHG, NaN without a measured visit),
    BESTVISITNUM, NVISITS."""

    visits: pd.DataFrame
    best: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.visits.copy()


def tumour_burden(result: RecistResult, *, include_baseline: bool = True) -> TumourBurden:
    """Per-visit sum of diameters and percent changes, and each subject's best change.

    With ``include_baseline`` each series starts with its baseline sum at PCHG 0 (a spider
    plot's origin).

    Example
    -------
    >>> from oncotrial.recist import recist, tumour_burden
    >>> tb = tumour_burden(recist(tu, tr))                  # doctest: +SKIP
    >>> tb.best.sort_values("BESTPCHG")                     # doctest: +SKIP
    """
    if not isinstance(result, RecistResult):
        raise ValueError(f"result: expected a RecistResult (oncotrial.recist.recist), got {type(result).__name__}")
    v = result.visits
    cols = [c for c in _VISIT_COLS if c in v.columns]
    meas = v.loc[v.SUMDIAM.notna() & v.BASE.notna(), cols]
    b = result.baseline
    b = b[b.NTARGET > 0]
    if include_baseline:
        first = pd.DataFrame({"USUBJID": b.USUBJID.to_numpy(), "EVAL": b.EVAL.to_numpy(),
                              "VISITNUM": b.BASEVISNUM.to_numpy(dtype=float), "SUMDIAM": b.BASE.to_numpy(dtype=float),
                              "BASE": b.BASE.to_numpy(dtype=float), "NADIR": np.nan, "PCHG": 0.0, "PCHGNAD": np.nan,
                              "OVRLRESP": None})
        meas = pd.concat([first, meas], ignore_index=True) if len(meas) else first
    meas = meas.sort_values(["USUBJID", "EVAL", "VISITNUM"], kind="stable").reset_index(drop=True)
    meas = meas[[c for c in _VISIT_COLS if c in meas.columns]]
    post = meas[meas.OVRLRESP.notna()]
    g = post.groupby(["USUBJID", "EVAL"], sort=False)
    idx = g["PCHG"].idxmin()
    best = pd.DataFrame({"BESTPCHG": post.loc[idx, "PCHG"].to_numpy(), "BESTVISITNUM": post.loc[idx, "VISITNUM"].to_numpy()},
                        index=idx.index)
    best["NVISITS"] = g.size()
    out = b[["USUBJID", "EVAL", "BASE"]].join(best, on=["USUBJID", "EVAL"])
    out["NVISITS"] = out.NVISITS.fillna(0).astype(int)
    return TumourBurden(meas, out.reset_index(drop=True))
