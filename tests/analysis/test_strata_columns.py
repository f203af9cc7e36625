"""STRATwR columns are matched to protocol factors by position, never by their values alone."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from oncotrial.analysis import analyze_time_to_event
from oncotrial.analysis._frames import strata_columns
from oncotrial.protocol import protocol_from_dict, protocol_path
from oncotrial.stats import cox, logrank
from tests.analysis.helpers import toy_adsl


def two_yes_no_protocol():
    """PATINA with a fifth factor whose levels (YES/NO) are the same as prior_antiher2's.

    Randomization order: induction_response, prior_antiher2, endocrine_therapy,
    her2_blockade, visceral -> STRAT2R and STRAT5R both hold YES/NO.
    """
    d = tomllib.loads(protocol_path("patina").read_text())
    d["stratification_factors"].append({"name": "visceral", "label": "Visceral disease",
                                        "levels": [{"code": "YES", "label": "Yes", "prevalence": 0.5},
                                                   {"code": "NO", "label": "No", "prevalence": 0.5}]})
    d["randomization"]["stratify_by"] = [*d["randomization"]["stratify_by"], "visceral"]
    d["analysis"]["stratify_by"] = ["visceral"]
    return protocol_from_dict(d)


def adsl_two_yes_no(n_per_arm: int = 10) -> pd.DataFrame:
    adsl = toy_adsl(n_per_arm)
    i = np.arange(len(adsl))
    adsl["STRAT2R"] = np.where(i % 2 == 0, "YES", "NO")
    adsl["STRAT5R"] = np.where(i % 3 == 0, "YES", "NO")
    return adsl


def test_same_level_factors_are_not_swapped():
    p = two_yes_no_protocol()
    adsl = adsl_two_yes_no()
    # Asking for the later factor first used to pick STRAT2R for it (first column whose values fit).
    assert strata_columns(adsl, p, ["visceral", "prior_antiher2"]) == {"visceral": "STRAT5R",
                                                                       "prior_antiher2": "STRAT2R"}
    assert strata_columns(adsl, p, ["visceral"]) == {"visceral": "STRAT5R"}


def test_stratified_hr_uses_the_factor_at_its_position():
    p = two_yes_no_protocol()
    adsl = adsl_two_yes_no(12)
    rng = np.random.default_rng(11)
    n = len(adsl)
    adtte = pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "PFS",
                          "AVAL": rng.integers(30, 2000, n).astype(float),
                          "CNSR": (rng.integers(0, 2, n) * 4).astype(float)})
    res = analyze_time_to_event(adsl, adtte, p, "PFS")
    assert res.hr_stratified and res.strata == ("visceral",)
    data = pd.DataFrame({"t": adtte["AVAL"] / 30.4375, "e": (adtte["CNSR"] == 0).astype(int),
                         "trt": (adsl["ARMCD"] == "A").astype(float), "s": adsl["STRAT5R"]})
    ref = cox(data, time="t", event="e", covariates=["trt"], strata="s")
    assert res.hr == pytest.approx(float(ref.hr["trt"]), rel=1e-9)
    assert res.logrank_p == pytest.approx(logrank(data["t"], data["e"], adsl["ARMCD"], strata=data["s"]).p_value)
    wrong = cox(data.assign(s=adsl["STRAT2R"]), time="t", event="e", covariates=["trt"], strata="s")
    assert float(wrong.hr["trt"]) != pytest.approx(res.hr, rel=1e-6)


def test_values_outside_the_factor_levels_name_column_factor_and_values():
    p = two_yes_no_protocol()
    adsl = adsl_two_yes_no()
    adsl.loc[3, "STRAT5R"] = "MAYBE"
    with pytest.raises(ValueError, match=r"column STRAT5R holds stratification factor 'visceral', "
                                         r"but has values \['MAYBE'\]"):
        strata_columns(adsl, p, ["visceral"])
    # A factor's column holding another factor's levels is an error, not a silent search elsewhere.
    adsl = adsl_two_yes_no()
    adsl["STRAT1R"] = "AI"
    with pytest.raises(ValueError, match=r"STRAT1R .*'induction_response'.*\['AI'\]"):
        strata_columns(adsl, p, ["induction_response"])


def test_labels_and_direct_columns_are_accepted():
    p = two_yes_no_protocol()
    adsl = adsl_two_yes_no().drop(columns="STRAT5R")
    adsl["VISCERAL"] = np.where(np.arange(len(adsl)) % 2 == 0, "Yes", "No")
    assert strata_columns(adsl, p, ["visceral"]) == {"visceral": "VISCERAL"}
    with pytest.raises(ValueError, match=r"no column holds stratification factor 'visceral'.*STRAT5R"):
        strata_columns(adsl.drop(columns="VISCERAL"), p, ["visceral"])
