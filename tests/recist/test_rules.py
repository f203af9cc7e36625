"""One hand-made case per rule of RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247).

Section numbers refer to the paper; each case is the smallest lesion history in which
the rule decides the response.
"""

from __future__ import annotations

import pytest

from oncotrial.recist import recist

from tests.recist.helpers import make_case


def responses(**kw):
    tu, tr = make_case(**kw)
    v = recist(tu, tr).visits
    return list(v.OVRLRESP), v


def test_4_3_1_target_cr_all_lesions_disappeared():
    r, v = responses(targets={"T01": ("LIVER", [30, 0]), "T02": ("LUNG", [20, 0])})
    assert r == ["CR"] and v.SUMDIAM.iloc[0] == 0


def test_4_3_1_nodal_cr_short_axis_below_10mm_although_sum_not_zero():
    r, v = responses(targets={"T01": ("LYMPH NODE", [20, 9.9]), "T02": ("LIVER", [25, 0])})
    assert r == ["CR"] and v.SUMDIAM.iloc[0] == pytest.approx(9.9)


def test_4_3_1_node_of_10mm_is_not_cr():
    r, _ = responses(targets={"T01": ("LYMPH NODE", [20, 10]), "T02": ("LIVER", [25, 0])})
    assert r == ["PR"]   # -77.8%, but a 10 mm node is not normal


def test_4_3_1_pr_at_exactly_30_percent_below_baseline():
    r, v = responses(targets={"T01": ("LIVER", [40, 28]), "T02": ("LUNG", [20, 14])})
    assert r == ["PR"] and v.PCHG.iloc[0] == pytest.approx(-30.0)


def test_4_3_1_decrease_under_30_percent_is_sd():
    r, _ = responses(targets={"T01": ("LIVER", [40, 28.1]), "T02": ("LUNG", [20, 14])})
    assert r == ["SD"]


def test_4_3_1_pd_is_20_percent_over_the_nadir_not_the_baseline():
    # nadir 50 at visit 2; 61 is +22% over it yet -39% from baseline
    r, v = responses(targets={"T01": ("LIVER", [100, 50, 61])})
    assert r == ["PR", "PD"] and v.NADIR.iloc[1] == 50


def test_4_3_1_pd_needs_5mm_absolute_increase():
    # +25% over a nadir of 16 mm is only 4 mm: SD; 21 mm (+5 mm, +31%) is PD
    r, _ = responses(targets={"T01": ("LIVER", [40, 16, 20, 21])})
    assert r == ["PR", "PR", "PD"]


def test_4_3_1_nadir_includes_baseline():
    # no shrinkage: the nadir is the baseline sum, +20% and +5 mm over it is PD
    r, _ = responses(targets={"T01": ("LIVER", [50, 52, 60])})
    assert r == ["SD", "PD"]


def test_4_3_1_reappearance_after_cr_is_pd_at_5mm():
    r, _ = responses(targets={"T01": ("LIVER", [30, 0, 5]), "T02": ("LUNG", [20, 0, 0])})
    assert r == ["CR", "PD"]


def test_4_3_1_reappearance_under_5mm_after_cr_is_not_pd():
    r, _ = responses(targets={"T01": ("LIVER", [30, 0, 4.9]), "T02": ("LUNG", [20, 0, 0])})
    assert r == ["CR", "PR"]


def test_4_3_1_nodal_cr_regrowth_counts_against_the_nodal_nadir():
    # the nadir carries the nodes' short axes (8 mm); 13 mm is +5 mm and +62%: PD
    r, _ = responses(targets={"T01": ("LYMPH NODE", [20, 8, 13]), "T02": ("LIVER", [30, 0, 0])})
    assert r == ["CR", "PD"]


def test_4_3_4_missing_target_is_ne():
    r, v = responses(targets={"T01": ("LIVER", [30, 20]), "T02": ("LUNG", [20, None])})
    assert r == ["NE"] and v.SUMDIAM.isna().all()


