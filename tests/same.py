"""One comparison of two results documents, for the tests that check a round trip changes no number."""

from __future__ import annotations

import math
from typing import Any


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Every key, number and label of two JSON-like documents equal (NaN equal to NaN); the first
    difference is named by its path."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(set(a) ^ set(b))} in one only"
        for k in a:
            assert_same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        pass
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
