"""Form records: the eCRF entries of data capture.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A record is never deleted: a value entered in error is changed, with a reason, and the
audit chain keeps the old one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "form_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=False),
        sa.Column("record_key", sa.String(200), nullable=False),
        sa.Column("visit", sa.String(64), nullable=False),
        sa.Column("visitnum", sa.Float, nullable=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("values", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.UniqueConstraint("randomization_id", "record_key", name="uq_form_records_subject_record"),
    )
    op.create_index("ix_form_records_randomization_id", "form_records", ["randomization_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER form_records_no_delete BEFORE DELETE ON form_records "
                   "BEGIN SELECT RAISE(ABORT, 'a form record is never deleted; change it with a reason'); END")
    else:
        op.execute("CREATE FUNCTION form_records_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION 'a form record is never deleted; change it with a reason'; END $$")
        op.execute("CREATE TRIGGER form_records_no_delete BEFORE DELETE ON form_records "
                   "FOR EACH ROW EXECUTE FUNCTION form_records_no_delete()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER form_records_no_delete ON form_records")
        op.execute("DROP FUNCTION form_records_no_delete()")
    op.drop_table("form_records")
