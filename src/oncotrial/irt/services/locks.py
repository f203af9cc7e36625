"""Freezing and locking data at three levels: one saved record, a subject's casebook, the database.

A freeze stops every data change while queries, source-data verification and signatures go on
(the data manager's "clean, then sign" step); a lock stops everything, and waits until no query
under it is open or answered. A lock of the database is taken at a data cut-off date. Only an
unfreeze or unlock with a reason lets data change again. The hold itself is read where data are
written (:func:`oncotrial.irt.services.subjects.refuse_if_held`); this module changes holds, one
audit link per change, and checks them against the chain.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from oncotrial.collect import run_edit_checks
from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import DataLock, FormRecordRow, QueryRow, Randomization, Signature, Site, User
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid
from oncotrial.irt.services.queries import UNRESOLVED, sync_queries
from oncotrial.irt.services.subjects import casebook_of, stored_protocol, strongest_hold, subject_row
from oncotrial.irt.services.trial import Trial

LOCKERS = ("data_manager",)
SCOPES = ("database", "casebook", "record")
# action -> (the state it sets, the states it may start from)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "freeze": ("frozen", ("open",)),
    "lock": ("locked", ("open", "frozen")),
    "unfreeze": ("open", ("frozen",)),
    "unlock": ("open", ("locked",)),
}
# The casebook's entity predates the other scopes: its links are named "casebook".
ENTITY = {"database": "database_lock", "casebook": "casebook", "record": "record_lock"}
FIELD = {"database": "database", "casebook": "subject_id", "record": "record"}  # what a refusal names


def _cutoff(scope: str, action: str, cutoff: str | None) -> str | None:
    if cutoff is None or cutoff == "":
        if scope == "database" and action == "lock":
            raise Invalid("cutoff: a database lock needs its data cut-off date (YYYY-MM-DD)")
        return None
    if scope != "database":
        raise Invalid("cutoff: only a database freeze or lock has a data cut-off date")
    if action not in ("freeze", "lock"):
        raise Invalid(f"cutoff: an {action} takes no cut-off date")
    try:
        if len(cutoff) != 10:
            raise ValueError(cutoff)
        return dt.date.fromisoformat(cutoff).isoformat()
    except ValueError:
        raise Invalid(f"cutoff: {cutoff!r} is not a date (YYYY-MM-DD)") from None


def _what(scope: str, target: str) -> str:
    if scope == "database":
        return "the database"
    if scope == "casebook":
        return f"the casebook of {target!r}"
    subject_id, _, record = target.partition("|")
    return f"record {record} of {subject_id!r}"


def _sync_queries_first(engine: Engine, trial: Trial, actor: Actor, subject_ids: list[str]) -> None:
    # Entries saved before queries were stored get theirs first, in a transaction of its own so a
    # refused lock still leaves them for the site to answer.
    with write_tx(engine) as conn:
        protocol = stored_protocol(conn)
        now = ts()
        for sid in subject_ids:
            subj = subject_row(conn, actor, sid, lock=True)
            book, _ = casebook_of(conn, trial, subj, entries=False)
            sync_queries(conn, actor, subj, run_edit_checks(protocol, book), now)


def _pending_queries(conn: Connection, scope: str, randomization_id: int | None, record: str | None) -> list[Any]:
    q = (select(QueryRow.id, QueryRow.check, QueryRow.record, QueryRow.field, Randomization.subject_id)
         .join(Randomization, Randomization.id == QueryRow.randomization_id)
         .where(QueryRow.status.in_(UNRESOLVED)))
    if scope != "database":
        q = q.where(QueryRow.randomization_id == randomization_id)
    if scope == "record":
        q = q.where(QueryRow.record == record)
    return conn.execute(q.order_by(QueryRow.id)).all()


def change_hold(engine: Engine, trial: Trial, actor: Actor, action: str, *, subject_id: str | None = None,
                record: str | None = None, cutoff: str | None = None, reason: str = "") -> dict[str, Any]:
    """Freeze, lock, unfreeze or unlock the database (no ``subject_id``), a casebook (``subject_id``)
    or one saved record (``subject_id`` and ``record``, ``VISIT|FORM|INSTANCE``).

    A lock is refused while a query under it is open or answered; a database lock needs its
    ``cutoff`` date; an unfreeze or unlock needs a reason. Each change is one audit link.

    Example::

        change_hold(engine, trial, dm, "freeze", subject_id="P001", reason="ready for PI signature")
        change_hold(engine, trial, dm, "lock", cutoff="2026-06-30", reason="primary analysis")
    """
    if action not in ACTIONS:
        raise Invalid(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    scope = "database" if subject_id is None else ("casebook" if record is None else "record")
    if record is not None and subject_id is None:
        raise Invalid("subject_id: a record is held within a subject's casebook; name the subject")
    if actor.role not in LOCKERS:
        raise Forbidden(f"role {actor.role} cannot {action} {'the database' if scope == 'database' else 'data'}")
    reason = (reason or "").strip()
    new_state, allowed_from = ACTIONS[action]
    if new_state == "open" and not reason:
        raise Invalid(f"reason: required to {action} {_what(scope, subject_id or '')}"
                      if scope != "record" else f"reason: required to {action} a record")
    cutoff = _cutoff(scope, action, cutoff)
    if action == "lock":
        if subject_id is None:
            with write_tx(engine) as conn:
                subject_ids = list(conn.execute(select(Randomization.subject_id)
                                                .order_by(Randomization.randomization_number)).scalars())
        else:
            subject_ids = [subject_id]
        _sync_queries_first(engine, trial, actor, subject_ids)
    with write_tx(engine) as conn:
        randomization_id = None
        if scope == "database":
            target = ""
            # Every writer holds its subject's row while it checks for holds, so holding them all
            # here makes a save either land before the database hold or see it.
            conn.execute(select(Randomization.id).with_for_update()).all()
        else:
            subj = subject_row(conn, actor, subject_id, lock=True)  # type: ignore[arg-type]
            randomization_id = subj.id
            target = subject_id if scope == "casebook" else f"{subject_id}|{record}"
            if scope == "record" and conn.execute(select(FormRecordRow.id).where(
                    FormRecordRow.randomization_id == subj.id, FormRecordRow.record_key == record)).first() is None:
                raise Invalid(f"record: {subject_id!r} has no saved record {record!r}")
        row = conn.execute(select(DataLock).where(DataLock.scope == scope, DataLock.target == target)
                           .with_for_update()).one_or_none()
        current = "open" if row is None else row.state
        if current not in allowed_from:
            raise Conflict(f"{FIELD[scope]}: {_what(scope, target)} is {current}; only data "
                           f"{' or '.join(allowed_from)} can take '{action}'")
        if action == "lock":
            pending = _pending_queries(conn, scope, randomization_id, record)
            if pending:
                first = pending[0]
                whose = f" of {first.subject_id!r}" if scope == "database" else ""
                on = f"{first.record} {first.field}".strip()
                raise Conflict(f"{FIELD[scope]}: {len(pending)} query(ies) still open or answered under "
                               f"{_what(scope, target)} (first: query {first.id}{whose}, {first.check} on {on}); "
                               "close them before locking")
        now = ts()
        values = {"state": new_state, "cutoff": cutoff, "changed_at": now, "changed_by": actor.id, "reason": reason}
        if row is None:
            conn.execute(insert(DataLock).values(scope=scope, target=target, randomization_id=randomization_id,
                                                 record_key=record, **values))
        else:
            conn.execute(update(DataLock).where(DataLock.id == row.id).values(**values))
        new: dict[str, Any] = {"state": new_state}
        if scope == "database":
            new["cutoff"] = cutoff
        audit.append(conn, actor=actor.label, action=action, entity=ENTITY[scope],
                     entity_id=target if scope != "database" else trial.study_id,
                     old={"state": current}, new=new, reason=reason, when=now)
    return {"scope": scope, "subject_id": subject_id, "record": record, "state": new_state,
            "locked": new_state == "locked", "cutoff": cutoff, "changed_at": now, "changed_by": actor.name,
            "reason": reason}


def database_hold(conn: Connection) -> dict[str, Any]:
    """The database's state (open, frozen, locked), its cut-off, and who changed it last, when and why."""
    row = conn.execute(select(DataLock.state, DataLock.cutoff, DataLock.changed_at, User.name.label("changed_by"),
                              DataLock.reason)
                       .join(User, User.id == DataLock.changed_by)
                       .where(DataLock.scope == "database")).one_or_none()
    if row is None:
        return {"state": "open", "cutoff": None, "changed_at": None, "changed_by": None, "reason": None}
    return dict(row._mapping)


