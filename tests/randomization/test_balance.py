"""Balance report per stratum, per factor level and overall."""

from __future__ import annotations

import pytest

from oncotrial.randomization import balance_report, generate_permuted_blocks

FACTORS = {"resp": ["CR_PR", "SD"], "prior": ["YES", "NO"]}


def test_report_counts_by_hand():
    strata = ["resp=CR_PR|prior=NO"] * 3 + ["resp=SD|prior=NO"] * 2 + ["resp=SD|prior=YES"]
    arms = ["A", "A", "B", "B", "B", "A"]
    rep = balance_report(strata, arms, ["A", "B"])
    frame = rep.to_frame().set_index(["scope", "stratum", "factor", "level"])
    assert frame.loc[("stratum", "resp=CR_PR|prior=NO", "", ""), ["n_A", "n_B", "imbalance"]].tolist() == [2, 1, 1]
    assert frame.loc[("stratum", "resp=SD|prior=NO", "", ""), ["n_A", "n_B", "imbalance"]].tolist() == [0, 2, 2]
    # margins: prior=NO has A 2, B 3; resp=SD has A 1, B 2
    assert frame.loc[("factor", "", "prior", "NO"), ["n_A", "n_B"]].tolist() == [2, 3]
    assert frame.loc[("factor", "", "resp", "SD"), ["n_A", "n_B"]].tolist() == [1, 2]
    assert frame.loc[("overall", "", "", ""), ["n", "n_A", "n_B", "imbalance"]].tolist() == [6, 3, 3, 0]
    assert (rep.max_stratum_imbalance, rep.max_marginal_imbalance, rep.overall_imbalance) == (2.0, 1.0, 0.0)
    assert rep.to_dict()["max_stratum_imbalance"] == 2.0


def test_a_list_used_to_whole_blocks_is_balanced_everywhere():
    al = generate_permuted_blocks(FACTORS, ["A", "B"], [2, 1], [3, 6], 12, seed=4)
    frame = al.to_frame()
    rep = balance_report(frame["stratum"], frame["arm"], al.arms, al.ratio, all_strata=al.strata)
    assert rep.max_stratum_imbalance == 0 and rep.overall_imbalance == 0
    # an empty stratum is still reported when all_strata is given
    rep = balance_report([al.strata[0]], ["A"], al.arms, al.ratio, all_strata=al.strata)
    assert len(rep.to_frame().query("scope == 'stratum'")) == 4


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="assigned: row 1 is arm 'C'; expected one of 'A', 'B'"):
        balance_report(["f=x", "f=x"], ["A", "C"], ["A", "B"])
    with pytest.raises(ValueError, match="assigned: length 1 differs from strata's length 2"):
        balance_report(["f=x", "f=x"], ["A"], ["A", "B"])
    with pytest.raises(ValueError, match="strata: row 0 is stratum 'f=y', which is not in all_strata"):
        balance_report(["f=y"], ["A"], ["A", "B"], all_strata=["f=x"])
