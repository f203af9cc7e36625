"""PostgreSQL: one randomization from a list in one statement, ``irt_randomize(...)``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Run from Python, a randomization was ~10 statements, each a round trip and a psycopg call
(~1 ms of server-process CPU per randomization). The function runs the same statements,
in the same lock order, inside the caller's transaction, so the service sends one.

It does not raise for the outcomes the service answers (replay, key reuse, list used up,
duplicate subject): its writes run in a block with an exception handler, which PostgreSQL
rolls back on its own, and the outcome comes back as ``r_outcome`` (with the SQLSTATE and
message of a caught error). So the caller's transaction stays usable and the group committer
needs no SAVEPOINT round trips around it.

The audit link's hash is computed here and must equal :func:`oncotrial.irt.audit.link_hash`
byte for byte: ``to_json(text)`` escapes strings as Python's ``json.dumps(ensure_ascii=False)``
does (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other control characters as ``\\u00xx``,
everything else verbatim), and the parts of the ``new`` document that do not come from the
database arrive already in canonical form from Python (see ``allocation.allocate_in_one_call``).
SQLite has no stored functions and keeps allocating from Python.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SIGNATURE = ("irt_randomize(integer, text, text, text, integer, text, text, text, bigint, text, text, text)")

FUNCTION = r"""
CREATE FUNCTION irt_randomize(
    p_user_id integer, p_key text, p_request_hash text, p_subject_id text, p_site_id integer,
    p_stratum text, p_strata text, p_now text, p_stratum_lock bigint, p_actor text,
    p_new_middle text, p_new_tail text)
RETURNS TABLE (r_outcome text, r_number integer, r_arm text, r_sqlstate text, r_message text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_request_hash text;
    v_number bigint;
    v_slot integer;
    v_sequence integer;
    v_arm text;
    v_rid integer;
    v_head_seq bigint;
    v_head_hash text;
    v_new text;
    v_hash text;
BEGIN
    IF p_key IS NOT NULL THEN
        SELECT k.request_hash INTO v_request_hash
          FROM idempotency_keys k WHERE k.user_id = p_user_id AND k.key = p_key;
        IF FOUND THEN
            -- The caller reads the earlier randomization back (rare: retries only).
            RETURN QUERY SELECT CASE WHEN v_request_hash = p_request_hash THEN 'replay' ELSE 'key_reused' END,
                                NULL::integer, NULL::text, NULL::text, NULL::text;
            RETURN;
        END IF;
    END IF;
    BEGIN
        -- Lock order as everywhere else: number counter, stratum, its next list row, audit head.
        UPDATE counters SET value = value + 1 WHERE name = 'randomization_number' RETURNING value INTO v_number;
        PERFORM pg_advisory_xact_lock(p_stratum_lock);
        -- Strictly the lowest unassigned sequence of the stratum: the counter lock above
        -- serializes allocators, and in READ COMMITTED this statement sees every commit
        -- made before that lock was granted.
        UPDATE allocation_list SET assigned = TRUE
         WHERE id = (SELECT a.id FROM allocation_list a WHERE a.stratum = p_stratum AND a.assigned = FALSE
                      ORDER BY a.sequence LIMIT 1 FOR UPDATE)
        RETURNING id, sequence, arm INTO v_slot, v_sequence, v_arm;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'allocation list of stratum % is used up', p_stratum USING ERRCODE = 'OTL01';
        END IF;
        INSERT INTO randomizations (randomization_number, subject_id, site_id, arm, stratum, strata_randomized,
                                    strata_verified, allocation_id, eligibility_confirmed, randomized_at,
                                    randomized_by)
        VALUES (v_number, p_subject_id, p_site_id, v_arm, p_stratum, p_strata, p_strata, v_slot, TRUE, p_now,
                p_user_id)
        RETURNING id INTO v_rid;
        SELECT h.seq, h.hash INTO v_head_seq, v_head_hash FROM audit_head h WHERE h.id = 1 FOR UPDATE;
        -- canonical({"arm", "idempotency_key", "list_sequence", "randomization_number", "site", "strata",
        -- "stratum"}): keys sorted; p_new_middle and p_new_tail hold the canonical text between them.
        v_new := '{"arm":' || to_json(v_arm)::text || p_new_middle || v_sequence::text
                 || ',"randomization_number":' || v_number::text || p_new_tail;
        -- link_hash(prev, seq, when, actor, "randomize", "randomization", subject, "null", new, "")
        v_hash := encode(sha256(convert_to(
            v_head_hash || E'\n' || '[' || (v_head_seq + 1)::text || ',' || to_json(p_now)::text || ','
            || to_json(p_actor)::text || ',"randomize","randomization",' || to_json(p_subject_id)::text
            || ',"null",' || to_json(v_new)::text || ',""]', 'UTF8')), 'hex');
        INSERT INTO audit_log (seq, ts, actor, action, entity, entity_id, old, new, reason, prev_hash, hash)
        VALUES (v_head_seq + 1, p_now, p_actor, 'randomize', 'randomization', p_subject_id, 'null', v_new, '',
                v_head_hash, v_hash);
        UPDATE audit_head SET seq = v_head_seq + 1, hash = v_hash WHERE id = 1;
        IF p_key IS NOT NULL THEN
            INSERT INTO idempotency_keys (user_id, key, request_hash, randomization_id, created_at)
            VALUES (p_user_id, p_key, p_request_hash, v_rid, p_now);
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'OTL01' THEN
            RETURN QUERY SELECT 'used_up', NULL::integer, NULL::text, SQLSTATE, SQLERRM;
            RETURN;
        WHEN OTHERS THEN
            -- Everything of the block is already rolled back; the caller raises the same error class.
            RETURN QUERY SELECT 'error', NULL::integer, NULL::text, SQLSTATE, SQLERRM;
            RETURN;
    END;
    RETURN QUERY SELECT 'randomized', v_number::integer, v_arm, NULL::text, NULL::text;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
