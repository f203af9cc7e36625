"""Balance, the allocation list (statistician only) and CDISC export."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, select

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.db.models import AllocationRow, TrialSetup
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.balance import balance
from oncotrial.irt.services.export import blinded_frame, csv_safe, export_frame, strata_labels
from oncotrial.irt.services.records import sees_arms
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/balance")
def get_balance(
    actor: Annotated[Actor, Depends(require("statistician"))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return balance(conn, trial)


@router.get("/allocation-list")
def get_allocation_list(
    actor: Annotated[Actor, Depends(require("statistician"))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """The stored list with its seed and checksum, for the unblinded statistician only."""
    with read_tx(engine) as conn:
        setup = conn.execute(select(TrialSetup.__table__)).one()
        rows = conn.execute(select(AllocationRow.stratum, AllocationRow.sequence, AllocationRow.block,
                                   AllocationRow.block_size, AllocationRow.arm, AllocationRow.assigned)
                            .order_by(AllocationRow.id)).all()
    return {"study_id": setup.study_id, "method": setup.method, "seed": setup.seed,
            "checksum": setup.list_checksum, "rows": [
                {"stratum": r.stratum, "sequence": r.sequence, "block": r.block, "block_size": r.block_size,
                 "arm": r.arm, "assigned": bool(r.assigned)} for r in rows]}


@router.get("/export/{dataset}")
def export(
    dataset: Literal["dm", "ds", "adsl"],
    actor: Annotated[Actor, Depends(require("statistician", "monitor"))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    """Randomized subjects as SDTM DM / DS rows or ADSL-ready columns (STRATwR / STRATwV); a monitor's
    assigned sites only."""
    with read_tx(engine) as conn:
        frame = export_frame(conn, trial, dataset, actor)
    if not sees_arms(trial, actor):
        frame = blinded_frame(frame)
    if format == "json":
        return JSONResponse({"dataset": dataset.upper(), "labels": strata_labels(trial),
                             "rows": frame.to_dict(orient="records")})
    buf = io.StringIO()
    csv_safe(frame).to_csv(buf, index=False)
    return Response(buf.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{dataset}.csv"'})
