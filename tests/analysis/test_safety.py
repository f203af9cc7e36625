"""Safety tables on hand-made ADAE: worst-grade counting, categories, dose reductions."""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.analysis import analyze_safety
from oncotrial.protocol import load_protocol
from tests.analysis.helpers import toy_adsl

P = load_protocol("patina")


def toy_adae() -> pd.DataFrame:
    rows = [
        # neutropenia grade 3 then 4 (worst 4), serious; drug withdrawn for it
        ("A-00", "Neutropenia", 3, "N", "DOSE REDUCED", "Y", "Y"),
        ("A-00", "Neutropenia", 4, "Y", "DRUG WITHDRAWN", "Y", "Y"),
        # diarrhoea grade 2 and fatigue grade 3 (worst 3)
        ("A-01", "Diarrhoea", 2, "N", "DOSE NOT CHANGED", "Y", "Y"),
        ("A-01", "Fatigue", 3, "N", "DOSE NOT CHANGED", "N", "Y"),
        # a fatal unrelated event
        ("A-02", "Pneumonia", 5, "Y", "DRUG WITHDRAWN", "N", "Y"),
        # B-00: fatigue grade 1; B-01: an event before treatment (not emergent)
        ("B-00", "Fatigue", 1, "N", "DOSE NOT CHANGED", "N", "Y"),
        ("B-01", "Fatigue", 3, "N", "DOSE NOT CHANGED", "N", "N"),
    ]
    return pd.DataFrame(rows, columns=["USUBJID", "AEDECOD", "ATOXGRN", "AESER", "AEACN", "AEREL", "TRTEMFL"])


def test_overview_counts_patients_at_their_worst_grade():
    adsl = toy_adsl(4)
    s = analyze_safety(adsl, toy_adae(), P)
    assert s.n == {"A": 4, "B": 4} and s.graded
    assert s.row("any", "", "any").count == {"A": 3, "B": 1}
    assert s.row("any", "", "3").count == {"A": 1, "B": 0}
    assert s.row("any", "", "4").count == {"A": 1, "B": 0}
    assert s.row("any", "", ">=3").count == {"A": 3, "B": 0}
    assert s.row("serious", "", "any").count == {"A": 2, "B": 0}
    assert s.row("discontinuation", "", "any").count == {"A": 2, "B": 0}
    assert s.row("fatal", "", "any").count == {"A": 1, "B": 0}
    assert s.treatment_related_deaths == {"A": 0, "B": 0}
    assert s.row("any", "", "any").percent["A"] == pytest.approx(75.0)


def test_by_term_grades():
    s = analyze_safety(toy_adsl(4), toy_adae(), P)
    assert s.row("term", "Neutropenia", "3").count["A"] == 0  # worst grade is 4
    assert s.row("term", "Neutropenia", "4").count["A"] == 1
    assert s.row("term", "Neutropenia", ">=3").count["A"] == 1
    assert s.row("term", "Fatigue", ">=2").count == {"A": 1, "B": 0}
    assert s.row("term", "Fatigue", "any").count == {"A": 1, "B": 1}


def test_safety_population_and_severity_only_adae():
    adsl = toy_adsl(4)
    adsl.loc[adsl.USUBJID == "A-03", "SAFFL"] = "N"
    s = analyze_safety(adsl, toy_adae().drop(columns="ATOXGRN"), P)
    assert s.n == {"A": 3, "B": 4} and not s.graded
    assert {r.grade for r in s.overview} == {"any"}
    with pytest.raises(ValueError, match=r"ADAE: row 0 \(USUBJID 'A-00'\) has ATOXGRN '7'"):
        analyze_safety(adsl, toy_adae().assign(ATOXGRN=[7, 1, 1, 1, 1, 1, 1]), P)


def test_dose_reductions_from_ttdr():
    adsl = toy_adsl(4)
    ttdr = pd.DataFrame({"USUBJID": ["A-00", "A-01", "A-02", "A-03"], "PARAMCD": "TTDR",
                         "PARAM": "Time to First Dose Reduction of PALBOCICLIB",
                         "AVAL": [61.0, 122.0, 300.0, 30.0], "CNSR": [0, 0, 1, 0]})
    s = analyze_safety(adsl, toy_adae(), P, adtte=ttdr)
    (m,) = s.dose_modifications
    assert (m.drug, m.arm, m.n, m.reduced) == ("palbociclib", "A", 4, 3)
    assert m.reduction_percent == pytest.approx(75.0)
    assert m.median_time_to_first_reduction == pytest.approx(61.0 / 30.4375)
    assert m.discontinued_for_ae == 2
