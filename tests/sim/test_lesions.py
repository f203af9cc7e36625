"""The simulator's lesions (issue 13 §3): TU/TR from which RECIST 1.1 gives every simulated response,
a baseline RECIST accepts, ADTR and the waterfall that follow from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.adam import adam_from_sdtm
from oncotrial.recist import check_baseline, lesion_data, recist
from oncotrial.sim import simulate_trial
from oncotrial.sim.lesions import draw_lesions, rs_from_lesions


@pytest.fixture(scope="module")
def trial(patina):
    return simulate_trial(patina, seed=5)


def test_recist_on_the_simulated_lesions_gives_every_simulated_response(trial):
    s = trial.sdtm
    rs = recist(s["TU"], s["TR"]).to_rs()
    got = rs.merge(s["RS"], on=["USUBJID", "VISITNUM"], suffixes=("_engine", "_sim"), how="outer")
    assert len(got) == len(s["RS"]) and got["RSSTRESC_engine"].notna().all()
    assert (got["RSSTRESC_engine"] == got["RSSTRESC_sim"]).all()
    assert {"CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD"} == set(s["RS"]["RSSTRESC"])


def test_the_baseline_is_one_recist_accepts(trial):
    s = trial.sdtm
    assert check_baseline(lesion_data(s["TU"], s["TR"])) == []
    base = s["TU"][s["TU"]["TUSTRESC"] == "TARGET"]
    assert base.groupby("USUBJID").size().max() <= 5
    assert base.groupby(["USUBJID", "TULOC"]).size().max() <= 2
    nodal = s["TR"].merge(base[["USUBJID", "TULNKID", "TULOC"]], left_on=["USUBJID", "TRLNKID"],
                          right_on=["USUBJID", "TULNKID"])
    at_base = nodal[nodal["VISIT"] == "SCREENING"]
    is_node = at_base["TULOC"] == "LYMPH NODE"
    assert (at_base.loc[is_node, "TRSTRESN"] >= 15).all() and (at_base.loc[~is_node, "TRSTRESN"] >= 10).all()


def test_a_response_the_lesions_do_not_give_is_an_error(trial, patina):
    s = trial.sdtm
    planned = s["RS"].copy()
    i = int(np.flatnonzero(planned["RSSTRESC"].to_numpy() == "PR")[0])
    planned.loc[planned.index[i], "RSSTRESC"] = "PD"
    with pytest.raises(ValueError, match="the lesions of .* give PR at visit .* the simulation planned PD"):
        rs_from_lesions(s["TU"], s["TR"], planned)


def test_lesions_are_the_same_for_the_same_trial(trial, patina):
    tu, tr = draw_lesions(patina, trial.patients, trial.sdtm["RS"])
    pd.testing.assert_frame_equal(tu, trial.sdtm["TU"])
    pd.testing.assert_frame_equal(tr, trial.sdtm["TR"])


def test_adtr_best_change_follows_the_best_response(trial, patina):
    adam = adam_from_sdtm(trial.sdtm, patina)
    best = adam["adtr"].query("PARAMCD == 'BPCHG'").set_index("USUBJID")["AVAL"]
    rs = trial.sdtm["RS"]
    responders = set(rs.loc[rs["RSSTRESC"].isin(["PR", "CR"]), "USUBJID"])
    with_targets = set(trial.sdtm["TU"].query("TUSTRESC == 'TARGET'")["USUBJID"])
    measured = best.dropna()
    assert (measured[measured.index.isin(responders)] <= -30).all()
    assert (measured[~measured.index.isin(responders)] > -30).all()
    assert set(best.index) == with_targets
