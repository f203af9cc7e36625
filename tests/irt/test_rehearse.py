"""`oncotrial rehearse`: the reconstructed PATINA trial (its first patients) run through the service's
API by concurrent site clients, with entry errors corrected through queries, verified and locked;
the analysis of the SDTM exported from the database equals the analysis of the simulator's own
SDTM, and the audit trail verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oncotrial.adam import adam_from_sdtm
from oncotrial.analysis import run_analysis
from oncotrial.cli import app as cli
from oncotrial.collect import sdtm_to_casebooks
from oncotrial.irt.db.engine import make_engine, read_tx
from oncotrial.irt.services.locks import database_hold
from oncotrial.jobs.rehearse import _first_subjects
from oncotrial.protocol import load_protocol
from oncotrial.sim import reconstruct

from ..same import assert_same
from .conftest import sql_rows

PATIENTS = 6

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulated():
    p = load_protocol("patina")
    sdtm = _first_subjects(reconstruct(p, 0).sdtm, PATIENTS)
    results = json.loads(json.dumps(run_analysis(adam_from_sdtm(sdtm, p), p).to_dict(), default=str))
    books, _ = sdtm_to_casebooks(p, sdtm, include_rand=False)
    return results, sum(len(b.records) for b in books)


def test_a_rehearsed_trial_analyses_as_the_simulator_meant_it(db_url, tmp_path, simulated):
    want, entries = simulated
    out = tmp_path / "rehearsal"
    r = CliRunner().invoke(cli, ["rehearse", "patina", "--db", db_url, "--out", str(out), "--clients", "4",
                                 "--patients", str(PATIENTS), "--error-rate", "0.05", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary == json.loads((out / "rehearsal.json").read_text())
    assert (summary["patients"], summary["entries"]) == (PATIENTS, entries)
    assert summary["saves"] == entries + summary["queries"]["raised_by_entry_errors"]
    assert summary["queries"]["raised_by_entry_errors"] > 0
    assert summary["queries"]["closed_by_correction"] >= summary["queries"]["raised_by_entry_errors"]
    assert summary["rows_not_collected"] == {} and summary["sdv_verified"] > 0
    assert_same(want, json.loads((out / "results.json").read_text())["results"])
    for name in ("report.html", "sdtm/define.xml", "sdtm/dm.xpt", "adam/adsl.csv"):
        assert (out / name).is_file(), name
    engine = make_engine(db_url)
    try:
        with read_tx(engine) as conn:
            hold = database_hold(conn)
    finally:
        engine.dispose()
    assert (hold["state"], hold["cutoff"]) == ("locked", summary["cutoff"])
    live = CliRunner().invoke(cli, ["analyze", "--db", db_url, "--out", str(tmp_path / "live")])
    assert live.exit_code == 0, live.output  # the live database analysed: the locked cut-off, the same numbers
    assert_same(want, json.loads((tmp_path / "live" / "results.json").read_text())["results"])
    verify = CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"])
    assert verify.exit_code == 0 and json.loads(verify.stdout)["ok"], verify.stdout
    again = CliRunner().invoke(cli, ["rehearse", "patina", "--db", db_url, "--out", str(tmp_path / "again"),
                                     "--seed", "1"])
    assert again.exit_code == 1 and "holds the rehearsal of PATINA with seed 0" in again.output


def test_a_trial_database_is_never_rehearsed_into(trial, tmp_path):
    r = CliRunner().invoke(cli, ["rehearse", "patina", "--db", trial.db_url, "--out", str(tmp_path / "r")])
    assert r.exit_code == 1 and "already holds a trial; a rehearsal starts from an empty database" in r.output


def test_a_trial_database_refuses_a_randomization_time(trial, client):
    from .conftest import auth, body

    r = client.post("/api/v1/randomizations", json=body("P001", randomized_at="2017-06-01T12:00:00Z"),
                    headers=auth(trial.tokens["S01"]))
    assert r.status_code == 422 and "randomized_at: only a rehearsal database" in r.json()["detail"]


def _server_of(db_url: str):
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "oncotrial.irt" in cmd and "serve" in cmd and db_url in cmd:
            return proc
    return None


def test_a_server_killed_mid_rehearsal_loses_no_acknowledged_save_and_the_rehearsal_resumes(sqlite_url, tmp_path,
                                                                                             simulated):
    import os
    import signal
    import threading
    import time

    from oncotrial.jobs.rehearse import rehearse

    want, entries = simulated
    out = tmp_path / "rehearsal"
    journal = out / "acknowledged.jsonl"
    failure: list[BaseException] = []

    def run() -> None:
        try:
            rehearse("patina", sqlite_url, out, clients=3, patients=PATIENTS, error_rate=0.05)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what stopped it
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    # kill the server once a few hundred saves are acknowledged (no clock: the journal's length)
    while worker.is_alive() and (not journal.exists() or len(journal.read_text().splitlines()) < 300):
        time.sleep(0.05)
    server = _server_of(sqlite_url)
    assert server is not None and worker.is_alive(), "the rehearsal ended before the server could be killed"
    os.killpg(server.pid, signal.SIGKILL)
    worker.join()
    assert failure and "run the same rehearse again to resume" in str(failure[0])
    acknowledged = [json.loads(line) for line in journal.read_text().splitlines()]
    stored = {(s, r): rev for s, r, rev in (tuple(x) for x in sql_rows(
        sqlite_url, "SELECT r.subject_id, f.record_key, f.revision FROM form_records f "
                    "JOIN randomizations r ON r.id = f.randomization_id"))}
    lost = [a for a in acknowledged if stored.get((a["subject_id"], a["record"]), 0) < a["revision"]]
    assert lost == [] and len(acknowledged) >= 300
    again = CliRunner().invoke(cli, ["rehearse", "patina", "--db", sqlite_url, "--out", str(out), "--clients", "3",
                                     "--patients", str(PATIENTS), "--error-rate", "0.05", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["resumed"] and summary["entries_found_saved"] > 0 and summary["entries"] == entries
    assert_same(want, json.loads((out / "results.json").read_text())["results"])
    verify = CliRunner().invoke(cli, ["audit", "verify", "--db", sqlite_url, "--json"])
    assert json.loads(verify.stdout)["ok"], verify.stdout
