"""Drive a running service: start it as a real process, fire concurrent randomizations.

Used by the reliability tests (tests/irt) and the benchmark (benchmarks/irt_throughput.py):
both need a real uvicorn process on a free loopback port, many concurrent HTTP clients,
and an honest record of which requests got a 201. Needs ``httpx`` (the ``test`` extra);
the service itself does not import this module.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_site, add_user, init_trial


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_postgres_database(admin_url: str, prefix: str = "oncotrial_irt") -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s; dropped afterwards."""
    url = make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Fixture:
    """A trial ready to serve: its database URL and one coordinator token per site."""

    db_url: str
    tokens: dict[str, str]
    statistician: str
    levels: dict[str, list[str]]


def prepare_trial(db_url: str, *, n_sites: int, protocol: str = "patina", seed: int = 20170601,
                  per_stratum: int | None = None) -> Fixture:
    """Init ``protocol`` in an empty database with ``n_sites`` sites, one coordinator each, and a statistician."""
    engine = make_engine(db_url)
    try:
        init_trial(engine, protocol, seed=seed, per_stratum=per_stratum, actor="loadgen")
        tokens = {}
        for i in range(1, n_sites + 1):
            site = f"S{i:02d}"
            add_site(engine, site, "US", actor="loadgen")
            _, tokens[site] = add_user(engine, f"coord{i:02d}", "site_coordinator", site=site, actor="loadgen")
        _, stat = add_user(engine, "statistician", "statistician", actor="loadgen")
        from oncotrial.protocol import load_protocol

        p = load_protocol(protocol)
        names = p.randomization.stratify_by or [f.name for f in p.stratification_factors]
        levels = {f.name: f.codes for f in p.stratification_factors if f.name in names}
        return Fixture(db_url, tokens, stat, levels)
    finally:
        engine.dispose()


class ServerProcess:
    """``oncotrial serve`` as a child process on a free loopback port."""

    def __init__(self, db_url: str, *, port: int | None = None, workers: int = 1) -> None:
        self.db_url, self.port, self.workers = db_url, port or free_port(), workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        # `python -m oncotrial.irt serve` is `oncotrial serve` without importing the rest of
        # the package, so a restart after SIGKILL takes a fraction of a second.
        cmd = [sys.executable, "-m", "oncotrial.irt", "serve", "--db", self.db_url, "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err[-2000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not answer on {self.base_url} within {timeout} s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn workers included) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill(signal.SIGTERM)


@dataclass(frozen=True)
class Patient:
    subject_id: str
    site: str
    strata: dict[str, str]
    key: str

    def body(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "site": self.site, "strata": self.strata,
                "eligibility_confirmed": True}


def make_patients(fixture: Fixture, n: int, seed: int = 1) -> list[Patient]:
    """``n`` patients spread over the sites, strata drawn uniformly over levels."""
    rng = random.Random(seed)
    sites = sorted(fixture.tokens)
    return [Patient(f"P{i:05d}", sites[i % len(sites)], {f: rng.choice(lv) for f, lv in fixture.levels.items()},
                    f"key-{i:05d}-{uuid.uuid4().hex[:8]}") for i in range(n)]


@dataclass
class LoadResult:
    """What the clients saw: every 201 body by subject, latencies of first-try successes, errors."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    replays: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def percentile(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def run_load(base_url: str | Any, fixture: Fixture, patients: Sequence[Patient], *, concurrency: int = 32,
             replay_every: int = 0, deadline_s: float = 120.0,
             progress: threading.Event | None = None, progress_at: int = 0) -> LoadResult:
    """Randomize ``patients`` from ``concurrency`` threads, each with its own keep-alive client.

    ``base_url`` may be a string or a callable returning the current one (it can change
    when the server is restarted). A request that fails without an HTTP answer (server
    killed, connection refused) or with a 5xx is retried with the SAME Idempotency-Key
    until ``deadline_s``. Every ``replay_every``-th patient is sent a second time with the
    same key after its 201, and both answers are kept to compare. ``progress`` is set once
    ``progress_at`` randomizations have succeeded.
    """
    result = LoadResult()
    lock = threading.Lock()
    queue = list(enumerate(patients))
    queue.reverse()
    stop_at = time.monotonic() + deadline_s
    url_of = base_url if callable(base_url) else (lambda: base_url)

    def post(client: httpx.Client, p: Patient) -> tuple[httpx.Response, float]:
        t0 = time.perf_counter()
        r = client.post(url_of() + "/api/v1/randomizations", json=p.body(),
                        headers={"Authorization": f"Bearer {fixture.tokens[p.site]}", "Idempotency-Key": p.key})
        return r, time.perf_counter() - t0

    def worker() -> None:
        with httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0)) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    i, p = queue.pop()
                first = True
                while True:
                    if time.monotonic() > stop_at:
                        with lock:
                            result.errors.append(f"{p.subject_id}: gave up at the deadline")
                        break
                    try:
                        r, dt = post(client, p)
                    except httpx.TransportError:
                        r, dt = None, 0.0
                    if r is not None and r.status_code == 201:
                        with lock:
                            result.created[p.subject_id] = r.json()
                            if first:
                                result.latencies.append(dt)
                            if progress is not None and len(result.created) >= progress_at:
                                progress.set()
                        break
                    if r is not None and r.status_code < 500:
                        with lock:
                            result.errors.append(f"{p.subject_id}: {r.status_code} {r.text[:200]}")
                        break
                    first = False
                    with lock:
                        result.retries += 1
                    time.sleep(0.05)
                if replay_every and i % replay_every == 0 and p.subject_id in result.created:
                    while time.monotonic() < stop_at:  # retried like a first try if the server is down
                        try:
                            r, _ = post(client, p)
                        except httpx.TransportError:
                            r = None
                        if r is not None and r.status_code < 500:
                            with lock:
                                result.replays.append((result.created[p.subject_id],
                                                       {"status": r.status_code, **r.json()}))
                            break
                        time.sleep(0.05)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - t0
    return result
