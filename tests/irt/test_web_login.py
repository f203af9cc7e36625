"""Web log-in: scrypt off the event loop, the same cost for unknown names, and a limit on
failed attempts per (user name, client address)."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient

from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.login_limit import FailedLoginLimiter
from oncotrial.irt.security import DUMMY_PASSWORD_HASH, verify_password
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


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, str]]:
    """Every password check the log-in makes: (the stored hash it used, the thread it ran on).
    The real check runs; this only records it."""
    from oncotrial.irt.services import sessions

    calls: list[tuple[str | None, str]] = []

    def recorded(password: str, stored: str | None) -> bool:
        calls.append((stored, threading.current_thread().name))
        return verify_password(password, stored)

    monkeypatch.setattr(sessions, "verify_password", recorded)
    return calls


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


def test_unknown_name_costs_a_scrypt_like_a_wrong_password(web, trial, scrypt_calls):
    """Before, an unknown name was answered without scrypt, so its speed told which names
    exist. The token-only statistician (no password) is checked the same way: exactly one
    scrypt, against the dummy hash, whatever the name."""
    assert verify_password("anything", DUMMY_PASSWORD_HASH) is False
    csrf = _csrf(web)
    for name in ("no-such-user", "statistician", "alice"):
        scrypt_calls.clear()
        r = web.post("/login", data={"name": name, "password": "a guess", "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 401 and "unknown user name or wrong password" in r.text
        assert len(scrypt_calls) == 1
        stored = scrypt_calls[0][0]
        assert (stored == DUMMY_PASSWORD_HASH) == (name != "alice") and stored.startswith("scrypt$")


def _csrf(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)


def test_login_does_not_block_the_event_loop(web, scrypt_calls):
    """scrypt runs on a worker thread, never on the server's event loop: before, every
    log-in froze the loop (and all API traffic) for the whole scrypt."""
    loop_thread = web.portal.call(lambda: threading.current_thread().name)
    csrf = _csrf(web)
    for name in ("alice", "bob", "nobody"):
        r = web.post("/login", data={"name": name, "password": "wrong password", "csrf": csrf},
                     follow_redirects=False)
        assert r.status_code == 401
    assert len(scrypt_calls) == 3
    assert all(thread != loop_thread for _, thread in scrypt_calls), (loop_thread, scrypt_calls)
