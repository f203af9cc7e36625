"""Data capture through the API: entering and changing eCRFs, the casebook and its findings,
who may do what, stale edits, and an audit trail that covers every value (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import DEMOG, STRATA, auth, body

URL = "/api/v1/subjects/{}/records"


@pytest.fixture
def site(client, trial) -> tuple[TestClient, dict[str, str]]:
    """S01's coordinator with subject P001 randomized."""
    h = auth(trial.tokens["S01"])
    assert client.post("/api/v1/randomizations", json=body("P001"), headers=h).status_code == 201
    return client, h


@pytest.fixture
def reviewers(trial) -> dict[str, dict[str, str]]:
    """Headers of a data manager and a monitor of the trial."""
    engine = make_engine(trial.db_url)
    try:
        return {role: auth(add_user(engine, f"{role}1", role, site="S01" if role == "monitor" else None,
                                    actor="test")[1]) for role in ("data_manager", "monitor")}
    finally:
        engine.dispose()


def enter(client, h, subject="P001", **entry):
    return client.post(URL.format(subject), json=entry, headers=h)


def casebook(client, h, subject="P001") -> dict:
    r = client.get(f"/api/v1/subjects/{subject}/casebook", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_enter_then_read_back_typed_on_the_latest_version(site):
    client, h = site
    r = enter(client, h, visit="SCREENING", form="DEMOG", values={**DEMOG, "AGE": "51", "ECOG": "1"})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["record"], rec["version"], rec["revision"], rec["updated_by"]) == ("SCREENING|DEMOG|1", 2, 1, "coord01")
    assert rec["values"]["AGE"] == 51
    book = casebook(client, h)
    assert book["usubjid"] == "PATINA-P001" and [x["record"] for x in book["records"]] == ["SCREENING|DEMOG|1"]
    assert book["findings"] == []


def test_strata_recorded_differently_from_the_irt_open_a_query(site):
    client, h = site
    assert enter(client, h, visit="SCREENING", form="DEMOG", version=1,
                 values={**DEMOG, "STRAT2V": "YES"}).status_code == 201
    findings = casebook(client, h)["findings"]
    assert [(f["check"], f["field"]) for f in findings] == [("STRAT2_MATCHES_IRT", "STRAT2V")]


def test_soft_rules_save_and_become_findings_hard_rules_refuse(site):
    client, h = site
    soft = {k: v for k, v in DEMOG.items() if k != "CNSMET"} | {"AGE": 17}
    assert enter(client, h, visit="SCREENING", form="DEMOG", version=1, values=soft).status_code == 201
    assert sorted(f["check"] for f in casebook(client, h)["findings"]) == ["RANGE", "REQUIRED"]
    r = enter(client, h, visit="LOG", form="AE", seq=1, values={"AETERM": "Nausea", "AETOXGR": "7"})
    assert r.status_code == 422 and "AE.AETOXGR [codelist]" in r.json()["detail"]
    assert [x["form"] for x in casebook(client, h)["records"]] == ["DEMOG"]  # the refused save left nothing


