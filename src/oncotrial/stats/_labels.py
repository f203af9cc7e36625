"""Turning label columns (arm, stratum) into integer codes in sorted-level order."""

from __future__ import annotations

import numpy as np


def encode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct levels and the integer code of each row (R factor order)."""
    levels, codes = np.unique(labels, return_inverse=True)
    return levels, codes.astype(np.int64)
