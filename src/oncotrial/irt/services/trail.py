"""The audit trail as a reader may see it: arms hidden from whoever is blind to them, and a
monitor's assigned sites only.

A monitor reads the casebooks, queries and randomizations of the sites an admin assigned them
(:attr:`~oncotrial.irt.services.actors.Actor.visible_sites`); the trail names the same subjects, so
it is cut to the same sites: links about a subject of those sites, about those sites, about the
monitor themself, and the trial-wide ones (set-up, database locks, unblinded analyses). A kind of
link not named here is withheld from a site-limited reader, so a new kind leaks nothing by default.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from oncotrial.irt.db.models import AuditEntry, Randomization, Site
from oncotrial.irt.services import locks, monitors, unblinding
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.records import sees_arms
from oncotrial.irt.services.trial import Trial

READERS = ("statistician", "monitor", "data_manager", "admin")
# The roles that may read randomizations (and so arms) in an open-label trial; the others read the
# trail without them. In a masked trial only the unblinded roles read them.
READS_ARMS = ("statistician", "monitor")
HIDDEN = ("arm", "list_sequence")

# entity_id is the subject id, or "subject|..." (a record, a query, an SDV mark)
SUBJECT_ENTITIES = frozenset({"randomization", "form_record", "query", "sdv", "signature", unblinding.ENTITY,
                              locks.ENTITY["casebook"], locks.ENTITY["record"]})
TRIAL_ENTITIES = frozenset({"trial", locks.ENTITY["database"], "analysis"})
OWN_ENTITIES = frozenset({"user", monitors.ENTITY})  # entity_id is a user name


def _shown(text: str, blinded: bool) -> Any:
    doc = json.loads(text)
    if blinded and isinstance(doc, dict):
        doc = {k: ("(hidden)" if k in HIDDEN else v) for k, v in doc.items()}
    return doc


def _public(r: Any, blinded: bool) -> dict[str, Any]:
    return {"seq": r.seq, "ts": r.ts, "actor": r.actor, "action": r.action, "entity": r.entity,
            "entity_id": r.entity_id, "old": _shown(r.old, blinded), "new": _shown(r.new, blinded),
            "reason": r.reason, "prev_hash": r.prev_hash, "hash": r.hash}


def _reach(conn: Connection, actor: Actor) -> Any:
    """Whether a link is shown to a site-limited ``actor``, as a function of the row."""
    subjects = set(conn.execute(select(Randomization.subject_id)
                                .where(actor.site_condition(Randomization.site_id))).scalars())
    codes = set(conn.execute(select(Site.code).where(actor.site_condition(Site.id))).scalars())

    def shown(r: Any) -> bool:
        if r.entity in SUBJECT_ENTITIES:
            return r.entity_id.split("|", 1)[0] in subjects
        if r.entity == "site":
            return r.entity_id in codes
        if r.entity in OWN_ENTITIES:
            return r.entity_id == actor.name
        return r.entity in TRIAL_ENTITIES

    return shown


def trail_entries(conn: Connection, trial: Trial, actor: Actor, *, after: int = 0, limit: int = 500
                  ) -> list[dict[str, Any]]:
    """Up to ``limit`` links after chain position ``after``, in chain order, as ``actor`` may see them.

    A page of a site-limited reader holds only their links; the next page starts after the last
    link's ``seq``, as for everyone.
    """
    blinded = actor.role not in READS_ARMS or not sees_arms(trial, actor)
    query = select(AuditEntry.__table__).order_by(AuditEntry.seq)
    if actor.visible_sites is None:
        rows = conn.execute(query.where(AuditEntry.seq > after).limit(limit)).all()
        return [_public(r, blinded) for r in rows]
    shown = _reach(conn, actor)
    out: list[dict[str, Any]] = []
    cursor = after
    while len(out) < limit:
        rows = conn.execute(query.where(AuditEntry.seq > cursor).limit(max(limit, 500))).all()
        if not rows:
            break
        out.extend(_public(r, blinded) for r in rows if shown(r))
        cursor = rows[-1].seq
    return out[:limit]
