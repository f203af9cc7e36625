"""Web log-in: scrypt off the event loop, the same cost for unknown names, and a limit on
failed attempts per (user name, client address)."""

from __future__ import annotations

import re
import threading
import time

import anyio
import pytest
from fastapi.testclient import TestClient

from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.login_limit import FailedLoginLimiter
from oncotrial.irt.security import DUMMY_PASSWORD_HASH, hash_password, verify_password
from oncotrial.irt.services.setup import add_user

PASSWORD = "correct horse battery"


@pytest.fixture
def web(trial, client):
    engine = make_engine(trial.db_url)
    for name in ("alice", "bob"):
        add_user(engine, name, "statistician", password=PASSWORD, actor="test")
    engine.dispose()
    return client


def _login(client: TestClient, name: str, password: str):
    client.cookies.clear()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf": csrf}, follow_redirects=False)


def _scrypt_seconds() -> float:
    stored = hash_password("some password")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        verify_password("wrong password", stored)
        times.append(time.perf_counter() - t0)
    return min(times)


def test_five_failures_lock_the_name_at_that_address_until_the_window_passes(web):
    for _ in range(5):
        assert _login(web, "alice", "wrong password").status_code == 401
    locked = _login(web, "alice", PASSWORD)  # even the right password: the pair is locked
    assert locked.status_code == 429
    assert re.search(r"try again in [45] min \d+ s", locked.text), locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= 300
    # Another name from the same address is not affected.
    assert _login(web, "bob", PASSWORD).status_code == 303


def test_success_resets_the_failure_count(web):
    for _ in range(4):
        assert _login(web, "bob", "wrong password").status_code == 401
    assert _login(web, "bob", PASSWORD).status_code == 303
    for _ in range(4):
        assert _login(web, "bob", "wrong password").status_code == 401
    assert _login(web, "bob", PASSWORD).status_code == 303


def test_unknown_names_are_limited_like_known_ones(web):
    for _ in range(5):
        assert _login(web, "nobody", "guess").status_code == 401
    assert _login(web, "nobody", "guess").status_code == 429


def test_limiter_window_slides():
    now = [1000.0]
    lim = FailedLoginLimiter(max_failures=5, window_seconds=300, clock=lambda: now[0])
    key = ("alice", "10.0.0.1")
    for i in range(5):
        assert lim.retry_after(key) == 0
        lim.record_failure(key)
        now[0] += 10
    assert lim.retry_after(key) == 300 - 50
    assert lim.retry_after(("alice", "10.0.0.2")) == 0
    now[0] = 1000.0 + 300.5  # the first failure has left the window: one more try
    assert lim.retry_after(key) == 0
    lim.record_failure(key)
    assert lim.retry_after(key) > 0
    lim.record_success(key)
    assert lim.retry_after(key) == 0
    with pytest.raises(ValueError, match="max_failures"):
        FailedLoginLimiter(max_failures=0)


def test_unknown_name_costs_a_scrypt_like_a_wrong_password(web, trial):
    """Before, an unknown name was answered without scrypt, so its speed told which names
    exist. The token-only statistician (no password) is checked the same way."""
    assert verify_password("anything", DUMMY_PASSWORD_HASH) is False
    scrypt = _scrypt_seconds()
    csrf = _csrf(web)
    for name in ("no-such-user", "statistician"):
        times = []
        for i in range(3):
            t0 = time.perf_counter()
            r = web.post("/login", data={"name": name, "password": f"guess {i}", "csrf": csrf},
                         follow_redirects=False)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 401 and "unknown user name or wrong password" in r.text
        assert min(times) >= 0.7 * scrypt, (name, times, scrypt)


def _csrf(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)


def test_login_does_not_block_the_event_loop(web):
    """A ticker on the server's event loop keeps ticking while log-ins run scrypt: before,
    every log-in froze the loop (and all API traffic) for the whole scrypt."""
    scrypt = _scrypt_seconds()
    csrf = _csrf(web)
    gaps: list[float] = []
    stop = threading.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await anyio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    running = web.portal.start_task_soon(ticker)
    try:
        for name in ("alice", "bob", "alice"):
            r = web.post("/login", data={"name": name, "password": "wrong password", "csrf": csrf},
                         follow_redirects=False)
            assert r.status_code == 401
    finally:
        stop.set()
        running.result(timeout=10)
    assert len(gaps) > 10
    # A blocked loop shows a gap of at least one whole scrypt; 0.9 leaves room for a busy machine.
    assert max(gaps) < 0.9 * scrypt, (max(gaps), scrypt)
