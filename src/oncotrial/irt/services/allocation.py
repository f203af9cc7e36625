"""Randomizing a subject, correcting a randomization, and reading randomizations back.

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
audit link included (:func:`allocate_in_one_call`). Minimization stays in Python.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from oncotrial.irt import audit
from oncotrial.irt.db.committer import GroupCommitter
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import AllocationRow, Correction, Randomization, Site, User
from oncotrial.irt.db.raw import Raw
from oncotrial.irt.security import ts
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid, NotFound
from oncotrial.irt.services.setup import RANDOMIZATION_COUNTER
from oncotrial.irt.services.trial import Trial
from oncotrial.randomization import Minimization, Stratum, balance_report


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough to authorize and to sign the audit trail."""

    id: int
    name: str
    role: str
    site_id: int | None
    site: str | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"


@dataclass(frozen=True)
class RandomizationRequest:
    subject_id: str
    site: str
    strata: Mapping[str, str]
    eligibility_confirmed: bool

    def fingerprint(self) -> str:
        body = {"subject_id": self.subject_id, "site": self.site, "strata": dict(self.strata),
                "eligibility_confirmed": self.eligibility_confirmed}
        return hashlib.sha256(audit.canonical(body).encode()).hexdigest()


def usubjid(study_id: str, subject_id: str) -> str:
    """USUBJID as ``STUDYID-SUBJID``: subject ids are unique across the trial."""
    return f"{study_id}-{subject_id}"


def _advisory_key(stratum: str) -> int:
    return int.from_bytes(hashlib.sha256(b"oncotrial-irt:" + stratum.encode()).digest()[:8], "big", signed=True)


_RECORD_COLUMNS = (Randomization.id, Randomization.randomization_number, Randomization.subject_id,
                   Site.code.label("site"), Randomization.arm, Randomization.stratum,
                   Randomization.strata_randomized, Randomization.strata_verified,
                   Randomization.randomized_at, User.name.label("randomized_by"), Randomization.site_id)


def _record_query():  # noqa: ANN202
    return (select(*_RECORD_COLUMNS).join(Site, Site.id == Randomization.site_id)
            .join(User, User.id == Randomization.randomized_by))


def to_record(trial: Trial, row: Any) -> dict[str, Any]:
    """The public form of a randomization (as returned by the API)."""
    arm = trial.arm(row.arm)
    return {
        "randomization_number": row.randomization_number,
        "subject_id": row.subject_id,
        "usubjid": usubjid(trial.study_id, row.subject_id),
        "site": row.site,
        "arm": arm.code,
        "arm_name": arm.name,
        "stratum": row.stratum,
        "strata": json.loads(row.strata_randomized),
        "strata_verified": json.loads(row.strata_verified),
        "randomized_at": row.randomized_at,
        "randomized_by": row.randomized_by,
    }


def prepare(trial: Trial, actor: Actor, req: RandomizationRequest) -> tuple[str, str]:
    """Check who may randomize what; return (stratum key, request fingerprint). Writes nothing."""
    if actor.role != "site_coordinator":
        raise Forbidden(f"role {actor.role} cannot randomize; only a site_coordinator can")
    if req.site != actor.site:
        raise Forbidden(f"site: {req.site!r} is not your site; you randomize at {actor.site!r} only")
    if req.eligibility_confirmed is not True:
        raise Invalid("eligibility_confirmed: must be true; a subject is randomized only after eligibility is confirmed")
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
            return work(conn, *args)
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
        _raise_if_subject_exists(conn, req.subject_id)
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
    row = conn.execute(_record_query().where(Randomization.id == randomization_id)).one()
    return to_record(trial, row)


def _raise_if_subject_exists(conn: Connection, subject_id: str) -> None:
    number = conn.execute(select(Randomization.randomization_number)
                          .where(Randomization.subject_id == subject_id)).scalar_one_or_none()
    if number is not None:
        raise Conflict(f"subject_id: {subject_id!r} is already randomized (randomization number {number}); "
                       "a randomization is never repeated")


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
    return {
        "randomization_number": number, "subject_id": req.subject_id,
        "usubjid": usubjid(trial.study_id, req.subject_id), "site": req.site,
        "arm": arm, "arm_name": trial.arm(arm).name, "stratum": stratum,
        "strata": strata, "strata_verified": dict(strata), "randomized_at": now, "randomized_by": actor.name,
    }


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
    now = ts()
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
    now = ts()
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


