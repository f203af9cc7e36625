"""Server-rendered pages: log in, enroll and randomize, statistician dashboard, sites and users
(the data-capture pages are in :mod:`.web_edc`).

Who may see a page is a dependency (:func:`oncotrial.irt.dependencies.require_page`), as
in the API routers; what a page shows or changes comes from the service layer. Forms:

* CSRF. A signed-in form carries a token derived from the session secret (the HttpOnly
  session cookie, which a foreign page can neither read nor set), so a token is valid for
  its own session only. The log-in form, before any session exists, uses a double-submit
  ``ot_csrf`` cookie. State-changing requests whose ``Origin`` (or ``Sec-Fetch-Site``) is
  another site are refused before the form is read.
* Validation. The randomize form is validated by the same model as the API body
  (:class:`oncotrial.irt.schemas.RandomizationIn`), field by field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import SESSION_COOKIE, client_address, page_actor, require_page
from oncotrial.irt.schemas import RandomizationIn, errors_message
from oncotrial.irt.services import balance, sessions, setup
from oncotrial.irt.services.actors import Actor, RandomizationRequest
from oncotrial.irt.services.errors import Forbidden, IrtError
from oncotrial.irt.services.randomize import randomize_async

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
CSRF_COOKIE = "ot_csrf"
HOME = {"site_coordinator": "/patients", "investigator": "/patients", "monitor": "/patients", "data_manager": "/patients", "statistician": "/dashboard",
        "admin": "/admin"}
STALE_FORM = "csrf: the form's security token is missing or stale; reload the page"


def _session_csrf(session_secret: str) -> str:
    return hashlib.sha256(b"oncotrial csrf\n" + session_secret.encode()).hexdigest()


def _csrf_token(request: Request) -> str:
    session = request.cookies.get(SESSION_COOKIE)
    if session and getattr(request.state, "actor", None) is not None:
        return _session_csrf(session)
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 20:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def render_page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    context = {"csrf": _csrf_token(request), "actor": getattr(request.state, "actor", None), "csp_nonce": nonce,
               **context}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
    if getattr(request.state, "new_csrf", None):
        _set_cookie(request, response, CSRF_COOKIE, request.state.new_csrf, max_age=None)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=request.app.state.settings.secure_cookies)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render_page(request, "error.html", {"status": status, "message": message}, status)


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def checked_form(request: Request) -> dict[str, str]:
    """The form fields of a same-origin POST whose CSRF token is valid; 403 otherwise."""
    if not _same_origin(request):
        raise Forbidden("origin: a form posted from another site is refused")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    session = request.cookies.get(SESSION_COOKIE)
    expected = _session_csrf(session) if session else request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, fields.get("csrf", "")):
        raise Forbidden(STALE_FORM)
    return fields


Form = Annotated[dict[str, str], Depends(checked_form)]


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render_page(request, "login.html", {"error": None, "name": ""})


def _too_many(request: Request, name: str, wait: int) -> HTMLResponse:
    minutes = f"{wait // 60} min {wait % 60} s" if wait >= 60 else f"{wait} s"
    response = render_page(request, "login.html", {
        "error": f"too many failed log-ins for this user name or from your address; try again in {minutes}",
        "name": name}, 429)
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    # Before any session: the double-submit cookie (checked_form sees no session cookie
    # only if none is sent; an old one is ignored here).
    if not _same_origin(request):
        raise Forbidden("origin: a form posted from another site is refused")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, fields.get("csrf", "")):
        raise Forbidden(STALE_FORM)
    name, password = fields.get("name", "")[:100], fields.get("password", "")[:200]
    engine = request.app.state.engine
    limiter = request.app.state.login_limiter
    client = client_address(request)
    wait = limiter.retry_after(name, client)
    if wait:
        return _too_many(request, name, wait)
    # The database and scrypt (~50 ms) run on a worker thread: on the event loop they
    # would stall every other request for that long.
    user = await run_in_threadpool(sessions.authenticate, engine, name, password)
    if user is None:
        limiter.record_failure(name, client)
        return render_page(request, "login.html", {"error": "unknown user name or wrong password", "name": name}, 401)
    limiter.record_success(name, client)
    hours = request.app.state.settings.session_ttl_hours
    secret = await run_in_threadpool(sessions.start_session, engine, user, hours)
    response = RedirectResponse(HOME[user.role], status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, secret, max_age=int(hours * 3600))
    # A fresh CSRF cookie after log-in, so one planted before it is useless.
    _set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(32), max_age=None)
    return response


@router.post("/logout")
async def logout(request: Request, fields: Form, actor: Annotated[Actor | None, Depends(page_actor)]) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and actor is not None:
        await run_in_threadpool(sessions.end_session, request.app.state.engine, secret, actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(actor: Annotated[Actor | None, Depends(page_actor)]) -> Response:
    return RedirectResponse("/login" if actor is None else HOME[actor.role], status_code=303)


COORDINATOR = require_page("site_coordinator", refusal="role {role} cannot randomize; only a site_coordinator can")


def _randomize_context(request: Request, **extra: Any) -> dict[str, Any]:
    return {"trial": request.app.state.trial, "form_key": secrets.token_urlsafe(16), "values": {},
            "checked": set(), "error": None, **extra}


@router.get("/randomize")
def randomize_page(request: Request, actor: Annotated[Actor, Depends(COORDINATOR)]) -> Response:
    return render_page(request, "randomize.html", _randomize_context(request))


def _form_request(trial: Any, actor: Actor, fields: dict[str, str]) -> RandomizationRequest:
    """The form as an API request body, validated by the API's own model."""
    missing = [c for c in trial.eligibility if fields.get(f"elig_{c.id}") != "yes"]
    if missing:
        raise IrtError(f"eligibility {missing[0].id}: not confirmed; every criterion must be confirmed "
                       "before randomization")
    for f in trial.factors:
        if not fields.get(f"strata_{f.name}"):
            raise IrtError(f"strata.{f.name}: choose a level")
    try:
        body = RandomizationIn.model_validate({
            "subject_id": fields.get("subject_id", "").strip(), "site": actor.site or "",
            "strata": {f.name: fields[f"strata_{f.name}"] for f in trial.factors}, "eligibility_confirmed": True})
    except ValidationError as exc:
        raise IrtError(errors_message(exc.errors())) from None
    return RandomizationRequest(body.subject_id, body.site, body.strata, body.eligibility_confirmed)


