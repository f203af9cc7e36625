"""Checks of SDTM domains: every problem names the domain, the variable and the row."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from oncotrial.sdtm import iso8601_invalid, validate_domain


def _ae(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": "PATINA", "DOMAIN": "AE", "USUBJID": [f"PATINA-001-{i:04d}" for i in range(n)],
        "AESEQ": 1, "AETERM": "NEUTROPENIA", "AEDECOD": "Neutropenia", "AEBODSYS": "Blood",
        "AESTDTC": "2021-01-05", "AEENDTC": "2021-01-20", "AESER": "N", "AEREL": "Y",
    })


def test_bad_date_names_domain_variable_and_row():
    ae = _ae()
    ae.loc[16, "AESTDTC"] = "2021-13-01"
    with pytest.raises(ValueError, match=re.escape("AE row 17: AESTDTC '2021-13-01' is not an ISO 8601 date")):
        validate_domain(ae, "AE")


@pytest.mark.parametrize("value,bad", [
    ("2021", False), ("2021-02", False), ("2021-02-28", False), ("2020-02-29", False),
    ("2021-02-29", True), ("2021-04-31", True), ("2021-00-10", True), ("2021-1-5", True),
    ("2021-01-05T10:30", False), ("2021-01-05T10:30:59", False), ("2021-01-05T24:00", True),
    ("2021-01-05T10:61", True), ("05/01/2021", True), ("2021-01-05T10:30:00+01:00", False),
])
def test_iso8601_calendar_and_shape(value, bad):
    assert iso8601_invalid(pd.Series([value]))[0] == bad


def test_many_problems_are_all_reported_in_row_order():
    ae = _ae()
    ae.loc[3, "AEENDTC"] = "yesterday"
    ae.loc[1, "AETERM"] = None
    with pytest.raises(ValueError) as exc:
        validate_domain(ae, "AE")
    msg = str(exc.value)
    assert msg.index("AE row 2: required variable AETERM is missing a value") < msg.index(
        "AE row 4: AEENDTC 'yesterday' is not an ISO 8601 date")


def test_required_variable_missing():
    with pytest.raises(ValueError, match=r"^AE: required variable\(s\) AEDECOD missing"):
        validate_domain(_ae().drop(columns="AEDECOD"), "AE")


def test_expected_variable_only_in_strict_mode():
    ae = _ae().drop(columns="AESER")
    assert len(validate_domain(ae, "AE")) == 20
    with pytest.raises(ValueError, match="AESER"):
        validate_domain(ae, "AE", strict=True)


def test_numeric_variable_must_hold_numbers():
    ae = _ae().astype({"AESEQ": object})
    ae.loc[5, "AESEQ"] = "one"
    with pytest.raises(ValueError, match=re.escape("AE row 6: AESEQ 'one' is not numeric")):
        validate_domain(ae, "AE")
    ae.loc[5, "AESEQ"] = "7"
    assert validate_domain(ae, "AE")["AESEQ"].tolist()[5] == 7.0


def test_domain_value_and_keys():
    ae = _ae()
    ae.loc[2, "DOMAIN"] = "CM"
    with pytest.raises(ValueError, match="AE row 3: DOMAIN 'CM' is not 'AE'"):
        validate_domain(ae, "AE")
    dup = _ae()
    dup.loc[4, "USUBJID"] = dup.loc[3, "USUBJID"]
    with pytest.raises(ValueError, match="AE row 5: AESEQ 1 repeats for USUBJID 'PATINA-001-0003'"):
        validate_domain(dup, "AE")
    dm = pd.DataFrame({"STUDYID": "S", "DOMAIN": "DM", "USUBJID": ["S-1", "S-1"], "SUBJID": ["1", "1"],
                       "SITEID": "1", "SEX": "F", "ARMCD": "A", "ARM": "A", "ACTARMCD": "A", "ACTARM": "A",
                       "COUNTRY": "US"})
    with pytest.raises(ValueError, match="DM row 2: USUBJID 'S-1' appears more than once"):
        validate_domain(dm, "DM")


def test_not_a_dataframe():
    with pytest.raises(ValueError, match="AE: expected a pandas DataFrame"):
        validate_domain([1, 2], "AE")


def test_pharmaverse_domains_pass_strict_checks(pharmaverse):
    for name in ["dm", "ds", "ex", "ae", "sv", "suppdm", "suppae", "rs_onco", "rs_onco_recist",
                 "tu_onco_recist", "tr_onco_recist"]:
        df = pd.read_csv(pharmaverse / "sdtm" / f"{name}.csv", keep_default_na=False, na_values=["", "NA"])
        validate_domain(df, name.upper(), strict=True)