def visible_site_filter(actor: Actor):  # noqa: ANN201
    """A site coordinator sees their own site only; other reading roles see all sites."""
    if actor.role == "site_coordinator":
        return Randomization.site_id == actor.site_id
    return None


def get_randomization(conn: Connection, trial: Trial, actor: Actor, subject_id: str) -> dict[str, Any]:
    row = conn.execute(_record_query().where(Randomization.subject_id == subject_id)).one_or_none()
    # Another site's subject answers exactly like a missing one: a coordinator must not
    # learn which subject ids exist elsewhere.
    if row is None or (actor.role == "site_coordinator" and row.site_id != actor.site_id):
        raise NotFound(f"subject_id: no randomization of {subject_id!r} at your site"
                       if actor.role == "site_coordinator" else f"subject_id: {subject_id!r} is not randomized")
    record = to_record(trial, row)
    record["corrections"] = list_corrections(conn, row.id)
    return record


def list_randomizations(conn: Connection, trial: Trial, actor: Actor, *, site: str | None = None,
                        limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    q = _record_query()
    own = visible_site_filter(actor)
    if own is not None:
        q = q.where(own)
    if site is not None:
        q = q.where(Site.code == site)
    rows = conn.execute(q.order_by(Randomization.randomization_number).limit(limit).offset(offset)).all()
    return [to_record(trial, r) for r in rows]


def list_corrections(conn: Connection, randomization_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(Correction.field, Correction.old_value, Correction.new_value, Correction.reason,
                               Correction.corrected_at, User.name)
                        .join(User, User.id == Correction.corrected_by)
                        .where(Correction.randomization_id == randomization_id).order_by(Correction.id)).all()
    return [{"field": r.field, "old": json.loads(r.old_value), "new": json.loads(r.new_value), "reason": r.reason,
             "corrected_at": r.corrected_at, "corrected_by": r.name} for r in rows]


def correct_strata(engine: Engine, trial: Trial, actor: Actor, subject_id: str, strata_verified: Mapping[str, str],
                   reason: str) -> dict[str, Any]:
    """Record the verified strata of a subject (CDISC STRATwV) with a reason.

    The arm, the randomization number and the strata as randomized never change; a
    stratification error is documented, not undone. Partial mappings update only the
    factors given.
    """
    if actor.role not in ("site_coordinator", "statistician"):
        raise Forbidden(f"role {actor.role} cannot correct a randomization")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: required; a correction without a reason is not accepted")
    if not strata_verified:
        raise Invalid("strata_verified: give at least one factor with its verified level")
    with write_tx(engine) as conn:
        row = conn.execute(select(Randomization.id, Randomization.site_id, Randomization.strata_verified)
                           .where(Randomization.subject_id == subject_id).with_for_update()).one_or_none()
        if row is None or (actor.role == "site_coordinator" and row.site_id != actor.site_id):
            raise NotFound(f"subject_id: {subject_id!r} is not randomized" +
                           (" at your site" if actor.role == "site_coordinator" else ""))
        old = json.loads(row.strata_verified)
        new = {**old, **dict(strata_verified)}
        trial.stratum_of(new)  # every factor still present with a valid level
        if new == old:
            raise Invalid("strata_verified: equals the current verified strata; nothing to correct")
        now = ts()
        new = {name: new[name] for name in trial.factor_names}
        old_text, new_text = json.dumps(old, separators=(",", ":")), json.dumps(new, separators=(",", ":"))
        conn.execute(update(Randomization).where(Randomization.id == row.id).values(strata_verified=new_text))
        conn.execute(insert(Correction).values(randomization_id=row.id, field="strata_verified", old_value=old_text,
                                               new_value=new_text, reason=reason, corrected_at=now,
                                               corrected_by=actor.id))
        audit.append(conn, actor=actor.label, action="correct", entity="randomization", entity_id=subject_id,
                     old={"strata_verified": old}, new={"strata_verified": new}, reason=reason, when=now)
        result = conn.execute(_record_query().where(Randomization.id == row.id)).one()
        record = to_record(trial, result)
        record["corrections"] = list_corrections(conn, row.id)
    return record


def balance(conn: Connection, trial: Trial) -> dict[str, Any]:
    """Arm counts and imbalance overall, by stratum (as randomized) and by factor level, plus
    list use per stratum.

    Counts and imbalance come from :func:`oncotrial.randomization.balance_report`, so the
    imbalance is the range of ``n_arm / ratio_arm`` (0 for a trial split exactly at its
    allocation ratio, e.g. 2:1), the same figure the randomization package reports.
    """
    arms = [a.code for a in trial.arms]
    ratio = [a.ratio for a in trial.arms]
    counts = conn.execute(select(Randomization.stratum, Randomization.arm, func.count())
                          .group_by(Randomization.stratum, Randomization.arm)).all()
    slots = conn.execute(select(AllocationRow.stratum, AllocationRow.assigned, func.count(), func.min(AllocationRow.id))
                         .group_by(AllocationRow.stratum, AllocationRow.assigned)).all()
    first_row: dict[str, int] = {}
    list_use: dict[str, dict[str, int]] = {}
    for stratum, assigned, n, first in slots:
        first_row[stratum] = min(first, first_row.get(stratum, first))
        use = list_use.setdefault(stratum, {"list_used": 0, "list_remaining": 0})
        use["list_used" if assigned else "list_remaining"] += n
    # Strata in list order, then any randomized outside the list (none today; kept visible, not dropped).
    order = sorted(first_row, key=first_row.__getitem__)
    order += sorted({s for s, _, _ in counts} - set(first_row))
    keys: list[str] = []
    assigned_arms: list[str] = []
    for stratum, arm, n in counts:
        keys.extend([stratum] * n)
        assigned_arms.extend([arm] * n)
    report = balance_report(keys, assigned_arms, arms, ratio, all_strata=order)
    strata = []
    factors: dict[str, dict[str, dict[str, int]]] = {f.name: {c: dict.fromkeys(arms, 0) for c in f.codes}
                                                     for f in trial.factors}
    factor_imbalance: dict[str, dict[str, float]] = {f.name: dict.fromkeys(f.codes, 0.0) for f in trial.factors}
    for row in report.rows:
        by_arm = dict(zip(arms, row.counts))
        if row.scope == "stratum":
            strata.append({"stratum": row.stratum, "levels": Stratum.from_key(row.stratum).as_dict(), "arms": by_arm,
                           **list_use.get(row.stratum, {"list_used": 0, "list_remaining": 0}),
                           "total": sum(row.counts), "imbalance": row.imbalance})
        elif row.scope == "factor":
            factors.setdefault(row.factor, {})[row.level] = by_arm
            factor_imbalance.setdefault(row.factor, {})[row.level] = row.imbalance
        else:
            overall = by_arm
    return {"study_id": trial.study_id, "total": sum(overall.values()), "arms": overall, "ratio": dict(zip(arms, ratio)),
            "strata": strata, "factors": factors, "factor_imbalance": factor_imbalance, **{
                k: v for k, v in report.to_dict().items() if k.endswith("imbalance")}}


def verify_records(conn: Connection) -> list[str]:
    """Check the randomization table against the audit trail: every randomization has
    its ``randomize`` link with the same number, arm and strata, and its verified strata
    equal the last correction recorded in the trail. Catches edits made around the API."""
    from oncotrial.irt.db.models import AuditEntry

    expected: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.new)
                          .where(AuditEntry.entity == "randomization").order_by(AuditEntry.seq)):
        new = json.loads(r.new)
        if r.action == "randomize":
            expected[r.entity_id] = {"number": new["randomization_number"], "arm": new["arm"],
                                     "strata": new["strata"], "verified": new["strata"]}
        elif r.action == "correct" and r.entity_id in expected:
            expected[r.entity_id]["verified"] = new["strata_verified"]
    problems = []
    seen = set()
    for r in conn.execute(select(Randomization.subject_id, Randomization.randomization_number, Randomization.arm,
                                 Randomization.strata_randomized, Randomization.strata_verified)):
        seen.add(r.subject_id)
        e = expected.get(r.subject_id)
        if e is None:
            problems.append(f"randomization of {r.subject_id!r} has no audit record")
        elif (r.randomization_number, r.arm, json.loads(r.strata_randomized), json.loads(r.strata_verified)) != (
                e["number"], e["arm"], e["strata"], e["verified"]):
            problems.append(f"randomization of {r.subject_id!r} differs from its audit record")
    for missing in sorted(set(expected) - seen):
        problems.append(f"randomization of {missing!r} is in the audit trail but not in the database")
    return problems
