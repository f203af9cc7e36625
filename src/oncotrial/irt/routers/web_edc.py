"""Server-rendered data-capture pages: the patient list (searchable, paged), a patient's casebook,
eCRF entry rendered from the protocol, the query and SDV work lists and the database lock page.

Every page reads and every form writes through the same services as the API
(:mod:`oncotrial.irt.services`), so the rules, refusals and audit links are the API's. A form
post that succeeds redirects to the page it came from (post/redirect/get); one that is refused
shows the page again with the reason and the values typed, with the service's status code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from oncotrial.collect import visit_schedule
from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import client_address, require_page
from oncotrial.irt.routers.web import Form, render_page
from oncotrial.irt.services import forms, locks, queries, records, sdv, signatures
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import Invalid, IrtError
from oncotrial.irt.services.subjects import RAND_FORM, stored_protocol
from oncotrial.protocol import Protocol

router = APIRouter(include_in_schema=False)
READERS = ("site_coordinator", "investigator", "statistician", "monitor", "data_manager")
PAGE_SIZE = 50
READER = require_page(*READERS, refusal="role {role} does not see patients")
QUERY_READER = require_page(*queries.READERS, refusal="role {role} does not see queries")
SDV_READER = require_page(*sdv.LIST_READERS, refusal="role {role} does not see the SDV list")
DATA_MANAGER = require_page(*locks.LOCKERS, refusal="role {role} cannot freeze or lock the database")


def _casebook_url(subject_id: str, **query: Any) -> str:
    tail = urlencode({k: v for k, v in query.items() if v not in (None, "")})
    return f"/patients/{quote(subject_id, safe='')}" + (f"?{tail}" if tail else "")


def _done(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _status(exc: IrtError) -> int:
    return exc.status_code if type(exc) is not IrtError else 422


def _labels(trial: Any) -> dict[str, dict[str, str]]:
    return {f.name: dict(f.levels) for f in trial.factors}


@router.get("/patients")
def patients(request: Request, actor: Annotated[Actor, Depends(READER)], q: str = "", page: int = 1) -> Response:
    """The randomized patients the user sees, by number, PAGE_SIZE a page; ``q`` searches subject ids."""
    trial = request.app.state.trial
    q = q.strip()[:64]
    with read_tx(request.app.state.engine) as conn:
        total = records.count_randomizations(conn, actor, search=q or None)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        items = records.list_randomizations(conn, trial, actor, search=q or None, limit=PAGE_SIZE,
                                            offset=(page - 1) * PAGE_SIZE)
    factors = [(f.name, f.label) for f in trial.factors]
    return render_page(request, "patients.html", {
        "items": items, "trial": trial, "total": total, "page": page, "pages": pages, "q": q,
        "factors": factors, "labels": _labels(trial),
        "prev_url": f"/patients?{urlencode({'q': q, 'page': page - 1})}" if page > 1 else None,
        "next_url": f"/patients?{urlencode({'q': q, 'page': page + 1})}" if page < pages else None,
        "casebook_url": _casebook_url})


def _visit_names(protocol: Protocol, randomized_at: str) -> list[str]:
    """Visit names a site picks from: the schedule's for two years after randomization, then the logs."""
    start = dt.date.fromisoformat(randomized_at[:10])
    planned = [v.name for v in visit_schedule(protocol, start, until=start + dt.timedelta(days=730))]
    others = [v.name for v in protocol.edc.visits if v.kind in ("log", "unscheduled")]
    return list(dict.fromkeys(["SCREENING", *planned, *others]))


def _capabilities(actor: Actor) -> dict[str, bool]:
    return {"enter": actor.role in forms.WRITERS, "answer": actor.role in queries.ANSWERERS,
            "review": actor.role in queries.REVIEWERS, "verify": actor.role in sdv.VERIFIERS,
            "hold": actor.role in locks.LOCKERS, "sign": actor.role in signatures.SIGNERS}


