"""Individual patient data from digitized KM curves (``oncotrial.sim.ipd_from_km``, Guyot et al. 2012).

The reference cases are R's own Kaplan-Meier curves of survival::lung (by sex), survival::veteran
(by trt) and survival::colon (death, Obs vs Lev+5FU), each "digitized" by two simulated readers with
normal reading errors (sd 0.5% of the time axis, 0.005 in survival), with the true statistics from
R (validation/ipd_from_km.R -> tests/reference/sim/ipd_from_km.json).

Tolerances. Guyot, Ades, Ouwens & Welton (BMC Med Res Methodol 2012;12:9) compared statistics of
reconstructed data with the published ones over repeated reconstructions by several observers and
found "no material systematic error", "excellent" accuracy for survival probabilities and medians,
and "reasonable" accuracy for hazard ratios only when the numbers at risk or the total events are
reported (the abstract; the stored copies searched for this test give no more than the abstract, so
the bounds below are the accuracy the brief of issue 15 quotes from the paper: survival within
about 0.01-0.02, medians within a few percent, HRs within about 0.02-0.05). Here the numbers at
risk are always given. Per statistic:

Achieved (with or without the total events): landmark survival mean absolute error 0.0095 (largest
0.061), median relative error typically 2.4% (largest 27%, veteran's test arm, 1.4% of the axis),
HR mean absolute error 0.007-0.009 (largest 0.023).

- landmark survival: mean absolute error over all cases <= 0.015, each <= 0.07. The single bound
  is wider because a landmark that falls within a reader's time error (5 days on lung's axis) of
  a steep stretch moves by a step or two whatever the algorithm does (lung, female, day 730:
  events at 705, 728, 731 and 735).
- median: within 5% of the true median, or within 1.5% of the time axis where the curve is flat
  around 0.5 (veteran, test arm: S is 0.500 at day 52 and 0.471 at day 61, so a survival error of
  0.03 moves the median by 9 days); over all cases the typical (median) relative error <= 5% and
  the mean error <= 1% of the time axis.
- Cox HR: within 0.05 of R's coxph, mean absolute error <= 0.02.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.sim import ipd_from_km
from oncotrial.stats import cox_hr, km, logrank

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "ipd_from_km"
REF = json.loads((HERE.parent / "reference" / "sim" / "ipd_from_km.json").read_text())
CASES = sorted(REF["cases"])


def _case(name: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    return (pd.read_csv(DATA / f"{name}_curve.csv"), pd.read_csv(DATA / f"{name}_risk.csv"), REF["cases"][name])


def _errors(name: str, with_events: bool) -> dict:
    curve, risk, ref = _case(name)
    res = ipd_from_km(curve, risk, total_events=ref["total_events"] if with_events else None)
    out = {"landmark": [], "median_rel": [], "median_axis": [], "res": res}
    for arm in ref["arms"]:
        t, e = res.arm(arm)
        fit = km(t, e)
        true = ref["per_arm"][arm]
        got = fit.survival_at([float(x) for x in ref["landmark_times"]])["surv"].to_numpy()
        out["landmark"] += list(np.abs(got - np.array(list(true["landmarks"].values()))))
        if true["median"] is None:
            # not reached in R: the reconstruction may just reach it at the very end of the curve
            assert math.isnan(fit.median) or fit.survival_at([float(t.max())])["surv"].iloc[0] > 0.45
        else:
            out["median_rel"].append(abs(fit.median - true["median"]) / true["median"])
            out["median_axis"].append(abs(fit.median - true["median"]) / ref["time_range"])
    df = res.to_frame()
    x = (df["arm"] == ref["arms"][1]).to_numpy(float)
    out["hr"] = abs(cox_hr(df["time"].to_numpy(), df["event"].to_numpy(), x)[0] - ref["hr"])
    out["logrank"] = logrank(df["time"], df["event"], df["arm"])
    return out


@pytest.fixture(scope="module")
def accuracy():
    return {(c, ev): _errors(c, ev) for c in CASES for ev in (False, True)}


# ------------------------------------------------------------------------------ R reference cases

@pytest.mark.parametrize("with_events", [False, True])
@pytest.mark.parametrize("name", CASES)
def test_each_case_recovers_landmarks_medians_and_the_hr(accuracy, name, with_events):
    err = accuracy[(name, with_events)]
    assert max(err["landmark"]) <= 0.07, err["landmark"]
    for rel, axis in zip(err["median_rel"], err["median_axis"]):
        assert rel <= 0.05 or axis <= 0.015, (rel, axis)
    assert err["hr"] <= 0.05


@pytest.mark.parametrize("with_events", [False, True])
def test_mean_errors_are_those_guyot_reports(accuracy, with_events):
    errs = [accuracy[(c, with_events)] for c in CASES]
    assert np.mean(sum((e["landmark"] for e in errs), [])) <= 0.015
    assert np.median(sum((e["median_rel"] for e in errs), [])) <= 0.05
    assert np.mean(sum((e["median_axis"] for e in errs), [])) <= 0.01
    assert np.mean([e["hr"] for e in errs]) <= 0.02


@pytest.mark.parametrize("name", CASES)
def test_patients_and_numbers_at_risk_are_those_of_the_table(accuracy, name):
    _, _, ref = _case(name)
    res = accuracy[(name, True)]["res"]
    for d in res.diagnostics:
        assert d.n == ref["per_arm"][d.arm]["n"]
        # where the search cannot match a number at risk it misses by a patient or two, never more
        assert max(abs(a - b) for a, b in zip(d.n_risk_table, d.n_risk_reconstructed)) <= 2
        assert abs(d.events - ref["total_events"][d.arm]) <= 5


@pytest.mark.parametrize("name", CASES)
def test_the_log_rank_agrees(accuracy, name):
    _, _, ref = _case(name)
    chisq = accuracy[(name, True)]["logrank"].chisq
    assert abs(chisq - ref["logrank_chisq"]) <= max(1.0, 0.1 * ref["logrank_chisq"])


# -------------------------------------------------------------------------- exact small cases

def _vertices(time, event) -> pd.DataFrame:
    """Both corners of every step of the KM of (time, event), and the curve's end: a perfect reading."""
    tab = km(time, event).table
    tab = tab[tab["n_event"] > 0]
    before = np.concatenate([[1.0], tab["surv"].to_numpy()[:-1]])
    t = np.repeat(tab["time"].to_numpy(), 2)
    s = np.column_stack([before, tab["surv"].to_numpy()]).ravel()
    return pd.DataFrame({"arm": "A", "time": np.append(t, max(time)), "survival": np.append(s, s[-1])})


