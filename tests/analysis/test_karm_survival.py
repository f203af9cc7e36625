"""k-arm time-to-event analysis against R survival on its colon data (validation/karm_survival.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from oncotrial.analysis import analyze_time_to_event
from oncotrial.protocol import load_protocol, protocol_from_dict
from tests.protocol.test_protocol import three_arm_dict

REF = json.loads((Path(__file__).parents[1] / "reference" / "analysis" / "karm_colon.json").read_text())
ROWS = pd.DataFrame(REF["rows"])
NODE4 = {0: "LE3", 1: "GT3"}


def colon_protocol(**analysis):
    """PATINA's plan on three arms OBS (control), LEV, LEV5FU, stratified by node4, times in days."""
    d = three_arm_dict(control="B")
    for arm, (code, name) in zip(d["arms"], (("LEV", "Levamisole"), ("OBS", "Observation"),
                                            ("LEV5FU", "Levamisole + 5-FU"))):
        arm.update(code=code, name=name, short_name=name)
    d["arms"] = [d["arms"][1], d["arms"][0], d["arms"][2]]  # protocol order OBS, LEV, LEV5FU
    d["stratification_factors"] = [{"name": "node4", "label": "More than 4 positive nodes",
                                    "levels": [{"code": "LE3", "prevalence": 0.73}, {"code": "GT3", "prevalence": 0.27}]}]
    d["randomization"]["stratify_by"] = ["node4"]
    d["analysis"].update(stratify_by=["node4"], time_unit="days", landmark_months=[12, 24], subgroups=[])
    d["analysis"].update(analysis)
    for key in ("published", "published_earlier", "edc"):
        d.pop(key, None)
    return protocol_from_dict(d)


def colon_adam(endpoint: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"COLON-{i}" for i in ROWS["id"]]
    adsl = pd.DataFrame({"USUBJID": ids, "ARMCD": ROWS["rx"], "ARM": ROWS["rx"], "NODE4": ROWS["node4"].map(NODE4)})
    t = endpoint.lower()
    adtte = pd.DataFrame({"USUBJID": ids, "PARAMCD": endpoint, "AVAL": ROWS[f"{t}_time"].astype(float),
                          "CNSR": 1 - ROWS[f"{t}_status"]})
    return adsl, adtte


def same(got: float, want: float | None, tol: float = 1e-10) -> bool:
    return (math.isnan(got) and want is None) or (want is not None and abs(got - want) <= tol * max(1.0, abs(want)))


@pytest.mark.parametrize("endpoint", ["OS", "RFS"])
@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_km_per_arm_matches_r(endpoint, conf_type):
    adsl, adtte = colon_adam(endpoint)
    res = analyze_time_to_event(adsl, adtte, colon_protocol(km_conf_type=conf_type), endpoint)
    assert [a.arm for a in res.arms] == ["OBS", "LEV", "LEV5FU"]
    for a in res.arms:
        want = REF[endpoint]["km"][conf_type][a.arm]
        assert (a.n, a.events) == (want["n"], want["events"])
        for got, key in ((a.median, "median"), (a.median_lower, "lower"), (a.median_upper, "upper")):
            assert same(got, want[key], tol=0), (a.arm, key, got, want[key])  # data times: exact
        assert [lm.time for lm in a.landmarks] == want["landmark_time"]
        for lm, s, lo, hi in zip(a.landmarks, want["landmark_surv"], want["landmark_lower"], want["landmark_upper"]):
            assert same(lm.surv, s) and same(lm.lower, lo) and same(lm.upper, hi)


@pytest.mark.parametrize("endpoint", ["OS", "RFS"])
@pytest.mark.parametrize("stratified", [False, True])
def test_pairwise_comparisons_match_r(endpoint, stratified):
    adsl, adtte = colon_adam(endpoint)
    res = analyze_time_to_event(adsl, adtte, colon_protocol(), endpoint, stratified=stratified)
    assert [(c.experimental, c.control) for c in res.comparisons] == [("LEV", "OBS"), ("LEV5FU", "OBS")]
    for c in res.comparisons:
        ref = REF[endpoint]["comparisons"][c.experimental]
        want = ref["strata" if stratified else "plain"]
        assert (c.n, c.events) == (ref["n"], ref["events"])
        assert c.hr_stratified is c.logrank_stratified is stratified
        for got, key in ((c.hr, "hr"), (c.hr_lower, "hr_lower"), (c.hr_upper, "hr_upper"),
                         (c.logrank_chisq, "chisq"), (c.logrank_p, "p"), (c.logrank_z, "z")):
            assert same(got, want[key]), (c.experimental, key, got, want[key])
    # no single comparison at the top level with three arms: NaN, not one picked among them
    assert res.experimental == "" and res.control == "OBS"
    assert all(math.isnan(v) for v in (res.hr, res.hr_lower, res.hr_upper, res.logrank_chisq, res.logrank_p,
                                        res.logrank_z))
    assert res.comparison("LEV5FU") is res.comparisons[1]
    with pytest.raises(KeyError, match="'OBS'.*known: LEV vs OBS, LEV5FU vs OBS"):
        res.comparison("OBS")
    doc = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert [c["experimental"] for c in doc["comparisons"]] == ["LEV", "LEV5FU"] and doc["hr"] is None
    assert doc["comparisons"][1]["hr"] == res.comparisons[1].hr


def test_two_arms_one_comparison_equal_to_the_top_level_fields():
    p = load_protocol("patina")
    adsl, adtte = colon_adam("OS")
    keep = adsl["ARMCD"].isin(["OBS", "LEV5FU"])
    adsl = adsl[keep].assign(ARMCD=lambda d: d["ARMCD"].map({"LEV5FU": "A", "OBS": "B"}), ARM=lambda d: d["ARMCD"])
    adtte = adtte[keep.to_numpy()]
    res = analyze_time_to_event(adsl, adtte, p, "OS", stratified=False)
    assert [a.arm for a in res.arms] == ["A", "B"] and (res.experimental, res.control) == ("A", "B")
    (c,) = res.comparisons
    assert (c.experimental, c.control) == ("A", "B") and c is res.comparison("A")
    for key in ("hr", "hr_lower", "hr_upper", "hr_stratified", "logrank_chisq", "logrank_p", "logrank_z",
                "logrank_stratified", "n", "events"):
        assert getattr(c, key) == getattr(res, key), key
    want = REF["OS"]["comparisons"]["LEV5FU"]["plain"]
    assert same(res.hr, want["hr"]) and same(res.logrank_p, want["p"])
