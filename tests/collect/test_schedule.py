"""The visit schedule, hand-computed for one PATINA subject: 28-day cycles, tumour assessments every 12
weeks +/- 7 days from randomization, survival follow-up every 12 weeks after end of treatment."""

import datetime as dt

import pytest

from oncotrial.collect import visit_number, visit_schedule
from oncotrial.collect.schedule import is_log_visit, schedule_frame


def test_schedule_of_one_subject(patina):
    vs = visit_schedule(patina, "2020-01-06", until="2020-12-31", end_of_treatment="2020-06-01")
    got = [(v.name, v.visitnum, v.planned.isoformat()) for v in vs]
    assert got == [
        ("SCREENING", 0.0, "2020-01-06"),
        ("CYCLE 1", 1.0, "2020-01-06"), ("CYCLE 2", 2.0, "2020-02-03"), ("CYCLE 3", 3.0, "2020-03-02"),
        ("CYCLE 4", 4.0, "2020-03-30"), ("WEEK 12", 101.0, "2020-03-30"), ("CYCLE 5", 5.0, "2020-04-27"),
        ("CYCLE 6", 6.0, "2020-05-25"), ("END OF TREATMENT", 800.0, "2020-06-01"),
        ("WEEK 24", 102.0, "2020-06-22"), ("SURVIVAL FOLLOW-UP 1", 901.0, "2020-08-24"),
        ("WEEK 36", 103.0, "2020-09-14"), ("SURVIVAL FOLLOW-UP 2", 902.0, "2020-11-16"),
        ("WEEK 48", 104.0, "2020-12-07"),
    ]
    week12 = next(v for v in vs if v.name == "WEEK 12")
    assert (week12.earliest, week12.latest) == (dt.date(2020, 3, 23), dt.date(2020, 4, 6))
    screening = vs[0]
    assert screening.earliest == dt.date(2019, 12, 9) and "IC" in screening.forms


def test_no_end_of_treatment_means_cycles_go_on_and_no_follow_up(patina):
    vs = visit_schedule(patina, "2020-01-06", until="2020-12-31")
    kinds = {v.kind for v in vs}
    assert "end_of_treatment" not in kinds and "follow_up" not in kinds
    assert [v.name for v in vs if v.kind == "cycle"][-1] == "CYCLE 13"  # 2020-01-06 + 12*28 days = 2020-12-07; cycle 14 would be 2021-01-04


def test_every_planned_name_maps_back_to_its_number(patina):
    vs = visit_schedule(patina, "2020-01-06", until="2022-12-31", end_of_treatment="2021-06-01")
    for v in vs:
        assert visit_number(patina, v.name) == v.visitnum, v.name


@pytest.mark.parametrize("name", ["UNSCHEDULED", "LOG", "WEEK 13", "CYCLE X", "SURVIVAL FOLLOW-UP"])
def test_names_the_schedule_does_not_plan_have_no_number(patina, name):
    assert visit_number(patina, name) is None


def test_log_visit(patina):
    assert is_log_visit(patina, "LOG") and not is_log_visit(patina, "CYCLE 1")


@pytest.mark.parametrize("kwargs,message", [
    ({"randomization_date": "2020-02-30", "until": "2020-12-31"}, "randomization_date: expected a date"),
    ({"randomization_date": "2020-01-06", "until": "2019-12-31"}, "before the randomization date"),
    ({"randomization_date": "2020-01-06", "until": "2020-12-31", "end_of_treatment": "2019-01-01"},
     "end_of_treatment"),
])
def test_bad_dates_are_named(patina, kwargs, message):
    with pytest.raises(ValueError, match=message):
        visit_schedule(patina, **kwargs)


def test_schedule_frame_has_one_row_per_visit(patina):
    vs = visit_schedule(patina, "2020-01-06", until="2020-03-01")
    frame = schedule_frame(vs)
    assert list(frame["name"]) == [v.name for v in vs]
    assert list(frame.columns[:3]) == ["visit_id", "kind", "name"]
