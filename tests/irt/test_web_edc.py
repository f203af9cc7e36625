"""The data-capture web pages over the service's own session log-in: the patient list searched and
paged with the protocol's labels, eCRF entry rendered from the protocol with the service's
validation, queries beside their fields, SDV, signatures, freeze and the database lock; forms
that are refused keep what was typed and store nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import DEMOG, STRATA, auth, body, sql_rows
from .test_tamper_evidence import verify

PASSWORD = "web edc password"
AE = {"AETERM": "Nausea", "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED",
      "AEOUT": "RECOVERED/RESOLVED", "AESTDTC": "2026-01-05"}


class _Page(HTMLParser):
    """Elements by id and by class, with their text (enough to read our own pages)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.by_class: dict[str, list[str]] = {}
        self.attrs: list[dict[str, str]] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.attrs.append({"tag": tag, **a})
        if tag not in ("input", "br", "meta", "link", "img"):
            self._open.append((tag, a, []))

    def handle_endtag(self, tag):
        while self._open:
            t, a, text = self._open.pop()
            content = " ".join("".join(text).split())
            if "id" in a:
                self.by_id[a["id"]] = content
            for c in a.get("class", "").split():
                self.by_class.setdefault(c, []).append(content)
            if self._open:
                self._open[-1][2].append("".join(text))
            if t == tag:
                break

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)


@dataclass
class Site:
    client: TestClient
    db_url: str
    csrf: dict[str, str] = field(default_factory=dict)

    def login(self, name: str) -> None:
        self.client.cookies.clear()
        page = self.client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = self.client.post("/login", data={"name": name, "password": PASSWORD, "csrf": token}, follow_redirects=False)
        assert r.status_code == 303, r.text

    def page(self, path: str, status: int = 200) -> _Page:
        r = self.client.get(path)
        assert r.status_code == status, (path, r.status_code, r.text[:500])
        return _Page(r.text)

    def post(self, path: str, data: dict[str, str], from_page: str):
        token = re.search(r'name="csrf" value="([^"]+)"', self.client.get(from_page).text).group(1)
        return self.client.post(path, data={"csrf": token, **data}, follow_redirects=False)


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=60)
    engine = make_engine(fx.db_url)
    try:
        for name, role, where in (("carol", "site_coordinator", "S01"), ("dave", "site_coordinator", "S02"),
                                  ("pia", "investigator", "S01"), ("mona", "monitor", "S01"),
                                  ("dana", "data_manager", None)):
            add_user(engine, name, role, site=where, password=PASSWORD, actor="test")
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as client:
        for i in range(1, 56):
            r = client.post("/api/v1/randomizations", json=body(f"P{i:03d}", "S01", strata=dict(STRATA)),
                            headers=auth(fx.tokens["S01"]))
            assert r.status_code == 201, r.text
        assert client.post("/api/v1/randomizations", json=body("X001", "S02", strata=dict(STRATA)),
                           headers=auth(fx.tokens["S02"])).status_code == 201
        yield Site(client, fx.db_url)


def _entry(subject="P001", seq="1"):
    return f"/patients/{subject}/entry?visit=LOG&form=AE&seq={seq}"


def _save(site: Site, values: dict[str, str], subject="P001", **extra: str):
    data = {"visit": "LOG", "form": "AE", "seq": "1", **{f"f_{k}": v for k, v in values.items()}, **extra}
    return site.post(f"/patients/{subject}/entry", data, from_page=_entry(subject))


def test_the_patient_list_is_searched_and_paged_with_the_protocols_labels(site):
    site.login("carol")
    first = site.page("/patients")
    assert first.by_id["count"].startswith("55 randomized") and first.by_id["page"] == "1"
    assert len(first.by_class["subject"]) == 50 and first.by_class["subject"][0] == "P001"
    assert "CR or PR" in first.by_class["factor"] and "Dual: trastuzumab + pertuzumab" in first.by_class["factor"]
    assert "CR_PR" not in first.by_class["factor"]
    assert set(first.by_class["arm"]) <= {"Palbociclib + anti-HER2 + endocrine therapy", "Anti-HER2 + endocrine therapy"}
    second = site.page("/patients?page=2")
    assert second.by_class["subject"] == [f"P{i:03d}" for i in range(51, 56)] and "next" not in second.by_id
    found = site.page("/patients?q=p05")
    assert found.by_class["subject"] == [f"P{i:03d}" for i in range(50, 56)]
    assert site.page("/patients?q=X001").by_class.get("subject") is None  # another site's patient
    assert site.page("/patients?q=%25").by_class.get("subject") is None  # a LIKE wildcard matches itself
    site.login("dave")
    assert site.page("/patients").by_class["subject"] == ["X001"]
    assert site.client.get("/patients/P001").status_code == 404


