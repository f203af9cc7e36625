"""ADSL: one row per subject, derived from DM and the other SDTM domains.

Inputs (SDTM, standard CDISC variables)
---------------------------------------
* ``dm`` (required): STUDYID, USUBJID, SUBJID, SITEID, AGE, AGEU, SEX, RACE, ETHNIC,
  COUNTRY, ARMCD, ARM, ACTARMCD, ACTARM, DTHDTC, DTHFL, RFSTDTC ...
* ``ds``: a ``DSDECOD == "RANDOMIZED"`` record (DSSTDTC = randomization date) per
  randomized subject; ``DSCAT == "DISPOSITION EVENT"`` records give EOSDT/EOSSTT.
* ``ex``: EXTRT, EXDOSE, EXSTDTC, EXENDTC.  A record counts as a dose when
  ``EXDOSE > 0`` or ``EXDOSE == 0`` and EXTRT contains ``PLACEBO``.
* ``ae``, ``sv``, ``rs``, ``ds``: dates used for the last-known-alive date.
* ``suppdm``: every QNAM becomes an ADSL column (QVAL; numbers where all values are
  numbers).  PATINA baseline characteristics (e.g. ``MENOSTAT``, ``DENOVO``,
  ``VISCMET``, ``CNSMET``) arrive this way.
* ``randomization`` (optional; e.g. ``oncotrial.irt`` ADSL export): one row per
  USUBJID with any of RANDDT, RANDNO and the strata ``STRAT1R``..``STRATnR`` (as
  randomized) and ``STRAT1V``..``STRATnV`` (as verified).  Strata may instead come
  in SUPPDM with the same QNAMs.  Factor ``w`` is the protocol's w-th
  stratification factor; values are its level codes.
* ``cm`` (optional): new anticancer therapy, used for ``NACTDT`` (see
  :func:`derive_var_nactdt`).

Output variables
----------------
STUDYID USUBJID SUBJID SITEID AGE AGEU SEX RACE ETHNIC COUNTRY ARMCD ARM ACTARMCD
ACTARM TRT01P TRT01A RANDDT TRTSDT TRTEDT TRTDURD DTHDT DTHFL EOSDT EOSSTT LSTALVDT
ITTFL SAFFL STRATwR [STRATwV STRATDFL] NACTDT + SUPPDM QNAMs.  Dates are
``datetime64[ns]``.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from oncotrial.adam._checks import as_date, one_per_subject, require, upper
from oncotrial.adam.dates import compute_duration, convert_dtc_to_dt

__all__ = [
    "adsl",
    "derive_vars_trt01",
    "derive_var_randdt",
    "derive_vars_trtdt",
    "derive_var_dthdt",
    "derive_vars_eos",
    "derive_var_lstalvdt",
    "derive_var_ittfl",
    "derive_var_saffl",
    "derive_vars_suppqual",
    "derive_vars_strata",
    "derive_var_nactdt",
]

_KEYS = ["STUDYID", "USUBJID"]


def _merge_subject(dataset: pd.DataFrame, add: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Left-join per-subject values by USUBJID, replacing columns of the same name."""
    out = dataset.drop(columns=[c for c in cols if c in dataset.columns])
    add = add[["USUBJID", *cols]]
    return out.merge(add, on="USUBJID", how="left", validate="one_to_one")


def derive_vars_trt01(dataset: pd.DataFrame, *, TRT01P: str = "ARM", TRT01A: str = "ACTARM") -> pd.DataFrame:
    """Planned and actual treatment of period 01 (``TRT01P``, ``TRT01A``).

    ``TRT01P``/``TRT01A`` name the DM variables copied (ARM and ACTARM).

    >>> derive_vars_trt01(pd.DataFrame({"USUBJID": ["1"], "ARM": ["Palbo"], "ACTARM": ["Palbo"]}))[["TRT01P", "TRT01A"]].values.tolist()
    [['Palbo', 'Palbo']]
    """
    require(dataset, "ADSL", [TRT01P, TRT01A])
    out = dataset.copy()
    out["TRT01P"] = out[TRT01P]
    out["TRT01A"] = out[TRT01A]
    return out


