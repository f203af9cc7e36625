"""/api/v1/audit: verify the chain; read the trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from oncotrial.irt.audit import verify_chain
from oncotrial.irt.config import ROLES
from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services import trail
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
    actor: Annotated[Actor, Depends(require(*trail.READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The links after chain position ``after``: blinded for whoever is blind to arms, and for a
    monitor those of their assigned sites only (:mod:`oncotrial.irt.services.trail`)."""
    with read_tx(engine) as conn:
        return {"items": trail.trail_entries(conn, trial, actor, after=after, limit=limit)}
