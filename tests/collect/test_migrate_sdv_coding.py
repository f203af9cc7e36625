"""Form-version migration, SDV selection, AE coding and the record contract."""

import doctest
import importlib

import pytest

from oncotrial.collect import (Casebook, FormRecord, code_term, dictionary_from_rows, load_dictionary,
                               migrate_record, sdv_required, sdv_selection)

DEMOG = {"AGE": 51, "SEX": "F", "RACE": "WHITE", "MENOSTAT": "POST", "DENOVO": "N", "VISCMET": "Y",
         "CNSMET": "N", "INDRESP": "PR"}


# -- migration
def test_migrating_back_returns_the_values_the_version_lacks(patina):
    r = FormRecord("S-1", "SCREENING", "DEMOG", 2, {**DEMOG, "ECOG": "1"})
    m = migrate_record(patina, r, 1)
    assert m.record.version == 1 and m.from_version == 2
    assert dict(m.dropped) == {"ECOG": "1"}
    assert "ECOG" not in m.record.values and m.record.values["AGE"] == 51
    assert m.record.record_key == r.record_key  # the same record, on another version
    assert m.to_dict()["to_version"] == 1


def test_migration_names_required_fields_left_empty(patina):
    r = FormRecord("S-1", "SCREENING", "DEMOG", 1, {k: v for k, v in DEMOG.items() if k != "INDRESP"})
    assert migrate_record(patina, r, 2).missing == ("INDRESP",)


def test_migration_to_a_version_the_form_lacks(patina):
    with pytest.raises(KeyError):
        migrate_record(patina, FormRecord("S-1", "SCREENING", "DEMOG", 1, DEMOG), 7)


# -- SDV
def _cm(i: int, subject: str = "S-1") -> FormRecord:
    return FormRecord(subject, "LOG", "CM", 1, {"CMTRT": "Paracetamol"}, seq=i)


def test_sdv_all_and_none(patina):
    assert sdv_required(patina, FormRecord("S-1", "SCREENING", "DEMOG", 1, DEMOG), seed=1)
    rand = FormRecord("S-1", "SCREENING", "RAND", 1, {})
    assert not any(sdv_required(patina, rand, seed=s) for s in range(20))


def test_sampled_sdv_selects_about_its_fraction(patina):
    records = [_cm(i, f"S-{i % 50}") for i in range(4000)]
    share = len(sdv_selection(patina, records, seed=11)) / len(records)
    # CM samples 10%: binomial sd over 4000 records is 0.0047, so 6 sd either side
    assert 0.072 < share < 0.128


def test_a_records_draw_does_not_change_as_the_trial_grows(patina):
    early = [_cm(i) for i in range(200)]
    later = early + [_cm(i, "S-2") for i in range(200)]
    picked_early = sdv_selection(patina, early, seed=3)
    assert [r for r in sdv_selection(patina, later, seed=3) if r.usubjid == "S-1"] == picked_early
    assert picked_early != sdv_selection(patina, early, seed=4)


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_sdv_seed_follows_the_seed_rule(patina, seed):
    with pytest.raises((TypeError, ValueError)):
        sdv_required(patina, _cm(1), seed=seed)


# -- coding
def test_shipped_dictionary_codes_case_and_space_insensitively():
    d = load_dictionary()
    hit = code_term(d, "NEUTROPENIA")
    assert hit is not None and hit.pt == "Neutropenia"
    again = code_term(d, " neutropenia ")
    assert again.verbatim == " neutropenia " and (again.llt, again.pt, again.soc) == (hit.llt, hit.pt, hit.soc)


def test_a_preferred_term_is_its_own_lowest_level_term():
    d = dictionary_from_rows("t", [("Loose stools", "Diarrhoea", "Gastrointestinal disorders")])
    assert code_term(d, "diarrhoea").llt == "Diarrhoea"
    assert code_term(d, "loose stools").pt == "Diarrhoea"
    assert len(d) == 2


def test_conflicting_rows_are_refused_naming_the_row():
    rows = [("Loose stools", "Diarrhoea", "Gastrointestinal disorders"),
            ("Loose stools", "Constipation", "Gastrointestinal disorders")]
    with pytest.raises(ValueError, match="row 2: 'Loose stools' is coded both as Diarrhoea and Constipation"):
        dictionary_from_rows("t", rows)


@pytest.mark.parametrize("row", [("a", "b"), ("a", "", "c"), ("a", "b", 3)])
def test_malformed_rows_are_refused(row):
    with pytest.raises(ValueError, match="row 1"):
        dictionary_from_rows("t", [row])


def test_unknown_dictionary_and_non_text_verbatim():
    with pytest.raises(ValueError, match="not shipped"):
        load_dictionary("MedDRA 27.0")
    with pytest.raises(ValueError, match="verbatim"):
        code_term(load_dictionary(), 42)


# -- records
def test_casebook_refuses_another_subjects_record_and_duplicates():
    with pytest.raises(ValueError, match="belongs to S-2"):
        Casebook("S-1", (_cm(1, "S-2"),))
    with pytest.raises(ValueError, match="more than once"):
        Casebook("S-1", (_cm(1), _cm(1)))
    assert Casebook("S-1", (_cm(1), _cm(2))).of_form("CM") == (_cm(1), _cm(2))


def test_record_values_are_read_only_and_keyed_by_lesion():
    r = FormRecord("S-1", "WEEK 12", "TL_FU", 1, {"LDIAM": 10.0}, key="T01")
    with pytest.raises(TypeError):
        r.values["LDIAM"] = 0.0
    assert r.record_key == "WEEK 12|TL_FU|T01"


# -- the documented examples run
@pytest.mark.parametrize("module", ["records", "validate", "expr", "schedule", "editchecks", "migrate", "sdv",
                                    "coding", "checks", "to_sdtm"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"oncotrial.collect.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
