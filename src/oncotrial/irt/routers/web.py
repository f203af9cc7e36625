"""Server-rendered pages: log in, enroll and randomize, patient list, statistician dashboard.

Forms are protected against CSRF with a double-submit token: every page sets an
HttpOnly ``ot_csrf`` cookie and embeds the same value in its forms; a POST whose
field does not match the cookie is refused with 403. (A cross-site page can make
the browser send the cookie but cannot read it to fill in the field.) The session
cookie is HttpOnly and SameSite=Lax; only its SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, insert, select, update
from starlette.concurrency import run_in_threadpool

from oncotrial.irt import audit
from oncotrial.irt.db.engine import read_tx, write_tx
from oncotrial.irt.db.models import User, WebSession
from oncotrial.irt.dependencies import SESSION_COOKIE, actor_from_session
from oncotrial.irt.login_limit import FailedLoginLimiter
from oncotrial.irt.security import DUMMY_PASSWORD_HASH, hash_secret, new_secret, ts, utcnow, verify_password
from oncotrial.irt.services import allocation, setup
from oncotrial.irt.services.allocation import Actor, RandomizationRequest
from oncotrial.irt.services.errors import IrtError

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
CSRF_COOKIE = "ot_csrf"
HOME = {"site_coordinator": "/patients", "monitor": "/patients", "statistician": "/dashboard", "admin": "/admin"}


def _csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 20:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    csrf = _csrf_token(request)
    context = {"csrf": csrf, "actor": getattr(request.state, "actor", None), **context}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if getattr(request.state, "new_csrf", None):
        _set_cookie(request, response, CSRF_COOKIE, csrf, max_age=None)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    settings = request.app.state.settings
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=settings.secure_cookies)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return _render(request, "error.html", {"status": status, "message": message}, status)


async def _form(request: Request) -> dict[str, str] | None:
    """The form fields if the CSRF token matches the cookie, else None."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, fields.get("csrf", "")):
        return None
    return fields


def _signed_in(request: Request) -> Actor | None:
    actor = actor_from_session(request.app.state.engine, request.cookies.get(SESSION_COOKIE))
    request.state.actor = actor
    return actor


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html", {"error": None, "name": ""})


def _authenticate(engine: Engine, name: str, password: str) -> Any | None:
    """The active user with this name and password, else None; blocking (DB and scrypt).

    Always runs scrypt once: against the user's hash, or against a dummy hash when the
    name is unknown, inactive or has no password, so the answer takes the same time.
    """
    with read_tx(engine) as conn:
        user = conn.execute(select(User.id, User.name, User.role, User.password_hash, User.active)
                            .where(User.name == name)).one_or_none()
    usable = user is not None and bool(user.active) and user.password_hash is not None
    matches = verify_password(password, user.password_hash if usable else DUMMY_PASSWORD_HASH)
    return user if usable and matches else None


def _start_session(engine: Engine, user: Any, hours: float) -> str:
    secret = new_secret()
    with write_tx(engine) as conn:
        conn.execute(insert(WebSession).values(session_hash=hash_secret(secret), user_id=user.id, created_at=ts(),
                                               expires_at=ts(utcnow() + dt.timedelta(hours=hours))))
        audit.append(conn, actor=f"{user.name} ({user.role})", action="login", entity="user", entity_id=user.name,
                     new={"session_hash_prefix": hash_secret(secret)[:12]})
    return secret


def _too_many(request: Request, name: str, wait: int) -> HTMLResponse:
    minutes = f"{wait // 60} min {wait % 60} s" if wait >= 60 else f"{wait} s"
    response = _render(request, "login.html", {
        "error": f"too many failed log-ins for this user name from your address; try again in {minutes}",
        "name": name}, 429)
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await _form(request)
    if fields is None:
        return error_page(request, 403, "csrf: the form's security token is missing or stale; reload the page")
    name, password = fields.get("name", "")[:100], fields.get("password", "")[:200]
    engine = request.app.state.engine
    limiter: FailedLoginLimiter = request.app.state.login_limiter
    key = (name, request.client.host if request.client else "")
    wait = limiter.retry_after(key)
    if wait:
        return _too_many(request, name, wait)
    # The database and scrypt (~50 ms) run on a worker thread: on the event loop they
    # would stall every other request for that long.
    user = await run_in_threadpool(_authenticate, engine, name, password)
    if user is None:
        limiter.record_failure(key)
        return _render(request, "login.html", {"error": "unknown user name or wrong password", "name": name}, 401)
    limiter.record_success(key)
    hours = request.app.state.settings.session_ttl_hours
    secret = await run_in_threadpool(_start_session, engine, user, hours)
    response = RedirectResponse(HOME[user.role], status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, secret, max_age=int(hours * 3600))
    # A fresh CSRF token after log-in, so one planted before it is useless.
    _set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(32), max_age=None)
    return response


