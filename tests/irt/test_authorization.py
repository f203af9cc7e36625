"""Every role against every endpoint: allowed roles get through (2xx, or a 4xx that is
about the request, never 401/403); every other role gets 403 and anonymous gets 401
(web pages: a redirect to the log-in page). Denied writes leave nothing behind."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.models import AuditEntry, Randomization
from oncotrial.irt.services.setup import add_user

from .conftest import auth, body

from oncotrial.irt.config import ROLES

ALL = set(ROLES)
SITE = {"site_coordinator", "investigator"}
READERS = {*SITE, "statistician", "monitor", "data_manager"}
REVIEWERS = {"monitor", "data_manager"}

# (method, path, json body, roles allowed)
API = [
    ("POST", "/api/v1/randomizations", "randomize", {"site_coordinator"}),
    ("GET", "/api/v1/randomizations", None, READERS),
    ("GET", "/api/v1/randomizations/{subject_id}", None, READERS),
    ("POST", "/api/v1/randomizations/{subject_id}/corrections", "correct", {"site_coordinator", "statistician"}),
    ("POST", "/api/v1/subjects/{subject_id}/records", "record", SITE),
    ("POST", "/api/v1/subjects/{subject_id}/visits/{visit}/records", "visit", SITE),
    ("GET", "/api/v1/subjects/{subject_id}/casebook", None, READERS),
    ("POST", "/api/v1/subjects/{subject_id}/lock", "lock", {"data_manager"}),
    ("POST", "/api/v1/subjects/{subject_id}/unlock", "unlock", {"data_manager"}),
    ("POST", "/api/v1/subjects/{subject_id}/freeze", "lock", {"data_manager"}),
    ("POST", "/api/v1/subjects/{subject_id}/unfreeze", "unlock", {"data_manager"}),
    ("GET", "/api/v1/database", None, ALL),
    ("GET", "/api/v1/database/casebooks", None, REVIEWERS),
    ("POST", "/api/v1/database/freeze", "lock", {"data_manager"}),
    ("POST", "/api/v1/database/unfreeze", "unlock", {"data_manager"}),
    # the setup's open queries hold a database lock: the data manager gets past authorization to that refusal
    ("POST", "/api/v1/database/lock", "dblock", {"data_manager"}),
    ("POST", "/api/v1/database/unlock", "unlock", {"data_manager"}),
    # after the unlock: queries raised on P000 would hold its lock
    ("POST", "/api/v1/subjects/{subject_id}/queries", "query", REVIEWERS),
    ("GET", "/api/v1/queries", None, READERS),
    # each allowed role acts on its own query of subject Q000 (setup), so each finds it in a state it may move
    ("POST", "/api/v1/queries/{query_id}/answer", "answer", SITE),
    ("POST", "/api/v1/queries/{query_id}/close", "close", REVIEWERS),
    ("POST", "/api/v1/queries/{query_id}/reopen", "reopen", REVIEWERS),
    ("POST", "/api/v1/subjects/{subject_id}/sdv", "sdv", {"monitor"}),
    ("POST", "/api/v1/subjects/{subject_id}/sdv/batch", "sdv_batch", {"monitor"}),
    ("GET", "/api/v1/sdv", None, REVIEWERS),
    ("POST", "/api/v1/subjects/{subject_id}/signature", "sign", {"investigator"}),
    # PATINA is open label: the investigator gets past authorization to the 409 "nothing to unblind"
    ("POST", "/api/v1/subjects/{subject_id}/unblind", "unblind", {"investigator"}),
    ("POST", "/api/v1/forms/{form_id}/migrate", "migrate", {"data_manager"}),
    ("GET", "/api/v1/balance", None, {"statistician"}),
    ("GET", "/api/v1/allocation-list", None, {"statistician"}),
    ("GET", "/api/v1/export/{dataset}", None, {"statistician", "monitor"}),
    ("GET", "/api/v1/audit/verify", None, ALL),  # coordinators: problems redacted to a count (test below)
    ("GET", "/api/v1/audit", None, {"statistician", "monitor", "data_manager", "admin"}),
    ("GET", "/api/v1/sites", None, {"admin", "statistician", "monitor", "data_manager"}),
    ("POST", "/api/v1/sites", "site", {"admin"}),
    ("GET", "/api/v1/users", None, {"admin"}),
    ("POST", "/api/v1/users", "user", {"admin"}),
    ("POST", "/api/v1/users/{name}/tokens", "token", {"admin"}),
    ("POST", "/api/v1/users/{name}/deactivate", "deactivate", {"admin"}),
    ("PUT", "/api/v1/users/{name}/sites", "sites", {"admin"}),
    ("GET", "/api/v1/me", None, ALL),
    ("GET", "/api/v1/protocol", None, ALL),
]
WEB = [
    ("/randomize", {"site_coordinator"}),
    ("/patients", READERS),
    ("/patients?q=p0&page=2", READERS),
    ("/patients/P000", READERS),
    ("/patients/P000/entry?visit=LOG&form=AE&seq=1", READERS),
    ("/queries", READERS),
    ("/sdv", REVIEWERS),
    ("/database", {"data_manager"}),
    ("/database?show=ready&page=2", {"data_manager"}),
    ("/dashboard", {"statistician"}),
    ("/admin", {"admin"}),
]
PASSWORD = "correct horse battery"
_SDV_SEQ = 99999
_SDV_BATCH_SEQ = 99998
_LEVELS = ["YES", "NO"]  # the next level to correct to; each allowed correction must change something


@pytest.fixture
def setup(trial):
    engine = make_engine(trial.db_url)
    tokens = {"site_coordinator": trial.tokens["S01"], "statistician": trial.statistician}
    for role in ("monitor", "data_manager", "admin"):
        tokens[role] = add_user(engine, f"{role}1", role, site="S01" if role == "monitor" else None,
                                actor="test")[1]
    tokens["investigator"] = add_user(engine, "investigator1", "investigator", site="S01", password=PASSWORD,
                                      actor="test")[1]
    for role in ROLES:
        add_user(engine, f"web_{role}", role, site="S01" if role in (*SITE, "monitor") else None, password=PASSWORD,
                 actor="test")
    engine.dispose()
    with TestClient(create_app(Settings(db_url=trial.db_url))) as client:
        for subject in ("P000", "Q000"):
            r = client.post("/api/v1/randomizations", json=body(subject), headers=auth(tokens["site_coordinator"]))
            assert r.status_code == 201
        # the records the SDV routes verify
        for seq in (_SDV_SEQ, _SDV_BATCH_SEQ):
            r = client.post("/api/v1/subjects/P000/records", json=_payload("record", "", seq),
                            headers=auth(tokens["site_coordinator"]))
            assert r.status_code == 201, r.text
        query_ids = {}
        for role in (*SITE, *REVIEWERS):
            r = client.post("/api/v1/subjects/Q000/queries", json={"record": "SCREENING|RAND|1", "text": role},
                            headers=auth(tokens["monitor"]))
            assert r.status_code == 201, r.text
            query_ids[role] = r.json()["id"]
        yield client, tokens, trial, query_ids


def _payload(kind: str | None, role: str, i: int) -> dict | None:
    if kind == "correct":
        return {"strata_verified": {"prior_antiher2": _LEVELS[0]}, "reason": f"check {i}"}
    return {
        None: None,
        "randomize": body(f"P{i:03d}"),
        "site": {"site": f"X{i:03d}", "country": "DE"},
        "user": {"name": f"u{i:03d}", "role": "monitor"},
        "token": {"ttl_days": 1},
        "deactivate": {"reason": "matrix test"},
        "sites": {"sites": ["S01"], "reason": "matrix test"},
        # a complete entry, so the casebook has no findings and can be locked next
        "record": {"visit": "LOG", "form": "AE", "seq": i, "values": {
            "AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
            "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}},
        "visit": {"entries": [{"form": "AE", "seq": 50000 + i, "values": {
            "AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
            "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}}]},
        "lock": {},
        "unlock": {"reason": "query re-opened"},
        "dblock": {"cutoff": "2026-06-30", "reason": "matrix"},
        "query": {"record": "SCREENING|RAND|1", "field": "STRAT1R", "text": f"matrix {i}"},
        "answer": {"text": "as in the source"},
        "close": {"reason": "matrix"},
        "reopen": {"reason": "matrix"},
        "visit": {"entries": [{"form": "AE", "seq": 50000 + i, "values": {
            "AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
            "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}}]},
        "sdv": {"record": f"LOG|AE|{_SDV_SEQ}", "revision": 1},
        "sdv_batch": {"records": [{"record": f"LOG|AE|{_SDV_BATCH_SEQ}", "revision": 1}]},
        "sign": {"password": PASSWORD, "meaning": "approval"},
        "unblind": {"reason": "matrix"},
        "migrate": {"to_version": 2, "reason": "matrix"},
    }[kind]


def _path(template: str, i: int, query_id: int) -> str:
    return (template.replace("{subject_id}", "P000").replace("{dataset}", "adsl")
            .replace("{name}", f"victim{i:03d}").replace("{query_id}", str(query_id))
            .replace("{form_id}", "DEMOG").replace("{visit}", "LOG"))


def _audit_len(db_url: str) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    engine.dispose()
    return n


def test_matrix_covers_every_api_route(setup):
    client, _, _, _ = setup
    paths = client.app.openapi()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() if p.startswith("/api/v1") for m in ops}
    assert routes == {(m, p) for m, p, _, _ in API}


def test_api_authorization_matrix(setup):
    client, tokens, trial, query_ids = setup
    engine = make_engine(trial.db_url)
    i = 0
    for method, template, kind, allowed in API:
        for role in (*ROLES, None):
            i += 1
            if template.endswith(("{name}/tokens", "{name}/deactivate", "{name}/sites")):
                add_user(engine, f"victim{i:03d}", "monitor", actor="test")
            before = _audit_len(trial.db_url)
            headers = auth(tokens[role]) if role else {}
            r = client.request(method, _path(template, i, query_ids.get(role, 1)), json=_payload(kind, role or "", i), headers=headers)
            where = f"{role} {method} {template}: {r.status_code} {r.text[:200]}"
            if role is None:
                assert r.status_code == 401, where
            elif role in allowed and template.startswith("/api/v1/database/") and template.endswith("lock"):
                assert r.status_code == 409 and ("still open or answered" in r.text or "is open" in r.text), where
            elif role in allowed and template.endswith("/unblind"):
                assert r.status_code == 409 and "open label" in r.text, where
            elif role in allowed:
                assert r.status_code in (200, 201), where
                if kind == "correct":
                    _LEVELS.reverse()
            else:
                assert r.status_code == 403, where
                assert role in r.json()["detail"], where
            if role not in allowed and method in ("POST", "PUT"):
                assert _audit_len(trial.db_url) == before, where
    engine.dispose()


def _login(client: TestClient, name: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.mark.parametrize("role", [*ROLES, None])
def test_web_authorization_matrix(setup, role):
    client, _, trial, _ = setup
    client.cookies.clear()
    if role:
        _login(client, f"web_{role}")
    for path, allowed in WEB:
        r = client.get(path, follow_redirects=False)
        if role is None:
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        elif role in allowed:
            assert r.status_code == 200, (role, path)
        else:
            assert r.status_code == 403, (role, path)
    # A randomization posted from the web by a role that may not randomize writes nothing.
    if role not in (None, "site_coordinator"):
        before = _audit_len(trial.db_url)
        csrf = client.cookies.get("ot_csrf")
        r = client.post("/randomize", data={"csrf": csrf, "subject_id": "W1"}, follow_redirects=False)
        assert r.status_code == 403 and _audit_len(trial.db_url) == before
    if role not in (None, "data_manager"):  # nor moves entries to another form version
        before = _audit_len(trial.db_url)
        r = client.post("/database/migrate", data={"csrf": client.cookies.get("ot_csrf"), "target": "DEMOG:2",
                                                   "reason": "x"}, follow_redirects=False)
        assert r.status_code == 403 and _audit_len(trial.db_url) == before


def test_audit_verify_hides_other_sites_subjects_from_coordinators(setup):
    """Every role may ask whether the trail is intact, but the problem messages name
    subjects of every site: a coordinator gets the verdict and the count only."""
    client, tokens, trial, _ = setup
    client.post("/api/v1/randomizations", json=body("P900", "S02"), headers=auth(trial.tokens["S02"]))
    engine = make_engine(trial.db_url)
    with engine.begin() as conn:  # an edit around the API (past its guard), at site S02
        conn.execute(text("DROP TRIGGER irt_guard_randomizations_update"))
        arm = conn.execute(select(Randomization.arm).where(Randomization.subject_id == "P900")).scalar_one()
        conn.execute(update(Randomization).where(Randomization.subject_id == "P900")
                     .values(arm="B" if arm == "A" else "A"))
    engine.dispose()
    full = client.get("/api/v1/audit/verify", headers=auth(tokens["statistician"])).json()
    assert full["ok"] is False and full["problem_count"] == len(full["problems"]) >= 1
    assert any("P900" in p for p in full["problems"])
    for token in (trial.tokens["S01"], trial.tokens["S02"]):
        r = client.get("/api/v1/audit/verify", headers=auth(token))
        assert r.status_code == 200
        seen = r.json()
        assert "P900" not in r.text and "problems" not in seen
        assert {k: seen[k] for k in ("ok", "entries", "head_hash", "problem_count")} == {
            k: full[k] for k in ("ok", "entries", "head_hash", "problem_count")}
        assert "statistician" in seen["detail"]
    for role in ("monitor", "admin"):
        assert client.get("/api/v1/audit/verify", headers=auth(tokens[role])).json()["problems"] == full["problems"]
