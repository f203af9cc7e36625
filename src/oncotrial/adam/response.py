"""ADRS: tumour response per RECIST 1.1, as admiralonco derives it.

Inputs
------
* ``adsl`` with USUBJID, RANDDT (and DTHDT for the DEATH parameter).
* ``rs``: SDTM RS with RSTESTCD, RSSTRESC, RSDTC (and RSEVAL, RSSEQ, VISIT, VISITNUM
  where present).  Overall responses are the records with ``RSTESTCD == "OVRLRESP"``
  and, if RSEVAL is present, ``RSEVAL == "INVESTIGATOR"``; RSSTRESC is one of CR, PR,
  SD, NON-CR/NON-PD, PD, NE.
* ``tu`` (optional): SDTM TU for the measurable-disease flag (MDIS).

Parameters (PARAMCD)
--------------------
OVR    overall response per visit (ADT = RSDTC, a missing day imputed to the last day)
PD     first progression (Y/N)
RSP    response, confirmation not required (Y/N)
BOR    best overall response, confirmation not required
CRSP   confirmed response (Y/N)
CBOR   best confirmed overall response
CBR    clinical benefit: confirmed CR/PR, or CR/PR/SD/NON-CR/NON-PD assessed at least
       ``cbr_min_days`` after randomization (before any PD)
LSTA   last disease assessment
DEATH  death (Y/N)
MDIS   measurable disease at baseline (only when ``tu`` is given)

Conventions (admiralonco's ``ad_adrs.R`` template)
---------------------------------------------------
* Only assessments on or after RANDDT count (ANL01FL); with two on one date the
  worst (highest AVAL) counts; assessments after the first PD are dropped (ANL02FL).
* SD (or an unconfirmed CR/PR) counts as SD for BOR only at least ``sd_min_days``
  after randomization (admiralonco's default 42; otherwise NE).
* A CR is confirmed by a later CR at least ``confirmation_min_days`` later with only
  CR or at most ``max_ne`` NE in between; a PR by a later CR/PR with only CR/PR/NE
  in between (at most ``max_ne`` NE, and no PR after a CR).
* Subjects without any assessment get BOR/CBOR ``MISSING``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.adam._checks import as_date, positive, require
from oncotrial.adam.dates import convert_dtc_to_dt

__all__ = [
    "AVAL_RESP",
    "adrs",
    "derive_param_ovr",
    "derive_param_pd",
    "derive_param_rsp",
    "derive_param_bor",
    "derive_param_confirmed_resp",
    "derive_param_confirmed_bor",
    "derive_param_cbr",
    "derive_param_lsta",
    "derive_param_death",
    "derive_param_mdis",
    "confirmed_flags",
]

AVAL_RESP = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}

PARAMS = {
    "OVR": "Overall Response by Investigator",
    "PD": "Disease Progression by Investigator",
    "RSP": "Response by Investigator (confirmation not required)",
    "BOR": "Best Overall Response by Investigator (confirmation not required)",
    "CRSP": "Confirmed Response by Investigator",
    "CBOR": "Best Confirmed Overall Response by Investigator",
    "CBR": "Confirmed Clinical Benefit by Investigator",
    "LSTA": "Last Disease Assessment by Investigator",
    "DEATH": "Death",
    "MDIS": "Measurable Disease at Baseline by Investigator",
}


def yflag(mask) -> np.ndarray:
    """A CDISC flag from a boolean mask: ``"Y"`` where True, missing elsewhere."""
    return np.where(np.asarray(mask, dtype=bool), "Y", None).astype(object)


def _subjects(adsl: pd.DataFrame) -> pd.DataFrame:
    require(adsl, "ADSL", ["USUBJID", "RANDDT"])
    cols = [c for c in ("STUDYID", "USUBJID", "RANDDT") if c in adsl.columns]
    out = adsl[cols].copy()
    out["RANDDT"] = as_date(out["RANDDT"], "ADSL", "RANDDT")
    return out.reset_index(drop=True)


def _param(subj: pd.DataFrame, hits: pd.DataFrame, paramcd: str, *, yn: bool) -> pd.DataFrame:
    """One record per ADSL subject: the hit (first row per subject) or the default."""
    hits = hits.drop_duplicates("USUBJID")
    out = subj.merge(hits, on="USUBJID", how="left")
    if yn:
        out["AVALC"] = np.where(out["AVALC"].notna(), "Y", "N")
        out["AVAL"] = np.where(out["AVALC"] == "Y", 1.0, 0.0)
    else:
        out["AVALC"] = out["AVALC"].fillna("MISSING")
        out["AVAL"] = out["AVALC"].map(AVAL_RESP).astype(float)
    out["PARAMCD"] = paramcd
    out["PARAM"] = PARAMS.get(paramcd, paramcd)
    out["ANL01FL"] = "Y"
    return out


def derive_param_ovr(dataset_rs: pd.DataFrame, dataset_adsl: pd.DataFrame, *,
                     rstestcd: str = "OVRLRESP", rseval: str | None = "INVESTIGATOR") -> pd.DataFrame:
    """Overall response records (PARAMCD ``OVR``) with ADT, AVALC, AVAL, ANL01FL, ANL02FL.

    ADT is RSDTC with a missing day imputed to the month's last day.  ANL01FL flags
    the records that count (valid response on/after RANDDT; the worst of several on
    one date); ANL02FL flags records up to and including the first PD.

    >>> rs = pd.DataFrame({"USUBJID": ["1"] * 3, "RSTESTCD": ["OVRLRESP"] * 3, "RSSEQ": [1, 2, 3],
    ...                    "RSSTRESC": ["SD", "PD", "SD"], "RSDTC": ["2021-03-01", "2021-05-24", "2021-08-16"]})
    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"])})
    >>> derive_param_ovr(rs, adsl)[["AVALC", "ANL01FL", "ANL02FL"]].values.tolist()
    [['SD', 'Y', 'Y'], ['PD', 'Y', 'Y'], ['SD', 'Y', nan]]
    """
    require(dataset_rs, "RS", ["USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"])
    subj = _subjects(dataset_adsl)
    rs = dataset_rs[dataset_rs["RSTESTCD"] == rstestcd]
    if rseval is not None and "RSEVAL" in rs.columns:
        rs = rs[rs["RSEVAL"] == rseval]
    rs = rs.copy()
    if "RSSEQ" not in rs.columns:
        rs["RSSEQ"] = np.arange(1, len(rs) + 1, dtype=float)
    vals = rs["RSSTRESC"].astype("string").str.upper()
    bad = np.flatnonzero((vals.notna() & ~vals.isin(list(AVAL_RESP))).fillna(False).to_numpy())
    if len(bad):
        r = int(bad[0])
        raise ValueError(f"RS row {r + 1}: RSSTRESC {rs['RSSTRESC'].iloc[r]!r} is not a RECIST 1.1 overall "
                         f"response (expected one of CR, PR, SD, NON-CR/NON-PD, PD, NE)")
    rs["PARAMCD"] = "OVR"
    rs["PARAM"] = PARAMS["OVR"]
    rs["ADT"] = convert_dtc_to_dt(rs["RSDTC"], highest_imputation="D", date_imputation="last")
    rs["AVALC"] = vals.astype(object).where(vals.notna(), np.nan)
    rs["AVAL"] = rs["AVALC"].map(AVAL_RESP).astype(float)
    rs = rs.drop(columns=[c for c in ("RANDDT",) if c in rs.columns])
    rs = rs.merge(subj[["USUBJID", "RANDDT"]], on="USUBJID", how="left")
    rs = rs.sort_values(["USUBJID", "ADT", "AVAL", "RSSEQ"], kind="mergesort").reset_index(drop=True)
    valid = (rs["AVAL"].notna() & rs["ADT"].notna() & (rs["ADT"] >= rs["RANDDT"])).to_numpy()
    # Of several valid assessments on one date only the worst (highest AVAL) counts.
    worst = np.zeros(len(rs), dtype=bool)
    vr = rs[valid]
    worst[np.flatnonzero(valid)[~vr.duplicated(["USUBJID", "ADT"], keep="last").to_numpy()]] = True
    rs["ANL01FL"] = yflag(valid & worst)
    rs = rs.sort_values(["USUBJID", "ADT", "RSSEQ"], kind="mergesort").reset_index(drop=True)
    is_pd = (rs["AVALC"] == "PD").astype(int)
    pd_before = is_pd.groupby(rs["USUBJID"]).cumsum() - is_pd
    rs["ANL02FL"] = yflag((pd_before == 0).to_numpy())
    return rs.sort_values(["USUBJID", "ADT", "RSSEQ"], kind="mergesort").reset_index(drop=True)


def _ovr(dataset_ovr: pd.DataFrame) -> pd.DataFrame:
    require(dataset_ovr, "ADRS", ["USUBJID", "ADT", "AVALC", "ANL01FL", "ANL02FL", "RANDDT"])
    o = dataset_ovr[(dataset_ovr["ANL01FL"] == "Y") & (dataset_ovr["ANL02FL"] == "Y")]
    if "PARAMCD" in o.columns:
        o = o[o["PARAMCD"] == "OVR"]
    return o.sort_values(["USUBJID", "ADT"], kind="mergesort").reset_index(drop=True)


def derive_param_pd(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame) -> pd.DataFrame:
    """``PD``: ``"Y"`` with ADT = first progression, else ``"N"`` (one record per subject).

    >>> ovr = derive_param_ovr(pd.DataFrame({"USUBJID": ["1"], "RSTESTCD": ["OVRLRESP"],
    ...     "RSSTRESC": ["PD"], "RSDTC": ["2021-03-01"]}), pd.DataFrame({"USUBJID": ["1", "2"],
    ...     "RANDDT": pd.to_datetime(["2021-01-04"] * 2)}))
    >>> derive_param_pd(ovr, pd.DataFrame({"USUBJID": ["1", "2"], "RANDDT": pd.to_datetime(["2021-01-04"] * 2)}))["AVALC"].tolist()
    ['Y', 'N']
    """
    subj = _subjects(dataset_adsl)
    o = dataset_ovr[(dataset_ovr["ANL01FL"] == "Y") & (dataset_ovr["AVALC"] == "PD")]
    hits = o.sort_values(["USUBJID", "ADT"])[["USUBJID", "ADT", "AVALC"]]
    return _param(subj, hits, "PD", yn=True)


def derive_param_rsp(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame) -> pd.DataFrame:
    """``RSP``: any CR or PR before progression (confirmation not required), ADT = first.

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"])})
    >>> ovr = derive_param_ovr(pd.DataFrame({"USUBJID": ["1"], "RSTESTCD": ["OVRLRESP"],
    ...     "RSSTRESC": ["PR"], "RSDTC": ["2021-03-01"]}), adsl)
    >>> derive_param_rsp(ovr, adsl)["AVALC"].tolist()
    ['Y']
    """
    subj = _subjects(dataset_adsl)
    o = _ovr(dataset_ovr)
    hits = o[o["AVALC"].isin(["CR", "PR"])][["USUBJID", "ADT", "AVALC"]]
    return _param(subj, hits, "RSP", yn=True)


def _best(subj: pd.DataFrame, cands: list[pd.DataFrame], paramcd: str) -> pd.DataFrame:
    frames = [c.assign(_prio=i) for i, c in enumerate(cands) if len(c)]
    if frames:
        allc = pd.concat(frames, ignore_index=True).sort_values(["USUBJID", "_prio", "ADT"], kind="mergesort")
        hits = allc.drop_duplicates("USUBJID")[["USUBJID", "ADT", "AVALC"]]
    else:
        hits = pd.DataFrame({"USUBJID": pd.Series(dtype=str), "ADT": pd.Series(dtype="datetime64[ns]"),
                             "AVALC": pd.Series(dtype=object)})
    return _param(subj, hits, paramcd, yn=False)


def _bor_candidates(o: pd.DataFrame, sd_min_days: int, cr: pd.Series, pr: pd.Series) -> list[pd.DataFrame]:
    late = o["ADT"] >= o["RANDDT"] + pd.Timedelta(days=sd_min_days)
    a = o["AVALC"]
    pick = lambda mask, val: o.loc[mask, ["USUBJID", "ADT"]].assign(AVALC=val)  # noqa: E731
    return [
        pick(cr, "CR"),
        pick(pr, "PR"),
        pick(a.isin(["CR", "PR", "SD"]) & late, "SD"),
        pick((a == "NON-CR/NON-PD") & late, "NON-CR/NON-PD"),
        pick(a == "PD", "PD"),
        pick(a.isin(["CR", "PR", "SD", "NON-CR/NON-PD", "NE"]), "NE"),
    ]


def derive_param_bor(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame, *, sd_min_days: int = 42) -> pd.DataFrame:
    """``BOR``: best overall response, confirmation not required.

    Priority CR > PR > SD > NON-CR/NON-PD > PD > NE > MISSING, the earliest date within
    the best category.  SD (and NON-CR/NON-PD) qualify only when assessed at least
    ``sd_min_days`` after randomization; earlier ones make NE.

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"])})
    >>> ovr = derive_param_ovr(pd.DataFrame({"USUBJID": ["1"] * 2, "RSTESTCD": ["OVRLRESP"] * 2,
    ...     "RSSTRESC": ["SD", "PD"], "RSDTC": ["2021-01-25", "2021-03-29"]}), adsl)
    >>> derive_param_bor(ovr, adsl)["AVALC"].tolist()
    ['PD']
    """
    positive(sd_min_days, "sd_min_days")
    subj = _subjects(dataset_adsl)
    o = _ovr(dataset_ovr)
    cands = _bor_candidates(o, sd_min_days, o["AVALC"] == "CR", o["AVALC"] == "PR")
    return _best(subj, cands, "BOR")


def confirmed_flags(dataset_ovr: pd.DataFrame, *, confirmation_min_days: int = 28, max_ne: int = 1) -> pd.Series:
    """For each usable OVR record (ANL01FL/ANL02FL), True if it is a confirmed CR or PR.

    A CR at date t is confirmed when the first later CR at >= t + ``confirmation_min_days``
    exists and every assessment after t up to it is CR or NE with at most ``max_ne`` NE.
    A PR is confirmed by the first later CR or PR at >= t + ``confirmation_min_days``
    with only CR/PR/NE in between (at most ``max_ne`` NE) and no PR following a CR.
    Vectorized as a self-join of each subject's assessments.

    Returns a boolean Series aligned with the usable records (sorted by USUBJID, ADT).
    """
    positive(confirmation_min_days, "confirmation_min_days")
    o = _ovr(dataset_ovr)
    o = o.assign(_k=o.groupby("USUBJID").cumcount(), _i=np.arange(len(o)))
    base = o[o["AVALC"].isin(["CR", "PR"])][["USUBJID", "_k", "_i", "ADT", "AVALC"]]
    later = o[["USUBJID", "_k", "ADT", "AVALC"]]
    pairs = base.merge(later, on="USUBJID", suffixes=("", "_j"))
    pairs = pairs[pairs["_k_j"] > pairs["_k"]]
    is_cr = pairs["AVALC"] == "CR"
    conf_val = np.where(is_cr, pairs["AVALC_j"] == "CR", pairs["AVALC_j"].isin(["CR", "PR"]))
    first_ok = conf_val & (pairs["ADT_j"] >= pairs["ADT"] + pd.Timedelta(days=confirmation_min_days))
    pairs = pairs.assign(_first=np.where(first_ok, pairs["_k_j"], np.inf))
    stop = pairs.groupby("_i")["_first"].transform("min")
    joined = pairs[pairs["_k_j"] <= stop].copy()
    allowed = np.where(joined["AVALC"] == "CR", joined["AVALC_j"].isin(["CR", "NE"]),
                       joined["AVALC_j"].isin(["CR", "PR", "NE"]))
    joined["_bad"] = ~allowed
    joined["_ne"] = joined["AVALC_j"] == "NE"
    joined["_crdt"] = joined["ADT_j"].where(joined["AVALC_j"] == "CR")
    joined["_prdt"] = joined["ADT_j"].where(joined["AVALC_j"] == "PR")
    g = joined.groupby("_i").agg(bad=("_bad", "any"), ne=("_ne", "sum"), crmin=("_crdt", "min"),
                                 prmax=("_prdt", "max"), hit=("_first", "min"))
    pr_then_cr_ok = g["crmin"].isna() | g["prmax"].isna() | (g["crmin"] > g["prmax"])
    typ = base.set_index("_i")["AVALC"].reindex(g.index)
    ok = np.isfinite(g["hit"]) & ~g["bad"] & (g["ne"] <= max_ne) & ((typ == "CR") | pr_then_cr_ok)
    flags = pd.Series(False, index=np.arange(len(o)))
    flags.loc[ok[ok].index] = True
    return flags


def derive_param_confirmed_resp(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame, *,
                                confirmation_min_days: int = 28, max_ne: int = 1) -> pd.DataFrame:
    """``CRSP``: confirmed CR or PR (see :func:`confirmed_flags`), ADT = first confirmed response.

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"])})
    >>> ovr = derive_param_ovr(pd.DataFrame({"USUBJID": ["1"] * 2, "RSTESTCD": ["OVRLRESP"] * 2,
    ...     "RSSTRESC": ["PR", "PR"], "RSDTC": ["2021-03-29", "2021-06-21"]}), adsl)
    >>> derive_param_confirmed_resp(ovr, adsl)[["AVALC", "ADT"]].astype(str).values.tolist()
    [['Y', '2021-03-29']]
    """
    subj = _subjects(dataset_adsl)
    o = _ovr(dataset_ovr)
    conf = confirmed_flags(dataset_ovr, confirmation_min_days=confirmation_min_days, max_ne=max_ne).to_numpy()
    hits = o.loc[conf, ["USUBJID", "ADT", "AVALC"]]
    return _param(subj, hits, "CRSP", yn=True)


def derive_param_confirmed_bor(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame, *,
                               confirmation_min_days: int = 28, sd_min_days: int = 42,
                               max_ne: int = 1) -> pd.DataFrame:
    """``CBOR``: best confirmed overall response (RECIST 1.1).

    Confirmed CR > confirmed PR > SD (SD or unconfirmed CR/PR at least ``sd_min_days``
    after randomization) > NON-CR/NON-PD > PD > NE > MISSING.

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"])})
    >>> ovr = derive_param_ovr(pd.DataFrame({"USUBJID": ["1"] * 2, "RSTESTCD": ["OVRLRESP"] * 2,
    ...     "RSSTRESC": ["SD", "PR"], "RSDTC": ["2021-03-29", "2021-06-21"]}), adsl)
    >>> derive_param_confirmed_bor(ovr, adsl)["AVALC"].tolist()
    ['SD']
    """
    positive(sd_min_days, "sd_min_days")
    subj = _subjects(dataset_adsl)
    o = _ovr(dataset_ovr)
    conf = confirmed_flags(dataset_ovr, confirmation_min_days=confirmation_min_days, max_ne=max_ne).to_numpy()
    cands = _bor_candidates(o, sd_min_days, (o["AVALC"] == "CR") & conf, (o["AVALC"] == "PR") & conf)
    return _best(subj, cands, "CBOR")


def derive_param_cbr(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame, *, cbr_min_days: int = 168,
                     confirmation_min_days: int = 28, max_ne: int = 1) -> pd.DataFrame:
    """``CBR`` (clinical benefit): confirmed CR/PR, or disease control lasting ``cbr_min_days``.

    Disease control lasting d days means an assessment of CR, PR, SD or NON-CR/NON-PD
    at least d days after randomization with no progression before it (admiralonco's
    ``cb_y`` event with ``ref_start_window = d``).  PATINA: d = 24 weeks = 168 days.
    ADT is the earliest qualifying date.

    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-04"])})
    >>> ovr = derive_param_ovr(pd.DataFrame({"USUBJID": ["1"] * 2, "RSTESTCD": ["OVRLRESP"] * 2,
    ...     "RSSTRESC": ["SD", "SD"], "RSDTC": ["2021-03-29", "2021-06-21"]}), adsl)
    >>> derive_param_cbr(ovr, adsl)["AVALC"].tolist()
    ['Y']
    """
    positive(cbr_min_days, "cbr_min_days")
    subj = _subjects(dataset_adsl)
    o = _ovr(dataset_ovr)
    conf = confirmed_flags(dataset_ovr, confirmation_min_days=confirmation_min_days, max_ne=max_ne).to_numpy()
    late = (o["ADT"] >= o["RANDDT"] + pd.Timedelta(days=cbr_min_days)) & o["AVALC"].isin(
        ["CR", "PR", "SD", "NON-CR/NON-PD"])
    hits = o.loc[conf | late.to_numpy(), ["USUBJID", "ADT", "AVALC"]].sort_values(["USUBJID", "ADT"])
    return _param(subj, hits, "CBR", yn=True)


def derive_param_lsta(dataset_ovr: pd.DataFrame, dataset_adsl: pd.DataFrame) -> pd.DataFrame:
    """``LSTA``: the last assessment counted (ANL01FL), any response including NE."""
    subj = _subjects(dataset_adsl)
    o = dataset_ovr[dataset_ovr["ANL01FL"] == "Y"].sort_values(["USUBJID", "ADT"])
    hits = o.drop_duplicates("USUBJID", keep="last")[["USUBJID", "ADT", "AVALC"]]
    out = subj.merge(hits, on="USUBJID", how="left")
    out["AVAL"] = out["AVALC"].map(AVAL_RESP).astype(float)
    out["PARAMCD"], out["PARAM"], out["ANL01FL"] = "LSTA", PARAMS["LSTA"], "Y"
    return out


def derive_param_death(dataset_adsl: pd.DataFrame) -> pd.DataFrame:
    """``DEATH``: ``"Y"`` with ADT = DTHDT for subjects who died, else ``"N"``."""
    require(dataset_adsl, "ADSL", ["USUBJID", "RANDDT", "DTHDT"])
    subj = _subjects(dataset_adsl)
    d = pd.DataFrame({"USUBJID": dataset_adsl["USUBJID"],
                      "ADT": as_date(dataset_adsl["DTHDT"], "ADSL", "DTHDT")}).dropna()
    return _param(subj, d.assign(AVALC="Y"), "DEATH", yn=True)


def derive_param_mdis(dataset_tu: pd.DataFrame, dataset_adsl: pd.DataFrame, *,
                      tueval: str | None = "INVESTIGATOR",
                      visits: tuple[str, ...] = ("SCREENING", "BASELINE")) -> pd.DataFrame:
    """``MDIS``: a TARGET lesion identified at a baseline visit (one of ``visits``), Y/N."""
    require(dataset_tu, "TU", ["USUBJID", "TUSTRESC", "VISIT"])
    subj = _subjects(dataset_adsl)
    tu = dataset_tu[(dataset_tu["TUSTRESC"] == "TARGET") & dataset_tu["VISIT"].isin(list(visits))]
    if tueval is not None and "TUEVAL" in tu.columns:
        tu = tu[tu["TUEVAL"] == tueval]
    hits = pd.DataFrame({"USUBJID": tu["USUBJID"].unique(), "AVALC": "Y"})
    out = _param(subj, hits, "MDIS", yn=True)
    out["ADT"] = pd.NaT
    return out


def adrs(
    dataset_adsl: pd.DataFrame,
    dataset_rs: pd.DataFrame,
    *,
    dataset_tu: pd.DataFrame | None = None,
    rseval: str | None = "INVESTIGATOR",
    confirmation_min_days: int = 28,
    sd_min_days: int = 42,
    cbr_min_days: int = 168,
    max_ne: int = 1,
) -> pd.DataFrame:
    """Build ADRS: OVR records plus the subject-level parameters listed in the module docstring.

    PATINA: ``confirmation_min_days = 28`` (4 weeks), ``cbr_min_days = 168`` (24
    weeks); ``sd_min_days`` is the minimum time from randomization for SD to count
    (admiralonco's 42 days by default).

    Example
    -------
    >>> a = adrs(adsl_df, rs_df)                                   # doctest: +SKIP
    >>> a[a.PARAMCD == "CBOR"].AVALC.value_counts()                 # doctest: +SKIP
    """
    for v, n in ((confirmation_min_days, "confirmation_min_days"), (sd_min_days, "sd_min_days"),
                 (cbr_min_days, "cbr_min_days"), (max_ne, "max_ne")):
        positive(v, n)
    ovr = derive_param_ovr(dataset_rs, dataset_adsl, rseval=rseval)
    parts = [
        ovr,
        derive_param_pd(ovr, dataset_adsl),
        derive_param_rsp(ovr, dataset_adsl),
        derive_param_bor(ovr, dataset_adsl, sd_min_days=sd_min_days),
        derive_param_confirmed_resp(ovr, dataset_adsl, confirmation_min_days=confirmation_min_days, max_ne=max_ne),
        derive_param_confirmed_bor(ovr, dataset_adsl, confirmation_min_days=confirmation_min_days,
                                   sd_min_days=sd_min_days, max_ne=max_ne),
        derive_param_cbr(ovr, dataset_adsl, cbr_min_days=cbr_min_days,
                         confirmation_min_days=confirmation_min_days, max_ne=max_ne),
        derive_param_lsta(ovr, dataset_adsl),
    ]
    if "DTHDT" in dataset_adsl.columns:
        parts.append(derive_param_death(dataset_adsl))
    if dataset_tu is not None:
        parts.append(derive_param_mdis(dataset_tu, dataset_adsl))
    out = pd.concat(parts, ignore_index=True)
    if "STUDYID" in dataset_adsl.columns:
        out["STUDYID"] = out["USUBJID"].map(dataset_adsl.set_index("USUBJID")["STUDYID"])
    out = out.sort_values(["USUBJID", "PARAMCD", "ADT"], kind="mergesort").reset_index(drop=True)
    out["ASEQ"] = out.groupby("USUBJID").cumcount() + 1
    first = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "RANDDT", "ANL01FL", "ANL02FL", "ASEQ"]
    return out[[c for c in first if c in out.columns] + [c for c in out.columns if c not in first]]
