"""`oncotrial edc export`: SDTM at a data cut-off with define.xml 2.1, the data as they stood at an
earlier moment (rebuilt from the audit trail), and CDISC ODM 1.3.2 with audit records whose every
reference resolves (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from oncotrial.cli import app as cli
from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.services.setup import add_user
from oncotrial.irt.testing import prepare_trial
from oncotrial.sdtm import read_sdtm

from .conftest import DEMOG, auth, body, sql_rows

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"
XLINK = "{http://www.w3.org/1999/xlink}"
AE = {"AETERM": "Nausea", "AETOXGR": "2", "AESTDTC": "2099-01-10", "AESER": "N"}


@pytest.fixture
def entered(db_url: str):
    """P001 (S01) with an AE before and one after the cut-off 2099-06-30, the first changed from grade 2
    to 3; P002 (S02) with one AE. Returns the database URL, the data manager's headers and the moment
    between the first AE's entry and its change."""
    fx = prepare_trial(db_url, n_sites=2, per_stratum=20)
    engine = make_engine(db_url)
    try:
        dm = auth(add_user(engine, "dm1", "data_manager", actor="test")[1])
    finally:
        engine.dispose()
    with TestClient(create_app(Settings(db_url=db_url))) as c:
        s1, s2 = auth(fx.tokens["S01"]), auth(fx.tokens["S02"])
        url = "/api/v1/subjects/{}/records"
        assert c.post("/api/v1/randomizations", json=body("P001"), headers=s1).status_code == 201
        assert c.post(url.format("P001"), json={"visit": "SCREENING", "form": "DEMOG", "version": 1,
                                                "values": DEMOG}, headers=s1).status_code == 201
        assert c.post(url.format("P001"), json={"visit": "LOG", "form": "AE", "seq": 1, "values": AE},
                      headers=s1).status_code == 201
        between = sql_rows(db_url, "SELECT max(ts) FROM audit_log")[0][0]
        assert c.post(url.format("P001"), json={"visit": "LOG", "form": "AE", "seq": 1, "revision": 1,
                                                "reason": "grade 3 in the chart", "values": {**AE, "AETOXGR": "3"}},
                      headers=s1).status_code == 200
        assert c.post("/api/v1/randomizations", json=body("P002", site="S02"), headers=s2).status_code == 201
        assert c.post(url.format("P002"), json={"visit": "SCREENING", "form": "DEMOG", "version": 1,
                                                "values": DEMOG}, headers=s2).status_code == 201
        late = {**AE, "AETERM": "Fatigue", "AESTDTC": "2099-08-01"}
        assert c.post(url.format("P001"), json={"visit": "LOG", "form": "AE", "seq": 2, "values": late},
                      headers=s1).status_code == 201
        assert c.post(url.format("P002"), json={"visit": "LOG", "form": "AE", "seq": 1, "values": AE},
                      headers=s2).status_code == 201
        yield db_url, dm, c, between


