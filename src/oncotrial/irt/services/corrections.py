"""Correcting a randomization: the verified strata (STRATwV), with a reason, never the arm."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, insert, select, update

from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import Correction, Randomization
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import Forbidden, Invalid, NotFound
from oncotrial.irt.services.records import list_corrections, record_query, to_record
from oncotrial.irt.services.trial import Trial
from oncotrial.irt.services.unblinding import subject_unblinders


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
        if row is None or not actor.sees_site(row.site_id):
            raise NotFound(f"subject_id: {subject_id!r} is not randomized{actor.where}")
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
        result = conn.execute(record_query().where(Randomization.id == row.id)).one()
        record = to_record(trial, result, actor, subject_unblinders(conn, trial, subject_id))
        record["corrections"] = list_corrections(conn, row.id)
    return record
