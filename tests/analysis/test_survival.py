"""Time-to-event analysis on hand-made ADaM: conversions, populations, and errors that name the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.analysis import analyze_time_to_event
from oncotrial.protocol import load_protocol
from oncotrial.stats import cox, km, logrank
from tests.analysis.helpers import toy_adsl

P = load_protocol("patina")


def toy_adtte(adsl: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = len(adsl)
    return pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "PFS",
                         "AVAL": rng.integers(30, 2000, n).astype(float), "CNSR": (rng.integers(0, 2, n) * 4).astype(float)})


def test_times_are_in_months_and_match_direct_fits():
    adsl = toy_adsl(10)
    adtte = toy_adtte(adsl)
    res = analyze_time_to_event(adsl, adtte, P, "PFS", stratified=False)
    assert res.unit == "months" and res.experimental == "A" and res.control == "B"
    for code in ("A", "B"):
        d = adtte[adsl["ARMCD"] == code]
        fit = km(d["AVAL"] / 30.4375, (d["CNSR"] == 0).astype(int), conf_type="log-log")
        a = res.arm(code)
        assert a.median == pytest.approx(fit.median, nan_ok=True)
        assert (a.n, a.events) == (len(d), int((d["CNSR"] == 0).sum()))
        assert [lm.time for lm in a.landmarks] == [48, 60]
    data = pd.DataFrame({"t": adtte["AVAL"] / 30.4375, "e": (adtte["CNSR"] == 0).astype(int),
                         "trt": (adsl["ARMCD"] == "A").astype(float)})
    ref = cox(data, time="t", event="e", covariates=["trt"])
    assert res.hr == pytest.approx(float(ref.hr["trt"]))
    assert res.logrank_p == pytest.approx(logrank(data["t"], data["e"], adsl["ARMCD"]).p_value)
    assert res.maturity == pytest.approx(res.events / res.n)


def test_stratified_by_the_protocol_factors():
    adsl = toy_adsl(10)
    adtte = toy_adtte(adsl)
    res = analyze_time_to_event(adsl, adtte, P, "PFS")
    assert res.hr_stratified and res.logrank_stratified
    assert res.strata == tuple(P.analysis.stratify_by)
    data = pd.DataFrame({"t": adtte["AVAL"] / 30.4375, "e": (adtte["CNSR"] == 0).astype(int),
                         "trt": (adsl["ARMCD"] == "A").astype(float), "s": adsl["STRAT1R"]})
    # Three of the four factors are constant here, so only STRAT1R splits the strata.
    ref = cox(data, time="t", event="e", covariates=["trt"], strata="s")
    assert res.hr == pytest.approx(float(ref.hr["trt"]))
    assert res.logrank_p == pytest.approx(logrank(data["t"], data["e"], adsl["ARMCD"], strata=data["s"]).p_value)


def test_screen_failures_are_dropped_but_unknown_arms_are_errors():
    adsl = toy_adsl(4)
    sf = pd.concat([adsl, pd.DataFrame([{"USUBJID": "SF-1", "ARMCD": "SCRNFAIL", "ARM": "Screen Failure"}])])
    adtte = toy_adtte(adsl)
    assert analyze_time_to_event(sf, adtte, P, "PFS").n == len(adsl)
    bad = adsl.copy()
    bad.loc[2, "ARMCD"] = "C"
    bad.loc[2, "ARM"] = "Other"
    with pytest.raises(ValueError, match=r"ADSL: row 2 .*ARMCD 'C'"):
        analyze_time_to_event(bad, adtte, P, "PFS")


@pytest.mark.parametrize("column, value, message", [
    ("AVAL", -1.0, r"AVAL '-1.0'; expected a number of days >= 0"),
    ("AVAL", np.nan, r"AVAL 'nan'"),
    ("CNSR", 0.5, r"CNSR '0.5'; expected an integer"),
])
def test_bad_values_name_the_subject(column, value, message):
    adsl = toy_adsl(4)
    adtte = toy_adtte(adsl)
    adtte.loc[3, column] = value
    with pytest.raises(ValueError, match=message) as err:
        analyze_time_to_event(adsl, adtte, P, "PFS")
    assert adsl.loc[3, "USUBJID"] in str(err.value)


def test_missing_parameter_column_and_duplicates():
    adsl = toy_adsl(4)
    adtte = toy_adtte(adsl)
    with pytest.raises(ValueError, match=r"no rows with PARAMCD 'OS'; present: \['PFS'\]"):
        analyze_time_to_event(adsl, adtte, P, "OS")
    with pytest.raises(ValueError, match=r"ADTTE: missing column\(s\) \['CNSR'\]"):
        analyze_time_to_event(adsl, adtte.drop(columns="CNSR"), P, "PFS")
    with pytest.raises(ValueError, match="more than one PFS row"):
        analyze_time_to_event(adsl, pd.concat([adtte, adtte.iloc[:1]]), P, "PFS")
    with pytest.raises(ValueError, match=r"no column holds stratification factor 'prior_antiher2'"):
        analyze_time_to_event(adsl.drop(columns="STRAT2R"), adtte, P, "PFS")


def test_to_frame_and_to_dict_are_plain():
    adsl = toy_adsl(6)
    res = analyze_time_to_event(adsl, toy_adtte(adsl), P, "PFS")
    f = res.to_frame()
    assert list(f["arm"]) == ["A", "B"] and "surv_48" in f.columns
    d = res.to_dict()
    assert "curves" not in d and d["paramcd"] == "PFS"
    with pytest.raises(Exception):
        res.hr = 1.0  # frozen
