"""An index on the audit trail by entity: one subject's history without reading the whole chain.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

The ODM export writes each subject's audit records as it goes (bounded memory), and the
as-of export replays one entity's links; both look links up by ``(entity, entity_id)``.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
