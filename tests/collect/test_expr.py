"""The expression evaluator's three-valued logic: a missing value leaves a check undecided, never failed."""

import pytest

from oncotrial.collect import evaluate
from oncotrial.protocol.expr import ExprError


@pytest.mark.parametrize("expr,values,expected", [
    ("A >= B", {"A": "2021-03-01"}, None),
    ("A >= B or C == 'Y'", {"C": "Y"}, True),
    ("A >= B and C == 'Y'", {"C": "N"}, False),
    ("A >= B and C == 'Y'", {"C": "Y"}, None),
    ("not (A >= B)", {}, None),
    ("A > 3", {"A": 5}, True),
    ("A + 2 == 7", {"A": 5}, True),
    ("-A < 0", {"A": 5}, True),
])
def test_three_valued_logic(expr, values, expected):
    assert evaluate(expr, values) is expected


def test_dates_compare_as_dates_and_date_times_by_their_day():
    assert evaluate("A < B", {"A": "2021-03-09", "B": "2021-03-10"}) is True
    assert evaluate("A == B", {"A": "2021-03-10T08:30", "B": "2021-03-10"}) is True


def test_partial_date_against_a_full_one_is_undecided():
    assert evaluate("A >= B", {"A": "2021-03", "B": "2021-03-10"}) is None


def test_days_between_two_dates():
    assert evaluate("days(A, B)", {"A": "2020-12-30", "B": "2021-03-01"}) == 61
    assert evaluate("days(A, B)", {"A": "2020-12-30"}) is None


def test_fields_of_other_forms_are_lists_to_reduce():
    book = {"VISIT": [{"SVSTDTC": "2021-04-29"}, {"SVSTDTC": "2021-04-01"}, {"SVSTDTC": ""}]}
    assert evaluate("count(VISIT.SVSTDTC)", {}, casebook=book) == 2
    assert evaluate("min(VISIT.SVSTDTC)", {}, casebook=book) == "2021-04-01"
    assert evaluate("first(VISIT.SVSTDTC)", {}, casebook=book) == "2021-04-29"
    assert evaluate("first(IC.ICDT)", {}, casebook=book) is None
    with pytest.raises(ExprError, match="must be reduced"):
        evaluate("X >= VISIT.SVSTDTC", {"X": "2021-05-01"}, casebook=book)


def test_membership_in_another_forms_values():
    book = {"TL_BASE": [{"LINKID": "T01"}, {"LINKID": "T02"}]}
    assert evaluate("LINKID in TL_BASE.LINKID", {"LINKID": "T02"}, casebook=book) is True
    assert evaluate("LINKID in TL_BASE.LINKID", {"LINKID": "T03"}, casebook=book) is False
    assert evaluate("LINKID not in TL_BASE.LINKID", {"LINKID": "T03"}, casebook=book) is True


def test_dose_levels_come_from_the_protocols_regimen(patina):
    assert evaluate("dose_levels(D)", {"D": "PALBOCICLIB"}, protocol=patina) == [125.0, 100.0, 75.0]
    assert evaluate("empty(dose_levels(D))", {"D": "TRASTUZUMAB"}, protocol=patina) is True
