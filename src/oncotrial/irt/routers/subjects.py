"""/api/v1/subjects: a randomized subject's data capture (eCRF entries, their casebook, its freezes, locks and queries)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import client_address, get_engine, get_trial, require
from oncotrial.irt.schemas import FormEntryIn, LockIn, QueryIn, SdvBatchIn, SdvIn, SignIn, UnblindIn, VisitEntriesIn
from oncotrial.irt.services import forms, locks, queries, sdv, signatures, unblinding
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import TooManyAttempts
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1/subjects", tags=["data capture"])
READERS = ("site_coordinator", "investigator", "statistician", "monitor", "data_manager")


@router.post("/{subject_id}/records")
def save_record(
    subject_id: str,
    body: FormEntryIn,
    actor: Annotated[Actor, Depends(require(*forms.WRITERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> JSONResponse:
    """Enter a form (201) or change a saved one (200: give its ``revision`` and a ``reason``; 409 when
    someone saved it since). Hard rules refuse the save (422 naming form, field and rule); a missing
    required value or a value out of range is saved and shows as a finding of the casebook."""
    entry = forms.save_form(engine, trial, actor, subject_id, body.visit, body.form, body.values,
                            version=body.version, key=body.key, seq=body.seq, revision=body.revision,
                            reason=body.reason, visitnum=body.visitnum)
    return JSONResponse(entry, status_code=201 if entry["revision"] == 1 else 200)


@router.post("/{subject_id}/visits/{visit}/records")
def save_visit_records(
    subject_id: str,
    visit: str,
    body: VisitEntriesIn,
    actor: Annotated[Actor, Depends(require(*forms.WRITERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> JSONResponse:
    """Save a visit's entries together, all or none, each as a single save would (201 when any is
    new, 200 when all are changes). A refused entry refuses the batch with its position, form, field
    and rule named (422; 409 for a stale revision); the edit checks run once, on the saved batch."""
    entries = [forms.Entry(e.form, e.values, version=e.version, key=e.key, seq=e.seq, revision=e.revision,
                           reason=e.reason, visitnum=e.visitnum) for e in body.entries]
    saved = forms.save_visit(engine, trial, actor, subject_id, visit, entries)
    created = any(r["revision"] == 1 for r in saved)
    return JSONResponse({"subject_id": subject_id, "visit": visit, "records": saved},
                        status_code=201 if created else 200)


@router.get("/{subject_id}/casebook")
def get_casebook(
    subject_id: str,
    actor: Annotated[Actor, Depends(require(*READERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    """The subject's saved entries and the edit checks' findings (the randomization is its RAND form)."""
    with read_tx(engine) as conn:
        return forms.casebook(conn, trial, actor, subject_id)


def _hold_route(action: str, summary: str) -> None:
    def change(subject_id: str, body: LockIn, actor: Annotated[Actor, Depends(require(*locks.LOCKERS))],
               engine: Annotated[Engine, Depends(get_engine)],
               trial: Annotated[Trial, Depends(get_trial)]) -> dict[str, Any]:
        return locks.change_hold(engine, trial, actor, action, subject_id=subject_id, record=body.record,
                                 reason=body.reason)

    change.__name__ = f"{action}_casebook"
    change.__doc__ = summary
    router.post(f"/{{subject_id}}/{action}")(change)


_hold_route("freeze", "Freeze the casebook, or one ``record`` of it: no data change while queries, SDV and "
                      "signatures go on.")
_hold_route("lock", "Lock the casebook, or one ``record`` of it, for analysis (409 while a query under it is "
                    "open or answered); nothing changes until it is unlocked.")
_hold_route("unfreeze", "Lift a freeze (a reason is required).")
_hold_route("unlock", "Lift a lock (a reason is required).")


@router.post("/{subject_id}/queries", status_code=201)
def raise_query(
    subject_id: str,
    body: QueryIn,
    actor: Annotated[Actor, Depends(require(*queries.REVIEWERS))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """Raise a query on one of the subject's saved records (and a field of it); the site answers it."""
    return queries.raise_query(engine, actor, subject_id, body.record, body.field, body.text)


@router.post("/{subject_id}/sdv", status_code=201)
def verify_record(
    subject_id: str,
    body: SdvIn,
    actor: Annotated[Actor, Depends(require(*sdv.VERIFIERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    """Mark the current revision of a saved record verified against source (409 when it changed since)."""
    return sdv.verify_record(engine, actor, trial.study_id, subject_id, body.record, body.revision)


@router.post("/{subject_id}/sdv/batch", status_code=201)
def verify_records(
    subject_id: str,
    body: SdvBatchIn,
    actor: Annotated[Actor, Depends(require(*sdv.VERIFIERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    """Mark several records of the subject verified, all or none, each as a single verification
    would. A refused record refuses the batch with its position and rule named (409 when it changed
    since or is verified already, 422 when it is not saved)."""
    marks = sdv.verify_records(engine, actor, trial.study_id, subject_id,
                               [(r.record, r.revision) for r in body.records])
    return {"subject_id": subject_id, "records": marks}


@router.post("/{subject_id}/signature", status_code=201)
def sign_casebook(
    subject_id: str,
    body: SignIn,
    request: Request,
    actor: Annotated[Actor, Depends(require(*signatures.SIGNERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> JSONResponse:
    """The investigator signs the casebook as it stands, re-entering their password, with a meaning
    (``approval`` or ``review``). A wrong password counts against the account's log-in limits (429
    once they are reached), so a stolen token cannot be used to guess the password."""
    try:
        signed = signatures.sign_casebook_limited(engine, trial, actor, subject_id, body.password, body.meaning,
                                                  limiter=request.app.state.login_limiter,
                                                  client=client_address(request))
    except TooManyAttempts as exc:
        return JSONResponse({"detail": exc.message}, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    return JSONResponse(signed, status_code=201)


@router.post("/{subject_id}/unblind")
def unblind(
    subject_id: str,
    body: UnblindIn,
    actor: Annotated[Actor, Depends(require(*unblinding.UNBLINDERS))],
    engine: Annotated[Engine, Depends(get_engine)],
    trial: Annotated[Trial, Depends(get_trial)],
) -> dict[str, Any]:
    """Emergency unblinding of one patient by their investigator: the arm, with the event recorded
    (who, when, why) on the audit chain and in the casebook. 409 in an open-label trial."""
    return unblinding.emergency_unblind(engine, trial, actor, subject_id, body.reason)
