"""Data queries: raised by edit checks or by reviewers, answered by sites, closed and re-opened.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "queries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("finding_key", sa.String(400), nullable=True),
        sa.Column("check", sa.String(64), nullable=False),
        sa.Column("record", sa.String(200), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("opened_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.UniqueConstraint("randomization_id", "finding_key", name="uq_queries_subject_finding"),
    )
    op.create_index("ix_queries_randomization_id", "queries", ["randomization_id"])
    op.create_index("ix_queries_status", "queries", ["status"])
    # a query is closed, never deleted: its history is the trial's record of how the data were cleaned
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER queries_no_delete BEFORE DELETE ON queries "
                   "BEGIN SELECT RAISE(ABORT, 'a query is never deleted; close it'); END")
    else:
        op.execute("CREATE FUNCTION queries_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION 'a query is never deleted; close it'; END $$")
        op.execute("CREATE TRIGGER queries_no_delete BEFORE DELETE ON queries "
                   "FOR EACH ROW EXECUTE FUNCTION queries_no_delete()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER queries_no_delete ON queries")
        op.execute("DROP FUNCTION queries_no_delete()")
    op.drop_table("queries")