def _export(db_url: str, out: Path, *args: str) -> dict:
    r = CliRunner().invoke(cli, ["edc", "export", "--db", db_url, "--out", str(out), "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_sdtm_at_a_cutoff_leaves_out_what_happened_after_it(entered, tmp_path):
    db_url, *_ = entered
    summary = _export(db_url, tmp_path / "sdtm", "--cutoff", "2099-06-30", "--formats", "csv")
    assert (summary["cutoff"], summary["cutoff_from"], summary["database"]) == ("2099-06-30", "given", "open")
    ae = read_sdtm(tmp_path / "sdtm")["AE"]
    assert sorted(zip(ae.USUBJID, ae.AETERM, ae.AETOXGR)) == [("PATINA-P001", "Nausea", "3"),
                                                             ("PATINA-P002", "Nausea", "2")]
    everything = _export(db_url, tmp_path / "all", "--formats", "csv")
    assert everything["cutoff"] is None and everything["domains"]["AE"] == 3


def test_the_database_freeze_gives_the_cutoff_when_none_is_given(entered, tmp_path):
    db_url, dm, client, _ = entered
    r = client.post("/api/v1/database/freeze", json={"cutoff": "2099-06-30", "reason": "primary analysis"},
                    headers=dm)
    assert r.status_code == 200, r.text
    summary = _export(db_url, tmp_path / "sdtm", "--formats", "csv")
    assert (summary["cutoff"], summary["cutoff_from"], summary["domains"]["AE"]) == (
        "2099-06-30", "database frozen", 2)


def test_as_of_rebuilds_the_data_as_they_stood_from_the_audit_trail(entered, tmp_path):
    db_url, _, _, between = entered
    summary = _export(db_url, tmp_path / "then", "--as-of", between, "--formats", "csv")
    assert summary["as_of"] == between
    ae = read_sdtm(tmp_path / "then")["AE"]
    assert list(zip(ae.USUBJID, ae.AETERM, ae.AETOXGR)) == [("PATINA-P001", "Nausea", "2")]
    assert read_sdtm(tmp_path / "then")["DM"].USUBJID.tolist() == ["PATINA-P001"]  # P002 came later


def test_define_xml_describes_every_dataset_and_variable_written(entered, tmp_path):
    db_url, *_ = entered
    _export(db_url, tmp_path / "sdtm", "--formats", "csv,xpt")
    root = ET.parse(tmp_path / "sdtm" / "define.xml").getroot()
    mdv = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    assert mdv.get(f"{DEF}DefineVersion") == "2.1.0"
    sdtm = read_sdtm(tmp_path / "sdtm")
    groups = {g.get("Name"): g for g in mdv.findall(f"{ODM}ItemGroupDef")}
    assert set(groups) == set(sdtm)
    items = {i.get("OID"): i for i in mdv.findall(f"{ODM}ItemDef")}
    lists = {c.get("OID") for c in mdv.findall(f"{ODM}CodeList")}
    for name, group in groups.items():
        href = group.find(f"{DEF}leaf").get(f"{XLINK}href")
        assert (tmp_path / "sdtm" / href).is_file() and href.endswith(".xpt")
        refs = [r.get("ItemOID") for r in group.findall(f"{ODM}ItemRef")]
        assert [items[r].get("Name") for r in refs] == list(sdtm[name].columns)
        for r in group.findall(f"{ODM}ItemRef"):
            ref = items[r.get("ItemOID")].find(f"{ODM}CodeListRef")
            assert ref is None or ref.get("CodeListOID") in lists
    aeser = items["IT.AE.AESER"]
    assert aeser.find(f"{DEF}Origin").get("Type") == "Collected"
    assert aeser.find(f"{ODM}CodeListRef") is not None
    keys = {r.get("KeySequence"): items[r.get("ItemOID")].get("Name") for r in groups["AE"].findall(f"{ODM}ItemRef")
            if r.get("KeySequence")}
    assert keys == {"1": "STUDYID", "2": "USUBJID", "3": "AESEQ"}
    assert items["IT.AE.AESTDTC"].get("DataType") == "date"
    assert groups["AE"].find(f"{DEF}Class").get("Name") == "EVENTS"


def test_odm_carries_every_change_with_who_when_and_why_and_every_reference_resolves(entered, tmp_path):
    db_url, *_ = entered
    summary = _export(db_url, tmp_path / "odm", "--format", "odm")
    assert summary["subjects"] == 2
    root = ET.parse(summary["out"]).getroot()
    assert (root.get("ODMVersion"), root.get("FileType")) == ("1.3.2", "Transactional")
    mdv = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    defined = {tag: {e.get("OID") for e in mdv.findall(f"{ODM}{tag}")}
               for tag in ("StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList")}
    admin = root.find(f"{ODM}AdminData")
    users = {u.get("OID") for u in admin.findall(f"{ODM}User")}
    sites = {loc.get("OID") for loc in admin.findall(f"{ODM}Location")}
    subjects = root.findall(f"{ODM}ClinicalData/{ODM}SubjectData")
    assert [s.get("SubjectKey") for s in subjects] == ["P001", "P002"]
    for s in subjects:
        assert s.find(f"{ODM}SiteRef").get("LocationOID") in sites
        for ev in s.findall(f"{ODM}StudyEventData"):
            assert ev.get("StudyEventOID") in defined["StudyEventDef"]
            for fd in ev.findall(f"{ODM}FormData"):
                assert fd.get("FormOID") in defined["FormDef"]
                for ig in fd.findall(f"{ODM}ItemGroupData"):
                    assert ig.get("ItemGroupOID") in defined["ItemGroupDef"]
                    for item in ig.findall(f"{ODM}ItemData"):
                        assert item.get("ItemOID") in defined["ItemDef"]
                        ar = item.find(f"{ODM}AuditRecord")
                        assert ar.find(f"{ODM}UserRef").get("UserOID") in users
                        assert ar.find(f"{ODM}LocationRef").get("LocationOID") in sites
    p001 = subjects[0]
    grade = [(i.get("TransactionType"), i.get("Value"), i.find(f"{ODM}AuditRecord/{ODM}ReasonForChange"))
             for fd in p001.iter(f"{ODM}FormData") if fd.get("FormRepeatKey") == "1" and "AE" in fd.get("FormOID")
             for i in fd.iter(f"{ODM}ItemData") if i.get("ItemOID") == "IT.AE.AETOXGR"]
    assert [(t, v) for t, v, _ in grade] == [("Insert", "2"), ("Update", "3")]
    assert grade[0][2] is None and grade[1][2].text == "grade 3 in the chart"
    rand = next(fd for fd in p001.iter(f"{ODM}FormData") if fd.get("FormOID") == "F.RAND.V1")
    assert {i.get("ItemOID") for i in rand.iter(f"{ODM}ItemData")} >= {"IT.RAND.ARMCD", "IT.RAND.RANDDT"}


def test_odm_as_of_and_snapshot(entered, tmp_path):
    db_url, _, _, between = entered
    then = _export(db_url, tmp_path / "then", "--format", "odm", "--as-of", between, "--no-audit")
    root = ET.parse(then["out"]).getroot()
    assert root.get("FileType") == "Snapshot" and then["subjects"] == 1
    values = {i.get("ItemOID"): i.get("Value") for i in root.iter(f"{ODM}ItemData")}
    assert values["IT.AE.AETOXGR"] == "2" and "IT.AE.AETERM" in values


@pytest.mark.parametrize("args,words", [
    (["--cutoff", "30/06/2099"], "cutoff: expected a date YYYY-MM-DD"),
    (["--as-of", "yesterday"], "as_of: expected a date"),
    (["--format", "sas"], "--format: expected sdtm or odm"),
    (["--formats", "sas"], "--formats: expected csv, xpt or json"),
    (["--format", "odm", "--cutoff", "2099-06-30"], "--cutoff: ODM carries every entry"),
])
def test_bad_options_are_named_and_write_nothing(sqlite_url, tmp_path, args, words):
    prepare_trial(sqlite_url, n_sites=1, per_stratum=4)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["edc", "export", "--db", sqlite_url, "--out", str(out), *args])
    assert r.exit_code == 2 and words in r.output
    assert not out.exists()


_STAMPS = [re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d"),  # XPORT headers' created and modified
           re.compile(rb'"datasetJSONCreationDateTime": "[^"]*"'), re.compile(rb'CreationDateTime="[^"]*"')]


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of an export, its creation moments masked (two exports are seconds apart)."""
    out = {}
    for p in sorted(folder.iterdir()):
        data = p.read_bytes()
        for stamp in _STAMPS:
            data = stamp.sub(b"WHEN", data)
        out[p.name] = data
    return out


@pytest.mark.parametrize("args", [[], ["--cutoff", "2099-06-30"], ["--as-of", "BETWEEN"],
                                  ["--as-of", "BETWEEN", "--cutoff", "2099-06-30"]])
def test_sdtm_written_a_few_subjects_at_a_time_is_the_same_bytes(entered, tmp_path, args):
    db_url, _, client, between = entered
    engine = make_engine(db_url)
    try:
        site = auth(add_user(engine, "coord-p003", "site_coordinator", site="S01", actor="test")[1])
    finally:
        engine.dispose()
    # a third subject with no adverse event, so its chunk has an empty AE
    assert client.post("/api/v1/randomizations", json=body("P003"), headers=site).status_code == 201
    assert client.post("/api/v1/subjects/P003/records", json={"visit": "SCREENING", "form": "DEMOG", "version": 1,
                                                           "values": {**DEMOG, "AGE": 64}}, headers=site).status_code == 201
    args = [between if a == "BETWEEN" else a for a in args]
    exports = {n: _export(db_url, tmp_path / f"by{n}", "--formats", "csv,xpt,json", "--chunk-subjects", str(n), *args)
               for n in (1, 2, 500)}
    assert exports[1]["domains"] == exports[2]["domains"] == exports[500]["domains"]
    whole = _files(tmp_path / "by500")
    assert {"define.xml", "dm.xpt", "dm.csv", "dm.json", "ae.xpt"} <= set(whole)
    assert not any(name.startswith(".") for name in whole)  # no spool or temporary file left
    for n in (1, 2):
        files = _files(tmp_path / f"by{n}")
        assert sorted(files) == sorted(whole)
        assert [name for name in whole if files[name] != whole[name]] == []


def test_chunk_size_is_checked_first(sqlite_url, tmp_path):
    prepare_trial(sqlite_url, n_sites=1, per_stratum=4)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["edc", "export", "--db", sqlite_url, "--out", str(out), "--chunk-subjects", "0"])
    assert r.exit_code == 2 and "--chunk-subjects: expected at least 1" in r.output
    assert not out.exists()
