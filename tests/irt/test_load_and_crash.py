"""Reliability under load over loopback, against a real uvicorn process:
2,000 patients from 32 concurrent clients, the server killed with SIGKILL in the middle
and restarted, clients retrying with the same Idempotency-Key.

Afterwards: numbers 1..N with no duplicate or gap, every stratum's list consumed in
sequence order with the list's own arms, every 201 a client received is in the database
unchanged, replays equal the original, nothing half-written, the audit chain intact."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from sqlalchemy import select

from oncotrial.irt.audit import verify_chain
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.models import AllocationRow, AuditEntry, IdempotencyKey, Randomization
from oncotrial.irt.loadgen import ServerProcess, make_patients, prepare_trial, run_load
from oncotrial.irt.services.allocation import verify_records

N_PATIENTS = 2000
CLIENTS = 32
KILL_AFTER = 700


def _check_database(db_url: str, created: dict[str, dict]) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rand = conn.execute(select(Randomization.__table__)).all()
        slots = {r.id: r for r in conn.execute(select(AllocationRow.__table__)).all()}
        keys = conn.execute(select(IdempotencyKey.__table__)).all()
        audits = conn.execute(select(AuditEntry.action, AuditEntry.entity_id)
                              .where(AuditEntry.action == "randomize")).all()
        chain = verify_chain(conn)
        record_problems = verify_records(conn)
    engine.dispose()

    numbers = sorted(r.randomization_number for r in rand)
    assert numbers == list(range(1, len(rand) + 1)), "duplicate or skipped randomization number"
    # Nothing half-written: each randomization has its slot, its audit link and its key, and no
    # slot is marked used without a randomization.
    assert len({r.allocation_id for r in rand}) == len(rand)
    assert sum(1 for s in slots.values() if s.assigned) == len(rand)
    assert sorted(a.entity_id for a in audits) == sorted(r.subject_id for r in rand)
    assert len(keys) == len(rand)
    # Each stratum's list consumed in order: in number order, the slots are 1, 2, 3, ... and the
    # arm given is the arm of the slot.
    by_stratum: dict[str, list] = {}
    for r in sorted(rand, key=lambda r: r.randomization_number):
        slot = slots[r.allocation_id]
        assert slot.stratum == r.stratum and slot.arm == r.arm
        by_stratum.setdefault(r.stratum, []).append(slot.sequence)
    for stratum, seqs in by_stratum.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"stratum {stratum} not consumed in order"
    # Every 201 the clients received is in the database, exactly as answered.
    in_db = {r.subject_id: r for r in rand}
    for subject, answer in created.items():
        row = in_db[subject]
        assert (row.randomization_number, row.arm, json.loads(row.strata_randomized)) == (
            answer["randomization_number"], answer["arm"], answer["strata"])
    assert chain.ok, chain.problems
    assert record_problems == []


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["1-worker", "2-workers"])
def test_2000_patients_32_clients_survive_sigkill(db_url, workers):
    """With 2 uvicorn worker processes, two group committers compete for the database:
    the database's own locks (SQLite BEGIN IMMEDIATE, PostgreSQL row locks) keep it right."""
    fixture = prepare_trial(db_url, n_sites=CLIENTS, per_stratum=300)
    patients = make_patients(fixture, N_PATIENTS, seed=11)
    server = ServerProcess(db_url, workers=workers).start()
    current = {"url": server.base_url}
    reached = threading.Event()
    restarts = []

    def killer() -> None:
        if not reached.wait(timeout=240):
            return
        server.kill(signal.SIGKILL)
        restarts.append(time.monotonic())
        server.start()  # same port: clients keep retrying the same URL

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        result = run_load(lambda: current["url"], fixture, patients, concurrency=CLIENTS, replay_every=40,
                          deadline_s=200, progress=reached, progress_at=KILL_AFTER)
    finally:
        t.join(timeout=60)
        server.kill(signal.SIGTERM)
    assert restarts, "the server was never killed"
    assert result.retries > 0, "the kill happened after the load had finished"
    assert result.errors == []
    assert len(result.created) == N_PATIENTS
    for original, replay in result.replays:
        assert replay["status"] == 201
        assert {k: replay[k] for k in original} == original
    assert len(result.replays) == N_PATIENTS // 40
    _check_database(db_url, result.created)


def test_simultaneous_duplicates_randomize_once(db_url):
    """32 simultaneous copies of one request (same key), then 32 of one subject with
    different keys: one randomization each time, every same-key answer identical, the
    different-key copies refused with 409 (these land in one group commit together)."""
    import httpx
    from concurrent.futures import ThreadPoolExecutor

    fixture = prepare_trial(db_url, n_sites=2, per_stratum=20)
    p = make_patients(fixture, 2, seed=5)
    barrier = threading.Barrier(32)

    def send(args: tuple[int, str]) -> tuple[int, dict]:
        i, key = args
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            barrier.wait()
            r = c.post("/api/v1/randomizations", json=p[0].body() if key != "varies" else p[1].body(),
                       headers={"Authorization": f"Bearer {fixture.tokens[p[0].site if key != 'varies' else p[1].site]}",
                                "Idempotency-Key": key if key != "varies" else f"k{i}"})
            return r.status_code, r.json()

    with ServerProcess(db_url) as server, ThreadPoolExecutor(32) as pool:
        same = list(pool.map(send, [(i, "one-key") for i in range(32)]))
        barrier.reset()
        varied = list(pool.map(send, [(i, "varies") for i in range(32)]))
    assert {s for s, _ in same} == {201}
    assert len({json.dumps(b, sort_keys=True) for _, b in same}) == 1
    assert sorted(s for s, _ in varied) == [201] + [409] * 31
    assert all("already randomized" in b["detail"] for s, b in varied if s == 409)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        numbers = sorted(r.randomization_number for r in conn.execute(select(Randomization.__table__)))
    engine.dispose()
    assert numbers == [1, 2]
    _check_database(db_url, {})