def test_a_form_is_entered_refused_with_what_was_typed_then_changed_with_a_reason(site):
    site.login("carol")
    page = site.page(_entry())
    assert "new" in page.by_id and "save" in page.by_id
    selects = [a for a in page.attrs if a["tag"] == "option" and a.get("value") == "DOSE NOT CHANGED"]
    assert selects, "the AE action's code list is a select"

    bad = _save(site, {**AE, "AETOXGR": "9"})
    assert bad.status_code == 422
    shown = _Page(bad.text)
    assert "AETOXGR" in shown.by_id["error"] and "new" in shown.by_id
    assert any(a.get("name") == "f_AETERM" and a.get("value") == "Nausea" for a in shown.attrs)  # kept
    assert site.page("/patients/P001").by_class.get("record") is None  # nothing stored

    done = _save(site, AE)
    assert done.status_code == 303 and done.headers["location"].startswith("/patients/P001")
    book = site.page("/patients/P001")
    assert book.by_class["revision"] == ["1"] and book.by_id["state"] == "open"

    no_reason = _save(site, {**AE, "AETOXGR": "2"}, revision="1")
    assert no_reason.status_code == 422 and "reason" in _Page(no_reason.text).by_id["error"]
    stale = _save(site, {**AE, "AETOXGR": "2"}, revision="7", reason="chart")
    assert stale.status_code == 409 and "is at revision 1, not 7" in _Page(stale.text).by_id["error"]
    assert _save(site, {**AE, "AETOXGR": "2"}, revision="1", reason="chart says grade 2").status_code == 303
    again = site.page(_entry())
    assert again.by_id["revision"] == "2" and any(
        a.get("value") == "2" and "selected" in a for a in again.attrs if a["tag"] == "option")
    assert verify(site.db_url) == []


def test_queries_are_raised_answered_and_closed_beside_their_fields(site):
    site.login("carol")
    assert _save(site, AE).status_code == 303
    site.login("mona")
    raised = site.post("/patients/P001/queries", {"record": "LOG|AE|1", "field": "AETOXGR", "text": "Grade per chart?"},
                       from_page="/patients/P001")
    assert raised.status_code == 303
    assert site.page("/queries").by_id["count"].startswith("1 open")
    site.login("carol")
    beside = site.page(_entry())
    assert any("Grade per chart?" in q for q in beside.by_class["query"])
    qid = next(a["data-query-id"] for a in site.page("/queries").attrs if "data-query-id" in a)
    assert site.post(f"/patients/P001/queries/{qid}", {"action": "answer", "text": "grade 1 in the chart"},
                     from_page="/patients/P001").status_code == 303
    refused = site.post(f"/patients/P001/queries/{qid}", {"action": "close", "text": ""}, from_page="/patients/P001")
    assert refused.status_code == 403 and "cannot close a query" in _Page(refused.text).by_id["error"]
    site.login("mona")
    assert site.post(f"/patients/P001/queries/{qid}", {"action": "close", "text": ""},
                     from_page="/patients/P001").status_code == 303
    assert site.page("/patients/P001").by_class["status"] == ["closed (accepted)"]
    assert site.page("/sdv").by_class["state"] == ["pending"]
    assert site.post("/patients/P001/sdv", {"record": "LOG|AE|1", "revision": "1"},
                     from_page="/patients/P001").status_code == 303
    assert site.page("/sdv?state=verified").by_class["state"] == ["verified"]
    assert verify(site.db_url) == []


