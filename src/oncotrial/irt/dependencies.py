"""Request dependencies: the database engine, the trial, and who is calling (auth).

API calls authenticate with ``Authorization: Bearer TOKEN``; the token's SHA-256 is
looked up, and revoked or expired tokens and deactivated users are refused with 401.
Role checks (:func:`require`) then refuse with 403, naming the roles allowed.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine, select

from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.db.models import ApiToken, Site, User, WebSession
from oncotrial.irt.security import hash_secret, ts
from oncotrial.irt.services.allocation import Actor
from oncotrial.irt.services.trial import Trial

SESSION_COOKIE = "ot_session"


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_trial(request: Request) -> Trial:
    return request.app.state.trial


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def actor_from_token(engine: Engine, token: str) -> Actor:
    with read_tx(engine) as conn:
        row = conn.execute(
            select(User.id, User.name, User.role, User.site_id, User.active, Site.code,
                   ApiToken.expires_at, ApiToken.revoked_at)
            .join(User, User.id == ApiToken.user_id).join(Site, Site.id == User.site_id, isouter=True)
            .where(ApiToken.token_hash == hash_secret(token))).one_or_none()
    if row is None:
        raise _unauthorized("Authorization: unknown token")
    if row.revoked_at is not None:
        raise _unauthorized("Authorization: token was revoked")
    if row.expires_at is not None and row.expires_at <= ts():
        raise _unauthorized(f"Authorization: token expired at {row.expires_at}")
    if not row.active:
        raise _unauthorized("Authorization: user is deactivated")
    return Actor(row.id, row.name, row.role, row.site_id, row.code)


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
    return Actor(row.id, row.name, row.role, row.site_id, row.code)


def current_actor(request: Request) -> Actor:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("Authorization: missing; send 'Authorization: Bearer TOKEN'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization: expected 'Bearer TOKEN'")
    return actor_from_token(get_engine(request), token.strip())


def require(*roles: str) -> Callable[..., Actor]:
    """A dependency that admits only ``roles``."""

    def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in roles:
            raise HTTPException(status_code=403,
                                detail=f"role {actor.role} may not do this; allowed: {', '.join(roles)}")
        return actor

    return dependency
