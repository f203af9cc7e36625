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


def _restart_postgres():
    """A function restarting the PostgreSQL cluster the tests use, or None where this machine cannot
    (no pg_ctlcluster, not root): Debian's cluster tools, as .ci/run installs them."""
    import os
    import shutil
    import subprocess

    if not shutil.which("pg_ctlcluster") or not shutil.which("pg_lsclusters") or os.geteuid() != 0:
        return None
    rows = [line.split() for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True,
                                                    check=True).stdout.splitlines() if "online" in line]
    if len(rows) != 1:
        return None
    version, name = rows[0][0], rows[0][1]
    return lambda: subprocess.run(["pg_ctlcluster", version, name, "restart", "-m", "fast"], check=True,
                                  capture_output=True)


@pytest.mark.slow
def test_postgresql_restarted_under_load_loses_nothing_acknowledged(pg_url):
    """The database goes away in the middle of 2,000 randomizations from 32 clients and comes back:
    clients get 503 (a clear, retryable answer) meanwhile and retry with the same Idempotency-Key;
    afterwards every 201 is in the database, nothing is half-written or doubled."""
    restart = _restart_postgres()
    if restart is None:
        pytest.skip("this machine cannot restart its PostgreSQL cluster (pg_ctlcluster as root)")
    fixture = prepare_trial(pg_url, n_sites=CLIENTS, per_stratum=300)
    patients = make_patients(fixture, N_PATIENTS, seed=12)
    reached = threading.Event()
    restarted = []

    def restarter() -> None:
        if reached.wait(timeout=240):
            restart()
            restarted.append(True)

    with ServerProcess(pg_url) as server:
        t = threading.Thread(target=restarter, daemon=True)
        t.start()
        try:
            result = run_load(server.base_url, fixture, patients, concurrency=CLIENTS, deadline_s=200,
                              progress=reached, progress_at=300)
        finally:
            t.join(timeout=120)
        after = run_load(server.base_url, fixture, make_patients(fixture, 20, seed=13, prefix="Z"),
                         concurrency=4, deadline_s=60)
    assert restarted, "PostgreSQL was never restarted"
    assert result.retries > 0, "the restart happened after the load had finished"
    assert result.errors == [] and len(result.created) == N_PATIENTS
    assert set(result.server_errors) <= {503}, result.server_errors  # clear and retryable, never a bare 500
    assert after.errors == [] and len(after.created) == 20  # the service reconnected on its own
    _check_database(pg_url, {**result.created, **after.created})


@pytest.fixture
def tiny_disk(tmp_path):
    """A folder on a file system of 16 MB of its own (a tmpfs mounted for the test), so the disk can
    be filled without touching the machine's; skipped where this machine cannot mount one."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder) -> int:
    """Write a file into ``folder`` until its disk is full; the bytes written."""
    import os

    written = 0
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):  # down to the last byte
            try:
                while True:
                    written += os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return written


@pytest.mark.slow
def test_a_full_disk_refuses_clearly_and_loses_nothing(tiny_disk):
    """SQLite on a disk that fills up in the middle of the load: every save the disk cannot take is
    refused with 507 and a message that says so, nothing acknowledged is lost or half-written, and
    the service goes on once space is freed."""
    from oncotrial.irt.config import normalize_db_url

    db_url = normalize_db_url(tiny_disk / "irt.sqlite")
    fixture = prepare_trial(db_url, n_sites=8, per_stratum=40)
    with ServerProcess(db_url) as server:
        first = run_load(server.base_url, fixture, make_patients(fixture, 50, seed=21, prefix="A"), concurrency=8)
        assert first.errors == [] and len(first.created) == 50
        assert _fill(tiny_disk) > 0
        waiting = make_patients(fixture, 40, seed=22, prefix="B")
        full = run_load(server.base_url, fixture, waiting, concurrency=8, deadline_s=3)
        (tiny_disk / "filler").unlink()
        # the same patients with the same Idempotency-Keys: any the full disk did take come back as they were
        later = run_load(server.base_url, fixture, waiting, concurrency=8, deadline_s=60)
    assert full.retries > 0 and set(full.server_errors) == {507}, full.server_errors
    assert all(e.endswith("gave up at the deadline") for e in full.errors)
    assert later.errors == [] and len(later.created) == 40
    for subject, answer in full.created.items():
        assert later.created[subject] == answer
    _check_database(db_url, {**first.created, **later.created})
