"""Fixtures of the simulation tests: the bundled PATINA protocol, a small made-up one, one reconstruction each."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncotrial.protocol import load_protocol

MINI = Path(__file__).resolve().parent / "data" / "mini.toml"


@pytest.fixture(scope="session")
def patina():
    return load_protocol("patina")


@pytest.fixture(scope="session")
def mini():
    return load_protocol(MINI)


@pytest.fixture(scope="session")
def patina_reconstruction(patina):
    from oncotrial.sim import reconstruct

    return reconstruct(patina, seed=0)


@pytest.fixture(scope="session")
def mini_reconstruction(mini):
    from oncotrial.sim import reconstruct

    return reconstruct(mini, seed=0)


@pytest.fixture(scope="session")
def colon_reconstruction():
    from oncotrial.sim import reconstruct

    return reconstruct("colon", seed=0)
