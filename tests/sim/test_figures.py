"""The simulator's figures are the report's: one analysis path (ADaM as `analyze` derives it, run_analysis,
compare_published), only renamed to the published-figure names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.analysis import compare_published, run_analysis
from oncotrial.adam import adam_from_sdtm
from oncotrial.sim.figures import published_figures, trial_figures


def _pairs(published, reproduced) -> list[tuple[str, str]]:
    return sorted((f"{p:.6g}", f"{r:.9g}") for p, r in zip(published, reproduced))


def test_table_equals_the_reports_comparison_value_for_value(patina, patina_reconstruction):
    adam = adam_from_sdtm(patina_reconstruction.sdtm, patina)
    rows = compare_published(run_analysis(adam, patina), patina.published, patina).rows
    comp = patina_reconstruction.comparison
    assert len(rows) == len(comp)
    # Matched without the figure names: the multiset of (published, reproduced) pairs is the same.
    assert _pairs([r.published for r in rows], [r.reproduced for r in rows]) == \
        _pairs(comp["published"].to_numpy(float), comp["reproduced"].to_numpy(float))


def test_from_adam_equals_from_sdtm_and_names_every_published_figure(mini, mini_reconstruction):
    sdtm = mini_reconstruction.sdtm
    a = trial_figures(mini, sdtm)
    b = trial_figures(mini, adam=adam_from_sdtm(sdtm, mini))
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["figure", "arm", "value", "r_rule"]
    pub = published_figures(mini)
    assert set(zip(a["figure"], a["arm"])) == set(zip(pub["figure"], pub["arm"]))
    assert a["value"].notna().all()
    # the R-rule cross-check is given for KM median CI bounds only
    ci = a["figure"].str.contains("median (?:lower|upper) CI")
    assert a.loc[ci, "r_rule"].notna().all() and a.loc[~ci, "r_rule"].isna().all()


def test_needs_exactly_one_source(mini, mini_reconstruction):
    with pytest.raises(ValueError, match="exactly one of sdtm"):
        trial_figures(mini)
    with pytest.raises(ValueError, match="exactly one of sdtm"):
        trial_figures(mini, mini_reconstruction.sdtm, adam={"adsl": None})


def test_safety_counts_treatment_emergent_events_and_every_related_causality(patina, patina_reconstruction):
    """A grade-4 AE before the first dose is not counted; a fatal AE assessed POSSIBLE is treatment related."""
    sdtm = {k: v.copy() for k, v in patina_reconstruction.sdtm.items()}
    before = trial_figures(patina, sdtm).set_index(["figure", "arm"])["value"]
    dm, ae = sdtm["DM"], sdtm["AE"]
    worst = ae.assign(G=pd.to_numeric(ae["AETOXGR"])).groupby("USUBJID")["G"].max()
    treated_b = dm[(dm["ACTARMCD"] == "B") & dm["RFXSTDTC"].notna()]
    serious = set(ae.loc[ae["AESER"] == "Y", "USUBJID"])
    mild = treated_b[(treated_b["USUBJID"].map(worst).fillna(0) <= 2) & ~treated_b["USUBJID"].isin(serious)]
    pre, dies = mild.iloc[0], mild.iloc[1]
    start = pd.Timestamp(pre["RFXSTDTC"]) - pd.Timedelta(days=5)
    extra = pd.DataFrame([
        {**ae.iloc[0].to_dict(), "USUBJID": pre["USUBJID"], "AETERM": "Hypertension", "AEDECOD": "Hypertension",
         "AETOXGR": "4", "AESER": "N", "AEREL": "N", "AESTDTC": start.date().isoformat(),
         "AEENDTC": (start + pd.Timedelta(days=2)).date().isoformat(), "AESTDY": -5, "AEENDY": -3},
        {**ae.iloc[0].to_dict(), "USUBJID": dies["USUBJID"], "AETERM": "Sepsis", "AEDECOD": "Sepsis",
         "AETOXGR": "5", "AESER": "Y", "AEREL": "POSSIBLE", "AEOUT": "FATAL",
         "AESTDTC": (pd.Timestamp(dies["RFXSTDTC"]) + pd.Timedelta(days=10)).date().isoformat(),
         "AEENDTC": (pd.Timestamp(dies["RFXSTDTC"]) + pd.Timedelta(days=10)).date().isoformat(),
         "AESTDY": 11, "AEENDY": 11},
    ])
    sdtm["AE"] = pd.concat([ae, extra], ignore_index=True)
    after = trial_figures(patina, sdtm).set_index(["figure", "arm"])["value"]
    assert after[("AE grade 4 (%)", "B")] == before[("AE grade 4 (%)", "B")]
    assert after[("Treatment-related deaths (n)", "B")] == before[("Treatment-related deaths (n)", "B")] + 1
    assert np.isclose(after[("Serious AE (%)", "B")] - before[("Serious AE (%)", "B")], 100 / _n_safety(sdtm, "B"))


def _n_safety(sdtm, arm: str) -> int:
    dm = sdtm["DM"]
    return int(dm.loc[dm["ACTARMCD"] == arm, "USUBJID"].isin(sdtm["EX"]["USUBJID"]).sum())
