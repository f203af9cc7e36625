"""`oncotrial interim --db`: the interim analysis of the live database. The open report needs no
account; the closed one only the unblinded statistician's, and its request is on the audit chain."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user

from .conftest import sql_rows

pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def locked_db(tmp_path_factory) -> str:
    """The first six PATINA patients rehearsed through the service into SQLite, locked at the cut-off."""
    from oncotrial.irt.config import normalize_db_url

    folder = tmp_path_factory.mktemp("interim_db")
    url = normalize_db_url(folder / "trial.sqlite")
    res = runner.invoke(app, ["rehearse", "patina", "--db", url, "--out", str(folder / "rehearsal"), "--clients", "2",
                              "--patients", "6", "--error-rate", "0", "--json"])
    assert res.exit_code == 0, res.output
    return url


def _user(url: str, name: str, role: str) -> None:
    engine = make_engine(url)
    try:
        add_user(engine, name, role, password="correct horse battery", actor="test")
    finally:
        engine.dispose()


def test_the_open_report_of_the_live_database_needs_no_account(locked_db, tmp_path):
    res = runner.invoke(app, ["interim", "--db", locked_db, "--out", str(tmp_path / "open"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["report"] == "open" and doc["database"]["state"] == "locked"
    assert doc["looks"][0]["cutoff"] == doc["database"]["cutoff"] and doc["looks"][0]["n_randomized"] == 6
    assert not (tmp_path / "open" / "interim_closed.json").exists()


def test_the_closed_report_is_for_the_unblinded_statistician_only(locked_db, tmp_path, monkeypatch):
    _user(locked_db, "dm_interim", "data_manager")
    _user(locked_db, "stat_interim", "statistician")
    monkeypatch.setenv("ONCOTRIAL_PASSWORD", "correct horse battery")
    out = tmp_path / "closed"
    res = runner.invoke(app, ["interim", "--db", locked_db, "--out", str(out), "--closed", "DMC meeting 7",
                              "--user", "dm_interim"])
    assert res.exit_code == 1 and "only the unblinded statistician's role" in res.output and not out.exists()
    monkeypatch.setenv("ONCOTRIAL_PASSWORD", "wrong")
    res = runner.invoke(app, ["interim", "--db", locked_db, "--out", str(out), "--closed", "DMC meeting 7",
                              "--user", "stat_interim"])
    assert res.exit_code == 1 and "no active account 'stat_interim' with that password" in res.output
    monkeypatch.setenv("ONCOTRIAL_PASSWORD", "correct horse battery")
    res = runner.invoke(app, ["interim", "--db", locked_db, "--out", str(out), "--closed", "DMC meeting 7",
                              "--user", "stat_interim", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["report"] == "closed" and (out / "interim_open.json").is_file()
    rows = sql_rows(locked_db, "SELECT actor, reason FROM audit_log WHERE action = 'unblinded_analysis'")
    assert ("stat_interim (statistician)", "DMC meeting 7") in [tuple(r) for r in rows]
    verify = runner.invoke(app, ["audit", "verify", "--db", locked_db, "--json"])
    assert verify.exit_code == 0 and json.loads(verify.stdout)["ok"], verify.stdout


def test_the_closed_report_needs_an_account(locked_db, tmp_path):
    res = runner.invoke(app, ["interim", "--db", locked_db, "--out", str(tmp_path / "c"), "--closed", "DMC"])
    assert res.exit_code == 1 and "--user: the closed report needs" in res.output
    res = runner.invoke(app, ["interim", "--db", locked_db, "--out", str(tmp_path / "c"), "--user", "x"])
    assert res.exit_code == 2 and "--user goes with --closed" in res.output
