"""The ASGI application: REST API under /api/v1 and server-rendered pages.

Build it with :func:`create_app`; ``oncotrial serve`` runs it under uvicorn.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oncotrial.irt import audit as audit_chain
from oncotrial.irt.config import Settings
from oncotrial.irt.db.committer import GroupCommitter
from oncotrial.irt.db.engine import make_engine, read_tx
from oncotrial.irt.dependencies import TokenCache
from oncotrial.irt.login_limit import FailedLoginLimiter
from oncotrial.irt.routers import admin, audit, randomizations, reports, web
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


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if loc and loc[0] == "header":
        return "header " + ".".join(parts)
    return ".".join(parts) or "body"


def validation_message(exc: RequestValidationError) -> str:
    """One line naming each bad field and what was expected, e.g.
    ``eligibility_confirmed: Input should be a valid boolean``."""
    problems = []
    for err in exc.errors()[:10]:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            problems.append(f"body: not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})")
        elif err.get("type") == "missing":
            problems.append(f"{_location(loc)}: required field is missing")
        elif err.get("type") == "extra_forbidden":
            problems.append(f"{_location(loc)}: unknown field")
        else:
            problems.append(f"{_location(loc)}: {err.get('msg', 'invalid')}")
    return "; ".join(problems)


def create_app(settings: Settings) -> FastAPI:
    """The service for the database in ``settings``; the trial must already be initialized."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.db_url)
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

    app = FastAPI(title="oncotrial IRT", version="1", lifespan=lifespan, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)

    @app.exception_handler(IrtError)
    async def irt_error(request: Request, exc: IrtError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": validation_message(exc)}, status_code=422)
        return web.error_page(request, 422, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 404 and not request.url.path.startswith("/api/") and exc.detail == "Not Found":
            return web.error_page(request, 404, f"no page at {request.url.path}")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (randomizations, reports, audit, admin, web):
        app.include_router(module.router)
    app.state.login_limiter = FailedLoginLimiter()
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
