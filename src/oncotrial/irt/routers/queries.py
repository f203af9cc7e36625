"""/api/v1/queries: the query list (a monitor's and data manager's work list, a site's to-do list)
and each query's answer, close and re-open."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import get_engine, require
from oncotrial.irt.schemas import QueryActionIn, QueryAnswerIn
from oncotrial.irt.services import queries
from oncotrial.irt.services.actors import Actor

router = APIRouter(prefix="/api/v1/queries", tags=["queries"])


@router.get("")
def list_queries(
    actor: Annotated[Actor, Depends(require(*queries.READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    status: Annotated[str | None, Query(max_length=16)] = None,
    site: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Queries in the order they were opened, by status, site and subject; a coordinator sees their site's."""
    with read_tx(engine) as conn:
        return queries.list_queries(conn, actor, status=status, site=site, subject_id=subject_id, limit=limit,
                                    offset=offset)


@router.post("/{query_id}/answer")
def answer_query(
    query_id: int,
    body: QueryAnswerIn,
    actor: Annotated[Actor, Depends(require(*queries.ANSWERERS))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """The site answers an open query (409 when it is not open)."""
    return queries.answer_query(engine, actor, query_id, body.text)


@router.post("/{query_id}/close")
def close_query(
    query_id: int,
    body: QueryActionIn,
    actor: Annotated[Actor, Depends(require(*queries.REVIEWERS))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """Close an open or answered query (a reason is required when the site has not answered)."""
    return queries.close_query(engine, actor, query_id, body.reason)


@router.post("/{query_id}/reopen")
def reopen_query(
    query_id: int,
    body: QueryActionIn,
    actor: Annotated[Actor, Depends(require(*queries.REVIEWERS))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """Re-open a closed query, with a reason."""
    return queries.reopen_query(engine, actor, query_id, body.reason)
