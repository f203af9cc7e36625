"""Casebooks to SDTM: hand-checked rows for one PATINA subject, and lesions entered as casebooks that
give back, through oncotrial.recist, the pharmaverse investigator's overall responses (RS_ONCO_RECIST)."""

import pandas as pd
import pytest

from oncotrial.collect import Casebook, FormRecord
from oncotrial.collect.to_sdtm import casebooks_to_sdtm
from oncotrial.recist import recist
from oncotrial.sdtm import read_domain

S = "PATINA-101-0001"


def _subject() -> Casebook:
    return Casebook(S, (
        FormRecord(S, "SCREENING", "IC", 1, {"ICDT": "2019-12-20"}),
        FormRecord(S, "SCREENING", "RAND", 1, {"SUBJID": "0001", "SITEID": "101", "COUNTRY": "USA",
                                               "RANDDT": "2020-01-06", "ARMCD": "A", "ARM": "Palbociclib",
                                               "STRAT1R": "CR_PR"}),
        FormRecord(S, "SCREENING", "DEMOG", 2, {"AGE": 51, "SEX": "F", "ECOG": "1", "MENOSTAT": "POST"}),
        FormRecord(S, "SCREENING", "TL_BASE", 1, {"LINKID": "T01", "TULOC": "LIVER", "TUMETHOD": "CT SCAN",
                                                  "TRDTC": "2019-12-28", "LDIAM": 23.5}, key="T01"),
        FormRecord(S, "CYCLE 1", "EX", 1, {"EXTRT": "PALBOCICLIB", "EXDOSE": 125.0, "EXDOSU": "mg",
                                           "EXSTDTC": "2020-01-07", "EXENDTC": "2020-01-27", "EXDAYS": 21}),
        FormRecord(S, "CYCLE 2", "EX", 1, {"EXTRT": "PALBOCICLIB", "EXDOSE": 100.0, "EXDOSU": "mg",
                                           "EXSTDTC": "2020-02-04", "EXENDTC": "2020-02-24",
                                           "EXADJTYP": "REDUCED", "EXADJ": "ADVERSE EVENT"}),
        FormRecord(S, "LOG", "AE", 1, {"AETERM": "Neutropenia", "AETOXGR": "3", "AESTDTC": "2020-01-20",
                                       "AEOUT": "RECOVERED/RESOLVED", "AEENDTC": "2020-01-30"}, seq=1),
        FormRecord(S, "LOG", "MH", 1, {"MHTERM": "Hypertension", "MHSTDTC": "2015", "MHONGO": True}, seq=1),
        FormRecord(S, "LOG", "DEATH", 1, {"DTHDTC": "2021-05-02", "DTHCAUS": "DISEASE PROGRESSION"}),
    ))


@pytest.fixture(scope="module")
def sdtm(patina):
    return casebooks_to_sdtm(patina, [_subject()])


def test_dm_is_one_row_merged_from_consent_randomization_demography_exposure_and_death(sdtm):
    dm = sdtm["DM"].iloc[0]
    assert len(sdtm["DM"]) == 1
    assert (dm.STUDYID, dm.USUBJID, dm.SUBJID, dm.SITEID, dm.COUNTRY) == ("PATINA", S, "0001", "101", "USA")
    assert (dm.RFICDTC, dm.RFSTDTC, dm.RFENDTC, dm.DTHDTC, dm.DTHFL) == \
        ("2019-12-20", "2020-01-07", "2020-02-24", "2021-05-02", "Y")
    assert (dm.AGE, dm.AGEU, dm.SEX, dm.ARMCD, dm.ACTARMCD, dm.ACTARM) == (51, "YEARS", "F", "A", "A", "Palbociclib")


def test_study_days_count_from_randomization_with_no_day_zero(sdtm):
    ex = sdtm["EX"]
    assert list(ex.EXSEQ) == [1, 2]
    assert list(ex.EXSTDY) == [2, 30]          # 2020-01-07 and 2020-02-04 from day 1 = 2020-01-06
    assert list(ex.VISIT) == ["CYCLE 1", "CYCLE 2"] and list(ex.VISITNUM) == [1.0, 2.0]
    assert sdtm["AE"].AESTDY.iloc[0] == 15 and sdtm["AE"].AEENDY.iloc[0] == 25
    tu = sdtm["TU"]
    assert tu.TUDY.iloc[0] == -9               # 2019-12-28 is 9 days before day 1


