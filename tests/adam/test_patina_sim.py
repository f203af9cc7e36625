"""The ADaM builders on oncotrial's own simulated PATINA SDTM (518 patients)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oncotrial.adam as A
import oncotrial.sim.trial as sim  # a broken import must fail, not skip


@pytest.fixture(scope="module")
def patina():
    from oncotrial.protocol import load_protocol

    p = load_protocol("patina")
    sd = sim.simulate_trial(p, seed=3).sdtm
    settings = A.protocol_settings(p)
    a = A.adsl(sd["DM"], ds=sd["DS"], ex=sd["EX"], ae=sd["AE"], sv=sd["SV"], rs=sd["RS"],
               suppdm=sd["SUPPDM"], cm=sd.get("CM"))
    r = A.adrs(a, sd["RS"], **settings["adrs"])
    t = A.adtte(a, r, dataset_ex=sd["EX"], extrt="PALBOCICLIB", **settings["adtte"])
    return {"p": p, "sdtm": sd, "adsl": a, "adrs": r, "adtte": t, "settings": settings}


def test_settings_come_from_the_protocol(patina):
    p = patina["p"]
    s = patina["settings"]
    assert s["adrs"]["confirmation_min_days"] == 28 and s["adrs"]["cbr_min_days"] == 168
    assert s["adtte"] == {"assessment_interval_days": 84.0, "window_days": 7.0}
    assert s["adrs"].get("sd_min_days", 42) == int(round(7 * getattr(p.schedule, "sd_min_weeks", 6)))


def test_adsl_has_one_row_per_randomized_patient_with_strata(patina):
    a, p = patina["adsl"], patina["p"]
    assert len(a) == 518 and a["USUBJID"].is_unique and (a["ITTFL"] == "Y").all()
    strat = [f"STRAT{i}R" for i in range(1, len(p.stratification_factors) + 1)]
    for col, f in zip(strat, p.stratification_factors):
        assert set(a[col].dropna()) <= {lv.code for lv in f.levels}, col
    assert a["RANDDT"].notna().all() and (a["LSTALVDT"] >= a["RANDDT"]).all()
    assert (a["TRTSDT"].dropna() >= a.loc[a["TRTSDT"].notna(), "RANDDT"]).all()
    assert {"MENOSTAT", "DENOVO", "CNSMET"} <= set(a.columns)  # SUPPDM QNAMs carried


def test_adtte_is_consistent(patina):
    t = patina["adtte"]
    for param in ("OS", "PFS"):
        x = t[t["PARAMCD"] == param]
        assert len(x) == 518 and x["USUBJID"].is_unique
    assert (t["AVAL"] >= 1).all() and (t["ADT"] >= t["STARTDT"]).all()
    assert (t["AVAL"] == (t["ADT"] - t["STARTDT"]).dt.days + 1).all()
    pfs = t[t["PARAMCD"] == "PFS"]
    assert set(pfs["CNSR"]) <= {0, 1, 2, 3, 4} and (pfs["CNSR"] == 0).sum() > 100
    # A PFS event is never later than death; OS is never shorter than PFS.
    both = pfs.merge(t[t["PARAMCD"] == "OS"], on="USUBJID", suffixes=("", "_os"))
    assert (both["AVAL"] <= both["AVAL_os"]).all()
    ttdr = t[t["PARAMCD"] == "TTDR"]
    assert set(ttdr["ARMCD"]) == {"A"}  # palbociclib only in arm A
    dor = t[t["PARAMCD"] == "DOR"]
    crsp = patina["adrs"].query("PARAMCD == 'CRSP' and AVALC == 'Y'")
    assert set(dor["USUBJID"]) == set(crsp["USUBJID"])


def test_adrs_parameters_are_complete(patina):
    r = patina["adrs"]
    for param in ("BOR", "CBOR", "CRSP", "CBR", "RSP", "PD"):
        assert (r["PARAMCD"] == param).sum() == 518, param
    cbor = r[r["PARAMCD"] == "CBOR"].set_index("USUBJID")["AVALC"]
    crsp = r[r["PARAMCD"] == "CRSP"].set_index("USUBJID")["AVALC"]
    assert ((cbor.isin(["CR", "PR"])) == (crsp == "Y")).all()


def test_adae_and_adex_on_the_simulation(patina):
    sd, a = patina["sdtm"], patina["adsl"]
    ae = A.adae(sd["AE"], a)
    assert len(ae) == len(sd["AE"]) and set(ae["ATOXGRN"].dropna()) <= {1, 2, 3, 4, 5}
    worst = ae[ae["AOCCIFL"] == "Y"]
    assert worst["USUBJID"].is_unique
    top = ae[ae["TRTEMFL"] == "Y"].groupby("USUBJID")["ATOXGRN"].max()
    assert (worst.set_index("USUBJID")["ATOXGRN"] == top.reindex(worst["USUBJID"]).to_numpy()).all()
    ex = A.adex(sd["EX"], a, planned=A.planned_daily_dose(patina["p"]), off_days_after_last={"PALBOCICLIB": 7})
    rdi = ex[(ex["EXTRT"] == "PALBOCICLIB") & (ex["PARAMCD"] == "RDI")]["AVAL"]
    assert len(rdi) > 200 and rdi.between(0, 100.0001).all() and np.isfinite(rdi).all()
    assert isinstance(ex, pd.DataFrame)
