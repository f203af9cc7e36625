"""Data queries and their life cycle: open → answered → closed, and re-opened.

Two kinds. An edit check's finding (:func:`oncotrial.collect.run_edit_checks`) opens a query on the
save that produced it; the query closes itself (``resolution`` ``corrected``) when a later save makes
the finding go away and re-opens when it comes back. A monitor or data manager raises a query by hand
on a saved record and field. Either kind is answered by the subject's site, and closed or re-opened
by a monitor or data manager; a reviewer's close (``accepted``) of an edit-check query stands while the
finding persists, which is how a value that is right but unusual is accepted.

Every transition is written in the same transaction as a link of the audit chain whose ``new`` holds
the query's state, so ``audit verify`` finds a query changed behind the service's back
(:func:`check_queries`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from oncotrial.collect import Finding
from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import FormRecordRow, QueryRow, Randomization, Site, User
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid, NotFound
from oncotrial.irt.services.subjects import RAND_FORM, refuse_if_held, stored_protocol, subject_row

REVIEWERS = ("monitor", "data_manager")
"""Raise, close and re-open queries."""
ANSWERERS = ("site_coordinator", "investigator")
READERS = ("site_coordinator", "investigator", "monitor", "data_manager", "statistician")
STATUSES = ("open", "answered", "closed")
UNRESOLVED = ("open", "answered")

_STATE = ("status", "text", "answer", "resolution", "record", "field", "check")
"""The columns an audit link's ``new`` carries, so the trail alone rebuilds every query."""


def _state(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in _STATE}


def _link(conn: Connection, actor: Actor, action: str, subject_id: str, query_id: int,
          old: Mapping[str, Any] | None, new: Mapping[str, Any], reason: str, now: str) -> None:
    audit.append(conn, actor=actor.label, action=action, entity="query", entity_id=f"{subject_id}|{query_id}",
                 old=None if old is None else _state(old), new=_state(new), reason=reason, when=now)


def _open(conn: Connection, actor: Actor, subj: Any, values: dict[str, Any], reason: str, now: str) -> int:
    row = {**values, "randomization_id": subj.id, "status": "open", "answer": "", "resolution": "",
           "opened_at": now, "opened_by": actor.id, "updated_at": now, "updated_by": actor.id}
    query_id = conn.execute(insert(QueryRow).values(**row).returning(QueryRow.id)).scalar_one()
    _link(conn, actor, "open", subj.subject_id, query_id, None, row, reason, now)
    return query_id


def _move(conn: Connection, actor: Actor, subject_id: str, row: Any, action: str, reason: str, now: str,
          **changes: Any) -> None:
    old = dict(row._mapping)
    conn.execute(update(QueryRow).where(QueryRow.id == row.id)
                 .values(**changes, updated_at=now, updated_by=actor.id))
    _link(conn, actor, action, subject_id, row.id, old, {**old, **changes}, reason, now)


def sync_queries(conn: Connection, actor: Actor, subj: Any, findings: Iterable[Finding], now: str) -> None:
    """Bring the subject's edit-check queries in line with its findings, inside the caller's write.

    A new finding opens a query; one that went away closes its query as ``corrected``; a finding
    back after a correction re-opens it. A query a reviewer closed stays closed.
    """
    current = {f.key: f for f in findings}
    rows = {r.finding_key: r for r in conn.execute(
        select(QueryRow).where(QueryRow.randomization_id == subj.id, QueryRow.origin == "edit_check")).all()}
    for key, f in current.items():
        row = rows.get(key)
        if row is None:
            _open(conn, actor, subj, {"origin": "edit_check", "finding_key": key, "check": f.check,
                                      "record": f.record, "field": f.field, "text": f.message},
                  "edit check: finding on save", now)
        elif row.status == "closed" and row.resolution == "corrected":
            _move(conn, actor, subj.subject_id, row, "reopen", "edit check: finding back on save", now,
                  status="open", answer="", resolution="", text=f.message)
    for key, row in rows.items():
        if key not in current and row.status in UNRESOLVED:
            _move(conn, actor, subj.subject_id, row, "close", "edit check: data corrected", now,
                  status="closed", resolution="corrected")


