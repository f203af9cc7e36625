"""One hand-made case per rule of RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247).

Section and table numbers refer to the paper (3.1.1 measurability, 4.2 baseline
documentation, 4.3.1-4.3.5 target, special notes, non-target and new lesions, 4.4.1 time
point response with table 1 (targets) and table 2 (non-target disease only), 4.4.2
missing assessments); best overall response (4.4.3, 4.6) is in test_bor.py.  Each case
is the smallest lesion history in which the rule decides the response.
"""

from __future__ import annotations

import pytest

from oncotrial.recist import BaselineError, check_baseline, lesion_data, recist

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


def test_4_3_2_node_short_axes_stay_in_the_sum_so_regrowth_counts_against_the_nadir():
    # the nadir carries the nodes' short axes (8 mm); 13 mm is +5 mm and +62%: PD
    r, _ = responses(targets={"T01": ("LYMPH NODE", [20, 8, 13]), "T02": ("LIVER", [30, 0, 0])})
    assert r == ["CR", "PD"]


def test_4_4_2_missing_target_is_ne():
    r, v = responses(targets={"T01": ("LIVER", [30, 20]), "T02": ("LUNG", [20, None])})
    assert r == ["NE"] and v.SUMDIAM.isna().all()


def test_4_4_2_missing_target_is_pd_when_the_measured_ones_already_progress():
    r, _ = responses(targets={"T01": ("LIVER", [30, 60]), "T02": ("LUNG", [20, None])})
    assert r == ["PD"]


def test_4_4_2_incomplete_visit_does_not_set_the_nadir():
    # visit 2 measures only T01 (10 mm): the nadir stays at the baseline 50 mm
    r, v = responses(targets={"T01": ("LIVER", [30, 10, 28]), "T02": ("LUNG", [20, None, 20])})
    assert r == ["NE", "SD"] and v.NADIR.iloc[1] == 50


def test_4_3_5_new_lesion_is_pd_whatever_the_targets():
    r, v = responses(targets={"T01": ("LIVER", [30, 10])}, new={2: "BONE"})
    assert r == ["PD"] and v.TRGRESP.iloc[0] == "PR" and bool(v.NEWLES.iloc[0])


def test_4_3_3_unequivocal_non_target_progression_is_pd():
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


def test_table2_non_target_only_present_is_non_cr_non_pd():
    r, v = responses(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"]), "NT02": ("LIVER", ["PRESENT", "ABSENT"])})
    assert r == ["NON-CR/NON-PD"] and v.TRGRESP.isna().all()


def test_table2_non_target_only_all_absent_is_cr():
    r, _ = responses(nontargets={"NT01": ("BONE", ["PRESENT", "ABSENT"])})
    assert r == ["CR"]


def test_table2_non_target_only_not_all_evaluated_is_ne():
    r, _ = responses(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"]), "NT02": ("LIVER", ["PRESENT", None])})
    assert r == ["NE"]


def test_table2_non_target_only_new_lesion_is_pd():
    r, _ = responses(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])}, new={2: "LIVER"})
    assert r == ["PD"]


def test_4_3_5_a_visit_with_only_a_new_lesion_is_pd():
    # visit 2 has no TR row at all, only the new lesion's TU row
    r, v = responses(targets={"T01": ("LIVER", [30, None, 25])}, new={2: "BRAIN"})
    assert r == ["PD", "SD"] and list(v.VISITNUM) == [2, 3]


def test_4_4_1_each_visit_is_judged_on_its_own_after_pd():
    # per-visit responses are the reads of each visit; PD is not carried forward (that is BOR's job)
    r, _ = responses(targets={"T01": ("LIVER", [50, 40, 60, 40])})
    assert r == ["SD", "PD", "SD"]


def test_table1_target_pd_with_non_target_cr_is_pd():
    r, _ = responses(targets={"T01": ("LIVER", [30, 40])}, nontargets={"NT01": ("BONE", ["PRESENT", "ABSENT"])})
    assert r == ["PD"]


def test_table1_target_ne_with_non_target_progression_is_pd():
    r, _ = responses(targets={"T01": ("LIVER", [30, None])},
                     nontargets={"NT01": ("BONE", ["PRESENT", "UNEQUIVOCAL PROGRESSION"])})
    assert r == ["PD"]


def test_4_3_2_too_small_to_measure_counts_5mm():
    # seen but too small: 5 mm, so the lesion is not gone (PR, not CR)
    tu, tr = make_case(targets={"T01": ("LIVER", [30, 0])})
    tr.loc[1, ["TRORRES", "TRSTRESC", "TRSTRESN"]] = ["TOO SMALL TO MEASURE", "TOO SMALL TO MEASURE", float("nan")]
    v = recist(tu, tr).visits
    assert list(v.OVRLRESP) == ["PR"] and v.SUMDIAM.iloc[0] == 5


def test_4_3_2_split_lesion_fragments_are_added():
    # T01 splits at visit 3 into T01.1 and T01.2: 12 + 11 = 23 mm (sum 33, +10% over the nadir 30: still PR);
    # at visit 4 the parent 30 + fragments 16 + 14 = 60 mm, sum 70: PD
    tu, tr = make_case(targets={"T01": ("LIVER", [40, 20, None, 30]), "T02": ("LUNG", [20, 10, 10, 10])},
                       fragments={"T01.1": ("LIVER", 3, [12, 16]), "T01.2": ("LIVER", 3, [11, 14])})
    v = recist(tu, tr).visits
    assert list(v.SUMDIAM) == [30, 33, 70] and list(v.OVRLRESP) == ["PR", "PR", "PD"]


