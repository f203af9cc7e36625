"""The audit key: the secret that authenticates the head of the audit chain.

A hash chain alone detects edits, not forgery: whoever can write the database can
rewrite every link with plain SHA-256 and leave a consistent chain. So the chain head
(its sequence number and hash) is also signed with HMAC-SHA256 under a key kept in a
file OUTSIDE the database; without the key nobody can produce a head that
``oncotrial audit verify`` accepts.

Where the key lives is configuration: ``--audit-key PATH`` or ``ONCOTRIAL_IRT_AUDIT_KEY``;
by default ``<database file>.audit-key`` beside a SQLite file, and
``~/.config/oncotrial/irt-keys/<host>_<port>_<database>.audit-key`` for PostgreSQL
(``ONCOTRIAL_IRT_KEY_DIR`` moves that folder). ``oncotrial irt init`` creates it (mode
0600); keep it where database administrators cannot write, and back it up with the
database: without it the trail can no longer be authenticated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import weakref
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

ENV_KEY = "ONCOTRIAL_IRT_AUDIT_KEY"
ENV_KEY_DIR = "ONCOTRIAL_IRT_KEY_DIR"
FORMAT = "oncotrial-audit-key-1"


class AuditKeyError(ValueError):
    """The audit key file is missing, unreadable or belongs to another database."""


@dataclass(frozen=True)
class AuditKey:
    """A loaded key. ``key_id`` (stored in the database) tells a wrong key from a forged head."""

    secret: bytes
    path: str

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, b"oncotrial audit key id", hashlib.sha256).hexdigest()[:16]

    def sign_head(self, seq: int, head_hash: str) -> str:
        return hmac.new(self.secret, f"audit-head\n{seq}\n{head_hash}".encode("ascii"), hashlib.sha256).hexdigest()


def default_key_path(db_url: str) -> Path:
    """Where the key of ``db_url`` lives unless the configuration names another file.

    >>> default_key_path("sqlite:////srv/irt/trial.sqlite").as_posix()
    '/srv/irt/trial.sqlite.audit-key'
    """
    env = os.environ.get(ENV_KEY)
    if env:
        return Path(env).expanduser()
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return Path(str(url.database) + ".audit-key")
    folder = Path(os.environ.get(ENV_KEY_DIR) or Path.home() / ".config" / "oncotrial" / "irt-keys").expanduser()
    return folder / f"{url.host or 'local'}_{url.port or 5432}_{url.database}.audit-key"


def load_key(path: str | os.PathLike[str]) -> AuditKey:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        secret = bytes.fromhex(doc["key"])
    except FileNotFoundError:
        raise AuditKeyError(f"audit key: {p} does not exist; it is created by `oncotrial irt init` "
                            f"(name another file with --audit-key or {ENV_KEY})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AuditKeyError(f"audit key: {p} is not an oncotrial audit key file ({exc})") from None
    if doc.get("format") != FORMAT or len(secret) < 32:
        raise AuditKeyError(f"audit key: {p} is not an oncotrial audit key file (format {doc.get('format')!r})")
    return AuditKey(secret, str(p))


def create_key(path: str | os.PathLike[str]) -> AuditKey:
    """Write a new random key to ``path`` (never overwriting one) readable by its owner only."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AuditKeyError(f"audit key: {p} already exists; a key is never overwritten "
                            "(another trial's key? name a new file with --audit-key)") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"format": FORMAT, "key": secret.hex()}, f)
        f.flush()
        os.fsync(f.fileno())
    return AuditKey(secret, str(p))


_KEYS: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()
_LOADED: dict[tuple[Path, int, int], AuditKey] = {}


def attach(engine: Engine, path: str | os.PathLike[str] | None = None) -> Path:
    """Name the key file of ``engine``'s database (default: :func:`default_key_path`)."""
    p = Path(path).expanduser() if path is not None else default_key_path(engine.url.render_as_string(False))
    _KEYS[engine] = p.resolve()
    return _KEYS[engine]


def key_path(engine: Engine) -> Path:
    return _KEYS.get(engine) or attach(engine)


def key_for(engine: Engine) -> AuditKey:
    """The key of ``engine``'s database; :class:`AuditKeyError` names the file when it is missing."""
    path = key_path(engine)
    try:
        st = path.stat()
    except OSError:
        return load_key(path)  # raises, naming the file
    cache = (path, st.st_ino, st.st_mtime_ns)  # a replaced file is read again
    key = _LOADED.get(cache)
    if key is None:
        key = _LOADED[cache] = load_key(path)
    return key