def derive_var_randdt(dataset: pd.DataFrame, dataset_ds: pd.DataFrame | None = None, *,
                      dataset_rand: pd.DataFrame | None = None,
                      dsdecod: str = "RANDOMIZED") -> pd.DataFrame:
    """Randomization date ``RANDDT``.

    Taken from the randomization table (``dataset_rand`` with RANDDT) when given,
    otherwise from the first DS record with ``DSDECOD == dsdecod`` (DSSTDTC, date part,
    no imputation).

    >>> dm = pd.DataFrame({"USUBJID": ["1", "2"]})
    >>> ds = pd.DataFrame({"USUBJID": ["1"], "DSDECOD": ["RANDOMIZED"], "DSSTDTC": ["2021-03-04"]})
    >>> derive_var_randdt(dm, ds)["RANDDT"].dt.strftime("%F").tolist()
    ['2021-03-04', nan]
    """
    require(dataset, "ADSL", ["USUBJID"])
    if dataset_rand is not None and "RANDDT" in dataset_rand.columns:
        require(dataset_rand, "randomization", ["USUBJID", "RANDDT"])
        one_per_subject(dataset_rand, "randomization")
        add = pd.DataFrame({"USUBJID": dataset_rand["USUBJID"],
                            "RANDDT": as_date(dataset_rand["RANDDT"], "randomization", "RANDDT")})
        return _merge_subject(dataset, add, ["RANDDT"])
    if dataset_ds is None:
        raise ValueError("RANDDT: give DS (with a RANDOMIZED record) or a randomization table with RANDDT")
    require(dataset_ds, "DS", ["USUBJID", "DSDECOD", "DSSTDTC"])
    ds = dataset_ds[dataset_ds["DSDECOD"] == dsdecod]
    add = pd.DataFrame({"USUBJID": ds["USUBJID"], "RANDDT": convert_dtc_to_dt(ds["DSSTDTC"])})
    add = add.dropna().sort_values("RANDDT").drop_duplicates("USUBJID")
    return _merge_subject(dataset, add, ["RANDDT"])


def _valid_dose(ex: pd.DataFrame) -> pd.Series:
    dose = pd.to_numeric(ex["EXDOSE"], errors="coerce")
    placebo = upper(ex["EXTRT"]).str.contains("PLACEBO", na=False)
    return ((dose > 0) | ((dose == 0) & placebo)).fillna(False)


def derive_vars_trtdt(dataset: pd.DataFrame, dataset_ex: pd.DataFrame) -> pd.DataFrame:
    """First and last dose dates ``TRTSDT``, ``TRTEDT`` and duration ``TRTDURD``.

    Over the EX records that are doses (``EXDOSE > 0``, or 0 for placebo): TRTSDT is
    the earliest complete EXSTDTC and TRTEDT the latest complete EXENDTC (EXSTDTC
    when EXENDTC is missing), as admiral's template does; TRTDURD = TRTEDT - TRTSDT + 1.

    >>> ex = pd.DataFrame({"USUBJID": ["1", "1"], "EXTRT": ["P", "P"], "EXDOSE": [125, 100],
    ...                    "EXSTDTC": ["2021-01-01", "2021-02-01"], "EXENDTC": ["2021-01-21", "2021-02-21"]})
    >>> derive_vars_trtdt(pd.DataFrame({"USUBJID": ["1"]}), ex)["TRTDURD"].tolist()
    [52.0]
    """
    require(dataset, "ADSL", ["USUBJID"])
    require(dataset_ex, "EX", ["USUBJID", "EXTRT", "EXDOSE", "EXSTDTC"])
    ex = dataset_ex[_valid_dose(dataset_ex)]
    st = convert_dtc_to_dt(ex["EXSTDTC"])
    en = convert_dtc_to_dt(ex["EXENDTC"]) if "EXENDTC" in ex.columns else st
    en = en.fillna(st) if "EXENDTC" not in ex.columns else en
    first = pd.DataFrame({"USUBJID": ex["USUBJID"], "TRTSDT": st}).groupby("USUBJID")["TRTSDT"].min()
    last = pd.DataFrame({"USUBJID": ex["USUBJID"], "TRTEDT": en}).groupby("USUBJID")["TRTEDT"].max()
    add = pd.concat([first, last], axis=1).reset_index()
    out = _merge_subject(dataset, add, ["TRTSDT", "TRTEDT"])
    out["TRTDURD"] = compute_duration(out["TRTSDT"], out["TRTEDT"])
    return out


