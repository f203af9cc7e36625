"""Triggers on every table holding allocation or audit state; the signed audit head.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

0001 froze the audit trail, the corrections and the fixed columns of randomizations and of
the allocation list. What stayed writable let a database user break the trial without the
trail noticing: ``allocation_list.assigned`` set back to 0 made a whole stratum answer 409
forever; the counter, the chain head, the trial set-up and the idempotency records could be
rewritten. Here each of them may only move the way the service moves it:

* a list row is assigned once (FALSE -> TRUE, never back), and rows are added only up to the
  list size recorded at set-up (minimization: only rows born assigned, block size 0);
* a randomization is inserted only with the number the counter just gave out and the arm and
  stratum of the (assigned) list row it consumes;
* the counter only counts up by one; the chain head only moves to the link just appended
  (or keeps its link while its signature is renewed); a link is appended only after the head;
* trial set-up, idempotency records and the head are never deleted or overwritten.

``audit_head`` gains ``mac`` and ``key_id``: the head signed with the audit key kept outside
the database (:mod:`oncotrial.irt.audit_key`). An existing database gets them from
``oncotrial irt upgrade``, which verifies the chain first and then signs its head.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SETUP = "(SELECT {col} FROM trial_setup WHERE id = 1)"
METHOD, LIST_ROWS = _SETUP.format(col="method"), _SETUP.format(col="list_rows")
COUNTER = "(SELECT value FROM counters WHERE name = 'randomization_number')"

# (name, table, event, SQLite condition, PostgreSQL condition, message): the event is refused
# when the condition holds. Both dialects see OLD/NEW the same way; booleans differ.
CHECKS = [
    ("allocation_assign_once", "allocation_list", "UPDATE OF assigned",
     "OLD.assigned <> 0 OR NEW.assigned = 0", "OLD.assigned OR NOT NEW.assigned",
     "a list row is assigned once and never released"),
    ("allocation_insert", "allocation_list", "INSERT",
     f"{METHOD} IS NULL OR ({METHOD} <> 'minimization' AND (SELECT COUNT(*) FROM allocation_list) >= {LIST_ROWS})"
     f" OR ({METHOD} = 'minimization' AND (NEW.assigned = 0 OR NEW.block_size <> 0))",
     f"{METHOD} IS NULL OR ({METHOD} = 'minimization' AND (NOT NEW.assigned OR NEW.block_size <> 0))",
     "rows are added to the allocation list only at set-up (minimization: as they are assigned)"),
    ("randomization_insert", "randomizations", "INSERT",
     f"NEW.randomization_number IS NOT {COUNTER} OR NOT EXISTS (SELECT 1 FROM allocation_list a "
     "WHERE a.id = NEW.allocation_id AND a.assigned <> 0 AND a.arm = NEW.arm AND a.stratum = NEW.stratum)",
     f"NEW.randomization_number IS DISTINCT FROM {COUNTER} OR NOT EXISTS (SELECT 1 FROM allocation_list a "
     "WHERE a.id = NEW.allocation_id AND a.assigned AND a.arm = NEW.arm AND a.stratum = NEW.stratum)",
     "a randomization takes the number just counted and the arm of the list row it consumes"),
    ("counter_update", "counters", "UPDATE",
     "NEW.name <> OLD.name OR NEW.value <> OLD.value + 1", "NEW.name <> OLD.name OR NEW.value <> OLD.value + 1",
     "a counter only counts up by one"),
    ("counter_delete", "counters", "DELETE", "1", "TRUE", "a counter is never deleted"),
    ("head_update", "audit_head", "UPDATE",
     "NEW.id <> OLD.id OR NOT ((NEW.seq = OLD.seq + 1 AND NEW.hash = (SELECT hash FROM audit_log WHERE seq = NEW.seq))"
     " OR (NEW.seq = OLD.seq AND NEW.hash = OLD.hash))",
     "NEW.id <> OLD.id OR NOT ((NEW.seq = OLD.seq + 1 AND NEW.hash IS NOT DISTINCT FROM "
     "(SELECT hash FROM audit_log WHERE seq = NEW.seq)) OR (NEW.seq = OLD.seq AND NEW.hash = OLD.hash))",
     "the audit head only moves to the link just appended"),
    ("head_insert", "audit_head", "INSERT", "EXISTS (SELECT 1 FROM audit_head)", "EXISTS (SELECT 1 FROM audit_head)",
     "the audit chain has one head"),
    ("head_delete", "audit_head", "DELETE", "1", "TRUE", "the audit head is never deleted"),
    ("audit_insert", "audit_log", "INSERT",
     "NOT EXISTS (SELECT 1 FROM audit_head h WHERE h.seq + 1 = NEW.seq AND h.hash = NEW.prev_hash)",
     "NOT EXISTS (SELECT 1 FROM audit_head h WHERE h.seq + 1 = NEW.seq AND h.hash = NEW.prev_hash)",
     "a link is appended only after the chain head"),
    ("setup_update", "trial_setup", "UPDATE", "1", "TRUE", "the trial set-up is never rewritten"),
    ("setup_delete", "trial_setup", "DELETE", "1", "TRUE", "the trial set-up is never deleted"),
    ("idempotency_update", "idempotency_keys", "UPDATE", "1", "TRUE", "idempotency records are append-only"),
    ("idempotency_delete", "idempotency_keys", "DELETE", "1", "TRUE", "idempotency records are append-only"),
]
TRUNCATE_GUARDED = ("trial_setup", "audit_head", "counters", "idempotency_keys")
# PostgreSQL: a per-row COUNT(*) over the list at set-up would be quadratic; the size is
# checked once per statement instead.
PG_LIST_SIZE = (f"{METHOD} <> 'minimization' AND (SELECT COUNT(*) FROM allocation_list) > {LIST_ROWS}")


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    dialect = op.get_bind().dialect.name
    for name, table, event, sqlite_cond, pg_cond, message in CHECKS:
        if dialect == "postgresql":
            op.execute(f"CREATE FUNCTION irt_check_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       f"IF {pg_cond} THEN RAISE EXCEPTION '% on %: {message}', TG_OP, TG_TABLE_NAME; END IF; "
                       "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$")
            op.execute(f"CREATE TRIGGER irt_check_{name} BEFORE {event} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION irt_check_{name}()")
        else:
            op.execute(f"CREATE TRIGGER irt_check_{name} BEFORE {event} ON {table} WHEN {sqlite_cond} "
                       f"BEGIN SELECT RAISE(ABORT, '{event.split()[0]} on {table}: {message}'); END")
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION irt_check_list_size() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"IF {PG_LIST_SIZE} THEN RAISE EXCEPTION 'INSERT on allocation_list: rows are added to the "
                   "allocation list only at set-up'; END IF; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER irt_check_list_size AFTER INSERT ON allocation_list "
                   "FOR EACH STATEMENT EXECUTE FUNCTION irt_check_list_size()")
        for table in TRUNCATE_GUARDED:
            op.execute(f"CREATE TRIGGER irt_guard_{table}_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION irt_forbid('append-only table')")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, *_ in CHECKS:
        op.execute(f"DROP TRIGGER IF EXISTS irt_check_{name}" + (f" ON {table}" if dialect == "postgresql" else ""))
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS irt_check_{name}()")
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS irt_check_list_size ON allocation_list")
        op.execute("DROP FUNCTION IF EXISTS irt_check_list_size()")
        for table in TRUNCATE_GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS irt_guard_{table}_truncate ON {table}")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("key_id")
        batch.drop_column("mac")