def _end_session(request: Request, secret: str | None) -> None:
    actor = _signed_in(request)
    if secret and actor is not None:
        with write_tx(request.app.state.engine) as conn:
            conn.execute(update(WebSession).where(WebSession.session_hash == hash_secret(secret))
                         .values(ended_at=ts()))
            audit.append(conn, actor=actor.label, action="logout", entity="user", entity_id=actor.name)


@router.post("/logout")
async def logout(request: Request) -> Response:
    fields = await _form(request)
    if fields is None:
        return error_page(request, 403, "csrf: the form's security token is missing or stale; reload the page")
    await run_in_threadpool(_end_session, request, request.cookies.get(SESSION_COOKIE))
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request) -> Response:
    actor = _signed_in(request)
    return _to_login() if actor is None else RedirectResponse(HOME[actor.role], status_code=303)


def _randomize_context(request: Request, **extra: Any) -> dict[str, Any]:
    return {"trial": request.app.state.trial, "form_key": secrets.token_urlsafe(16), "values": {},
            "checked": set(), "error": None, **extra}


@router.get("/randomize")
def randomize_page(request: Request) -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_login()
    if actor.role != "site_coordinator":
        return error_page(request, 403, f"role {actor.role} cannot randomize; only a site_coordinator can")
    return _render(request, "randomize.html", _randomize_context(request))


@router.post("/randomize")
async def randomize_submit(request: Request) -> Response:
    actor = await run_in_threadpool(_signed_in, request)  # a database read; off the event loop
    if actor is None:
        return _to_login()
    fields = await _form(request)
    if fields is None:
        return error_page(request, 403, "csrf: the form's security token is missing or stale; reload the page")
    if actor.role != "site_coordinator":
        return error_page(request, 403, f"role {actor.role} cannot randomize; only a site_coordinator can")
    trial = request.app.state.trial
    checked = {c.id for c in trial.eligibility if fields.get(f"elig_{c.id}") == "yes"}
    strata = {f.name: fields.get(f"strata_{f.name}", "") for f in trial.factors}
    subject_id = fields.get("subject_id", "").strip()
    values = {"subject_id": subject_id, **strata}
    missing = [c for c in trial.eligibility if c.id not in checked]
    error = None
    if not subject_id:
        error = "subject_id: required"
    elif missing:
        error = f"eligibility {missing[0].id}: not confirmed; every criterion must be confirmed before randomization"
    else:
        for f in trial.factors:
            if not strata[f.name]:
                error = f"strata.{f.name}: choose a level"
                break
    if error is None:
        # The form's one-time key doubles as the Idempotency-Key: a double click or a
        # resubmitted page returns the same randomization instead of a second one.
        key = "web:" + fields.get("form_key", "")[:100]
        try:
            record, _ = await allocation.randomize_async(
                request.app.state.committer, trial, actor,
                RandomizationRequest(subject_id, actor.site or "", strata, True), key if len(key) > 4 else None)
        except IrtError as exc:
            error, status = exc.message, exc.status_code
        else:
            return _render(request, "randomized.html", {"record": record})
    else:
        status = 422
    ctx = _randomize_context(request, values=values, checked=checked, error=error,
                             form_key=fields.get("form_key") or secrets.token_urlsafe(16))
    return _render(request, "randomize.html", ctx, status)


@router.get("/patients")
def patients(request: Request) -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_login()
    if actor.role not in ("site_coordinator", "statistician", "monitor"):
        return error_page(request, 403, f"role {actor.role} does not see patients")
    with read_tx(request.app.state.engine) as conn:
        items = allocation.list_randomizations(conn, request.app.state.trial, actor, limit=10000)
    return _render(request, "patients.html", {"items": items, "trial": request.app.state.trial})


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_login()
    if actor.role != "statistician":
        return error_page(request, 403, f"role {actor.role} does not see the balance dashboard")
    with read_tx(request.app.state.engine) as conn:
        bal = allocation.balance(conn, request.app.state.trial)
    return _render(request, "dashboard.html", {"balance": bal, "trial": request.app.state.trial})


@router.get("/admin")
def admin_page(request: Request) -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_login()
    if actor.role != "admin":
        return error_page(request, 403, f"role {actor.role} does not manage sites and users")
    with read_tx(request.app.state.engine) as conn:
        sites, users = setup.list_sites(conn), setup.list_users(conn)
    return _render(request, "admin.html", {"sites": sites, "users": users})
