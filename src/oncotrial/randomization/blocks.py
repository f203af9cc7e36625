"""Stratified permuted blocks with block sizes drawn at random from a set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from oncotrial.randomization._checks import (
    check_arms,
    check_block_sizes,
    check_count,
    check_levels,
    check_probabilities,
    check_ratio,
    check_seed,
)
from oncotrial.randomization._rng import stream
from oncotrial.randomization.allocation import AllocationList, AllocationRow
from oncotrial.randomization.strata import enumerate_strata


def permuted_block_sequence(
    rng: np.random.Generator,
    ratio: tuple[int, ...],
    block_sizes: tuple[int, ...],
    size_probs: tuple[float, ...],
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric core: arm indices and per-slot block sizes for whole blocks covering ``n`` slots.

    Each block's size is drawn from ``block_sizes`` with ``size_probs``; the block holds
    ``size / sum(ratio)`` copies of the ratio set in random order.

    Example
    -------
    >>> arms, sizes = permuted_block_sequence(np.random.default_rng(0), (1, 1), (4,), (1.0,), 8)
    >>> sorted(arms[:4].tolist()), sizes.tolist()
    ([0, 0, 1, 1], [4, 4, 4, 4, 4, 4, 4, 4])
    """
    total = sum(ratio)
    cum = np.cumsum(size_probs)
    arms_out: list[np.ndarray] = []
    sizes_out: list[np.ndarray] = []
    filled = 0
    # Only Generator.random() is used (block size by inverse CDF, order by sorting
    # uniforms): its PCG64 stream is stable across numpy versions, whereas choice()
    # and permutation() algorithms are not guaranteed to be, and a list must be
    # regenerable from its seed years later.
    while filled < n:
        b = int(block_sizes[min(int(np.searchsorted(cum, rng.random(), side="right")), len(block_sizes) - 1)])
        block = np.repeat(np.arange(len(ratio)), np.asarray(ratio) * (b // total))
        arms_out.append(block[np.argsort(rng.random(b), kind="stable")])
        sizes_out.append(np.full(b, b))
        filled += b
    if not arms_out:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    return np.concatenate(arms_out), np.concatenate(sizes_out)


def generate_permuted_blocks(
    strata_levels: Mapping[str, Sequence[str]],
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    n_per_stratum: int,
    seed: int,
    block_size_weights: Sequence[float] | None = None,
) -> AllocationList:
    """A stratified permuted-block allocation list.

    Every stratum (the cross product of ``strata_levels``, first factor varying
    slowest) gets whole blocks until it holds at least ``n_per_stratum`` slots, so no
    list ends mid-block. Each block's size is drawn from ``block_sizes`` (equally
    likely unless ``block_size_weights`` is given); every block holds
    ``size / sum(ratio)`` copies of the ratio set in random order. Each stratum's
    random stream is derived from ``seed`` and its key, so the same arguments give the
    same list on any machine.

    Raises ValueError naming the argument for a ratio that does not match the arms,
    a block size that is not a multiple of the ratio sum, or a bad count/seed.

    Example
    -------
    >>> al = generate_permuted_blocks(
    ...     {"induction_response": ["CR_PR", "SD"], "prior_antiher2": ["YES", "NO"]},
    ...     arms=["A", "B"], ratio=[1, 1], block_sizes=[2, 4], n_per_stratum=10, seed=42)
    >>> len(al.strata), al.strata[0]
    (4, 'induction_response=CR_PR|prior_antiher2=YES')
    >>> all(len(al.for_stratum(k)) >= 10 for k in al.strata)
    True
    """
    levels = check_levels(strata_levels)
    arm_codes = check_arms(arms)
    r = check_ratio(ratio, len(arm_codes))
    sizes = check_block_sizes(block_sizes, r)
    probs = check_probabilities(block_size_weights, len(sizes), "block_size_weights")
    n = check_count(n_per_stratum, "n_per_stratum")
    seed = check_seed(seed)

    rows: list[AllocationRow] = []
    for stratum in enumerate_strata(levels):
        key = stratum.key
        arm_idx, slot_sizes = permuted_block_sequence(stream(seed, "permuted_blocks", key), r, sizes, probs, n)
        # block number increments where a new block starts
        starts = np.zeros(len(slot_sizes), dtype=bool)
        pos = 0
        while pos < len(slot_sizes):
            starts[pos] = True
            pos += int(slot_sizes[pos])
        block_no = np.cumsum(starts)
        rows.extend(
            AllocationRow(key, i + 1, int(block_no[i]), int(slot_sizes[i]), arm_codes[int(arm_idx[i])])
            for i in range(len(arm_idx))
        )
    return AllocationList(
        rows=tuple(rows),
        seed=seed,
        method="permuted_blocks",
        arms=arm_codes,
        ratio=r,
        block_sizes=sizes,
        factors=tuple(levels),
    )
