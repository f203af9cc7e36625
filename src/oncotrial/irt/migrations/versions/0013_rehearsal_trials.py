"""Rehearsal databases: a trial played by the simulator through the API (``oncotrial rehearse``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A rehearsal database takes the simulated trial's allocation list and a randomization time with
each request (the simulated calendar); a trial database never does. Existing databases are
trial databases.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch copy: SQLite's triggers on the allocation tables name trial_setup.
def upgrade() -> None:
    op.add_column("trial_setup", sa.Column("rehearsal", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("trial_setup", "rehearsal")
