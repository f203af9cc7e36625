"""Queries through the API: edit-check queries that open, close and re-open with the data; reviewers'
queries answered by the site; who may do what; the lock waiting for them; and an audit trail that
rebuilds every query (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.monitors import assign_sites
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial

from .conftest import STRATA, auth, body
from .conftest import DEMOG

DEMOG_RECORD = "SCREENING|DEMOG|1"


class Trial:
    """Two sites with a subject each, a monitor and a data manager, served over ``db_url``."""

    def __init__(self, client: TestClient, db_url: str, headers: dict[str, dict[str, str]]) -> None:
        self.client, self.db_url, self.h = client, db_url, headers

    def enter(self, values: dict, *, subject: str = "P001", who: str = "S01", **place) -> dict:
        place = {"visit": "SCREENING", "form": "DEMOG", "version": 1} | place
        r = self.client.post(f"/api/v1/subjects/{subject}/records", json={**place, "values": values},
                             headers=self.h[who])
        assert r.status_code in (200, 201), r.text
        return r.json()

    def queries(self, who: str = "data_manager", **params) -> dict:
        r = self.client.get("/api/v1/queries", params=params, headers=self.h[who])
        assert r.status_code == 200, r.text
        return r.json()

    def act(self, query_id: int, action: str, who: str, **payload):
        return self.client.post(f"/api/v1/queries/{query_id}/{action}", json=payload, headers=self.h[who])

    def audit(self, entity: str = "query") -> list[tuple[str, str]]:
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(
                    text("SELECT action, reason FROM audit_log WHERE entity = :e ORDER BY seq"), {"e": entity})]
        finally:
            engine.dispose()


@pytest.fixture
def t(db_url: str) -> Iterator[Trial]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    engine = make_engine(fx.db_url)
    try:
        h = {site: auth(tok) for site, tok in fx.tokens.items()}
        for role in ("monitor", "data_manager"):
            h[role] = auth(add_user(engine, f"{role}1", role, actor="test")[1])
        assign_sites(engine, "monitor1", ["S01", "S02"], reason="monitors both sites", actor="test")
        h["statistician"] = auth(fx.statistician)
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        for subject, site in (("P001", "S01"), ("P002", "S02")):
            r = c.post("/api/v1/randomizations", json=body(subject, site, strata=dict(STRATA)), headers=h[site])
            assert r.status_code == 201, r.text
        yield Trial(c, fx.db_url, h)


def _verify(db_url: str) -> dict:
    return json.loads(CliRunner().invoke(cli, ["audit", "verify", "--db", db_url, "--json"]).stdout)


def test_an_edit_check_query_closes_when_corrected_and_reopens_when_wrong_again(t):
    rec = t.enter({**DEMOG, "STRAT2V": "YES"})
    [q] = t.queries()["items"]
    assert (q["origin"], q["check"], q["record"], q["field"], q["status"], q["subject_id"], q["site"]) == \
        ("edit_check", "STRAT2_MATCHES_IRT", DEMOG_RECORD, "STRAT2V", "open", "P001", "S01")
    rec = t.enter(DEMOG, revision=rec["revision"], reason="IRT value is right")
    [q1] = t.queries()["items"]
    assert (q1["id"], q1["status"], q1["resolution"]) == (q["id"], "closed", "corrected")
    t.enter({**DEMOG, "STRAT2V": "YES"}, revision=rec["revision"], reason="re-read the chart")
    [q2] = t.queries()["items"]
    assert (q2["id"], q2["status"], q2["resolution"]) == (q["id"], "open", "")
    assert [a for a, _ in t.audit()] == ["open", "close", "reopen"]
    book = t.client.get("/api/v1/subjects/P001/casebook", headers=t.h["S01"]).json()
    assert [x["id"] for x in book["queries"]] == [q["id"]]
    assert _verify(t.db_url)["ok"]


def test_a_reviewer_accepts_an_unusual_value_and_the_query_stays_closed(t):
    rec = t.enter({**DEMOG, "AGE": 17})  # below the form's range: saved, and a query
    [q] = t.queries(status="open")["items"]
    assert (q["check"], q["field"]) == ("RANGE", "AGE")
    assert t.act(q["id"], "answer", "S01", text="17 per birth certificate; consented with guardian").status_code == 200
    closed = t.act(q["id"], "close", "data_manager")
    assert closed.status_code == 200 and closed.json()["resolution"] == "accepted"
    t.enter({**DEMOG, "AGE": 17, "ETHNIC": "NOT HISPANIC OR LATINO"}, revision=rec["revision"], reason="ethnicity added")
    assert t.queries(status="closed")["total"] == 1 and t.queries(status="open")["total"] == 0
    assert t.client.post("/api/v1/subjects/P001/lock", json={}, headers=t.h["data_manager"]).status_code == 200


def test_a_reviewers_query_goes_open_answered_closed_reopened(t):
    t.enter(DEMOG)
    r = t.client.post("/api/v1/subjects/P001/queries", json={"record": DEMOG_RECORD, "field": "AGE",
                                                              "text": "Age differs from the source"},
                      headers=t.h["monitor"])
    assert r.status_code == 201, r.text
    q = r.json()
    assert (q["origin"], q["check"], q["status"], q["updated_by"]) == ("manual", "MANUAL", "open", "monitor1")
    assert t.act(q["id"], "answer", "S02", text="x").status_code == 404  # another site's subject
    answered = t.act(q["id"], "answer", "S01", text="checked: 51 is right")
    assert answered.status_code == 200 and answered.json()["answer"] == "checked: 51 is right"
    again = t.act(q["id"], "answer", "S01", text="again")
    assert again.status_code == 409 and "answered" in again.json()["detail"]
    assert t.act(q["id"], "close", "monitor").json()["status"] == "closed"
    no_reason = t.act(q["id"], "reopen", "data_manager")
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    reopened = t.act(q["id"], "reopen", "data_manager", reason="source shows 52")
    assert (reopened.json()["status"], reopened.json()["answer"]) == ("open", "")
    unanswered = t.act(q["id"], "close", "monitor")
    assert unanswered.status_code == 422 and "reason" in unanswered.json()["detail"]
    assert t.act(q["id"], "close", "monitor", reason="site corrected on paper; EDC value confirmed").status_code == 200
    assert t.audit() == [("open", ""), ("answer", ""), ("close", ""), ("reopen", "source shows 52"),
                         ("close", "site corrected on paper; EDC value confirmed")]
    assert _verify(t.db_url)["ok"]


@pytest.mark.parametrize("payload,words", [
    ({"record": "SCREENING|DEMOG|1", "field": "NOPE", "text": "?"}, "field: 'NOPE' is not a field of form DEMOG"),
    ({"record": "LOG|AE|1", "text": "?"}, "has no saved record 'LOG|AE|1'"),
    ({"record": "DEMOG", "text": "?"}, "is not a record key"),
    ({"record": "SCREENING|DEMOG|1", "text": "   "}, "text: a query needs its question"),
])
def test_a_query_on_something_that_is_not_there_is_refused(t, payload, words):
    t.enter(DEMOG)
    r = t.client.post("/api/v1/subjects/P001/queries", json=payload, headers=t.h["monitor"])
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert t.queries()["total"] == 0 and t.audit() == []


def test_a_query_on_the_randomization_record_needs_no_entry(t):
    r = t.client.post("/api/v1/subjects/P002/queries", json={"record": "SCREENING|RAND|1", "field": "STRAT1R",
                                                              "text": "Induction response at randomization?"},
                      headers=t.h["data_manager"])
    assert r.status_code == 201, r.text


def test_roles(t):
    t.enter(DEMOG)
    q = {"record": DEMOG_RECORD, "text": "?"}
    for who in ("S01", "statistician"):
        assert t.client.post("/api/v1/subjects/P001/queries", json=q, headers=t.h[who]).status_code == 403
    qid = t.client.post("/api/v1/subjects/P001/queries", json=q, headers=t.h["monitor"]).json()["id"]
    assert t.act(qid, "answer", "monitor", text="me").status_code == 403
    assert t.act(qid, "close", "S01", reason="done").status_code == 403
    assert t.act(qid + 1000, "close", "monitor", reason="x").status_code == 404
    assert t.queries("statistician")["total"] == 1
    assert t.queries("S02")["total"] == 0 and t.queries("S01")["total"] == 1


def test_the_list_filters_and_pages(t):
    t.enter({**DEMOG, "AGE": 17, "STRAT2V": "YES"})
    t.enter({**DEMOG, "AGE": 16}, subject="P002", who="S02")
    every = t.queries()
    assert every["total"] == 3 and [q["subject_id"] for q in every["items"]] == ["P001", "P001", "P002"]
    page = t.queries(limit=2, offset=2)
    assert (page["total"], page["count"], page["items"][0]["id"]) == (3, 1, every["items"][2]["id"])
    assert t.queries(site="S02")["total"] == 1 and t.queries(subject_id="P001")["total"] == 2
    r = t.client.get("/api/v1/queries", params={"status": "pending"}, headers=t.h["monitor"])
    assert r.status_code == 422 and "open, answered, closed" in r.json()["detail"]


def test_the_lock_waits_for_every_query(t):
    t.enter(DEMOG)
    qid = t.client.post("/api/v1/subjects/P001/queries", json={"record": DEMOG_RECORD, "text": "Source?"},
                        headers=t.h["monitor"]).json()["id"]
    refused = t.client.post("/api/v1/subjects/P001/lock", json={}, headers=t.h["data_manager"])
    assert refused.status_code == 409 and f"query {qid}, MANUAL on {DEMOG_RECORD}" in refused.json()["detail"]
    t.act(qid, "answer", "S01", text="on file")
    assert t.client.post("/api/v1/subjects/P001/lock", json={}, headers=t.h["data_manager"]).status_code == 409
    t.act(qid, "close", "monitor")
    assert t.client.post("/api/v1/subjects/P001/lock", json={}, headers=t.h["data_manager"]).status_code == 200


def test_entries_saved_before_queries_were_stored_get_theirs_at_the_lock(t):
    t.enter({**DEMOG, "STRAT2V": "YES"})
    engine = make_engine(t.db_url)
    try:  # as a database upgraded from before queries: the entry is there, its query is not
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER queries_no_delete" + ("" if "sqlite" in t.db_url else " ON queries")))
            conn.execute(text("DELETE FROM queries"))
    finally:
        engine.dispose()
    refused = t.client.post("/api/v1/subjects/P001/lock", json={}, headers=t.h["data_manager"])
    assert refused.status_code == 409 and "STRAT2_MATCHES_IRT" in refused.json()["detail"]
    assert [q["check"] for q in t.queries(status="open")["items"]] == ["STRAT2_MATCHES_IRT"]


def test_a_query_closed_behind_the_services_back_is_found_and_none_is_deleted(t):
    t.enter({**DEMOG, "STRAT2V": "YES"})
    [q] = t.queries()["items"]
    engine = make_engine(t.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE queries SET status = 'closed', resolution = 'accepted'"))
        with pytest.raises(Exception, match="never deleted"):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM queries"))
    finally:
        engine.dispose()
    report = _verify(t.db_url)
    assert not report["ok"]
    assert f"query 'P001|{q['id']}' does not match the audit trail in: status, resolution" in report["problems"]
