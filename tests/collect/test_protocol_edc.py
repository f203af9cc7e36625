"""The protocol's [edc] block: PATINA's forms load, a protocol without one still loads, and every bad
declaration is an error naming its form, field or visit."""

from __future__ import annotations

import copy
import json
import tomllib

import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import ProtocolError, load_protocol, protocol_from_dict, protocol_path
from oncotrial.protocol.expr import ExprError, parse

runner = CliRunner()


@pytest.fixture()
def patina_dict() -> dict:
    return tomllib.loads(protocol_path("patina").read_text())


def _form(d: dict, form_id: str) -> dict:
    return next(f for f in d["edc"]["forms"] if f["id"] == form_id)


def _field(d: dict, form_id: str, field_id: str) -> dict:
    return next(x for x in _form(d, form_id)["fields"] if x["id"] == field_id)


def _problems(d: dict) -> str:
    with pytest.raises(ProtocolError) as exc:
        protocol_from_dict(d)
    return "; ".join(exc.value.problems)


def test_patina_declares_the_forms_of_the_issue():
    p = load_protocol("patina")
    ids = {f.id for f in p.edc.forms}
    assert {"RAND", "DEMOG", "MH", "PRIORTX", "TL_BASE", "TL_FU", "NTL_BASE", "NTL_FU", "NEWLES", "TA",
            "EX", "AE", "CM", "SUBTX", "EOT", "EOS", "DEATH"} <= ids
    assert p.edc.form("DEMOG").version_numbers == [1, 2]
    assert "ECOG" not in [f.id for f in p.edc.form("DEMOG").fields_of(1)]
    assert p.edc.form("TL_BASE").field("LDIAM").testcd == "LDIAM"
    assert [c.code for c in p.codelist("TUMSTATE").codes] == ["ABSENT", "PRESENT", "UNEQUIVOCAL PROGRESSION"]
    assert [c.code for c in p.codelist("strata.her2_blockade").codes] == ["DUAL", "SINGLE"]
    assert p.codelist("arms").label("A").startswith("Palbociclib")


def test_protocol_without_edc_block_still_loads(patina_dict):
    del patina_dict["edc"]
    assert protocol_from_dict(patina_dict).edc is None


def test_unknown_codelist_names_form_and_field(patina_dict):
    _field(patina_dict, "AE", "AESER")["codelist"] = "YESNO"
    assert "edc.forms[AE].fields[AESER].codelist: 'YESNO' is not a code list" in _problems(patina_dict)


def test_show_condition_that_does_not_parse_is_named(patina_dict):
    _field(patina_dict, "AE", "AEENDTC")["show_if"] = "AEOUT != "
    assert "edc.forms[AE].fields[AEENDTC].show_if:" in _problems(patina_dict)


def test_show_condition_naming_unknown_field(patina_dict):
    _field(patina_dict, "AE", "AEENDTC")["show_if"] = "AEOUTCOME == 'FATAL'"
    assert "'AEOUTCOME' is not a field of form AE" in _problems(patina_dict)


def test_show_condition_may_not_reach_other_forms(patina_dict):
    _field(patina_dict, "AE", "AEENDTC")["show_if"] = "DEATH.DTHDTC == null"
    assert "only fields of its own form" in _problems(patina_dict)


def test_edit_check_naming_unknown_form_field(patina_dict):
    patina_dict["edc"]["edit_checks"][0]["expr"] = "AEENDTC >= first(DTH.DTHDTC)"
    assert "edc.edit_checks[AE_END_AFTER_START].expr: 'DTH' is not a form" in _problems(patina_dict)


def test_edit_check_unknown_function(patina_dict):
    patina_dict["edc"]["edit_checks"][0]["expr"] = "eval('1')"
    assert "unknown function 'eval'" in _problems(patina_dict)


def test_visit_carrying_unknown_form(patina_dict):
    patina_dict["edc"]["visits"][0]["forms"].append("ECG")
    assert "edc.visits[SCREENING].forms: 'ECG' is not a form" in _problems(patina_dict)


def test_form_no_visit_carries(patina_dict):
    for v in patina_dict["edc"]["visits"]:
        v["forms"] = [f for f in v["forms"] if f != "MH"]
    assert "edc.forms[MH]: no visit carries this form" in _problems(patina_dict)


