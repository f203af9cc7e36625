"""ADTTE: time-to-event parameters (OS, PFS, duration of response, time to first dose
reduction), with AVAL in days = ADT - STARTDT + 1 (admiral's ``derive_vars_duration``
with ``add_one = TRUE``).

Two engines:

* :func:`derive_param_tte` reproduces admiral's ``derive_param_tte``: the first event
  over the event sources, otherwise the last censoring date over the censoring
  sources; ADT is never before STARTDT.  Used for OS and, with
  ``max_missed=None``, gives admiralonco's PFS.
* :func:`derive_param_pfs` applies the FDA (2018) PFS censoring rules, each with its
  own CNSR:

  ==== ============================================== ==========================================
  CNSR EVNTDESC / CNSDTDSC                            ADT
  ==== ============================================== ==========================================
  0    Disease Progression / Death                    date of PD or death
  1    Last Adequate Tumor Assessment                 last adequate assessment (no event)
  2    No Post-Baseline Tumor Assessment              randomization (none before event / end)
  3    Event After Two or More Missed Assessments     last adequate assessment before the gap
  4    New Anticancer Therapy                         last adequate assessment on/before NACTDT
  ==== ============================================== ==========================================

  An "adequate" assessment is an OVR record counted in ADRS (ANL01FL) with a
  response other than NE or PD.  "Two or more missed" means the event lies more than
  ``max_missed * assessment_interval_days + window_days`` days after the last
  adequate assessment (or randomization); PATINA: 2 x 84 + 7 = 175 days.

Inputs: ADSL (USUBJID, RANDDT, DTHDT, LSTALVDT, TRTSDT, TRTEDT and optionally NACTDT
-- date of first new anticancer therapy) and ADRS from :func:`oncotrial.adam.adrs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from oncotrial.adam._checks import as_date, positive, require
from oncotrial.adam.dates import compute_duration

__all__ = [
    "TTESource",
    "event_source",
    "censor_source",
    "derive_param_tte",
    "derive_param_os",
    "derive_param_pfs",
    "derive_param_dor",
    "derive_param_ttdr",
    "adtte",
]

CNSR_DESC = {
    1: "Last Adequate Tumor Assessment",
    2: "No Post-Baseline Tumor Assessment",
    3: "Event After Two or More Missed Assessments",
    4: "New Anticancer Therapy",
}
ADEQUATE = ("CR", "PR", "SD", "NON-CR/NON-PD")
_ADSL_CARRY = ["STUDYID", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "TRT01P", "TRT01A", "ITTFL", "SAFFL",
               "AGE", "SEX"]


@dataclass(frozen=True)
class TTESource:
    """An event or censoring source, as admiral's ``event_source``/``censor_source``.

    ``filter`` selects rows of ``source_datasets[dataset_name]`` (a callable taking the
    DataFrame and returning a boolean mask); ``date`` names the date column;
    ``set_values_to`` gives EVNTDESC, CNSDTDSC, SRCDOM, SRCVAR ... for the record.
    """

    dataset_name: str
    date: str
    censor: int = 0
    filter: Callable[[pd.DataFrame], Any] | None = None
    set_values_to: Mapping[str, Any] = field(default_factory=dict)


def event_source(dataset_name: str, date: str, *, filter: Callable[[pd.DataFrame], Any] | None = None,
                 set_values_to: Mapping[str, Any] | None = None) -> TTESource:
    """An event source (CNSR = 0).

    >>> death = event_source("adsl", "DTHDT", filter=lambda d: d["DTHDT"].notna(),
    ...                      set_values_to={"EVNTDESC": "Death", "SRCDOM": "ADSL", "SRCVAR": "DTHDT"})
    """
    return TTESource(dataset_name, date, 0, filter, dict(set_values_to or {}))


def censor_source(dataset_name: str, date: str, *, censor: int = 1,
                  filter: Callable[[pd.DataFrame], Any] | None = None,
                  set_values_to: Mapping[str, Any] | None = None) -> TTESource:
    """A censoring source (CNSR = ``censor`` > 0).

    >>> alive = censor_source("adsl", "LSTALVDT", set_values_to={"EVNTDESC": "Alive"})
    """
    if censor <= 0:
        raise ValueError(f"censor: censoring sources need CNSR > 0, got {censor}")
    return TTESource(dataset_name, date, censor, filter, dict(set_values_to or {}))


def _collect(sources: Sequence[TTESource], datasets: Mapping[str, pd.DataFrame], mode: str) -> pd.DataFrame:
    frames = []
    for i, src in enumerate(sources):
        if src.dataset_name not in datasets:
            raise ValueError(f"source_datasets: no dataset named {src.dataset_name!r} "
                             f"(given: {', '.join(datasets)})")
        df = datasets[src.dataset_name]
        require(df, src.dataset_name, ["USUBJID", src.date])
        if src.filter is not None:
            df = df[np.asarray(src.filter(df), dtype=bool)]
        rec = pd.DataFrame({"USUBJID": df["USUBJID"].to_numpy(),
                            "ADT": as_date(df[src.date], src.dataset_name, src.date).to_numpy()})
        rec["CNSR"] = src.censor
        rec["_src"] = i
        for k, v in src.set_values_to.items():
            rec[k] = df[v[1:]].to_numpy() if isinstance(v, str) and v.startswith("$") else v
        frames.append(rec.dropna(subset=["ADT"]))
    if not frames:
        return pd.DataFrame(columns=["USUBJID", "ADT", "CNSR"])
    allr = pd.concat(frames, ignore_index=True)
    ascending = mode == "first"
    allr = allr.sort_values(["USUBJID", "ADT", "_src"], ascending=[True, ascending, ascending], kind="mergesort")
    return allr.drop_duplicates("USUBJID").drop(columns="_src")


def derive_param_tte(dataset_adsl: pd.DataFrame, *, start_date: str, event_conditions: Sequence[TTESource],
                     censor_conditions: Sequence[TTESource], source_datasets: Mapping[str, pd.DataFrame],
                     set_values_to: Mapping[str, Any]) -> pd.DataFrame:
    """A time-to-event parameter with admiral's ``derive_param_tte`` rules.

    For each ADSL subject: the earliest event over ``event_conditions`` if any (ties go
    to the source listed first), else the latest date over ``censor_conditions``
    (ties to the one listed last).  ADT = max(ADT, STARTDT); AVAL = ADT - STARTDT + 1.
    Subjects with neither get no record.  ``set_values_to`` must give PARAMCD.

    Example
    -------
    >>> adsl = pd.DataFrame({"USUBJID": ["1", "2"], "RANDDT": pd.to_datetime(["2021-01-01"] * 2),
    ...                      "DTHDT": pd.to_datetime(["2021-03-01", None]),
    ...                      "LSTALVDT": pd.to_datetime(["2021-03-01", "2021-06-30"])})
    >>> os_ = derive_param_tte(adsl, start_date="RANDDT",
    ...     event_conditions=[event_source("adsl", "DTHDT", set_values_to={"EVNTDESC": "Death"})],
    ...     censor_conditions=[censor_source("adsl", "LSTALVDT", set_values_to={"EVNTDESC": "Alive"})],
    ...     source_datasets={"adsl": adsl}, set_values_to={"PARAMCD": "OS"})
    >>> os_[["USUBJID", "AVAL", "CNSR"]].values.tolist()
    [['1', 60.0, 0], ['2', 181.0, 1]]
    """
    require(dataset_adsl, "ADSL", ["USUBJID", start_date])
    if "PARAMCD" not in set_values_to:
        raise ValueError("set_values_to: PARAMCD is required")
    ev = _collect(event_conditions, source_datasets, "first")
    ce = _collect(censor_conditions, source_datasets, "last")
    ce = ce[~ce["USUBJID"].isin(ev["USUBJID"])]
    rec = pd.concat([ev, ce], ignore_index=True)
    start = pd.DataFrame({"USUBJID": dataset_adsl["USUBJID"].to_numpy(),
                          "STARTDT": as_date(dataset_adsl[start_date], "ADSL", start_date).to_numpy()})
    out = start.merge(rec, on="USUBJID", how="inner")
    out["ADT"] = out[["ADT", "STARTDT"]].max(axis=1)
    out["AVAL"] = compute_duration(out["STARTDT"], out["ADT"])
    for k, v in set_values_to.items():
        out[k] = v
    out["CNSR"] = out["CNSR"].astype(int)
    return out


def derive_param_os(dataset_adsl: pd.DataFrame, *, start_date: str = "RANDDT") -> pd.DataFrame:
    """Overall survival: death (CNSR 0), else censored at LSTALVDT (CNSR 1), or at
    randomization when nothing later is known (CNSR 2).

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-01"]),
    ...                      "DTHDT": pd.to_datetime([None]), "LSTALVDT": pd.to_datetime(["2021-01-31"])})
    >>> derive_param_os(adsl)[["AVAL", "CNSR", "EVNTDESC"]].values.tolist()
    [[31.0, 1, 'Alive']]
    """
    require(dataset_adsl, "ADSL", ["USUBJID", start_date, "DTHDT", "LSTALVDT"])
    adsl = dataset_adsl.assign(_st=as_date(dataset_adsl[start_date], "ADSL", start_date),
                               _la=as_date(dataset_adsl["LSTALVDT"], "ADSL", "LSTALVDT"))
    later = adsl["_la"] > adsl["_st"]
    return derive_param_tte(
        adsl, start_date=start_date,
        event_conditions=[event_source("adsl", "DTHDT", set_values_to={
            "EVNTDESC": "Death", "CNSDTDSC": None, "SRCDOM": "ADSL", "SRCVAR": "DTHDT"})],
        censor_conditions=[
            censor_source("adsl", "_la", censor=1, filter=lambda d: later.loc[d.index], set_values_to={
                "EVNTDESC": "Alive", "CNSDTDSC": "Alive During Study", "SRCDOM": "ADSL", "SRCVAR": "LSTALVDT"}),
            censor_source("adsl", "_st", censor=2, filter=lambda d: ~later.loc[d.index], set_values_to={
                "EVNTDESC": "Randomization", "CNSDTDSC": "Randomization", "SRCDOM": "ADSL", "SRCVAR": start_date}),
        ],
        source_datasets={"adsl": adsl},
        set_values_to={"PARAMCD": "OS", "PARAM": "Overall Survival"},
    ).drop(columns=["_st", "_la"], errors="ignore")


def _assessments(dataset_adrs: pd.DataFrame, adequate: Sequence[str]) -> tuple[pd.DataFrame, pd.Series]:
    require(dataset_adrs, "ADRS", ["USUBJID", "PARAMCD", "ADT", "AVALC", "ANL01FL"])
    ovr = dataset_adrs[(dataset_adrs["PARAMCD"] == "OVR") & (dataset_adrs["ANL01FL"] == "Y")]
    ade = ovr[ovr["AVALC"].isin(list(adequate))][["USUBJID", "ADT"]]
    pdd = ovr[ovr["AVALC"] == "PD"].groupby("USUBJID")["ADT"].min()
    return ade, pdd


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` (indexed by USUBJID) looked up for each key; works for empty and datetime values."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def _last_before(ade: pd.DataFrame, limit: pd.Series, *, strict: bool) -> pd.Series:
    """Per subject, the last adequate assessment on/before (or strictly before) ``limit``."""
    a = ade.merge(limit.rename("_lim").reset_index(), on="USUBJID", how="inner")
    keep = a["ADT"] < a["_lim"] if strict else a["ADT"] <= a["_lim"]
    return a[keep].groupby("USUBJID")["ADT"].max()


def derive_param_pfs(
    dataset_adsl: pd.DataFrame,
    dataset_adrs: pd.DataFrame,
    *,
    start_date: str | pd.Series = "RANDDT",
    assessment_interval_days: float = 84,
    window_days: float = 7,
    max_missed: int | None = 2,
    new_therapy: bool = True,
    adequate: Sequence[str] = ADEQUATE,
    paramcd: str = "PFS",
    param: str = "Progression Free Survival",
) -> pd.DataFrame:
    """Progression-free survival with the FDA censoring rules (CNSR codes in the module docstring).

    ``max_missed=None`` switches the missed-assessment rule off (admiralonco's
    convention: an event counts however long after the last assessment);
    ``new_therapy=False`` ignores ADSL.NACTDT.  ``start_date`` is an ADSL column or a
    Series of dates indexed by USUBJID (then only those subjects get a record).

    Example
    -------
    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"]),
    ...                      "DTHDT": pd.to_datetime(["2022-01-03"])})
    >>> adrs_ = pd.DataFrame({"USUBJID": ["1"], "PARAMCD": ["OVR"], "ANL01FL": ["Y"],
    ...                       "AVALC": ["SD"], "ADT": pd.to_datetime(["2021-03-29"])})
    >>> derive_param_pfs(adsl, adrs_)[["CNSR", "AVAL", "EVNTDESC"]].values.tolist()
    [[3, 85.0, 'Event After Two or More Missed Assessments']]
    """
    require(dataset_adsl, "ADSL", ["USUBJID", "DTHDT"])
    positive(assessment_interval_days, "assessment_interval_days")
    positive(window_days, "window_days")
    positive(max_missed, "max_missed", allow_none=True)
    if isinstance(start_date, str):
        require(dataset_adsl, "ADSL", [start_date])
        start = pd.Series(as_date(dataset_adsl[start_date], "ADSL", start_date).to_numpy(),
                          index=dataset_adsl["USUBJID"].to_numpy())
        srcvar_start = start_date
        start_desc = "Randomization" if start_date == "RANDDT" else f"Start Date ({start_date})"
    else:
        start = pd.to_datetime(start_date).dropna()
        srcvar_start = "STARTDT"
        start_desc = "Start Date"
    start = start.dropna()
    subj = pd.DataFrame({"USUBJID": start.index.to_numpy(), "STARTDT": start.to_numpy()})
    a = dataset_adsl.set_index("USUBJID")
    ade, pdd = _assessments(dataset_adrs, adequate)
    ade = ade.merge(subj, on="USUBJID")
    ade = ade[ade["ADT"] >= ade["STARTDT"]][["USUBJID", "ADT"]]
    u = subj["USUBJID"]
    pdt = _lookup(u, pdd)
    pdt = pdt.where(pdt >= subj["STARTDT"])
    dth = _lookup(u, as_date(a["DTHDT"], "ADSL", "DTHDT"))
    dth = dth.where(dth >= subj["STARTDT"])
    evt = pd.concat([pdt, dth], axis=1).min(axis=1)
    is_pd = pdt.notna() & (pdt <= dth.fillna(pdt))
    nact = _lookup(u, as_date(a["NACTDT"], "ADSL", "NACTDT")) if (new_therapy and "NACTDT" in a.columns) \
        else pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    last_any = _lookup(u, ade.groupby("USUBJID")["ADT"].max())
    last_evt = _lookup(u, _last_before(ade, pd.Series(evt.to_numpy(), index=u).dropna(), strict=False))
    last_nact = _lookup(u, _last_before(ade, pd.Series(nact.to_numpy(), index=u).dropna(), strict=False))
    st = subj["STARTDT"]

    by_nact = nact.notna() & (evt.isna() | (nact < evt))
    has_evt = evt.notna() & ~by_nact
    anchor = last_evt.fillna(st)
    limit = (max_missed * assessment_interval_days + window_days) if max_missed is not None else np.inf
    gap = (evt - anchor).dt.days
    missed = has_evt & (gap > limit)

    cnsr = np.select(
        [by_nact, missed & last_evt.isna(), missed, has_evt, last_any.notna()],
        [4, 2, 3, 0, 1], default=2)
    adt = np.select(
        [by_nact, missed, has_evt, last_any.notna()],
        [last_nact.fillna(st), anchor, evt, last_any], default=st)
    out = subj.copy()
    out["ADT"] = pd.to_datetime(adt)
    out["ADT"] = out[["ADT", "STARTDT"]].max(axis=1)
    out["CNSR"] = cnsr.astype(int)
    evdesc = np.where(is_pd, "Disease Progression", "Death")
    out["EVNTDESC"] = np.where(out["CNSR"] == 0, evdesc, pd.Series(cnsr).map(CNSR_DESC).fillna("").to_numpy())
    out["CNSDTDSC"] = np.where(out["CNSR"] == 0, None, np.where(
        np.isin(cnsr, [2]) | ((cnsr == 4) & last_nact.isna().to_numpy()) | ((cnsr == 3) & last_evt.isna().to_numpy()),
        start_desc, "Last Adequate Tumor Assessment")).astype(object)
    out["SRCDOM"] = np.where((out["CNSR"] == 0) & ~is_pd.to_numpy(), "ADSL",
                             np.where(out["CNSDTDSC"] == start_desc, "ADSL", "ADRS"))
    out["SRCVAR"] = np.where((out["CNSR"] == 0) & ~is_pd.to_numpy(), "DTHDT",
                             np.where(out["CNSDTDSC"] == start_desc, srcvar_start, "ADT"))
    out["AVAL"] = compute_duration(out["STARTDT"], out["ADT"])
    out["PARAMCD"], out["PARAM"] = paramcd, param
    return out


def derive_param_dor(dataset_adsl: pd.DataFrame, dataset_adrs: pd.DataFrame, *,
                     response_paramcd: str = "CRSP", **pfs_options) -> pd.DataFrame:
    """Duration of response among responders: from the first (confirmed) response
    (``response_paramcd`` = CRSP, or RSP for unconfirmed) to PD or death, with the
    PFS censoring rules (:func:`derive_param_pfs` options pass through).

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"]), "DTHDT": [pd.NaT]})
    >>> adrs_ = pd.DataFrame({"USUBJID": ["1"] * 3, "PARAMCD": ["OVR", "OVR", "CRSP"], "ANL01FL": ["Y"] * 3,
    ...     "AVALC": ["PR", "PD", "Y"], "ADT": pd.to_datetime(["2021-03-29", "2021-06-21", "2021-03-29"])})
    >>> derive_param_dor(adsl, adrs_)[["AVAL", "CNSR"]].to_dict("records")
    [{'AVAL': 85.0, 'CNSR': 0}]
    """
    require(dataset_adrs, "ADRS", ["USUBJID", "PARAMCD", "AVALC", "ADT"])
    resp = dataset_adrs[(dataset_adrs["PARAMCD"] == response_paramcd) & (dataset_adrs["AVALC"] == "Y")]
    start = resp.groupby("USUBJID")["ADT"].min()
    opts = {"paramcd": "DOR", "param": "Duration of Response"} | dict(pfs_options)
    return derive_param_pfs(dataset_adsl, dataset_adrs, start_date=start, **opts)


def derive_param_ttdr(dataset_adsl: pd.DataFrame, dataset_ex: pd.DataFrame, *, extrt: str) -> pd.DataFrame:
    """Time to first dose reduction of ``extrt``: from its first dose to the first EX record
    with a lower dose than the one before (CNSR 0), censored at its last dose (CNSR 1).

    >>> ex = pd.DataFrame({"USUBJID": ["1"] * 2, "EXTRT": ["PALBOCICLIB"] * 2, "EXDOSE": [125, 100],
    ...     "EXSTDTC": ["2021-01-05", "2021-02-02"], "EXENDTC": ["2021-01-25", "2021-02-22"]})
    >>> derive_param_ttdr(pd.DataFrame({"USUBJID": ["1"]}), ex, extrt="PALBOCICLIB")[["AVAL", "CNSR"]].to_dict("records")
    [{'AVAL': 29.0, 'CNSR': 0}]
    """
    from oncotrial.adam.exposure import derive_vars_dose_changes

    require(dataset_adsl, "ADSL", ["USUBJID"])
    ex = derive_vars_dose_changes(dataset_ex, extrt=extrt)
    ex = ex[ex["USUBJID"].isin(dataset_adsl["USUBJID"])]
    dosed = ex[ex["EXDOSE"] > 0]
    first = dosed.groupby("USUBJID")["ASTDT"].min().rename("STARTDT")
    last = dosed.groupby("USUBJID")["AENDT"].max()
    red = ex[ex["EXREDFL"] == "Y"].groupby("USUBJID")["ASTDT"].min()
    out = first.reset_index()
    r = _lookup(out["USUBJID"], red)
    out["CNSR"] = np.where(r.notna(), 0, 1)
    out["ADT"] = r.fillna(_lookup(out["USUBJID"], last))
    out["ADT"] = out[["ADT", "STARTDT"]].max(axis=1)
    out["EVNTDESC"] = np.where(out["CNSR"] == 0, "Dose Reduction", "Last Dose")
    out["CNSDTDSC"] = np.where(out["CNSR"] == 0, None, "Last Dose Date").astype(object)
    out["SRCDOM"], out["SRCVAR"] = "EX", np.where(out["CNSR"] == 0, "EXSTDTC", "EXENDTC")
    out["AVAL"] = compute_duration(out["STARTDT"], out["ADT"])
    out["PARAMCD"], out["PARAM"] = "TTDR", f"Time to First Dose Reduction of {extrt}"
    return out


def adtte(
    dataset_adsl: pd.DataFrame,
    dataset_adrs: pd.DataFrame,
    *,
    dataset_ex: pd.DataFrame | None = None,
    extrt: str | None = None,
    assessment_interval_days: float = 84,
    window_days: float = 7,
    max_missed: int | None = 2,
    dor_response: str = "CRSP",
) -> pd.DataFrame:
    """Build ADTTE: OS, PFS, DOR and (with EX and ``extrt``) TTDR for the randomized subjects.

    PATINA: tumour assessments every 12 weeks (84 days) with a 7-day window, PFS
    censored after two or more missed assessments.  Variables: STUDYID USUBJID PARAMCD
    PARAM STARTDT ADT AVAL AVALU CNSR EVNTDESC CNSDTDSC SRCDOM SRCVAR plus ADSL's
    ARMCD ARM ACTARMCD ACTARM TRT01P TRT01A ITTFL SAFFL AGE SEX and STRATwR.

    Example
    -------
    >>> tte = adtte(adsl_df, adrs_df, dataset_ex=ex, extrt="PALBOCICLIB")   # doctest: +SKIP
    """
    require(dataset_adsl, "ADSL", ["USUBJID", "RANDDT", "DTHDT", "LSTALVDT"])
    rand = dataset_adsl[dataset_adsl["RANDDT"].notna()]
    opts = dict(assessment_interval_days=assessment_interval_days, window_days=window_days, max_missed=max_missed)
    parts = [derive_param_os(rand), derive_param_pfs(rand, dataset_adrs, **opts),
             derive_param_dor(rand, dataset_adrs, response_paramcd=dor_response, **opts)]
    if dataset_ex is not None and extrt is not None:
        parts.append(derive_param_ttdr(rand, dataset_ex, extrt=extrt))
    out = pd.concat(parts, ignore_index=True)
    out["AVALU"] = "DAYS"
    carry = [c for c in dataset_adsl.columns if c in _ADSL_CARRY or (c.startswith("STRAT") and c[-1] in "RV")]
    out = out.drop(columns=[c for c in carry if c in out.columns]).merge(
        dataset_adsl[["USUBJID", *carry]], on="USUBJID", how="left")
    order = {"OS": 0, "PFS": 1, "DOR": 2, "TTDR": 3}
    out = out.sort_values(["USUBJID", "PARAMCD"], key=lambda s: s.map(order) if s.name == "PARAMCD" else s,
                          kind="mergesort").reset_index(drop=True)
    out["ASEQ"] = out.groupby("USUBJID").cumcount() + 1
    first = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALU", "CNSR", "EVNTDESC",
             "CNSDTDSC", "SRCDOM", "SRCVAR", "ASEQ"]
    return out[[c for c in first if c in out.columns] + [c for c in out.columns if c not in first]]
