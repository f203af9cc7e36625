"""Source-data verification marks: which revision of which record a monitor verified.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_MESSAGE = "an SDV mark is never changed or deleted; verify the record again"


def upgrade() -> None:
    op.create_table(
        "sdv_marks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=False),
        sa.Column("record_key", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("verified_at", sa.String(32), nullable=False),
        sa.Column("verified_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.UniqueConstraint("randomization_id", "record_key", "revision", name="uq_sdv_marks_record_revision"),
    )
    op.create_index("ix_sdv_marks_randomization_id", "sdv_marks", ["randomization_id"])
    if op.get_bind().dialect.name == "sqlite":
        for when in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER sdv_marks_no_{when.lower()} BEFORE {when} ON sdv_marks "
                       f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END")
    else:
        op.execute("CREATE FUNCTION sdv_marks_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"RAISE EXCEPTION '{_MESSAGE}'; END $$")
        op.execute("CREATE TRIGGER sdv_marks_append_only BEFORE UPDATE OR DELETE ON sdv_marks "
                   "FOR EACH ROW EXECUTE FUNCTION sdv_marks_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER sdv_marks_append_only ON sdv_marks")
        op.execute("DROP FUNCTION sdv_marks_append_only()")
    op.drop_table("sdv_marks")
