"""Monitors see the sites an admin assigned them and no other: casebooks, randomizations, queries
and the SDV list; assignments change through the API and the CLI, with a reason, on the audit
chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.services.trail import SUBJECT_ENTITIES
from oncotrial.irt.testing import prepare_trial

from .conftest import STRATA, auth, body
from .test_tamper_evidence import tamper, verify

AE = {"AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
      "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}


@dataclass
class Served:
    client: TestClient
    h: dict[str, dict[str, str]]
    db_url: str

    def assign(self, sites: list[str], who: str = "admin", name: str = "monitor1", reason: str = "plan v2"):
        return self.client.put(f"/api/v1/users/{name}/sites", json={"sites": sites, "reason": reason},
                               headers=self.h[who])

    def seen(self) -> dict[str, object]:
        """What the monitor can reach, per kind of list, as subject ids."""
        get = lambda path: self.client.get(path, headers=self.h["monitor"])  # noqa: E731
        books = {s: get(f"/api/v1/subjects/{s}/casebook").status_code for s in ("P001", "P002")}
        return {
            "casebooks": sorted(s for s, code in books.items() if code == 200),
            "randomizations": [r["subject_id"] for r in get("/api/v1/randomizations").json()["items"]],
            "queries": sorted({q["subject_id"] for q in get("/api/v1/queries").json()["items"]}),
            "sdv": sorted({e["subject_id"] for e in get("/api/v1/sdv").json()["items"]}),
            "audit": sorted({e["entity_id"].split("|")[0] for e in get("/api/v1/audit").json()["items"]
                             if e["entity"] in SUBJECT_ENTITIES}),
            "export": [r["SUBJID"] for r in get("/api/v1/export/dm?format=json").json()["rows"]],
        }


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        h = {site: auth(tok) for site, tok in fx.tokens.items()}
        for role in ("monitor", "data_manager", "admin"):
            h[role] = auth(add_user(engine, f"{role}1", role, actor="test")[1])
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        for subject, site in (("P001", "S01"), ("P002", "S02")):
            assert c.post("/api/v1/randomizations", json=body(subject, site, strata=dict(STRATA)),
                          headers=h[site]).status_code == 201
            r = c.post(f"/api/v1/subjects/{subject}/records",
                       json={"visit": "LOG", "form": "AE", "seq": 1, "values": AE}, headers=h[site])
            assert r.status_code in (200, 201), r.text
            q = c.post(f"/api/v1/subjects/{subject}/queries", json={"record": "LOG|AE|1", "text": "Source?"},
                       headers=h["data_manager"])
            assert q.status_code == 201, q.text
        yield Served(c, h, fx.db_url)


def test_a_monitor_sees_no_site_until_assigned_then_only_those(served):
    nothing = {"casebooks": [], "randomizations": [], "queries": [], "sdv": [], "audit": [], "export": []}
    assert served.seen() == nothing
    r = served.client.get("/api/v1/subjects/P001/casebook", headers=served.h["monitor"])
    assert r.status_code == 404 and "at your sites" in r.json()["detail"]

    r = served.assign(["S01"])
    assert r.status_code == 200 and r.json() == {"name": "monitor1", "sites": ["S01"], "changed": True}
    only_s01 = {"casebooks": ["P001"], "randomizations": ["P001"], "queries": ["P001"], "sdv": ["P001"],
                "audit": ["P001"], "export": ["P001"]}
    assert served.seen() == only_s01
    other = served.client.post("/api/v1/subjects/P002/sdv", json={"record": "LOG|AE|1", "revision": 1},
                               headers=served.h["monitor"])
    assert other.status_code == 404  # another site's subject is answered like a missing one
    assert served.client.post("/api/v1/subjects/P001/sdv", json={"record": "LOG|AE|1", "revision": 1},
                              headers=served.h["monitor"]).status_code == 201

    assert served.assign(["S02"]).json()["sites"] == ["S02"]
    assert served.seen()["casebooks"] == ["P002"]
    assert served.assign(["S02", "S01"]).json()["sites"] == ["S01", "S02"]
    assert served.seen()["randomizations"] == ["P001", "P002"]
    assert served.assign(["S01", "S02"]).json()["changed"] is False
    assert served.assign([]).json()["sites"] == []
    assert served.seen() == nothing
    assert verify(served.db_url) == []


def test_the_assignment_history_is_on_the_audit_trail(served):
    served.assign(["S01"], reason="first visit planned")
    served.assign(["S01", "S02"], reason="S02 added to the plan")
    served.assign(["S01", "S02"], reason="no change")  # not a change, so no link
    trail = served.client.get("/api/v1/audit", params={"entity": "monitor_sites"}, headers=served.h["admin"])
    assert trail.status_code == 200, trail.text
    links = [e for e in trail.json()["items"] if e["entity"] == "monitor_sites"]
    assert [(e["entity_id"], e["action"], e["reason"]) for e in links] == [
        ("monitor1", "assign_sites", "first visit planned"), ("monitor1", "assign_sites", "S02 added to the plan")]
    assert [(e["old"], e["new"]) for e in links][-1] == ({"sites": ["S01"]}, {"sites": ["S01", "S02"]})


def test_audit_verify_finds_an_assignment_made_behind_its_back(served):
    served.assign(["S01"])
    assert verify(served.db_url) == []
    tamper(served.db_url, "INSERT INTO monitor_sites (user_id, site_id, assigned_at) SELECT u.id, s.id, "
                          "'2026-01-01T00:00:00Z' FROM users u, sites s WHERE u.name = 'monitor1' AND s.code = 'S02'")
    problems = verify(served.db_url)
    assert any("monitor 'monitor1' has sites ['S01', 'S02'] but the audit trail says ['S01']" in p for p in problems)


def test_bad_assignments_are_refused_and_change_nothing(served):
    served.assign(["S01"])
    cases = [
        (served.assign(["S01", "S99"]), 404, "'S99' does not exist"),
        (served.assign(["S02"], reason="  "), 422, "reason"),
        (served.assign(["S02"], name="coord01"), 422, "only monitors are assigned sites"),
        (served.assign(["S02"], name="nobody"), 404, "user: 'nobody' does not exist"),
    ]
    for r, status, words in cases:
        assert r.status_code == status and words in r.text, r.text
    for who in ("monitor", "data_manager", "S01"):
        assert served.assign(["S02"], who=who).status_code == 403
    assert served.seen()["casebooks"] == ["P001"]
    assert verify(served.db_url) == []


def test_the_cli_assigns_sites_and_the_user_list_shows_them(served):
    run = CliRunner().invoke(cli, ["irt", "assign-sites", "--db", served.db_url, "--name", "monitor1",
                                   "--sites", "S02, S01", "--reason", "monitoring plan v1", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout) == {"name": "monitor1", "sites": ["S01", "S02"], "changed": True}
    assert served.seen()["casebooks"] == ["P001", "P002"]
    users = {u["name"]: u for u in served.client.get("/api/v1/users", headers=served.h["admin"]).json()["items"]}
    assert users["monitor1"]["sites"] == ["S01", "S02"] and users["monitor1"]["site"] is None
    bad = CliRunner().invoke(cli, ["irt", "assign-sites", "--db", served.db_url, "--name", "monitor1",
                                   "--sites", "S07", "--reason", "typo"])
    assert bad.exit_code != 0 and "'S07' does not exist" in bad.output


def test_a_monitor_added_with_a_site_starts_with_it(db_url):
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        user, _ = add_user(engine, "monitor2", "monitor", site="S02", actor="test")
    finally:
        engine.dispose()
    assert (user["site"], user["sites"]) == (None, ["S02"])
    assert verify(fx.db_url) == []


def test_a_monitors_audit_trail_holds_its_sites_the_trial_and_itself_and_pages_through_them(served):
    served.assign(["S01"], reason="first visit planned")
    get = lambda **params: served.client.get("/api/v1/audit", params=params, headers=served.h["monitor"])  # noqa: E731
    seen = get(limit=5000).json()["items"]
    full = served.client.get("/api/v1/audit", params={"limit": 5000}, headers=served.h["admin"]).json()["items"]
    assert len(seen) < len(full)
    kinds = {(e["entity"], e["entity_id"].split("|")[0]) for e in seen}
    assert ("trial", "PATINA") in kinds and ("site", "S01") in kinds and ("monitor_sites", "monitor1") in kinds
    assert not {k for k in kinds if k[1] in ("P002", "S02", "coord02", "admin1", "data_manager1")}
    assert {e["entity_id"].split("|")[0] for e in seen if e["entity"] in SUBJECT_ENTITIES} == {"P001"}
    paged, after = [], 0
    while page := get(after=after, limit=2).json()["items"]:
        assert len(page) <= 2
        paged += page
        after = page[-1]["seq"]
    assert [e["seq"] for e in paged] == [e["seq"] for e in seen]
