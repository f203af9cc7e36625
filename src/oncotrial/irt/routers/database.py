"""/api/v1/database: the whole trial's data frozen or locked at a data cut-off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.schemas import DatabaseLockIn
from oncotrial.irt.services import locks
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1/database", tags=["data capture"])
READERS = ("site_coordinator", "investigator", "statistician", "monitor", "data_manager", "admin")


@router.get("")
def get_database_state(actor: Annotated[Actor, Depends(require(*READERS))],
                       engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    """Whether the database is open, frozen or locked, at which cut-off, since when and why."""
    with read_tx(engine) as conn:
        return locks.database_hold(conn)


@router.get("/casebooks")
def list_casebook_states(
    actor: Annotated[Actor, Depends(require(*locks.STATE_READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    state: Annotated[str | None, Query()] = None,
    ready: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Each casebook's hold, entries, unresolved queries and last signature (``ready=true``: those a
    lock would take now), with the count of each hold."""
    with read_tx(engine) as conn:
        return locks.casebook_states(conn, actor, state=state, ready=ready, limit=limit, offset=offset)


def _hold_route(action: str, summary: str) -> None:
    def change(body: DatabaseLockIn, actor: Annotated[Actor, Depends(require(*locks.LOCKERS))],
               engine: Annotated[Engine, Depends(get_engine)],
               trial: Annotated[Trial, Depends(get_trial)]) -> dict[str, Any]:
        return locks.change_hold(engine, trial, actor, action, cutoff=body.cutoff, reason=body.reason)

    change.__name__ = f"{action}_database"
    change.__doc__ = summary
    router.post(f"/{action}")(change)


_hold_route("freeze", "Freeze every casebook (optionally at a ``cutoff``): no data change; queries, SDV and "
                      "signatures go on.")
_hold_route("lock", "Lock the database at the data ``cutoff`` (409 while any query is open or answered).")
_hold_route("unfreeze", "Lift the database freeze (a reason is required).")
_hold_route("unlock", "Lift the database lock (a reason is required).")
