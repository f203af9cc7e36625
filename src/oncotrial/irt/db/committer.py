"""Group commit: concurrent randomizations share one durable commit.

With ``synchronous=FULL`` every SQLite commit waits for an fsync, and writers are
serialized, so one-commit-per-request caps throughput at one fsync per randomization
no matter how fast the rest is. The committer is one writer thread: requests queue up
while a commit is on disk, and the next batch takes them all in ONE transaction, each
inside its own SAVEPOINT. A request whose work fails is rolled back to its savepoint
alone; the others commit. No caller is answered before the COMMIT has returned, and if
the COMMIT fails every caller of the batch gets the error (nothing of it is durable), so
"201 received" still implies "on disk", and each randomization's list-row consumption,
number, audit link and idempotency record still commit (or vanish) together.

On PostgreSQL it works the same way (one connection, savepoints); the row locks taken
inside keep several server processes correct. A work function marked
``isolates_itself = True`` runs without the SAVEPOINT/RELEASE round trips: it promises
that when it raises, the database has already undone its writes (a PL/pgSQL exception
block, see migration 0002). If it fails with the transaction itself broken (aborted on
the server), the whole batch fails instead, because nothing of it can commit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Connection, Engine

from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.raw import Raw

Work = Callable[..., Any]
SHUTTING_DOWN = "the service is shutting down"


class GroupCommitter:
    """Run ``fn(conn, *args)`` calls on one writer thread, batched into shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = 64,
                 before_commit: Callable[[Connection], None] | None = None) -> None:
        # ``before_commit(conn)`` runs once per batch, after its items and before the COMMIT
        # (the service signs the audit head there); if it raises, the whole batch fails.
        self.engine, self.max_batch, self.before_commit = engine, max_batch, before_commit
        self._queue: queue.SimpleQueue[tuple[Future, Work, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._closed = False
        # Held while checking ``_closed`` and enqueueing, so nothing can slip in behind the
        # stop marker unnoticed; whatever still does is failed by the drain after the loop.
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="irt-group-commit", daemon=True)
        self._thread.start()

    def submit(self, fn: Work, *args: Any) -> Future:
        """Queue ``fn(conn, *args)``; raises RuntimeError at once after :meth:`close`."""
        fut: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(SHUTTING_DOWN)
            self._queue.put((fut, fn, args))
        return fut

    async def run(self, fn: Work, *args: Any) -> Any:
        """Await the result of ``fn(conn, *args)`` once its batch is committed."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._lock:
                self._closed = True  # a dead writer thread must refuse work, not queue it forever
            self._fail_waiting()

    def _fail_waiting(self) -> None:
        """Answer every item still queued when the loop stopped, so no caller waits forever."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[0].set_running_or_notify_cancel():
                item[0].set_exception(RuntimeError(SHUTTING_DOWN))

    def _loop(self) -> None:
        closing = False
        while not closing:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    closing = True
                    break
                batch.append(nxt)
            self._run_batch(batch)

    def _run_batch(self, batch: list[tuple[Future, Work, tuple[Any, ...]]]) -> None:
        outcomes: list[tuple[Future, Any, BaseException | None]] = []
        try:
            with write_tx(self.engine) as conn:
                raw = Raw(conn)
                for fut, fn, args in batch:
                    if not fut.set_running_or_notify_cancel():
                        continue
                    outcomes.append((fut, *self._one(conn, raw, fn, args)))
                if self.before_commit is not None and any(error is None for _, _, error in outcomes):
                    self.before_commit(conn)
        except BaseException as exc:  # the COMMIT (or the lock) failed: nothing of this batch is durable
            for fut, _, _ in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for fut, result, error in outcomes:
            if error is None:
                fut.set_result(result)
            else:
                fut.set_exception(error)

    @staticmethod
    def _one(conn: Connection, raw: Raw, fn: Work, args: tuple[Any, ...]) -> tuple[Any, BaseException | None]:
        if getattr(fn, "isolates_itself", False):
            try:
                return fn(conn, *args), None
            except Exception as exc:
                if _transaction_broken(raw):
                    raise  # fails the batch: a COMMIT now would silently roll back the others
                return None, exc
        raw.execute("SAVEPOINT irt_item")
        try:
            result = fn(conn, *args)
        except Exception as exc:
            raw.execute("ROLLBACK TO SAVEPOINT irt_item")
            raw.execute("RELEASE SAVEPOINT irt_item")
            return None, exc
        raw.execute("RELEASE SAVEPOINT irt_item")
        return result, None


def _transaction_broken(raw: Raw) -> bool:
    """True when the server has aborted the open transaction (PostgreSQL's INERROR state)."""
    info = getattr(getattr(raw.cursor, "connection", None), "info", None)
    status = getattr(info, "transaction_status", None)
    return status is not None and status.name != "INTRANS"
