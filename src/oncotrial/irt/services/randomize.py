"""Randomizing a subject: the allocating transaction.

One randomization is ONE transaction (or one savepoint of a group commit, see
:mod:`oncotrial.irt.db.committer`) holding: the consumed allocation-list row, the next
randomization number, the randomization itself, its audit link and the idempotency
record. Either all of them are durable or none is.

Serialization. PostgreSQL: the counter row (``UPDATE ... RETURNING``, a row lock), then a
transaction-scoped advisory lock on the stratum, then ``SELECT ... FOR UPDATE`` of the
stratum's next unassigned list row (the advisory lock first, because ``FOR UPDATE ...
LIMIT 1`` alone can return no row to a waiter whose candidate was just taken), then the
audit head; always in this order, so two writers can never deadlock. SQLite: the whole
transaction runs under ``BEGIN IMMEDIATE`` (see :mod:`oncotrial.irt.db.engine`).

On PostgreSQL a list-based randomization is one round trip: the database function
``irt_randomize`` (migration 0002) runs the same statements in the same order, hash of the
audit link included (:func:`allocate_in_one_call`). Minimization stays in Python."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from oncotrial.irt import audit
from oncotrial.irt.db.committer import GroupCommitter
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import Randomization
from oncotrial.irt.db.raw import Raw
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor, RandomizationRequest, usubjid
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid
from oncotrial.irt.services.records import masked_for, record_query, to_record
from oncotrial.irt.services.setup import RANDOMIZATION_COUNTER
from oncotrial.irt.services.trial import Trial
from oncotrial.irt.services.unblinding import subject_unblinders
from oncotrial.randomization import Minimization


def _advisory_key(stratum: str) -> int:
    return int.from_bytes(hashlib.sha256(b"oncotrial-irt:" + stratum.encode()).digest()[:8], "big", signed=True)

def prepare(trial: Trial, actor: Actor, req: RandomizationRequest) -> tuple[str, str]:
    """Check who may randomize what; return (stratum key, request fingerprint). Writes nothing."""
    if actor.role != "site_coordinator":
        raise Forbidden(f"role {actor.role} cannot randomize; only a site_coordinator can")
    if req.site != actor.site:
        raise Forbidden(f"site: {req.site!r} is not your site; you randomize at {actor.site!r} only")
    if req.eligibility_confirmed is not True:
        raise Invalid("eligibility_confirmed: must be true; a subject is randomized only after eligibility is confirmed")
    if req.randomized_at is not None and not trial.rehearsal:
        raise Invalid("randomized_at: only a rehearsal database (oncotrial rehearse) takes a randomization time; "
                      "a trial's randomizations are stamped by the service's clock")
    return trial.stratum_of(req.strata), req.fingerprint()

def randomize(engine: Engine, trial: Trial, actor: Actor, req: RandomizationRequest,
              idempotency_key: str | None = None, committer: GroupCommitter | None = None) -> tuple[dict[str, Any], bool]:
    """Randomize one subject; returns (record, replayed). ``replayed`` is True when the
    Idempotency-Key had already produced this randomization (nothing new is written).
    With a ``committer`` the transaction is shared with concurrent randomizations."""
    stratum, fingerprint = prepare(trial, actor, req)
    args = (trial, actor, req, stratum, fingerprint, idempotency_key)
    work = allocation_work(engine, trial)
    try:
        if committer is not None:
            return committer.submit(work, *args).result()
        with write_tx(engine) as conn:
            result = work(conn, *args)
            audit.seal_head(conn)  # the database function moved the head without the key
            return result
    except integrity_errors(engine):
        return after_conflict(engine, trial, actor, req, idempotency_key, fingerprint)

async def randomize_async(committer: GroupCommitter, trial: Trial, actor: Actor, req: RandomizationRequest,
                          idempotency_key: str | None = None) -> tuple[dict[str, Any], bool]:
    """:func:`randomize` for the event loop: waits for the group commit without holding a thread."""
    stratum, fingerprint = prepare(trial, actor, req)
    engine = committer.engine
    try:
        return await committer.run(allocation_work(engine, trial), trial, actor, req, stratum, fingerprint,
                                   idempotency_key)
    except integrity_errors(engine):
        return await run_in_threadpool(after_conflict, engine, trial, actor, req, idempotency_key, fingerprint)

def integrity_errors(engine: Engine) -> tuple[type[Exception], ...]:
    # The allocating statements run on the DB-API cursor, so the driver's own class arrives too.
    return (IntegrityError, engine.dialect.loaded_dbapi.IntegrityError)

def after_conflict(engine: Engine, trial: Trial, actor: Actor, req: RandomizationRequest, key: str | None,
                   fingerprint: str) -> tuple[dict[str, Any], bool]:
    """A concurrent request won a unique constraint (same subject or same key) and this
    attempt was rolled back: answer from what was committed."""
    with engine.connect() as conn:
        replay = _replay(conn, trial, actor, key, fingerprint)
        if replay is not None:
            return replay, True
        _raise_if_subject_exists(conn, actor, req.subject_id)
    raise Conflict(f"subject_id: {req.subject_id!r} conflicts with a concurrent request; retry")

_FIND_KEY = "SELECT request_hash, randomization_id FROM idempotency_keys WHERE user_id = :user_id AND key = :key"

def _replay(conn: Connection, trial: Trial, actor: Actor, key: str | None, fingerprint: str) -> dict[str, Any] | None:
    if key is None:
        return None
    found = Raw(conn).one_or_none(_FIND_KEY, {"user_id": actor.id, "key": key})
    if found is None:
        return None
    request_hash, randomization_id = found
    if request_hash != fingerprint:
        raise Conflict("Idempotency-Key: already used for a different request; use a new key for a new subject")
    row = conn.execute(record_query().where(Randomization.id == randomization_id)).one()
    return to_record(trial, row, actor, subject_unblinders(conn, trial, row.subject_id))

def _raise_if_subject_exists(conn: Connection, actor: Actor, subject_id: str) -> None:
    row = conn.execute(select(Randomization.subject_id, Randomization.randomization_number, Randomization.site_id)
                       .where(func.lower(Randomization.subject_id) == subject_id.lower())).one_or_none()
    if row is None:
        return
    if row.site_id != actor.site_id:
        # Another site's subject: refuse without saying that it exists, nor its number.
        raise Conflict(f"subject_id: {subject_id!r} cannot be used; choose another subject id "
                       "(subject ids are unique across the trial, whatever their case)")
    same = "" if row.subject_id == subject_id else f" as {row.subject_id!r}"
    raise Conflict(f"subject_id: {subject_id!r} is already randomized{same} (randomization number "
                   f"{row.randomization_number}); a randomization is never repeated")


_TAKE_SLOT = ("UPDATE allocation_list SET assigned = TRUE WHERE id = ("
              "SELECT id FROM allocation_list WHERE stratum = :stratum AND assigned = FALSE "
              "ORDER BY sequence LIMIT 1{lock}) RETURNING id, sequence, arm")

_NEXT_NUMBER = f"UPDATE counters SET value = value + 1 WHERE name = '{RANDOMIZATION_COUNTER}' RETURNING value"

_INSERT_RANDOMIZATION = (
    "INSERT INTO randomizations (randomization_number, subject_id, site_id, arm, stratum, strata_randomized, "
    "strata_verified, allocation_id, eligibility_confirmed, randomized_at, randomized_by) VALUES (:number, "
    ":subject_id, :site_id, :arm, :stratum, :strata, :strata, :allocation_id, TRUE, :now, :user_id) RETURNING id")

_INSERT_KEY = ("INSERT INTO idempotency_keys (user_id, key, request_hash, randomization_id, created_at) "
               "VALUES (:user_id, :key, :request_hash, :randomization_id, :now)")

def _record(trial: Trial, number: int, req: RandomizationRequest, arm: str, stratum: str, strata: dict[str, str],
            now: str, actor: Actor) -> dict[str, Any]:
    return masked_for(trial, actor, {
        "randomization_number": number, "subject_id": req.subject_id,
        "usubjid": usubjid(trial.study_id, req.subject_id), "site": req.site,
        "arm": arm, "arm_name": trial.arm(arm).name, "stratum": stratum,
        "strata": strata, "strata_verified": dict(strata), "randomized_at": now, "randomized_by": actor.name,
    })

def allocate(conn: Connection, trial: Trial, actor: Actor, req: RandomizationRequest, stratum: str,
             fingerprint: str, key: str | None) -> tuple[dict[str, Any], bool]:
    """The randomization's writes, in the caller's transaction (see the module docstring)."""
    raw = Raw(conn)
    replay = _replay(conn, trial, actor, key, fingerprint)
    if replay is not None:
        return replay, True
    # Locks in one order everywhere, so no two writers (threads or server processes) can
    # deadlock: the number counter row (global), the stratum, its next list row, the
    # audit head.
    (number,) = raw.one(_NEXT_NUMBER)
    if raw.postgres:
        raw.execute("SELECT pg_advisory_xact_lock(:k)", {"k": _advisory_key(stratum)})
    strata = {name: req.strata[name] for name in trial.factor_names}  # protocol order, as STRAT1..n
    # A subject randomized before is caught by the unique subject_id when the row is
    # inserted (the whole transaction then rolls back): no extra read on the hot path.
    if trial.uses_list:
        slot = raw.one_or_none(_TAKE_SLOT.format(lock=raw.for_update()), {"stratum": stratum})
        if slot is None:
            raise Conflict(f"strata: the allocation list of stratum {stratum!r} is used up; "
                           "ask the trial statistician to extend it")
        slot_id, sequence, arm = slot
    else:
        slot_id, sequence, arm = _minimize(raw, trial, stratum, strata)
    now = req.randomized_at or ts()
    (rid,) = raw.one(_INSERT_RANDOMIZATION, {
        "number": number, "subject_id": req.subject_id, "site_id": actor.site_id, "arm": arm,
        "stratum": stratum, "strata": json.dumps(strata, separators=(",", ":")), "allocation_id": slot_id,
        "now": now, "user_id": actor.id})
    audit.append(raw, actor=actor.label, action="randomize", entity="randomization",
                 entity_id=req.subject_id, when=now,
                 new={"randomization_number": number, "site": req.site, "arm": arm, "stratum": stratum,
                      "strata": strata, "list_sequence": sequence, "idempotency_key": key})
    if key is not None:
        raw.execute(_INSERT_KEY, {"user_id": actor.id, "key": key, "request_hash": fingerprint,
                                  "randomization_id": rid, "now": now})
    return _record(trial, number, req, arm, stratum, strata, now, actor), False

_RANDOMIZE_IN_ONE_CALL = (
    "SELECT r_outcome, r_number, r_arm, r_sqlstate, r_message FROM irt_randomize(CAST(:user_id AS integer), "
    "CAST(:key AS text), :request_hash, :subject_id, CAST(:site_id AS integer), :stratum, :strata, :now, "
    "CAST(:stratum_lock AS bigint), :actor, :new_middle, :new_tail)")

def allocation_work(engine: Engine, trial: Trial):  # noqa: ANN201
    """The function that writes one randomization: on PostgreSQL with a list-based method,
    one call of the ``irt_randomize`` database function (migration 0002); otherwise
    :func:`allocate`, statement by statement."""
    if engine.dialect.name == "postgresql" and trial.uses_list:
        return allocate_in_one_call
    return allocate

def allocate_in_one_call(conn: Connection, trial: Trial, actor: Actor, req: RandomizationRequest, stratum: str,
                         fingerprint: str, key: str | None) -> tuple[dict[str, Any], bool]:
    """:func:`allocate` in ONE round trip (PostgreSQL, list-based methods): the same
    statements and lock order, run by ``irt_randomize`` in the caller's transaction.

    The function computes the audit link's hash itself; the parts of the link's ``new``
    document that do not come from the database are built here with :func:`audit.canonical`,
    in its sorted key order (arm, idempotency_key, list_sequence, randomization_number,
    site, strata, stratum), and the function inserts arm, sequence and number between them.
    """
    raw = Raw(conn)
    strata = {name: req.strata[name] for name in trial.factor_names}  # protocol order, as STRAT1..n
    now = req.randomized_at or ts()
    outcome, number, arm, sqlstate, message = raw.one(_RANDOMIZE_IN_ONE_CALL, {
        "user_id": actor.id, "key": key, "request_hash": fingerprint, "subject_id": req.subject_id,
        "site_id": actor.site_id, "stratum": stratum, "strata": json.dumps(strata, separators=(",", ":")),
        "now": now, "stratum_lock": _advisory_key(stratum), "actor": actor.label,
        "new_middle": f',"idempotency_key":{audit.canonical(key)},"list_sequence":',
        "new_tail": (f',"site":{audit.canonical(req.site)},"strata":{audit.canonical(strata)},'
                     f'"stratum":{audit.canonical(stratum)}}}')})
    if outcome == "randomized":
        return _record(trial, number, req, arm, stratum, strata, now, actor), False
    if outcome in ("replay", "key_reused"):
        replay = _replay(conn, trial, actor, key, fingerprint)  # raises Conflict for a reused key
        if replay is None:
            raise LookupError(f"Idempotency-Key: {key!r} was found by irt_randomize but not read back")
        return replay, True
    if outcome == "used_up":
        raise Conflict(f"strata: the allocation list of stratum {stratum!r} is used up; "
                       "ask the trial statistician to extend it")
    # A caught database error (e.g. the unique subject_id): the function has rolled its
    # writes back; raise the driver's own class so callers handle it as before.
    import psycopg.errors

    try:
        error_class = psycopg.errors.lookup(sqlstate)
    except KeyError:
        error_class = psycopg.errors.DatabaseError
    raise error_class(f"{message} (SQLSTATE {sqlstate}, in irt_randomize)")

allocate_in_one_call.isolates_itself = True  # type: ignore[attr-defined]

def _minimize(raw: Raw, trial: Trial, stratum: str, strata: dict[str, str]) -> tuple[int, int, str]:
    """Pocock-Simon minimization: the arm from everyone randomized before (the caller holds
    the counter lock, so the history cannot change underneath), recorded as an assigned
    list row so every randomization still consumes exactly one row of ``allocation_list``."""
    history = [(json.loads(text), arm) for text, arm in raw.execute(
        "SELECT strata_randomized, arm FROM randomizations ORDER BY randomization_number").fetchall()]
    arm = Minimization(trial.strata_levels, [a.code for a in trial.arms], [a.ratio for a in trial.arms],
                       p_best=trial.p_best, seed=trial.seed).assign(strata, history)
    (sequence,) = raw.one("SELECT COUNT(*) + 1 FROM allocation_list WHERE stratum = :stratum", {"stratum": stratum})
    (slot_id,) = raw.one("INSERT INTO allocation_list (stratum, sequence, block, block_size, arm, assigned) "
                         "VALUES (:stratum, :sequence, 0, 0, :arm, TRUE) RETURNING id",
                         {"stratum": stratum, "sequence": sequence, "arm": arm})
    return slot_id, sequence, arm
