"""Argument checks shared by every statistic, run before any numeric work.

Each check raises ValueError naming the argument and what was expected, so a
user can tell which column of their data is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


def as_time(time: Any, name: str = "time") -> np.ndarray:
    """Return ``time`` as a 1-D float array, rejecting NaN, infinite or negative values."""
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers, got {type(time).__name__} that cannot be read as numbers") from exc
    if t.ndim != 1:
        raise ValueError(f"{name}: expected a 1-dimensional array, got shape {t.shape}")
    bad = ~np.isfinite(t)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: row {i} is {float(t[i])!r}; expected a finite number")
    neg = t < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise ValueError(f"{name}: row {i} is {float(t[i])!r}; expected a value >= 0")
    return t


def as_event(event: Any, n: int, name: str = "event") -> np.ndarray:
    """Return ``event`` as a 1-D float array of 0/1 of length ``n``."""
    try:
        e = np.asarray(event, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected 0/1 values, got {type(event).__name__} that cannot be read as numbers") from exc
    if e.ndim != 1:
        raise ValueError(f"{name}: expected a 1-dimensional array, got shape {e.shape}")
    if e.shape[0] != n:
        raise ValueError(f"{name}: length {e.shape[0]} differs from time's length {n}")
    bad = ~((e == 0) | (e == 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: row {i} is {float(e[i])!r}; expected 0 (censored) or 1 (event)")
    return e


def as_labels(values: Any, n: int, name: str) -> np.ndarray:
    """Return group or stratum labels as a 1-D array of length ``n`` with no missing values."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-dimensional array, got shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"{name}: length {a.shape[0]} differs from time's length {n}")
    missing = _missing_mask(a)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(f"{name}: row {i} is missing; expected a label")
    return a


def _missing_mask(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return np.isnan(a)
    if a.dtype.kind == "O":
        return np.asarray(pd.isna(a), dtype=bool)  # None, NaN, pd.NA, NaT; vectorized
    return np.zeros(a.shape[0], dtype=bool)


def check_option(value: str, allowed: Iterable[str], name: str) -> str:
    """Reject an option outside ``allowed``, listing the choices."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(repr(a) for a in allowed)}")
    return value


def check_conf_level(conf_level: float) -> float:
    """Confidence level must lie strictly between 0 and 1."""
    try:
        c = float(conf_level)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"conf_level: expected a number between 0 and 1, got {conf_level!r}") from exc
    if not 0.0 < c < 1.0:
        raise ValueError(f"conf_level: {conf_level!r} must be strictly between 0 and 1")
    return c
