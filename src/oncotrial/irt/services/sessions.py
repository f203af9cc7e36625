"""Web log-in: checking a password, starting and ending a session (each audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert, select, update

from oncotrial.irt import audit
from oncotrial.irt.db.engine import read_tx, write_tx
from oncotrial.irt.db.models import User, WebSession
from oncotrial.irt.security import DUMMY_PASSWORD_HASH, hash_secret, new_secret, ts, utcnow, verify_password
from oncotrial.irt.services.actors import Actor


def authenticate(engine: Engine, name: str, password: str) -> Any | None:
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


def start_session(engine: Engine, user: Any, hours: float) -> str:
    """A new session for ``user``; returns its secret (the cookie), stores only its hash."""
    secret = new_secret()
    with write_tx(engine) as conn:
        conn.execute(insert(WebSession).values(session_hash=hash_secret(secret), user_id=user.id, created_at=ts(),
                                               expires_at=ts(utcnow() + dt.timedelta(hours=hours))))
        audit.append(conn, actor=f"{user.name} ({user.role})", action="login", entity="user", entity_id=user.name,
                     new={"session_hash_prefix": hash_secret(secret)[:12]})
    return secret


def end_session(engine: Engine, secret: str, actor: Actor) -> None:
    with write_tx(engine) as conn:
        conn.execute(update(WebSession).where(WebSession.session_hash == hash_secret(secret)).values(ended_at=ts()))
        audit.append(conn, actor=actor.label, action="logout", entity="user", entity_id=actor.name)
