"""SDTM back to eCRF entries (:func:`oncotrial.collect.from_sdtm.sdtm_to_casebooks`): the simulator's
trial, entered form by form and exported again, analyses to the same numbers; and one hand-made
case per rule of the mapping."""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.adam import adam_from_sdtm
from oncotrial.analysis import run_analysis
from oncotrial.collect import casebooks_to_sdtm
from oncotrial.collect.from_sdtm import sdtm_to_casebooks
from oncotrial.protocol import load_protocol
from oncotrial.sim import simulate_trial

from ..same import assert_same

UID = "PATINA-101-0001"


@pytest.fixture(scope="module")
def patina():
    return load_protocol("patina")


def _dm(**extra) -> pd.DataFrame:
    return pd.DataFrame([{"USUBJID": UID, "SUBJID": "0001", "SITEID": "101", "COUNTRY": "US", "ARMCD": "A",
                          "ARM": "Palbociclib + anti-HER2 + endocrine therapy", "AGE": 58.0, "SEX": "F",
                          "RACE": "WHITE", **extra}])


def _entries(books, form):
    return [(r.visit, r.key or r.seq, dict(r.values)) for r in books[0].records if r.form == form]


def test_the_simulated_trial_entered_form_by_form_analyses_to_the_same_numbers(patina):
    trial = simulate_trial(patina, seed=7)
    books, left = sdtm_to_casebooks(patina, trial.sdtm)
    assert left.empty, left.head().to_dict("records")
    assert len(books) == len(trial.sdtm["DM"])
    exported = casebooks_to_sdtm(patina, books)
    for domain in ("AE", "CM", "DS", "EX", "RS", "SUPPDM", "SV"):
        assert len(exported[domain]) == len(trial.sdtm[domain]), domain
    direct = run_analysis(adam_from_sdtm(trial.sdtm, patina), patina).to_dict()
    entered = run_analysis(adam_from_sdtm(exported, patina), patina).to_dict()
    assert_same(direct, entered)


def test_disposition_rows_go_to_the_form_their_category_names_at_its_visit(patina):
    ds = pd.DataFrame({"USUBJID": [UID] * 4, "DSSEQ": [1, 2, 3, 4],
                       "DSDECOD": ["INFORMED CONSENT OBTAINED", "RANDOMIZED", "PROGRESSIVE DISEASE", "DEATH"],
                       "DSTERM": ["INFORMED CONSENT OBTAINED", "RANDOMIZED", "PROGRESSIVE DISEASE", "DEATH"],
                       "DSCAT": ["PROTOCOL MILESTONE", "PROTOCOL MILESTONE", "OTHER EVENT", "DISPOSITION EVENT"],
                       "DSSCAT": ["", "", "END OF TREATMENT", "END OF STUDY"],
                       "DSSTDTC": ["2021-01-02", "2021-01-04", "2021-06-01", "2021-09-09"]})
    books, left = sdtm_to_casebooks(patina, {"DM": _dm(RFICDTC="2021-01-02"), "DS": ds})
    assert left.empty
    assert _entries(books, "IC") == [("SCREENING", 1, {"ICDT": "2021-01-02"})]
    assert _entries(books, "EOT") == [("END OF TREATMENT", 1, {"DSSTDTC": "2021-06-01",
                                                               "DSDECOD": "PROGRESSIVE DISEASE"})]
    assert _entries(books, "EOS") == [("LOG", 1, {"DSSTDTC": "2021-09-09", "DSDECOD": "DEATH"})]
    (visit, _, rand), = _entries(books, "RAND")
    assert visit == "SCREENING" and rand["RANDDT"] == "2021-01-04" and rand["ARMCD"] == "A"
    without, _ = sdtm_to_casebooks(patina, {"DM": _dm(), "DS": ds}, include_rand=False)
    assert _entries(without, "RAND") == []


def test_demography_and_death_come_from_dm_and_its_qualifiers(patina):
    supp = pd.DataFrame({"USUBJID": [UID] * 2, "RDOMAIN": ["DM"] * 2, "IDVAR": ["", ""], "IDVARVAL": ["", ""],
                         "QNAM": ["MENOSTAT", "DTHCAUS"], "QVAL": ["POST", "PROGRESSIVE DISEASE"]})
    books, _ = sdtm_to_casebooks(patina, {"DM": _dm(DTHDTC="2022-03-01"), "SUPPDM": supp})
    (visit, _, demog), = _entries(books, "DEMOG")
    assert visit == "SCREENING" and (demog["AGE"], demog["SEX"], demog["MENOSTAT"]) == (58, "F", "POST")
    assert _entries(books, "DEATH") == [("LOG", 1, {"DTHDTC": "2022-03-01", "DTHCAUS": "PROGRESSIVE DISEASE"})]
    alive, _ = sdtm_to_casebooks(patina, {"DM": _dm()})
    assert _entries(alive, "DEATH") == []


