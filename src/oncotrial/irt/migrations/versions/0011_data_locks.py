"""Freeze and lock at three levels: the database, a casebook, a record.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``data_locks`` replaces ``casebook_locks``: each casebook lock becomes a casebook-level row in
state ``locked`` (or ``open`` where it had been unlocked), keeping who changed it, when and why.
The audit links already written for casebook locks stay valid: ``audit verify`` reads their
``{"locked": ...}`` as the states locked and open.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_locks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), nullable=True),
        sa.Column("record_key", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cutoff", sa.String(10), nullable=True),
        sa.Column("changed_at", sa.String(32), nullable=False),
        sa.Column("changed_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("scope", "target", name="uq_data_locks_scope_target"),
    )
    op.create_index("ix_data_locks_randomization_id", "data_locks", ["randomization_id"])
    op.execute(
        "INSERT INTO data_locks (scope, target, randomization_id, record_key, state, cutoff, changed_at, "
        "changed_by, reason) SELECT 'casebook', r.subject_id, c.randomization_id, NULL, "
        "CASE WHEN c.locked THEN 'locked' ELSE 'open' END, NULL, c.changed_at, c.changed_by, c.reason "
        "FROM casebook_locks c JOIN randomizations r ON r.id = c.randomization_id")
    op.drop_table("casebook_locks")


def downgrade() -> None:
    op.create_table(
        "casebook_locks",
        sa.Column("randomization_id", sa.Integer, sa.ForeignKey("randomizations.id"), primary_key=True),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.String(32), nullable=False),
        sa.Column("changed_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO casebook_locks (randomization_id, locked, changed_at, changed_by, reason) "
        "SELECT randomization_id, state = 'locked', changed_at, changed_by, reason FROM data_locks "
        "WHERE scope = 'casebook'")
    op.drop_table("data_locks")
