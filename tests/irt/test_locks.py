"""Freeze and lock at three levels (one record, a casebook, the database at a cut-off) through the
API: what each stops and what goes on, who may change them, the reasons, the audit chain, and the
upgrade from casebook-only locks (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.migrate import upgrade
from oncotrial.irt.db.models import AuditEntry
from oncotrial.irt.services.locks import check_locks
from oncotrial.irt.services.monitors import assign_sites
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import STRATA, auth, body
from .test_cli_and_audit import _downgrade
from .test_tamper_evidence import tamper, verify

PASSWORD = "signing is a legal act"
AE = {"AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
      "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}
AE1, AE2 = "LOG|AE|1", "LOG|AE|2"


@dataclass
class Trial:
    client: TestClient
    h: dict[str, dict[str, str]]
    db_url: str

    def save(self, seq: int = 1, subject: str = "P001", grade: str = "1", revision: int | None = None):
        site = "S01" if subject == "P001" else "S02"
        payload = {"visit": "LOG", "form": "AE", "seq": seq, "values": {**AE, "AETOXGR": grade}}
        if revision is not None:
            payload |= {"revision": revision, "reason": "chart re-read"}
        return self.client.post(f"/api/v1/subjects/{subject}/records", json=payload, headers=self.h[site])

    def hold(self, action: str, subject: str | None = "P001", **payload):
        path = f"/api/v1/database/{action}" if subject is None else f"/api/v1/subjects/{subject}/{action}"
        return self.client.post(path, json=payload, headers=self.h["data_manager"])

    def book(self, subject: str = "P001") -> dict:
        return self.client.get(f"/api/v1/subjects/{subject}/casebook", headers=self.h["data_manager"]).json()

    def query(self, record: str = AE1, subject: str = "P001"):
        return self.client.post(f"/api/v1/subjects/{subject}/queries", json={"record": record, "text": "Source?"},
                                headers=self.h["monitor"])

    def sdv(self, record: str = AE1, revision: int = 1):
        return self.client.post("/api/v1/subjects/P001/sdv", json={"record": record, "revision": revision},
                                headers=self.h["monitor"])

    def sign(self):
        return self.client.post("/api/v1/subjects/P001/signature", json={"password": PASSWORD, "meaning": "approval"},
                                headers=self.h["pi01"])

    def audit_len(self) -> int:
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        finally:
            engine.dispose()


@pytest.fixture
def t(db_url: str) -> Iterator[Trial]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        h = {site: auth(tok) for site, tok in fx.tokens.items()}
        for role in ("monitor", "data_manager"):
            h[role] = auth(add_user(engine, f"{role}1", role, actor="test")[1])
        h["pi01"] = auth(add_user(engine, "pi01", "investigator", site="S01", password=PASSWORD, actor="test")[1])
        assign_sites(engine, "monitor1", ["S01", "S02"], reason="monitors both sites", actor="test")
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        for subject, site in (("P001", "S01"), ("P002", "S02")):
            assert c.post("/api/v1/randomizations", json=body(subject, site, strata=dict(STRATA)),
                          headers=h[site]).status_code == 201
        trial = Trial(c, h, fx.db_url)
        for subject in ("P001", "P002"):
            assert trial.save(subject=subject).status_code == 201
        yield trial


def test_a_frozen_casebook_takes_no_data_but_queries_sdv_and_signatures_go_on(t):
    r = t.hold("freeze", reason="ready for the investigator's signature")
    assert r.status_code == 200 and (r.json()["state"], r.json()["scope"], r.json()["locked"]) == (
        "frozen", "casebook", False)
    assert (t.book()["state"], t.book()["locked"]) == ("frozen", False)
    before = t.audit_len()
    for refused in (t.save(revision=1, grade="2"), t.save(seq=2)):
        assert refused.status_code == 409, refused.text
        assert "subject_id: the casebook of 'P001' is frozen" in refused.json()["detail"]
        assert "ask the data manager to unfreeze it" in refused.json()["detail"]
    assert t.audit_len() == before  # refusals store nothing
    assert t.save(subject="P002", seq=2).status_code == 201  # other casebooks stay open

    qid = t.query().json()["id"]
    assert t.client.post(f"/api/v1/queries/{qid}/answer", json={"text": "as in the chart"},
                         headers=t.h["S01"]).status_code == 200
    assert t.client.post(f"/api/v1/queries/{qid}/close", json={}, headers=t.h["monitor"]).status_code == 200
    assert t.sdv().status_code == 201
    assert t.sign().status_code == 201

    no_reason = t.hold("unfreeze")
    assert no_reason.status_code == 422 and "reason: required to unfreeze the casebook of 'P001'" in no_reason.text
    assert t.hold("unfreeze", reason="late lab result").json()["state"] == "open"
    assert t.save(revision=1, grade="2").status_code == 200
    assert verify(t.db_url) == []


def test_a_locked_casebook_stops_everything_until_unlocked(t):
    assert t.hold("freeze").status_code == 200
    assert t.hold("lock", reason="clean").json()["state"] == "locked"  # a lock may follow a freeze
    assert (t.book()["state"], t.book()["locked"]) == ("locked", True)
    before = t.audit_len()
    for refused, doing in ((t.save(revision=1, grade="2"), "save LOG|AE|1"), (t.query(), "raise a query"),
                           (t.sdv(), "mark source-data verification"), (t.sign(), "sign the casebook")):
        assert refused.status_code == 409, refused.text
        assert f"the casebook of 'P001' is locked: cannot {doing}; ask the data manager to unlock it" in \
            refused.json()["detail"]
    assert t.audit_len() == before

    again = t.hold("freeze")
    assert again.status_code == 409 and "is locked; only data open can take 'freeze'" in again.text
    assert t.hold("lock").status_code == 409
    assert t.hold("unfreeze", reason="x").status_code == 409  # a lock is lifted by unlock
    assert t.hold("unlock", reason="query from the sponsor").json()["state"] == "open"
    assert t.save(revision=1, grade="2").status_code == 200
    assert verify(t.db_url) == []


def test_one_record_is_locked_while_the_rest_of_the_casebook_changes(t):
    assert t.save(seq=2).status_code == 201
    qid = t.query(AE2).json()["id"]
    held = t.hold("lock", record=AE2)
    assert held.status_code == 409 and f"query {qid}, MANUAL on {AE2}" in held.json()["detail"]
    assert t.client.post(f"/api/v1/queries/{qid}/close", json={"reason": "source seen"},
                         headers=t.h["monitor"]).status_code == 200
    r = t.hold("lock", record=AE2, reason="adjudicated SAE")
    assert r.status_code == 200 and (r.json()["scope"], r.json()["record"]) == ("record", AE2)

    refused = t.save(seq=2, revision=1, grade="3")
    assert refused.status_code == 409 and f"record: {AE2} of 'P001' is locked" in refused.json()["detail"]
    assert t.save(seq=1, revision=1, grade="2").status_code == 200  # the other record changes
    book = t.book()
    assert book["state"] == "open" and {e["record"]: e["lock_state"] for e in book["records"]} == {
        AE1: "open", AE2: "locked"}
    assert t.query(AE2).status_code == 409 and t.query(AE1).status_code == 201

    missing = t.hold("freeze", record="LOG|AE|9")
    assert missing.status_code == 422 and "record: 'P001' has no saved record 'LOG|AE|9'" in missing.text
    assert t.hold("unlock", record=AE2, reason="sponsor asked").json()["state"] == "open"
    assert t.save(seq=2, revision=1, grade="3").status_code == 200
    assert verify(t.db_url) == []


def test_the_database_is_frozen_then_locked_at_a_cutoff(t):
    assert t.client.get("/api/v1/database", headers=t.h["S01"]).json()["state"] == "open"
    r = t.hold("freeze", subject=None, cutoff="2026-06-30", reason="primary analysis cut-off")
    assert r.status_code == 200 and (r.json()["scope"], r.json()["cutoff"]) == ("database", "2026-06-30")
    state = t.client.get("/api/v1/database", headers=t.h["S01"]).json()
    assert (state["state"], state["cutoff"], state["changed_by"], state["reason"]) == (
        "frozen", "2026-06-30", "data_manager1", "primary analysis cut-off")
    for subject in ("P001", "P002"):
        refused = t.save(subject=subject, seq=2)
        assert refused.status_code == 409 and "database: the database is frozen at cut-off 2026-06-30" in refused.text
        assert t.book(subject)["state"] == "frozen"
    qid = t.query().json()["id"]  # queries go on

    blocked = t.hold("lock", subject=None, cutoff="2026-06-30")
    assert blocked.status_code == 409 and f"query {qid} of 'P001'" in blocked.json()["detail"]
    assert t.client.post(f"/api/v1/queries/{qid}/close", json={"reason": "resolved by phone"},
                         headers=t.h["monitor"]).status_code == 200
    assert t.hold("lock", subject=None, cutoff="2026-06-30", reason="primary analysis").json()["state"] == "locked"
    assert t.query().status_code == 409
    assert t.hold("unlock", subject=None, reason="database re-opened for the final analysis").json()["state"] == "open"
    assert t.client.get("/api/v1/database", headers=t.h["S01"]).json()["cutoff"] is None
    assert t.save(subject="P001", seq=2).status_code == 201
    assert verify(t.db_url) == []


@pytest.mark.parametrize("payload, words", [
    ({}, "cutoff: a database lock needs its data cut-off date (YYYY-MM-DD)"),
    ({"cutoff": "2026-13-01"}, "cutoff: '2026-13-01' is not a date (YYYY-MM-DD)"),
    ({"cutoff": "2026-6-30"}, "cutoff: '2026-6-30' is not a date (YYYY-MM-DD)"),
])
def test_a_database_lock_needs_a_real_cutoff_date(t, payload, words):
    before = t.audit_len()
    r = t.hold("lock", subject=None, **payload)
    assert r.status_code == 422 and words in r.json()["detail"]
    assert t.audit_len() == before
    casebook_cutoff = t.hold("lock", cutoff="2026-06-30")
    assert casebook_cutoff.status_code == 422 and "cutoff: unknown field" in casebook_cutoff.text


def test_only_data_managers_change_holds(t):
    for who in ("S01", "monitor", "pi01"):
        for path in ("/api/v1/subjects/P001/freeze", "/api/v1/database/freeze"):
            r = t.client.post(path, json={}, headers=t.h[who])
            assert r.status_code == 403, r.text
    assert t.book()["state"] == "open"


def test_a_hold_changed_behind_the_services_back_is_found(t):
    assert t.hold("lock").status_code == 200
    tamper(t.db_url, "UPDATE data_locks SET state = 'open'")
    assert "the casebook of 'P001' is open but the audit trail says locked" in verify(t.db_url)
    tamper(t.db_url, "INSERT INTO data_locks (scope, target, state, changed_at, changed_by, reason) "
                     "SELECT 'database', '', 'locked', '2026-01-01T00:00:00Z', id, '' FROM users "
                     "WHERE name = 'data_manager1'")
    assert "the database is locked but has no audit record" in verify(t.db_url)


def test_casebook_locks_survive_the_upgrade_to_three_levels(t):
    assert t.hold("lock", subject="P002").status_code == 200
    engine = make_engine(t.db_url)
    try:
        _downgrade(engine, "0010")  # casebook_locks holds the lock now
        upgrade(engine)
    finally:
        engine.dispose()
    assert t.book("P002")["state"] == "locked" and t.book("P001")["state"] == "open"
    assert t.save(subject="P002", seq=2).status_code == 409
    assert verify(t.db_url) == []


def test_casebook_links_written_before_three_levels_still_check(t):
    assert t.hold("lock").status_code == 200
    old_style = [SimpleNamespace(entity_id="P001", new=json.dumps({"locked": True}))]
    engine = make_engine(t.db_url)
    try:
        with engine.connect() as conn:
            assert check_locks(conn, {"casebook": old_style}) == []
            unlocked = [*old_style, SimpleNamespace(entity_id="P001", new=json.dumps({"locked": False}))]
            assert check_locks(conn, {"casebook": unlocked}) == [
                "the casebook of 'P001' is locked but the audit trail says open"]
    finally:
        engine.dispose()
