"""/api/v1/balance and the dashboard report imbalance relative to the allocation ratio,
with the same figures as oncotrial.randomization.balance_report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oncotrial.irt.app import create_app
from oncotrial.irt.config import Settings
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.testing import Fixture, prepare_trial
from oncotrial.irt.services.setup import add_user
from oncotrial.protocol import protocol_path
from oncotrial.randomization import balance_report, stratum_key

from .conftest import STRATA, auth, body


@pytest.fixture
def two_to_one(tmp_path: Path, db_url: str) -> Fixture:
    """PATINA with arms A:B = 2:1 and blocks of 3, so every full block is exactly 2:1."""
    text = protocol_path("patina").read_text()
    assert text.count("ratio = 1\n") == 2 and "block_sizes = [2, 4]" in text
    text = text.replace("ratio = 1\n", "ratio = 2\n", 1).replace("block_sizes = [2, 4]", "block_sizes = [3]")
    toml = tmp_path / "patina_2to1.toml"
    toml.write_text(text)
    return prepare_trial(db_url, n_sites=1, protocol=str(toml), per_stratum=12)


def _dashboard(client: TestClient, fixture: Fixture) -> str:
    engine = make_engine(fixture.db_url)
    add_user(engine, "stat_web", "statistician", password="correct horse battery", actor="test")
    engine.dispose()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"name": "stat_web", "password": "correct horse battery", "csrf": csrf},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'id="balance"' in page.text
    return page.text


def test_balanced_two_to_one_trial_shows_no_imbalance(two_to_one):
    other = {**STRATA, "endocrine_therapy": "FULV"}
    with TestClient(create_app(Settings(db_url=two_to_one.db_url))) as client:
        for i in range(9):  # 6 in one stratum, 3 in another: whole blocks only
            r = client.post("/api/v1/randomizations", json=body(f"R{i}", strata=STRATA if i < 6 else other),
                            headers=auth(two_to_one.tokens["S01"]))
            assert r.status_code == 201, r.text
        bal = client.get("/api/v1/balance", headers=auth(two_to_one.statistician)).json()
        page = _dashboard(client, two_to_one)
        items = client.get("/api/v1/randomizations", headers=auth(two_to_one.statistician)).json()["items"]

    used = {s["stratum"]: s for s in bal["strata"] if s["total"]}
    assert sorted((s["arms"]["A"], s["arms"]["B"]) for s in used.values()) == [(2, 1), (4, 2)]
    # The old raw max - min said 2 and 1 here, although the trial is exactly at its ratio.
    assert all(s["imbalance"] == 0 for s in bal["strata"])
    assert bal["arms"] == {"A": 6, "B": 3} and bal["ratio"] == {"A": 2, "B": 1}
    assert bal["max_stratum_imbalance"] == bal["max_marginal_imbalance"] == bal["overall_imbalance"] == 0
    assert all(s["list_used"] == s["total"] and s["list_used"] + s["list_remaining"] == 12 for s in used.values())
    assert used[stratum_key(STRATA, list(STRATA))]["levels"] == STRATA

    # The same figures as the randomization package computes from the subjects themselves.
    names = list(STRATA)
    rep = balance_report([stratum_key(x["strata"], names) for x in items], [x["arm"] for x in items], ["A", "B"], [2, 1])
    assert {r.stratum: r.imbalance for r in rep.rows if r.scope == "stratum"} == {
        k: s["imbalance"] for k, s in used.items()}
    for r in rep.rows:
        if r.scope == "factor":
            assert tuple(bal["factors"][r.factor][r.level].values()) == r.counts
            assert bal["factor_imbalance"][r.factor][r.level] == r.imbalance
    assert bal["factors"]["endocrine_therapy"]["FULV"] == {"A": 2, "B": 1}

    cells = re.findall(r'<td class="imbalance">([^<]*)</td>', page)
    assert len(cells) == len(bal["strata"]) and set(cells) == {"0"}
    assert 'id="max-stratum-imbalance">0<' in page


def test_one_to_one_imbalance_is_the_count_difference(client, trial):
    """1:1 keeps the old meaning (|n_A - n_B|), now as the package's figure."""
    for i in range(3):
        assert client.post("/api/v1/randomizations", json=body(f"P{i}"), headers=auth(trial.tokens["S01"])).status_code == 201
    bal = client.get("/api/v1/balance", headers=auth(trial.statistician)).json()
    (s,) = [s for s in bal["strata"] if s["total"]]
    assert s["imbalance"] == abs(s["arms"]["A"] - s["arms"]["B"]) == bal["overall_imbalance"]
    rows = client.get("/api/v1/allocation-list", headers=auth(trial.statistician)).json()["rows"]
    mine = [r for r in rows if r["stratum"] == s["stratum"]]
    assert s["list_used"] == 3 == sum(r["assigned"] for r in mine) and s["list_remaining"] == len(mine) - 3
    assert len(bal["strata"]) == 16  # every stratum of the list is reported, used or not