def _read_casebook(request: Request, actor: Actor, subject_id: str) -> tuple[dict[str, Any], dict[str, Any], Protocol]:
    """The subject's randomization, casebook and the stored protocol, read in one transaction."""
    trial = request.app.state.trial
    with read_tx(request.app.state.engine) as conn:
        return (records.get_randomization(conn, trial, actor, subject_id),
                forms.casebook(conn, trial, actor, subject_id), stored_protocol(conn))


def _casebook_page(request: Request, actor: Actor, subject_id: str, *, error: str | None = None,
                   status: int = 200) -> Response:
    trial = request.app.state.trial
    subject, book, protocol = _read_casebook(request, actor, subject_id)
    by_record: dict[str, list[dict[str, Any]]] = {}
    for query in book["queries"]:
        by_record.setdefault(query["record"], []).append(query)
    entry_forms = [f for f in protocol.edc.forms if f.id != RAND_FORM]
    return render_page(request, "casebook.html", {
        "trial": trial, "subject": subject, "book": book, "error": error, "can": _capabilities(actor),
        "forms": {f.id: f for f in protocol.edc.forms}, "entry_forms": entry_forms,
        "visit_names": _visit_names(protocol, subject["randomized_at"]), "queries_by_record": by_record,
        "open_queries": {r: sum(q["status"] != "closed" for q in qs) for r, qs in by_record.items()},
        "labels": _labels(trial), "factors": [(f.name, f.label) for f in trial.factors],
        "meanings": signatures.MEANINGS, "casebook_url": _casebook_url}, status)


@router.get("/patients/{subject_id}")
def casebook_page(request: Request, subject_id: str, actor: Annotated[Actor, Depends(READER)]) -> Response:
    return _casebook_page(request, actor, subject_id)


def _entry_place(fields: dict[str, str]) -> dict[str, Any]:
    seq = fields.get("seq", "").strip()
    return {"visit": fields.get("visit", "").strip()[:64], "form": fields.get("form", "").strip()[:64],
            "key": fields.get("key", "").strip()[:64], "seq": int(seq) if seq.isdigit() else None}


def _entry_page(request: Request, actor: Actor, subject_id: str, place: dict[str, Any], *,
                typed: dict[str, str] | None = None, reason: str = "", error: str | None = None,
                status: int = 200) -> Response:
    trial = request.app.state.trial
    subject, book, protocol = _read_casebook(request, actor, subject_id)
    form = next((f for f in protocol.edc.forms if f.id == place["form"] and f.id != RAND_FORM), None)
    if form is None:
        raise Invalid(f"form: {place['form']!r} is not an entered form of the protocol "
                      f"(forms: {', '.join(f.id for f in protocol.edc.forms if f.id != RAND_FORM)})")
    instance = place["key"] or str(place["seq"] or 1)
    record = f"{place['visit']}|{form.id}|{instance}"
    saved = next((e for e in book["records"] if e["record"] == record), None)
    version = saved["version"] if saved else form.latest_version
    if typed is None:
        typed = {k: _shown(v) for k, v in (saved["values"] if saved else {}).items()}
    notes: dict[str, list[str]] = {}
    for f in book["findings"]:
        if f["record"] == record:
            notes.setdefault(f["field"], []).append(f"{f['check']}: {f['message']}")
    record_queries = [q for q in book["queries"] if q["record"] == record]
    return render_page(request, "entry.html", {
        "trial": trial, "subject": subject, "form": form, "fields": form.fields_of(version), "version": version,
        "place": place, "record": record, "saved": saved, "values": typed, "reason": reason, "error": error,
        "notes": notes, "queries": record_queries, "protocol": protocol, "can": _capabilities(actor),
        "casebook_url": _casebook_url}, status)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return "" if value is None else str(value)


@router.get("/patients/{subject_id}/entry")
def entry_page(request: Request, subject_id: str, actor: Annotated[Actor, Depends(READER)], visit: str = "",
               form: str = "", seq: str = "", key: str = "") -> Response:
    return _entry_page(request, actor, subject_id, _entry_place({"visit": visit, "form": form, "seq": seq,
                                                                  "key": key}))


