"""/api/v1/sdv: the monitors' source-data verification list across subjects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.services import sdv
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1/sdv", tags=["source-data verification"])


@router.get("")
def sdv_list(
    actor: Annotated[Actor, Depends(require(*sdv.LIST_READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
    state: Annotated[str | None, Query(max_length=16)] = None,
    site: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Saved records with their SDV state (verified, changed, pending, not_required) and the count of each."""
    with read_tx(engine) as conn:
        return sdv.sdv_list(conn, actor, trial.study_id, state=state, site=site, limit=limit, offset=offset)
