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
    verify = CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"])
    assert verify.exit_code == 0 and json.loads(verify.stdout)["ok"], verify.stdout
    again = CliRunner().invoke(cli, ["rehearse", "patina", "--db", db_url, "--out", str(tmp_path / "again"),
                                     "--patients", "2"])
    assert again.exit_code == 1 and "already holds a trial" in again.output


def test_a_trial_database_refuses_a_randomization_time(trial, client):
    from .conftest import auth, body

    r = client.post("/api/v1/randomizations", json=body("P001", randomized_at="2017-06-01T12:00:00Z"),
                    headers=auth(trial.tokens["S01"]))
    assert r.status_code == 422 and "randomized_at: only a rehearsal database" in r.json()["detail"]
