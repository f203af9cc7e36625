"""Shared fixtures: the committed reference data and the optional ../shared material."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
SHARED = ROOT.parent / "shared"
PHARMAVERSE = SHARED / "data" / "pharmaverse"

DATASETS = ["ties", "strata", "onearm", "allcens", "single", "large"]


def load_dataset(name: str) -> pd.DataFrame:
    """One of the seeded validation data sets written by validation/make_datasets.py."""
    return pd.read_csv(REFERENCE / "data" / f"{name}.csv")


@pytest.fixture
def pharmaverse() -> Path:
    """Path to the pharmaverse data; the test is skipped where ../shared is absent."""
    if not PHARMAVERSE.is_dir():
        pytest.skip("../shared/data/pharmaverse is not present")
    return PHARMAVERSE
