"""Real services for tests and benchmarks: a fresh PostgreSQL database, a trial with sites
and users, and ``oncotrial serve`` as a child process. Standard library and the service's
own dependencies only (the service itself never imports this module)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
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
    # no pooled connection outlives a use: a test may restart the PostgreSQL server meanwhile
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
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

    def __init__(self, db_url: str, *, port: int | None = None, workers: int = 1,
                 log_path: str | os.PathLike[str] | None = None) -> None:
        self.db_url, self.port, self.workers = db_url, port or free_port(), workers
        # the server's log goes to a file when one is named: a pipe nobody reads would fill and stall it
        self.log_path = Path(log_path) if log_path is not None else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        # `python -m oncotrial.irt serve` is `oncotrial serve` without importing the rest of
        # the package, so a restart after SIGKILL takes a fraction of a second.
        cmd = [sys.executable, "-m", "oncotrial.irt", "serve", "--db", self.db_url, "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers)]
        log = open(self.log_path, "ab") if self.log_path is not None else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                         stderr=log if log is not None else subprocess.PIPE, start_new_session=True)
        finally:
            if log is not None:
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else
                       self.log_path.read_text(errors="replace") if self.log_path is not None else "")
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1.0) as r:
                    if r.status == 200:
                        return self
            except OSError:
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
