"""Load generation: many concurrent HTTP clients randomizing against a running service,
with an honest record of which requests got a 201.

Used by the reliability tests (tests/irt) and the benchmark (benchmarks/irt_throughput.py).
Plain ``http.client`` keep-alive connections, one per client thread: no HTTP library beyond
the standard library. The fixtures it needs live in :mod:`oncotrial.irt.testing` (and are
importable from here as before).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from oncotrial.irt.testing import Fixture, ServerProcess, free_port, fresh_postgres_database, prepare_trial

__all__ = ["Fixture", "LoadResult", "Patient", "ServerProcess", "free_port", "fresh_postgres_database",
           "make_patients", "prepare_trial", "run_load"]

TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class _Answer:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class _Client:
    """One keep-alive connection, reopened after a transport error or when the URL changes."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout, self.conn, self.base = timeout, None, None

    def post(self, base_url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> _Answer:
        if self.conn is None or self.base != base_url:
            self.close()
            parts = urlsplit(base_url)
            self.conn, self.base = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout), base_url
        try:
            self.conn.request("POST", path, body=json.dumps(body),
                              headers={**headers, "Content-Type": "application/json"})
            response = self.conn.getresponse()
            return _Answer(response.status, response.read().decode("utf-8", "replace"))
        except TRANSPORT_ERRORS:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


@dataclass(frozen=True)
class Patient:
    subject_id: str
    site: str
    strata: dict[str, str]
    key: str

    def body(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "site": self.site, "strata": self.strata,
                "eligibility_confirmed": True}


def make_patients(fixture: Fixture, n: int, seed: int = 1, prefix: str = "P") -> list[Patient]:
    """``n`` patients spread over the sites, strata drawn uniformly over levels; ids ``{prefix}00000``..."""
    rng = random.Random(seed)
    sites = sorted(fixture.tokens)
    return [Patient(f"{prefix}{i:05d}", sites[i % len(sites)], {f: rng.choice(lv) for f, lv in fixture.levels.items()},
                    f"key-{i:05d}-{uuid.uuid4().hex[:8]}") for i in range(n)]


@dataclass
class LoadResult:
    """What the clients saw: every 201 body by subject, latencies of first-try successes, errors."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    replays: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    retries: int = 0
    server_errors: dict[int, int] = field(default_factory=dict)  # 5xx answers retried, by status
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

    def post(client: _Client, p: Patient) -> tuple[_Answer, float]:
        t0 = time.perf_counter()
        r = client.post(url_of(), "/api/v1/randomizations", p.body(),
                        {"Authorization": f"Bearer {fixture.tokens[p.site]}", "Idempotency-Key": p.key})
        return r, time.perf_counter() - t0

    def worker() -> None:
        client = _Client()
        try:
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
                    except TRANSPORT_ERRORS:
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
                        if r is not None:
                            result.server_errors[r.status_code] = result.server_errors.get(r.status_code, 0) + 1
                    time.sleep(0.05)
                if replay_every and i % replay_every == 0 and p.subject_id in result.created:
                    while time.monotonic() < stop_at:  # retried like a first try if the server is down
                        try:
                            r, _ = post(client, p)
                        except TRANSPORT_ERRORS:
                            r = None
                        if r is not None and r.status_code < 500:
                            with lock:
                                result.replays.append((result.created[p.subject_id],
                                                       {"status": r.status_code, **r.json()}))
                            break
                        time.sleep(0.05)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - t0
    return result