@router.post("/patients/{subject_id}/entry")
async def entry_submit(request: Request, subject_id: str, fields: Form,
                       actor: Annotated[Actor, Depends(READER)]) -> Response:
    place = _entry_place(fields)
    typed = {k[2:]: v for k, v in fields.items() if k.startswith("f_")}
    values = {k: v for k, v in typed.items() if v.strip() != ""}  # a blank input is a value not given
    revision = fields.get("revision", "").strip()
    reason = fields.get("reason", "").strip()[:2000]
    try:
        await run_in_threadpool(
            forms.save_form, request.app.state.engine, request.app.state.trial, actor, subject_id, place["visit"],
            place["form"], values, key=place["key"], seq=place["seq"],
            revision=int(revision) if revision.isdigit() else None, reason=reason)
    except IrtError as exc:
        return _entry_page(request, actor, subject_id, place, typed=typed, reason=reason, error=exc.message,
                           status=_status(exc))
    return _done(_casebook_url(subject_id, saved=f"{place['visit']}|{place['form']}"))


async def _act(request: Request, actor: Actor, subject_id: str, call: Any, /, *args: Any, **kwargs: Any) -> Response:
    """Run one service call for a casebook form: back to the casebook, or the casebook with why not."""
    try:
        await run_in_threadpool(call, *args, **kwargs)
    except IrtError as exc:
        return _casebook_page(request, actor, subject_id, error=exc.message, status=_status(exc))
    return _done(_casebook_url(subject_id))


@router.post("/patients/{subject_id}/queries")
async def raise_query(request: Request, subject_id: str, fields: Form,
                      actor: Annotated[Actor, Depends(READER)]) -> Response:
    return await _act(request, actor, subject_id, queries.raise_query, request.app.state.engine, actor, subject_id,
                      fields.get("record", "")[:200], fields.get("field", "").strip()[:64],
                      fields.get("text", "")[:2000])


@router.post("/patients/{subject_id}/queries/{query_id}")
async def move_query(request: Request, subject_id: str, query_id: int, fields: Form,
                     actor: Annotated[Actor, Depends(READER)]) -> Response:
    engine, action = request.app.state.engine, fields.get("action", "")
    text = fields.get("text", "")[:2000]
    moves = {"answer": queries.answer_query, "close": queries.close_query, "reopen": queries.reopen_query}
    if action not in moves:
        return _casebook_page(request, actor, subject_id, status=422,
                              error=f"action: {action!r} is not one of {', '.join(moves)}")
    return await _act(request, actor, subject_id, moves[action], engine, actor, query_id, text)


@router.post("/patients/{subject_id}/sdv")
async def verify_record(request: Request, subject_id: str, fields: Form,
                        actor: Annotated[Actor, Depends(READER)]) -> Response:
    revision = fields.get("revision", "")
    return await _act(request, actor, subject_id, sdv.verify_record, request.app.state.engine, actor,
                      request.app.state.trial.study_id, subject_id, fields.get("record", "")[:200],
                      int(revision) if revision.isdigit() else 0)


@router.post("/patients/{subject_id}/hold")
async def hold_casebook(request: Request, subject_id: str, fields: Form,
                        actor: Annotated[Actor, Depends(READER)]) -> Response:
    return await _act(request, actor, subject_id, locks.change_hold, request.app.state.engine,
                      request.app.state.trial, actor, fields.get("action", ""), subject_id=subject_id,
                      record=fields.get("record") or None, reason=fields.get("reason", "")[:2000])


@router.post("/patients/{subject_id}/sign")
async def sign_casebook(request: Request, subject_id: str, fields: Form,
                        actor: Annotated[Actor, Depends(READER)]) -> Response:
    return await _act(request, actor, subject_id, signatures.sign_casebook_limited, request.app.state.engine,
                      request.app.state.trial, actor, subject_id, fields.get("password", "")[:200],
                      fields.get("meaning", ""), limiter=request.app.state.login_limiter,
                      client=client_address(request))