def test_4_3_2_split_lesion_with_a_fragment_not_measured_is_ne():
    tu, tr = make_case(targets={"T01": ("LIVER", [40, None])}, fragments={"T01.1": ("LIVER", 2, [12]),
                                                                          "T01.2": ("LIVER", 2, [None])})
    assert list(recist(tu, tr).visits.OVRLRESP) == ["NE"]


def test_4_3_2_coalesced_lesions_absorbed_are_0mm():
    # T01 and T02 grow together: the coalesced lesion's diameter is T01's, T02 is recorded 0 (not missing)
    r, v = responses(targets={"T01": ("LIVER", [30, 38]), "T02": ("LIVER", [20, 0])})
    assert r == ["SD"] and v.SUMDIAM.iloc[0] == 38


def test_4_3_2_a_fragment_of_a_non_target_is_an_error():
    tu, tr = make_case(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])},
                       fragments={"NT01.1": ("BONE", 2, [10])})
    with pytest.raises(ValueError, match="NT01.1.*not a TARGET"):
        recist(tu, tr)


def _findings(**kw):
    tu, tr = make_case(**kw)
    return check_baseline(lesion_data(tu, tr))


def test_4_2_at_most_five_targets_the_sixth_is_named():
    organs = ["LIVER", "LUNG", "BRAIN", "SKIN", "PLEURA", "ADRENAL GLAND"]
    tu, tr = make_case(targets={f"T0{i + 1}": (o, [20, 15]) for i, o in enumerate(organs)})
    with pytest.raises(BaselineError, match=r"TU row 6: target lesion T06 of S-001 is target number 6") as e:
        recist(tu, tr)
    assert [(f.TULNKID, f.rule) for f in e.value.findings] == [("T06", "max_targets")]


def test_4_2_at_most_two_targets_per_organ_lymph_nodes_are_one_organ():
    f = _findings(targets={"T01": ("LYMPH NODE, AXILLARY", [20]), "T02": ("LYMPH NODE, MEDIASTINAL", [18]),
                           "T03": ("LYMPH NODE, INGUINAL", [16]), "T04": ("LIVER", [30])})
    assert [(x.TULNKID, x.rule) for x in f] == [("T03", "max_targets_per_organ")]
    assert "T03" in f[0].message and "LYMPH NODE" in f[0].message


def test_3_1_1_non_nodal_target_must_be_10mm():
    f = _findings(targets={"T01": ("LIVER", [9.9, 5]), "T02": ("LUNG", [10, 5])})
    assert [(x.TULNKID, x.rule, x.domain, x.row) for x in f] == [("T01", "min_size_nonnodal", "TR", 1)]


def test_3_1_1_nodal_target_must_be_15mm_short_axis():
    # a 10-15 mm node is pathological but not measurable: it can only be a non-target
    f = _findings(targets={"T01": ("LYMPH NODE", [14.9, 5]), "T02": ("LYMPH NODE", [15, 5])})
    assert [(x.TULNKID, x.rule) for x in f] == [("T01", "min_size_nodal")]
    assert "14.9 mm" in f[0].message


def test_4_2_every_target_measured_at_baseline():
    f = _findings(targets={"T01": ("LIVER", [None, 20]), "T02": ("LUNG", [20, 20])})
    assert [(x.TULNKID, x.rule) for x in f] == [("T01", "not_measured")]


def test_4_2_baseline_is_the_identification_visit_not_the_first_measured_one():
    # T01 and T02 identified at visit 1, neither measured there: both are named, visit 2 is not taken as baseline
    f = _findings(targets={"T01": ("LIVER", [None, 20, 10]), "T02": ("LUNG", [None, 20, 10])})
    assert sorted(x.TULNKID for x in f) == ["T01", "T02"]


def test_baseline_check_can_be_skipped():
    tu, tr = make_case(targets={"T01": ("LIVER", [8, 4])})
    assert list(recist(tu, tr, check=False).visits.OVRLRESP) == ["PR"]


def test_tumour_burden_per_visit_and_best_change():
    from oncotrial.recist import tumour_burden

    tu, tr = make_case(targets={"T01": ("LIVER", [40, 20, None, 30]), "T02": ("LUNG", [20, 10, 10, 10])})
    tb = tumour_burden(recist(tu, tr))
    v = tb.visits
    assert list(v.VISITNUM) == [1, 2, 4] and list(v.SUMDIAM) == [60, 30, 40]
    assert v.PCHG.tolist() == pytest.approx([0, -50, -100 / 3]) and v.PCHGNAD.iloc[2] == pytest.approx(100 / 3)
    assert tb.best[["BESTPCHG", "BESTVISITNUM", "NVISITS"]].iloc[0].tolist() == [-50, 2, 2]
    tu, tr = make_case(nontargets={"NT01": ("BONE", ["PRESENT", "PRESENT"])})
    assert tumour_burden(recist(tu, tr)).best.empty
