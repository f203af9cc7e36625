"""run_analysis on a three-arm trial (R survival's colon data) and its two-arm contract.

References: tests/reference/analysis/karm_colon.json (validation/karm_survival.R) for the hazard
ratios, karm_colon_run.json (validation/karm_response.R) for the rates, their differences and the
subgroup hazard ratios.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from oncotrial.analysis import analyze_binary, analyze_subgroups, run_analysis
from oncotrial.analysis._frames import arm_order
from oncotrial.protocol import load_protocol
from tests.analysis.test_karm_survival import REF, ROWS, colon_adam, colon_protocol, same

RUN = json.loads((Path(__file__).parents[1] / "reference" / "analysis" / "karm_colon_run.json").read_text())
ARMS = ("OBS", "LEV", "LEV5FU")


def colon_trial() -> dict[str, pd.DataFrame]:
    """ADSL, ADTTE (RFS as PFS, and OS), ADRS and ADAE of the colon trial, by the rules of karm_response.R."""
    adsl, os_ = colon_adam("OS")
    _, rfs = colon_adam("RFS")
    adsl = adsl.assign(SAFFL="Y")
    ids = adsl["USUBJID"]
    orr = (ROWS["rfs_status"] == 0) | (ROWS["rfs_time"] > 730.5)
    cbr = ROWS["rfs_time"] > 365.25
    adrs = pd.concat([pd.DataFrame({"USUBJID": ids, "PARAMCD": "CBOR", "AVALC": orr.map({True: "PR", False: "PD"})}),
                      pd.DataFrame({"USUBJID": ids, "PARAMCD": "CCB", "AVALC": cbr.map({True: "Y", False: "N"})})])
    rec = ROWS["rfs_status"] == 1
    adae = pd.DataFrame({"USUBJID": ids[rec], "AEDECOD": "Recurrence", "TRTEMFL": "Y",
                         "AETOXGR": (ROWS["rfs_time"][rec] <= 365.25).map({True: 3, False: 2})})
    return {"adsl": adsl, "adtte": pd.concat([rfs.assign(PARAMCD="PFS"), os_], ignore_index=True),
            "adrs": adrs, "adae": adae}


@pytest.fixture(scope="module")
def colon():
    return run_analysis(colon_trial(), colon_protocol(subgroups=["node4"]))


def test_arms_and_comparisons(colon):
    assert colon.arm_order == ARMS and colon.comparisons == (("LEV", "OBS"), ("LEV5FU", "OBS"))
    assert (colon.experimental, colon.control) == ("", "OBS")
    assert colon.n_randomized == {a: REF["OS"]["km"]["log"][a]["n"] for a in ARMS}
    assert colon.n_randomized == ROWS["rx"].value_counts().to_dict()
    assert [tuple(s.count) for s in colon.flow] == [ARMS] * len(colon.flow)
    assert colon.flow[0].count == colon.n_randomized
    assert tuple(colon.baseline.n) == ARMS + ("Total",) and colon.baseline.n["Total"] == len(ROWS)
    doc = json.loads(json.dumps(colon.to_dict(), allow_nan=False))
    assert doc["arm_order"] == list(ARMS) and doc["comparisons"] == [["LEV", "OBS"], ["LEV5FU", "OBS"]]


@pytest.mark.parametrize("endpoint,paramcd", [("os", "OS"), ("pfs", "RFS")])
def test_time_to_event_comparisons_match_r(colon, endpoint, paramcd):
    res = getattr(colon, endpoint)
    assert [a.arm for a in res.arms] == list(ARMS)
    for e in ("LEV", "LEV5FU"):
        c, want = res.comparison(e), REF[paramcd]["comparisons"][e]
        assert (c.n, c.events) == (want["n"], want["events"]) and c.hr_stratified
        for key in ("hr", "hr_lower", "hr_upper"):
            assert same(getattr(c, key), want["strata"][key]), (e, key)


@pytest.mark.parametrize("endpoint", ["ORR", "CBR"])
def test_rates_and_differences_match_r(colon, endpoint):
    res, want = getattr(colon, endpoint.lower()), RUN[endpoint]
    assert [a.arm for a in res.arms] == list(ARMS)
    for a in res.arms:
        w = want["arms"][a.arm]
        assert (a.n, a.responders) == (w["n"], w["responders"])
        assert same(a.rate, w["rate"]) and same(a.lower, w["lower"], 1e-9) and same(a.upper, w["upper"], 1e-9)
    assert [(c.experimental, c.control) for c in res.comparisons] == [("LEV", "OBS"), ("LEV5FU", "OBS")]
    for e in ("LEV", "LEV5FU"):
        c, w = res.comparison(e), want["comparisons"][e]
        assert c.difference_method == "miettinen-nurminen"
        assert same(c.difference, w["difference"]) and same(c.difference_lower, w["lower"], 1e-7) \
            and same(c.difference_upper, w["upper"], 1e-7), (e, c, w)
    # no single difference at the top level with three arms
    assert res.experimental == "" and res.control == "OBS"
    assert all(math.isnan(v) for v in (res.difference, res.difference_lower, res.difference_upper))
    with pytest.raises(KeyError, match="'OBS'.*known: LEV vs OBS, LEV5FU vs OBS"):
        res.comparison("OBS")


def test_safety_counts_every_arm(colon):
    s = colon.safety
    assert s.n == colon.n_randomized
    rec = ROWS[ROWS["rfs_status"] == 1]
    early = rec[rec["rfs_time"] <= 365.25]
    assert s.row("any", "", "any").count == {a: int((rec["rx"] == a).sum()) for a in ARMS}
    assert s.row("any", "", ">=3").count == {a: int((early["rx"] == a).sum()) for a in ARMS}


def test_subgroups_per_comparison_match_r(colon):
    assert colon.subgroups is None
    assert list(colon.subgroups_by_comparison) == ["LEV", "LEV5FU"]
    for e, sg in colon.subgroups_by_comparison.items():
        assert (sg.experimental, sg.control, sg.paramcd) == (e, "OBS", "PFS")
        ref = REF["RFS"]["comparisons"][e]
        assert sum(sg.overall.n.values()) == ref["n"] and set(sg.overall.n) == {e, "OBS"}
        assert same(sg.overall.hr, ref["plain"]["hr"])  # unstratified, on the two arms only
        by_level = {r.level: r for r in sg.rows}
        assert set(by_level) == {"LE3", "GT3"}
        for level, node4 in (("LE3", "0"), ("GT3", "1")):
            r, w = by_level[level], RUN["subgroups_rfs_node4"][e][node4]
            assert sum(r.n.values()) == w["n"]
            for key in ("hr", "hr_lower", "hr_upper"):
                assert same(getattr(r, key), w[key]), (e, level, key)


def test_subgroups_need_the_experimental_arm_with_three_arms():
    adam = colon_trial()
    p = colon_protocol(subgroups=["node4"])
    with pytest.raises(ValueError, match=r"experimental: .*3 arms.*LEV vs OBS, LEV5FU vs OBS"):
        analyze_subgroups(adam["adsl"], adam["adtte"], p)
    with pytest.raises(ValueError, match=r"'OBS' is not the experimental arm.*\['LEV', 'LEV5FU'\]"):
        analyze_subgroups(adam["adsl"], adam["adtte"], p, experimental="OBS")


def test_two_arms_one_comparison_equal_to_the_top_level_fields():
    p = load_protocol("patina")
    assert arm_order(p) == ("A", "B")
    adam = colon_trial()
    keep = adam["adsl"]["ARMCD"].isin(["OBS", "LEV5FU"])
    adsl = adam["adsl"][keep].assign(ARMCD=lambda d: d["ARMCD"].map({"LEV5FU": "A", "OBS": "B"}),
                                     ARM=lambda d: d["ARMCD"])
    res = analyze_binary(adsl, adam["adrs"], p, "CBOR", responder_values=["CR", "PR"])
    (c,) = res.comparisons
    assert (res.experimental, res.control) == (c.experimental, c.control) == ("A", "B") and c is res.comparison("A")
    for key in ("difference", "difference_lower", "difference_upper", "difference_method"):
        assert getattr(c, key) == getattr(res, key), key
    want = RUN["ORR"]["comparisons"]["LEV5FU"]
    assert same(res.difference, want["difference"]) and same(res.difference_lower, want["lower"], 1e-7)
    sg = analyze_subgroups(adsl, adam["adtte"][adam["adtte"]["USUBJID"].isin(adsl["USUBJID"])], p, "PFS",
                           subgroups=[])
    assert sg == analyze_subgroups(adsl, adam["adtte"], p, "PFS", subgroups=[], experimental="A")
