"""Fixtures for the randomization service: real SQLite files and, where
ONCOTRIAL_TEST_PG_URL is set, real fresh PostgreSQL databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings, normalize_db_url
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.testing import Fixture, fresh_postgres_database, prepare_trial

PG_ENV = "ONCOTRIAL_TEST_PG_URL"


@pytest.fixture(autouse=True)
def _audit_keys_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL databases' audit keys default to ~/.config; tests (and the servers they
    # start, which inherit the environment) keep theirs in a throw-away folder.
    monkeypatch.setenv("ONCOTRIAL_IRT_KEY_DIR", str(tmp_path_factory.getbasetemp() / "audit-keys"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return normalize_db_url(tmp_path / "irt.sqlite")


@pytest.fixture
def pg_url() -> Iterator[str]:
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"{PG_ENV} is not set (CI sets it; see TEAM.md)")
    with fresh_postgres_database(admin) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def trial(sqlite_url: str) -> Fixture:
    """PATINA initialized in SQLite with sites S01-S03, a coordinator each and a statistician."""
    return prepare_trial(sqlite_url, n_sites=3, per_stratum=40)


@pytest.fixture
def client(trial: Fixture) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_url=trial.db_url))) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# A demography entry (version 1 of DEMOG) that agrees with STRATA.
DEMOG = {"AGE": 51, "SEX": "F", "RACE": "WHITE", "MENOSTAT": "POST", "DENOVO": "N", "VISCMET": "Y",
         "CNSMET": "N", "INDRESP": "PR", "STRAT1V": "CR_PR", "STRAT2V": "NO", "STRAT3V": "AI", "STRAT4V": "DUAL"}
STRATA = {"induction_response": "CR_PR", "prior_antiher2": "NO", "endocrine_therapy": "AI", "her2_blockade": "DUAL"}


def body(subject_id: str = "P001", site: str = "S01", **over: object) -> dict[str, object]:
    b: dict[str, object] = {"subject_id": subject_id, "site": site, "strata": dict(STRATA),
                            "eligibility_confirmed": True}
    b.update(over)
    return b


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a test taking more than a few seconds (load, crash, browser)")


def masked_protocol(folder: Path) -> Path:
    """PATINA as a double-blind trial, written into ``folder``."""
    from importlib import resources

    text = resources.files("oncotrial.protocols").joinpath("patina.toml").read_text()
    assert 'masking = "open label"' in text
    path = folder / "patina_blind.toml"
    path.write_text(text.replace('masking = "open label"', 'masking = "double blind"'))
    return path


def sql_rows(db_url: str, sql: str) -> list:
    """The rows of one read-only SQL statement on the test's database (to look behind the API)."""
    from sqlalchemy import text

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()

