"""Subject ids unique regardless of case.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

``P001`` and ``p001`` were two subjects. An existing database holding such a pair stops this
migration with the database's unique-index error; rename one through a documented
correction of the source records before upgrading.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX uq_randomizations_subject_id_ci ON randomizations (lower(subject_id))")


def downgrade() -> None:
    op.execute("DROP INDEX uq_randomizations_subject_id_ci")
