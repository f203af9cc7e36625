"""/api/v1/forms: operations on a protocol form across subjects (moving entries to a new version)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.schemas import MigrationIn
from oncotrial.irt.services import forms
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1/forms", tags=["data capture"])


@router.post("/{form_id}/migrate")
def migrate_form(
    form_id: str,
    body: MigrationIn,
    actor: Annotated[Actor, Depends(require(*forms.MIGRATORS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    """Move the saved entries of a form to ``to_version`` (after an amendment), for the subjects named
    or all; entries that would lose a value, or sit in a locked casebook, are listed as skipped."""
    return forms.migrate_form_version(engine, trial, actor, form_id, body.to_version,
                                      subject_ids=body.subject_ids, reason=body.reason)
