"""Simple (unrestricted) randomization: each patient's arm drawn independently at the ratio."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from oncotrial.randomization._checks import check_arms, check_count, check_levels, check_ratio, check_seed
from oncotrial.randomization._rng import stream
from oncotrial.randomization.allocation import AllocationList, AllocationRow
from oncotrial.randomization.strata import enumerate_strata


def generate_simple(
    strata_levels: Mapping[str, Sequence[str]],
    arms: Sequence[str],
    ratio: Sequence[int],
    n_per_stratum: int,
    seed: int,
) -> AllocationList:
    """An allocation list of independent draws (no blocks): arm j with probability ratio_j / sum(ratio).

    ``strata_levels`` may be empty (``{}``) for one unstratified list whose stratum
    key is ``""``. Rows carry ``block = block_size = 0`` (unblocked).

    Example
    -------
    >>> al = generate_simple({}, ["A", "B"], [1, 1], n_per_stratum=6, seed=3)
    >>> al.method, al.strata, len(al)
    ('simple', ('',), 6)
    """
    levels = check_levels(strata_levels)
    arm_codes = check_arms(arms)
    r = check_ratio(ratio, len(arm_codes))
    n = check_count(n_per_stratum, "n_per_stratum")
    seed = check_seed(seed)
    cum = np.cumsum([x / sum(r) for x in r])
    rows: list[AllocationRow] = []
    for stratum in enumerate_strata(levels):
        # inverse CDF of Generator.random(): a stream stable across numpy versions
        u = stream(seed, "simple", stratum.key).random(n)
        draws = np.minimum(np.searchsorted(cum, u, side="right"), len(arm_codes) - 1)
        rows.extend(AllocationRow(stratum.key, i + 1, 0, 0, arm_codes[int(a)]) for i, a in enumerate(draws))
    return AllocationList(rows=tuple(rows), seed=seed, method="simple", arms=arm_codes, ratio=r, factors=tuple(levels))
