"""Request dependencies: the database engine, the trial, and who is calling (auth).

API calls authenticate with ``Authorization: Bearer TOKEN``; the token's SHA-256 is
looked up, and revoked or expired tokens and deactivated users are refused with 401.
Role checks (:func:`require`) then refuse with 403, naming the roles allowed.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, bindparam, select

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.db.models import ApiToken, Site, User, WebSession
from oncotrial.irt.security import hash_secret, ts
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.errors import Forbidden
from oncotrial.irt.services.monitors import monitored_sites
from oncotrial.irt.services.trial import Trial

SESSION_COOKIE = "ot_session"


# Dependencies that do no I/O are ``async def`` so FastAPI calls them on the event loop
# instead of handing each to the thread pool (a thread hop per dependency per request).
async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_trial(request: Request) -> Trial:
    return request.app.state.trial


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


_TOKENS, _USERS, _SITES = ApiToken.__table__, User.__table__, Site.__table__
# Built once: constructing this join per request cost more than running it.
_TOKEN_LOOKUP = (
    select(_USERS.c.id, _USERS.c.name, _USERS.c.role, _USERS.c.site_id, _USERS.c.active, _SITES.c.code,
           _TOKENS.c.expires_at, _TOKENS.c.revoked_at)
    .select_from(_TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
                 .outerjoin(_SITES, _SITES.c.id == _USERS.c.site_id))
    .where(_TOKENS.c.token_hash == bindparam("token_hash")))


def _monitored(conn: Connection, row: Any) -> frozenset[int]:
    return monitored_sites(conn, row.id) if row is not None and row.role == "monitor" else frozenset()


def actor_from_token(engine: Engine, token: str) -> tuple[Actor, str | None]:
    """The actor a valid token belongs to, and the token's expiry; 401 otherwise."""
    with engine.connect() as conn:
        row = conn.execute(_TOKEN_LOOKUP, {"token_hash": hash_secret(token)}).one_or_none()
        monitored = _monitored(conn, row)
        conn.rollback()
    if row is None:
        raise _unauthorized("Authorization: unknown token")
    if row.revoked_at is not None:
        raise _unauthorized("Authorization: token was revoked")
    if row.expires_at is not None and row.expires_at <= ts():
        raise _unauthorized(f"Authorization: token expired at {row.expires_at}")
    if not row.active:
        raise _unauthorized("Authorization: user is deactivated")
    return Actor(row.id, row.name, row.role, row.site_id, row.code, monitored), row.expires_at


def actor_from_session(engine: Engine, session_secret: str | None) -> Actor | None:
    if not session_secret:
        return None
    with read_tx(engine) as conn:
        row = conn.execute(
            select(User.id, User.name, User.role, User.site_id, User.active, Site.code, WebSession.expires_at,
                   WebSession.ended_at)
            .join(User, User.id == WebSession.user_id).join(Site, Site.id == User.site_id, isouter=True)
            .where(WebSession.session_hash == hash_secret(session_secret))).one_or_none()
        if row is None or row.ended_at is not None or row.expires_at <= ts() or not row.active:
            return None
        return Actor(row.id, row.name, row.role, row.site_id, row.code, _monitored(conn, row))


class TokenCache:
    """Valid tokens seen in the last ``ttl`` seconds, so a busy client is not looked up on
    every request. Expiry is still checked on every hit; revoking or deactivating through
    this process clears the cache at once, through another process (the CLI) it takes
    effect within ``ttl`` seconds. Unknown, expired or revoked tokens are never cached."""

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: dict[str, tuple[float, Actor, str | None]] = {}

    def get(self, token_hash: str) -> tuple[Actor, str | None] | None:
        hit = self._entries.get(token_hash)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1], hit[2]

    def put(self, token_hash: str, actor: Actor, expires_at: str | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token_hash] = (time.monotonic() + self.ttl, actor, expires_at)

    def clear(self) -> None:
        self._entries.clear()


async def current_actor(request: Request) -> Actor:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("Authorization: missing; send 'Authorization: Bearer TOKEN'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Authorization: expected 'Bearer TOKEN'")
    cache: TokenCache = request.app.state.token_cache
    token_hash = hash_secret(token)
    hit = cache.get(token_hash)
    if hit is not None:
        actor, expires_at = hit
        if expires_at is not None and expires_at <= ts():
            raise _unauthorized(f"Authorization: token expired at {expires_at}")
        return actor
    actor, expires_at = await run_in_threadpool(actor_from_token, request.app.state.engine, token)
    cache.put(token_hash, actor, expires_at)
    return actor


def require(*roles: str) -> Callable[..., Actor]:
    """A dependency that admits only ``roles``."""

    async def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in roles:
            raise HTTPException(status_code=403,
                                detail=f"role {actor.role} may not do this; allowed: {', '.join(roles)}")
        return actor

    return dependency


class LoginRequired(Exception):
    """A page needs a signed-in user; the app answers with a redirect to /login."""


async def page_actor(request: Request) -> Actor | None:
    """The signed-in user of a web page (session cookie), or None; kept on ``request.state``."""
    actor = await run_in_threadpool(actor_from_session, request.app.state.engine, request.cookies.get(SESSION_COOKIE))
    request.state.actor = actor
    return actor


def require_page(*roles: str, refusal: str) -> Callable[..., Actor]:
    """A page dependency: not signed in -> /login; another role -> 403 page with ``refusal``."""

    async def dependency(actor: Actor | None = Depends(page_actor)) -> Actor:
        if actor is None:
            raise LoginRequired()
        if actor.role not in roles:
            raise Forbidden(refusal.format(role=actor.role))
        return actor

    return dependency


def client_address(request: Request) -> str:
    """The client's address: the peer, or the nearest address in ``X-Forwarded-For`` that is
    not a trusted proxy when the peer is one of ``Settings.trusted_proxies`` (default none:
    a forwarded header from anyone else is ignored, so it cannot rotate the log-in limit)."""
    peer = request.client.host if request.client else ""
    trusted = request.app.state.settings.trusted_networks
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return peer


def _in(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
