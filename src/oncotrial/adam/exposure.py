"""ADEX: exposure per subject and treatment (duration, cumulative dose, dose intensity,
relative dose intensity, dose reductions and interruptions).

Input EX conventions (what the simulator and an EDC should write)
-----------------------------------------------------------------
* One record per dosing period at a constant dose: EXTRT, EXDOSE (per
  administration), EXDOSU, EXDOSFRQ (QD, BID, TID, QID, QOD, QW, Q2W, Q3W, Q4W,
  ONCE), EXSTDTC, EXENDTC.  Palbociclib 125 mg days 1-21 of a 28-day cycle is one
  record per cycle with EXDOSFRQ = QD, EXSTDTC = day 1, EXENDTC = day 21.
* A dose reduction is a record whose EXDOSE is lower than the preceding positive
  dose; an interruption is a record with EXDOSE = 0 (dose held; EXADJ may give the
  reason).

Planned dose intensity per day (for RDI) is passed as ``planned`` =
``{EXTRT: mg per day}``; :func:`planned_daily_dose` computes it from a protocol's
regimen (dose x days on / cycle length).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from oncotrial.adam._checks import require, upper
from oncotrial.adam.dates import convert_dtc_to_dt

__all__ = ["adex", "derive_vars_dose_changes", "derive_var_exadmn", "planned_daily_dose"]

# Administrations per day for daily frequencies; interval in days for the others.
_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "QM": 1 / 28,
            "ONCE DAILY": 1.0, "TWICE DAILY": 2.0, "DAILY": 1.0, "Q8H": 3.0, "EVERY 8 HOURS": 3.0,
            "Q12H": 2.0, "EVERY 12 HOURS": 2.0}
_INTERVAL = {"QW": 7, "Q2W": 14, "Q3W": 21, "Q4W": 28, "EVERY WEEK": 7, "EVERY 2 WEEKS": 14,
             "EVERY 3 WEEKS": 21, "EVERY 4 WEEKS": 28, "ONCE WEEKLY": 7}


def derive_var_exadmn(dataset_ex: pd.DataFrame) -> pd.Series:
    """Number of administrations in each EX record from EXDOSFRQ and its dates.

    Daily frequencies multiply the days in the record; weekly ones count one dose per
    interval started; ONCE (or a missing frequency) is one dose.

    >>> ex = pd.DataFrame({"EXDOSFRQ": ["QD", "Q3W", "ONCE"], "EXSTDTC": ["2021-01-01"] * 3,
    ...                    "EXENDTC": ["2021-01-21", "2021-01-01", "2021-01-01"]})
    >>> derive_var_exadmn(ex).tolist()
    [21.0, 1.0, 1.0]
    """
    require(dataset_ex, "EX", ["EXSTDTC"])
    st = convert_dtc_to_dt(dataset_ex["EXSTDTC"])
    en = convert_dtc_to_dt(dataset_ex["EXENDTC"]) if "EXENDTC" in dataset_ex.columns else st
    days = ((en.fillna(st) - st).dt.days + 1).astype(float)
    freq = (upper(dataset_ex["EXDOSFRQ"]) if "EXDOSFRQ" in dataset_ex.columns
            else pd.Series(np.nan, index=dataset_ex.index, dtype=object))
    per_day = freq.map(_PER_DAY).astype(float)
    interval = freq.map(_INTERVAL).astype(float)
    n = np.where(per_day.notna(), days * per_day, np.where(interval.notna(), np.ceil(days / interval), 1.0))
    known = set(_PER_DAY) | set(_INTERVAL) | {"ONCE"}
    bad = np.flatnonzero((freq.notna() & ~freq.isin(list(known))).fillna(False).to_numpy())
    if len(bad):
        r = int(bad[0])
        raise ValueError(f"EX row {r + 1}: EXDOSFRQ {dataset_ex['EXDOSFRQ'].iloc[r]!r} is not one of "
                         f"{', '.join(sorted(known))}")
    return pd.Series(n, index=dataset_ex.index, dtype=float)


def derive_vars_dose_changes(dataset_ex: pd.DataFrame, *, extrt: str | None = None) -> pd.DataFrame:
    """EX records of one treatment with ASTDT, AENDT, EXADMN and the flags EXREDFL
    (dose lower than the preceding positive dose) and EXINTFL (dose held, EXDOSE = 0).

    >>> ex = pd.DataFrame({"USUBJID": ["1"] * 3, "EXTRT": ["PALBOCICLIB"] * 3, "EXDOSE": [125, 0, 100],
    ...     "EXSTDTC": ["2021-01-05", "2021-02-02", "2021-03-02"], "EXENDTC": ["2021-01-25", "2021-02-22", "2021-03-22"]})
    >>> derive_vars_dose_changes(ex, extrt="PALBOCICLIB")[["EXREDFL", "EXINTFL"]].values.tolist()
    [[nan, nan], [nan, 'Y'], ['Y', nan]]
    """
    require(dataset_ex, "EX", ["USUBJID", "EXTRT", "EXDOSE", "EXSTDTC"])
    # Checks run on the whole domain so that row numbers match the EX the user gave.
    dose = pd.to_numeric(dataset_ex["EXDOSE"], errors="coerce")
    bad = np.flatnonzero((dose.isna() | (dose < 0)).to_numpy())
    if len(bad):
        r = int(bad[0])
        raise ValueError(f"EX row {r + 1}: EXDOSE {dataset_ex['EXDOSE'].iloc[r]} is not a non-negative number")
    ex = dataset_ex.assign(EXDOSE=dose.astype(float), EXADMN=derive_var_exadmn(dataset_ex))
    if extrt is not None:
        ex = ex[(upper(ex["EXTRT"]) == extrt.upper()).to_numpy()]
    ex = ex.copy()
    ex["ASTDT"] = convert_dtc_to_dt(ex["EXSTDTC"])
    en = convert_dtc_to_dt(ex["EXENDTC"]) if "EXENDTC" in ex.columns else ex["ASTDT"]
    ex["AENDT"] = en.fillna(ex["ASTDT"])
    ex = ex.sort_values(["USUBJID", "EXTRT", "ASTDT"], kind="mergesort").reset_index(drop=True)
    pos = ex["EXDOSE"].where(ex["EXDOSE"] > 0)
    keys = [ex["USUBJID"], ex["EXTRT"]]
    prev = pos.groupby(keys).ffill().groupby(keys).shift()
    red = (ex["EXDOSE"] > 0) & (ex["EXDOSE"] < prev)
    placebo = upper(ex["EXTRT"]).str.contains("PLACEBO", na=False)
    held = (ex["EXDOSE"] == 0) & ~placebo
    ex["EXREDFL"] = np.where(red.fillna(False), "Y", None).astype(object)
    ex["EXINTFL"] = np.where(held.fillna(False), "Y", None).astype(object)
    return ex


def planned_daily_dose(protocol: Any, arm: str | None = None) -> dict[str, float]:
    """Planned dose per day of each drug in a protocol's regimen (upper-case names).

    ``dose x days_on / cycle_length_days`` for cyclic oral drugs (palbociclib
    125 x 21 / 28 = 93.75 mg/day); for interval dosing (``Q3W``) dose / interval.
    """
    out: dict[str, float] = {}
    for a in protocol.arms:
        if arm is not None and a.code != arm:
            continue
        for drug in a.regimen:
            dose = getattr(drug, "dose", None)
            if dose is None:
                continue
            freq = str(getattr(drug, "frequency", "") or "").upper()
            cycle = getattr(drug, "cycle_length_days", None)
            on = getattr(drug, "days_on", None)
            if freq in _INTERVAL:
                per_day = float(dose) / _INTERVAL[freq]
            else:
                per_day = float(dose) * _PER_DAY.get(freq, 1.0)
                if cycle and on:
                    per_day *= float(on) / float(cycle)
            name = getattr(drug, "drug", None) or getattr(drug, "name", None)
            out[str(name).upper()] = per_day
    return out


def adex(dataset_ex: pd.DataFrame, dataset_adsl: pd.DataFrame | None = None, *,
         planned: Mapping[str, float] | None = None, off_days_after_last: Mapping[str, float] | None = None
         ) -> pd.DataFrame:
    """Build ADEX: one record per subject, treatment and parameter.

    PARAMCD: TRTDURD exposure duration (days, first dose to last dose plus any
    scheduled off days after it, e.g. 7 for a 21/28 schedule), CUMDOSE cumulative dose,
    DOSEINT actual dose intensity (per day), RDI relative dose intensity (%, needs
    ``planned``), NREDUC number of dose reductions, NINTRP number of interruptions.

    Example
    -------
    >>> ex = pd.DataFrame({"USUBJID": ["1"] * 2, "EXTRT": ["PALBOCICLIB"] * 2, "EXDOSE": [125, 100],
    ...     "EXDOSFRQ": ["QD"] * 2, "EXSTDTC": ["2021-01-05", "2021-02-02"], "EXENDTC": ["2021-01-25", "2021-02-22"]})
    >>> a = adex(ex, planned={"PALBOCICLIB": 125 * 21 / 28}, off_days_after_last={"PALBOCICLIB": 7})
    >>> a.set_index("PARAMCD")["AVAL"].round(1).to_dict()
    {'TRTDURD': 56.0, 'CUMDOSE': 4725.0, 'DOSEINT': 84.4, 'RDI': 90.0, 'NREDUC': 1.0, 'NINTRP': 0.0}
    """
    ex = derive_vars_dose_changes(dataset_ex)
    if dataset_adsl is not None:
        require(dataset_adsl, "ADSL", ["USUBJID"])
        ex = ex[ex["USUBJID"].isin(dataset_adsl["USUBJID"])]
    ex = ex.assign(_amount=ex["EXDOSE"] * ex["EXADMN"], _red=ex["EXREDFL"] == "Y", _int=ex["EXINTFL"] == "Y",
                   _trt=upper(ex["EXTRT"]))
    dosed = ex[ex["EXDOSE"] > 0]
    g = dosed.groupby(["USUBJID", "_trt"])
    per = pd.DataFrame({"first": g["ASTDT"].min(), "last": g["AENDT"].max(), "CUMDOSE": g["_amount"].sum()})
    allg = ex.groupby(["USUBJID", "_trt"])
    per = per.join(pd.DataFrame({"NREDUC": allg["_red"].sum(), "NINTRP": allg["_int"].sum()}), how="outer")
    trt = per.index.get_level_values("_trt")
    off = pd.Series(trt).map({k.upper(): v for k, v in (off_days_after_last or {}).items()}).fillna(0).to_numpy()
    per["TRTDURD"] = (per["last"] - per["first"]).dt.days + 1 + off
    per["DOSEINT"] = per["CUMDOSE"] / per["TRTDURD"]
    plan = pd.Series(trt).map({k.upper(): v for k, v in (planned or {}).items()}).to_numpy(dtype=float)
    per["RDI"] = 100 * per["DOSEINT"] / plan
    params = ["TRTDURD", "CUMDOSE", "DOSEINT", "RDI", "NREDUC", "NINTRP"]
    long = per[params].reset_index().melt(id_vars=["USUBJID", "_trt"], var_name="PARAMCD", value_name="AVAL")
    long = long.rename(columns={"_trt": "EXTRT"})
    long["AVAL"] = long["AVAL"].astype(float)
    units = {"TRTDURD": "DAYS", "CUMDOSE": None, "DOSEINT": None, "RDI": "%", "NREDUC": None, "NINTRP": None}
    dosu = (ex.assign(EXTRT=ex["_trt"]).groupby("EXTRT")["EXDOSU"].first()
            if "EXDOSU" in ex.columns else pd.Series(dtype=object))
    long["AVALU"] = [units[p] if p not in ("CUMDOSE", "DOSEINT") else
                     (f"{dosu.get(t)}" if p == "CUMDOSE" else f"{dosu.get(t)}/DAY") if t in dosu.index else None
                     for p, t in zip(long["PARAMCD"], long["EXTRT"])]
    names = {"TRTDURD": "Exposure Duration (days)", "CUMDOSE": "Cumulative Dose", "DOSEINT": "Dose Intensity per Day",
             "RDI": "Relative Dose Intensity (%)", "NREDUC": "Number of Dose Reductions",
             "NINTRP": "Number of Dose Interruptions"}
    long["PARAM"] = long["PARAMCD"].map(names)
    order = {p: i for i, p in enumerate(params)}
    long = long.sort_values(["USUBJID", "EXTRT", "PARAMCD"], key=lambda s: s.map(order) if s.name == "PARAMCD" else s,
                            kind="mergesort").reset_index(drop=True)
    if dataset_adsl is not None:
        carry = [c for c in ("STUDYID", "ARMCD", "ARM", "TRT01A", "SAFFL") if c in dataset_adsl.columns]
        long = long.merge(dataset_adsl[["USUBJID", *carry]], on="USUBJID", how="left")
    return long
