"""Each tampering an insider with raw database access can do once the triggers are
dropped, and `oncotrial audit verify` naming it (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt import audit, audit_key
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.testing import Fixture, prepare_trial
from oncotrial.randomization import AllocationRow, rows_checksum

from .conftest import auth, body


@pytest.fixture
def randomized(db_url: str) -> Iterator[Fixture]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=8)
    with TestClient(create_app(Settings(db_url=db_url))) as client:
        for i, site in enumerate(["S01", "S01", "S02", "S01"]):
            r = client.post("/api/v1/randomizations", json=body(f"P{i}", site=site),
                            headers=auth(fx.tokens[site]))
            assert r.status_code == 201, r.text
        r = client.post("/api/v1/randomizations/P0/corrections", headers=auth(fx.statistician),
                        json={"strata_verified": {"induction_response": "SD"}, "reason": "source data check"})
        assert r.status_code == 201, r.text
    assert verify(fx.db_url) == []
    yield fx


def verify(db_url: str) -> list[str]:
    r = CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"])
    report = json.loads(r.stdout)
    assert r.exit_code == (0 if report["ok"] else 1)
    return report["problems"]


def tamper(db_url: str, *statements: str | tuple[str, dict]) -> None:
    """Run ``statements`` with every trigger out of the way, as a database owner could."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))  # triggers do not fire
        else:
            for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        for sql in statements:
            sql, params = (sql, {}) if isinstance(sql, str) else sql
            conn.execute(text(sql), params)
    engine.dispose()


def test_released_list_rows_are_named(randomized):
    tamper(randomized.db_url, "UPDATE allocation_list SET assigned = false")
    problems = verify(randomized.db_url)
    assert any("was used by randomization number" in p and "not marked assigned" in p for p in problems), problems


def test_list_rows_marked_used_without_a_randomization_are_named(randomized):
    tamper(randomized.db_url, "UPDATE allocation_list SET assigned = true WHERE id = (SELECT MAX(id) FROM "
                              "allocation_list WHERE assigned = false)")
    problems = verify(randomized.db_url)
    assert any("marked assigned but no randomization used it" in p for p in problems), problems


def test_a_changed_future_arm_is_named(randomized):
    tamper(randomized.db_url, "UPDATE allocation_list SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END "
                              "WHERE id = (SELECT MAX(id) FROM allocation_list)")
    problems = verify(randomized.db_url)
    assert any("rows differ from the list recorded at set-up" in p for p in problems), problems


@pytest.mark.parametrize("sql,field", [
    ("UPDATE randomizations SET site_id = (SELECT id FROM sites WHERE code = 'S02') WHERE subject_id = 'P1'", "site"),
    ("UPDATE randomizations SET randomized_by = (SELECT id FROM users WHERE name = 'statistician') "
     "WHERE subject_id = 'P1'", "randomized_by"),
    ("UPDATE randomizations SET randomized_at = '2020-01-01T00:00:00.000000Z' WHERE subject_id = 'P1'",
     "randomized_at"),
    ("UPDATE randomizations SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END WHERE subject_id = 'P1'", "arm"),
    ("UPDATE randomizations SET strata_randomized = strata_verified WHERE subject_id = 'P0'", "strata_randomized"),
    ("UPDATE randomizations SET strata_verified = strata_randomized WHERE subject_id = 'P0'", "strata_verified"),
    ("UPDATE randomizations SET randomization_number = 99 WHERE subject_id = 'P3'", "randomization_number"),
    ("UPDATE randomizations SET eligibility_confirmed = false WHERE subject_id = 'P1'", "eligibility_confirmed"),
])
def test_every_randomization_field_is_checked(randomized, sql, field):
    tamper(randomized.db_url, sql)
    problems = verify(randomized.db_url)
    assert any(p.startswith("randomization of 'P") and field in p for p in problems), problems


def test_a_moved_allocation_id_is_named(randomized):
    # P1 now points at an unused row of its own stratum: the positions and the list row differ.
    tamper(randomized.db_url, "UPDATE randomizations SET allocation_id = (SELECT MAX(a.id) FROM allocation_list a "
                              "WHERE a.stratum = randomizations.stratum AND a.assigned = false) "
                              "WHERE subject_id = 'P1'")
    problems = verify(randomized.db_url)
    assert any("randomization of 'P1'" in p for p in problems), problems
    assert any("allocation list" in p for p in problems), problems


def test_an_edited_correction_is_named(randomized):
    tamper(randomized.db_url, "UPDATE corrections SET reason = 'typo'")
    assert any("correction 1 of 'P0'" in p for p in verify(randomized.db_url))


