"""Data-set parametrization for the comparisons with R."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import PHARMAVERSE
from ._ref import ADTTE, SEEDED, dataset


@pytest.fixture(params=SEEDED + ADTTE)
def case(request: pytest.FixtureRequest) -> tuple[str, pd.DataFrame]:
    """(name, data) for every reference data set; ADTTE ones skip where ../shared is absent."""
    name = request.param
    if name in ADTTE:
        if not PHARMAVERSE.is_dir():
            pytest.skip("../shared/data/pharmaverse is not present")
        return name, dataset(name, PHARMAVERSE)
    return name, dataset(name)
