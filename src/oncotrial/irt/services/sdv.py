"""Source-data verification: monitors mark the saved records they checked against the source.

The protocol's SDV plan (per form: all, a seeded sample, none; :func:`oncotrial.collect.sdv_required`
with the ``[edc] sdv_seed``) says which records need it. A mark holds the revision verified, so a
record changed afterwards shows as ``changed`` until it is verified again. Each record's state:

* ``verified``: its current revision is verified;
* ``changed``: an earlier revision was verified, the current one not yet;
* ``pending``: the plan selects it and no revision is verified;
* ``not_required``: the plan does not select it and nobody verified it.

Marks are only added (the table refuses updates and deletes) and each is a link of the audit chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, insert, select

from oncotrial.collect import FormRecord, sdv_required
from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import FormRecordRow, Randomization, SdvMark, Site
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor, usubjid
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid, located
from oncotrial.irt.services.subjects import Hold, holds_on, refuse_hold, stored_protocol, subject_row
from oncotrial.protocol import Protocol

VERIFIERS = ("monitor",)
LIST_READERS = ("monitor", "data_manager")
STATES = ("verified", "changed", "pending", "not_required")


def _latest_marks(conn: Connection, randomization_ids: Iterable[int] | Select | None = None
                  ) -> dict[tuple[int, str], int]:
    q = select(SdvMark.randomization_id, SdvMark.record_key, func.max(SdvMark.revision).label("revision")) \
        .group_by(SdvMark.randomization_id, SdvMark.record_key)
    if randomization_ids is not None:
        ids = randomization_ids if isinstance(randomization_ids, Select) else list(randomization_ids)
        q = q.where(SdvMark.randomization_id.in_(ids))
    return {(r.randomization_id, r.record_key): r.revision for r in conn.execute(q)}


def record_state(required: bool, revision: int, verified_revision: int | None) -> str:
    """One record's SDV state (see the module's list)."""
    if verified_revision == revision:
        return "verified"
    if verified_revision is not None:
        return "changed"
    return "pending" if required else "not_required"


def _required(protocol: Protocol, study_usubjid: str, entry: Mapping[str, Any]) -> bool:
    record = FormRecord(study_usubjid, entry["visit"], entry["form"], entry["version"], {}, seq=entry["seq"],
                        key=entry["key"])
    return sdv_required(protocol, record, protocol.edc.sdv_seed)


def annotate(conn: Connection, protocol: Protocol, subj: Any, study_usubjid: str,
             entries: list[dict[str, Any]]) -> None:
    """Add each casebook entry's ``sdv`` (required, verified revision, state), in place."""
    marks = _latest_marks(conn, [subj.id])
    for e in entries:
        verified = marks.get((subj.id, e["record"]))
        required = _required(protocol, study_usubjid, e)
        e["sdv"] = {"required": required, "verified_revision": verified,
                    "state": record_state(required, e["revision"], verified)}


def verify_record(engine: Engine, actor: Actor, study_id: str, subject_id: str, record: str,
                  revision: int) -> dict[str, Any]:
    """Mark ``revision`` of a saved record verified against source. It must be the record's current
    revision (409 otherwise: the monitor checked values that are no longer there). The same
    verification as :func:`verify_records` with one record."""
    return _verify(engine, actor, study_id, subject_id, [(record, revision)], batch=False)[0]


MAX_VERIFY_RECORDS = 1000
"""Records one batch verification takes (a PATINA casebook holds a few hundred; the body limit applies too)."""


