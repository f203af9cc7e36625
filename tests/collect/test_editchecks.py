"""Edit checks over a casebook: cross-form checks, the strata the site records against the IRT's,
soft field rules as findings, undecided checks raising nothing, and finding keys that stay stable."""

from oncotrial.collect import Casebook, FormRecord, run_edit_checks

S = "PATINA-101-0001"
RAND = {"SUBJID": "0001", "SITEID": "101", "COUNTRY": "USA", "RANDDT": "2020-01-06", "ARMCD": "A",
        "ARM": "Palbociclib + anti-HER2 + ET", "STRAT1R": "CR_PR", "STRAT2R": "YES", "STRAT3R": "AI",
        "STRAT4R": "DUAL"}
DEMOG = {"AGE": 51, "SEX": "F", "RACE": "WHITE", "MENOSTAT": "POST", "DENOVO": "N", "VISCMET": "Y",
         "CNSMET": "N", "INDRESP": "PR", "STRAT1V": "CR_PR", "STRAT2V": "YES", "STRAT3V": "AI", "STRAT4V": "DUAL"}
AE = {"AETERM": "Neutropenia", "AETOXGR": "3", "AESER": "N", "AEREL": "Y", "AEACN": "DOSE REDUCED",
      "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2020-02-10", "AEENDTC": "2020-02-20"}
EX = {"EXTRT": "PALBOCICLIB", "EXDOSE": 125.0, "EXDOSU": "mg", "EXSTDTC": "2020-01-06", "EXENDTC": "2020-01-26"}


def book(*records: FormRecord) -> Casebook:
    base = (FormRecord(S, "SCREENING", "IC", 1, {"ICDT": "2019-12-20"}),
            FormRecord(S, "SCREENING", "RAND", 1, RAND))
    return Casebook(S, base + records)


def checks(protocol, cb: Casebook) -> list[str]:
    return [f.check for f in run_edit_checks(protocol, cb)]


def test_clean_casebook_has_no_findings(patina):
    cb = book(FormRecord(S, "SCREENING", "DEMOG", 1, DEMOG), FormRecord(S, "LOG", "AE", 1, AE),
              FormRecord(S, "CYCLE 1", "EX", 1, EX))
    assert run_edit_checks(patina, cb) == []


def test_strata_recorded_in_edc_differ_from_irt(patina):
    cb = book(FormRecord(S, "SCREENING", "DEMOG", 1, {**DEMOG, "STRAT1V": "SD", "STRAT4V": "SINGLE"}))
    found = run_edit_checks(patina, cb)
    assert [(f.check, f.field) for f in found] == [("STRAT1_MATCHES_IRT", "STRAT1V"), ("STRAT4_MATCHES_IRT", "STRAT4V")]
    assert found[0].record == "SCREENING|DEMOG|1" and found[0].usubjid == S


def test_cross_form_check_against_informed_consent(patina):
    assert checks(patina, book(FormRecord(S, "LOG", "AE", 1, {**AE, "AESTDTC": "2019-12-01", "AEENDTC": "2019-12-02"}))) \
        == ["AE_AFTER_CONSENT"]


def test_check_with_a_missing_input_is_undecided_not_a_finding(patina):
    no_ic = Casebook(S, (FormRecord(S, "LOG", "AE", 1, {**AE, "AESTDTC": "2019-12-01", "AEENDTC": "2019-12-02"}),))
    assert run_edit_checks(patina, no_ic) == []


def test_grade_5_needs_fatal_outcome_and_end_before_start(patina):
    ae = {**AE, "AETOXGR": "5", "AESTDTC": "2020-03-01", "AEENDTC": "2020-02-01"}
    assert checks(patina, book(FormRecord(S, "LOG", "AE", 1, ae))) == ["AE_END_AFTER_START", "AE_GRADE5_FATAL"]


def test_dose_must_be_a_protocol_dose_level_where_the_drug_has_levels(patina):
    assert checks(patina, book(FormRecord(S, "CYCLE 1", "EX", 1, {**EX, "EXDOSE": 150.0}))) == ["EX_DOSE_LEVEL"]
    assert checks(patina, book(FormRecord(S, "CYCLE 1", "EX", 1, {**EX, "EXDOSE": 100.0}))) == []
    herceptin = {**EX, "EXTRT": "TRASTUZUMAB", "EXDOSE": 6.0, "EXDOSU": "mg/kg"}
    assert checks(patina, book(FormRecord(S, "CYCLE 1", "EX", 1, herceptin))) == []


def test_treatment_before_randomization(patina):
    assert checks(patina, book(FormRecord(S, "CYCLE 1", "EX", 1, {**EX, "EXSTDTC": "2020-01-02"}))) == ["EX_AFTER_RANDOMIZATION"]


def test_death_before_the_last_visit(patina):
    cb = book(FormRecord(S, "CYCLE 1", "VISIT", 1, {"SVSTDTC": "2020-01-06"}),
              FormRecord(S, "CYCLE 2", "VISIT", 1, {"SVSTDTC": "2020-02-03"}),
              FormRecord(S, "LOG", "DEATH", 1, {"DTHDTC": "2020-01-20"}))
    assert checks(patina, cb) == ["DEATH_AFTER_LAST_VISIT"]


def test_follow_up_lesion_not_identified_at_baseline_and_small_node(patina):
    base = {"LINKID": "T01", "TULOC": "LYMPH NODE", "TUMETHOD": "CT SCAN", "TRDTC": "2019-12-28", "LDIAM": 12.0}
    cb = book(FormRecord(S, "SCREENING", "TL_BASE", 1, base, key="T01"),
              FormRecord(S, "WEEK 12", "TL_FU", 1, {"LINKID": "T02", "TRDTC": "2020-03-30", "LDIAM": 8.0}, key="T02"))
    assert checks(patina, cb) == ["TL_NODE_SHORT_AXIS", "TL_KNOWN_LESION", "RECIST_LESIONS"]


def test_soft_field_rules_saved_leniently_become_findings(patina):
    demog = {k: v for k, v in DEMOG.items() if k != "CNSMET"} | {"AGE": 17}
    found = run_edit_checks(patina, book(FormRecord(S, "SCREENING", "DEMOG", 1, demog)))
    assert [(f.check, f.field) for f in found] == [("RANGE", "AGE"), ("REQUIRED", "CNSMET")]
    assert "17 years is outside 18-100" in found[0].message


def test_finding_key_is_stable_while_the_problem_is_the_same(patina):
    ae = {**AE, "AESTDTC": "2020-03-01", "AEENDTC": "2020-02-01"}
    first = run_edit_checks(patina, book(FormRecord(S, "LOG", "AE", 1, ae, seq=4)))
    edited = run_edit_checks(patina, book(FormRecord(S, "LOG", "AE", 1, {**ae, "AETOXGR": "2"}, seq=4)))
    assert [f.key for f in first] == [f.key for f in edited] == [f"AE_END_AFTER_START|{S}|LOG|AE|4|AEENDTC"]
    assert first[0].to_dict()["key"] == first[0].key


def test_protocol_without_edc_has_no_checks(patina):
    p = patina.model_copy(update={"edc": None})
    assert run_edit_checks(p, Casebook(S, ())) == []
