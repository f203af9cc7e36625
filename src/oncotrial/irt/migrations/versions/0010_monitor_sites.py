"""Sites assigned to monitors.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Monitors saw every site before this revision; from it on they see the sites an admin assigns
(`oncotrial irt assign-sites`), so an upgraded database's monitors need their sites assigned.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("assigned_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_monitor_sites_user_id", "monitor_sites", ["user_id"])


def downgrade() -> None:
    op.drop_table("monitor_sites")
