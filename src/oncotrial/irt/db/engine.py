"""Engine factory and the two kinds of transaction the service uses.

SQLite: WAL journal with ``synchronous=FULL`` (a commit is on disk before the
response leaves), and writers open their transaction with ``BEGIN IMMEDIATE`` so
the database write lock is taken up front instead of on the first write, where a
second writer would otherwise fail with "database is locked" halfway through.
Within one process, writers also queue on a ``threading.Lock``: SQLite's busy
handler polls with sleeps, which costs milliseconds of latency under load, while a
lock hands over at once. ``busy_timeout`` still covers other processes (the CLI).

PostgreSQL: ordinary READ COMMITTED transactions; the allocating code takes the
row locks it needs (see :mod:`oncotrial.irt.services.allocation`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event

from oncotrial.irt import audit_key

_WRITE_LOCKS: dict[int, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def make_engine(db_url: str, *, pool_size: int = 16, audit_key_file: str | os.PathLike[str] | None = None) -> Engine:
    """An engine for ``db_url`` set up for durable, serialized writes, knowing where its
    audit key lives (``audit_key_file``, default :func:`oncotrial.irt.audit_key.default_key_path`)."""
    engine = _make_engine(db_url, pool_size)
    audit_key.attach(engine, audit_key_file)
    return engine


def _make_engine(db_url: str, pool_size: int) -> Engine:
    if db_url.startswith("sqlite"):
        if db_url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("--db: an in-memory SQLite database cannot be shared by the service; give a file path")
        engine = create_engine(
            db_url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if db_url.startswith("postgresql"):
        return create_engine(db_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    raise ValueError(f"--db: unsupported database URL {db_url.split('://', 1)[0]!r}; expected sqlite or postgresql+psycopg")


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    # Take transaction control away from the sqlite3 module so that BEGIN is ours.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _process_write_lock(engine: Engine) -> threading.Lock | None:
    if not is_sqlite(engine):
        return None
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A transaction that may write; commits on success, rolls back on any error."""
    lock = _process_write_lock(engine)
    if lock is not None:
        lock.acquire()
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot (a deferred transaction on SQLite: it never blocks writers)."""
    with engine.connect() as conn:
        with conn.begin():
            yield conn
