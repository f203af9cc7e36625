"""Turning label columns (arm, stratum) into integer codes in sorted-level order."""

from __future__ import annotations

import numpy as np
import pandas as pd


def encode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct levels and the integer code of each row (R factor order).

    A hash table (pandas.factorize) rather than a sort of all rows: labels have
    few levels, so this is linear in n.
    """
    try:
        codes, levels = pd.factorize(labels, sort=True)
        levels = np.asarray(levels)
    except TypeError:  # labels of mixed types that pandas will not order
        levels, codes = np.unique(labels, return_inverse=True)
    return levels, np.asarray(codes, dtype=np.int64)
