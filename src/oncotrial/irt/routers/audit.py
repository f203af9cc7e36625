"""/api/v1/audit: verify the chain; read the trail."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine, select

from oncotrial.irt.audit import verify_chain
from oncotrial.irt.config import ROLES
from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.db.models import AuditEntry
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.records import sees_arms
from oncotrial.irt.services.trial import Trial
from oncotrial.irt.services.integrity import verify_records

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
SEES_PROBLEMS = ("statistician", "monitor", "data_manager", "admin")


def verify(engine: Engine) -> dict[str, Any]:
    with read_tx(engine) as conn:
        report = verify_chain(conn)
        record_problems = verify_records(conn)
    out = report.to_dict()
    out["problems"] = out["problems"] + record_problems
    out["problem_count"] = len(out["problems"])
    out["ok"] = report.ok and not record_problems
    return out


@router.get("/verify")
def audit_verify(actor: Annotated[Actor, Depends(require(*ROLES))],
                 engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    """Recompute the hash chain and check the randomizations against it; ``ok`` only if intact.

    Problem messages name subjects of every site, so a site coordinator gets only the
    verdict and the number of problems, not the messages.
    """
    out = verify(engine)
    if actor.role not in SEES_PROBLEMS:
        out.pop("problems")
        if out["problem_count"]:
            out["detail"] = f"problem details are shown to the roles {', '.join(SEES_PROBLEMS)}"
    return out


@router.get("")
def audit_entries(
    actor: Annotated[Actor, Depends(require("statistician", "monitor", "data_manager", "admin"))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    with read_tx(engine) as conn:
        rows = conn.execute(select(AuditEntry.__table__).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                            .limit(limit)).all()
    blinded = actor.role not in READS_ARMS or not sees_arms(trial, actor)
    return {"items": [{"seq": r.seq, "ts": r.ts, "actor": r.actor, "action": r.action, "entity": r.entity,
                       "entity_id": r.entity_id, "old": _shown(r.old, blinded), "new": _shown(r.new, blinded),
                       "reason": r.reason, "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]}


# The roles that may read randomizations (and so arms) in an open-label trial; the others read the
# trail without them. In a masked trial only the unblinded roles read them.
READS_ARMS = ("statistician", "monitor")
HIDDEN = ("arm", "list_sequence")


def _shown(text: str, blinded: bool) -> Any:
    doc = json.loads(text)
    if blinded and isinstance(doc, dict):
        doc = {k: ("(hidden)" if k in HIDDEN else v) for k, v in doc.items()}
    return doc
