"""Reading randomizations back in their public form, as a role may see them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from oncotrial.irt.config import UNBLINDED_ROLES
from oncotrial.irt.db.models import Correction, Randomization, Site, User
from oncotrial.irt.services.actors import Actor, usubjid
from oncotrial.irt.services.errors import NotFound
from oncotrial.irt.services.trial import Trial
from oncotrial.irt.services.unblinding import subject_unblinders, unblinders_of


_RECORD_COLUMNS = (Randomization.id, Randomization.randomization_number, Randomization.subject_id,
                   Site.code.label("site"), Randomization.arm, Randomization.stratum,
                   Randomization.strata_randomized, Randomization.strata_verified,
                   Randomization.randomized_at, User.name.label("randomized_by"), Randomization.site_id)

def record_query():  # noqa: ANN202
    return (select(*_RECORD_COLUMNS).join(Site, Site.id == Randomization.site_id)
            .join(User, User.id == Randomization.randomized_by))

BLINDED = "BLINDED"


def sees_arms(trial: Trial, actor: Actor) -> bool:
    """Whether ``actor`` sees subjects' arms: everyone in an open-label trial, only the unblinded
    roles (:data:`oncotrial.irt.config.UNBLINDED_ROLES`) in a masked one."""
    return not trial.masked or actor.role in UNBLINDED_ROLES


def masked_for(trial: Trial, actor: Actor, record: dict[str, Any],
               unblinders: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``record`` with ``unblinded`` (whether the subject was emergency-unblinded, shown to every
    reader) and its arm hidden when ``actor`` is blind to it. The investigator who unblinded the
    subject keeps seeing that subject's arm: they were told it, and a list that hid it again would
    invite a second unblinding to read what is already known."""
    record = {**record, "unblinded": bool(unblinders)}
    if sees_arms(trial, actor) or actor.name in unblinders:
        return record
    return {**record, "arm": BLINDED, "arm_name": "Blinded"}


def to_record(trial: Trial, row: Any, actor: Actor, unblinders: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The public form of a randomization (as returned by the API), as ``actor`` may see it;
    ``unblinders``: who emergency-unblinded the subject
    (:func:`oncotrial.irt.services.unblinding.unblinders_of`)."""
    return masked_for(trial, actor, _record_of(trial, row), unblinders)


def _record_of(trial: Trial, row: Any) -> dict[str, Any]:
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

def get_randomization(conn: Connection, trial: Trial, actor: Actor, subject_id: str) -> dict[str, Any]:
    row = conn.execute(record_query().where(Randomization.subject_id == subject_id)).one_or_none()
    # Another site's subject answers exactly like a missing one: a coordinator must not
    # learn which subject ids exist elsewhere.
    if row is None or not actor.sees_site(row.site_id):
        raise NotFound(f"subject_id: no randomization of {subject_id!r}{actor.where}" if actor.where
                       else f"subject_id: {subject_id!r} is not randomized")
    record = to_record(trial, row, actor, subject_unblinders(conn, trial, subject_id))
    record["corrections"] = list_corrections(conn, row.id)
    return record

def _listed(actor: Actor, site: str | None, search: str | None):  # noqa: ANN202
    q = record_query()
    own = actor.site_condition(Randomization.site_id)
    if own is not None:
        q = q.where(own)
    if site is not None:
        q = q.where(Site.code == site)
    if search:
        # LIKE's wildcards in the search are matched literally.
        pattern = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(Randomization.subject_id.ilike(f"%{pattern}%", escape="\\"))
    return q


def list_randomizations(conn: Connection, trial: Trial, actor: Actor, *, site: str | None = None,
                        search: str | None = None, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    """Randomizations in number order, those of the sites the actor sees; ``search`` keeps subject ids
    containing it (any case)."""
    q = _listed(actor, site, search)
    rows = conn.execute(q.order_by(Randomization.randomization_number).limit(limit).offset(offset)).all()
    unblinders = unblinders_of(conn, trial, [r.subject_id for r in rows])
    return [to_record(trial, r, actor, unblinders.get(r.subject_id, frozenset())) for r in rows]


def count_randomizations(conn: Connection, actor: Actor, *, site: str | None = None,
                         search: str | None = None) -> int:
    """How many randomizations :func:`list_randomizations` pages through."""
    return conn.execute(select(func.count()).select_from(_listed(actor, site, search).subquery())).scalar_one()

def list_corrections(conn: Connection, randomization_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(Correction.field, Correction.old_value, Correction.new_value, Correction.reason,
                               Correction.corrected_at, User.name)
                        .join(User, User.id == Correction.corrected_by)
                        .where(Correction.randomization_id == randomization_id).order_by(Correction.id)).all()
    return [{"field": r.field, "old": json.loads(r.old_value), "new": json.loads(r.new_value), "reason": r.reason,
             "corrected_at": r.corrected_at, "corrected_by": r.name} for r in rows]
