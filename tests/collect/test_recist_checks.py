"""RECIST on entered lesions: a recorded response that disagrees with RECIST 1.1, and a baseline that
breaks its selection rules, become findings on the records concerned."""

from oncotrial.collect import Casebook, FormRecord, run_edit_checks
from oncotrial.collect.recist_checks import recist_findings

S = "PATINA-101-0001"


def _tl(visit, linkid, ldiam, date, *, base=False, loc="LIVER"):
    form = "TL_BASE" if base else "TL_FU"
    values = {"LINKID": linkid, "TRDTC": date, "LDIAM": ldiam}
    if base:
        values |= {"TULOC": loc, "TUMETHOD": "CT SCAN"}
    return FormRecord(S, visit, form, 1, values, key=linkid)


def _ta(visit, response, date):
    return FormRecord(S, visit, "TA", 1, {"RSDTC": date, "OVRLRESP": response})


BASE = (_tl("SCREENING", "T01", 20.0, "2020-01-02", base=True), _tl("SCREENING", "T02", 30.0, "2020-01-02", base=True, loc="LUNG"))


def test_recorded_response_that_differs_from_recist_is_a_finding(patina):
    # sum 50 mm at baseline, 25 mm at week 12: -50% is a partial response, not stable disease
    book = Casebook(S, BASE + (_tl("WEEK 12", "T01", 10.0, "2020-03-30"), _tl("WEEK 12", "T02", 15.0, "2020-03-30"),
                               _ta("WEEK 12", "SD", "2020-03-30")))
    found = recist_findings(patina, book)
    assert [(f.check, f.record, f.field) for f in found] == [("RECIST_RESPONSE", "WEEK 12|TA|1", "OVRLRESP")]
    assert "recorded SD, but RECIST 1.1 gives PR" in found[0].message
    assert [f.check for f in run_edit_checks(patina, book)] == ["RECIST_RESPONSE"]


def test_agreeing_response_gives_no_finding(patina):
    # +20% and +5 mm from the nadir (the baseline, 50 mm): 60 mm is progression
    book = Casebook(S, BASE + (_tl("WEEK 12", "T01", 25.0, "2020-03-30"), _tl("WEEK 12", "T02", 35.0, "2020-03-30"),
                               _ta("WEEK 12", "PD", "2020-03-30")))
    assert recist_findings(patina, book) == []


def test_a_too_small_baseline_target_is_a_finding_on_its_record(patina):
    book = Casebook(S, (_tl("SCREENING", "T01", 8.0, "2020-01-02", base=True),))
    found = recist_findings(patina, book)
    assert [(f.check, f.record) for f in found] == [("RECIST_BASELINE", "SCREENING|TL_BASE|T01")]
    assert found[0].message.startswith("T01: ")


def test_casebook_without_lesions_has_no_recist_findings(patina):
    assert recist_findings(patina, Casebook(S, (_ta("WEEK 12", "SD", "2020-03-30"),))) == []


def test_the_checks_recompute_recist_when_a_lesion_or_response_changes_and_only_then(patina):
    # run_edit_checks keeps RECIST's findings under the lesion and response records: a change to one of
    # them must give RECIST's new answer, a change elsewhere (a dose) the same findings as computed afresh
    week12 = (_tl("WEEK 12", "T01", 10.0, "2020-03-30"), _tl("WEEK 12", "T02", 15.0, "2020-03-30"))
    ex = FormRecord(S, "CYCLE 1", "EX", 1, {"EXTRT": "PALBOCICLIB", "EXDOSE": 125.0, "EXDOSU": "mg",
                                            "EXSTDTC": "2020-01-06"})
    books = [
        Casebook(S, BASE + week12 + (_ta("WEEK 12", "SD", "2020-03-30"),)),
        Casebook(S, BASE + week12 + (_ta("WEEK 12", "PR", "2020-03-30"),)),             # response corrected
        Casebook(S, BASE + week12 + (_ta("WEEK 12", "PR", "2020-03-30"), ex)),          # a dose added
        Casebook(S, BASE + (week12[0], _tl("WEEK 12", "T02", 45.0, "2020-03-30"),       # a lesion re-measured
                            _ta("WEEK 12", "PR", "2020-03-30"), ex)),
        Casebook("PATINA-101-0002", tuple(FormRecord("PATINA-101-0002", r.visit, r.form, r.version, r.values,
                                                     seq=r.seq, key=r.key)
                                          for r in BASE + week12 + (_ta("WEEK 12", "SD", "2020-03-30"),))),
    ]
    recist = [[f for f in run_edit_checks(patina, b) if f.check.startswith("RECIST")] for b in books]
    assert recist == [recist_findings(patina, b) for b in books]
    assert [[f.record for f in found] for found in recist] == [
        ["WEEK 12|TA|1"], [], [], ["WEEK 12|TA|1"], ["WEEK 12|TA|1"]]
    assert recist[4][0].usubjid == "PATINA-101-0002"
