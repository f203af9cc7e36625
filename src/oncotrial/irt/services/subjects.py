"""A randomized subject as the data-capture services see it: the stored protocol, the subject's row
(refused to other sites' coordinators), its casebook from the saved entries, and the freezes and locks that hold its data.

Both the entry service (:mod:`.forms`) and the query service (:mod:`.queries`) stand on these, so
neither needs the other to find a subject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, and_, or_, select

from oncotrial.collect import Casebook, FormRecord
from oncotrial.irt.db.models import DataLock, FormRecordRow, Randomization, Site, TrialSetup, User
from oncotrial.irt.services.actors import Actor, usubjid
from oncotrial.irt.services.errors import Conflict, Invalid, NotFound
from oncotrial.irt.services.trial import Trial
from oncotrial.protocol import Protocol

RAND_FORM = "RAND"


@lru_cache(maxsize=8)
def _protocol_from_json(text: str) -> Protocol:
    return Protocol.model_validate(json.loads(text))


def stored_protocol(conn: Connection) -> Protocol:
    """The protocol stored at ``irt init`` (never the file on disk: what the trial runs on)."""
    text = conn.execute(select(TrialSetup.protocol_json).where(TrialSetup.id == 1)).scalar_one()
    protocol = _protocol_from_json(text)
    if protocol.edc is None:
        raise Invalid(f"protocol {protocol.study.id} has no [edc] block: this trial has no forms to enter")
    return protocol


def subject_row(conn: Connection, actor: Actor, subject_id: str, *, lock: bool = False) -> Any:
    """The subject's randomization with its site; ``lock`` holds it for the transaction, so two
    writers to one casebook take turns."""
    q = (select(Randomization.id, Randomization.subject_id, Randomization.site_id, Randomization.arm,
                Randomization.strata_randomized, Randomization.randomized_at, Site.code.label("site"),
                Site.country)
         .join(Site, Site.id == Randomization.site_id).where(Randomization.subject_id == subject_id))
    row = conn.execute(q.with_for_update() if lock else q).one_or_none()
    # another site's subject answers like a missing one
    if row is None or not actor.sees_site(row.site_id):
        raise NotFound(f"subject_id: no randomization of {subject_id!r}{actor.where}")
    return row


def record_query():  # noqa: ANN201
    """Saved entries with the name of who saved them last."""
    return (select(*FormRecordRow.__table__.c, User.name.label("updated_by_name"))
            .join(User, User.id == FormRecordRow.updated_by))


def public_record(r: Any, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A saved entry as the API shows it; ``values`` when the caller has already read them."""
    return {"record": r.record_key, "visit": r.visit, "visitnum": r.visitnum, "form": r.form,
            "version": r.version, "seq": r.seq, "key": r.key,
            "values": dict(values) if values is not None else json.loads(r.values),
            "revision": r.revision, "created_at": r.created_at, "updated_at": r.updated_at,
            "updated_by": r.updated_by_name}


def _rand_record(trial: Trial, study_usubjid: str, subj: Any) -> FormRecord:
    strata = json.loads(subj.strata_randomized)
    values: dict[str, Any] = {"SUBJID": subj.subject_id, "SITEID": subj.site, "COUNTRY": subj.country,
                              "RANDDT": subj.randomized_at[:10],
                              "ARMCD": subj.arm, "ARM": trial.arm(subj.arm).name}
    for i, name in enumerate(trial.factor_names, start=1):
        values[f"STRAT{i}R"] = strata[name]
    return FormRecord(study_usubjid, "SCREENING", RAND_FORM, 1, values)


def casebook_of(conn: Connection, trial: Trial, subj: Any, *,
                states: Mapping[str, Mapping[str, Any]] | None = None,
                entries: bool = True) -> tuple[Casebook, list[dict[str, Any]]]:
    """The subject's casebook (the randomization as its RAND record first) and its saved entries
    (none without ``entries``: a save only checks the casebook, and a casebook of hundreds of
    records would build them on every save).

    ``states`` (``subject|record`` -> ``version`` and ``values``, as replayed from the audit trail)
    replaces each entry's stored version and values; an entry it lacks is left out.
    """
    uid = usubjid(trial.study_id, subj.subject_id)
    # without entries, the join naming who saved each is work no one reads (a save's casebook)
    query = record_query() if entries else select(FormRecordRow)
    rows = conn.execute(query.where(FormRecordRow.randomization_id == subj.id).order_by(FormRecordRow.id)).all()
    records = [_rand_record(trial, uid, subj)]
    public: list[dict[str, Any]] = []
    for r in rows:
        version, values = r.version, json.loads(r.values)
        if states is not None:
            state = states.get(f"{subj.subject_id}|{r.record_key}")
            if state is None:
                continue
            version, values = state["version"], dict(state["values"])
        if entries:
            public.append(public_record(r, values))
        records.append(FormRecord(uid, r.visit, r.form, version, values, seq=r.seq, key=r.key,
                                  visitnum=r.visitnum))
    return Casebook(uid, tuple(records)), public


