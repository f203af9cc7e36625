"""Argument checks shared by the derivations (they run before any computation)."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd


def require(df: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    """ValueError unless ``df`` (dataset ``name``) is a DataFrame holding ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: required variable(s) {', '.join(missing)} missing "
                         f"(present: {', '.join(map(str, df.columns))})")


def one_per_subject(df: pd.DataFrame, name: str, key: str = "USUBJID") -> None:
    """ValueError naming the first row that repeats a subject."""
    dup = df[key].duplicated().to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        raise ValueError(f"{name} row {r + 1}: {key} {df[key].iloc[r]!r} appears more than once; "
                         "expected one row per subject")


def positive(value: float | int | None, name: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a non-negative number, got {value!r}")


def as_date(series: pd.Series, name: str, variable: str) -> pd.Series:
    """A date column as datetime64 (ISO strings accepted); bad values name the row."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[ns]").dt.normalize()
    conv = pd.to_datetime(series, errors="coerce", format="ISO8601")
    bad = np.flatnonzero((series.notna() & conv.isna()).to_numpy())
    if len(bad):
        r = int(bad[0])
        raise ValueError(f"{name} row {r + 1}: {variable} {series.iloc[r]!r} is not a date")
    return conv.astype("datetime64[ns]").dt.normalize()


def upper(series: pd.Series) -> pd.Series:
    """Upper-cased, stripped strings (NA kept); each distinct value is processed once."""
    codes, uniques = pd.factorize(series.astype("string"), use_na_sentinel=True)
    up = np.array([str(u).strip().upper() for u in uniques], dtype=object)
    out = np.full(len(series), np.nan, dtype=object)
    ok = codes >= 0
    out[ok] = up[codes[ok]]
    return pd.Series(out, index=series.index, dtype=object)