@router.post("/randomize")
async def randomize_submit(request: Request, fields: Form, actor: Annotated[Actor, Depends(COORDINATOR)]) -> Response:
    trial = request.app.state.trial
    # The form's one-time key doubles as the Idempotency-Key: a double click or a
    # resubmitted page returns the same randomization instead of a second one.
    key = "web:" + fields.get("form_key", "")[:100]
    try:
        req = _form_request(trial, actor, fields)
        record, _ = await randomize_async(request.app.state.committer, trial, actor, req,
                                          key if len(key) > 4 else None)
    except IrtError as exc:
        status = exc.status_code if type(exc) is not IrtError else 422
        values = {"subject_id": fields.get("subject_id", "")[:64],
                  **{f.name: fields.get(f"strata_{f.name}", "") for f in trial.factors}}
        checked = {c.id for c in trial.eligibility if fields.get(f"elig_{c.id}") == "yes"}
        ctx = _randomize_context(request, values=values, checked=checked, error=exc.message,
                                 form_key=fields.get("form_key") or secrets.token_urlsafe(16))
        return render_page(request, "randomize.html", ctx, status)
    return render_page(request, "randomized.html", {"record": record})


@router.get("/dashboard")
def dashboard(request: Request, actor: Annotated[Actor, Depends(require_page(
        "statistician", refusal="role {role} does not see the balance dashboard"))]) -> Response:
    with read_tx(request.app.state.engine) as conn:
        bal = balance.balance(conn, request.app.state.trial)
    return render_page(request, "dashboard.html", {"balance": bal, "trial": request.app.state.trial})


@router.get("/admin")
def admin_page(request: Request, actor: Annotated[Actor, Depends(require_page(
        "admin", refusal="role {role} does not manage sites and users"))]) -> Response:
    with read_tx(request.app.state.engine) as conn:
        sites, users = setup.list_sites(conn), setup.list_users(conn)
    return render_page(request, "admin.html", {"sites": sites, "users": users})