def test_cycle_length_not_of_any_drug(patina_dict):
    next(v for v in patina_dict["edc"]["visits"] if v["kind"] == "cycle")["cycle_length_days"] = 30
    assert "edc.visits[CYCLE].cycle_length_days: 30 is no drug's cycle length" in _problems(patina_dict)


def test_follow_up_window_overlapping_next_visit(patina_dict):
    next(v for v in patina_dict["edc"]["visits"] if v["kind"] == "follow_up")["window_days"] = 60
    assert "edc.visits[FOLLOWUP].window_days" in _problems(patina_dict)


def test_series_visit_needs_a_numbered_name(patina_dict):
    next(v for v in patina_dict["edc"]["visits"] if v["kind"] == "cycle")["name"] = "CYCLE"
    assert "needs '{n}'" in _problems(patina_dict)


def test_version_listing_unknown_field(patina_dict):
    _form(patina_dict, "DEMOG")["versions"][1]["fields"].append("WEIGHT")
    assert "version 2 lists unknown field(s) ['WEIGHT']" in _problems(patina_dict)


def test_range_on_a_text_field(patina_dict):
    _field(patina_dict, "AE", "AETERM")["min"] = 1
    assert "min/max are only for integer and decimal fields" in _problems(patina_dict)


def test_sampled_sdv_needs_a_fraction(patina_dict):
    _form(patina_dict, "CM")["sdv"] = {"mode": "sample"}
    assert "give fraction exactly when mode = 'sample'" in _problems(patina_dict)


def test_malformed_sdtm_target(patina_dict):
    _field(patina_dict, "AE", "AETERM")["sdtm"] = "AETERM"
    assert "'AETERM' is not DOMAIN.VARIABLE" in _problems(patina_dict)


def test_dy_reference_must_be_a_date_field(patina_dict):
    patina_dict["edc"]["dy_reference"] = "RAND.ARMCD"
    assert "edc.dy_reference: RAND.ARMCD must be a date field" in _problems(patina_dict)




def test_validate_names_unknown_sdtm_variable(tmp_path):
    text = protocol_path("patina").read_text().replace('sdtm = "AE.AEOUT"', 'sdtm = "AE.AEOUTC"')
    f = tmp_path / "bad.toml"
    f.write_text(text)
    r = runner.invoke(app, ["protocol", "validate", str(f)])
    assert r.exit_code == 1
    assert "edc.forms[AE].fields[AEOUT].sdtm: AE.AEOUTC: AEOUTC is not a variable of AE" in r.output


def test_validate_accepts_declared_supplemental_qualifier(tmp_path):
    text = protocol_path("patina").read_text().replace('sdtm = "AE.AEOUT"', 'sdtm = "SUPPAE.AEOUTC"')
    f = tmp_path / "ok.toml"
    f.write_text(text)
    r = runner.invoke(app, ["protocol", "validate", str(f)])
    assert r.exit_code == 0, r.output
    assert "19 forms, 7 visits" in r.output


def test_validate_names_unknown_dictionary(tmp_path):
    text = protocol_path("patina").read_text().replace('ae_dictionary = "oncotrial-ae"', 'ae_dictionary = "meddra-26"')
    f = tmp_path / "bad.toml"
    f.write_text(text)
    r = runner.invoke(app, ["protocol", "validate", str(f)])
    assert r.exit_code == 1 and "edc.ae_dictionary: 'meddra-26'" in r.output


def test_show_json_has_forms_and_visits():
    r = runner.invoke(app, ["protocol", "show", "patina", "--format", "json"])
    d = json.loads(r.output)
    assert "AE" in [f["id"] for f in d["edc"]["forms"]]
    assert "ASSESSMENT" in [v["id"] for v in d["edc"]["visits"]]


def test_show_text_lists_forms_and_visits():
    r = runner.invoke(app, ["protocol", "show", "patina"])
    assert "Forms:" in r.output and "Visits:" in r.output and "TL_BASE" in r.output


@pytest.mark.parametrize("text", ["", "a ==", "(a", "a b", "f(1)", "'x", "a.1", "min(1, 2)", "a @ b"])
def test_expression_syntax_errors(text):
    with pytest.raises(ExprError):
        parse(text)


def test_expression_names_are_collected():
    assert parse("X in AE.AETERM and not empty(Y)").names() == [(None, "X"), ("AE", "AETERM"), (None, "Y")]
