"""The allocating transaction's statements, run on the DB-API cursor.

SQLAlchemy Core spends ~40 µs of Python per statement on top of the driver; the
randomization transaction runs eight statements, and under load that overhead was the
largest single cost of a randomization. These statements are plain SQL that SQLite and
PostgreSQL both accept, written with ``:name`` parameters (converted once to psycopg's
``%(name)s``), and executed inside the transaction the SQLAlchemy connection opened,
so commit and rollback stay with :func:`oncotrial.irt.db.engine.write_tx`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_CONVERTED: dict[str, str] = {}


class Raw:
    """A cursor on the DB-API connection under an open SQLAlchemy ``Connection``."""

    __slots__ = ("cursor", "postgres", "engine")

    def __init__(self, conn: Connection) -> None:
        self.postgres = conn.dialect.name == "postgresql"
        self.engine = conn.engine
        self.cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        if self.postgres:
            converted = _CONVERTED.get(sql)
            if converted is None:
                converted = _CONVERTED[sql] = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
            sql = converted
        self.cursor.execute(sql, params or {})
        return self.cursor

    def one_or_none(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...] | None:
        return self.execute(sql, params).fetchone()

    def one(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
        row = self.execute(sql, params).fetchone()
        if row is None:
            raise LookupError(f"expected one row from: {sql.split()[0:4]}")
        return row

    def for_update(self) -> str:
        """Row-lock suffix: PostgreSQL locks the row; SQLite's BEGIN IMMEDIATE already holds the write lock."""
        return " FOR UPDATE" if self.postgres else ""