def derive_var_dthdt(dataset: pd.DataFrame, *, highest_imputation: str = "M") -> pd.DataFrame:
    """Death date ``DTHDT`` from DM.DTHDTC (partial dates imputed to the first day/month).

    >>> derive_var_dthdt(pd.DataFrame({"USUBJID": ["1"], "DTHDTC": ["2022-05"]}))["DTHDT"].dt.strftime("%F").tolist()
    ['2022-05-01']
    """
    require(dataset, "ADSL", ["USUBJID"])
    out = dataset.copy()
    if "DTHDTC" not in out.columns:
        out["DTHDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        return out
    out["DTHDT"] = convert_dtc_to_dt(out["DTHDTC"], highest_imputation=highest_imputation,
                                     date_imputation="first")
    return out


def derive_vars_eos(dataset: pd.DataFrame, dataset_ds: pd.DataFrame, *,
                    dscat: str = "DISPOSITION EVENT") -> pd.DataFrame:
    """End-of-study date and status ``EOSDT``/``EOSSTT`` from DS disposition events.

    EOSDT is DSSTDTC of the ``dscat`` record other than SCREEN FAILURE; EOSSTT is
    COMPLETED, DISCONTINUED (any other reason), ONGOING (no record) or missing for
    screen failures, as in admiral's ``format_eoxxstt_default``.
    """
    require(dataset, "ADSL", ["USUBJID"])
    require(dataset_ds, "DS", ["USUBJID", "DSDECOD", "DSSTDTC"])
    ds = dataset_ds
    if "DSCAT" in ds.columns:
        ds = ds[ds["DSCAT"] == dscat]
    notsf = ds[ds["DSDECOD"] != "SCREEN FAILURE"]
    add = pd.DataFrame({"USUBJID": notsf["USUBJID"], "EOSDT": convert_dtc_to_dt(notsf["DSSTDTC"])})
    add = add.sort_values("EOSDT").drop_duplicates("USUBJID", keep="last")
    out = _merge_subject(dataset, add, ["EOSDT"])
    dec = ds.drop_duplicates("USUBJID", keep="last").set_index("USUBJID")["DSDECOD"]
    d = out["USUBJID"].map(dec)
    out["EOSSTT"] = np.select([d == "COMPLETED", d == "SCREEN FAILURE", d.notna()],
                              ["COMPLETED", None, "DISCONTINUED"], default="ONGOING")
    out["EOSSTT"] = out["EOSSTT"].where(out["EOSSTT"].notna(), np.nan)
    return out


def derive_var_lstalvdt(dataset: pd.DataFrame, sources: Mapping[str, tuple[pd.DataFrame, Sequence[str]]], *,
                        include: Iterable[str] = ("TRTEDT",), highest_imputation: str = "M") -> pd.DataFrame:
    """Last date known alive ``LSTALVDT``: the latest of the given dates.

    ``sources`` maps a domain name to ``(domain, [DTC variables])``, e.g.
    ``{"AE": (ae, ["AESTDTC", "AEENDTC"]), "SV": (sv, ["SVSTDTC"])}``; partial dates
    are imputed to the first day (month), as admiral's template does.  ADSL date
    variables named in ``include`` (TRTEDT by default) count too.  A death date
    caps nothing here: a subject who died has DTHDT as an OS event instead.

    >>> ae = pd.DataFrame({"USUBJID": ["1"], "AESTDTC": ["2021-06"]})
    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "TRTEDT": pd.to_datetime(["2021-05-30"])})
    >>> derive_var_lstalvdt(adsl, {"AE": (ae, ["AESTDTC"])})["LSTALVDT"].dt.strftime("%F").tolist()
    ['2021-06-01']
    """
    require(dataset, "ADSL", ["USUBJID"])
    frames = []
    for name, (df, variables) in sources.items():
        require(df, name, ["USUBJID", *variables])
        for v in variables:
            frames.append(pd.DataFrame({"USUBJID": df["USUBJID"].to_numpy(),
                                        "D": convert_dtc_to_dt(df[v], highest_imputation=highest_imputation,
                                                               date_imputation="first").to_numpy()}))
    for v in include:
        if v in dataset.columns:
            frames.append(pd.DataFrame({"USUBJID": dataset["USUBJID"].to_numpy(),
                                        "D": as_date(dataset[v], "ADSL", v).to_numpy()}))
    if frames:
        all_d = pd.concat(frames, ignore_index=True).dropna()
        last = all_d.groupby("USUBJID")["D"].max().rename("LSTALVDT").reset_index()
    else:
        last = pd.DataFrame({"USUBJID": pd.Series(dtype=str), "LSTALVDT": pd.Series(dtype="datetime64[ns]")})
    return _merge_subject(dataset, last, ["LSTALVDT"])


def derive_var_ittfl(dataset: pd.DataFrame) -> pd.DataFrame:
    """Intent-to-treat flag ``ITTFL``: ``"Y"`` when randomized (RANDDT present), else ``"N"``.

    >>> derive_var_ittfl(pd.DataFrame({"RANDDT": pd.to_datetime(["2021-01-01", None])}))["ITTFL"].tolist()
    ['Y', 'N']
    """
    require(dataset, "ADSL", ["RANDDT"])
    out = dataset.copy()
    out["ITTFL"] = np.where(out["RANDDT"].notna(), "Y", "N")
    return out


def derive_var_saffl(dataset: pd.DataFrame) -> pd.DataFrame:
    """Safety flag ``SAFFL``: ``"Y"`` when any dose was taken (TRTSDT present), else ``"N"``.

    >>> derive_var_saffl(pd.DataFrame({"TRTSDT": pd.to_datetime([None, "2021-01-01"])}))["SAFFL"].tolist()
    ['N', 'Y']
    """
    require(dataset, "ADSL", ["TRTSDT"])
    out = dataset.copy()
    out["SAFFL"] = np.where(out["TRTSDT"].notna(), "Y", "N")
    return out


def derive_vars_suppqual(dataset: pd.DataFrame, dataset_supp: pd.DataFrame, *,
                         qnams: Iterable[str] | None = None) -> pd.DataFrame:
    """Subject-level SUPPDM qualifiers as ADSL columns named by QNAM.

    Only records without IDVAR (subject-level) are used; a QNAM whose values are all
    numbers becomes numeric.  ``qnams`` restricts the QNAMs carried.

    >>> supp = pd.DataFrame({"USUBJID": ["1", "1"], "QNAM": ["MENOSTAT", "STRAT1R"], "QVAL": ["POST", "CRPR"]})
    >>> derive_vars_suppqual(pd.DataFrame({"USUBJID": ["1"]}), supp).columns.tolist()
    ['USUBJID', 'MENOSTAT', 'STRAT1R']
    """
    require(dataset, "ADSL", ["USUBJID"])
    require(dataset_supp, "SUPPDM", ["USUBJID", "QNAM", "QVAL"])
    supp = dataset_supp
    if "IDVAR" in supp.columns:
        supp = supp[supp["IDVAR"].isna() | (supp["IDVAR"].astype("string").str.strip() == "")]
    if qnams is not None:
        supp = supp[supp["QNAM"].isin(list(qnams))]
    dup = supp.duplicated(["USUBJID", "QNAM"]).to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        raise ValueError(f"SUPPDM row {r + 1}: QNAM {supp['QNAM'].iloc[r]!r} repeats for USUBJID "
                         f"{supp['USUBJID'].iloc[r]!r}")
    wide = supp.pivot(index="USUBJID", columns="QNAM", values="QVAL")
    wide.columns.name = None
    for c in wide.columns:
        num = pd.to_numeric(wide[c], errors="coerce")
        if num.notna().sum() == wide[c].notna().sum() and wide[c].notna().any():
            wide[c] = num
    wide = wide.reset_index()
    cols = [c for c in wide.columns if c != "USUBJID"]
    return _merge_subject(dataset, wide, cols)


_STRAT = re.compile(r"^STRAT(\d+)([RV])$")


def derive_vars_strata(dataset: pd.DataFrame, dataset_rand: pd.DataFrame | None = None, *,
                       STRATR: Sequence[str] | None = None, STRATV: Sequence[str] | None = None) -> pd.DataFrame:
    """Stratification factors as randomized (``STRATwR``) and as verified (``STRATwV``).

    Source: ``dataset_rand`` (one row per USUBJID) or, when it is None, the ADSL
    itself (e.g. after :func:`derive_vars_suppqual` carried SUPPDM QNAMs STRATwR/V).
    ``STRATR``/``STRATV`` name the source columns for factors 1..n in protocol order
    (e.g. ``["induction_response", ...]``); by default columns already called
    ``STRAT1R``.. / ``STRAT1V``.. are used.  When verified strata are present,
    ``STRATDFL = "Y"`` marks subjects whose verified strata differ from the
    randomized ones (``"N"`` otherwise).

    >>> rand = pd.DataFrame({"USUBJID": ["1", "2"], "STRAT1R": ["CRPR", "SD"], "STRAT1V": ["CRPR", "CRPR"]})
    >>> derive_vars_strata(pd.DataFrame({"USUBJID": ["1", "2"]}), rand)["STRATDFL"].tolist()
    ['N', 'Y']
    """
    require(dataset, "ADSL", ["USUBJID"])
    src = dataset if dataset_rand is None else dataset_rand
    name = "ADSL" if dataset_rand is None else "randomization"
    require(src, name, ["USUBJID"])
    if dataset_rand is not None:
        one_per_subject(dataset_rand, name)

    def pick(given, kind):
        if given is not None:
            require(src, name, list(given))
            return {f"STRAT{i}{kind}": c for i, c in enumerate(given, start=1)}
        found = {}
        for c in src.columns:
            m = _STRAT.match(str(c))
            if m and m.group(2) == kind:
                found[str(c)] = c
        return dict(sorted(found.items(), key=lambda kv: int(_STRAT.match(kv[0]).group(1))))

    rmap, vmap = pick(STRATR, "R"), pick(STRATV, "V")
    if not rmap:
        raise ValueError(f"{name}: no stratification columns (STRAT1R.. or STRATR=[...]) found")
    add = pd.DataFrame({"USUBJID": src["USUBJID"].to_numpy()})
    for target, col in {**rmap, **vmap}.items():
        add[target] = src[col].to_numpy()
    out = _merge_subject(dataset, add, [c for c in add.columns if c != "USUBJID"])
    if vmap:
        diff = np.zeros(len(out), dtype=bool)
        for target in rmap:
            v = target[:-1] + "V"
            if v in out.columns:
                r, w = out[target], out[v]
                diff |= ((r != w) & r.notna() & w.notna()).to_numpy()
        out["STRATDFL"] = np.where(diff, "Y", "N")
    return out


def derive_var_nactdt(dataset: pd.DataFrame, dataset_cm: pd.DataFrame, *,
                      cmcat: Iterable[str] = ("NEW ANTICANCER THERAPY", "ANTI-CANCER THERAPY")) -> pd.DataFrame:
    """Start date of the first new anticancer therapy ``NACTDT`` (from CM).

    CM records whose CMCAT is one of ``cmcat`` (case-insensitive) and that start on
    or after randomization (or first dose when RANDDT is absent) count; partial
    CMSTDTC impute to the first day.  PFS censors at the last adequate assessment
    before this date (see :func:`oncotrial.adam.derive_param_pfs`).

    >>> cm = pd.DataFrame({"USUBJID": ["1"], "CMCAT": ["NEW ANTICANCER THERAPY"], "CMSTDTC": ["2022-03-02"]})
    >>> adsl = pd.DataFrame({"USUBJID": ["1"], "RANDDT": pd.to_datetime(["2021-01-01"])})
    >>> derive_var_nactdt(adsl, cm)["NACTDT"].dt.strftime("%F").tolist()
    ['2022-03-02']
    """
    require(dataset, "ADSL", ["USUBJID"])
    require(dataset_cm, "CM", ["USUBJID", "CMCAT", "CMSTDTC"])
    cats = {c.upper() for c in cmcat}
    cm = dataset_cm[dataset_cm["CMCAT"].astype("string").str.upper().isin(cats).fillna(False)]
    add = pd.DataFrame({"USUBJID": cm["USUBJID"].to_numpy(),
                        "NACTDT": convert_dtc_to_dt(cm["CMSTDTC"], highest_imputation="M").to_numpy()})
    ref_col = "RANDDT" if "RANDDT" in dataset.columns else ("TRTSDT" if "TRTSDT" in dataset.columns else None)
    if ref_col is not None:
        ref = dataset.set_index("USUBJID")[ref_col]
        add = add[add["NACTDT"] >= add["USUBJID"].map(ref)]
    add = add.dropna().groupby("USUBJID", as_index=False)["NACTDT"].min()
    return _merge_subject(dataset, add, ["NACTDT"])


def adsl(
    dm: pd.DataFrame,
    *,
    ds: pd.DataFrame | None = None,
    ex: pd.DataFrame | None = None,
    ae: pd.DataFrame | None = None,
    sv: pd.DataFrame | None = None,
    rs: pd.DataFrame | None = None,
    suppdm: pd.DataFrame | None = None,
    randomization: pd.DataFrame | None = None,
    cm: pd.DataFrame | None = None,
    lstalvdt_sources: Iterable[str] = ("AE", "SV", "RS", "DS"),
    lstalvdt_extra: Mapping[str, tuple[pd.DataFrame, Sequence[str]]] | None = None,
) -> pd.DataFrame:
    """Build ADSL from SDTM (see the module docstring for the expected inputs).

    ``lstalvdt_sources`` picks which of the given domains feed LSTALVDT (AE start and
    end, SV start, RS assessment, DS disposition dates other than death); TRTEDT
    always counts.  ``lstalvdt_extra`` adds further ``{name: (domain, [DTC variables])}``
    sources (e.g. LB dates).

    Example
    -------
    >>> from oncotrial.sdtm import read_sdtm                    # doctest: +SKIP
    >>> s = read_sdtm("sdtm")                                    # doctest: +SKIP
    >>> a = adsl(s["DM"], ds=s["DS"], ex=s["EX"], ae=s["AE"], suppdm=s.get("SUPPDM"))  # doctest: +SKIP
    """
    require(dm, "DM", ["STUDYID", "USUBJID", "ARM", "ACTARM"])
    one_per_subject(dm, "DM")
    keep = [c for c in ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC",
                        "COUNTRY", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "RFSTDTC", "RFENDTC", "RFXSTDTC",
                        "RFXENDTC", "RFICDTC", "RFPENDTC", "DTHDTC", "DTHFL", "BRTHDTC", "DMDTC"]
            if c in dm.columns]
    out = dm[keep].reset_index(drop=True)
    out = derive_vars_trt01(out)
    if suppdm is not None:
        out = derive_vars_suppqual(out, suppdm)
    out = derive_var_randdt(out, ds, dataset_rand=randomization) if (ds is not None or (
        randomization is not None and "RANDDT" in randomization.columns)) else out.assign(
        RANDDT=pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]"))
    if randomization is not None and "RANDNO" in randomization.columns:
        out = _merge_subject(out, randomization[["USUBJID", "RANDNO"]], ["RANDNO"])
    if ex is not None:
        out = derive_vars_trtdt(out, ex)
    else:
        out["TRTSDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        out["TRTEDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        out["TRTDURD"] = np.nan
    out = derive_var_dthdt(out)
    if ds is not None and "DSDECOD" in ds.columns:
        out = derive_vars_eos(out, ds)
    wanted = {s.upper() for s in lstalvdt_sources}
    src: dict[str, tuple[pd.DataFrame, list[str]]] = {}
    if ae is not None and "AE" in wanted:
        src["AE"] = (ae, [c for c in ("AESTDTC", "AEENDTC") if c in ae.columns])
    if sv is not None and "SV" in wanted:
        src["SV"] = (sv, [c for c in ("SVSTDTC",) if c in sv.columns])
    if rs is not None and "RS" in wanted:
        src["RS"] = (rs, [c for c in ("RSDTC",) if c in rs.columns])
    if ds is not None and "DS" in wanted and "DSSTDTC" in ds.columns:
        alive = ds[ds["DSDECOD"].astype("string").str.upper() != "DEATH"] if "DSDECOD" in ds.columns else ds
        src["DS"] = (alive, ["DSSTDTC"])
    src.update(dict(lstalvdt_extra or {}))
    out = derive_var_lstalvdt(out, src)
    # Nobody is known alive after death.
    dead = out["DTHDT"].notna()
    out.loc[dead, "LSTALVDT"] = out.loc[dead, ["LSTALVDT", "DTHDT"]].min(axis=1)
    out = derive_var_ittfl(out)
    out = derive_var_saffl(out)
    strat_src = randomization if randomization is not None and any(
        _STRAT.match(str(c)) for c in randomization.columns) else None
    if strat_src is not None or any(_STRAT.match(str(c)) for c in out.columns):
        out = derive_vars_strata(out, strat_src)
    if cm is not None:
        out = derive_var_nactdt(out, cm)
    return out
