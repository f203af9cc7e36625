"""Service settings: where the database is and the limits the API enforces."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROLES: tuple[str, ...] = ("site_coordinator", "statistician", "monitor", "admin")
"""Role identifiers accepted by ``--role`` and stored on each user."""

DEFAULT_DB = "oncotrial-irt.sqlite"


def normalize_db_url(db: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL from ``--db``: a URL is kept, a plain path becomes SQLite.

    >>> normalize_db_url("trial.db")  # doctest: +ELLIPSIS
    'sqlite:///.../trial.db'
    >>> normalize_db_url("postgresql+psycopg://u:p@127.0.0.1/irt")
    'postgresql+psycopg://u:p@127.0.0.1/irt'
    """
    text = os.fspath(db).strip()
    if not text:
        raise ValueError("--db: expected a SQLAlchemy URL or a file path, got an empty string")
    if "://" in text:
        if text.startswith("postgresql://") or text.startswith("postgres://"):
            # psycopg 3 is the driver this package depends on; psycopg2 is not installed.
            text = "postgresql+psycopg://" + text.split("://", 1)[1]
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


@dataclass(frozen=True)
class Settings:
    """Settings of one running service.

    ``session_ttl_hours`` is the lifetime of a web log-in; ``max_body_bytes`` the
    largest request body accepted (larger ones get 413 before they are parsed);
    ``secure_cookies`` marks cookies Secure (behind HTTPS).
    """

    db_url: str
    session_ttl_hours: float = 12.0
    max_body_bytes: int = 64 * 1024
    secure_cookies: bool = False

    @classmethod
    def from_db(cls, db: str | os.PathLike[str], **kwargs: object) -> "Settings":
        return cls(db_url=normalize_db_url(db), **kwargs)  # type: ignore[arg-type]