def unresolved(conn: Connection, randomization_id: int) -> list[Any]:
    """The subject's queries still open or answered, oldest first."""
    return conn.execute(select(QueryRow.id, QueryRow.check, QueryRow.record, QueryRow.field)
                        .where(QueryRow.randomization_id == randomization_id, QueryRow.status.in_(UNRESOLVED))
                        .order_by(QueryRow.id)).all()


def _query_select():  # noqa: ANN202
    return (select(QueryRow, Randomization.subject_id, Randomization.site_id, Site.code.label("site"),
                   User.name.label("updated_by_name"))
            .join(Randomization, Randomization.id == QueryRow.randomization_id)
            .join(Site, Site.id == Randomization.site_id)
            .join(User, User.id == QueryRow.updated_by))


def _public(r: Any) -> dict[str, Any]:
    return {"id": r.id, "subject_id": r.subject_id, "site": r.site, "origin": r.origin, "check": r.check,
            "record": r.record, "field": r.field, "text": r.text, "status": r.status, "answer": r.answer,
            "resolution": r.resolution, "opened_at": r.opened_at, "updated_at": r.updated_at,
            "updated_by": r.updated_by_name}


def subject_queries(conn: Connection, randomization_id: int) -> list[dict[str, Any]]:
    """Every query of one subject, oldest first (for the casebook)."""
    rows = conn.execute(_query_select().where(QueryRow.randomization_id == randomization_id)
                        .order_by(QueryRow.id)).all()
    return [_public(r) for r in rows]


