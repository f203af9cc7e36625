"""A visit's eCRF page saved in one request (``POST /api/v1/subjects/ID/visits/VISIT/records``): all
its entries or none, each checked and audited as a single save is, the edit checks run once for the
page (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.testing import prepare_trial

from .conftest import DEMOG, STRATA, auth, body, sql_rows

PAGE = "/api/v1/subjects/{}/visits/{}/records"
EX = {"EXTRT": "PALBOCICLIB", "EXDOSE": 125.0, "EXDOSU": "mg", "EXSTDTC": "2099-01-04", "EXENDTC": "2099-01-24"}
SCREENING = [{"form": "DEMOG", "version": 1, "values": DEMOG}, {"form": "IC", "values": {"ICDT": "2026-01-02"}}]


class Site:
    """S01's coordinator with P001 randomized, S02's coordinator and a statistician, served over ``db_url``."""

    def __init__(self, client: TestClient, db_url: str, tokens: dict[str, str], statistician: str) -> None:
        self.client, self.db_url = client, db_url
        self.h, self.other, self.statistician = auth(tokens["S01"]), auth(tokens["S02"]), auth(statistician)

    def save(self, visit: str, entries: list[dict], h: dict[str, str] | None = None, subject: str = "P001"):
        return self.client.post(PAGE.format(subject, visit), json={"entries": entries}, headers=self.h if h is None else h)

    def casebook(self) -> dict:
        r = self.client.get("/api/v1/subjects/P001/casebook", headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    def trail(self, entity: str) -> list[tuple[str, str, dict, dict, str]]:
        return [(a, e, json.loads(o), json.loads(n), r) for a, e, o, n, r in sql_rows(
            self.db_url, f"SELECT action, entity_id, old, new, reason FROM audit_log WHERE entity = '{entity}' "
                         "ORDER BY seq")]

    def verified(self) -> bool:
        r = CliRunner().invoke(cli, ["audit", "verify", "--db", self.db_url, "--json"])
        return r.exit_code == 0 and json.loads(r.stdout)["ok"]


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    fx = prepare_trial(db_url, n_sites=2, per_stratum=10)
    with TestClient(create_app(Settings(db_url=fx.db_url))) as c:
        s = Site(c, fx.db_url, fx.tokens, fx.statistician)
        assert c.post("/api/v1/randomizations", json=body("P001", strata=dict(STRATA)), headers=s.h).status_code == 201
        yield s


def test_a_page_of_new_entries_is_saved_in_order_with_an_audit_link_each(site):
    r = site.save("SCREENING", SCREENING)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["subject_id"], out["visit"]) == ("P001", "SCREENING")
    assert [(x["record"], x["revision"], x["updated_by"]) for x in out["records"]] == \
        [("SCREENING|DEMOG|1", 1, "coord01"), ("SCREENING|IC|1", 1, "coord01")]
    assert out["records"][0]["values"]["AGE"] == 51
    assert [x["record"] for x in site.casebook()["records"]] == ["SCREENING|DEMOG|1", "SCREENING|IC|1"]
    assert site.trail("form_record") == [
        ("enter", "P001|SCREENING|DEMOG|1", None, {"version": 1, "values": out["records"][0]["values"]}, ""),
        ("enter", "P001|SCREENING|IC|1", None, {"version": 1, "values": {"ICDT": "2026-01-02"}}, "")]
    assert site.verified()


def test_a_page_mixes_a_change_with_new_entries(site):
    assert site.save("CYCLE 1", [{"form": "EX", "seq": 1, "values": EX}]).status_code == 201
    r = site.save("CYCLE 1", [
        {"form": "EX", "seq": 1, "revision": 1, "reason": "chart: 100 mg", "values": {**EX, "EXDOSE": 100.0}},
        {"form": "EX", "seq": 2, "values": {**EX, "EXTRT": "TRASTUZUMAB", "EXDOSE": 6.0, "EXDOSU": "mg/kg"}},
        {"form": "VISIT", "values": {"SVSTDTC": "2099-01-04"}}])
    assert r.status_code == 201, r.text
    assert [(x["record"], x["revision"]) for x in r.json()["records"]] == \
        [("CYCLE 1|EX|1", 2), ("CYCLE 1|EX|2", 1), ("CYCLE 1|VISIT|1", 1)]
    assert site.trail("form_record")[1] == \
        ("change", "P001|CYCLE 1|EX|1", {"EXDOSE": 125.0}, {"EXDOSE": 100.0}, "chart: 100 mg")
    assert [a for a, *_ in site.trail("form_record")] == ["enter", "change", "enter", "enter"]
    changes_only = site.save("CYCLE 1", [{"form": "VISIT", "revision": 1, "reason": "typo",
                                          "values": {"SVSTDTC": "2099-01-05"}}])
    assert changes_only.status_code == 200, changes_only.text
    assert site.verified()


def _nothing_stored(site: Site, records: list[str], links: int) -> None:
    assert [x["record"] for x in site.casebook()["records"]] == records
    assert len(site.trail("form_record")) == links


def test_one_bad_entry_refuses_the_page_naming_its_position_form_field_and_rule(site):
    assert site.save("SCREENING", SCREENING[:1]).status_code == 201
    r = site.save("LOG", [{"form": "AE", "seq": 1, "values": {"AETERM": "Nausea", "AETOXGR": "2", "AESTDTC": "2099-01-10"}},
                          {"form": "AE", "seq": 2, "values": {"AETERM": "Rash", "AETOXGR": "7"}}])
    assert r.status_code == 422 and r.json()["detail"].startswith("entries[1] (form AE): "), r.text
    assert "AE.AETOXGR [codelist]" in r.json()["detail"]
    _nothing_stored(site, ["SCREENING|DEMOG|1"], 1)
    misplaced = site.save("SCREENING", [SCREENING[1], {"form": "EX", "seq": 1, "values": EX}])
    assert misplaced.status_code == 422 and "entries[1] (form EX): form: EX is not collected at visit 'SCREENING'" \
        in misplaced.json()["detail"]
    twice = site.save("SCREENING", [SCREENING[1], SCREENING[1]])
    assert twice.status_code == 422 and "entries[1]: SCREENING|IC|1 is entries[0] again" in twice.json()["detail"]
    unchanged = site.save("SCREENING", [SCREENING[1], {**SCREENING[0], "revision": 1, "reason": "again"}])
    assert unchanged.status_code == 422 and "entries[1] (form DEMOG): values: equal the saved entry" \
        in unchanged.json()["detail"]
    assert site.save("SCREENING", []).status_code == 422
    _nothing_stored(site, ["SCREENING|DEMOG|1"], 1)
    assert site.verified()


def test_a_stale_revision_refuses_the_page_with_409(site):
    assert site.save("SCREENING", SCREENING).status_code == 201
    site.save("SCREENING", [{**SCREENING[1], "revision": 1, "reason": "chart", "values": {"ICDT": "2026-01-03"}}])
    r = site.save("SCREENING", [{**SCREENING[1], "revision": 1, "reason": "late", "values": {"ICDT": "2026-01-04"}}])
    assert r.status_code == 409 and "entries[0] (form IC): revision: SCREENING|IC|1 is at revision 2, not 1" \
        in r.json()["detail"]
    new_without_revision = site.save("SCREENING", [SCREENING[1]])
    assert new_without_revision.status_code == 409 and "give the revision you changed" in new_without_revision.text
    assert site.casebook()["records"][1]["values"] == {"ICDT": "2026-01-03"}
    assert len(site.trail("form_record")) == 3


def test_another_sites_coordinator_and_a_reader_are_refused(site):
    r = site.save("SCREENING", SCREENING, h=site.other)
    assert r.status_code == 404 and "at your site" in r.json()["detail"]
    assert site.save("SCREENING", SCREENING, h=site.statistician).status_code == 403
    assert site.save("SCREENING", SCREENING, h={}).status_code == 401
    _nothing_stored(site, [], 0)


def test_the_edit_checks_run_once_for_the_page(site):
    wrong = [{"form": "EX", "seq": 1, "values": {**EX, "EXDOSE": 130.0}},
             {"form": "EX", "seq": 2, "values": {**EX, "EXTRT": "PERTUZUMAB", "EXDOSE": 420.0, "EXENDTC": "2099-01-01"}}]
    assert site.save("CYCLE 1", wrong).status_code == 201
    queries = site.casebook()["queries"]
    assert sorted((q["check"], q["record"], q["status"]) for q in queries) == [
        ("EX_DOSE_LEVEL", "CYCLE 1|EX|1", "open"), ("EX_END_AFTER_START", "CYCLE 1|EX|2", "open")]
    assert [a for a, *_ in site.trail("query")] == ["open", "open"]
    fixed = site.save("CYCLE 1", [
        {"form": "EX", "seq": 1, "revision": 1, "reason": "query: 125 mg", "values": EX},
        {"form": "EX", "seq": 2, "revision": 1, "reason": "query: end date", "values": {
            **EX, "EXTRT": "PERTUZUMAB", "EXDOSE": 420.0, "EXENDTC": "2099-01-04"}}])
    assert fixed.status_code == 200, fixed.text
    assert [a for a, *_ in site.trail("query")] == ["open", "open", "close", "close"]
    assert {(q["status"], q["resolution"]) for q in site.casebook()["queries"]} == {("closed", "corrected")}
    assert site.verified()


def test_a_page_larger_than_the_body_limit_is_refused_with_413(site):
    big = [{"form": "AE", "seq": i, "values": {"AETERM": "x" * 190, "AETOXGR": "1"}} for i in range(1, 400)]
    r = site.save("LOG", big)
    assert r.status_code == 413 and "larger than the" in r.json()["detail"]
    _nothing_stored(site, [], 0)


def test_a_frozen_record_refuses_the_page_it_is_on(site):
    from oncotrial.irt.db.engine import make_engine
    from oncotrial.irt.services.setup import add_user

    engine = make_engine(site.db_url)
    try:
        dm = auth(add_user(engine, "dm1", "data_manager", actor="test")[1])
    finally:
        engine.dispose()
    assert site.save("SCREENING", SCREENING).status_code == 201
    r = site.client.post("/api/v1/subjects/P001/freeze", json={"record": "SCREENING|IC|1"}, headers=dm)
    assert r.status_code == 200, r.text
    page = [{**SCREENING[0], "revision": 1, "reason": "chart", "values": {**DEMOG, "AGE": 52}},
            {**SCREENING[1], "revision": 1, "reason": "chart", "values": {"ICDT": "2026-01-03"}}]
    r = site.save("SCREENING", page)
    assert r.status_code == 409 and "entries[1] (form IC): record: SCREENING|IC|1 of 'P001' is frozen" \
        in r.json()["detail"], r.text
    assert site.save("SCREENING", page[:1]).status_code == 200  # the record beside it is not held
