"""Each derivation on small hand-made cases whose answer is worked out by hand."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest

from oncotrial.adam import (
    adex,
    adrs,
    adsl,
    convert_dtc_to_dt,
    derive_param_pfs,
    derive_param_ttdr,
    derive_var_trtemfl,
    derive_vars_strata,
    derive_vars_suppqual,
)

RAND = pd.Timestamp("2021-01-04")


def _day(n: int) -> str:
    """ISO date of study day n (day 1 = randomization)."""
    return (RAND + pd.Timedelta(days=n - 1)).strftime("%Y-%m-%d")


def _rs(rows):
    """RS from (USUBJID, study day, response) triples."""
    df = pd.DataFrame(rows, columns=["USUBJID", "DY", "RSSTRESC"])
    df["RSTESTCD"] = "OVRLRESP"
    df["RSDTC"] = df["DY"].map(_day)
    df["RSSEQ"] = df.groupby("USUBJID").cumcount() + 1
    return df.drop(columns="DY")


def _adsl(ids, dth=None, nact=None):
    a = pd.DataFrame({"STUDYID": "S", "USUBJID": ids, "RANDDT": RAND})
    a["DTHDT"] = pd.to_datetime([None if d is None else _day(d) for d in (dth or [None] * len(ids))])
    a["NACTDT"] = pd.to_datetime([None if d is None else _day(d) for d in (nact or [None] * len(ids))])
    a["LSTALVDT"] = RAND + pd.Timedelta(days=700)
    return a


@pytest.mark.parametrize("name", ["oncotrial.adam.subject_level", "oncotrial.adam.response", "oncotrial.adam.time_to_event",
                                  "oncotrial.adam.adverse_events", "oncotrial.adam.exposure", "oncotrial.adam.dates",
                                  "oncotrial.sdtm.validate", "oncotrial.sdtm.io"])
def test_docstring_examples(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


def test_dtc_imputation():
    s = pd.Series(["2021-02", "2021", "2021-02-10T08:00", "", None])
    first = convert_dtc_to_dt(s, highest_imputation="M", date_imputation="first")
    last = convert_dtc_to_dt(s, highest_imputation="M", date_imputation="last")
    none = convert_dtc_to_dt(s)
    assert first.dt.strftime("%F").tolist()[:3] == ["2021-02-01", "2021-01-01", "2021-02-10"]
    assert last.dt.strftime("%F").tolist()[:3] == ["2021-02-28", "2021-12-31", "2021-02-10"]
    assert none.isna().tolist() == [True, True, False, True, True]
    with pytest.raises(ValueError, match="highest_imputation"):
        convert_dtc_to_dt(s, highest_imputation="X")


# ----------------------------------------------------------------------------- ADRS
def _params(rows, ids=None, **kw):
    ids = ids or sorted({r[0] for r in rows})
    out = adrs(_adsl(ids), _rs(rows), **kw)
    return {p: out[out["PARAMCD"] == p].set_index("USUBJID")["AVALC"].to_dict() for p in out["PARAMCD"].unique()}


def test_confirmation_rules():
    rows = [
        ("cr_conf", 57, "PR"), ("cr_conf", 113, "CR"), ("cr_conf", 141, "CR"),         # CR confirmed 28 d later
        ("cr_short", 57, "CR"), ("cr_short", 80, "CR"),                                 # 23 d: too soon
        ("pr_ne", 57, "PR"), ("pr_ne", 85, "NE"), ("pr_ne", 113, "PR"),                 # one NE between: ok
        ("pr_2ne", 57, "PR"), ("pr_2ne", 70, "NE"), ("pr_2ne", 85, "NE"), ("pr_2ne", 113, "PR"),  # two NE: not
        ("pr_sd", 57, "PR"), ("pr_sd", 85, "SD"), ("pr_sd", 113, "PR"),                 # SD between: not
        ("sd_early", 30, "SD"), ("sd_early", 60, "PD"),                                 # SD < 42 d: BOR PD
        ("sd_late", 43, "SD"),                                                          # SD >= 42 d
        ("ne_only", 20, "SD"),                                                          # SD too early -> NE
        ("after_pd", 43, "PD"), ("after_pd", 99, "CR"), ("after_pd", 130, "CR"),        # nothing after PD counts
    ]
    p = _params(rows, ids=sorted({r[0] for r in rows}) + ["none"])
    assert p["CBOR"] == {"after_pd": "PD", "cr_conf": "CR", "cr_short": "SD", "ne_only": "NE", "none": "MISSING",
                         "pr_2ne": "SD", "pr_ne": "PR", "pr_sd": "SD", "sd_early": "PD", "sd_late": "SD"}
    assert p["BOR"]["cr_short"] == "CR" and p["BOR"]["pr_sd"] == "PR" and p["BOR"]["after_pd"] == "PD"
    assert {k for k, v in p["CRSP"].items() if v == "Y"} == {"cr_conf", "pr_ne"}
    assert {k for k, v in p["RSP"].items() if v == "Y"} == {"cr_conf", "cr_short", "pr_ne", "pr_2ne", "pr_sd"}


def test_confirmation_window_is_a_parameter():
    rows = [("a", 57, "PR"), ("a", 78, "PR")]  # 21 days apart
    assert _params(rows)["CBOR"]["a"] == "SD"
    assert _params(rows, confirmation_min_days=21)["CBOR"]["a"] == "PR"


def test_clinical_benefit_needs_24_weeks_or_confirmed_response():
    rows = [("sd167", 167, "SD"), ("sd169", 169, "SD"), ("resp", 57, "PR"), ("resp", 113, "PR"),
            ("pd_first", 85, "PD"), ("pd_first", 200, "SD")]
    cbr = _params(rows)["CBR"]
    assert cbr == {"pd_first": "N", "resp": "Y", "sd167": "N", "sd169": "Y"}
    assert _params(rows, cbr_min_days=84)["CBR"]["sd167"] == "Y"


def test_worst_of_two_assessments_on_one_date_counts():
    p = _params([("a", 57, "PR"), ("a", 57, "PD")])
    assert p["BOR"]["a"] == "PD" and p["PD"]["a"] == "Y"


def test_bad_response_value_names_the_row():
    rs = _rs([("a", 57, "PR"), ("a", 85, "PARTIAL")])
    with pytest.raises(ValueError, match="RS row 2: RSSTRESC 'PARTIAL' is not a RECIST 1.1 overall response"):
        adrs(_adsl(["a"]), rs)


def test_negative_window_is_rejected():
    with pytest.raises(ValueError, match="sd_min_days"):
        adrs(_adsl(["a"]), _rs([("a", 57, "PR")]), sd_min_days=-1)


# ----------------------------------------------------------------------------- PFS
def test_pfs_censoring_rules_each_have_their_own_cnsr():
    rows = [
        ("event", 85, "SD"), ("event", 169, "PD"),                       # PD 84 d after last: event
        ("gap", 85, "SD"), ("gap", 300, "PD"),                           # 215 d > 2x84+7: censored at day 85
        ("last", 85, "SD"), ("last", 169, "PR"), ("last", 253, "NE"),    # censored at last adequate (169)
        ("nact", 85, "SD"), ("nact", 169, "SD"), ("nact", 253, "PD"),    # new therapy day 200 -> 169
        ("early_death", 85, "NE"),                                       # death day 100, no adequate one
    ]
    ids = ["event", "gap", "last", "nact", "none", "early_death", "late_death"]
    dth = [None, None, None, None, None, 100, 400]
    nact = [None, None, None, 200, None, None, None]
    a = _adsl(ids, dth=dth, nact=nact)
    r = adrs(a, _rs(rows))
    pfs = derive_param_pfs(a, r).set_index("USUBJID")
    got = {u: (int(pfs.loc[u, "CNSR"]), int(pfs.loc[u, "AVAL"]), pfs.loc[u, "EVNTDESC"]) for u in ids}
    assert got == {
        "event": (0, 169, "Disease Progression"),
        "gap": (3, 85, "Event After Two or More Missed Assessments"),
        "last": (1, 169, "Last Adequate Tumor Assessment"),
        "nact": (4, 169, "New Anticancer Therapy"),
        "none": (2, 1, "No Post-Baseline Tumor Assessment"),
        "early_death": (0, 100, "Death"),
        "late_death": (2, 1, "No Post-Baseline Tumor Assessment"),
    }
    assert pfs.loc["gap", "CNSDTDSC"] == "Last Adequate Tumor Assessment"
    assert pfs.loc["none", "CNSDTDSC"] == "Randomization" and pd.isna(pfs.loc["event", "CNSDTDSC"])
    # admiral's convention: no missed-assessment rule, no new-therapy rule.
    adm = derive_param_pfs(a, r, max_missed=None, new_therapy=False).set_index("USUBJID")
    assert adm.loc["gap", "CNSR"] == 0 and adm.loc["gap", "AVAL"] == 300
    assert adm.loc["nact", "CNSR"] == 0 and adm.loc["late_death", "AVAL"] == 400


def test_pfs_missed_threshold_follows_schedule():
    a = _adsl(["x"])
    r = adrs(a, _rs([("x", 85, "SD"), ("x", 260, "PD")]))  # gap 175 days
    assert derive_param_pfs(a, r)["CNSR"].item() == 0  # 175 <= 2*84+7
    assert derive_param_pfs(a, r, assessment_interval_days=56)["CNSR"].item() == 3


def test_pfs_bad_arguments():
    a = _adsl(["x"])
    r = adrs(a, _rs([("x", 85, "SD")]))
    with pytest.raises(ValueError, match="assessment_interval_days"):
        derive_param_pfs(a, r, assessment_interval_days=-3)
    with pytest.raises(ValueError, match="ADSL: required variable"):
        derive_param_pfs(a.drop(columns="DTHDT"), r)
    bad = a.astype({"RANDDT": object})
    bad.loc[0, "RANDDT"] = "not a date"
    with pytest.raises(ValueError, match="ADSL row 1: RANDDT 'not a date' is not a date"):
        derive_param_pfs(bad, r)


# ----------------------------------------------------------------------------- ADSL
def _dm():
    return pd.DataFrame({"STUDYID": "S", "USUBJID": ["S-1", "S-2", "S-3"], "SUBJID": ["1", "2", "3"],
                         "SITEID": "101", "AGE": [50, 60, 70], "SEX": "F", "RACE": "WHITE", "COUNTRY": "US",
                         "ARMCD": ["A", "B", "SCRNFAIL"], "ARM": ["Palbo", "Control", "Screen Failure"],
                         "ACTARMCD": ["A", "B", "SCRNFAIL"], "ACTARM": ["Palbo", "Control", "Screen Failure"],
                         "DTHDTC": ["2022-05-03", None, None], "DTHFL": ["Y", None, None]})


def test_adsl_from_randomization_table_and_suppdm():
    rand = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "RANDDT": ["2021-01-04", "2021-02-01"], "RANDNO": [1, 2],
                         "STRAT1R": ["CR_PR", "SD"], "STRAT2R": ["YES", "NO"],
                         "STRAT1V": ["CR_PR", "CR_PR"], "STRAT2V": ["YES", "NO"]})
    supp = pd.DataFrame({"STUDYID": "S", "RDOMAIN": "DM", "USUBJID": ["S-1", "S-2", "S-1"],
                         "QNAM": ["MENOSTAT", "MENOSTAT", "DENOVO"], "QVAL": ["POST", "PRE", "Y"]})
    ex = pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-2"], "EXTRT": ["PALBOCICLIB", "PALBOCICLIB", "TRASTUZUMAB"],
                       "EXDOSE": [125, 100, 6], "EXSTDTC": ["2021-01-05", "2021-02-02", "2021-02-03"],
                       "EXENDTC": ["2021-01-25", "2021-02-22", "2021-02-03"]})
    ae = pd.DataFrame({"USUBJID": ["S-2"], "AESTDTC": ["2021-03-01"], "AEENDTC": ["2021-03-20"]})
    a = adsl(_dm(), ex=ex, ae=ae, suppdm=supp, randomization=rand).set_index("USUBJID")
    assert a["ITTFL"].tolist() == ["Y", "Y", "N"] and a["SAFFL"].tolist() == ["Y", "Y", "N"]
    assert a.loc["S-1", "TRTEDT"] == pd.Timestamp("2021-02-22") and a.loc["S-1", "TRTDURD"] == 49
    assert a.loc["S-2", "LSTALVDT"] == pd.Timestamp("2021-03-20")
    assert a.loc["S-1", "DTHDT"] == pd.Timestamp("2022-05-03")
    assert a.loc["S-2", "STRAT1R"] == "SD" and a.loc["S-2", "STRAT1V"] == "CR_PR"
    assert a["STRATDFL"].tolist() == ["N", "Y", "N"]
    assert a.loc["S-1", "MENOSTAT"] == "POST" and pd.isna(a.loc["S-2", "DENOVO"])
    assert a.loc["S-2", "RANDNO"] == 2 and a.loc["S-1", "TRT01P"] == "Palbo"


def test_strata_from_named_factor_columns():
    rand = pd.DataFrame({"USUBJID": ["S-1"], "induction_response": ["SD"], "endocrine": ["AI"]})
    out = derive_vars_strata(pd.DataFrame({"USUBJID": ["S-1"]}), rand, STRATR=["induction_response", "endocrine"])
    assert out[["STRAT1R", "STRAT2R"]].values.tolist() == [["SD", "AI"]] and "STRATDFL" not in out
    with pytest.raises(ValueError, match="no stratification columns"):
        derive_vars_strata(pd.DataFrame({"USUBJID": ["S-1"]}), rand)
    with pytest.raises(ValueError, match="randomization row 2: USUBJID 'S-1' appears more than once"):
        derive_vars_strata(pd.DataFrame({"USUBJID": ["S-1"]}), pd.concat([rand, rand]), STRATR=["endocrine"])


def test_suppqual_repeats_are_errors():
    supp = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "QNAM": ["STRAT1R", "STRAT1R"], "QVAL": ["SD", "CR_PR"]})
    with pytest.raises(ValueError, match="SUPPDM row 2: QNAM 'STRAT1R' repeats for USUBJID 'S-1'"):
        derive_vars_suppqual(pd.DataFrame({"USUBJID": ["S-1"]}), supp)


def test_adsl_rejects_duplicate_subjects():
    dm = pd.concat([_dm(), _dm().iloc[[1]]], ignore_index=True)
    with pytest.raises(ValueError, match="DM row 4: USUBJID 'S-2' appears more than once"):
        adsl(dm)


# ----------------------------------------------------------------------------- ADAE / ADEX
def test_trtemfl_window():
    d = pd.DataFrame({"ASTDT": pd.to_datetime(["2021-01-04", "2021-04-19", "2021-04-21", None, "2020-12-30"]),
                      "AENDT": pd.to_datetime([None, None, None, "2021-02-01", None]),
                      "TRTSDT": pd.Timestamp("2021-01-04"), "TRTEDT": pd.Timestamp("2021-03-20")})
    assert derive_var_trtemfl(d)["TRTEMFL"].fillna("").tolist() == ["Y", "Y", "", "Y", ""]
    assert derive_var_trtemfl(d, end_window=32)["TRTEMFL"].fillna("").tolist() == ["Y", "Y", "Y", "Y", ""]


def test_adex_counts_reductions_interruptions_and_intensity():
    ex = pd.DataFrame({
        "USUBJID": "S-1", "EXTRT": "PALBOCICLIB", "EXDOSU": "mg", "EXDOSFRQ": "QD",
        "EXDOSE": [125, 125, 0, 100, 75],
        "EXSTDTC": [_day(1), _day(29), _day(57), _day(85), _day(113)],
        "EXENDTC": [_day(21), _day(49), _day(77), _day(105), _day(133)],
    })
    a = adex(ex, planned={"palbociclib": 125 * 21 / 28}, off_days_after_last={"PALBOCICLIB": 7})
    v = a.set_index("PARAMCD")["AVAL"]
    assert v["NREDUC"] == 2 and v["NINTRP"] == 1 and v["TRTDURD"] == 140
    assert v["CUMDOSE"] == 21 * (125 + 125 + 100 + 75)
    assert v["RDI"] == pytest.approx(100 * 21 * 425 / 140 / (125 * 21 / 28))
    assert a.set_index("PARAMCD").loc["CUMDOSE", "AVALU"] == "mg"
    tt = derive_param_ttdr(pd.DataFrame({"USUBJID": ["S-1"]}), ex, extrt="PALBOCICLIB")
    assert tt["CNSR"].item() == 0 and tt["AVAL"].item() == 85
    bad = ex.assign(EXDOSFRQ=["QD", "QD", "QD", "WEEKLY-ISH", "QD"])
    with pytest.raises(ValueError, match="EX row 4: EXDOSFRQ 'WEEKLY-ISH' is not one of"):
        adex(bad)
    with pytest.raises(ValueError, match="EX row 2: EXDOSE -5"):
        adex(ex.assign(EXDOSE=[125, -5, 0, 100, 75]))
    assert np.isnan(adex(ex).set_index("PARAMCD").loc["RDI", "AVAL"])  # no planned dose, no RDI