def test_change_needs_the_revision_it_was_made_on_and_a_reason(site):
    client, h = site
    ae = {"AETERM": "Nausea", "AETOXGR": "2", "AESTDTC": "2026-01-10"}
    assert enter(client, h, visit="LOG", form="AE", seq=1, values=ae).status_code == 201
    again = enter(client, h, visit="LOG", form="AE", seq=1, values=ae)
    assert again.status_code == 409 and "give the revision" in again.json()["detail"]
    no_reason = enter(client, h, visit="LOG", form="AE", seq=1, revision=1, values={**ae, "AETOXGR": "3"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    ok = enter(client, h, visit="LOG", form="AE", seq=1, revision=1, reason="source: grade 3 in chart",
               values={**ae, "AETOXGR": "3"})
    assert ok.status_code == 200 and ok.json()["revision"] == 2
    stale = enter(client, h, visit="LOG", form="AE", seq=1, revision=1, reason="late", values={**ae, "AETOXGR": "4"})
    assert stale.status_code == 409 and "revision 2, not 1" in stale.json()["detail"]
    assert casebook(client, h)["records"][0]["values"]["AETOXGR"] == "3"


def test_the_trail_holds_every_change_field_by_field(site, trial):
    client, h = site
    ae = {"AETERM": "Nausea", "AETOXGR": "2", "AESTDTC": "2026-01-10"}
    enter(client, h, visit="LOG", form="AE", seq=1, values=ae)
    enter(client, h, visit="LOG", form="AE", seq=1, revision=1, reason="chart", values={**ae, "AETOXGR": "3"})
    engine = make_engine(trial.db_url)
    try:
        with engine.connect() as conn:
            links = conn.execute(text("SELECT action, old, new, reason FROM audit_log WHERE entity = 'form_record' "
                                      "ORDER BY seq")).all()
    finally:
        engine.dispose()
    assert [(a, json.loads(o), json.loads(n), r) for a, o, n, r in links][1] == \
        ("change", {"AETOXGR": "2"}, {"AETOXGR": "3"}, "chart")
    assert links[0].action == "enter"


@pytest.mark.parametrize("entry,status,words", [
    ({"visit": "WEEK 13", "form": "TA", "values": {}}, 422, "not a visit of the schedule"),
    ({"visit": "CYCLE 1", "form": "DEMOG", "values": {}}, 422, "not collected at visit"),
    ({"visit": "SCREENING", "form": "NOPE", "values": {}}, 422, "not a form of the protocol"),
    ({"visit": "SCREENING", "form": "RAND", "values": {}}, 403, "written by the randomization"),
    ({"visit": "LOG", "form": "AE", "values": {"AETERM": "x"}}, 422, "give the instance number"),
    ({"visit": "SCREENING", "form": "TL_BASE", "values": {}}, 422, "repeats per LINKID"),
    ({"visit": "SCREENING", "form": "DEMOG", "seq": 2, "values": {}}, 422, "does not repeat"),
    ({"visit": "SCREENING", "form": "DEMOG", "values": {"AGE": [51]}}, 422, "values"),
    ({"visit": "SCREENING", "form": "DEMOG", "values": {}, "sneaky": 1}, 422, "sneaky"),
])
def test_misplaced_or_malformed_entries_are_refused_naming_what_is_wrong(site, entry, status, words):
    client, h = site
    r = client.post(URL.format("P001"), json=entry, headers=h)
    assert r.status_code == status and words in json.dumps(r.json()), r.text


def test_roles_and_sites(site, trial, client):
    client, h = site
    other = auth(trial.tokens["S02"])
    r = enter(client, other, visit="SCREENING", form="DEMOG", values=DEMOG)
    assert r.status_code == 404 and "at your site" in r.json()["detail"]
    assert client.get("/api/v1/subjects/P001/casebook", headers=other).status_code == 404
    stat = auth(trial.statistician)
    assert enter(client, stat, visit="SCREENING", form="DEMOG", values=DEMOG).status_code == 403
    assert client.get("/api/v1/subjects/P001/casebook", headers=stat).status_code == 200
    assert client.get("/api/v1/subjects/NOBODY/casebook", headers=stat).status_code == 404
    assert client.get("/api/v1/subjects/P001/casebook").status_code == 401


def _verify(db_url: str) -> dict:
    r = CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"])
    return json.loads(r.stdout)


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    fx = prepare_trial(db_url, n_sites=1, per_stratum=10)
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        h = auth(fx.tokens["S01"])
        assert c.post("/api/v1/randomizations", json=body("P001", strata=dict(STRATA)), headers=h).status_code == 201
        yield c, h, fx.db_url


def test_a_value_changed_behind_the_services_back_is_found_by_audit_verify(served):
    client, h, db_url = served
    assert enter(client, h, visit="SCREENING", form="DEMOG", values=DEMOG).status_code == 201
    assert _verify(db_url)["ok"]
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE form_records SET \"values\" = :v"), {"v": json.dumps({**DEMOG, "AGE": 61})})
        with pytest.raises(Exception, match="never deleted"):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM form_records"))
    finally:
        engine.dispose()
    report = _verify(db_url)
    assert not report["ok"]
    assert any("form_record 'P001|SCREENING|DEMOG|1' does not match the audit trail in: AGE" in p
               for p in report["problems"])


