"""`oncotrial interim` on PATINA's reconstructed data: the look at half the planned events and the final
(overrunning) analysis, the closed and open reports, and the cut-offs it refuses."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from oncotrial.adam import adam_from_sdtm
from oncotrial.cli import app
from oncotrial.design import group_sequential_design
from oncotrial.design.from_protocol import planned_max_events
from oncotrial.protocol import load_protocol
from oncotrial.sdtm import write_sdtm
from oncotrial.sdtm.cutoff import cut_at

runner = CliRunner()

# keys that carry a comparison of the arms: none may appear in the open report
ARM_KEYS = {"z", "hr", "hr_lower", "hr_upper", "hr_z", "events_by_arm", "test_action", "stages", "conditional_power",
            "test_statistic", "analysis",
            "repeated_ci_lower", "repeated_ci_upper", "repeated_p_value", "final_inference", "experimental", "control"}


@pytest.fixture(scope="module")
def patina_sdtm(tmp_path_factory):
    """PATINA reconstructed (seed 0) as an SDTM folder, and the day its PFS events reached half the plan."""
    from oncotrial.sim import reconstruct

    p = load_protocol("patina")
    rec = reconstruct(p, seed=0)
    folder = tmp_path_factory.mktemp("patina") / "sdtm"
    write_sdtm(rec.sdtm, folder, formats=("csv",))
    tte = adam_from_sdtm(rec.sdtm, p)["adtte"]
    events = tte[(tte["PARAMCD"] == "PFS") & (tte["CNSR"] == 0)].sort_values("ADT")
    half = math.ceil(0.5 * planned_max_events(p))
    return folder, rec.sdtm, events["ADT"].iloc[half - 1].date().isoformat()


def _keys(doc) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | set().union(*(_keys(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(_keys(v) for v in doc)) if doc else set()
    return set()


def _run(*args: str):
    return runner.invoke(app, ["interim", *args])


def test_the_look_at_half_the_planned_events(patina_sdtm, tmp_path):
    folder, sdtm, day = patina_sdtm
    p = load_protocol("patina")
    res = _run("patina", "--sdtm", str(folder), "--cutoff", day, "--out", str(tmp_path / "look1"), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc == json.loads((tmp_path / "look1" / "interim_closed.json").read_text())
    stage = doc["stages"][0]
    max_events = planned_max_events(p)
    # the look was called on the day the events reached half the plan: information 0.5 or just above (ties)
    assert doc["look"] == 1 and not doc["final"] and not doc["overrun"]
    assert stage["events"] >= math.ceil(max_events / 2) and stage["events"] < max_events / 2 + 5
    assert stage["information_rate"] == pytest.approx(stage["events"] / max_events, abs=1e-12)
    # the boundary is the plan's spending recalculated at the observed information
    g = group_sequential_design([stage["events"] / max_events, 1.0], alpha=0.025, alpha_spending="obf")
    assert stage["critical_value"] == pytest.approx(g.critical_values[0], abs=1e-9)
    assert doc["boundaries"][1]["critical_value"] == pytest.approx(g.critical_values[1], abs=1e-9)
    # the statistic is the protocol's stratified log-rank on the data as they stood at the cut-off
    cut = adam_from_sdtm(cut_at(sdtm, day), p)
    pfs = cut["adtte"][cut["adtte"]["PARAMCD"] == "PFS"]
    assert stage["events"] == int((pfs["CNSR"] == 0).sum()) and stage["n_randomized"] == len(cut["adsl"])
    assert sum(stage["events_by_arm"].values()) == stage["events"]
    assert (stage["z"] > 0) == (stage["hr"] < 1)
    assert stage["test_statistic"] == pytest.approx(stage["z"], abs=1e-12)  # H0: HR = 1
    assert stage["test_action"] == ("reject and stop" if stage["z"] >= stage["critical_value"] else "continue")
    cp = doc["conditional_power"]
    assert cp["remaining_events"] == max_events - stage["events"] and 0 <= cp["design_hr"] <= 1
    closed = (tmp_path / "look1" / "interim_closed.html").read_text()
    assert "closed report" in closed and f"{stage['z']:.3f}" in closed and "data:image/png;base64," in closed


def test_the_open_report_compares_no_arms(patina_sdtm, tmp_path):
    folder, _, day = patina_sdtm
    res = _run("patina", "--sdtm", str(folder), "--cutoff", day, "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    closed = json.loads((tmp_path / "o" / "interim_closed.json").read_text())
    doc = json.loads((tmp_path / "o" / "interim_open.json").read_text())
    assert doc["report"] == "open" and not (_keys(doc) & ARM_KEYS)
    assert doc["looks"][0]["events"] == closed["stages"][0]["events"]
    assert doc["boundaries"] == closed["boundaries"]
    assert doc["pooled"]["blinded"] is True
    page = (tmp_path / "o" / "interim_open.html").read_text()
    assert "open report" in page and f"{closed['stages'][0]['z']:.3f}" not in page


def test_the_final_analysis_overruns_the_planned_events(patina_sdtm, tmp_path):
    folder, sdtm, day = patina_sdtm
    p = load_protocol("patina")
    final_day = p.accrual.data_cutoff.isoformat()
    res = _run("patina", "--sdtm", str(folder), "--cutoff", final_day, "--previous", day,
               "--out", str(tmp_path / "final"), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    first, last = doc["stages"]
    assert doc["look"] == 2 and doc["final"] and doc["overrun"]
    assert last["events"] > planned_max_events(p) and last["information_rate"] == 1.0
    assert first["information_rate"] == pytest.approx(first["events"] / last["events"], abs=1e-12)
    assert doc["final_inference"] is not None and doc["conditional_power"]["remaining_events"] == 0
    assert last["test_action"] == ("reject" if last["z"] >= last["critical_value"] else "accept")
    assert doc["analysis"]["final_p_value"] == doc["final_inference"]["p_value"]


def test_a_cutoff_before_the_first_randomization_is_refused(patina_sdtm, tmp_path):
    folder, _, _ = patina_sdtm
    res = _run("patina", "--sdtm", str(folder), "--cutoff", "2010-01-01", "--out", str(tmp_path / "none"))
    assert res.exit_code == 1 and "no patient was randomized by then" in res.output
    assert not (tmp_path / "none").exists()


def test_looks_must_come_in_order(patina_sdtm, tmp_path):
    folder, _, day = patina_sdtm
    res = _run("patina", "--sdtm", str(folder), "--cutoff", day, "--previous", "2030-01-01", "--out", str(tmp_path / "x"))
    assert res.exit_code == 1 and "--previous" in res.output and "is not after" in res.output
    res = _run("patina", "--sdtm", str(folder), "--cutoff", "2021-13-01", "--out", str(tmp_path / "x"))
    assert res.exit_code == 1 and "--cutoff" in res.output
    res = _run("patina", "--sdtm", str(folder), "--out", str(tmp_path / "x"))
    assert res.exit_code == 2 and "--sdtm needs the PROTOCOL argument and --cutoff" in res.output
    assert not (tmp_path / "x").exists()


def test_a_look_without_events_is_refused(patina_sdtm, tmp_path):
    folder, sdtm, _ = patina_sdtm
    ds = sdtm["DS"]
    first = min(ds.loc[ds["DSDECOD"] == "RANDOMIZED", "DSSTDTC"].astype(str))[:10]
    res = _run("patina", "--sdtm", str(folder), "--cutoff", first, "--out", str(tmp_path / "early"))
    assert res.exit_code == 1 and "no PFS event by then" in res.output and "a look needs events" in res.output
    assert not (tmp_path / "early").exists()
