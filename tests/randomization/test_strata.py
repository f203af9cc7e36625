"""Stratum keys: canonical spelling, parsing, and errors naming the argument."""

from __future__ import annotations

import pytest

from oncotrial.randomization import Stratum, enumerate_strata, stratum_key

FACTORS = {"induction_response": ["CR_PR", "SD"], "prior_antiher2": ["YES", "NO"]}


def test_key_is_in_protocol_order_whatever_the_mapping_order():
    key = stratum_key({"prior_antiher2": "NO", "induction_response": "SD", "site": "101"}, FACTORS)
    assert key == "induction_response=SD|prior_antiher2=NO"
    assert stratum_key({"prior_antiher2": "NO", "induction_response": "SD"}, list(FACTORS)) == key


def test_stratum_round_trips_through_its_key():
    s = Stratum.from_mapping({"induction_response": "CR_PR", "prior_antiher2": "YES"}, FACTORS)
    assert Stratum.from_key(s.key) == s
    assert s.as_dict() == {"induction_response": "CR_PR", "prior_antiher2": "YES"}


def test_enumerate_strata_is_the_cross_product_first_factor_slowest():
    keys = [s.key for s in enumerate_strata(FACTORS)]
    assert keys == [
        "induction_response=CR_PR|prior_antiher2=YES",
        "induction_response=CR_PR|prior_antiher2=NO",
        "induction_response=SD|prior_antiher2=YES",
        "induction_response=SD|prior_antiher2=NO",
    ]


def test_unknown_level_is_named():
    with pytest.raises(ValueError, match=r"strata\['induction_response'\]: unknown level 'PD'"):
        stratum_key({"induction_response": "PD", "prior_antiher2": "NO"}, FACTORS)


def test_missing_factor_is_named():
    with pytest.raises(ValueError, match="factor 'prior_antiher2' is missing"):
        stratum_key({"induction_response": "SD"}, FACTORS)


def test_delimiters_in_codes_are_rejected():
    with pytest.raises(ValueError, match=r"strata\['induction_response'\].*contains"):
        stratum_key({"induction_response": "CR|PR", "prior_antiher2": "NO"}, ["induction_response", "prior_antiher2"])
    with pytest.raises(ValueError, match="stratum: 'nonsense' is not a stratum key"):
        Stratum.from_key("nonsense")