def verify_records(engine: Engine, actor: Actor, study_id: str, subject_id: str,
                   records: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """Mark several ``(record, revision)`` of one subject verified, all or none, in one transaction.

    Each record is checked and marked exactly as :func:`verify_record` does it (one mark and one
    audit link each). A refused record refuses the batch, its error naming its position
    (``records[i]``) and record; the marks come back in the order given.
    """
    if not 1 <= len(records) <= MAX_VERIFY_RECORDS:
        raise Invalid(f"records: expected 1 to {MAX_VERIFY_RECORDS} records of the subject, got {len(records)}")
    return _verify(engine, actor, study_id, subject_id, records, batch=True)


def _verify(engine: Engine, actor: Actor, study_id: str, subject_id: str, records: Sequence[tuple[str, int]], *,
            batch: bool) -> list[dict[str, Any]]:
    """The one verification behind :func:`verify_record` and :func:`verify_records`; ``batch``
    names a refused record's position in its error."""
    if actor.role not in VERIFIERS:
        raise Forbidden(f"role {actor.role} cannot mark source-data verification")
    keys = [record for record, _ in records]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in first:
            raise Invalid(f"records[{i}]: {k} is records[{first[k]}] again; a batch verifies each record once")
        first[k] = i
    with write_tx(engine) as conn:
        subj = subject_row(conn, actor, subject_id, lock=True)
        rows = {r.record_key: r for r in conn.execute(
            select(FormRecordRow.record_key, FormRecordRow.revision, FormRecordRow.visit, FormRecordRow.form,
                   FormRecordRow.version, FormRecordRow.seq, FormRecordRow.key)
            .where(FormRecordRow.randomization_id == subj.id, FormRecordRow.record_key.in_(keys)))}
        holds = holds_on(conn, subj.id, keys)
        marks = _latest_marks(conn, [subj.id])
        # every record checked before any is marked: a refused batch costs no writes to undo
        for i, (record, revision) in enumerate(records):
            located(f"records[{i}] ({record})" if batch else None, _check_verifiable, subject_id, record, revision,
                    rows.get(record), holds[record], marks.get((subj.id, record)))
        now = ts()
        conn.execute(insert(SdvMark), [{"randomization_id": subj.id, "record_key": record, "revision": revision,
                                         "verified_at": now, "verified_by": actor.id} for record, revision in records])
        protocol = stored_protocol(conn)
        study_usubjid = usubjid(study_id, subject_id)
        out = []
        for record, revision in records:
            verified = marks.get((subj.id, record))
            audit.append(conn, actor=actor.label, action="verify", entity="sdv", entity_id=f"{subject_id}|{record}",
                         old=None if verified is None else {"revision": verified}, new={"revision": revision},
                         reason="", when=now)
            out.append({"subject_id": subject_id, "record": record, "revision": revision, "verified_at": now,
                        "verified_by": actor.name, "required": _required(protocol, study_usubjid,
                                                                         rows[record]._mapping)})
    return out


def _check_verifiable(subject_id: str, record: str, revision: int, row: Any, hold: Hold | None,
                      verified: int | None) -> None:
    """Refuse verifying ``revision`` of ``record``: not saved, locked, not its current revision, or verified already."""
    if row is None:
        raise Invalid(f"record: {subject_id!r} has no saved record {record!r}")
    refuse_hold(hold, "mark source-data verification", while_frozen=True)
    if revision != row.revision:
        raise Conflict(f"revision: {record} is at revision {row.revision}, not {revision}: it changed since "
                       "you read it; verify the current values")
    if verified == revision:
        raise Conflict(f"record: revision {revision} of {record} is already verified")


def sdv_list(conn: Connection, actor: Actor, study_id: str, *, state: str | None = None, site: str | None = None,
             limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Every saved record with its SDV state, in subject then entry order (a monitor's work list:
    ``state=pending`` and ``state=changed`` are what is left to verify), with the count of each state."""
    if actor.role not in LIST_READERS:
        raise Forbidden(f"role {actor.role} does not see the SDV list")
    if state is not None and state not in STATES:
        raise Invalid(f"state: {state!r} is not an SDV state; expected one of {', '.join(STATES)}")
    protocol = stored_protocol(conn)
    q = (select(FormRecordRow.randomization_id, FormRecordRow.record_key, FormRecordRow.visit, FormRecordRow.form,
                FormRecordRow.version, FormRecordRow.seq, FormRecordRow.key, FormRecordRow.revision,
                Randomization.subject_id, Site.code.label("site"))
         .join(Randomization, Randomization.id == FormRecordRow.randomization_id)
         .join(Site, Site.id == Randomization.site_id)
         .order_by(Randomization.randomization_number, FormRecordRow.id))
    scope = [c for c in (actor.site_condition(Randomization.site_id), None if site is None else Site.code == site)
             if c is not None]
    q = q.where(*scope)
    # a site's list reads that site's marks only: the monitors' lists of a large trial stay a site's work each
    marks = _latest_marks(conn, select(Randomization.id).join(Site, Site.id == Randomization.site_id)
                          .where(*scope) if scope else None)
    counts = dict.fromkeys(STATES, 0)
    items: list[dict[str, Any]] = []
    for r in conn.execute(q):
        entry = {"visit": r.visit, "form": r.form, "version": r.version, "seq": r.seq, "key": r.key}
        required = _required(protocol, usubjid(study_id, r.subject_id), entry)
        verified = marks.get((r.randomization_id, r.record_key))
        s = record_state(required, r.revision, verified)
        counts[s] += 1
        if state is None or s == state:
            items.append({"subject_id": r.subject_id, "site": r.site, "record": r.record_key, "form": r.form,
                          "revision": r.revision, "required": required, "verified_revision": verified, "state": s})
    page = items[offset:offset + limit]
    return {"items": page, "count": len(page), "total": len(items), "states": counts, "limit": limit,
            "offset": offset}


def check_sdv_marks(conn: Connection, links: Mapping[str, list[Any]]) -> list[str]:
    """Every SDV mark against its audit link, and every link against a mark."""
    want = {(link.entity_id, json.loads(link.new)["revision"]) for link in links.get("sdv", [])}
    rows = conn.execute(select(Randomization.subject_id, SdvMark.record_key, SdvMark.revision)
                        .join(Randomization, Randomization.id == SdvMark.randomization_id)).all()
    have = {(f"{r.subject_id}|{r.record_key}", r.revision) for r in rows}
    problems = [f"sdv mark {e!r} revision {rev} has no audit record" for e, rev in sorted(have - want)]
    problems += [f"sdv mark {e!r} revision {rev} is in the audit trail but not in the database"
                 for e, rev in sorted(want - have)]
    return problems
