"""Emergency unblinding of one patient by their investigator (ICH E6(R3) 2.8.6; 21 CFR 312.62).

In a masked trial only the unblinded roles see arms (:func:`oncotrial.irt.services.records.sees_arms`).
When a patient's care needs the treatment known, the patient's investigator unblinds that one
patient, giving the reason; the arm is shown to them in the answer, the event is a link of the
audit chain (who, when, why), and the casebook lists it so monitors and the sponsor see every
unblinding. The trial's other patients stay masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, select

from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import AuditEntry
from oncotrial.irt.security import ts
from oncotrial.irt.services.actors import Actor, user_of_label
from oncotrial.irt.services.errors import Conflict, Forbidden, Invalid
from oncotrial.irt.services.subjects import subject_row
from oncotrial.irt.services.trial import Trial

UNBLINDERS = ("investigator",)
ENTITY = "unblinding"


def emergency_unblind(engine: Engine, trial: Trial, actor: Actor, subject_id: str, reason: str) -> dict[str, Any]:
    """Show ``actor`` (the subject's investigator) the subject's arm, and record that they saw it and why."""
    if actor.role not in UNBLINDERS:
        raise Forbidden(f"role {actor.role} cannot unblind; only the patient's investigator can, in an emergency")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: required to unblind (the medical need to know the treatment)")
    if not trial.masked:
        raise Conflict("the trial is open label: every patient's arm is already shown; there is nothing to unblind")
    with write_tx(engine) as conn:
        subj = subject_row(conn, actor, subject_id, lock=True)  # another site's patient answers 404
        arm = trial.arm(subj.arm)
        now = ts()
        audit.append(conn, actor=actor.label, action="unblind", entity=ENTITY, entity_id=subject_id,
                     new={"arm": arm.code}, reason=reason, when=now)
    return {"subject_id": subject_id, "arm": arm.code, "arm_name": arm.name, "unblinded_at": now,
            "unblinded_by": actor.name, "reason": reason}


def subject_unblindings(conn: Connection, subject_id: str) -> list[dict[str, Any]]:
    """Every emergency unblinding of the subject, oldest first: when, by whom, why (not the arm)."""
    rows = conn.execute(select(AuditEntry.ts, AuditEntry.actor, AuditEntry.reason)
                        .where(AuditEntry.entity == ENTITY, AuditEntry.entity_id == subject_id)
                        .order_by(AuditEntry.seq)).all()
    return [{"unblinded_at": r.ts, "unblinded_by": user_of_label(r.actor), "reason": r.reason} for r in rows]


def unblinders_of(conn: Connection, trial: Trial, subject_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The users who emergency-unblinded each of ``subject_ids`` (those never unblinded are absent);
    nothing to look up in an open-label trial."""
    ids = sorted(set(subject_ids))
    if not trial.masked or not ids:
        return {}
    rows = conn.execute(select(AuditEntry.entity_id, AuditEntry.actor)
                        .where(AuditEntry.entity == ENTITY, AuditEntry.entity_id.in_(ids))).all()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r.entity_id, set()).add(user_of_label(r.actor))
    return {k: frozenset(v) for k, v in out.items()}


def subject_unblinders(conn: Connection, trial: Trial, subject_id: str) -> frozenset[str]:
    """Who emergency-unblinded one subject (empty if nobody did)."""
    return unblinders_of(conn, trial, [subject_id]).get(subject_id, frozenset())


def record_unblinded_analysis(engine: Engine, *, actor: str, reason: str, cutoff: str | None) -> None:
    """Put on the audit chain that the analysis of a masked trial was run by arm: who, why, at
    which cut-off (before anything is computed, so an unblinded look is never unrecorded)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: required to analyse a masked trial by arm (e.g. the DSMB's interim analysis)")
    with write_tx(engine) as conn:
        audit.append(conn, actor=actor, action="unblinded_analysis", entity="analysis", entity_id="by_arm",
                     new={"cutoff": cutoff}, reason=reason)

