"""Reading the R reference values written by validation/*.R (no R needed to run the tests)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.conftest import REFERENCE, load_dataset

RTOL = 1e-6
# absolute slack only for values that are zero in exact arithmetic
ATOL = 1e-12

SEEDED = ["ties", "strata", "onearm", "allcens", "single", "large"]
ADTTE = ["adtte_pfs", "adtte_os"]


@lru_cache(maxsize=None)
def reference(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / f"survival_{name}.json").read_text())


def arr(values: Any) -> np.ndarray:
    """JSON list (null = NA) as a float array; a scalar becomes a 1-element array."""
    if values is None:
        return np.array([np.nan])
    if not isinstance(values, list):
        values = [values]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def close(actual: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, dtype=float)), arr(expected) if not isinstance(expected, np.ndarray) else expected,
                               rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


def dataset(name: str, pharmaverse: Path | None = None) -> pd.DataFrame:
    """Seeded set, or the ADTTE parameter laid out like the seeded sets (as the R script does)."""
    if name in SEEDED:
        d = load_dataset(name)
        d["group"] = d["arm"]
        return d
    assert pharmaverse is not None
    a = pd.read_csv(pharmaverse / "adam" / "adtte_onco.csv")
    a = a[a["PARAMCD"] == name.split("_")[1].upper()]
    return pd.DataFrame({"time": a["AVAL"].to_numpy(float), "event": 1 - a["CNSR"].to_numpy(int),
                         "arm": a["ARM"].to_numpy(), "group": a["ARM"].to_numpy(),
                         "stratum": a["SEX"].to_numpy(), "AGE": a["AGE"].to_numpy(float),
                         "SEX": a["SEX"].to_numpy()})
