"""The PostgreSQL one-round-trip randomization (``irt_randomize``, migration 0002) against
the statement-by-statement Python path, which SQLite still runs: same requests, same
numbers, arms, list rows and audit documents byte for byte; the hash it computes in SQL
verifies with the Python chain; its refusals leave nothing behind and do not disturb the
other randomizations of a group commit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from oncotrial.irt import audit
from oncotrial.irt.db.committer import GroupCommitter
from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.db.models import AuditEntry, Randomization, Site, User
from oncotrial.irt.testing import prepare_trial
from oncotrial.irt.services import allocation
from oncotrial.irt.services.allocation import Actor, RandomizationRequest, verify_records
from oncotrial.irt.services.errors import Conflict
from oncotrial.irt.services.trial import load_trial

from .conftest import STRATA

# Idempotency keys reach the audit document verbatim: every character class JSON escapes
# differently (quote, backslash, short escapes, other control characters, DEL, non-ASCII,
# U+2028, astral plane) must hash the same in SQL as in Python.
KEYS = ['plain-key', 'quote"inside', 'back\\slash\\u0041', 'tab\tnl\ncr\rbs\bff\f', 'ctl\x01\x1f\x7f',
        'é ü ß 漢字', 'sep\u2028\u2029', 'astral \U0001F600', '{"json":[1,2]}', None]


def _setup(db_url: str, per_stratum: int = 40):  # noqa: ANN202
    prepare_trial(db_url, n_sites=2, per_stratum=per_stratum)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        trial = load_trial(conn)
        row = conn.execute(select(User.id, User.name, User.role, User.site_id, Site.code)
                           .join(Site, Site.id == User.site_id).where(User.name == "coord01")).one()
    return engine, trial, Actor(row.id, row.name, row.role, row.site_id, row.code)


def _strata(i: int) -> dict[str, str]:
    # Alternate between two strata so both lists advance.
    s = dict(STRATA)
    if i % 2:
        s["her2_blockade"] = "SINGLE"
    return s


def _run(db_url: str) -> list[tuple]:
    """The same 10 randomizations (one per key), returned with their audit documents."""
    engine, trial, actor = _setup(db_url)
    answers = []
    for i, key in enumerate(KEYS):
        req = RandomizationRequest(f"P{i:03d}", actor.site, _strata(i), True)
        record, replayed = allocation.randomize(engine, trial, actor, req, key)
        assert not replayed
        answers.append((record["randomization_number"], record["arm"], record["stratum"]))
    with engine.connect() as conn:
        stored = [(r.randomization_number, r.subject_id, r.arm, r.stratum, r.strata_randomized)
                  for r in conn.execute(select(Randomization.__table__).order_by(Randomization.randomization_number))]
        docs = [(r.entity_id, r.old, r.new, r.reason) for r in conn.execute(
            select(AuditEntry.__table__).where(AuditEntry.action == "randomize").order_by(AuditEntry.seq))]
        chain = audit.verify_chain(conn)
        problems = verify_records(conn)
    engine.dispose()
    assert chain.ok, chain.problems
    assert problems == []
    return [answers, stored, docs]


def test_postgres_function_matches_python_path(sqlite_url, pg_url):
    """PostgreSQL (one call of irt_randomize) and SQLite (Python statements), same seed and
    requests: identical randomizations and audit documents, and each chain verifies."""
    pg = _run(pg_url)
    lite = _run(sqlite_url)
    assert pg == lite
    # The documents are the canonical JSON Python would have written for these values.
    for (subject, old, new, reason), key in zip(pg[2], KEYS):
        doc = json.loads(new)
        assert doc["idempotency_key"] == key and subject.startswith("P")
        assert new == audit.canonical(doc) and old == "null" and reason == ""


def test_link_hash_in_sql_is_python_link_hash(pg_url):
    engine, trial, actor = _setup(pg_url)
    req = RandomizationRequest("H001", actor.site, dict(STRATA), True)
    allocation.randomize(engine, trial, actor, req, 'k"\\\n\x01é\U0001F600')
    with engine.connect() as conn:
        link = conn.execute(select(AuditEntry.__table__).where(AuditEntry.entity_id == "H001")).one()
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    engine.dispose()
    expected = audit.link_hash(link.prev_hash, link.seq, link.ts, link.actor, link.action, link.entity,
                               link.entity_id, link.old, link.new, link.reason)
    assert link.hash == expected
    assert (head.seq, head.hash) == (link.seq, link.hash)
    assert link.actor == actor.label and link.ts.endswith("Z")


def test_refusals_leave_nothing_and_spare_the_batch(pg_url):
    """In one group commit: a used-up list, a subject randomized twice and a reused key are
    refused; the randomizations around them commit with numbers 1..n and no gap."""
    engine, trial, actor = _setup(pg_url, per_stratum=4)
    committer = GroupCommitter(engine)
    work = allocation.allocation_work(engine, trial)
    assert work is allocation.allocate_in_one_call
    try:
        futures = []
        for i in range(6):  # one stratum of 4 slots: the 5th and 6th find it used up
            req = RandomizationRequest(f"U{i}", actor.site, dict(STRATA), True)
            stratum, fp = allocation.prepare(trial, actor, req)
            futures.append(committer.submit(work, trial, actor, req, stratum, fp, f"key-{i}"))
        other = RandomizationRequest("V0", actor.site, _strata(1), True)
        stratum, fp = allocation.prepare(trial, actor, other)
        futures.append(committer.submit(work, trial, actor, other, stratum, fp, "key-v0"))
        dup = RandomizationRequest("U0", actor.site, _strata(1), True)  # U0 again, other key
        stratum, fp = allocation.prepare(trial, actor, dup)
        futures.append(committer.submit(work, trial, actor, dup, stratum, fp, "key-dup"))
        reused = RandomizationRequest("W0", actor.site, _strata(1), True)  # key-0 for another subject
        stratum, fp = allocation.prepare(trial, actor, reused)
        futures.append(committer.submit(work, trial, actor, reused, stratum, fp, "key-0"))
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result(timeout=30)[0]["randomization_number"])
            except Exception as exc:  # noqa: BLE001 - each refusal is checked by type below
                outcomes.append(exc)
    finally:
        committer.close()
    assert outcomes[:4] == [1, 2, 3, 4]
    assert all(isinstance(e, Conflict) and "used up" in e.message for e in outcomes[4:6])
    assert outcomes[6] == 5  # no gap: the refused ones took no number
    assert isinstance(outcomes[7], allocation.integrity_errors(engine))
    assert isinstance(outcomes[8], Conflict) and "Idempotency-Key" in outcomes[8].message
    # The API answers a lost unique race from what was committed.
    with pytest.raises(Conflict, match="already randomized"):
        allocation.randomize(engine, trial, actor, dup, "key-dup")
    replay, replayed = allocation.randomize(engine, trial, actor,
                                            RandomizationRequest("U1", actor.site, dict(STRATA), True), "key-1")
    assert replayed and replay["randomization_number"] == 2
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM randomizations")).scalar_one()
        used = conn.execute(text("SELECT count(*) FROM allocation_list WHERE assigned")).scalar_one()
        keys = conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
        counter = conn.execute(text("SELECT value FROM counters WHERE name = 'randomization_number'")).scalar_one()
        links = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'randomize'")).scalar_one()
        chain = audit.verify_chain(conn)
    engine.dispose()
    assert (n, used, keys, counter, links) == (5, 5, 5, 5, 5)
    assert chain.ok, chain.problems
