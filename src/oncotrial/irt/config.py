"""Service settings: where the database is and the limits the API enforces."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

ROLES: tuple[str, ...] = ("site_coordinator", "investigator", "statistician", "monitor", "data_manager", "admin")
"""Role identifiers accepted by ``--role`` and stored on each user."""

SITE_ROLES: tuple[str, ...] = ("site_coordinator", "investigator")
"""Roles bound to one site: they see only that site's subjects."""

UNBLINDED_ROLES: tuple[str, ...] = ("statistician",)
"""In a masked trial, the only roles that see each subject's arm (the unblinded statistician);
everyone else sees ``BLINDED`` until an investigator unblinds one patient in an emergency."""

OPEN_LABEL: tuple[str, ...] = ("open label", "open-label", "open", "none")
"""Protocol ``study.masking`` values that mean nobody is blinded to the arm."""

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
    """Settings of one running service; every value is type-checked when it is made.

    ``session_ttl_hours`` is the lifetime of a web log-in; ``max_body_bytes`` the
    largest request body accepted (larger ones get 413 before they are parsed);
    ``secure_cookies`` marks cookies Secure (behind HTTPS); ``trusted_proxies`` the
    addresses or networks (e.g. ``10.0.0.5``, ``10.0.0.0/24``) whose ``X-Forwarded-For``
    is believed (default none); ``docs`` serves the OpenAPI pages at ``/api/docs``
    (default off); ``audit_key_file`` the audit key (default
    :func:`oncotrial.irt.audit_key.default_key_path`).

    >>> Settings(db_url="sqlite:////tmp/x.db", session_ttl_hours="5")
    Traceback (most recent call last):
    ...
    ValueError: session_ttl_hours: expected a number of hours > 0, got '5'
    """

    db_url: str
    session_ttl_hours: float = 12.0
    max_body_bytes: int = 64 * 1024
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    docs: bool = False
    audit_key_file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.db_url, str) or not self.db_url:
            raise ValueError(f"db_url: expected a database URL, got {self.db_url!r}")
        ttl = self.session_ttl_hours
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= 24 * 366:
            raise ValueError(f"session_ttl_hours: expected a number of hours > 0, got {ttl!r}")
        size = self.max_body_bytes
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise ValueError(f"max_body_bytes: expected an integer >= 1024, got {size!r}")
        for name in ("secure_cookies", "docs"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        if isinstance(self.trusted_proxies, str) or not isinstance(self.trusted_proxies, (tuple, list)):
            raise ValueError(f"trusted_proxies: expected a list of addresses, got {self.trusted_proxies!r}")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except (TypeError, ValueError):
                raise ValueError(f"trusted_proxies: {proxy!r} is not an IP address or network") from None
        object.__setattr__(self, "trusted_proxies", tuple(self.trusted_proxies))
        if self.audit_key_file is not None and not isinstance(self.audit_key_file, (str, os.PathLike)):
            raise ValueError(f"audit_key_file: expected a file path, got {self.audit_key_file!r}")

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    @classmethod
    def from_db(cls, db: str | os.PathLike[str], **kwargs: object) -> "Settings":
        return cls(db_url=normalize_db_url(db), **kwargs)  # type: ignore[arg-type]
