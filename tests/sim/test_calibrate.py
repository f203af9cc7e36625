"""Calibration helpers: Kaplan-Meier from oncotrial.stats, thresholds from the protocol schedule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.protocol import protocol_from_dict
from oncotrial.sim.calibration import _benefit_rows, _confirmable_after_days, _km_at, _km_median
from oncotrial.stats import km


def _with_schedule(protocol, **schedule):
    d = protocol.model_dump(mode="json")
    d["schedule"].update(schedule)
    return protocol_from_dict(d)


def test_km_at_keeps_a_tied_censoring_in_the_risk_set():
    # the censoring at day 2 is listed before the event at day 2: it is still at risk then
    t = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    e = np.array([True, False, True, True, False])
    assert _km_at(t, e, 2.0) == pytest.approx(0.8 * 3 / 4, abs=1e-15)
    assert _km_at(t, e, 2.0) == pytest.approx(float(km(t, e.astype(int)).survival_at(2.0)["surv"].iloc[0]))
    assert _km_at(t, e, 0.5) == 1.0
    # beyond the last time the last value is kept (the calibration compares it with a target)
    assert _km_at(t, e, 10.0) == _km_at(t, e, 4.0)


def test_km_median_is_r_quantile_survfit():
    # R: quantile(survfit(Surv(c(1,2,3,4,5,6), c(1,1,1,0,1,0)) ~ 1), 0.5) is 4 (midpoint of the flat 0.5)
    assert _km_median(np.array([1.0, 2, 3, 4, 5, 6]), np.array([1, 1, 1, 0, 1, 0], bool)) == 4.0
    # a tied censoring listed first must not shrink the risk set at the event
    t = np.array([10.0, 20.0, 20.0, 30.0])
    e = np.array([True, False, True, True])
    assert _km_median(t, e) == km(t, e.astype(int)).median
    assert np.isnan(_km_median(np.array([1.0, 2.0]), np.array([False, False])))


def test_confirmation_threshold_follows_the_schedule(patina):
    # PATINA: assessments every 12 weeks, confirmation >= 4 weeks later -> the second assessment, day 168
    assert _confirmable_after_days(patina) == 2 * 12 * 7
    assert _confirmable_after_days(_with_schedule(patina, interval_weeks=6)) == 2 * 6 * 7
    # confirmation 8 weeks later with 6-weekly assessments: the third assessment
    assert _confirmable_after_days(_with_schedule(patina, interval_weeks=6, confirmation_min_weeks=8)) == 3 * 6 * 7


def test_benefit_confirmation_gap_is_the_protocol_minimum(patina):
    # two PRs 6 weeks apart, before the clinical-benefit landmark: confirmed with a 4-week
    # minimum, not with an 8-week one
    rs = pd.DataFrame({"row": [0, 0], "DY": [43, 85], "RESP": ["PR", "PR"]})
    assert list(_benefit_rows(patina, rs, 1)) == [0]
    assert list(_benefit_rows(_with_schedule(patina, confirmation_min_weeks=8), rs, 1)) == []
    assert list(_benefit_rows(_with_schedule(patina, confirmation_min_weeks=6), rs, 1)) == [0]