def _risk(time, at) -> pd.DataFrame:
    return pd.DataFrame({"arm": "A", "time": at, "n_risk": [int(np.sum(np.asarray(time) >= x)) for x in at]})


# each risk interval's censoring where spreading it evenly puts it (4.5 in [3, 6), 7.5 in [6, 9)), and
# the last interval's after its last event: then the data are the only ones the algorithm can return
TINY_T = np.array([1, 2, 2, 4, 4.5, 6, 7, 7.5, 9, 10, 11, 12], dtype=float)
TINY_E = np.array([1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0])


def test_a_noiseless_curve_of_a_tiny_dataset_gives_its_events_back_exactly():
    ipd = ipd_from_km(_vertices(TINY_T, TINY_E), _risk(TINY_T, [0, 3, 6, 9]), total_events={"A": 7})
    t, e = ipd.arm("A")
    assert t.size == 12 and e.sum() == 7
    assert sorted(t[e == 1].tolist()) == sorted(TINY_T[TINY_E == 1].tolist())
    assert sorted(t[e == 0].tolist())[:2] == [4.5, 7.5]
    for lo, hi in ((0, 3), (3, 6), (6, 9), (9, 12.01)):
        inside = (t >= lo) & (t < hi) & (e == 0)
        assert inside.sum() == np.sum((TINY_T >= lo) & (TINY_T < hi) & (TINY_E == 0))
    truth, rec = km(TINY_T, TINY_E), km(t, e)
    at = TINY_T[TINY_E == 1]
    np.testing.assert_allclose(rec.survival_at(at)["surv"], truth.survival_at(at)["surv"], rtol=1e-12)
    d = ipd.diagnostics[0]
    assert d.converged and d.n_risk_reconstructed == d.n_risk_table == (12, 9, 7, 4)


def test_without_total_events_the_last_interval_carries_the_censoring_rate_on():
    ipd = ipd_from_km(_vertices(TINY_T, TINY_E), _risk(TINY_T, [0, 3, 6, 9]))
    t, e = ipd.arm("A")
    assert t.size == 12 and sorted(t[e == 1].tolist())[:6] == [1, 2, 2, 4, 6, 7]


def test_only_the_number_at_time_zero_and_the_total_events():
    # one interval: the number censored is solved from the total events alone
    ipd = ipd_from_km(_vertices(TINY_T, TINY_E), _risk(TINY_T, [0]), total_events={"A": 7})
    assert ipd.diagnostics[0].events == 7 and ipd.diagnostics[0].converged