def test_export_sdtm_writes_every_casebook_from_the_database(site, trial, tmp_path):
    client, h = site
    assert enter(client, h, visit="SCREENING", form="DEMOG", version=1, values=DEMOG).status_code == 201
    assert enter(client, h, visit="SCREENING", form="IC", values={"ICDT": "2026-01-02"}).status_code == 201
    assert enter(client, h, visit="LOG", form="AE", seq=1,
                 values={"AETERM": "Nausea", "AETOXGR": "2", "AESTDTC": "2099-01-10"}).status_code == 201
    r = CliRunner().invoke(cli, ["irt", "export-sdtm", "--db", trial.db_url, "--out", str(tmp_path / "sdtm"),
                                 "--formats", "csv", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["domains"] == {"AE": 1, "DM": 1, "DS": 2, "SUPPDM": 13}  # 9 DEMOG + 4 RAND qualifiers
    from oncotrial.sdtm import read_sdtm

    sdtm = read_sdtm(tmp_path / "sdtm")
    dm = sdtm["DM"].iloc[0]
    assert (dm.USUBJID, dm.SUBJID, dm.SITEID, dm.AGE, dm.RFICDTC) == ("PATINA-P001", "P001", "S01", 51, "2026-01-02")
    supp = sdtm["SUPPDM"].set_index("QNAM").QVAL
    assert supp["STRAT1R"] == STRATA["induction_response"] and supp["STRAT2V"] == DEMOG["STRAT2V"]
    assert sdtm["AE"].AETERM.tolist() == ["Nausea"]


def test_export_sdtm_refuses_an_unknown_format(trial, tmp_path):
    r = CliRunner().invoke(cli, ["irt", "export-sdtm", "--db", trial.db_url, "--out", str(tmp_path), "--formats", "sas"])
    assert r.exit_code == 2 and "--formats" in r.output


def test_lock_freezes_the_casebook_until_unlocked_with_a_reason(site, trial, reviewers):
    client, h = site
    dm = reviewers["data_manager"]
    assert enter(client, h, visit="SCREENING", form="DEMOG", version=1, values={**DEMOG, "STRAT2V": "YES"}).status_code == 201
    refused = client.post("/api/v1/subjects/P001/lock", json={}, headers=dm)
    assert refused.status_code == 409 and "STRAT2_MATCHES_IRT" in refused.json()["detail"]
    fixed = enter(client, h, visit="SCREENING", form="DEMOG", revision=1, reason="IRT value confirmed", values=DEMOG)
    assert fixed.status_code == 200
    assert client.post("/api/v1/subjects/P001/lock", json={}, headers=dm).status_code == 200
    assert casebook(client, h)["locked"] is True
    frozen = enter(client, h, visit="LOG", form="AE", seq=1, values={"AETERM": "Nausea", "AETOXGR": "1"})
    assert frozen.status_code == 409 and "locked" in frozen.json()["detail"]
    assert client.post("/api/v1/subjects/P001/lock", json={}, headers=dm).status_code == 409
    no_reason = client.post("/api/v1/subjects/P001/unlock", json={}, headers=dm)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    assert client.post("/api/v1/subjects/P001/unlock", json={"reason": "late lab"}, headers=dm).status_code == 200
    assert casebook(client, h)["locked"] is False
    assert enter(client, h, visit="LOG", form="AE", seq=1, values={"AETERM": "Nausea", "AETOXGR": "1"}).status_code == 201
    assert _verify(trial.db_url)["ok"]


def test_a_lock_lifted_behind_the_services_back_is_found(site, trial, reviewers):
    client, h = site
    assert client.post("/api/v1/subjects/P001/lock", json={}, headers=reviewers["data_manager"]).status_code == 200
    engine = make_engine(trial.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE data_locks SET state = 'open'"))
    finally:
        engine.dispose()
    problems = _verify(trial.db_url)["problems"]
    assert "the casebook of 'P001' is open but the audit trail says locked" in problems