def list_queries(conn: Connection, actor: Actor, *, status: str | None = None, site: str | None = None,
                 subject_id: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Queries in the order they were opened, filtered; a coordinator's own site only.

    ``total`` counts every query the filters match, so a page of ``limit`` tells how many pages remain.
    """
    if actor.role not in READERS:
        raise Forbidden(f"role {actor.role} does not see queries")
    if status is not None and status not in STATUSES:
        raise Invalid(f"status: {status!r} is not a query status; expected one of {', '.join(STATUSES)}")
    q = _query_select()
    if (seen := actor.site_condition(Randomization.site_id)) is not None:
        q = q.where(seen)
    if status is not None:
        q = q.where(QueryRow.status == status)
    if site is not None:
        q = q.where(Site.code == site)
    if subject_id is not None:
        q = q.where(Randomization.subject_id == subject_id)
    total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = conn.execute(q.order_by(QueryRow.id).limit(limit).offset(offset)).all()
    return {"items": [_public(r) for r in rows], "count": len(rows), "total": total, "limit": limit,
            "offset": offset}


def _field_of_record(conn: Connection, subj: Any, record: str, field: str) -> None:
    protocol = stored_protocol(conn)
    parts = record.split("|")
    if len(parts) != 3:
        raise Invalid(f"record: {record!r} is not a record key (VISIT|FORM|INSTANCE, as the casebook lists them)")
    form_id = parts[1]
    if form_id != RAND_FORM and conn.execute(
            select(FormRecordRow.id).where(FormRecordRow.randomization_id == subj.id,
                                           FormRecordRow.record_key == record)).first() is None:
        raise Invalid(f"record: {subj.subject_id!r} has no saved record {record!r}")
    if field:
        names = {f.id for f in protocol.edc.form(form_id).fields}
        if field not in names:
            raise Invalid(f"field: {field!r} is not a field of form {form_id}")


def raise_query(engine: Engine, actor: Actor, subject_id: str, record: str, field: str, text: str) -> dict[str, Any]:
    """A reviewer's query on one saved record (and field, or the whole record when ``field`` is empty)."""
    if actor.role not in REVIEWERS:
        raise Forbidden(f"role {actor.role} cannot raise a query")
    text = (text or "").strip()
    if not text:
        raise Invalid("text: a query needs its question")
    with write_tx(engine) as conn:
        subj = subject_row(conn, actor, subject_id, lock=True)
        _field_of_record(conn, subj, record, field)
        refuse_if_held(conn, subj.id, "raise a query", record_key=record, while_frozen=True)
        query_id = _open(conn, actor, subj, {"origin": "manual", "finding_key": None, "check": "MANUAL",
                                             "record": record, "field": field, "text": text}, "", ts())
        return _public(conn.execute(_query_select().where(QueryRow.id == query_id)).one())


def _transition(engine: Engine, actor: Actor, query_id: int, action: str, reason: str,
                allowed_from: tuple[str, ...], *, reason_required_from: tuple[str, ...] = (),
                **changes: Any) -> dict[str, Any]:
    with write_tx(engine) as conn:
        row = conn.execute(select(QueryRow).where(QueryRow.id == query_id).with_for_update()).one_or_none()
        subj = None if row is None else conn.execute(
            select(Randomization.subject_id, Randomization.site_id)
            .where(Randomization.id == row.randomization_id)).one()
        if row is None or not actor.sees_site(subj.site_id):
            raise NotFound(f"query_id: no query {query_id}{actor.where}")
        if row.status not in allowed_from:
            raise Conflict(f"query {query_id} is {row.status}; only a query {' or '.join(allowed_from)} "
                           f"can take '{action}'")
        if row.status in reason_required_from and not reason:
            raise Invalid(f"reason: required to {action} a query that is {row.status}")
        refuse_if_held(conn, row.randomization_id, f"{action} a query", record_key=row.record, while_frozen=True)
        _move(conn, actor, subj.subject_id, row, action, reason, ts(), **changes)
        return _public(conn.execute(_query_select().where(QueryRow.id == query_id)).one())


def answer_query(engine: Engine, actor: Actor, query_id: int, text: str) -> dict[str, Any]:
    """The site's answer to an open query (what was checked, or why the value stands)."""
    if actor.role not in ANSWERERS:
        raise Forbidden(f"role {actor.role} cannot answer a query; the subject's site answers")
    text = (text or "").strip()
    if not text:
        raise Invalid("text: an answer needs its text")
    return _transition(engine, actor, query_id, "answer", "", ("open",), status="answered", answer=text)


def close_query(engine: Engine, actor: Actor, query_id: int, reason: str = "") -> dict[str, Any]:
    """A reviewer closes a query. Closing one the site has not answered needs a reason."""
    if actor.role not in REVIEWERS:
        raise Forbidden(f"role {actor.role} cannot close a query")
    return _transition(engine, actor, query_id, "close", (reason or "").strip(), UNRESOLVED,
                       reason_required_from=("open",), status="closed", resolution="accepted")


def reopen_query(engine: Engine, actor: Actor, query_id: int, reason: str) -> dict[str, Any]:
    """A reviewer re-opens a closed query, saying why (the answer did not settle it)."""
    if actor.role not in REVIEWERS:
        raise Forbidden(f"role {actor.role} cannot re-open a query")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: required to re-open a query")
    return _transition(engine, actor, query_id, "reopen", reason, ("closed",), status="open", answer="",
                       resolution="")


def check_queries(conn: Connection, links: Mapping[str, list[Any]]) -> list[str]:
    """Each query's row against the state its last audit link records."""
    want = {link.entity_id: json.loads(link.new) for link in links.get("query", [])}
    rows = conn.execute(select(QueryRow, Randomization.subject_id)
                        .join(Randomization, Randomization.id == QueryRow.randomization_id)).all()
    problems: list[str] = []
    seen: set[str] = set()
    for r in rows:
        entity_id = f"{r.subject_id}|{r.id}"
        seen.add(entity_id)
        state = want.get(entity_id)
        if state is None:
            problems.append(f"query {entity_id!r} has no audit record")
            continue
        have = _state(r._mapping)
        differ = [k for k in _STATE if have[k] != state.get(k)]
        if differ:
            problems.append(f"query {entity_id!r} does not match the audit trail in: {', '.join(differ)}")
    problems += [f"query {e!r} is in the audit trail but not in the database" for e in sorted(set(want) - seen)]
    return problems