def test_the_investigator_signs_and_the_data_manager_freezes_and_locks(site):
    site.login("carol")
    assert _save(site, AE).status_code == 303
    site.login("pia")
    wrong = site.post("/patients/P001/sign", {"meaning": "approval", "password": "not it"}, from_page="/patients/P001")
    assert wrong.status_code == 403 and "does not match" in _Page(wrong.text).by_id["error"]
    assert site.post("/patients/P001/sign", {"meaning": "approval", "password": PASSWORD},
                     from_page="/patients/P001").status_code == 303
    assert site.page("/patients/P001").by_class["covers"] == ["yes"]

    site.login("dana")
    assert site.post("/patients/P001/hold", {"action": "freeze", "record": "", "reason": ""},
                     from_page="/patients/P001").status_code == 303
    assert site.page("/patients/P001").by_id["state"] == "frozen"
    site.login("carol")
    frozen = _save(site, {**AE, "AETOXGR": "2"}, revision="1", reason="late")
    assert frozen.status_code == 409 and "is frozen" in _Page(frozen.text).by_id["error"]

    site.login("dana")
    no_cutoff = site.post("/database", {"action": "lock", "cutoff": "", "reason": "primary"}, from_page="/database")
    assert no_cutoff.status_code == 422 and "cutoff" in _Page(no_cutoff.text).by_id["error"]
    assert site.post("/database", {"action": "lock", "cutoff": "2026-06-30", "reason": "primary analysis"},
                     from_page="/database").status_code == 303
    db = site.page("/database")
    assert (db.by_id["db-state"], db.by_id["db-cutoff"]) == ("locked", "2026-06-30")
    assert site.page("/patients/P002").by_id["state"] == "locked"
    site.login("carol")
    assert site.client.get("/database").status_code == 403
    assert verify(site.db_url) == []


def test_data_capture_forms_refuse_a_missing_csrf_token(site):
    site.login("carol")
    for path in ("/patients/P001/entry", "/patients/P001/queries", "/patients/P001/hold", "/database"):
        r = site.client.post(path, data={"visit": "LOG", "form": "AE", "seq": "1", "f_AETERM": "x"},
                             follow_redirects=False)
        assert r.status_code == 403, path
    assert site.page("/patients/P001").by_class.get("record") is None


def test_the_data_manager_sees_each_casebooks_state_and_moves_entries_to_a_new_version(site):
    site.login("carol")
    assert _save(site, AE).status_code == 303  # P001: a complete entry, no query
    from oncotrial.irt.services.setup import issue_token

    engine = make_engine(site.db_url)
    try:
        carol = issue_token(engine, "carol", actor="test")
        dana = issue_token(engine, "dana", actor="test")
    finally:
        engine.dispose()
    r = site.client.post("/api/v1/subjects/P002/records", headers=auth(carol), json={
        "visit": "SCREENING", "form": "DEMOG", "version": 1, "values": {**DEMOG, "STRAT2V": "YES"}})
    assert r.status_code == 201, r.text  # P002: the strata differ from the IRT's, a query opens
    states = site.client.get("/api/v1/database/casebooks", params={"limit": 2}, headers=auth(dana)).json()
    assert (states["total"], states["states"], states["database"]) == (56, {"open": 56, "frozen": 0, "locked": 0},
                                                                      "open")
    assert [(b["subject_id"], b["entries"], b["unresolved_queries"]) for b in states["items"]] == [
        ("P001", 1, 0), ("P002", 1, 1)]
    ready = site.client.get("/api/v1/database/casebooks", params={"ready": "true", "limit": 1000},
                            headers=auth(dana)).json()
    assert "P002" not in {b["subject_id"] for b in ready["items"]} and ready["total"] == 55
    assert site.client.get("/api/v1/database/casebooks", headers=auth(carol)).status_code == 403

    site.login("dana")
    page = site.page("/database")
    assert page.by_id["book-counts"] == "56 open, 0 frozen, 0 locked."
    assert len(page.by_class["state"]) == 50 and "next" in page.by_id  # paged
    assert page.by_class["queries"][:2] == ["0", "1"]
    moved = site.post("/database/migrate", {"target": "DEMOG:2", "subjects": "P002", "reason": "amendment 1: ECOG"},
                      from_page="/database")
    assert moved.status_code == 200, moved.text
    assert _Page(moved.text).by_id["migration-result"] == "1 entries of DEMOG moved to version 2; 0 left."
    assert sql_rows(site.db_url, "SELECT f.version FROM form_records f JOIN randomizations r "
                                 "ON r.id = f.randomization_id WHERE r.subject_id = 'P002'")[0][0] == 2
    no_reason = site.post("/database/migrate", {"target": "DEMOG:2", "subjects": "", "reason": ""},
                          from_page="/database")
    assert no_reason.status_code == 422 and "reason" in _Page(no_reason.text).by_id["error"]
    assert verify(site.db_url) == []
