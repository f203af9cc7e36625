"""SDTM files: CSV, SAS XPORT v5 and Dataset-JSON v1.1 round trips and atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from oncotrial.sdtm import from_dataset_json, read_domain, read_sdtm, to_dataset_json, write_domain, write_sdtm


def _dm() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": "PATINA", "DOMAIN": "DM", "USUBJID": ["PATINA-101-0001", "PATINA-101-0002", "PATINA-102-0003"],
        "SUBJID": ["0001", "0002", "0003"], "SITEID": ["101", "101", "102"], "RFSTDTC": ["2017-06-09", "", "2018-01"],
        "DTHDTC": [None, None, "2020-12-07"], "DTHFL": [None, None, "Y"], "AGE": [58, 61, 44], "AGEU": "YEARS",
        "SEX": "F", "RACE": ["WHITE", "ASIAN", "WHITE"], "ARMCD": ["A", "B", "A"], "ARM": ["Palbo", "Control", "Palbo"],
        "ACTARMCD": ["A", "B", "A"], "ACTARM": ["Palbo", "Control", "Palbo"], "COUNTRY": ["US", "DE", "FR"],
    })


def _ae() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": "PATINA", "DOMAIN": "AE", "USUBJID": ["PATINA-101-0001", "PATINA-101-0001", "PATINA-102-0003"],
        "AESEQ": [1, 2, 1], "AETERM": ["NEUTROPENIA", "FATIGUE", "DIARRHOEA"],
        "AEDECOD": ["Neutropenia", "Fatigue", "Diarrhoea"], "AETOXGR": ["3", "2", "1"],
        "AESTDTC": ["2017-07-01", "2017-08", "2018-02-03"], "AEENDTC": ["2017-07-15", None, None],
    })


@pytest.mark.parametrize("fmt", ["csv", "xpt", "json"])
def test_round_trip_keeps_values_and_types(tmp_path, fmt):
    dm = _dm()
    path = write_domain(dm, tmp_path / f"dm.{fmt}")
    back = read_domain(path)
    assert list(back.columns) == list(dm.columns)
    assert back["AGE"].tolist() == [58, 61, 44] and pd.api.types.is_numeric_dtype(back["AGE"])
    assert back["SUBJID"].tolist() == ["0001", "0002", "0003"]  # character stays character
    assert back["RFSTDTC"].isna().tolist() == [False, True, False]  # blank is missing
    assert back["DTHDTC"].tolist()[2] == "2020-12-07" and pd.isna(back["DTHDTC"].tolist()[0])


def test_xpt_is_transport_v5(tmp_path):
    write_domain(_dm(), tmp_path / "dm.xpt")
    head = (tmp_path / "dm.xpt").read_bytes()[:80]
    assert head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert b"LIBV8" not in head


def test_xpt_limits_are_errors(tmp_path):
    bad = _dm().assign(COUNTRYNAME=["United States", "Germany", "France"])
    with pytest.raises(ValueError, match="COUNTRYNAME.*XPORT v5"):
        write_domain(bad, tmp_path / "dm.xpt")
    assert list(tmp_path.iterdir()) == []


def test_dataset_json_v11_structure(tmp_path):
    write_domain(_ae(), tmp_path / "ae.json")
    doc = json.loads((tmp_path / "ae.json").read_text())
    for key in ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name", "label",
                "columns", "rows"):
        assert key in doc
    assert doc["datasetJSONVersion"] == "1.1.0" and doc["itemGroupOID"] == "IG.AE" and doc["name"] == "AE"
    assert doc["records"] == 3 == len(doc["rows"])
    cols = {c["name"]: c for c in doc["columns"]}
    assert cols["AESEQ"]["dataType"] == "integer" and cols["AETERM"]["dataType"] == "string"
    assert cols["AETERM"]["length"] == len("NEUTROPENIA") and cols["USUBJID"]["itemOID"] == "IT.AE.USUBJID"
    assert all(isinstance(r, list) and len(r) == len(doc["columns"]) for r in doc["rows"])
    assert doc["rows"][1][list(cols).index("AEENDTC")] is None


def test_dataset_json_rejects_malformed_documents():
    doc = to_dataset_json(_ae(), "AE")
    with pytest.raises(ValueError, match="records is 4 but 3 rows"):
        from_dataset_json({**doc, "records": 4})
    with pytest.raises(ValueError, match="datasetJSONVersion '1.0.0' is not 1.1"):
        from_dataset_json({**doc, "datasetJSONVersion": "1.0.0"})
    with pytest.raises(ValueError, match="'itemGroupOID' is missing"):
        from_dataset_json({k: v for k, v in doc.items() if k != "itemGroupOID"})
    rows = [list(r) for r in doc["rows"]]
    rows[1] = rows[1][:-1]
    with pytest.raises(ValueError, match="AE row 2: has 8 values, expected 9"):
        from_dataset_json({**doc, "rows": rows})
    rows = [list(r) for r in doc["rows"]]
    rows[2][3] = "three"
    with pytest.raises(ValueError, match="AE row 3: AESEQ 'three' is not a integer"):
        from_dataset_json({**doc, "rows": rows})


def test_write_sdtm_is_all_or_nothing(tmp_path):
    out = tmp_path / "sdtm"
    write_sdtm({"DM": _dm()}, out, formats=("csv",))
    before = (out / "dm.csv").read_bytes()
    bad_ae = _ae()
    bad_ae.loc[1, "AESTDTC"] = "2017-13"
    with pytest.raises(ValueError, match="AE row 2: AESTDTC '2017-13' is not an ISO 8601 date"):
        write_sdtm({"DM": _dm().assign(AGE=[1, 2, 3]), "AE": bad_ae}, out, formats=("csv", "xpt", "json"))
    assert sorted(p.name for p in out.iterdir()) == ["dm.csv"]  # no new file, no temp file left
    assert (out / "dm.csv").read_bytes() == before  # the existing file was not replaced


def test_read_sdtm_reads_a_mixed_folder(tmp_path):
    write_domain(_dm(), tmp_path / "dm.xpt")
    write_domain(_ae(), tmp_path / "ae.json")
    write_domain(_ae(), tmp_path / "ae.csv")
    sdtm = read_sdtm(tmp_path)
    assert sorted(sdtm) == ["AE", "DM"] and len(sdtm["AE"]) == 3
    (tmp_path / "ds.csv").write_text("STUDYID,DOMAIN,USUBJID,DSSEQ,DSTERM,DSDECOD,DSSTDTC\nS,DS,S-1,1,X,X,2021-02-30\n")
    with pytest.raises(ValueError, match="DS row 1: DSSTDTC '2021-02-30' is not an ISO 8601 date"):
        read_sdtm(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        read_sdtm(tmp_path / "nope")


def test_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="unknown SDTM file type '.sas7bdat'"):
        write_domain(_dm(), tmp_path / "dm.sas7bdat")


def test_pharmaverse_round_trip_in_all_formats(tmp_path, pharmaverse):
    src = read_sdtm(pharmaverse / "sdtm")
    short = {k: v for k, v in src.items() if len(k) <= 8}
    write_sdtm(short, tmp_path, formats=("csv", "xpt", "json"))
    for fmt in ("csv", "xpt", "json"):
        back = read_sdtm(tmp_path, prefer=(fmt,))
        assert sorted(back) == sorted(short)
        for name, df in short.items():
            pd.testing.assert_frame_equal(back[name], df, obj=f"{name}.{fmt}")
    assert np.issubdtype(src["AE"]["AESEQ"].dtype, np.integer)