def test_4_3_4_missing_target_is_pd_when_the_measured_ones_already_progress():
    r, _ = responses(targets={"T01": ("LIVER", [30, 60]), "T02": ("LUNG", [20, None])})
    assert r == ["PD"]


def test_4_3_4_incomplete_visit_does_not_set_the_nadir():
    # visit 2 measures only T01 (10 mm): the nadir stays at the baseline 50 mm
    r, v = responses(targets={"T01": ("LIVER", [30, 10, 28]), "T02": ("LUNG", [20, None, 20])})
    assert r == ["NE", "SD"] and v.NADIR.iloc[1] == 50


def test_4_3_3_new_lesion_is_pd_whatever_the_targets():
    r, v = responses(targets={"T01": ("LIVER", [30, 10])}, new={2: "BONE"})
    assert r == ["PD"] and v.TRGRESP.iloc[0] == "PR" and bool(v.NEWLES.iloc[0])


def test_4_3_2_unequivocal_non_target_progression_is_pd():
    r, v = responses(targets={"T01": ("LIVER", [30, 10])},
                     nontargets={"NT01": ("BONE", ["PRESENT", "UNEQUIVOCAL PROGRESSION"])})
    assert r == ["PD"] and v.NTRGRESP.iloc[0] == "PD"


def test_table1_target_cr_with_non_target_present_is_pr():
    r, _ = responses(targets={"T01": ("LIVER", [30, 0])}, nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])})
    assert r == ["PR"]


def test_table1_target_cr_with_non_target_not_evaluated_is_pr():
    r, _ = responses(targets={"T01": ("LIVER", [30, 0])}, nontargets={"NT01": ("BONE", ["PRESENT", None])})
    assert r == ["PR"]


def test_table1_target_cr_and_non_target_cr_is_cr():
    r, _ = responses(targets={"T01": ("LIVER", [30, 0])}, nontargets={"NT01": ("BONE", ["PRESENT", "ABSENT"])})
    assert r == ["CR"]


def test_table1_target_pr_with_non_target_not_evaluated_is_pr():
    r, _ = responses(targets={"T01": ("LIVER", [30, 15])}, nontargets={"NT01": ("BONE", ["PRESENT", None])})
    assert r == ["PR"]


def test_table1_target_sd_with_non_target_non_cr_non_pd_is_sd():
    r, _ = responses(targets={"T01": ("LIVER", [30, 29])}, nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])})
    assert r == ["SD"]


def test_table1_target_ne_with_non_target_non_pd_is_ne():
    r, _ = responses(targets={"T01": ("LIVER", [30, None])}, nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])})
    assert r == ["NE"]


def test_table3_non_target_only_present_is_non_cr_non_pd():
    r, v = responses(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"]), "NT02": ("LIVER", ["PRESENT", "ABSENT"])})
    assert r == ["NON-CR/NON-PD"] and v.TRGRESP.isna().all()


def test_table3_non_target_only_all_absent_is_cr():
    r, _ = responses(nontargets={"NT01": ("BONE", ["PRESENT", "ABSENT"])})
    assert r == ["CR"]


def test_table3_non_target_only_not_all_evaluated_is_ne():
    r, _ = responses(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"]), "NT02": ("LIVER", ["PRESENT", None])})
    assert r == ["NE"]


def test_table3_non_target_only_new_lesion_is_pd():
    r, _ = responses(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])}, new={2: "LIVER"})
    assert r == ["PD"]


def test_a_visit_with_only_a_new_lesion_is_pd():
    # visit 2 has no TR row at all, only the new lesion's TU row
    r, v = responses(targets={"T01": ("LIVER", [30, None, 25])}, new={2: "BRAIN"})
    assert r == ["PD", "SD"] and list(v.VISITNUM) == [2, 3]


def test_each_visit_is_judged_on_its_own_after_pd():
    # per-visit responses are the reads of each visit; PD is not carried forward (that is BOR's job)
    r, _ = responses(targets={"T01": ("LIVER", [50, 40, 60, 40])})
    assert r == ["SD", "PD", "SD"]