def _link_state(new: str) -> str:
    doc = json.loads(new)
    if "state" in doc:
        return doc["state"]
    return "locked" if doc["locked"] else "open"  # casebook links written before revision 0011


def check_locks(conn: Connection, links: Mapping[str, list[Any]]) -> list[str]:
    """Every freeze and lock against the state its last audit link records."""
    want: dict[tuple[str, str], str] = {}
    for scope, entity in ENTITY.items():
        for link in links.get(entity, []):
            want[(scope, "" if scope == "database" else link.entity_id)] = _link_state(link.new)
    have = {(r.scope, r.target): r.state for r in conn.execute(select(DataLock.scope, DataLock.target, DataLock.state))}
    problems = []
    for key in sorted(set(want) | set(have)):
        if key not in want:
            problems.append(f"{_what(*key)} is {have[key]} but has no audit record")
        elif have.get(key, "open") != want[key]:
            problems.append(f"{_what(*key)} is {have.get(key, 'open')} but the audit trail says {want[key]}")
    return problems


STATE_READERS = ("data_manager", "monitor")


def casebook_states(conn: Connection, actor: Actor, *, state: str | None = None, ready: bool = False,
                    limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Every casebook the actor sees, in randomization order, with what a data manager checks before
    a lock: its hold (open, frozen, locked: the database's or its own), its entries, its queries
    still open or answered, and its investigator signatures. ``state`` keeps casebooks in that hold;
    ``ready`` keeps those a lock would take now (not locked, no unresolved query). ``total`` counts
    every casebook the filters keep."""
    if actor.role not in STATE_READERS:
        raise Forbidden(f"role {actor.role} does not see casebook states")
    if state is not None and state not in ("open", "frozen", "locked"):
        raise Invalid(f"state: {state!r} is not a hold state; expected open, frozen or locked")
    q = (select(Randomization.id, Randomization.subject_id, Randomization.randomization_number,
                Site.code.label("site")).join(Site, Site.id == Randomization.site_id)
         .order_by(Randomization.randomization_number))
    if (seen := actor.site_condition(Randomization.site_id)) is not None:
        q = q.where(seen)
    subjects = conn.execute(q).all()
    entries = dict(conn.execute(select(FormRecordRow.randomization_id, func.count())
                                .group_by(FormRecordRow.randomization_id)).all())
    pending = dict(conn.execute(select(QueryRow.randomization_id, func.count()).where(QueryRow.status.in_(UNRESOLVED))
                                .group_by(QueryRow.randomization_id)).all())
    signed = dict(conn.execute(select(Signature.randomization_id, func.max(Signature.signed_at))
                               .group_by(Signature.randomization_id)).all())
    holds = conn.execute(select(DataLock.scope, DataLock.state, DataLock.randomization_id)
                         .where(DataLock.scope.in_(("database", "casebook")), DataLock.state != "open")).all()
    database = strongest_hold(h.state for h in holds if h.scope == "database")
    own = {h.randomization_id: h.state for h in holds if h.scope == "casebook"}
    items = []
    counts = dict.fromkeys(("open", "frozen", "locked"), 0)
    for s in subjects:
        hold = strongest_hold((database, own.get(s.id, "open")))
        counts[hold] += 1
        row = {"subject_id": s.subject_id, "site": s.site, "randomization_number": s.randomization_number,
               "state": hold, "entries": int(entries.get(s.id, 0)), "unresolved_queries": int(pending.get(s.id, 0)),
               "last_signed_at": signed.get(s.id)}
        if state is not None and hold != state:
            continue
        if ready and (hold == "locked" or row["unresolved_queries"]):
            continue
        items.append(row)
    page = items[offset:offset + limit]
    return {"items": page, "count": len(page), "total": len(items), "states": counts, "database": database,
            "limit": limit, "offset": offset}
