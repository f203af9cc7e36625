"""The protocol's ``[edc]`` block: forms, versions, visits and edit checks are checked when it loads."""

from __future__ import annotations

import copy
import tomllib

import pytest

from oncotrial.protocol.expr import ExprError, parse
from oncotrial.protocol.load import protocol_from_dict, protocol_path

EDC = {
    "codelists": [{"id": "NY", "codes": [{"code": "N", "label": "No"}, {"code": "Y", "label": "Yes"}]}],
    "forms": [
        {"id": "AE", "label": "Adverse event", "repeats": True, "repeat_key": "AESPID",
         "fields": [
             {"id": "AESPID", "label": "AE number", "type": "integer", "min": 1, "required": True},
             {"id": "AETERM", "label": "Verbatim term", "type": "text", "required": True, "sdtm": "AE.AETERM"},
             {"id": "AESER", "label": "Serious", "type": "code", "codelist": "NY", "sdtm": "AE.AESER"},
             {"id": "AESTDTC", "label": "Start", "type": "date", "sdtm": "AE.AESTDTC"},
             {"id": "AEENDTC", "label": "End", "type": "date", "sdtm": "AE.AEENDTC",
              "show_if": "AESER == 'Y' or not empty(AESTDTC)"},
         ],
         "versions": [{"version": 1, "fields": ["AESPID", "AETERM", "AESTDTC"]},
                      {"version": 2, "fields": ["AESPID", "AETERM", "AESER", "AESTDTC", "AEENDTC"]}]},
    ],
    "visits": [{"id": "AELOG", "kind": "log", "name": "Adverse events", "forms": ["AE"]}],
    "edit_checks": [{"id": "AE-END-AFTER-START", "form": "AE", "field": "AEENDTC",
                     "expr": "empty(AEENDTC) or AEENDTC >= AESTDTC", "message": "AE end is before its start"}],
}


def _patina_with(edc: dict) -> dict:
    data = tomllib.loads(protocol_path("patina").read_text())
    data["edc"] = edc
    return data


def test_a_protocol_without_edc_block_still_loads():
    data = tomllib.loads(protocol_path("patina").read_text())
    del data["edc"]
    proto = protocol_from_dict(data)
    assert proto.edc is None and len(proto.arms) == 2


def test_valid_edc_block_loads_with_versions():
    proto = protocol_from_dict(_patina_with(EDC))
    ae = proto.edc.form("AE")
    assert ae.version_numbers == [1, 2]
    assert [f.id for f in ae.fields_of(1)] == ["AESPID", "AETERM", "AESTDTC"]
    assert ae.latest_version == 2
    assert ae.field("AESER").domains == ["AE"]
    assert proto.edc.codelist("NY").label("Y") == "Yes"
    with pytest.raises(KeyError, match="no version 3"):
        ae.fields_of(3)


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e["forms"][0]["fields"][2].update(codelist="YN"), r"fields\[AESER\]\.codelist: 'YN' is not a code list"),
    (lambda e: e["forms"][0]["fields"][4].update(show_if="AEOUT == 'X'"), r"'AEOUT' is not a field of form AE"),
    (lambda e: e["forms"][0]["fields"][4].update(show_if="DM.AGE > 3"), r"show-condition may name only fields of its own form"),
    (lambda e: e["visits"][0].update(forms=["AE", "CM"]), r"visits\[AELOG\]\.forms: 'CM' is not a form"),
    (lambda e: e["edit_checks"][0].update(field="AEOUT"), r"edit_checks\[AE-END-AFTER-START\]\.field: 'AEOUT'"),
    (lambda e: e["edit_checks"][0].update(expr="AEENDTC >= "), r"edit_checks\[AE-END-AFTER-START\]\.expr"),
    (lambda e: e["visits"][0].update(forms=[]), r"edc.forms\[AE\]: no visit carries this form"),
])
def test_edc_cross_reference_problems_name_the_place(mutate, message):
    edc = copy.deepcopy(EDC)
    mutate(edc)
    with pytest.raises(ValueError, match=message):
        protocol_from_dict(_patina_with(edc))


@pytest.mark.parametrize("field, message", [
    ({"id": "X", "label": "x", "type": "code"}, "needs a codelist"),
    ({"id": "X", "label": "x", "type": "text", "min": 1}, "min/max are only for integer and decimal"),
    ({"id": "X", "label": "x", "type": "integer", "min": 5, "max": 1}, "min .5. is above max"),
    ({"id": "X", "label": "x", "type": "text", "sdtm": "AETERM"}, "is not DOMAIN.VARIABLE"),
])
def test_field_rules(field, message):
    edc = copy.deepcopy(EDC)
    edc["forms"][0]["fields"].append(field)
    with pytest.raises(ValueError, match=message):
        protocol_from_dict(_patina_with(edc))


def test_versions_must_name_known_fields_in_order():
    edc = copy.deepcopy(EDC)
    edc["forms"][0]["versions"][1]["fields"].append("AEOUT")
    with pytest.raises(ValueError, match=r"version 2 lists unknown field\(s\) \['AEOUT'\]"):
        protocol_from_dict(_patina_with(edc))
    edc = copy.deepcopy(EDC)
    edc["forms"][0]["versions"].reverse()
    with pytest.raises(ValueError, match="increasing order"):
        protocol_from_dict(_patina_with(edc))


def test_expression_parser_names_and_errors():
    assert parse("days(AESTDTC, DD.DTHDTC) >= 0 and AESER in ['Y']").names() == [
        (None, "AESTDTC"), ("DD", "DTHDTC"), (None, "AESER")]
    with pytest.raises(ExprError, match="at character"):
        parse("AESER == 'Y")
    with pytest.raises(ExprError):
        parse("__import__('os')")
