"""/api/v1/randomizations: randomize, read back, list, correct."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.schemas import CorrectionIn, RandomizationIn
from oncotrial.irt.security import stored_moment
from oncotrial.irt.services import corrections, records
from oncotrial.irt.services.actors import Actor, RandomizationRequest
from oncotrial.irt.services.randomize import randomize_async
from oncotrial.irt.services.errors import Invalid
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1/randomizations", tags=["randomizations"])
READERS = ("site_coordinator", "investigator", "statistician", "monitor", "data_manager")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@router.post("", status_code=201)
async def create_randomization(
    body: RandomizationIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("site_coordinator"))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Randomize a subject at the caller's site. Retrying with the same ``Idempotency-Key``
    returns the same randomization (header ``Idempotent-Replayed: true``), never a second one."""
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Invalid("Idempotency-Key: expected 1-200 printable ASCII characters without spaces")
    when = None
    if body.randomized_at is not None:
        try:
            when = stored_moment(body.randomized_at, "randomized_at")
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    req = RandomizationRequest(body.subject_id, body.site, body.strata, body.eligibility_confirmed, when)
    # Awaited on the event loop: the writes run in the group committer's thread and the
    # answer comes once they are durable (the hot path holds no pool thread meanwhile).
    state = request.app.state
    record, replayed = await randomize_async(state.committer, state.trial, actor, req, idempotency_key)
    # A JSONResponse skips FastAPI's generic re-encoding of the record: it is plain JSON already.
    return JSONResponse(record, status_code=201, headers={"Idempotent-Replayed": "true"} if replayed else None)


@router.get("")
def list_randomizations(
    actor: Annotated[Actor, Depends(require(*READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
    site: Annotated[str | None, Query(max_length=32)] = None,
    search: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Randomizations in number order, of the sites the user sees; ``search`` keeps subject ids
    containing it; ``total`` counts every match, for paging."""
    with read_tx(engine) as conn:
        items = records.list_randomizations(conn, trial, actor, site=site, search=search, limit=limit, offset=offset)
        total = records.count_randomizations(conn, actor, site=site, search=search)
    return {"items": items, "count": len(items), "total": total, "limit": limit, "offset": offset}


@router.get("/{subject_id}")
def get_randomization(
    subject_id: str,
    actor: Annotated[Actor, Depends(require(*READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return records.get_randomization(conn, trial, actor, subject_id)


@router.post("/{subject_id}/corrections", status_code=201)
def correct_randomization(
    subject_id: str,
    body: CorrectionIn,
    actor: Annotated[Actor, Depends(require("site_coordinator", "statistician"))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    """Record the verified strata (STRATwV) with a reason; arm and strata as randomized never change."""
    return corrections.correct_strata(engine, trial, actor, subject_id, body.strata_verified, body.reason)
