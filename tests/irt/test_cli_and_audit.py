"""The bootstrap CLI exactly as the acceptance tests use it, the schema migration,
the append-only guards, and tamper detection by `oncotrial audit verify`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.migrate import current_revision, head_revision
from oncotrial.irt.db.models import Base


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def oncotrial(*args: str) -> Result:
    """Run the real `oncotrial` command in-process (a subprocess costs seconds of imports)."""
    r = CliRunner().invoke(app, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(r.exit_code, r.stdout, r.stderr)


def test_the_installed_command_runs_as_a_process(tmp_path):
    db = str(tmp_path / "p.db")
    assert oncotrial("irt", "init", "--protocol", "patina", "--db", db, "--per-stratum", "4").returncode == 0
    r = subprocess.run([sys.executable, "-m", "oncotrial", "audit", "verify", "--db", db], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "intact" in r.stdout


def test_bootstrap_cli_with_plain_sqlite_path(tmp_path):
    db = str(tmp_path / "trial.db")
    r = oncotrial("irt", "init", "--protocol", "patina", "--db", db, "--seed", "7")
    assert r.returncode == 0, r.stderr
    assert "16 strata" in r.stdout and "checksum" in r.stdout
    assert "A," not in r.stdout  # the list itself is never printed
    assert oncotrial("irt", "add-site", "--db", db, "--site", "S01", "--country", "US").returncode == 0
    r = oncotrial("irt", "add-user", "--db", db, "--name", "alice", "--role", "site_coordinator", "--site", "S01",
                  "--password", "s3cret-pass")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("ot_") and len(token) > 40
    # The token is stored only hashed.
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
        pw = conn.execute(text("SELECT password_hash FROM users WHERE name='alice'")).scalar_one()
    engine.dispose()
    assert token not in stored and all(len(h) == 64 for h in stored)
    assert pw.startswith("scrypt$") and "s3cret-pass" not in pw
    r = oncotrial("audit", "verify", "--db", db)
    assert r.returncode == 0 and "intact" in r.stdout
    assert current_revision(make_engine(f"sqlite:///{db}")) == head_revision()
    r = oncotrial("irt", "upgrade", "--db", db)
    assert r.returncode == 0 and f"revision {head_revision()}" in r.stdout


@pytest.mark.parametrize("args,words", [
    (["irt", "add-user", "--name", "bob", "--role", "superuser"], ["role", "superuser", "site_coordinator"]),
    (["irt", "add-user", "--name", "bob", "--role", "site_coordinator"], ["site", "site_coordinator"]),
    (["irt", "add-user", "--name", "bob", "--role", "site_coordinator", "--site", "S77"], ["site", "S77"]),
    (["irt", "add-site", "--site", "S02", "--country", "usa"], ["country", "usa"]),
    (["irt", "add-site", "--site", "S01", "--country", "US"], ["S01", "already exists"]),
    (["irt", "init", "--protocol", "patina"], ["already holds a trial"]),
])
def test_cli_errors_name_the_problem(tmp_path, args, words):
    db = str(tmp_path / "t.db")
    assert oncotrial("irt", "init", "--protocol", "patina", "--db", db, "--per-stratum", "4").returncode == 0
    assert oncotrial("irt", "add-site", "--db", db, "--site", "S01", "--country", "US").returncode == 0
    r = oncotrial(*args, "--db", db)
    assert r.returncode == 2, (r.stdout, r.stderr)
    for w in words:
        assert w in r.stderr, r.stderr


def test_cli_refuses_an_uninitialized_database(tmp_path):
    r = oncotrial("audit", "verify", "--db", str(tmp_path / "empty.db"))
    assert r.returncode == 2 and "irt init" in r.stderr


def test_list_seed_is_secret_unless_given(tmp_path):
    """The protocol file is public: a list seeded from it could be rebuilt by any site."""
    lines = [oncotrial("irt", "init", "--protocol", "patina", "--db", str(tmp_path / f"{i}.db")).stdout
             for i in range(2)]
    checksums = [ln.rsplit("checksum ", 1)[1].strip() for ln in lines]
    assert checksums[0] != checksums[1]
    public = oncotrial("irt", "init", "--protocol", "patina", "--db", str(tmp_path / "p.db"), "--seed", "20170601")
    assert public.stdout.rsplit("checksum ", 1)[1].strip() not in checksums


def _downgrade(engine, revision: str) -> None:
    from alembic import command

    from oncotrial.irt.db.migrate import alembic_config

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_serve_refuses_a_schema_behind_the_code_and_upgrade_signs_an_old_chain(tmp_path):
    db = tmp_path / "old.db"
    assert oncotrial("irt", "init", "--protocol", "patina", "--db", str(db), "--per-stratum", "4").returncode == 0
    assert oncotrial("irt", "add-site", "--db", str(db), "--site", "S01", "--country", "US").returncode == 0
    engine = make_engine(f"sqlite:///{db}")
    _downgrade(engine, "0002")  # a database as oncotrial made it before the signed head
    engine.dispose()
    (tmp_path / "old.db.audit-key").unlink()  # nor was there a key
    r = oncotrial("serve", "--db", str(db), "--port", "1")
    assert r.returncode == 2 and "oncotrial irt upgrade" in r.stderr and "0002" in r.stderr
    r = oncotrial("irt", "upgrade", "--db", str(db))
    assert r.returncode == 0 and "head signed" in r.stdout, r.stderr
    engine = make_engine(f"sqlite:///{db}")
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert (tmp_path / "old.db.audit-key").is_file()
    r = oncotrial("audit", "verify", "--db", str(db), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True


def test_upgrade_refuses_to_sign_a_broken_chain(tmp_path):
    db = tmp_path / "old.db"
    assert oncotrial("irt", "init", "--protocol", "patina", "--db", str(db), "--per-stratum", "4").returncode == 0
    engine = make_engine(f"sqlite:///{db}")
    _downgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER irt_guard_audit_log_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1"))
    engine.dispose()
    r = oncotrial("irt", "upgrade", "--db", str(db))
    assert r.returncode == 2 and "broken" in r.stderr and "seq 1" in r.stderr


def test_migration_matches_models_and_guards_hold(db_url):
    from fastapi.testclient import TestClient

    from oncotrial.irt.app import create_app
    from oncotrial.irt.config import Settings
    from oncotrial.irt.testing import prepare_trial

    from .conftest import auth, body

    fx = prepare_trial(db_url, n_sites=1, per_stratum=4)
    with TestClient(create_app(Settings(db_url=db_url))) as client:
        r = client.post("/api/v1/randomizations", json=body("X1"), headers={**auth(fx.tokens["S01"]),
                                                                            "Idempotency-Key": "k1"})
        assert r.status_code == 201
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    refused = [
        "DELETE FROM audit_log", "UPDATE audit_log SET reason = 'x'", "DELETE FROM randomizations",
        "UPDATE randomizations SET arm = 'B'", "UPDATE randomizations SET site_id = 2",
        "UPDATE randomizations SET randomized_at = 'x'", "UPDATE allocation_list SET arm = 'B'",
        "DELETE FROM allocation_list",
        # released list rows made a stratum answer 409 forever
        "UPDATE allocation_list SET assigned = false",
        "INSERT INTO allocation_list (stratum, sequence, block, block_size, arm, assigned) "
        "VALUES ('s', 1, 1, 2, 'A', false)",
        "INSERT INTO randomizations (randomization_number, subject_id, site_id, arm, stratum, strata_randomized, "
        "strata_verified, allocation_id, eligibility_confirmed, randomized_at, randomized_by) "
        "VALUES (2, 'X2', 1, 'A', 's', '{}', '{}', 2, true, 't', 1)",
        "UPDATE counters SET value = 0", "UPDATE counters SET value = value + 5", "DELETE FROM counters",
        "UPDATE audit_head SET seq = 1", "UPDATE audit_head SET hash = 'x'", "DELETE FROM audit_head",
        "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, 'x')",
        "INSERT INTO audit_log (seq, ts, actor, action, entity, entity_id, old, new, reason, prev_hash, hash) "
        "VALUES (1000, 't', 'a', 'b', 'c', 'd', 'null', 'null', '', 'x', 'y')",
        "UPDATE trial_setup SET seed = 1", "UPDATE trial_setup SET list_checksum = 'x'", "DELETE FROM trial_setup",
        "UPDATE idempotency_keys SET key = 'k2'", "DELETE FROM idempotency_keys",
    ]
    for sql in refused:
        with pytest.raises(DatabaseError):
            with engine.begin() as conn:
                conn.execute(text(sql))
                pytest.fail(f"not refused: {sql}")
    with engine.begin() as conn:  # the verified strata are the one thing a correction changes
        conn.execute(text("UPDATE randomizations SET strata_verified = '{\"a\": 1}'"))
    engine.dispose()


def test_audit_verify_detects_tampering(trial):
    from fastapi.testclient import TestClient

    from oncotrial.irt.app import create_app
    from oncotrial.irt.config import Settings

    from .conftest import auth, body

    with TestClient(create_app(Settings(db_url=trial.db_url))) as client:
        for i in range(3):
            assert client.post("/api/v1/randomizations", json=body(f"P{i}"),
                               headers=auth(trial.tokens["S01"])).status_code == 201
    db = trial.db_url
    assert oncotrial("audit", "verify", "--db", db).returncode == 0
    engine = make_engine(db)
    # An insider with raw database access drops the guard and edits a past link.
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER irt_guard_audit_log_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3"))
    r = oncotrial("audit", "verify", "--db", db)
    assert r.returncode == 1 and "seq 3" in r.stdout and "altered" in r.stdout
    with engine.begin() as conn:  # put it back: intact again
        conn.execute(text("UPDATE audit_log SET actor = 'loadgen' WHERE seq = 3"))
    assert oncotrial("audit", "verify", "--db", db).returncode == 0
    # Editing a randomization around the API is caught against its audit record.
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER irt_guard_randomizations_update"))
        conn.execute(text("UPDATE randomizations SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END "
                          "WHERE subject_id = 'P1'"))
    r = oncotrial("audit", "verify", "--db", db)
    assert r.returncode == 1 and "P1" in r.stdout
    # Dropping the newest link is caught by the head.
    with engine.begin() as conn:
        conn.execute(text("UPDATE randomizations SET arm = CASE arm WHEN 'A' THEN 'B' ELSE 'A' END "
                          "WHERE subject_id = 'P1'"))
        conn.execute(text("DROP TRIGGER irt_guard_audit_log_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"))
    r = oncotrial("audit", "verify", "--db", db)
    assert r.returncode == 1 and "head" in r.stdout
    engine.dispose()
