"""SDTM domains (DM, SUPPDM, DS, EX, AE, RS, SV, CM) from a simulated or reconstructed course.

Everything upstream works in analysis days (day 1 = randomization date); this
module is the one place they become ISO 8601 dates. Conventions follow the
inputs :mod:`oncotrial.adam` documents: the randomization date is a DS record
``DSDECOD == "RANDOMIZED"``; strata (``STRAT1R``..) and baseline characteristics
(MENOSTAT, DENOVO, VISCMET, CNSMET, INDRESP) are SUPPDM qualifiers; study
disposition records have ``DSCAT == "DISPOSITION EVENT"`` and end of treatment
``DSCAT == "OTHER EVENT"``; new anticancer therapy is CM with CMCAT
``"NEW ANTICANCER THERAPY"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.collect.schedule import unscheduled_name
from oncotrial.protocol import Protocol
from oncotrial.sim.lesions import draw_lesions, rs_from_lesions
from oncotrial.sim.patients import strat_col
from oncotrial.sim.terms import soc_for

BASELINE_QNAMS = {
    "MENOSTAT": "Menopausal Status",
    "DENOVO": "De Novo Metastatic Disease",
    "VISCMET": "Visceral Metastases",
    "CNSMET": "CNS Metastases",
    "INDRESP": "Best Response to Induction Therapy",
}


def dtc(randdt: np.ndarray, day: np.ndarray) -> np.ndarray:
    """ISO 8601 dates of analysis days (day 1 = ``randdt``); missing days give ""."""
    day = np.asarray(day, dtype=float)
    ok = np.isfinite(day)
    out = np.full(day.shape, "", dtype=object)
    if ok.any():
        d = np.asarray(randdt).astype("datetime64[D]")[ok] + (day[ok] - 1).astype(int).astype("timedelta64[D]")
        out[ok] = d.astype(str)
    return out


def _base(protocol: Protocol, pts: pd.DataFrame, rows: np.ndarray, domain: str) -> dict:
    return {"STUDYID": protocol.study.id, "DOMAIN": domain, "USUBJID": pts["USUBJID"].to_numpy()[rows]}


def _seq(df: pd.DataFrame, name: str) -> pd.DataFrame:
    df[name] = df.groupby("USUBJID", sort=False).cumcount() + 1
    return df


def build_dm(protocol: Protocol, pts: pd.DataFrame, course: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    n = len(pts)
    rows = np.arange(n)
    first = ex.groupby("row")["STDY"].min().reindex(rows).to_numpy()
    last = ex.groupby("row")["ENDY"].max().reindex(rows).to_numpy()
    treated = ~np.isnan(first)
    rand = pts["RANDDT"].to_numpy()
    death = course["DTHDY"].to_numpy()
    dm = pd.DataFrame({
        **_base(protocol, pts, rows, "DM"),
        "SUBJID": pts["SUBJID"].to_numpy(),
        "RFSTDTC": dtc(rand, first),
        "RFENDTC": dtc(rand, course["LSTALVDY"].to_numpy()),
        "RFXSTDTC": dtc(rand, first),
        "RFXENDTC": dtc(rand, last),
        "RFICDTC": pts["ICDT"].to_numpy().astype("datetime64[D]").astype(str),
        "RFPENDTC": dtc(rand, course["LSTALVDY"].to_numpy()),
        "DTHDTC": dtc(rand, death),
        "DTHFL": np.where(np.isfinite(death), "Y", ""),
        "SITEID": pts["SITEID"].to_numpy(),
        "AGE": pts["AGE"].to_numpy().astype(float),
        "AGEU": "YEARS",
        "SEX": pts["SEX"].to_numpy(),
        "RACE": pts["RACE"].to_numpy(),
        "ETHNIC": "NOT REPORTED",
        "ARMCD": pts["ARMCD"].to_numpy(),
        "ARM": pts["ARM"].to_numpy(),
        "ACTARMCD": np.where(treated, pts["ARMCD"].to_numpy(), "NOTTRT"),
        "ACTARM": np.where(treated, pts["ARM"].to_numpy(), "Not Treated"),
        "COUNTRY": pts["COUNTRY"].to_numpy(),
    })
    return dm


def build_suppdm(protocol: Protocol, pts: pd.DataFrame) -> pd.DataFrame:
    qn: list[tuple[str, str, np.ndarray]] = []
    for w, f in enumerate(protocol.factors_in_strat_order, start=1):
        qn.append((f"STRAT{w}R", (f.label or f.name)[:40], pts[strat_col(f.name)].to_numpy()))
    for q, label in BASELINE_QNAMS.items():
        if q in pts.columns:
            qn.append((q, label, pts[q].to_numpy()))
    frames = [pd.DataFrame({"STUDYID": protocol.study.id, "RDOMAIN": "DM", "USUBJID": pts["USUBJID"].to_numpy(),
                            "IDVAR": "", "IDVARVAL": "", "QNAM": q, "QLABEL": lab, "QVAL": v.astype(str),
                            "QORIG": "ASSIGNED" if q.startswith("STRAT") else "CRF"})
              for q, lab, v in qn]
    out = pd.concat(frames, ignore_index=True)
    order = {q: i for i, (q, _, _) in enumerate(qn)}
    out["_o"] = out["QNAM"].map(order)
    return out.sort_values(["USUBJID", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def build_ds(protocol: Protocol, pts: pd.DataFrame, course: pd.DataFrame) -> pd.DataFrame:
    n = len(pts)
    rand = pts["RANDDT"].to_numpy()
    rows = np.arange(n)
    parts = [
        pd.DataFrame({**_base(protocol, pts, rows, "DS"), "DSTERM": "INFORMED CONSENT OBTAINED",
                      "DSDECOD": "INFORMED CONSENT OBTAINED", "DSCAT": "PROTOCOL MILESTONE", "EPOCH": "SCREENING",
                      "DSSTDTC": pts["ICDT"].to_numpy().astype("datetime64[D]").astype(str), "_d": -1.0}),
        pd.DataFrame({**_base(protocol, pts, rows, "DS"), "DSTERM": "RANDOMIZED", "DSDECOD": "RANDOMIZED",
                      "DSCAT": "PROTOCOL MILESTONE", "EPOCH": "SCREENING", "DSSTDTC": dtc(rand, np.ones(n)), "_d": 1.0}),
    ]
    eot = course["EOTDY"].to_numpy()
    reas = course["EOTREAS"].to_numpy()
    m = np.isfinite(eot) & (reas != "ONGOING")
    r = rows[m]
    parts.append(pd.DataFrame({**_base(protocol, pts, r, "DS"), "DSTERM": reas[m], "DSDECOD": reas[m],
                               "DSCAT": "OTHER EVENT", "DSSCAT": "END OF TREATMENT", "EPOCH": "TREATMENT",
                               "DSSTDTC": dtc(rand[m], eot[m]), "_d": eot[m] + 0.1}))
    death = course["DTHDY"].to_numpy()
    wd = course["WDDY"].to_numpy()
    for day, term in ((death, "DEATH"), (wd, "WITHDRAWAL BY SUBJECT")):
        m = np.isfinite(day)
        r = rows[m]
        parts.append(pd.DataFrame({**_base(protocol, pts, r, "DS"), "DSTERM": term, "DSDECOD": term,
                                   "DSCAT": "DISPOSITION EVENT", "DSSCAT": "END OF STUDY", "EPOCH": "FOLLOW-UP",
                                   "DSSTDTC": dtc(rand[m], day[m]), "_d": day[m] + 0.2}))
    ds = pd.concat(parts, ignore_index=True)
    ds["_r"] = ds["USUBJID"].map(dict(zip(pts["USUBJID"], rows)))
    ds = ds.sort_values(["_r", "_d"], kind="stable").drop(columns=["_r", "_d"]).reset_index(drop=True)
    ds["DSSCAT"] = ds["DSSCAT"].fillna("")
    return _seq(ds, "DSSEQ")


def build_ex(protocol: Protocol, pts: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    r = ex["row"].to_numpy()
    rand = pts["RANDDT"].to_numpy()[r]
    out = pd.DataFrame({
        **_base(protocol, pts, r, "EX"),
        "EXTRT": ex["EXTRT"].to_numpy(), "EXDOSE": ex["EXDOSE"].to_numpy().astype(float),
        "EXDOSU": ex["EXDOSU"].to_numpy(), "EXDOSFRQ": ex["EXDOSFRQ"].to_numpy(),
        "EXROUTE": ex["EXROUTE"].to_numpy(), "EXADJ": ex["EXADJ"].to_numpy(),
        "VISIT": np.char.add("CYCLE ", ((ex["STDY"].to_numpy().astype(int) - 1) // protocol.schedule.visit_interval_days + 1).astype(str)),
        "EPOCH": "TREATMENT",
        "EXSTDTC": dtc(rand, ex["STDY"].to_numpy()), "EXENDTC": dtc(rand, ex["ENDY"].to_numpy()),
        "EXSTDY": ex["STDY"].to_numpy().astype(float), "EXENDY": ex["ENDY"].to_numpy().astype(float),
    })
    return _seq(out, "EXSEQ")


def build_ae(protocol: Protocol, pts: pd.DataFrame, ae: pd.DataFrame) -> pd.DataFrame:
    r = ae["row"].to_numpy().astype(int)
    rand = pts["RANDDT"].to_numpy()[r]
    term = ae["AETERM"].to_numpy().astype(str)
    out = pd.DataFrame({
        **_base(protocol, pts, r, "AE"),
        "AETERM": term, "AEDECOD": term, "AEBODSYS": [soc_for(t) for t in term],
        "AETOXGR": ae["AETOXGR"].to_numpy().astype(int).astype(str),
        "AESEV": np.select([ae["AETOXGR"].to_numpy() <= 1, ae["AETOXGR"].to_numpy() == 2], ["MILD", "MODERATE"], "SEVERE"),
        "AESER": ae["AESER"].to_numpy(), "AEREL": ae["AEREL"].to_numpy(), "AEACN": ae["AEACN"].to_numpy(),
        "AEOUT": np.where(np.isfinite(ae["ENDY"].to_numpy(dtype=float)), "RECOVERED/RESOLVED", "NOT RECOVERED/NOT RESOLVED"),
        "AESTDTC": dtc(rand, ae["STDY"].to_numpy()), "AEENDTC": dtc(rand, ae["ENDY"].to_numpy()),
        "AESTDY": ae["STDY"].to_numpy().astype(float), "AEENDY": ae["ENDY"].to_numpy().astype(float),
    })
    return _seq(out, "AESEQ")


def build_rs(protocol: Protocol, pts: pd.DataFrame, rs: pd.DataFrame) -> pd.DataFrame:
    r = rs["row"].to_numpy().astype(int)
    rand = pts["RANDDT"].to_numpy()[r]
    out = pd.DataFrame({
        **_base(protocol, pts, r, "RS"),
        "RSTESTCD": "OVRLRESP", "RSTEST": "Overall Response", "RSCAT": f"RECIST {protocol.schedule.recist_version}",
        "RSORRES": rs["RESP"].to_numpy(), "RSSTRESC": rs["RESP"].to_numpy(),
        "RSEVAL": protocol.schedule.assessor.upper(),
        "VISITNUM": rs["VISITNUM"].to_numpy().astype(float), "VISIT": rs["VISIT"].to_numpy(),
        "RSDTC": dtc(rand, rs["DY"].to_numpy()), "RSDY": rs["DY"].to_numpy().astype(float),
    })
    # a second assessment under a planned visit's label (an extra scan) is an unscheduled visit
    again = out.duplicated(["USUBJID", "VISIT"]) & (out["VISIT"] != "UNSCHEDULED")
    out.loc[again, "VISIT"] = "UNSCHEDULED"
    # unscheduled assessments get distinct visit numbers (X.01, X.02 after the previous visit)
    uns = out["VISIT"].to_numpy() == "UNSCHEDULED"
    if uns.any():
        prev = out["VISITNUM"].where(~uns).groupby(out["USUBJID"]).ffill().fillna(100.0)
        k = out[uns].groupby("USUBJID").cumcount() + 1
        out.loc[uns, "VISITNUM"] = (prev[uns] + 0.01 * k).round(2)
        if protocol.edc is not None and any(v.kind == "unscheduled" for v in protocol.edc.visits):
            # numbered as the data capture numbers them, so a site could enter each one
            out.loc[uns, "VISIT"] = [unscheduled_name(protocol, int(n)) for n in k]
    return _seq(out, "RSSEQ")


def _follow_up_visit(protocol: Protocol) -> tuple[str, float]:
    """The name and number of the last-contact visit: the protocol's first survival follow-up visit
    where its data capture schedules one (so a site could enter it), else "SURVIVAL FOLLOW-UP", 900."""
    if protocol.edc is not None:
        for v in protocol.edc.visits:
            if v.kind == "follow_up":
                return v.name.replace("{n}", "1"), float(v.visitnum if v.visitnum is not None else 900.0)
    return "SURVIVAL FOLLOW-UP", 900.0


def build_sv(protocol: Protocol, pts: pd.DataFrame, rs_sdtm: pd.DataFrame, ex_sdtm: pd.DataFrame,
             course: pd.DataFrame | None = None) -> pd.DataFrame:
    """Visits: treatment cycles (from EX), tumour assessments (from RS) and, for patients alive at
    their last contact, a survival follow-up contact on that day (the last date known alive)."""
    tv = ex_sdtm[["USUBJID", "VISIT", "EXSTDTC", "EXSTDY"]].drop_duplicates(["USUBJID", "VISIT"])
    tv = tv.rename(columns={"EXSTDTC": "SVSTDTC", "EXSTDY": "SVSTDY"})
    tv["VISITNUM"] = tv["VISIT"].str.replace("CYCLE ", "", regex=False).astype(float)
    av = rs_sdtm[["USUBJID", "VISIT", "VISITNUM", "RSDTC", "RSDY"]].rename(columns={"RSDTC": "SVSTDTC", "RSDY": "SVSTDY"})
    parts = [tv, av]
    if course is not None:
        alive = ~np.isfinite(course["DTHDY"].to_numpy(dtype=float))
        r = np.flatnonzero(alive)
        day = course["LSTALVDY"].to_numpy(dtype=float)[r]
        visit, visitnum = _follow_up_visit(protocol)
        parts.append(pd.DataFrame({"USUBJID": pts["USUBJID"].to_numpy()[r], "VISIT": visit,
                                   "VISITNUM": visitnum, "SVSTDTC": dtc(pts["RANDDT"].to_numpy()[r], day),
                                   "SVSTDY": day}))
    sv = pd.concat(parts, ignore_index=True)
    sv = sv.drop_duplicates(["USUBJID", "VISITNUM"])
    order = dict(zip(pts["USUBJID"], range(len(pts))))
    sv["_r"] = sv["USUBJID"].map(order)
    sv = sv.sort_values(["_r", "SVSTDY", "VISITNUM"], kind="stable").drop(columns="_r").reset_index(drop=True)
    sv.insert(0, "STUDYID", protocol.study.id)
    sv.insert(1, "DOMAIN", "SV")
    sv["SVENDTC"] = sv["SVSTDTC"]
    return sv


def build_cm(protocol: Protocol, pts: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    r = cm["row"].to_numpy().astype(int)
    rand = pts["RANDDT"].to_numpy()[r]
    out = pd.DataFrame({**_base(protocol, pts, r, "CM"), "CMTRT": "NEW ANTICANCER THERAPY (UNSPECIFIED)",
                        "CMCAT": "NEW ANTICANCER THERAPY", "CMSTDTC": dtc(rand, cm["DY"].to_numpy()), "CMENDTC": ""})
    return _seq(out, "CMSEQ")


def build_sdtm(protocol: Protocol, pts: pd.DataFrame, course: pd.DataFrame, rs: pd.DataFrame,
               ae: pd.DataFrame, ex: pd.DataFrame, cm: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """All SDTM domains of one trial, keyed by domain name."""
    ex_sdtm = build_ex(protocol, pts, ex)
    rs_sdtm = build_rs(protocol, pts, rs)
    # the lesions behind each response, and the response as RECIST 1.1 computes it from them
    tu, tr = draw_lesions(protocol, pts, rs_sdtm)
    rs_sdtm = rs_from_lesions(tu, tr, rs_sdtm)
    return {
        "DM": build_dm(protocol, pts, course, ex),
        "SUPPDM": build_suppdm(protocol, pts),
        "DS": build_ds(protocol, pts, course),
        "EX": ex_sdtm,
        "AE": build_ae(protocol, pts, ae),
        "RS": rs_sdtm,
        "TU": tu,
        "TR": tr,
        "SV": build_sv(protocol, pts, rs_sdtm, ex_sdtm, course),
        "CM": build_cm(protocol, pts, cm),
    }
