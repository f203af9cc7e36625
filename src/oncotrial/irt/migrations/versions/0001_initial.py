"""Initial schema of the randomization service, with append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.String(32)

# Columns of a randomization that are fixed once it exists; only strata_verified changes,
# through a correction.
FROZEN_RANDOMIZATION_COLUMNS = ("randomization_number", "subject_id", "site_id", "arm", "stratum",
                                "strata_randomized", "allocation_id", "eligibility_confirmed",
                                "randomized_at", "randomized_by")
FROZEN_ALLOCATION_COLUMNS = ("stratum", "sequence", "block", "block_size", "arm")

GUARDS = [
    # (table, operation, columns or None, message)
    ("audit_log", "UPDATE", None, "the audit trail is append-only"),
    ("audit_log", "DELETE", None, "the audit trail is append-only"),
    ("corrections", "UPDATE", None, "corrections are append-only"),
    ("corrections", "DELETE", None, "corrections are append-only"),
    ("randomizations", "DELETE", None, "a randomization is never deleted; record a correction"),
    ("randomizations", "UPDATE", FROZEN_RANDOMIZATION_COLUMNS,
     "a randomization is never overwritten; record a correction"),
    ("allocation_list", "DELETE", None, "the allocation list is never deleted"),
    ("allocation_list", "UPDATE", FROZEN_ALLOCATION_COLUMNS, "the allocation list is never rewritten"),
]


def upgrade() -> None:
    op.create_table(
        "trial_setup",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.String(64), nullable=False),
        sa.Column("protocol_name", sa.String(200), nullable=False),
        sa.Column("protocol_json", sa.Text, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("list_checksum", sa.String(128), nullable=False),
        sa.Column("list_rows", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=True),
        sa.Column("password_hash", sa.String(300), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "allocation_list",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("stratum", sa.String(500), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("block", sa.Integer, nullable=False),
        sa.Column("block_size", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("assigned", sa.Boolean, nullable=False),
        sa.UniqueConstraint("stratum", "sequence", name="uq_allocation_stratum_sequence"),
    )
    op.create_index("ix_allocation_next", "allocation_list", ["stratum", "assigned", "sequence"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "randomizations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("randomization_number", sa.Integer, nullable=False, unique=True),
        sa.Column("subject_id", sa.String(64), nullable=False, unique=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("stratum", sa.String(500), nullable=False),
        sa.Column("strata_randomized", sa.Text, nullable=False),
        sa.Column("strata_verified", sa.Text, nullable=False),
        sa.Column("allocation_id", sa.Integer, sa.ForeignKey("allocation_list.id"), nullable=False, unique=True),
        sa.Column("eligibility_confirmed", sa.Boolean, nullable=False),
        sa.Column("randomized_at", TS, nullable=False),
        sa.Column("randomized_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    )
    op.create_index("ix_randomizations_site_id", "randomizations", ["site_id"])
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text, nullable=False),
        sa.Column("new_value", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("corrected_at", TS, nullable=False),
        sa.Column("corrected_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    )
    op.create_index("ix_corrections_randomization_id", "corrections", ["randomization_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("old", sa.Text, nullable=False),
        sa.Column("new", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    _create_guards(op.get_bind().dialect.name)


def _create_guards(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION irt_forbid() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% on %: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]; END $$"
        )
    for i, (table, operation, columns, message) in enumerate(GUARDS):
        name = f"irt_guard_{table}_{operation.lower()}"
        of = f" OF {', '.join(columns)}" if columns else ""
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {name} BEFORE {operation}{of} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION irt_forbid('{message}')")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {operation}{of} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{operation} on {table}: {message}'); END")
    if dialect == "postgresql":
        for table in ("audit_log", "randomizations", "corrections", "allocation_list"):
            op.execute(f"CREATE TRIGGER irt_guard_{table}_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION irt_forbid('append-only table')")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, operation, _, _ in GUARDS:
        name = f"irt_guard_{table}_{operation.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        for table in ("audit_log", "randomizations", "corrections", "allocation_list"):
            op.execute(f"DROP TRIGGER IF EXISTS irt_guard_{table}_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS irt_forbid()")
    for table in ("audit_head", "audit_log", "idempotency_keys", "corrections", "randomizations", "counters",
                  "allocation_list", "web_sessions", "api_tokens", "users", "sites", "trial_setup"):
        op.drop_table(table)