def test_repeating_rows_number_their_entries_and_qualifiers_return_to_their_parent(patina):
    ex = pd.DataFrame({"USUBJID": [UID] * 2, "EXSEQ": [1, 2], "VISIT": ["CYCLE 1"] * 2,
                       "EXTRT": ["PALBOCICLIB", "TRASTUZUMAB"], "EXDOSE": [125.0, 6.0], "EXDOSU": ["mg", "mg/kg"],
                       "EXSTDTC": ["2021-01-05"] * 2, "EXENDTC": ["2021-01-25", "2021-01-05"]})
    supp = pd.DataFrame({"USUBJID": [UID], "RDOMAIN": ["EX"], "IDVAR": ["EXSEQ"], "IDVARVAL": ["1"],
                         "QNAM": ["EXDAYS"], "QVAL": ["21"]})
    books, _ = sdtm_to_casebooks(patina, {"DM": _dm(), "EX": ex, "SUPPEX": supp}, include_rand=False)
    got = _entries(books, "EX")
    assert [(v, s, e["EXTRT"], e.get("EXDAYS")) for v, s, e in got] == [
        ("CYCLE 1", 1, "PALBOCICLIB", 21), ("CYCLE 1", 2, "TRASTUZUMAB", None)]


def test_findings_rows_of_one_visit_and_lesion_make_one_entry(patina):
    tu = pd.DataFrame({"USUBJID": [UID] * 2, "TUSEQ": [1, 2], "TULNKID": ["T01", "NEW01"],
                       "TUTESTCD": ["TUMIDENT"] * 2, "TUORRES": ["TARGET", "NEW"], "TUSTRESC": ["TARGET", "NEW"],
                       "TULOC": ["LIVER", "LUNG"], "TUMETHOD": ["CT SCAN"] * 2, "TUDTC": ["2021-01-01", "2021-03-01"],
                       "VISIT": ["SCREENING", "WEEK 12"], "TUEVAL": ["INVESTIGATOR"] * 2})
    tr = pd.DataFrame({"USUBJID": [UID] * 2, "TRSEQ": [1, 2], "TRLNKID": ["T01", "T01"], "TRTESTCD": ["LDIAM"] * 2,
                       "TRORRES": ["32", "20"], "TRGRPID": ["TARGET"] * 2, "TREVAL": ["INVESTIGATOR"] * 2,
                       "TRDTC": ["2021-01-01", "2021-03-01"], "VISIT": ["SCREENING", "WEEK 12"]})
    rs = pd.DataFrame({"USUBJID": [UID], "RSSEQ": [1], "RSTESTCD": ["OVRLRESP"], "RSORRES": ["PD"],
                       "RSCAT": ["RECIST 1.1"], "RSEVAL": ["INVESTIGATOR"], "RSDTC": ["2021-03-01"],
                       "VISIT": ["WEEK 12"]})
    books, left = sdtm_to_casebooks(patina, {"DM": _dm(), "TU": tu, "TR": tr, "RS": rs}, include_rand=False)
    assert left.empty
    (visit, key, base), = _entries(books, "TL_BASE")
    assert (visit, key) == ("SCREENING", "T01")
    assert base == {"LINKID": "T01", "TULOC": "LIVER", "TUMETHOD": "CT SCAN", "TRDTC": "2021-01-01", "LDIAM": 32.0}
    assert _entries(books, "TL_FU") == [("WEEK 12", "T01", {"LINKID": "T01", "TRDTC": "2021-03-01", "LDIAM": 20.0})]
    assert _entries(books, "NEWLES") == [("WEEK 12", "NEW01", {"LINKID": "NEW01", "TULOC": "LUNG",
                                                              "TUMETHOD": "CT SCAN", "TUDTC": "2021-03-01"})]
    assert _entries(books, "TA") == [("WEEK 12", 1, {"RSDTC": "2021-03-01", "OVRLRESP": "PD"})]


def test_rows_no_form_takes_are_listed_with_why(patina):
    lb = pd.DataFrame({"USUBJID": [UID], "LBSEQ": [4], "LBTESTCD": ["HGB"], "VISIT": ["CYCLE 1"]})
    sv = pd.DataFrame({"USUBJID": [UID], "SVSEQ": [1], "VISIT": ["WEEK 3 OFF SCHEDULE"], "SVSTDTC": ["2021-01-20"]})
    _, left = sdtm_to_casebooks(patina, {"DM": _dm(), "LB": lb, "SV": sv})
    assert left.to_dict("records") == [
        {"DOMAIN": "LB", "USUBJID": UID, "SEQ": "4", "WHY": "no form of visit CYCLE 1 takes this LB row"},
        {"DOMAIN": "SV", "USUBJID": UID, "SEQ": "1", "WHY": "no form of visit WEEK 3 OFF SCHEDULE takes this SV row"}]


def test_dm_is_required(patina):
    with pytest.raises(ValueError, match="sdtm: the DM domain"):
        sdtm_to_casebooks(patina, {"AE": pd.DataFrame({"USUBJID": [UID]})})