LOCK_STATES = ("open", "frozen", "locked")
_STRENGTH = {"open": 0, "frozen": 1, "locked": 2}  # a lock outranks a freeze, a freeze no hold
_SCOPE_ORDER = {"database": 0, "casebook": 1, "record": 2}


def strongest_hold(states: Iterable[str]) -> str:
    """The strongest of hold states (``open`` for none).

    >>> strongest_hold(["frozen", "open", "locked"]), strongest_hold([])
    ('locked', 'open')
    """
    return max(states, key=_STRENGTH.__getitem__, default="open")


@dataclass(frozen=True)
class Hold:
    """A freeze or lock covering some of a subject's data: the database's, the casebook's or a record's."""

    scope: str
    state: str
    target: str
    cutoff: str | None = None

    @property
    def what(self) -> str:
        if self.scope == "database":
            return "database: the database"
        if self.scope == "casebook":
            return f"subject_id: the casebook of {self.target!r}"
        subject_id, _, record = self.target.partition("|")
        return f"record: {record} of {subject_id!r}"

    def refusal(self, doing: str) -> str:
        """Why ``doing`` is refused, and what would let it through."""
        at = f" at cut-off {self.cutoff}" if self.cutoff else ""
        undo = "unfreeze" if self.state == "frozen" else "unlock"
        goes_on = " (queries, source-data verification and signatures go on)" if self.state == "frozen" else ""
        return f"{self.what} is {self.state}{at}{goes_on}: cannot {doing}; ask the data manager to {undo} it"


def _holds(conn: Connection, randomization_id: int, record_keys: Iterable[str] = ()) -> list[Hold]:
    covering = or_(DataLock.scope == "database",
                   and_(DataLock.randomization_id == randomization_id, DataLock.scope == "casebook"))
    keys = list(record_keys)
    if keys:
        covering = or_(covering, and_(DataLock.randomization_id == randomization_id, DataLock.scope == "record",
                                      DataLock.record_key.in_(keys)))
    rows = conn.execute(select(DataLock.scope, DataLock.state, DataLock.target, DataLock.cutoff)
                        .where(covering, DataLock.state != "open")).all()
    return [Hold(r.scope, r.state, r.target, r.cutoff) for r in rows]


def _strongest(held: Iterable[Hold]) -> Hold | None:
    # a lock before a freeze, then the widest (database, casebook, record)
    return min(held, key=lambda h: (-_STRENGTH[h.state], _SCOPE_ORDER[h.scope]), default=None)


def hold_on(conn: Connection, randomization_id: int, record_key: str | None = None) -> Hold | None:
    """The strongest freeze or lock on the subject's casebook (and, given ``record_key``, on that
    record): a lock before a freeze, then the widest (database, casebook, record)."""
    return _strongest(_holds(conn, randomization_id, () if record_key is None else (record_key,)))


def holds_on(conn: Connection, randomization_id: int, record_keys: Iterable[str]) -> dict[str, Hold | None]:
    """:func:`hold_on` of each of the subject's ``record_keys``, read in one query (a visit save's entries)."""
    keys = list(record_keys)
    held = _holds(conn, randomization_id, keys)
    wide = [h for h in held if h.scope != "record"]
    return {k: _strongest(wide + [h for h in held if h.scope == "record" and h.target.partition("|")[2] == k])
            for k in keys}


def refuse_hold(hold: Hold | None, doing: str, *, while_frozen: bool = False) -> None:
    """Raise Conflict when ``hold`` is a lock (or, unless ``while_frozen``, a freeze).

    Data changes are refused by both; queries, SDV and signatures go on while frozen."""
    if hold is not None and (hold.state == "locked" or not while_frozen):
        raise Conflict(hold.refusal(doing))


def refuse_if_held(conn: Connection, randomization_id: int, doing: str, *, record_key: str | None = None,
                   while_frozen: bool = False) -> None:
    """:func:`refuse_hold` of the strongest hold covering what ``doing`` touches."""
    refuse_hold(hold_on(conn, randomization_id, record_key), doing, while_frozen=while_frozen)


def lock_states(conn: Connection, randomization_id: int) -> tuple[str, dict[str, str]]:
    """The casebook's state (the stronger of the database's and its own) and each record's
    state where a record-level hold makes it stronger."""
    rows = conn.execute(select(DataLock.scope, DataLock.state, DataLock.record_key).where(
        or_(DataLock.scope == "database", DataLock.randomization_id == randomization_id),
        DataLock.state != "open")).all()
    book = strongest_hold(r.state for r in rows if r.scope != "record")
    records = {r.record_key: r.state for r in rows
               if r.scope == "record" and _STRENGTH[r.state] > _STRENGTH[book]}
    return book, records
