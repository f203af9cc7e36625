"""Data capture in the service: a subject's eCRF entries saved, changed with a reason, read back as a casebook.

The rules are the protocol's (:mod:`oncotrial.collect`): values are validated on save (hard rules refuse
the save; a missing required value or one out of range is saved and becomes a query), the visit must
carry the form, and every save appends its field-level changes to the audit chain in the same
transaction. The randomization record of a subject is the casebook's ``RAND`` form, made from the IRT's
row, so the strata a site records in the EDC are checked against those given to the IRT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, Engine, insert, select, update

from oncotrial.collect import Casebook, FormRecord, FormValidationError, migrate_record, run_edit_checks, validate_form
from oncotrial.collect.schedule import visit_definition, visit_number
from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import AuditEntry, FormRecordRow, Randomization
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid, located
from oncotrial.irt.services import sdv, signatures
from oncotrial.irt.services.queries import subject_queries, sync_queries
from oncotrial.irt.services.subjects import (RAND_FORM, Hold, casebook_of, hold_on, holds_on, lock_states,
                                             public_record, record_query, refuse_hold, stored_protocol, subject_row)
from oncotrial.irt.services.trial import Trial
from oncotrial.irt.services.unblinding import subject_unblindings
from oncotrial.protocol import Protocol

WRITERS = ("site_coordinator", "investigator")


def _record_key(visit: str, form: str, instance: str) -> str:
    return f"{visit}|{form}|{instance}"


def _check_place(protocol: Protocol, visit: str, form_id: str, key: str, seq: int | None,
                 visitnum: float | None = None) -> tuple[float | None, str, int]:
    edc = protocol.edc
    form = next((f for f in edc.forms if f.id == form_id), None)
    if form is None:
        raise Invalid(f"form: {form_id!r} is not a form of the protocol (forms: {', '.join(f.id for f in edc.forms)})")
    if form_id == RAND_FORM:
        raise Forbidden("form RAND is written by the randomization, not entered")
    visit_def = visit_definition(protocol, visit)
    if visit_def is None:
        raise Invalid(f"visit: {visit!r} is not a visit of the schedule")
    if form_id not in visit_def.forms:
        carriers = [v.id for v in edc.visits if form_id in v.forms]
        raise Invalid(f"form: {form_id} is not collected at visit {visit!r} (visits carrying it: {', '.join(carriers)})")
    num = visit_number(protocol, visit)
    if visitnum is not None:
        if visit_def.kind != "unscheduled":
            raise Invalid(f"visitnum: only an unscheduled visit takes a visit number; {visit!r} has "
                          f"{num if num is not None else 'none'} from the schedule")
        num = float(visitnum)
    if form.repeats and form.repeat_key:
        if not key:
            raise Invalid(f"key: form {form_id} repeats per {form.repeat_key}; give the {form.repeat_key}")
        return num, key, 1
    if form.repeats:
        if seq is None or seq < 1:
            raise Invalid(f"seq: form {form_id} repeats; give the instance number (1, 2, ...)")
        return num, "", seq
    if key or (seq not in (None, 1)):
        raise Invalid(f"form {form_id} does not repeat: give neither key nor seq")
    return num, "", 1


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = sorted(set(old) | set(new))
    changed = [k for k in keys if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in changed}, {k: new.get(k) for k in changed}


@dataclass(frozen=True)
class Entry:
    """One eCRF entry of a visit as a site submits it: the form and instance (``key`` or ``seq``),
    its values, and for a change the ``revision`` it was made on and the ``reason``."""

    form: str
    values: Mapping[str, Any]
    version: int | None = None
    key: str = ""
    seq: int | None = None
    revision: int | None = None
    reason: str = ""
    visitnum: float | None = None


def save_form(engine: Engine, trial: Trial, actor: Actor, subject_id: str, visit: str, form_id: str,
              values: Mapping[str, Any], *, version: int | None = None, key: str = "", seq: int | None = None,
              revision: int | None = None, reason: str = "", visitnum: float | None = None) -> dict[str, Any]:
    """Create or change one eCRF entry of a subject at the coordinator's site.

    ``visitnum`` numbers an unscheduled visit (SDTM's convention: the visit before it plus .01).

    A new entry needs no ``revision``; a change must give the revision it was made on (409 when
    another save came first) and a reason. The values are validated against the form version
    (default: the latest for a new entry, the entry's own for a change); a value already stored is
    only ever replaced inside the same transaction as its audit link. The same save as
    :func:`save_visit` with one entry.
    """
    entry = Entry(form_id, values, version=version, key=key, seq=seq, revision=revision, reason=reason,
                  visitnum=visitnum)
    return _save(engine, trial, actor, subject_id, visit, [entry], batch=False)[0]


MAX_VISIT_ENTRIES = 200
"""Entries one visit save takes (a visit's eCRF page holds a handful; the body limit applies too)."""


def save_visit(engine: Engine, trial: Trial, actor: Actor, subject_id: str, visit: str,
               entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Create or change several eCRF entries of one visit of a subject, all or none, in one transaction.

    Each entry is checked and written exactly as :func:`save_form` does it (one audit link each); the
    casebook is rebuilt and the edit checks run once for the batch, so its queries open or close once.
    A refused entry refuses the batch, its error naming the position (``entries[i]``) and form; the
    saved entries come back in the order given.
    """
    if not 1 <= len(entries) <= MAX_VISIT_ENTRIES:
        raise Invalid(f"entries: expected 1 to {MAX_VISIT_ENTRIES} entries of the visit, got {len(entries)}")
    return _save(engine, trial, actor, subject_id, visit, entries, batch=True)


def _save(engine: Engine, trial: Trial, actor: Actor, subject_id: str, visit: str, entries: Sequence[Entry], *,
          batch: bool) -> list[dict[str, Any]]:
    if actor.role not in WRITERS:
        raise Forbidden(f"role {actor.role} cannot enter data")
    with write_tx(engine) as conn:
        protocol = stored_protocol(conn)
        places = [_at(i, e, batch, _check_place, protocol, visit, e.form, e.key, e.seq, e.visitnum)
                  for i, e in enumerate(entries)]
        keys = [_record_key(visit, e.form, key or str(seq)) for e, (_, key, seq) in zip(entries, places)]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in first:
                raise Invalid(f"entries[{i}]: {k} is entries[{first[k]}] again; a visit save gives each entry once")
            first[k] = i
        subj = subject_row(conn, actor, subject_id, lock=True)
        rows = {r.record_key: r for r in conn.execute(select(FormRecordRow).where(
            FormRecordRow.randomization_id == subj.id, FormRecordRow.record_key.in_(keys))).all()}
        holds = holds_on(conn, subj.id, keys)
        # every entry checked before any is written: a refused batch costs no writes to undo
        checked = [_at(i, e, batch, _checked, protocol, e, k, rows.get(k), holds[k])
                   for i, (e, k) in enumerate(zip(entries, keys))]
        now = ts()
        for e, place, k, (version, typed) in zip(entries, places, keys, checked):
            _write(conn, actor, subj, visit, e, place, k, rows.get(k), version, typed, now)
        book, _ = casebook_of(conn, trial, subj, entries=False)
        sync_queries(conn, actor, subj, run_edit_checks(protocol, book), now)
        saved = {r.record_key: r for r in conn.execute(record_query().where(
            FormRecordRow.randomization_id == subj.id, FormRecordRow.record_key.in_(keys))).all()}
        return [public_record(saved[k]) for k in keys]


def _at(i: int, entry: Entry, batch: bool, call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``; in a visit save, an error of the entry names its position and form."""
    return located(f"entries[{i}] (form {entry.form})" if batch else None, call, *args)


def _checked(protocol: Protocol, e: Entry, record_key: str, row: Any,
             hold: Hold | None) -> tuple[int, dict[str, Any]]:
    """The form version and typed values of one entry, after its hold, revision, reason and values are checked."""
    refuse_hold(hold, f"save {record_key}")
    form = protocol.edc.form(e.form)
    if row is None and e.revision is not None:
        raise Conflict(f"revision: {record_key} does not exist yet; a new entry gives no revision")
    if row is not None:
        if e.revision is None:
            raise Conflict(f"revision: {record_key} exists (revision {row.revision}); give the revision you changed")
        if e.revision != row.revision:
            raise Conflict(f"revision: {record_key} is at revision {row.revision}, not {e.revision}: "
                           "someone saved it since you read it; reload and redo your change")
        if not e.reason.strip():
            raise Invalid("reason: required to change a saved entry")
    use_version = e.version if e.version is not None else (row.version if row is not None else form.latest_version)
    try:
        typed = validate_form(protocol, e.form, use_version, e.values, strict=False)
    except FormValidationError as exc:
        raise Invalid("; ".join(str(err) for err in exc.errors)) from None
    if row is not None and json.loads(row.values) == typed and row.version == use_version:
        raise Invalid("values: equal the saved entry; nothing to change")
    return use_version, typed


def _write(conn: Connection, actor: Actor, subj: Any, visit: str, e: Entry, place: tuple[float | None, str, int],
           record_key: str, row: Any, version: int, typed: dict[str, Any], now: str) -> None:
    """Store one checked entry (a new row, or the row changed) with its audit link."""
    visitnum, key, seq = place
    text = audit.canonical(typed)
    entity_id = f"{subj.subject_id}|{record_key}"
    reason = e.reason.strip()
    if row is None:
        conn.execute(insert(FormRecordRow).values(
            randomization_id=subj.id, record_key=record_key, visit=visit, visitnum=visitnum, form=e.form,
            version=version, seq=seq, key=key, values=text, revision=1, created_at=now,
            created_by=actor.id, updated_at=now, updated_by=actor.id))
        audit.append(conn, actor=actor.label, action="enter", entity="form_record", entity_id=entity_id,
                     old=None, new={"version": version, "values": typed}, reason=reason, when=now)
        return
    old, new = _diff(json.loads(row.values), typed)
    if row.version != version:
        old["__version__"], new["__version__"] = row.version, version
    conn.execute(update(FormRecordRow).where(FormRecordRow.id == row.id).values(
        values=text, version=version, revision=row.revision + 1, updated_at=now, updated_by=actor.id))
    audit.append(conn, actor=actor.label, action="change", entity="form_record", entity_id=entity_id,
                 old=old, new=new, reason=reason, when=now)


def casebook(conn: Connection, trial: Trial, actor: Actor, subject_id: str) -> dict[str, Any]:
    """The public casebook: the saved entries with their SDV state, the edit checks' findings, the
    subject's queries and the investigator's signatures."""
    protocol = stored_protocol(conn)
    subj = subject_row(conn, actor, subject_id)
    book, entries = casebook_of(conn, trial, subj)
    findings = run_edit_checks(protocol, book)
    sdv.annotate(conn, protocol, subj, book.usubjid, entries)
    state, held = lock_states(conn, subj.id)
    for entry in entries:
        entry["lock_state"] = held.get(entry["record"], state)
    return {"subject_id": subject_id, "usubjid": book.usubjid, "state": state, "locked": state == "locked",
            "records": entries, "findings": [f.to_dict() for f in findings],
            "queries": subject_queries(conn, subj.id),
            "signatures": signatures.subject_signatures(conn, subj.id, entries),
            "unblindings": subject_unblindings(conn, subject_id)}


def replay_form_records(links: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Each form record's ``version`` and ``values`` as its audit links (in chain order) leave them,
    keyed by the links' ``entity_id`` (``subject|record``): how ``audit verify`` checks the stored
    entries and how an export rebuilds them as they stood at an earlier moment."""
    state: dict[str, dict[str, Any]] = {}
    for link in links:
        new = json.loads(link.new)
        if link.action == "enter":
            state[link.entity_id] = {"version": new["version"], "values": dict(new["values"])}
        elif link.action == "change" and link.entity_id in state:
            s = state[link.entity_id]
            for k, v in new.items():
                if k == "__version__":
                    s["version"] = v
                elif v is None:
                    s["values"].pop(k, None)
                else:
                    s["values"][k] = v
    return state


def check_form_records(conn: Connection, links: Mapping[str, list[Any]]) -> list[str]:
    """Each form record's values and version against the state its audit links describe, so a value
    changed in the database behind the service's back is found by ``audit verify``."""
    state = replay_form_records(links.get("form_record", []))
    problems: list[str] = []
    seen: set[str] = set()
    rows = conn.execute(select(Randomization.subject_id, FormRecordRow.record_key, FormRecordRow.version,
                               FormRecordRow.values)
                        .join(Randomization, Randomization.id == FormRecordRow.randomization_id)).all()
    for r in rows:
        entity_id = f"{r.subject_id}|{r.record_key}"
        seen.add(entity_id)
        want = state.get(entity_id)
        if want is None:
            problems.append(f"form_record {entity_id!r} has no audit record")
            continue
        values = json.loads(r.values)
        differ = sorted(k for k in set(values) | set(want["values"]) if values.get(k) != want["values"].get(k))
        if r.version != want["version"]:
            differ.insert(0, "version")
        if differ:
            problems.append(f"form_record {entity_id!r} does not match the audit trail in: {', '.join(differ)}")
    for missing in sorted(set(state) - seen):
        problems.append(f"form_record {missing!r} is in the audit trail but not in the database")
    return problems


_IDS_A_QUERY = 500  # entity ids bound in one IN list, well under SQLite's limit on bound parameters


def casebooks(conn: Connection, trial: Trial, *, as_of: str | None = None) -> Iterator[Casebook]:
    """Every randomized subject's casebook, one at a time in randomization order (a statistician's
    or data manager's export: all sites), so an export of a large trial holds one casebook at a time.

    ``as_of`` (a stored timestamp, see :func:`oncotrial.irt.security.ts`) rebuilds each casebook as
    it stood at that moment from the audit trail: subjects randomized after it are left out, and each
    entry has the values its audit links had given it by then (entries made later are absent). A
    record's state depends on its own links only, so each subject's are read and replayed alone
    (by the ``(entity, entity_id)`` index), never the whole trail at once.
    """
    reader = Actor(0, "export", "statistician", None, None)
    query = select(Randomization.subject_id).order_by(Randomization.randomization_number)
    if as_of is not None:
        query = query.where(Randomization.randomized_at <= as_of)
    for sid in conn.execute(query).scalars().all():
        subj = subject_row(conn, reader, sid)
        states = None
        if as_of is not None:
            ids = [f"{sid}|{k}" for k in conn.execute(select(FormRecordRow.record_key).where(
                FormRecordRow.randomization_id == subj.id).order_by(FormRecordRow.id)).scalars()]
            links: list[Any] = []
            for i in range(0, len(ids), _IDS_A_QUERY):
                links += conn.execute(
                    select(AuditEntry.entity_id, AuditEntry.action, AuditEntry.new)
                    .where(AuditEntry.entity == "form_record", AuditEntry.entity_id.in_(ids[i:i + _IDS_A_QUERY]),
                           AuditEntry.ts <= as_of).order_by(AuditEntry.seq)).all()
            states = replay_form_records(links)
        yield casebook_of(conn, trial, subj, states=states, entries=False)[0]


MIGRATORS = ("data_manager",)


def migrate_form_version(engine: Engine, trial: Trial, actor: Actor, form_id: str, to_version: int, *,
                         subject_ids: list[str] | None = None, reason: str = "") -> dict[str, Any]:
    """Move saved entries of ``form_id`` to version ``to_version`` after an amendment: the subjects
    named, or every subject. Each move is a change of the entry (revision + 1) on the audit chain with
    the reason; the new version's empty required fields become queries.

    An entry is left where it is, and listed under ``skipped`` with why, when it is frozen or locked
    or when the new version has no field for one of its values (moving it would drop data: the site
    changes that entry by hand). One transaction: the batch lands whole or not at all.
    """
    if actor.role not in MIGRATORS:
        raise Forbidden(f"role {actor.role} cannot migrate entries to a new form version")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: required to move entries to another form version (name the amendment)")
    with write_tx(engine) as conn:
        protocol = stored_protocol(conn)
        form = next((f for f in protocol.edc.forms if f.id == form_id), None)
        if form is None or form_id == RAND_FORM:
            raise Invalid(f"form: {form_id!r} is not an entered form of the protocol")
        if to_version not in form.version_numbers:
            raise Invalid(f"to_version: form {form_id} has no version {to_version} (versions: {form.version_numbers})")
        if subject_ids is None:
            subjects = conn.execute(select(Randomization.subject_id).order_by(Randomization.randomization_number)).scalars().all()
        else:
            subjects = list(dict.fromkeys(subject_ids))
        migrated: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        now = ts()
        for sid in subjects:
            subj = subject_row(conn, actor, sid, lock=True)  # NotFound names an unknown subject
            rows = conn.execute(select(FormRecordRow).where(FormRecordRow.randomization_id == subj.id,
                                                            FormRecordRow.form == form_id,
                                                            FormRecordRow.version != to_version)
                                .order_by(FormRecordRow.id)).all()
            if not rows:
                continue
            for r in rows:
                hold = hold_on(conn, subj.id, r.record_key)
                if hold is not None:
                    skipped.append({"subject_id": sid, "record": r.record_key,
                                    "why": f"{hold.scope} {hold.state}"})
                    continue
                values = json.loads(r.values)
                move = migrate_record(protocol, FormRecord(sid, r.visit, r.form, r.version, values, seq=r.seq, key=r.key),
                                      to_version)
                if move.dropped:
                    skipped.append({"subject_id": sid, "record": r.record_key,
                                    "why": f"version {to_version} has no field for {', '.join(sorted(move.dropped))}"})
                    continue
                conn.execute(update(FormRecordRow).where(FormRecordRow.id == r.id).values(
                    version=to_version, revision=r.revision + 1, updated_at=now, updated_by=actor.id))
                audit.append(conn, actor=actor.label, action="change", entity="form_record",
                             entity_id=f"{sid}|{r.record_key}", old={"__version__": r.version},
                             new={"__version__": to_version}, reason=f"form version migration: {reason}", when=now)
                migrated.append({"subject_id": sid, "record": r.record_key, "from_version": r.version,
                                 "to_version": to_version, "missing": list(move.missing)})
            book, _ = casebook_of(conn, trial, subj, entries=False)
            sync_queries(conn, actor, subj, run_edit_checks(protocol, book), now)
    return {"form": form_id, "to_version": to_version, "migrated": migrated, "skipped": skipped}
