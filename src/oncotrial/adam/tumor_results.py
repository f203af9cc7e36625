"""ADTR: tumour results, the sum of target-lesion diameters over time (admiralonco's ADTR).

Input: SDTM TU and TR (the RECIST layout of :mod:`oncotrial.recist`) and ADSL (for ARM/TRT01P).
The sums and changes are RECIST 1.1's own (:func:`oncotrial.recist.tumour_burden`), so the
waterfall and spider plots show exactly what the responses were called from.

Parameters (one row each):

* ``SDIAM`` per subject and assessment: AVAL the sum of diameters (mm), BASE, PCHG (percent
  change from baseline), NADIR and PCHGNAD, AVISIT/AVISITN/ADT, OVRLRESP; the baseline row has
  ABLFL = "Y" and PCHG 0. Visits with a target not measured have no sum and no row.
* ``BPCHG`` per subject with target lesions: AVAL the best (smallest) percent change from
  baseline over the post-baseline assessments (a waterfall plot's bar; missing without one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotrial.adam._checks import require
from oncotrial.adam.dates import convert_dtc_to_dt

if TYPE_CHECKING:
    from oncotrial.recist.burden import TumourBurden

__all__ = ["adtr", "derive_param_sdiam", "derive_param_bpchg"]

_SUBJECT_VARS = ("STUDYID", "ARMCD", "ARM", "TRT01P", "RANDDT")


def _tumour_burden(dataset_tu: pd.DataFrame, dataset_tr: pd.DataFrame) -> TumourBurden:
    from oncotrial.recist import recist, tumour_burden

    require(dataset_tu, "TU", ["USUBJID", "TULNKID", "TUSTRESC"])
    require(dataset_tr, "TR", ["USUBJID", "TRLNKID", "TRTESTCD", "VISITNUM"])
    return tumour_burden(recist(dataset_tu, dataset_tr))


def derive_param_sdiam(dataset_tu: pd.DataFrame, dataset_tr: pd.DataFrame) -> pd.DataFrame:
    """``SDIAM`` rows: the sum of target diameters at baseline and each fully measured assessment.

    >>> tu = pd.DataFrame({"USUBJID": ["1"], "TULNKID": ["T01"], "TUSTRESC": ["TARGET"], "TULOC": ["LIVER"],
    ...                    "VISITNUM": [0]})
    >>> tr = pd.DataFrame({"USUBJID": ["1", "1"], "TRLNKID": ["T01", "T01"], "TRTESTCD": ["LDIAM", "LDIAM"],
    ...                    "TRSTRESC": ["40", "24"], "TRSTRESN": [40.0, 24.0], "VISITNUM": [0, 1],
    ...                    "TRDTC": ["2021-01-01", "2021-03-01"]})
    >>> derive_param_sdiam(tu, tr)[["PARAMCD", "AVISITN", "AVAL", "PCHG", "ABLFL"]].to_dict("records")
    [{'PARAMCD': 'SDIAM', 'AVISITN': 0.0, 'AVAL': 40.0, 'PCHG': 0.0, 'ABLFL': 'Y'}, {'PARAMCD': 'SDIAM', 'AVISITN': 1.0, 'AVAL': 24.0, 'PCHG': -40.0, 'ABLFL': ''}]
    """
    return _sdiam_rows(_tumour_burden(dataset_tu, dataset_tr))


def _sdiam_rows(burden: TumourBurden) -> pd.DataFrame:
    v = burden.visits
    base = v["OVRLRESP"].isna()
    out = pd.DataFrame({
        "USUBJID": v["USUBJID"].to_numpy(), "PARAMCD": "SDIAM", "PARAM": "Sum of Diameters of Target Lesions (mm)",
        "AVISITN": v["VISITNUM"].to_numpy(dtype=float),
        "AVISIT": v["VISIT"].to_numpy() if "VISIT" in v.columns else None,
        "ADT": convert_dtc_to_dt(v["TRDTC"]) if "TRDTC" in v.columns else pd.NaT,
        "AVAL": v["SUMDIAM"].to_numpy(dtype=float), "BASE": v["BASE"].to_numpy(dtype=float),
        "PCHG": v["PCHG"].to_numpy(dtype=float), "NADIR": v["NADIR"].to_numpy(dtype=float),
        "PCHGNAD": v["PCHGNAD"].to_numpy(dtype=float), "OVRLRESP": v["OVRLRESP"].to_numpy(),
        "ABLFL": np.where(base, "Y", ""),
    })
    return out.reset_index(drop=True)


def derive_param_bpchg(dataset_tu: pd.DataFrame, dataset_tr: pd.DataFrame) -> pd.DataFrame:
    """``BPCHG`` rows: each subject's best percent change of the sum of diameters from baseline."""
    return _bpchg_rows(_tumour_burden(dataset_tu, dataset_tr))


def _bpchg_rows(burden: TumourBurden) -> pd.DataFrame:
    b = burden.best
    return pd.DataFrame({"USUBJID": b["USUBJID"].to_numpy(), "PARAMCD": "BPCHG",
                         "PARAM": "Best Percent Change from Baseline in Sum of Diameters",
                         "AVAL": b["BESTPCHG"].to_numpy(dtype=float), "BASE": b["BASE"].to_numpy(dtype=float),
                         "AVISITN": b["BESTVISITNUM"].to_numpy(dtype=float)})


def adtr(dataset_adsl: pd.DataFrame, dataset_tu: pd.DataFrame, dataset_tr: pd.DataFrame) -> pd.DataFrame:
    """ADTR: ``SDIAM`` and ``BPCHG`` of the ADSL subjects, with their arm.

    >>> adtr(adsl, s["TU"], s["TR"]).query("PARAMCD == 'BPCHG'")  # doctest: +SKIP
    """
    require(dataset_adsl, "ADSL", ["USUBJID"])
    burden = _tumour_burden(dataset_tu, dataset_tr)  # RECIST once, for both parameters
    rows = pd.concat([_sdiam_rows(burden), _bpchg_rows(burden)], ignore_index=True)
    keep = [c for c in _SUBJECT_VARS if c in dataset_adsl.columns]
    out = rows.merge(dataset_adsl[["USUBJID", *keep]], on="USUBJID", how="inner")
    out = out.sort_values(["USUBJID", "PARAMCD", "AVISITN"], kind="mergesort").reset_index(drop=True)
    out["ASEQ"] = out.groupby("USUBJID").cumcount() + 1
    first = [c for c in ("STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADT", "AVAL", "BASE",
                         "PCHG", "NADIR", "PCHGNAD", "ABLFL", "OVRLRESP") if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]
