"""Source-data verification through the API: the plan's selection, marks tied to the revision
verified, the monitor's list, who may do what, and marks that cannot be rewritten (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.collect import FormRecord, sdv_required
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.monitors import assign_sites
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial
from oncotrial.protocol import load_protocol

from .conftest import STRATA, auth, body, sql_rows

AE = {"AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
      "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}
AE_RECORD = "LOG|AE|1"


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        h = {site: auth(tok) for site, tok in fx.tokens.items()}
        for role in ("monitor", "data_manager"):
            h[role] = auth(add_user(engine, f"{role}1", role, actor="test")[1])
        assign_sites(engine, "monitor1", ["S01", "S02"], reason="monitors both sites", actor="test")
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        for subject, site in (("P001", "S01"), ("P002", "S02")):
            assert c.post("/api/v1/randomizations", json=body(subject, site, strata=dict(STRATA)),
                          headers=h[site]).status_code == 201
        yield c, h, fx.db_url


def _enter(client, h, values, subject="P001", **place) -> dict:
    r = client.post(f"/api/v1/subjects/{subject}/records", json={**place, "values": values}, headers=h)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _states(client, h, subject="P001") -> dict[str, str]:
    book = client.get(f"/api/v1/subjects/{subject}/casebook", headers=h).json()
    return {e["record"]: e["sdv"]["state"] for e in book["records"]}


def _verify(client, h, record, revision, subject="P001"):
    return client.post(f"/api/v1/subjects/{subject}/sdv", json={"record": record, "revision": revision}, headers=h)


def test_a_verified_record_changed_afterwards_needs_verifying_again(served):
    client, h, db_url = served
    rec = _enter(client, h["S01"], AE, visit="LOG", form="AE", seq=1)
    assert _states(client, h["monitor"]) == {AE_RECORD: "pending"}  # AE: the plan verifies every record
    r = _verify(client, h["monitor"], AE_RECORD, 1)
    assert r.status_code == 201 and (r.json()["verified_by"], r.json()["required"]) == ("monitor1", True)
    assert _states(client, h["S01"]) == {AE_RECORD: "verified"}
    assert _verify(client, h["monitor"], AE_RECORD, 1).status_code == 409  # already
    _enter(client, h["S01"], {**AE, "AETOXGR": "2"}, visit="LOG", form="AE", seq=1, revision=rec["revision"],
           reason="chart says grade 2")
    assert _states(client, h["monitor"]) == {AE_RECORD: "changed"}
    stale = _verify(client, h["monitor"], AE_RECORD, 1)
    assert stale.status_code == 409 and "revision 2, not 1" in stale.json()["detail"]
    assert _verify(client, h["monitor"], AE_RECORD, 2).status_code == 201
    assert _states(client, h["monitor"]) == {AE_RECORD: "verified"}
    report = json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)
    assert report["ok"], report["problems"]


def test_the_plan_decides_what_is_required_with_the_protocols_seed(served):
    client, h, _ = served
    _enter(client, h["S01"], {"SVSTDTC": "2026-01-08"}, visit="CYCLE 1", form="VISIT")
    for seq in range(1, 21):
        _enter(client, h["S01"], {"MHTERM": f"Condition {seq}"}, visit="SCREENING", form="MH", seq=seq)
    protocol = load_protocol("patina")
    book = client.get("/api/v1/subjects/P001/casebook", headers=h["monitor"]).json()
    sdv = {e["record"]: e["sdv"] for e in book["records"]}
    assert sdv["CYCLE 1|VISIT|1"]["state"] == "not_required"  # VISIT: none
    for seq in range(1, 21):
        want = sdv_required(protocol, FormRecord("PATINA-P001", "SCREENING", "MH", 1, {}, seq=seq), seed=20170601)
        assert sdv[f"SCREENING|MH|{seq}"]["required"] is want
    assert 0 < sum(sdv[f"SCREENING|MH|{s}"]["required"] for s in range(1, 21)) < 20  # MH: a 20% sample
    # a monitor may verify beyond the plan
    assert _verify(client, h["monitor"], "CYCLE 1|VISIT|1", 1).status_code == 201
    assert _states(client, h["monitor"])["CYCLE 1|VISIT|1"] == "verified"


def test_the_monitors_list_filters_and_counts(served):
    client, h, _ = served
    _enter(client, h["S01"], AE, visit="LOG", form="AE", seq=1)
    _enter(client, h["S01"], {**AE, "AETERM": "Fatigue"}, visit="LOG", form="AE", seq=2)
    _enter(client, h["S02"], AE, subject="P002", visit="LOG", form="AE", seq=1)
    _enter(client, h["S02"], {"SVSTDTC": "2026-01-08"}, subject="P002", visit="CYCLE 1", form="VISIT")
    _verify(client, h["monitor"], "LOG|AE|2", 1)
    every = client.get("/api/v1/sdv", headers=h["data_manager"]).json()
    assert every["states"] == {"verified": 1, "changed": 0, "pending": 2, "not_required": 1}
    pending = client.get("/api/v1/sdv", params={"state": "pending"}, headers=h["monitor"]).json()
    assert [(x["subject_id"], x["record"]) for x in pending["items"]] == [("P001", "LOG|AE|1"), ("P002", "LOG|AE|1")]
    one = client.get("/api/v1/sdv", params={"state": "pending", "site": "S02", "limit": 1}, headers=h["monitor"]).json()
    assert (one["total"], one["count"], one["items"][0]["site"]) == (1, 1, "S02")
    bad = client.get("/api/v1/sdv", params={"state": "done"}, headers=h["monitor"])
    assert bad.status_code == 422 and "verified, changed, pending, not_required" in bad.json()["detail"]


def test_roles_and_bad_requests(served):
    client, h, _ = served
    _enter(client, h["S01"], AE, visit="LOG", form="AE", seq=1)
    for who in ("S01", "data_manager"):
        assert _verify(client, h[who], AE_RECORD, 1).status_code == 403
    assert client.get("/api/v1/sdv", headers=h["S01"]).status_code == 403
    missing = _verify(client, h["monitor"], "LOG|AE|9", 1)
    assert missing.status_code == 422 and "no saved record 'LOG|AE|9'" in missing.json()["detail"]
    assert _verify(client, h["monitor"], AE_RECORD, 1, subject="NOBODY").status_code == 404
    r = client.post("/api/v1/subjects/P001/sdv", json={"record": AE_RECORD, "revision": "1"}, headers=h["monitor"])
    assert r.status_code == 422 and "revision" in r.text


def test_marks_cannot_be_rewritten_and_one_slipped_in_is_found(served):
    client, h, db_url = served
    _enter(client, h["S01"], AE, visit="LOG", form="AE", seq=1)
    _verify(client, h["monitor"], AE_RECORD, 1)
    engine = make_engine(db_url)
    try:
        for sql in ("UPDATE sdv_marks SET revision = 2", "DELETE FROM sdv_marks"):
            with pytest.raises(Exception, match="never changed or deleted"):
                with engine.begin() as conn:
                    conn.execute(text(sql))
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO sdv_marks (randomization_id, record_key, revision, verified_at, verified_by) "
                              "SELECT randomization_id, record_key, 7, verified_at, verified_by FROM sdv_marks"))
    finally:
        engine.dispose()
    report = json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)
    assert "sdv mark 'P001|LOG|AE|1' revision 7 has no audit record" in report["problems"]


# --- several records of a subject verified in one request (POST .../sdv/batch) ---

AE_RECORDS = [f"LOG|AE|{seq}" for seq in (1, 2, 3)]


def _batch(client, h, records, subject="P001"):
    return client.post(f"/api/v1/subjects/{subject}/sdv/batch",
                       json={"records": [{"record": r, "revision": v} for r, v in records]}, headers=h)


def _three_aes(client, h, subject="P001", site="S01") -> None:
    for seq in (1, 2, 3):
        _enter(client, h[site], {**AE, "AETERM": f"Term {seq}"}, subject=subject, visit="LOG", form="AE", seq=seq)


def _change_ae2(client, h, subject="P001", site="S01") -> None:
    _enter(client, h[site], {**AE, "AETERM": "Term 2", "AETOXGR": "2"}, subject=subject, visit="LOG", form="AE",
           seq=2, revision=1, reason="chart says grade 2")


def _sdv_written(db_url, subject="P001") -> tuple[list, list]:
    """The subject's SDV marks and SDV audit links, with the subject's id taken out of the links."""
    marks = sql_rows(db_url, "SELECT m.record_key, m.revision, u.name FROM sdv_marks m "
                             "JOIN randomizations r ON r.id = m.randomization_id JOIN users u ON u.id = m.verified_by "
                             f"WHERE r.subject_id = '{subject}' ORDER BY m.record_key, m.revision")
    links = sql_rows(db_url, "SELECT actor, action, entity, entity_id, old, new, reason FROM audit_log "
                             f"WHERE entity = 'sdv' AND entity_id LIKE '{subject}|%' ORDER BY entity_id, seq")
    return [tuple(m) for m in marks], [(*link[:3], link[3].partition("|")[2], *link[4:]) for link in links]


def _audit_ok(db_url) -> None:
    report = json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)
    assert report["ok"], report["problems"]


def test_a_batch_writes_the_marks_and_audit_links_single_verifications_write(served):
    client, h, db_url = served
    for subject, site in (("P001", "S01"), ("P002", "S02")):
        _three_aes(client, h, subject, site)
        assert _verify(client, h["monitor"], "LOG|AE|2", 1, subject=subject).status_code == 201
        _change_ae2(client, h, subject, site)  # its next mark's audit link carries the revision verified before
    wanted = [("LOG|AE|1", 1), ("LOG|AE|2", 2), ("LOG|AE|3", 1)]
    r = _batch(client, h["monitor"], wanted)
    assert r.status_code == 201, r.text
    singles = [_verify(client, h["monitor"], rec, rev, subject="P002") for rec, rev in wanted]
    assert all(s.status_code == 201 for s in singles)
    got = r.json()
    assert got["subject_id"] == "P001" and [(m["record"], m["revision"]) for m in got["records"]] == wanted
    drop = ("subject_id", "verified_at")
    assert [{k: v for k, v in m.items() if k not in drop} for m in got["records"]] == \
        [{k: v for k, v in s.json().items() if k not in drop} for s in singles]
    assert _sdv_written(db_url, "P001") == _sdv_written(db_url, "P002")
    marks, links = _sdv_written(db_url, "P001")
    assert len(marks) == len(links) == 4  # the earlier mark of LOG|AE|2 and one for each record of the batch
    assert _states(client, h["monitor"]) == dict.fromkeys(AE_RECORDS, "verified")
    _audit_ok(db_url)


def test_a_refused_record_refuses_the_batch_and_stores_nothing(served):
    client, h, db_url = served
    _three_aes(client, h)
    _change_ae2(client, h)
    stale = _batch(client, h["monitor"], [("LOG|AE|1", 1), ("LOG|AE|2", 1), ("LOG|AE|3", 1)])
    assert stale.status_code == 409
    assert "records[1] (LOG|AE|2): revision: LOG|AE|2 is at revision 2, not 1" in stale.json()["detail"]
    missing = _batch(client, h["monitor"], [("LOG|AE|1", 1), ("LOG|AE|9", 1)])
    assert missing.status_code == 422 and "records[1] (LOG|AE|9): record: 'P001' has no saved record" in missing.text
    twice = _batch(client, h["monitor"], [("LOG|AE|1", 1), ("LOG|AE|1", 1)])
    assert twice.status_code == 422 and "records[1]: LOG|AE|1 is records[0] again" in twice.text
    empty = _batch(client, h["monitor"], [])
    assert empty.status_code == 422 and "records: expected 1 to" in empty.text
    assert _sdv_written(db_url) == ([], [])
    assert set(_states(client, h["monitor"]).values()) == {"pending"}
    _audit_ok(db_url)


def test_an_already_verified_or_locked_record_refuses_the_batch(served):
    client, h, db_url = served
    _three_aes(client, h)
    assert _verify(client, h["monitor"], "LOG|AE|1", 1).status_code == 201
    before = _sdv_written(db_url)
    again = _batch(client, h["monitor"], [("LOG|AE|2", 1), ("LOG|AE|1", 1)])
    assert again.status_code == 409
    assert "records[1] (LOG|AE|1): record: revision 1 of LOG|AE|1 is already verified" in again.json()["detail"]
    assert client.post("/api/v1/subjects/P001/lock", json={"record": "LOG|AE|3"},
                       headers=h["data_manager"]).status_code == 200
    locked = _batch(client, h["monitor"], [("LOG|AE|2", 1), ("LOG|AE|3", 1)])
    assert locked.status_code == 409
    assert "records[1] (LOG|AE|3): " in locked.text and "cannot mark source-data verification" in locked.text
    assert _sdv_written(db_url) == before
    assert _states(client, h["monitor"]) == {"LOG|AE|1": "verified", "LOG|AE|2": "pending", "LOG|AE|3": "pending"}
    _audit_ok(db_url)


def test_only_a_monitor_of_the_subjects_site_verifies_a_batch(served):
    client, h, db_url = served
    _three_aes(client, h)
    engine = make_engine(db_url)
    try:
        other = auth(add_user(engine, "monitor2", "monitor", actor="test")[1])
        assign_sites(engine, "monitor2", ["S02"], reason="monitors S02 only", actor="test")
    finally:
        engine.dispose()
    records = [(r, 1) for r in AE_RECORDS]
    elsewhere = _batch(client, other, records)  # another site's subject answers like a missing one
    assert elsewhere.status_code == 404 and "no randomization of 'P001' at your sites" in elsewhere.text
    for who in ("S01", "data_manager"):
        refused = _batch(client, h[who], records)
        assert refused.status_code == 403, refused.text
    assert _sdv_written(db_url) == ([], [])
    assert _batch(client, h["monitor"], records).status_code == 201
    _audit_ok(db_url)
