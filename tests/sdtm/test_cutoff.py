"""Data cut-off on SDTM: hand-made cases, one per rule of :func:`oncotrial.sdtm.cutoff.cut_at`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from oncotrial.sdtm.cutoff import cut_at

CUT = "2021-05-31"


def _ds(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": [u for u, _ in rows], "DSSEQ": list(range(1, len(rows) + 1)),
                         "DSDECOD": ["RANDOMIZED"] * len(rows), "DSSTDTC": [d for _, d in rows]})


def test_subject_randomized_after_the_cutoff_is_dropped_from_every_domain():
    ds = _ds(("A", "2021-05-31"), ("B", "2021-06-01"))
    dm = pd.DataFrame({"USUBJID": ["A", "B"], "ARMCD": ["X", "Y"]})
    ae = pd.DataFrame({"USUBJID": ["A", "B"], "AESEQ": [1, 1], "AESTDTC": ["2021-05-01", "2021-05-01"]})
    cut = cut_at({"DM": dm, "DS": ds, "AE": ae}, CUT)
    assert cut["DM"]["USUBJID"].tolist() == ["A"]
    assert cut["DS"]["USUBJID"].tolist() == ["A"]
    assert cut["AE"]["USUBJID"].tolist() == ["A"]


def test_row_dated_after_the_cutoff_is_dropped_and_one_on_it_kept():
    tr = pd.DataFrame({"USUBJID": ["A"] * 3, "TRSEQ": [1, 2, 3],
                       "TRDTC": ["2021-05-31T23:59", "2021-06-01", "2021-04-02"]})
    cut = cut_at({"DS": _ds(("A", "2021-01-04")), "TR": tr}, CUT)
    assert cut["TR"]["TRSEQ"].tolist() == [1, 3]


def test_start_date_is_the_row_date_when_the_domain_has_no_dtc():
    cm = pd.DataFrame({"USUBJID": ["A", "A"], "CMSEQ": [1, 2], "CMSTDTC": ["2021-07-01", "2021-05-01"],
                       "CMENDTC": ["", "2021-08-01"]})
    cut = cut_at({"DS": _ds(("A", "2021-01-04")), "CM": cm}, dt.date(2021, 5, 31))
    assert cut["CM"].to_dict("records") == [{"USUBJID": "A", "CMSEQ": 2, "CMSTDTC": "2021-05-01", "CMENDTC": ""}]


def test_partial_dates_compare_by_their_earliest_day():
    ae = pd.DataFrame({"USUBJID": ["A"] * 4, "AESEQ": [1, 2, 3, 4],
                       "AESTDTC": ["2021-05", "2021-06", "2021", "2022"]})
    cut = cut_at({"DS": _ds(("A", "2021-01-04")), "AE": ae}, CUT)
    assert cut["AE"]["AESEQ"].tolist() == [1, 3]


def test_death_after_the_cutoff_is_not_known_at_it():
    dm = pd.DataFrame({"USUBJID": ["A", "B"], "DTHDTC": ["2021-06-15", "2021-05-15"], "DTHFL": ["Y", "Y"],
                       "RFENDTC": ["2021-06-01", "2021-05-01"]})
    cut = cut_at({"DS": _ds(("A", "2021-01-04"), ("B", "2021-01-05")), "DM": dm}, CUT)
    assert cut["DM"].to_dict("records") == [
        {"USUBJID": "A", "DTHDTC": "", "DTHFL": "", "RFENDTC": ""},
        {"USUBJID": "B", "DTHDTC": "2021-05-15", "DTHFL": "Y", "RFENDTC": "2021-05-01"}]


def test_supplemental_qualifiers_follow_their_parent_row():
    ae = pd.DataFrame({"USUBJID": ["A", "A"], "AESEQ": [1, 2], "AESTDTC": ["2021-05-01", "2021-06-01"]})
    suppae = pd.DataFrame({"USUBJID": ["A", "A"], "RDOMAIN": ["AE", "AE"], "IDVAR": ["AESEQ", "AESEQ"],
                           "IDVARVAL": ["1", "2"], "QNAM": ["AETRTEM", "AETRTEM"], "QVAL": ["Y", "Y"]})
    cut = cut_at({"DS": _ds(("A", "2021-01-04")), "AE": ae, "SUPPAE": suppae}, CUT)
    assert cut["SUPPAE"]["IDVARVAL"].tolist() == ["1"]


def test_nothing_given_is_changed():
    ae = pd.DataFrame({"USUBJID": ["A"], "AESEQ": [1], "AESTDTC": ["2021-06-01"]})
    domains = {"DS": _ds(("A", "2021-01-04")), "AE": ae}
    cut_at(domains, CUT)
    assert domains["AE"]["AESTDTC"].tolist() == ["2021-06-01"]


def test_a_cutoff_that_is_not_a_date_is_refused_by_name():
    with pytest.raises(ValueError, match="cutoff: expected a date YYYY-MM-DD, got '31/05/2021'"):
        cut_at({}, "31/05/2021")