def test_the_frame_and_the_summary():
    ipd = ipd_from_km(_vertices(TINY_T, TINY_E), _risk(TINY_T, [0, 3, 6, 9]), total_events={"A": 7})
    df = ipd.to_frame()
    assert list(df.columns) == ["arm", "time", "event"] and set(df["event"]) == {0, 1}
    (row,) = ipd.summary()
    assert row == {"arm": "A", "n": 12, "events": 7, "censored": 5, "median": km(TINY_T, TINY_E).median}
    with pytest.raises(ValueError, match="arm: 'B' is not one of"):
        ipd.arm("B")


# ---------------------------------------------------------------------------------- robustness

def test_points_out_of_order_and_above_one_another_give_the_clean_result():
    curve = _vertices(TINY_T, TINY_E)
    clean = ipd_from_km(curve, _risk(TINY_T, [0, 3, 6, 9]), total_events={"A": 7}).to_frame()
    noisy = curve.sample(frac=1, random_state=3).reset_index(drop=True)
    # a reader's extra points: above the curve just after a drop, and a little over 1 at the start
    extra = pd.DataFrame({"arm": "A", "time": [0.5, 2.5, 4.4, 4.6], "survival": [1.004, 0.76, 0.68, 0.66]})
    noisy = pd.concat([noisy, extra], ignore_index=True)
    got = ipd_from_km(noisy, _risk(TINY_T, [0, 3, 6, 9]), total_events={"A": 7})
    assert got.diagnostics[0].points_adjusted >= 2
    df = got.to_frame()
    assert df.shape[0] == 12 and df["event"].sum() == 7
    # the pooled extra points can move an event by less than a reading error, never more
    np.testing.assert_allclose(np.sort(df.loc[df.event == 1, "time"]), np.sort(clean.loc[clean.event == 1, "time"]),
                               atol=0.6)


def test_a_curve_that_stops_before_the_last_risk_time():
    curve, risk, ref = _case("lung_reader1")
    male = curve[curve.arm == "Male"]
    cut = male[male.time < 650]
    res = ipd_from_km(pd.concat([cut, curve[curve.arm == "Female"]]), risk)
    d = res.diagnostics[0]
    assert d.n == ref["per_arm"]["Male"]["n"]
    assert d.risk_times_dropped == (700.0, 800.0, 900.0, 1000.0)
    assert any("after the curve's last point" in n for n in d.notes)
    t, e = res.arm("Male")
    assert t.max() <= cut.time.max()
    got = km(t, e).survival_at([180.0, 365.0])["surv"].to_numpy()
    want = [ref["per_arm"]["Male"]["landmarks"][k] for k in ("180", "365")]
    assert np.abs(got - want).max() <= 0.03


def test_points_after_nobody_is_left_are_dropped():
    curve = _vertices(TINY_T, TINY_E)
    late = pd.DataFrame({"arm": "A", "time": [14.0, 15.0], "survival": [0.2, 0.0]})
    risk = pd.concat([_risk(TINY_T, [0, 3, 6, 9]), pd.DataFrame({"arm": ["A"], "time": [13.0], "n_risk": [0]})])
    res = ipd_from_km(pd.concat([curve, late]), risk, total_events={"A": 7})
    assert res.to_frame()["time"].max() <= 13 and res.diagnostics[0].events == 7
    assert any("dropped" in n for n in res.diagnostics[0].notes)


def test_arms_keep_the_curve_files_order_and_total_events_by_arm():
    curve, risk, ref = _case("veteran_reader1")
    res = ipd_from_km(curve, risk, total_events={"test": 64})
    assert res.arms == ("standard", "test")
    assert res.diagnostics[0].total_events is None and res.diagnostics[1].total_events == 64


# -------------------------------------------------------------------------------- bad input

GOOD_CURVE = pd.DataFrame({"arm": ["A", "A", "B"], "time": [1.0, 2.0, 1.0], "survival": [0.9, 0.8, 0.7]})
GOOD_RISK = pd.DataFrame({"arm": ["A", "A", "B"], "time": [0.0, 1.5, 0.0], "n_risk": [10, 9, 10]})


