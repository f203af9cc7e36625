"""Electronic signatures of casebooks by investigators.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_MESSAGE = "a signature is never changed or deleted; sign again"


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=False),
        sa.Column("signed_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("meaning", sa.String(32), nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_signatures_randomization_id", "signatures", ["randomization_id"])
    if op.get_bind().dialect.name == "sqlite":
        for when in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER signatures_no_{when.lower()} BEFORE {when} ON signatures "
                       f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END")
    else:
        op.execute("CREATE FUNCTION signatures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"RAISE EXCEPTION '{_MESSAGE}'; END $$")
        op.execute("CREATE TRIGGER signatures_append_only BEFORE UPDATE OR DELETE ON signatures "
                   "FOR EACH ROW EXECUTE FUNCTION signatures_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER signatures_append_only ON signatures")
        op.execute("DROP FUNCTION signatures_append_only()")
    op.drop_table("signatures")
