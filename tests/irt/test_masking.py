"""A masked trial: arms hidden from everyone but the unblinded statistician (API answers, lists,
the audit trail, exports), and the emergency unblinding of one patient by their investigator,
with a reason, on the audit chain and in the casebook (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import auth, body, masked_protocol, sql_rows


@pytest.fixture
def masked(db_url, tmp_path):
    """PATINA as a double-blind trial: coordinators at S01 and S02, S01's investigator, a monitor of
    both sites, the statistician; P001 randomized at S01."""
    fx = prepare_trial(db_url, n_sites=2, protocol=str(masked_protocol(tmp_path)), per_stratum=10)
    engine = make_engine(db_url)
    try:
        inv = add_user(engine, "inv01", "investigator", site="S01", actor="test")[1]
        inv2 = add_user(engine, "inv02", "investigator", site="S02", actor="test")[1]
        mon = add_user(engine, "mon01", "monitor", site="S01", actor="test")[1]
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=db_url))) as c:
        h = {"S01": auth(fx.tokens["S01"]), "S02": auth(fx.tokens["S02"]), "inv": auth(inv), "inv2": auth(inv2),
             "monitor": auth(mon), "statistician": auth(fx.statistician)}
        r = c.post("/api/v1/randomizations", json=body("P001"), headers=h["S01"])
        assert r.status_code == 201, r.text
        yield c, h, r.json(), db_url


def test_the_site_sees_no_arm_and_the_statistician_does(masked):
    c, h, randomized, _ = masked
    assert (randomized["arm"], randomized["arm_name"]) == ("BLINDED", "Blinded")
    for who in ("S01", "inv", "monitor"):
        listed = c.get("/api/v1/randomizations", headers=h[who]).json()["items"]
        assert [r["arm"] for r in listed] == ["BLINDED"], who
        assert c.get("/api/v1/randomizations/P001", headers=h[who]).json()["arm"] == "BLINDED", who
    arm = c.get("/api/v1/randomizations/P001", headers=h["statistician"]).json()["arm"]
    assert arm in ("A", "B")
    trail = c.get("/api/v1/audit", headers=h["monitor"]).json()["items"]
    assert all(e["new"].get("arm") in (None, "(hidden)") for e in trail if isinstance(e["new"], dict))
    dm = c.get("/api/v1/export/dm", params={"format": "json"}, headers=h["monitor"]).json()["rows"]
    assert {r["ARMCD"] for r in dm} == {"BLINDED"}
    dm = c.get("/api/v1/export/dm", params={"format": "json"}, headers=h["statistician"]).json()["rows"]
    assert [r["ARMCD"] for r in dm] == [arm]


def test_the_investigator_unblinds_one_patient_with_a_reason_on_the_record(masked):
    c, h, _, db_url = masked
    arm = c.get("/api/v1/randomizations/P001", headers=h["statistician"]).json()["arm"]
    assert c.post("/api/v1/subjects/P001/unblind", json={"reason": ""}, headers=h["inv"]).status_code == 422
    assert c.post("/api/v1/subjects/P001/unblind", json={"reason": "grade 4 hepatitis"},
                  headers=h["S01"]).status_code == 403
    assert c.post("/api/v1/subjects/P001/unblind", json={"reason": "grade 4 hepatitis"},
                  headers=h["inv2"]).status_code == 404  # another site's patient is not found
    r = c.post("/api/v1/subjects/P001/unblind", json={"reason": "grade 4 hepatitis: treatment decision"},
               headers=h["inv"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["arm"], got["unblinded_by"], got["reason"]) == (arm, "inv01", "grade 4 hepatitis: treatment decision")
    book = c.get("/api/v1/subjects/P001/casebook", headers=h["monitor"]).json()
    assert [(u["unblinded_by"], u["reason"]) for u in book["unblindings"]] == [
        ("inv01", "grade 4 hepatitis: treatment decision")]
    assert "arm" not in book["unblindings"][0]
    trail = c.get("/api/v1/audit", headers=h["monitor"]).json()["items"]
    link = next(e for e in trail if e["action"] == "unblind")
    assert (link["entity_id"], link["new"]["arm"], link["actor"]) == ("P001", "(hidden)", "inv01 (investigator)")
    # the investigator who was told the arm keeps seeing it; everyone else blind stays blind, and
    # sees that the patient was unblinded
    seen = {who: c.get("/api/v1/randomizations/P001", headers=h[who]).json() for who in ("inv", "S01", "monitor")}
    assert {who: (r["arm"], r["unblinded"]) for who, r in seen.items()} == {
        "inv": (arm, True), "S01": ("BLINDED", True), "monitor": ("BLINDED", True)}
    listed = c.get("/api/v1/randomizations", headers=h["inv"]).json()["items"]
    assert [(r["subject_id"], r["arm"], r["unblinded"]) for r in listed] == [("P001", arm, True)]
    other = c.post("/api/v1/randomizations", json=body("P002"), headers=h["S01"])
    assert other.status_code == 201, other.text
    listed = c.get("/api/v1/randomizations", headers=h["inv"]).json()["items"]
    assert [(r["subject_id"], r["arm"], r["unblinded"]) for r in listed] == [
        ("P001", arm, True), ("P002", "BLINDED", False)]  # the rest of the trial stays masked
    verify = CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"])
    assert verify.exit_code == 0 and json.loads(verify.stdout)["ok"], verify.stdout


def test_an_open_label_trial_has_nothing_to_unblind(trial, client):
    engine = make_engine(trial.db_url)
    try:
        inv = add_user(engine, "inv01", "investigator", site="S01", actor="test")[1]
    finally:
        engine.dispose()
    assert client.post("/api/v1/randomizations", json=body("P001"), headers=auth(trial.tokens["S01"])).status_code == 201
    r = client.post("/api/v1/subjects/P001/unblind", json={"reason": "emergency"}, headers=auth(inv))
    assert r.status_code == 409 and "open label" in r.json()["detail"]


@pytest.mark.slow
def test_a_masked_trial_is_analysed_pooled_unless_unblinded_on_the_record(sqlite_url, tmp_path):
    protocol = str(masked_protocol(tmp_path))
    r = CliRunner().invoke(cli, ["rehearse", protocol, "--db", sqlite_url, "--out", str(tmp_path / "r"),
                                 "--patients", "5", "--clients", "2", "--json"])
    assert r.exit_code == 0, r.output
    blind = CliRunner().invoke(cli, ["analyze", "--db", sqlite_url, "--out", str(tmp_path / "blind")])
    assert blind.exit_code == 0, blind.output
    pooled = json.loads((tmp_path / "blind" / "results_blinded.json").read_text())
    assert pooled["blinded"] and pooled["n_randomized"] == 5 and pooled["database"]["state"] == "locked"
    assert not (tmp_path / "blind" / "results.json").exists() and "arm" not in json.dumps(pooled).lower()
    by_arm = CliRunner().invoke(cli, ["analyze", "--db", sqlite_url, "--out", str(tmp_path / "arms"),
                                      "--unblind", "DSMB interim review"])
    assert by_arm.exit_code == 0, by_arm.output
    results = json.loads((tmp_path / "arms" / "results.json").read_text())["results"]
    pfs = next(t for t in pooled["time_to_event"] if t["endpoint"] == "PFS")
    assert pfs["events"] == sum(a["events"] for a in results["pfs"]["arms"])
    assert pfs["n"] == sum(a["n"] for a in results["pfs"]["arms"]) == 5
    trail = CliRunner().invoke(cli, ["audit", "verify", "--db", sqlite_url, "--json"])
    assert json.loads(trail.stdout)["ok"]
    links = sql_rows(sqlite_url, "SELECT actor, reason FROM audit_log WHERE action = 'unblinded_analysis'")
    assert [x.reason for x in links] == ["DSMB interim review"] and links[0].actor.startswith("cli")

