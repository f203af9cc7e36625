"""The ASGI application: REST API under /api/v1 and server-rendered pages.

Build it with :func:`create_app`; ``oncotrial serve`` runs it under uvicorn.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oncotrial.irt import audit as audit_chain
from oncotrial.irt.config import Settings
from oncotrial.irt.db.committer import GroupCommitter
from oncotrial.irt.db.engine import make_engine, read_tx
from oncotrial.irt.dependencies import LoginRequired, TokenCache
from oncotrial.irt.login_limit import LoginLimits
from oncotrial.irt.routers import admin, audit, database, forms, queries, randomizations, reports, sdv, subjects, web, web_edc
from oncotrial.irt.schemas import errors_message
from oncotrial.irt.services.errors import IrtError
from oncotrial.irt.services.trial import load_trial


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before anything parses them.

    The declared Content-Length is checked first; a body sent without one (chunked) is
    read up to the limit and then replayed to the application.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._reject(send, 400, "Content-Length: not an integer")
                return
            if too_big:
                await self._reject(send, 413, f"body: larger than the {self.max_bytes} bytes accepted")
                return
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send, 413, f"body: larger than the {self.max_bytes} bytes accepted")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(send: Send, status: int, message: str) -> None:
        response = JSONResponse({"detail": message}, status_code=status)
        await response({"type": "http"}, _empty_receive, send)  # type: ignore[arg-type]


async def _empty_receive() -> Message:  # pragma: no cover - a response never reads
    return {"type": "http.disconnect"}


def validation_message(exc: RequestValidationError) -> str:
    """One line naming each bad field and what was expected."""
    return errors_message(exc.errors())


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class StrictJson:
    """Refuse a JSON body with a repeated key (400) instead of letting the last one win:
    two readers of the same request must not see two different requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if b"json" not in headers.get(b"content-type", b""):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            json.loads(body, object_pairs_hook=_refuse_duplicates)
        except _DuplicateKey as exc:
            response = JSONResponse({"detail": f"body: key {str(exc)!r} appears twice; send each field once"},
                                    status_code=400)
            await response(scope, _empty_receive, send)
            return
        except ValueError:
            pass  # not JSON: the endpoint's own parser names the problem
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


SECURITY_HEADERS = [(b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin"),
                    (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
DEFAULT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'")


class SecurityHeaders:
    """Headers on every response: no framing, no referrer to other sites (``same-origin``:
    with ``no-referrer`` browsers send ``Origin: null`` on the service's own forms, which the
    origin check must refuse), no caching (pages and answers show
    arms), and a restrictive CSP unless the page set its own (pages allow their one style)."""

    def __init__(self, app: ASGIApp, docs_prefix: str | None) -> None:
        self.app, self.docs_prefix = app, docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = self.docs_prefix is not None and scope["path"].startswith(self.docs_prefix)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if not docs and DEFAULT_CSP[0] not in names:
                    headers.append(DEFAULT_CSP)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _disk_full(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "disk is full" in text or "no space left" in text or "could not extend file" in text


def _unreachable(exc: DBAPIError) -> bool:
    """Whether a database error means the database is away (restarting, connection lost, busy),
    not that the statement was wrong."""
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    text = str(exc.orig).lower()
    return any(w in text for w in ("connection", "server closed", "terminat", "shutting down", "database is locked",
                                   "starting up", "recovery mode"))


def _refusal(request: Request, status: int, message: str, *, api_headers: dict[str, str] | None = None) -> Any:
    """A refused request's answer: JSON ``{"detail"}`` to the API, the error page to a browser."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status, headers=api_headers)
    return web.error_page(request, status, message)


def create_app(settings: Settings) -> FastAPI:
    """The service for the database in ``settings``; the trial must already be initialized."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.db_url, audit_key_file=settings.audit_key_file)
        with read_tx(app.state.engine) as conn:
            app.state.trial = load_trial(conn)
        app.state.settings = settings
        app.state.token_cache = TokenCache()
        app.state.committer = GroupCommitter(app.state.engine, before_commit=audit_chain.seal_head)
        # Everything built at start-up (SQLAlchemy metadata, pydantic and FastAPI models) lives
        # as long as the process; frozen, the cyclic GC stops re-scanning it. Unfrozen, each
        # full collection stalled every in-flight request for ~100 ms (the p99 of the benchmark).
        gc.collect()
        gc.freeze()
        yield
        app.state.committer.close()
        app.state.engine.dispose()

    docs = settings.docs
    app = FastAPI(title="oncotrial IRT", version="1", lifespan=lifespan, docs_url="/api/docs" if docs else None,
                  openapi_url="/api/openapi.json" if docs else None, redoc_url=None)

    @app.exception_handler(IrtError)
    async def irt_error(request: Request, exc: IrtError) -> Any:
        return _refusal(request, exc.status_code, exc.message)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_away(request: Request, exc: DBAPIError) -> Any:
        # The database is restarting or unreachable: say so, and that a retry is safe (the
        # randomization's Idempotency-Key, an entry's revision, make a retry land once).
        if _disk_full(exc):
            return _refusal(request, 507, "the database's disk is full: nothing of this request was saved; "
                                          "retry once space is freed")
        if not _unreachable(exc):
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return _refusal(request, 503, "the database is not reachable right now; retry shortly (a randomization "
                                      "with the same Idempotency-Key, an entry with the same revision: a retry "
                                      "never saves twice)", api_headers={"Retry-After": "2"})

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Any:
        return _refusal(request, 422, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 404 and not request.url.path.startswith("/api/") and exc.detail == "Not Found":
            return web.error_page(request, 404, f"no page at {request.url.path}")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (randomizations, subjects, forms, database, queries, sdv, reports, audit, admin, web, web_edc):
        app.include_router(module.router)
    app.state.login_limiter = LoginLimits()
    app.state.settings = settings
    app.add_middleware(StrictJson)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, docs_prefix="/api/docs" if docs else None)
    return app
