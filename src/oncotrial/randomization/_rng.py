"""Seeding: one independent, reproducible random stream per (seed, purpose, label).

Deriving each stratum's stream from its key (rather than from its position) keeps a
stratum's list unchanged when another factor level is added elsewhere.
"""

from __future__ import annotations

import hashlib

import numpy as np


def label_entropy(label: str) -> int:
    """A stable 64-bit integer from a text label (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:8], "big")


def stream(seed: int, purpose: str, label: str = "") -> np.random.Generator:
    """The generator for ``purpose`` (e.g. "permuted_blocks") and ``label`` (e.g. a stratum key)."""
    return np.random.default_rng([int(seed), label_entropy(purpose), label_entropy(label)])