@router.get("/queries")
def queries_page(request: Request, actor: Annotated[Actor, Depends(QUERY_READER)], status: str = "open",
                 page: int = 1) -> Response:
    """The queries of the sites the user sees, by status, oldest first."""
    status = status if status in (*queries.STATUSES, "all") else "open"
    with read_tx(request.app.state.engine) as conn:
        listed = queries.list_queries(conn, actor, status=None if status == "all" else status,
                                      limit=PAGE_SIZE, offset=(max(page, 1) - 1) * PAGE_SIZE)
    return render_page(request, "queries.html", {"listed": listed, "status": status, "statuses": queries.STATUSES,
                                                 "page": max(page, 1), "page_size": PAGE_SIZE,
                                                 "casebook_url": _casebook_url})


@router.get("/sdv")
def sdv_page(request: Request, actor: Annotated[Actor, Depends(SDV_READER)], state: str = "pending",
             page: int = 1) -> Response:
    """The records left to verify (or in another SDV state) at the sites the user sees."""
    state = state if state in (*sdv.STATES, "all") else "pending"
    with read_tx(request.app.state.engine) as conn:
        listed = sdv.sdv_list(conn, actor, request.app.state.trial.study_id, state=None if state == "all" else state,
                              limit=PAGE_SIZE, offset=(max(page, 1) - 1) * PAGE_SIZE)
    return render_page(request, "sdv.html", {"listed": listed, "state": state, "states": sdv.STATES,
                                             "page": max(page, 1), "page_size": PAGE_SIZE,
                                             "casebook_url": _casebook_url})


def _database_page(request: Request, actor: Actor, *, error: str | None = None, status: int = 200,
                   show: str = "all", page: int = 1, migration: dict[str, Any] | None = None) -> Response:
    show = show if show in ("all", "ready", "open", "frozen", "locked") else "all"
    page = max(page, 1)
    with read_tx(request.app.state.engine) as conn:
        state = locks.database_hold(conn)
        books = locks.casebook_states(conn, actor, state=show if show in ("open", "frozen", "locked") else None,
                                      ready=show == "ready", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        protocol = stored_protocol(conn)
    versioned = [f for f in protocol.edc.forms if len(f.version_numbers) > 1] if protocol.edc else []
    return render_page(request, "database.html", {
        "database": state, "error": error, "actions": locks.ACTIONS, "books": books, "show": show, "page": page,
        "page_size": PAGE_SIZE, "casebook_url": _casebook_url, "versioned": versioned, "migration": migration},
        status)


@router.get("/database")
def database_page(request: Request, actor: Annotated[Actor, Depends(DATA_MANAGER)], show: str = "all",
                  page: int = 1) -> Response:
    """The database's hold, the lock form, every casebook's state (paged; ``show=ready`` for those a
    lock would take now) and the form-version migration after an amendment."""
    return _database_page(request, actor, show=show, page=page)


@router.post("/database/migrate")
async def database_migrate(request: Request, fields: Form, actor: Annotated[Actor, Depends(DATA_MANAGER)]) -> Response:
    """Move saved entries of a form to another version (the subjects listed, or every subject)."""
    try:
        form, _, version = fields.get("target", "").partition(":")
        if not version.isdigit():
            raise Invalid("target: choose a form and the version to move its entries to")
        subjects = [s.strip() for s in fields.get("subjects", "").replace(",", " ").split() if s.strip()] or None
        result = await run_in_threadpool(forms.migrate_form_version, request.app.state.engine,
                                         request.app.state.trial, actor, form, int(version),
                                         subject_ids=subjects, reason=fields.get("reason", "")[:2000])
    except IrtError as exc:
        return _database_page(request, actor, error=exc.message, status=_status(exc))
    return _database_page(request, actor, migration=result)


@router.post("/database")
async def database_hold(request: Request, fields: Form, actor: Annotated[Actor, Depends(DATA_MANAGER)]) -> Response:
    try:
        await run_in_threadpool(locks.change_hold, request.app.state.engine, request.app.state.trial, actor,
                                fields.get("action", ""), cutoff=fields.get("cutoff") or None,
                                reason=fields.get("reason", "")[:2000])
    except IrtError as exc:
        return _database_page(request, actor, error=exc.message, status=_status(exc))
    return _done("/database")
