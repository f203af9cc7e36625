"""Moving saved entries to a new form version after an amendment, through the API: all subjects or
some, audited as changes with the reason, nothing dropped, locked casebooks left alone (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import STRATA, auth, body
from .conftest import DEMOG

URL = "/api/v1/forms/DEMOG/migrate"


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:
    fx = prepare_trial(db_url, n_sites=1, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        h = {"S01": auth(fx.tokens["S01"])}
        for role in ("data_manager", "monitor"):
            h[role] = auth(add_user(engine, f"{role}1", role, site="S01" if role == "monitor" else None,
                                    actor="test")[1])
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        for sid in ("P001", "P002", "P003"):
            assert c.post("/api/v1/randomizations", json=body(sid, strata=dict(STRATA)), headers=h["S01"]).status_code == 201
            r = c.post(f"/api/v1/subjects/{sid}/records", headers=h["S01"],
                       json={"visit": "SCREENING", "form": "DEMOG", "version": 1, "values": DEMOG})
            assert r.status_code == 201, r.text
        yield c, h, fx.db_url


def _demog(client, h, sid) -> dict:
    book = client.get(f"/api/v1/subjects/{sid}/casebook", headers=h).json()
    return next(r for r in book["records"] if r["form"] == "DEMOG")


def test_every_subject_moves_with_the_reason_on_the_trail(served):
    client, h, db_url = served
    r = client.post(URL, json={"to_version": 2, "reason": "amendment 2: ECOG added"}, headers=h["data_manager"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(m["subject_id"], m["from_version"], m["to_version"]) for m in out["migrated"]] == \
        [("P001", 1, 2), ("P002", 1, 2), ("P003", 1, 2)]
    assert out["skipped"] == []
    rec = _demog(client, h["S01"], "P002")
    assert (rec["version"], rec["revision"], rec["values"]) == (2, 2, DEMOG)
    # the site changes the moved entry on its new version and revision
    ok = client.post("/api/v1/subjects/P002/records", headers=h["S01"], json={
        "visit": "SCREENING", "form": "DEMOG", "revision": 2, "reason": "ECOG from clinic note",
        "values": {**DEMOG, "ECOG": "1"}})
    assert ok.status_code == 200, ok.text
    again = client.post(URL, json={"to_version": 2, "reason": "again"}, headers=h["data_manager"]).json()
    assert again["migrated"] == [] and again["skipped"] == []
    report = json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)
    assert report["ok"], report["problems"]


def test_named_subjects_only_and_locked_casebooks_stay(served):
    client, h, _ = served
    assert client.post("/api/v1/subjects/P003/lock", json={}, headers=h["data_manager"]).status_code == 200
    out = client.post(URL, json={"to_version": 2, "subject_ids": ["P001", "P003"], "reason": "amendment 2"},
                      headers=h["data_manager"]).json()
    assert [m["subject_id"] for m in out["migrated"]] == ["P001"]
    assert out["skipped"] == [{"subject_id": "P003", "record": "SCREENING|DEMOG|1", "why": "casebook locked"}]
    assert [_demog(client, h["S01"], s)["version"] for s in ("P001", "P002", "P003")] == [2, 1, 1]


def test_an_entry_that_would_lose_a_value_is_not_moved(served):
    client, h, _ = served
    client.post(URL, json={"to_version": 2, "subject_ids": ["P001"], "reason": "amendment 2"}, headers=h["data_manager"])
    r = client.post("/api/v1/subjects/P001/records", headers=h["S01"], json={
        "visit": "SCREENING", "form": "DEMOG", "revision": 2, "reason": "ECOG", "values": {**DEMOG, "ECOG": "0"}})
    assert r.status_code == 200, r.text
    back = client.post(URL, json={"to_version": 1, "subject_ids": ["P001"], "reason": "roll back"},
                       headers=h["data_manager"]).json()
    assert back["migrated"] == [] and back["skipped"][0]["why"] == "version 1 has no field for ECOG"
    assert _demog(client, h["S01"], "P001")["values"]["ECOG"] == "0"


@pytest.mark.parametrize("url,payload,who,status,words", [
    (URL, {"to_version": 2}, "data_manager", 422, "reason: required"),
    (URL, {"to_version": 9, "reason": "x"}, "data_manager", 422, "has no version 9 (versions: [1, 2])"),
    ("/api/v1/forms/NOPE/migrate", {"to_version": 2, "reason": "x"}, "data_manager", 422, "not an entered form"),
    ("/api/v1/forms/RAND/migrate", {"to_version": 1, "reason": "x"}, "data_manager", 422, "not an entered form"),
    (URL, {"to_version": 2, "subject_ids": ["P001", "NOBODY"], "reason": "x"}, "data_manager", 404, "NOBODY"),
    (URL, {"to_version": 2, "reason": "x"}, "monitor", 403, "data_manager"),
])
def test_bad_requests_move_nothing(served, url, payload, who, status, words):
    client, h, _ = served
    r = client.post(url, json=payload, headers=h[who])
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert [_demog(client, h["S01"], s)["version"] for s in ("P001", "P002", "P003")] == [1, 1, 1]