def test_sites_and_users_are_checked(randomized):
    tamper(randomized.db_url, "UPDATE users SET role = 'admin' WHERE name = 'coord01'",
           "UPDATE sites SET country = 'FR' WHERE code = 'S02'")
    problems = verify(randomized.db_url)
    assert "user 'coord01' does not match the audit trail in: role" in problems, problems
    assert "site 'S02' does not match the audit trail in: country" in problems, problems


def _rewrite_with_plain_sha256(db_url: str, subject: str) -> None:
    """The attack a bare hash chain cannot see: change a link and recompute every hash after it."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        slot = conn.execute(text(f"SELECT allocation_id FROM randomizations WHERE subject_id = '{subject}'")).scalar()
        listed = conn.execute(text("SELECT id, stratum, sequence, block, block_size, arm FROM allocation_list "
                                   "ORDER BY id")).all()
    engine.dispose()
    flip = {"A": "B", "B": "A"}
    checksum = rows_checksum(AllocationRow(r.stratum, r.sequence, r.block, r.block_size,
                                           flip[r.arm] if r.id == slot else r.arm) for r in listed)
    statements: list = [f"UPDATE allocation_list SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END WHERE id = {slot}",
                        f"UPDATE trial_setup SET list_checksum = '{checksum}'"]
    prev = audit.GENESIS
    for r in rows:
        new = r["new"]
        if r["action"] == "randomize" and r["entity_id"] == subject:
            doc = json.loads(new)
            doc["arm"] = flip[doc["arm"]]
            new = audit.canonical(doc)
        if r["action"] == "init":
            new = audit.canonical({**json.loads(new), "list_checksum": checksum})
        body_ = audit.canonical([r["seq"], r["ts"], r["actor"], r["action"], r["entity"], r["entity_id"], r["old"],
                                 new, r["reason"]])
        digest = hashlib.sha256((prev + "\n" + body_).encode()).hexdigest()
        statements.append(("UPDATE audit_log SET new = :new, prev_hash = :prev, hash = :hash WHERE seq = :seq",
                           {"new": new, "prev": prev, "hash": digest, "seq": r["seq"]}))
        prev = digest
    statements.append(f"UPDATE audit_head SET hash = '{prev}'")
    statements.append("UPDATE randomizations SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END "
                      f"WHERE subject_id = '{subject}'")
    tamper(db_url, *statements)


def test_a_consistent_rewrite_of_the_chain_is_detected_by_the_signed_head(randomized):
    _rewrite_with_plain_sha256(randomized.db_url, "P2")
    problems = verify(randomized.db_url)
    # Links and tables agree with each other now; only the key-signed head tells.
    assert problems == ["audit head (seq {}) is not signed by the audit key: the chain was rewritten or the "
                        "head replaced outside the service".format(_head_seq(randomized.db_url))], problems


def _head_seq(db_url: str) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        seq = conn.execute(text("SELECT seq FROM audit_head")).scalar_one()
    engine.dispose()
    return seq


def test_verify_needs_the_configured_key_and_names_it(randomized, tmp_path, monkeypatch):
    path = audit_key.key_path(make_engine(randomized.db_url))
    moved = tmp_path / "elsewhere.key"
    shutil.move(path, moved)
    problems = verify(randomized.db_url)
    assert len(problems) == 1 and str(path) in problems[0] and "does not exist" in problems[0]
    # The configuration may name the file anywhere.
    monkeypatch.setenv(audit_key.ENV_KEY, str(moved))
    assert verify(randomized.db_url) == []
    # Another key is told apart from a forged head.
    other = tmp_path / "other.key"
    audit_key.create_key(other)
    monkeypatch.setenv(audit_key.ENV_KEY, str(other))
    problems = verify(randomized.db_url)
    assert len(problems) == 1 and "is not the key this chain was signed with" in problems[0]


def test_service_refuses_to_write_without_its_key(randomized, monkeypatch, tmp_path):
    monkeypatch.setenv(audit_key.ENV_KEY, str(tmp_path / "missing.key"))
    r = CliRunner().invoke(cli, ["irt", "add-site", "--db", randomized.db_url, "--site", "S09", "--country", "US"])
    assert r.exit_code == 2 and "missing.key" in r.stderr and "does not exist" in r.stderr
    monkeypatch.delenv(audit_key.ENV_KEY)
    engine = make_engine(randomized.db_url)
    with engine.connect() as conn:  # nothing half-written
        assert conn.execute(text("SELECT COUNT(*) FROM sites WHERE code = 'S09'")).scalar_one() == 0
    engine.dispose()
    assert verify(randomized.db_url) == []
