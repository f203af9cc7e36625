"""The investigator's electronic signature of a casebook through the API: password re-entered,
meaning recorded, a signature that says when the data changed under it, refusals that store
nothing, guessing limited, and signatures that cannot be rewritten (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.models import AuditEntry
from oncotrial.irt.services.errors import Invalid
from oncotrial.irt.services.signatures import MEANINGS
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import STRATA, auth, body

PASSWORD = "signing is a legal act"
AE = {"AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
      "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        h = {"S01": auth(fx.tokens["S01"])}
        for name, site, pw in (("pi01", "S01", PASSWORD), ("pi02", "S02", PASSWORD), ("sub01", "S01", None)):
            h[name] = auth(add_user(engine, name, "investigator", site=site, password=pw, actor="test")[1])
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        assert c.post("/api/v1/randomizations", json=body("P001", strata=dict(STRATA)), headers=h["S01"]).status_code == 201
        assert c.post("/api/v1/randomizations", json=body("P002", strata=dict(STRATA)), headers=h["S01"]).status_code == 201
        yield c, h, fx.db_url


def _sign(client, h, subject="P001", password=PASSWORD, meaning="approval"):
    return client.post(f"/api/v1/subjects/{subject}/signature", json={"password": password, "meaning": meaning},
                       headers=h)


def _enter(client, h, values, **place):
    r = client.post("/api/v1/subjects/P001/records", json={"visit": "LOG", "form": "AE", **place, "values": values},
                    headers=h)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _signatures(client, h) -> list[dict]:
    return client.get("/api/v1/subjects/P001/casebook", headers=h).json()["signatures"]


def _audit_len(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    finally:
        engine.dispose()


def test_a_signature_records_its_meaning_and_shows_when_the_data_changed_under_it(served):
    client, h, db_url = served
    rec = _enter(client, h["pi01"], AE, seq=1)  # investigators enter data too
    r = _sign(client, h["pi01"])
    assert r.status_code == 201, r.text
    signed = r.json()
    assert (signed["signed_by"], signed["meaning"], signed["statement"]) == ("pi01", "approval", MEANINGS["approval"])
    assert [s["covers_current_data"] for s in _signatures(client, h["S01"])] == [True]
    _enter(client, h["S01"], {**AE, "AETOXGR": "2"}, seq=1, revision=rec["revision"], reason="chart")
    assert [s["covers_current_data"] for s in _signatures(client, h["S01"])] == [False]
    assert _sign(client, h["pi01"], meaning="review").status_code == 201
    assert [(s["meaning"], s["covers_current_data"]) for s in _signatures(client, h["S01"])] == \
        [("approval", False), ("review", True)]
    report = json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)
    assert report["ok"], report["problems"]


@pytest.mark.parametrize("who,subject,password,meaning,status,words", [
    ("pi01", "P001", "wrong", "approval", 403, "password: does not match"),
    ("pi01", "P001", PASSWORD, "authorship", 422, "expected one of approval, review"),
    ("pi01", "P002", PASSWORD, "approval", 422, "no entries to sign"),
    ("pi02", "P001", PASSWORD, "approval", 404, "at your site"),
    ("sub01", "P001", PASSWORD, "approval", 422, "no password to sign with"),
    ("S01", "P001", PASSWORD, "approval", 403, "allowed: investigator"),
])
def test_a_refused_signature_stores_nothing(served, who, subject, password, meaning, status, words):
    client, h, db_url = served
    _enter(client, h["S01"], AE, seq=1)
    before = _audit_len(db_url)
    r = _sign(client, h[who], subject, password, meaning)
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert _signatures(client, h["S01"]) == [] and _audit_len(db_url) == before


def test_guessing_the_password_through_the_signature_is_limited(served):
    client, h, _ = served
    _enter(client, h["S01"], AE, seq=1)
    codes = [_sign(client, h["pi01"], password=f"guess {i}").status_code for i in range(6)]
    assert codes == [403] * 5 + [429]
    limited = _sign(client, h["pi01"])  # even the right password waits
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_signatures_cannot_be_rewritten_and_one_slipped_in_is_found(served):
    client, h, db_url = served
    _enter(client, h["S01"], AE, seq=1)
    assert _sign(client, h["pi01"]).status_code == 201
    engine = make_engine(db_url)
    try:
        for sql in ("UPDATE signatures SET meaning = 'review'", "DELETE FROM signatures"):
            with pytest.raises(Exception, match="never changed or deleted"):
                with engine.begin() as conn:
                    conn.execute(text(sql))
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO signatures (randomization_id, signed_by, signed_at, meaning, statement, "
                              "content_hash) SELECT randomization_id, signed_by, signed_at, meaning, statement, "
                              "content_hash FROM signatures"))
    finally:
        engine.dispose()
    report = json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)
    assert "signatures of casebook 'P001' do not match the audit trail (2 in the database, 1 in the trail)" \
        in report["problems"]


def test_an_investigator_belongs_to_a_site(trial):
    engine = make_engine(trial.db_url)
    try:
        with pytest.raises(Invalid, match="role investigator needs --site"):
            add_user(engine, "pi99", "investigator", password=PASSWORD, actor="test")
    finally:
        engine.dispose()