@pytest.mark.parametrize("table, row, col, value, message", [
    ("curve", 1, "time", -1.0, "curve row 2: time is -1.0; expected a time >= 0"),
    ("curve", 0, "survival", 1.3, "curve row 1: survival is 1.3; expected a proportion between 0 and 1"),
    ("curve", 2, "survival", 70.0, "curve row 3: survival is 70.0; expected a proportion between 0 and 1 (a percentage?"),
    ("curve", 2, "time", "abc", "curve row 3: time is 'abc'; expected a number"),
    ("risk", 1, "n_risk", 11, "risk row 2: arm 'A' has n_risk 11 at time 1.5, more than 10 at time 0.0"),
    ("risk", 1, "n_risk", 8.5, "risk row 2: n_risk is 8.5; expected a whole number >= 0"),
    ("risk", 2, "time", 1.0, "risk row 3: arm 'B' starts at time 1.0; expected a first row at time 0"),
    ("risk", 0, "n_risk", "", "risk row 1: n_risk is ''; expected a number"),
    ("risk", 2, "arm", "C", "risk: arm 'B' of curve has no rows"),
    ("curve", 2, "arm", " ", "curve row 3: arm is empty"),
])
def test_bad_input_is_refused_naming_the_row(table, row, col, value, message):
    curve, risk = GOOD_CURVE.astype(object), GOOD_RISK.astype(object)
    (curve if table == "curve" else risk).loc[row, col] = value
    with pytest.raises(ValueError) as exc:
        ipd_from_km(curve, risk)
    assert message in str(exc.value)


def test_an_arm_of_the_risk_table_without_a_curve_and_a_missing_column():
    risk = pd.concat([GOOD_RISK, pd.DataFrame({"arm": ["C"], "time": [0.0], "n_risk": [5]})])
    with pytest.raises(ValueError, match="curve: arm 'C' of risk has no points"):
        ipd_from_km(GOOD_CURVE, risk)
    with pytest.raises(ValueError, match="risk: no column 'n_risk'; expected columns arm, time, n_risk"):
        ipd_from_km(GOOD_CURVE, GOOD_RISK.rename(columns={"n_risk": "n"}))


@pytest.mark.parametrize("events, message", [
    ({"C": 3}, "total_events: arm 'C' is not in the curve"),
    ({"A": 11}, "expected a whole number between 0 and 10"),
    ({"A": 2.5}, "expected a whole number between 0 and 10"),
])
def test_bad_total_events(events, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ipd_from_km(GOOD_CURVE, GOOD_RISK, total_events=events)


# ---------------------------------------------------------------------------------------- CLI

def _files(name: str) -> list[str]:
    return [str(DATA / f"{name}_curve.csv"), "--risk", str(DATA / f"{name}_risk.csv")]


@pytest.mark.parametrize("columns", ["40", "200"])
def test_cli_writes_the_ipd_and_a_json_summary(tmp_path, columns):
    out = tmp_path / "ipd.csv"
    ref = REF["cases"]["lung_reader1"]
    res = CliRunner().invoke(app, ["ipd-from-km", *_files("lung_reader1"), "--out", str(out),
                                   "--events", "Male=112, Female=53", "--json"], env={"COLUMNS": columns})
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["arm", "time", "event"]
    assert [a["arm"] for a in summary["arms"]] == ["Male", "Female"]
    for a in summary["arms"]:
        sub = ipd[ipd.arm == a["arm"]]
        assert a["n"] == len(sub) == ref["per_arm"][a["arm"]]["n"] and a["events"] == sub.event.sum()
        assert a["censored"] == a["n"] - a["events"]
        assert a["median"] == pytest.approx(km(sub.time, sub.event).median)
        assert abs(a["median"] - ref["per_arm"][a["arm"]]["median"]) / ref["per_arm"][a["arm"]]["median"] < 0.05


@pytest.mark.parametrize("columns", ["40", "200"])
def test_cli_text(tmp_path, columns):
    res = CliRunner().invoke(app, ["ipd-from-km", *_files("colon_reader1"), "--out", str(tmp_path / "i.csv")],
                             env={"COLUMNS": columns})
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "Obs: 315 patients," in text and "Lev+5FU: 304 patients," in text and "KM median not reached" in text


@pytest.mark.parametrize("columns", ["40", "200"])
def test_cli_bad_input_names_file_and_row(tmp_path, columns):
    bad = tmp_path / "curve.csv"
    bad.write_text("arm,time,survival\nA,1,0.9\nA,two,0.8\n")
    risk = tmp_path / "risk.csv"
    risk.write_text("arm,time,n_risk\nA,0,10\n")
    out = tmp_path / "ipd.csv"
    res = CliRunner().invoke(app, ["ipd-from-km", str(bad), "--risk", str(risk), "--out", str(out)],
                             env={"COLUMNS": columns})
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert f"error: {bad} row 2: time is 'two'; expected a number" in text
    assert not out.exists()
    res = CliRunner().invoke(app, ["ipd-from-km", str(bad), "--risk", str(tmp_path / "none.csv"), "--out", str(out),
                                   "--events", "A:3"], env={"COLUMNS": columns})
    assert res.exit_code == 2 and "--events: 'A:3' is not ARM=N" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["ipd-from-km", str(bad), "--risk", str(tmp_path / "none.csv"), "--out", str(out)],
                             env={"COLUMNS": columns})
    assert res.exit_code == 2 and "no such file" in res.output
