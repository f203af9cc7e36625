"""Hostile and malformed requests: each gets a 4xx whose message names the problem,
and nothing is written (randomizations and audit trail unchanged)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.models import AuditEntry, IdempotencyKey, Randomization
from oncotrial.irt.services.setup import issue_token

from .conftest import STRATA, auth, body

URL = "/api/v1/randomizations"


def _state(db_url: str) -> tuple[int, int, int]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        out = tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (Randomization, AuditEntry, IdempotencyKey))
    engine.dispose()
    return out  # type: ignore[return-value]


BAD_BODIES = [
    # (case, body, expected status, words the message must contain)
    ("subject_id wrong type", body(subject_id=7), 422, ["subject_id", "string"]),
    ("eligibility as string", body(eligibility_confirmed="yes"), 422, ["eligibility_confirmed", "boolean"]),
    ("eligibility false", body(eligibility_confirmed=False), 422, ["eligibility_confirmed", "true"]),
    ("strata as list", body(strata=["CR_PR"]), 422, ["strata", "dictionary"]),
    ("strata level as number", body(strata={**STRATA, "induction_response": 1}), 422,
     ["strata.induction_response", "string"]),
    ("unknown factor", body(strata={**STRATA, "ecog": "0"}), 422, ["strata.ecog", "not a stratification factor"]),
    ("unknown level", body(strata={**STRATA, "her2_blockade": "TRIPLE"}), 422,
     ["strata.her2_blockade", "'TRIPLE'", "DUAL"]),
    ("missing factor", body(strata={k: v for k, v in STRATA.items() if k != "prior_antiher2"}), 422,
     ["strata.prior_antiher2", "missing"]),
    ("missing subject_id", {k: v for k, v in body().items() if k != "subject_id"}, 422, ["subject_id", "missing"]),
    ("missing strata", {k: v for k, v in body().items() if k != "strata"}, 422, ["strata", "missing"]),
    ("missing eligibility", {k: v for k, v in body().items() if k != "eligibility_confirmed"}, 422,
     ["eligibility_confirmed", "missing"]),
    ("extra field", body(arm="A"), 422, ["arm", "unknown field"]),
    ("SQL injection in subject_id", body(subject_id="P1'; DROP TABLE randomizations;--"), 422,
     ["subject_id", "pattern"]),
    ("SQL injection in site", body(site="S01' OR '1'='1"), 422, ["site", "pattern"]),
    ("script in level", body(strata={**STRATA, "endocrine_therapy": "<script>alert(1)</script>"}), 422,
     ["strata.endocrine_therapy"]),
    ("subject_id too long", body(subject_id="P" * 65), 422, ["subject_id", "64"]),
    ("empty subject_id", body(subject_id=""), 422, ["subject_id"]),
    ("top-level array", [body()], 422, ["body", "dictionary"]),
    ("null body", None, 422, ["body"]),
    ("another site", body(site="S02"), 403, ["site", "S02", "not your site"]),
]


@pytest.mark.parametrize("case,payload,status,words", BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_is_refused_and_nothing_written(client, trial, case, payload, status, words):
    before = _state(trial.db_url)
    r = client.post(URL, content=json.dumps(payload), headers={**auth(trial.tokens["S01"]),
                                                               "Content-Type": "application/json",
                                                               "Idempotency-Key": "k1"})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    for w in words:
        assert w in detail, (case, detail)
    assert _state(trial.db_url) == before
    # The same key still works afterwards: a refused request does not burn it.
    ok = client.post(URL, json=body(), headers={**auth(trial.tokens["S01"]), "Idempotency-Key": "k1"})
    assert ok.status_code == 201


def test_not_json_and_oversized(client, trial):
    before = _state(trial.db_url)
    r = client.post(URL, content=b"{not json", headers={**auth(trial.tokens["S01"]),
                                                       "Content-Type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
    huge = body(subject_id="P1")
    huge["padding"] = "x" * 200_000
    r = client.post(URL, json=huge, headers=auth(trial.tokens["S01"]))
    assert r.status_code == 413 and "body" in r.json()["detail"]

    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    r = client.post(URL, content=chunks(), headers={**auth(trial.tokens["S01"]), "Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post(URL, json=body(), headers={**auth(trial.tokens["S01"]), "Idempotency-Key": "has space"})
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    r = client.post(URL, json=body(), headers={**auth(trial.tokens["S01"]), "Idempotency-Key": "k" * 201})
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert _state(trial.db_url) == before


def test_bad_credentials(client, trial):
    from oncotrial.irt.db.engine import make_engine as _mk

    engine = _mk(trial.db_url)
    expired = issue_token(engine, "coord01", expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    engine.dispose()
    before = _state(trial.db_url)
    cases = [
        ({}, 401, "missing"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, 401, "Bearer"),
        ({"Authorization": "Bearer "}, 401, "Bearer"),
        ({"Authorization": "Bearer ot_not-a-real-token"}, 401, "unknown token"),
        ({"Authorization": "Bearer " + trial.tokens["S01"][:-1]}, 401, "unknown token"),
        ({"Authorization": f"Bearer {expired}"}, 401, "expired"),
        (auth(trial.tokens["S02"]), 403, "not your site"),
        (auth(trial.statistician), 403, "site_coordinator"),
    ]
    for headers, status, word in cases:
        r = client.post(URL, json=body(), headers=headers)
        assert r.status_code == status, (headers, r.text)
        assert word in r.json()["detail"], (headers, r.json())
    assert _state(trial.db_url) == before


def test_hostile_corrections(client, trial):
    client.post(URL, json=body("P001"), headers=auth(trial.tokens["S01"]))
    before = _state(trial.db_url)
    url = f"{URL}/P001/corrections"
    cases = [
        ({"strata_verified": {"prior_antiher2": "YES"}}, 422, "reason"),
        ({"strata_verified": {}, "reason": "x"}, 422, "strata_verified"),
        ({"strata_verified": {"bogus": "YES"}, "reason": "x"}, 422, "strata.bogus"),
        ({"strata_verified": STRATA, "reason": "x"}, 422, "nothing to correct"),
        ({"strata_verified": {"prior_antiher2": "YES"}, "reason": "x", "arm": "A"}, 422, "arm"),
    ]
    for payload, status, word in cases:
        r = client.post(url, json=payload, headers=auth(trial.tokens["S01"]))
        assert r.status_code == status and word in r.json()["detail"], r.text
    r = client.post(url, json={"strata_verified": {"prior_antiher2": "YES"}, "reason": "x"},
                    headers=auth(trial.tokens["S02"]))
    assert r.status_code == 404
    r = client.post(f"{URL}/NOBODY/corrections", json={"strata_verified": {"prior_antiher2": "YES"}, "reason": "x"},
                    headers=auth(trial.statistician))
    assert r.status_code == 404 and "NOBODY" in r.json()["detail"]
    assert _state(trial.db_url) == before