def test_disposition_rows_carry_their_forms_constants(sdtm):
    ds = sdtm["DS"]
    assert list(ds.DSDECOD) == ["INFORMED CONSENT OBTAINED", "RANDOMIZED"]
    assert list(ds.DSSTDTC) == ["2019-12-20", "2020-01-06"]
    assert set(ds.DSCAT) == {"PROTOCOL MILESTONE"}


def test_findings_field_gives_a_result_row_with_its_qualifiers(sdtm):
    tr = sdtm["TR"].iloc[0]
    assert (tr.TRTESTCD, tr.TRTEST, tr.TRORRES, tr.TRORRESU, tr.TRSTRESN, tr.TRLNKID, tr.TRGRPID) == \
        ("LDIAM", "Longest Diameter", "23.5", "mm", 23.5, "T01", "TARGET")
    tu = sdtm["TU"].iloc[0]
    assert (tu.TULNKID, tu.TULOC, tu.TUSTRESC, tu.TUEVAL) == ("T01", "LIVER", "TARGET", "INVESTIGATOR")


def test_supplemental_qualifiers_point_at_their_parent_row(sdtm):
    suppdm = sdtm["SUPPDM"].set_index("QNAM")
    assert suppdm.loc["ECOG", "QVAL"] == "1" and suppdm.loc["ECOG", "IDVAR"] == ""
    assert suppdm.loc["DTHCAUS", "QVAL"] == "DISEASE PROGRESSION"
    suppex = sdtm["SUPPEX"]
    assert suppex[["IDVAR", "IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        ["EXSEQ", "1", "EXDAYS", "21"], ["EXSEQ", "2", "EXADJTYP", "REDUCED"]]
    assert sdtm["SUPPMH"].QVAL.tolist() == ["Y"]  # a boolean is Y/N
    assert sdtm["EX"].EXADJ.tolist()[1] == "ADVERSE EVENT"


def test_dm_fed_twice_with_different_values_names_both_records(patina):
    book = Casebook(S, (FormRecord(S, "SCREENING", "DEMOG", 1, {"AGE": 51}),
                        FormRecord(S, "SCREENING", "IC", 1, {"ICDT": "2019-12-20"}),
                        FormRecord(S, "UNSCHEDULED", "DEMOG", 1, {"AGE": 52})))
    with pytest.raises(ValueError, match=r"DM.AGE is 51 in record SCREENING\|DEMOG\|1 but 52 in record UNSCHEDULED"):
        casebooks_to_sdtm(patina, [book])


def test_a_value_the_form_version_lacks_is_refused(patina):
    book = Casebook(S, (FormRecord(S, "SCREENING", "DEMOG", 1, {"ECOG": "1"}),))
    with pytest.raises(ValueError, match="version 1 of form DEMOG does not have"):
        casebooks_to_sdtm(patina, [book])


def test_a_subject_exported_twice_is_refused(patina):
    with pytest.raises(ValueError, match="more than one casebook"):
        casebooks_to_sdtm(patina, [Casebook(S), Casebook(S)])


def test_untreated_subject_is_not_treated(patina):
    book = Casebook(S, (FormRecord(S, "SCREENING", "RAND", 1, {"RANDDT": "2020-01-06", "ARMCD": "B", "ARM": "Control"}),))
    dm = casebooks_to_sdtm(patina, [book])["DM"].iloc[0]
    assert (dm.ACTARMCD, dm.ACTARM, dm.DTHFL) == ("NOTTRT", "Not Treated", "")


# -- lesions entered as casebooks reproduce the pharmaverse investigator's responses
def _lesion_casebooks(tu: pd.DataFrame, tr: pd.DataFrame) -> list[Casebook]:
    books = []
    for subj, tus in tu.groupby("USUBJID", sort=True):
        kind = dict(zip(tus.TULNKID, tus.TUSTRESC))
        loc = dict(zip(tus.TULNKID, tus.TULOC))
        recs = []
        trs = tr[(tr.USUBJID == subj) & tr.TRTESTCD.isin(["LDIAM", "TUMSTATE"])]
        # the pharmaverse investigator series repeats some non-target rows verbatim: one entry each
        trs = trs.drop_duplicates(["VISITNUM", "TRLNKID", "TRTESTCD", "TRSTRESC"])
        base_visit = tus.VISITNUM.min()
        for _, row in trs.sort_values(["VISITNUM", "TRLNKID"]).iterrows():
            target = kind[row.TRLNKID] == "TARGET"
            value = {"LDIAM": float(row.TRSTRESN)} if target else {"TUMSTATE": row.TRSTRESC}
            at_base = row.VISITNUM == base_visit
            form = ("TL" if target else "NTL") + ("_BASE" if at_base else "_FU")
            vals = {"LINKID": row.TRLNKID, "TRDTC": row.TRDTC, **value}
            if at_base:
                vals |= {"TULOC": loc[row.TRLNKID], "TUMETHOD": "CT SCAN"}
            recs.append(FormRecord(subj, row.VISIT, form, 1, vals, key=row.TRLNKID, visitnum=float(row.VISITNUM)))
        books.append(Casebook(subj, tuple(recs)))
    return books


def test_lesions_entered_as_casebooks_give_the_pharmaverse_investigators_responses(patina, pharmaverse):
    d = pharmaverse / "sdtm"
    if not (d / "tu_onco_recist.csv").is_file():
        pytest.skip("pharmaverse RECIST data not present")
    tu, tr = read_domain(d / "tu_onco_recist.csv", domain="TU"), read_domain(d / "tr_onco_recist.csv", domain="TR")
    rs = read_domain(d / "rs_onco_recist.csv", domain="RS")
    inv = lambda df, p: df[df[f"{p}EVAL"] == "INVESTIGATOR"]  # noqa: E731
    sdtm = casebooks_to_sdtm(patina, _lesion_casebooks(inv(tu, "TU"), inv(tr, "TR")))
    got = recist(sdtm["TU"], sdtm["TR"]).to_rs()
    key = ["USUBJID", "VISITNUM"]
    ref = inv(rs, "RS")
    ref = ref[ref.RSTESTCD == "OVRLRESP"][key + ["RSSTRESC"]].assign(VISITNUM=lambda x: x.VISITNUM.astype(float))
    got = got[got.RSTESTCD == "OVRLRESP"][key + ["RSSTRESC"]].assign(VISITNUM=lambda x: x.VISITNUM.astype(float))
    m = ref.merge(got, on=key, how="outer", suffixes=("_ref", "_ours"), indicator=True)
    assert (m._merge == "both").all(), m[m._merge != "both"]
    assert (m.RSSTRESC_ref == m.RSSTRESC_ours).all(), m[m.RSSTRESC_ref != m.RSSTRESC_ours]
    assert len(m) == 22


def test_adverse_events_are_coded_with_the_protocols_dictionary(patina):
    book = Casebook(S, (FormRecord(S, "LOG", "AE", 1, {"AETERM": "loose stools", "AETOXGR": "1"}, seq=1),
                        FormRecord(S, "LOG", "AE", 1, {"AETERM": "felt odd", "AETOXGR": "1"}, seq=2),
                        FormRecord(S, "LOG", "AE", 1, {"AETERM": "Tiredness", "AEDECOD": "Fatigue",
                                                       "AEBODSYS": "General disorders", "AETOXGR": "1"}, seq=3)))
    ae = casebooks_to_sdtm(patina, [book])["AE"]
    assert ae[["AETERM", "AEDECOD", "AEBODSYS"]].values.tolist() == [
        ["loose stools", "Diarrhoea", "Gastrointestinal disorders"], ["felt odd", "", ""],
        ["Tiredness", "Fatigue", "General disorders"]]
