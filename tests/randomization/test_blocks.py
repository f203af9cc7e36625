"""Stratified permuted blocks: reproducibility, balance, block sizes, argument errors."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from oncotrial.randomization import AllocationList, generate_permuted_blocks, generate_simple

FACTORS = {
    "induction_response": ["CR_PR", "SD"],
    "prior_antiher2": ["YES", "NO"],
    "endocrine_therapy": ["AI", "FULV"],
    "her2_blockade": ["DUAL", "SINGLE"],
}


def _blocks(alloc: AllocationList) -> dict[tuple[str, int], list]:
    out: dict[tuple[str, int], list] = {}
    for r in alloc.rows:
        out.setdefault((r.stratum, r.block), []).append(r)
    return out


def test_same_seed_same_list_other_seed_other_list():
    a = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 40, seed=11)
    b = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 40, seed=11)
    c = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 40, seed=12)
    assert a == b and a.checksum == b.checksum
    assert a.checksum != c.checksum


def test_a_stratums_list_does_not_depend_on_the_other_strata():
    full = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 30, seed=5)
    # a third HER2-blockade level adds strata but leaves the existing ones alone
    more = generate_permuted_blocks({**FACTORS, "her2_blockade": ["DUAL", "SINGLE", "NONE"]}, ["A", "B"], [1, 1], [2, 4], 30, seed=5)
    assert len(more.strata) == 24
    for key in full.strata:
        assert full.for_stratum(key) == more.for_stratum(key)


def test_numpy_integers_are_accepted():
    a = generate_permuted_blocks(FACTORS, ["A", "B"], np.array([1, 1]), np.array([2, 4]), np.int64(6), seed=np.int64(3))
    assert a == generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 6, seed=3)


def test_list_shape_and_interface():
    al = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 25, seed=1)
    assert len(al.strata) == 16
    assert al.strata[0] == "induction_response=CR_PR|prior_antiher2=YES|endocrine_therapy=AI|her2_blockade=DUAL"
    frame = al.to_frame()
    assert list(frame.columns) == ["stratum", "sequence", "block", "block_size", "arm"]
    assert len(frame) == len(al.rows)
    for key in al.strata:
        rows = al.for_stratum(key)
        # whole blocks only: at least 25 slots and fewer than 25 + the largest block
        assert 25 <= len(rows) < 25 + 4
        assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
    with pytest.raises(ValueError, match="stratum: 'x=1' is not in this allocation list"):
        al.for_stratum("x=1")


@pytest.mark.parametrize(("ratio", "sizes"), [((1, 1), (2, 4)), ((2, 1), (3, 6)), ((1, 2, 1), (4, 8))])
def test_every_block_is_balanced_at_the_ratio(ratio, sizes):
    arms = ["A", "B", "C"][: len(ratio)]
    al = generate_permuted_blocks(FACTORS, arms, ratio, sizes, 60, seed=3)
    for (_, _), rows in _blocks(al).items():
        size = rows[0].block_size
        assert size in sizes and len(rows) == size and all(r.block_size == size for r in rows)
        counts = Counter(r.arm for r in rows)
        assert [counts[a] for a in arms] == [q * size // sum(ratio) for q in ratio]


def test_block_sizes_are_drawn_equally_and_by_weight():
    al = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 600, seed=8)
    sizes = [rows[0].block_size for rows in _blocks(al).values()]
    n2, n4 = sizes.count(2), sizes.count(4)
    # chi-square test of equal block-size probabilities (a fair draw fails 1 in 1000)
    assert stats.chisquare([n2, n4]).pvalue > 0.001
    weighted = generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1], [2, 4], 600, seed=8, block_size_weights=[1, 3])
    sizes = [rows[0].block_size for rows in _blocks(weighted).values()]
    n = len(sizes)
    assert stats.binomtest(sizes.count(4), n, 0.75).pvalue > 0.001
    # the blocks are random permutations: each of the 6 orders of a size-4 block about equally often
    orders = Counter("".join(r.arm for r in rows) for rows in _blocks(al).values() if len(rows) == 4)
    assert set(orders) == {"AABB", "ABAB", "ABBA", "BAAB", "BABA", "BBAA"}
    assert stats.chisquare(list(orders.values())).pvalue > 0.001


def test_simple_list_is_unblocked_and_at_the_ratio():
    al = generate_simple({}, ["A", "B"], [2, 1], n_per_stratum=3000, seed=4)
    assert al.strata == ("",) and al.method == "simple"
    assert all(r.block == 0 and r.block_size == 0 for r in al.rows)
    n_a = sum(r.arm == "A" for r in al.rows)
    assert stats.binomtest(n_a, 3000, 2 / 3).pvalue > 0.001
    assert generate_simple({}, ["A", "B"], [2, 1], 3000, seed=4) == al


def test_block_size_not_a_multiple_of_the_ratio_is_named():
    with pytest.raises(ValueError, match=r"block_sizes\[1\]: block size 4 is not a multiple of the ratio sum 3"):
        generate_permuted_blocks(FACTORS, ["A", "B"], [2, 1], [3, 4], 10, seed=1)


def test_ratio_mismatch_is_named():
    with pytest.raises(ValueError, match="ratio: has 3 entries but there are 2 arms"):
        generate_permuted_blocks(FACTORS, ["A", "B"], [1, 1, 1], [3], 10, seed=1)
    with pytest.raises(ValueError, match=r"ratio\[1\]: expected a positive integer, got 0"):
        generate_permuted_blocks(FACTORS, ["A", "B"], [1, 0], [2], 10, seed=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_per_stratum": 0}, "n_per_stratum: expected an integer >= 1"),
        ({"seed": -1}, "seed: expected an integer >= 0"),
        ({"arms": ["A", "A"]}, "arms: arm 'A' appears more than once"),
        ({"strata_levels": {"f": []}}, r"strata_levels\['f'\]: expected at least one level"),
        ({"block_sizes": []}, "block_sizes: expected at least one block size"),
        ({"block_size_weights": [1]}, "block_size_weights: has 1 entries; expected 2"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"strata_levels": FACTORS, "arms": ["A", "B"], "ratio": [1, 1], "block_sizes": [2, 4], "n_per_stratum": 4, "seed": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        generate_permuted_blocks(**args)


def test_allocation_list_rejects_a_wrong_checksum():
    al = generate_permuted_blocks({"f": ["x"]}, ["A", "B"], [1, 1], [2], 2, seed=1)
    with pytest.raises(ValueError, match="checksum: 'abc' does not match the rows"):
        AllocationList(rows=al.rows, seed=1, checksum="abc")
    assert np.array_equal(al.to_frame()["sequence"].to_numpy(), [1, 2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        al.seed = 2  # type: ignore[misc]
