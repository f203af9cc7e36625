"""The attacks of issue 14 §2, each one a request that used to get through and is now refused."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.requests import Request

from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.dependencies import client_address
from oncotrial.irt.login_limit import LoginLimits
from oncotrial.irt.services.setup import add_user

from .conftest import STRATA, auth, body

PASSWORD = "attack-pass-1234"
URL = "/api/v1/randomizations"


@pytest.fixture
def coordinator(trial, client) -> TestClient:
    """``client`` signed in on the web as carol, coordinator at S01."""
    engine = make_engine(trial.db_url)
    add_user(engine, "carol", "site_coordinator", site="S01", password=PASSWORD, actor="test")
    engine.dispose()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"name": "carol", "password": PASSWORD, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    return client


def _web_randomize(client: TestClient, subject_id: str) -> object:
    page = client.get("/randomize")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form_key = re.search(r'name="form_key" value="([^"]+)"', page.text).group(1)
    form = {"csrf": token, "form_key": form_key, "subject_id": subject_id,
            **{f"strata_{k}": v for k, v in STRATA.items()},
            **{f"elig_{c}": "yes" for c in ("IN01", "IN02", "IN03", "IN04", "IN05", "EX01")}}
    return client.post("/randomize", data=form)


def _count(db_url: str, sql: str) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    return n


@pytest.mark.parametrize("subject_id", ["<script>alert(1)</script>", '=HYPERLINK("http://x","y")', "P\x00001",
                                        "P" * 200, "S01/001", " ", "+1", "@SUM(A1)"])
def test_web_form_validates_the_subject_id_as_the_api_does(coordinator, trial, subject_id):
    r = _web_randomize(coordinator, subject_id)
    assert r.status_code == 422 and "subject_id" in r.text, r.text[:500]
    api = coordinator.post(URL, json=body(subject_id), headers=auth(trial.tokens["S01"]))
    assert api.status_code == 422 and "subject_id" in api.json()["detail"]
    assert _count(trial.db_url, "SELECT COUNT(*) FROM randomizations") == 0
    # and the page shows the value as text, never as markup
    assert "<script>alert" not in r.text


def test_web_form_randomizes_a_valid_subject(coordinator, trial):
    r = _web_randomize(coordinator, "W-100")
    assert r.status_code == 200 and 'id="randomization_number"' in r.text


def test_csv_export_neutralises_formulas_and_nul(client, trial):
    # A subject id stored before the API validated them (put in with the guard lifted).
    assert client.post(URL, json=body("P001"), headers=auth(trial.tokens["S01"])).status_code == 201
    engine = make_engine(trial.db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER irt_guard_randomizations_update"))
        conn.execute(text("UPDATE randomizations SET subject_id = :s"), {"s": '=HYPERLINK("http://x")\x00'})
    engine.dispose()
    r = client.get("/api/v1/export/dm", headers=auth(trial.statistician))
    assert r.status_code == 200
    assert "\x00" not in r.text
    cells = [c for line in r.text.splitlines() for c in line.split(",")]
    assert not any(c.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), r.text
    assert "'=HYPERLINK" in r.text


def test_rotating_x_forwarded_for_does_not_reset_the_login_limit(trial, client):
    engine = make_engine(trial.db_url)
    add_user(engine, "alice", "statistician", password=PASSWORD, actor="test")
    engine.dispose()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    codes = [client.post("/login", data={"name": "alice", "password": f"guess {i}", "csrf": csrf},
                         headers={"X-Forwarded-For": f"203.0.113.{i}"}, follow_redirects=False).status_code
             for i in range(8)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3


def _request(peer: str, forwarded: str | None, proxies: tuple[str, ...]) -> Request:
    class State:
        settings = Settings(db_url="sqlite:////tmp/none.db", trusted_proxies=proxies)

    class App:
        state = State()

    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers, "app": App()})


def test_forwarded_for_is_believed_only_from_configured_proxies():
    assert client_address(_request("127.0.0.1", "203.0.113.9", ())) == "127.0.0.1"
    assert client_address(_request("10.0.0.5", "203.0.113.9", ("10.0.0.0/24",))) == "203.0.113.9"
    # The client's own forged hop left of the proxy's is not believed: the nearest untrusted hop is.
    assert client_address(_request("10.0.0.5", "1.1.1.1, 203.0.113.9", ("10.0.0.0/24",))) == "203.0.113.9"
    assert client_address(_request("192.0.2.1", "203.0.113.9", ("10.0.0.0/24",))) == "192.0.2.1"


def test_login_is_limited_per_account_and_per_client():
    now = [0.0]
    limits = LoginLimits(per_pair=5, per_account=20, per_client=50, clock=lambda: now[0])
    for i in range(20):  # one account from 20 addresses
        assert limits.retry_after("alice", f"10.0.{i}.1") == 0
        limits.record_failure("alice", f"10.0.{i}.1")
    assert limits.retry_after("alice", "10.9.9.9") > 0
    assert limits.retry_after("bob", "10.9.9.9") == 0
    for i in range(50):  # one address spraying names
        limits.record_failure(f"user{i}", "198.51.100.7")
    assert limits.retry_after("carol", "198.51.100.7") > 0


@pytest.mark.parametrize("path", ["/login", "/patients", "/api/v1/protocol", "/api/v1/randomizations"])
def test_security_headers(coordinator, trial, path):
    r = coordinator.get(path, headers=auth(trial.tokens["S01"]) if path.startswith("/api") else {})
    assert r.status_code == 200
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"  # "no-referrer" makes browsers send Origin: null
    assert r.headers["cache-control"] == "no-store"


def test_csrf_token_of_another_session_is_refused(coordinator, trial):
    page = coordinator.get("/randomize")
    mine = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    engine = make_engine(trial.db_url)
    add_user(engine, "erin", "site_coordinator", site="S01", password=PASSWORD, actor="test")
    engine.dispose()
    with TestClient(create_app(Settings(db_url=trial.db_url))) as other:
        csrf = re.search(r'name="csrf" value="([^"]+)"', other.get("/login").text).group(1)
        other.post("/login", data={"name": "erin", "password": PASSWORD, "csrf": csrf})
        r = other.post("/logout", data={"csrf": mine}, follow_redirects=False)
        assert r.status_code == 403 and "csrf" in r.text
        r = other.post("/logout", data={"csrf": csrf}, follow_redirects=False)  # the pre-login cookie token
        assert r.status_code == 403


def test_duplicate_json_keys_are_refused(client, trial):
    raw = ('{"subject_id": "P001", "subject_id": "P002", "site": "S01", "eligibility_confirmed": true, '
           f'"strata": {json.dumps(STRATA)}}}')
    r = client.post(URL, content=raw, headers={**auth(trial.tokens["S01"]), "Content-Type": "application/json"})
    assert r.status_code == 400 and "'subject_id' appears twice" in r.json()["detail"]
    nested = raw.replace('"subject_id": "P002", ', "").replace('"AI"', '"AI", "endocrine_therapy": "FULV"')
    r = client.post(URL, content=nested, headers={**auth(trial.tokens["S01"]), "Content-Type": "application/json"})
    assert r.status_code == 400 and "endocrine_therapy" in r.json()["detail"]
    assert _count(trial.db_url, "SELECT COUNT(*) FROM randomizations") == 0


def test_subject_ids_are_unique_regardless_of_case_and_other_sites_stay_secret(client, trial):
    assert client.post(URL, json=body("ABC-1"), headers=auth(trial.tokens["S01"])).status_code == 201
    own = client.post(URL, json=body("abc-1"), headers=auth(trial.tokens["S01"]))
    assert own.status_code == 409 and "already randomized as 'ABC-1'" in own.json()["detail"]
    other = client.post(URL, json=body("abc-1", site="S02"), headers=auth(trial.tokens["S02"]))
    assert other.status_code == 409
    detail = other.json()["detail"]
    assert "cannot be used" in detail and "randomized" not in detail and "number" not in detail
    assert "1" not in detail.replace("abc-1", "")


def test_subject_ids_with_a_slash_are_refused(client, trial):
    r = client.post(URL, json=body("S01/7"), headers=auth(trial.tokens["S01"]))
    assert r.status_code == 422 and "subject_id" in r.json()["detail"]


@pytest.mark.parametrize("kwargs,field", [
    ({"session_ttl_hours": "5"}, "session_ttl_hours"), ({"session_ttl_hours": -1}, "session_ttl_hours"),
    ({"session_ttl_hours": True}, "session_ttl_hours"), ({"max_body_bytes": "65536"}, "max_body_bytes"),
    ({"max_body_bytes": -5}, "max_body_bytes"), ({"secure_cookies": "yes"}, "secure_cookies"),
    ({"docs": 1}, "docs"), ({"trusted_proxies": "10.0.0.1"}, "trusted_proxies"),
    ({"trusted_proxies": ("not-an-ip",)}, "trusted_proxies"),
])
def test_configuration_values_have_strict_types(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Settings(db_url="sqlite:////tmp/x.db", **kwargs)


def test_an_admin_reads_the_trail_without_arms(client, trial):
    engine = make_engine(trial.db_url)
    _, token = add_user(engine, "root", "admin", actor="test")
    engine.dispose()
    assert client.post(URL, json=body("P001"), headers=auth(trial.tokens["S01"])).status_code == 201
    assert client.get(URL, headers=auth(token)).status_code == 403
    items = client.get("/api/v1/audit", headers=auth(token)).json()["items"]
    link = next(i for i in items if i["action"] == "randomize")
    assert link["new"]["arm"] == "(hidden)" and link["new"]["list_sequence"] == "(hidden)"
    stat = client.get("/api/v1/audit", headers=auth(trial.statistician)).json()["items"]
    assert next(i for i in stat if i["action"] == "randomize")["new"]["arm"] in ("A", "B")


def test_the_last_active_admin_cannot_deactivate_itself(client, trial):
    engine = make_engine(trial.db_url)
    _, token = add_user(engine, "root", "admin", actor="test")
    engine.dispose()
    r = client.post("/api/v1/users/root/deactivate", json={"reason": "leaving"}, headers=auth(token))
    assert r.status_code == 409 and "last active admin" in r.json()["detail"]
    engine = make_engine(trial.db_url)
    add_user(engine, "root2", "admin", actor="test")
    engine.dispose()
    r = client.post("/api/v1/users/root/deactivate", json={"reason": "leaving"}, headers=auth(token))
    assert r.status_code == 200


def test_openapi_docs_only_when_configured(trial):
    with TestClient(create_app(Settings(db_url=trial.db_url))) as c:
        assert c.get("/api/docs").status_code == 404 and c.get("/api/openapi.json").status_code == 404
    with TestClient(create_app(Settings(db_url=trial.db_url, docs=True))) as c:
        assert c.get("/api/docs").status_code == 200 and c.get("/api/openapi.json").status_code == 200
