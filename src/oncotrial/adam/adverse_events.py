"""ADAE: adverse events with analysis dates, treatment emergence, toxicity grade and
worst-occurrence flags.

Input: SDTM AE (AESTDTC, AEENDTC, AEDECOD, AEBODSYS, AESEV and/or AETOXGR -- the
CTCAE grade 1-5 as text, as SDTM stores it) and ADSL (TRTSDT, TRTEDT, DTHDT, EOSDT).

Variables added: ASTDT, ASTDTF, AENDT, AENDTF, ASTDY, AENDY, TRTEMFL, ATOXGR/ATOXGRN
(from AETOXGR), ASEV/ASEVN (from AESEV), and the worst-occurrence flags AOCCIFL
(per subject), AOCCPIFL (per subject and AEDECOD), AOCCSIFL (per subject and
AEBODSYS): among treatment-emergent events, the one with the highest grade (CTCAE
grade, or severity when no grade is collected), the earliest on ties.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from oncotrial.adam._checks import as_date, positive, require
from oncotrial.adam.dates import convert_dtc_to_dt, date_imputation_flag

__all__ = ["adae", "derive_vars_astdt_aendt", "derive_var_trtemfl", "derive_vars_atoxgr", "derive_var_worst_flag"]

_ADSL_VARS = ["TRTSDT", "TRTEDT", "DTHDT", "EOSDT"]
_SEVN = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}


def derive_vars_astdt_aendt(dataset: pd.DataFrame) -> pd.DataFrame:
    """Analysis start/end dates ``ASTDT``/``AENDT`` with imputation flags and study days.

    As admiral's template: a missing start day/month imputes to the first (but not
    before TRTSDT when first dose falls in that month/year); a missing end day/month
    to the last (but not after death or end of study).  ``dataset`` is AE with ADSL's
    TRTSDT (and DTHDT, EOSDT when present) merged on.

    >>> ae = pd.DataFrame({"AESTDTC": ["2021-03"], "AEENDTC": ["2021-04"],
    ...                    "TRTSDT": pd.to_datetime(["2021-03-10"])})
    >>> derive_vars_astdt_aendt(ae)[["ASTDT", "AENDT"]].astype(str).values.tolist()
    [['2021-03-10', '2021-04-30']]
    """
    require(dataset, "ADAE", ["AESTDTC", "TRTSDT"])
    out = dataset.copy()
    out["ASTDT"] = convert_dtc_to_dt(out["AESTDTC"], highest_imputation="M", date_imputation="first",
                                     min_dates=out["TRTSDT"])
    out["ASTDTF"] = date_imputation_flag(out["AESTDTC"], out["ASTDT"])
    caps = [c for c in ("DTHDT", "EOSDT") if c in out.columns]
    cap = out[caps].min(axis=1) if caps else None
    if "AEENDTC" in out.columns:
        out["AENDT"] = convert_dtc_to_dt(out["AEENDTC"], highest_imputation="M", date_imputation="last",
                                         max_dates=cap)
        out["AENDTF"] = date_imputation_flag(out["AEENDTC"], out["AENDT"])
    else:
        out["AENDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    for var, day in (("ASTDT", "ASTDY"), ("AENDT", "AENDY")):
        d = (out[var] - out["TRTSDT"]).dt.days
        out[day] = (d + (d >= 0)).astype(float)
    return out


def derive_var_trtemfl(dataset: pd.DataFrame, *, end_window: int = 30) -> pd.DataFrame:
    """Treatment-emergent flag ``TRTEMFL``: start on/after first dose and no later than
    ``end_window`` days after the last dose (missing start: emergent if it ended on or
    after first dose or has no end).

    >>> d = pd.DataFrame({"ASTDT": pd.to_datetime(["2021-01-01", "2021-02-15", "2021-04-15"]),
    ...     "AENDT": pd.NaT, "TRTSDT": pd.to_datetime(["2021-01-05"] * 3), "TRTEDT": pd.to_datetime(["2021-03-20"] * 3)})
    >>> derive_var_trtemfl(d)["TRTEMFL"].tolist()
    [nan, 'Y', 'Y']
    """
    require(dataset, "ADAE", ["ASTDT", "TRTSDT", "TRTEDT"])
    positive(end_window, "end_window")
    out = dataset.copy()
    st, ts, te = out["ASTDT"], out["TRTSDT"], out["TRTEDT"]
    en = out["AENDT"] if "AENDT" in out.columns else pd.Series(pd.NaT, index=out.index)
    within = (st >= ts) & (te.isna() | (st <= te + pd.Timedelta(days=end_window)))
    unknown_start = st.isna() & (en.isna() | (en >= ts))
    flag = ts.notna() & (within | unknown_start)
    out["TRTEMFL"] = np.where(flag.fillna(False).to_numpy(), "Y", None).astype(object)
    return out


def derive_vars_atoxgr(dataset: pd.DataFrame) -> pd.DataFrame:
    """``ATOXGR``/``ATOXGRN`` from AETOXGR (CTCAE grade 1-5) and ``ASEV``/``ASEVN`` from AESEV.

    >>> derive_vars_atoxgr(pd.DataFrame({"AETOXGR": ["3", None]}))["ATOXGRN"].tolist()
    [3.0, nan]
    """
    out = dataset.copy()
    if "AETOXGR" in out.columns:
        raw = out["AETOXGR"].astype("string").str.strip().str.upper().str.replace("GRADE", "").str.strip()
        g = pd.to_numeric(raw, errors="coerce")
        bad = np.flatnonzero((raw.notna() & (raw != "") & (g.isna() | ~g.isin([1, 2, 3, 4, 5]))).fillna(False).to_numpy())
        if len(bad):
            r = int(bad[0])
            raise ValueError(f"AE row {r + 1}: AETOXGR {out['AETOXGR'].iloc[r]!r} is not a CTCAE grade 1-5")
        out["ATOXGRN"] = g.astype(float)
        out["ATOXGR"] = out["ATOXGRN"].map(lambda v: str(int(v)) if pd.notna(v) else np.nan)
    if "AESEV" in out.columns:
        out["ASEV"] = out["AESEV"]
        out["ASEVN"] = out["AESEV"].astype("string").str.upper().map(_SEVN).astype(float)
    return out


def derive_var_worst_flag(dataset: pd.DataFrame, *, by_vars: Sequence[str], new_var: str,
                          grade_var: str, filter_var: str = "TRTEMFL") -> pd.DataFrame:
    """Flag (``new_var = "Y"``) the worst record per ``by_vars`` among ``filter_var == "Y"``:
    highest ``grade_var``, then earliest ASTDT, then lowest AESEQ.

    >>> d = pd.DataFrame({"USUBJID": ["1"] * 3, "TRTEMFL": ["Y"] * 3, "ATOXGRN": [2, 3, 3], "AESEQ": [1, 2, 3],
    ...                   "ASTDT": pd.to_datetime(["2021-01-01", "2021-02-01", "2021-01-15"])})
    >>> derive_var_worst_flag(d, by_vars=["USUBJID"], new_var="AOCCIFL", grade_var="ATOXGRN")["AOCCIFL"].tolist()
    [nan, nan, 'Y']
    """
    require(dataset, "ADAE", [*by_vars, grade_var, filter_var])
    out = dataset.copy()
    order = [c for c in (grade_var, "ASTDT", "AESEQ") if c in out.columns]
    asc = [False] + [True] * (len(order) - 1)
    cand = out[out[filter_var] == "Y"].sort_values(order, ascending=asc, kind="mergesort", na_position="last")
    first = cand.drop_duplicates(list(by_vars)).index
    out[new_var] = np.where(out.index.isin(first), "Y", None).astype(object)
    return out


def adae(dataset_ae: pd.DataFrame, dataset_adsl: pd.DataFrame, *, end_window: int = 30) -> pd.DataFrame:
    """Build ADAE from AE and ADSL (TRTSDT, TRTEDT; DTHDT, EOSDT and arms carried when present).

    ``end_window``: days after the last dose during which a new AE is still
    treatment-emergent (30 by default).

    Example
    -------
    >>> a = adae(ae_df, adsl_df)                                  # doctest: +SKIP
    >>> a[a.TRTEMFL == "Y"].groupby("TRT01A").USUBJID.nunique()     # doctest: +SKIP
    """
    require(dataset_ae, "AE", ["USUBJID", "AESTDTC", "AEDECOD"])
    require(dataset_adsl, "ADSL", ["USUBJID", "TRTSDT", "TRTEDT"])
    carry = [c for c in ["STUDYID", *_ADSL_VARS, "TRT01P", "TRT01A", "ARMCD", "ARM", "ACTARMCD", "ACTARM",
                         "SAFFL", "AGE", "SEX", "RACE"] if c in dataset_adsl.columns]
    adsl = dataset_adsl[["USUBJID", *[c for c in carry if c != "STUDYID" or "STUDYID" not in dataset_ae.columns]]]
    adsl = adsl.copy()
    for v in _ADSL_VARS:
        if v in adsl.columns:
            adsl[v] = as_date(adsl[v], "ADSL", v)
    out = dataset_ae.reset_index(drop=True).merge(adsl, on="USUBJID", how="left", validate="many_to_one")
    out = derive_vars_astdt_aendt(out)
    out = derive_var_trtemfl(out, end_window=end_window)
    out = derive_vars_atoxgr(out)
    grade = "ATOXGRN" if "ATOXGRN" in out.columns else ("ASEVN" if "ASEVN" in out.columns else None)
    if grade is not None:
        out = derive_var_worst_flag(out, by_vars=["USUBJID"], new_var="AOCCIFL", grade_var=grade)
        out = derive_var_worst_flag(out, by_vars=["USUBJID", "AEDECOD"], new_var="AOCCPIFL", grade_var=grade)
        if "AEBODSYS" in out.columns:
            out = derive_var_worst_flag(out, by_vars=["USUBJID", "AEBODSYS"], new_var="AOCCSIFL", grade_var=grade)
    return out
