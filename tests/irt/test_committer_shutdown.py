"""Shutting the group committer down answers every caller: nothing waits forever."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, wait

import pytest
from sqlalchemy import text

from oncotrial.irt.db.committer import GroupCommitter
from oncotrial.irt.db.engine import make_engine


def _work(conn, i: int) -> int:
    time.sleep(0.001)  # a commit's worth of work, so close() lands while items are queued
    return conn.execute(text("SELECT :i"), {"i": i}).scalar_one()


def test_submit_after_close_fails_at_once(trial):
    engine = make_engine(trial.db_url)
    committer = GroupCommitter(engine)
    assert committer.submit(_work, 7).result(timeout=10) == 7
    committer.close()
    # submit() raises instead of returning a future that would never be answered.
    with pytest.raises(RuntimeError, match="shutting down"):
        committer.submit(_work, 8)
    committer.close()  # a second close is harmless
    engine.dispose()


def test_close_while_submitting_answers_every_future(trial):
    engine = make_engine(trial.db_url)
    committer = GroupCommitter(engine, max_batch=4)
    futures: list[Future] = []
    refused = 0
    started, stop = threading.Event(), threading.Event()

    def submitter() -> None:
        nonlocal refused
        while not stop.is_set():  # keeps submitting across close(), as request handlers would
            try:
                futures.append(committer.submit(_work, len(futures)))
            except RuntimeError as exc:
                assert str(exc) == "the service is shutting down"
                refused += 1
            if len(futures) == 20:
                started.set()
            time.sleep(0.0005)

    th = threading.Thread(target=submitter)
    th.start()
    assert started.wait(10)
    committer.close()
    time.sleep(0.1)
    stop.set()
    th.join(10)
    # Before the fix, items queued behind the stop marker were never answered.
    done, pending = wait(futures, timeout=10)
    assert not pending, f"{len(pending)} of {len(futures)} callers still waiting after close()"
    results = [f.exception() or f.result() for f in done]
    assert sum(isinstance(r, int) for r in results) >= 20
    assert all(isinstance(r, int) or str(r) == "the service is shutting down" for r in results)
    assert refused > 0
    engine.dispose()
