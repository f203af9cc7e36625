"""The append-only, hash-chained audit trail.

Each link hashes the previous link's hash together with a canonical JSON form of
its own fields, so changing, removing or reordering any past row breaks every later
hash. Writers append inside their own transaction after locking the chain head
(``audit_head``, one row), so links are numbered without gaps and a write and its
audit record commit or vanish together.

A consistent rewrite of the whole chain (every hash recomputed) would still verify, so
the head is also signed: ``audit_head.mac`` is an HMAC of its sequence number and hash
under the audit key, a file outside the database (:mod:`oncotrial.irt.audit_key`). Every
append renews it in the same statement that moves the head; the PostgreSQL randomize
function moves the head without the key, and the group committer signs the head once per
batch before its COMMIT (:func:`seal_head`), so a committed head is always signed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select

from oncotrial.irt import audit_key
from oncotrial.irt.audit_key import AuditKey, AuditKeyError
from oncotrial.irt.db.models import AuditEntry, AuditHead
from oncotrial.irt.db.raw import Raw
from oncotrial.irt.security import ts

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """The one JSON text of a value that is hashed and stored (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(prev_hash: str, seq: int, when: str, actor: str, action: str, entity: str, entity_id: str,
              old: str, new: str, reason: str) -> str:
    body = canonical([seq, when, actor, action, entity, entity_id, old, new, reason])
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def init_chain(conn: Connection, key: AuditKey | None = None) -> None:
    """Start the chain with its genesis head, signed with ``key`` (default: the engine's key)."""
    key = key or audit_key.key_for(conn.engine)
    conn.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS, mac=key.sign_head(0, GENESIS),
                                          key_id=key.key_id))


def seal_head(conn: Connection | Raw) -> None:
    """Sign the current head (no-op when its signature is current); in the caller's transaction."""
    raw = conn if isinstance(conn, Raw) else Raw(conn)
    key = audit_key.key_for(raw.engine)
    seq, head_hash, mac = raw.one("SELECT seq, hash, mac FROM audit_head WHERE id = 1" + raw.for_update())
    want = key.sign_head(seq, head_hash)
    if mac != want:
        raw.execute("UPDATE audit_head SET mac = :mac, key_id = :key_id WHERE id = 1",
                    {"mac": want, "key_id": key.key_id})


def append(conn: Connection | Raw, *, actor: str, action: str, entity: str, entity_id: str | int,
           old: Any = None, new: Any = None, reason: str = "", when: str | None = None) -> str:
    """Append one link in the caller's transaction and return its hash.

    Locks the chain head row first (PostgreSQL: ``FOR UPDATE``; SQLite: the writer
    already holds the database lock), so concurrent writers append one at a time."""
    raw = conn if isinstance(conn, Raw) else Raw(conn)
    key = audit_key.key_for(raw.engine)  # before any write: a missing key leaves nothing half-done
    head_seq, head_hash = raw.one("SELECT seq, hash FROM audit_head WHERE id = 1" + raw.for_update())
    seq = head_seq + 1
    when = when or ts()
    old_text, new_text = canonical(old), canonical(new)
    entity_id = str(entity_id)
    digest = link_hash(head_hash, seq, when, actor, action, entity, entity_id, old_text, new_text, reason)
    raw.execute("INSERT INTO audit_log (seq, ts, actor, action, entity, entity_id, old, new, reason, prev_hash, hash) "
                "VALUES (:seq, :ts, :actor, :action, :entity, :entity_id, :old, :new, :reason, :prev_hash, :hash)",
                {"seq": seq, "ts": when, "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
                 "old": old_text, "new": new_text, "reason": reason, "prev_hash": head_hash, "hash": digest})
    raw.execute("UPDATE audit_head SET seq = :seq, hash = :hash, mac = :mac, key_id = :key_id WHERE id = 1",
                {"seq": seq, "hash": digest, "mac": key.sign_head(seq, digest), "key_id": key.key_id})
    return digest


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`. ``ok`` only when no problem was found."""

    ok: bool
    entries: int
    head_hash: str
    problems: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_hash": self.head_hash, "problems": list(self.problems)}


def verify_chain(conn: Connection, *, max_problems: int = 20, check_signature: bool = True) -> ChainReport:
    """Recompute every link; report gaps, broken links, edited rows, a moved head and a
    head not signed by the audit key (a rewritten chain)."""
    problems: list[str] = []
    prev, expected_seq, n = GENESIS, 1, 0
    rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).all()
    for r in rows:
        n += 1
        if r.seq != expected_seq:
            problems.append(f"audit seq {expected_seq} is missing (next present is {r.seq})")
        if r.prev_hash != prev:
            problems.append(f"audit seq {r.seq}: prev_hash does not match the hash of the link before it")
        digest = link_hash(r.prev_hash, r.seq, r.ts, r.actor, r.action, r.entity, r.entity_id, r.old, r.new, r.reason)
        if digest != r.hash:
            problems.append(f"audit seq {r.seq}: content does not match its hash (row was altered)")
        prev, expected_seq = r.hash, r.seq + 1
        if len(problems) >= max_problems:
            break
    head = conn.execute(select(AuditHead.seq, AuditHead.hash, AuditHead.mac, AuditHead.key_id)
                        .where(AuditHead.id == 1)).one_or_none()
    if head is None:
        problems.append("audit head row is missing")
    else:
        if len(problems) < max_problems and (head.seq != expected_seq - 1 or head.hash != prev):
            problems.append(f"audit head (seq {head.seq}) does not match the last link (seq {expected_seq - 1}): "
                            "links were removed or added outside the chain")
        if check_signature:
            problems.extend(_signature_problems(conn, head))
    return ChainReport(ok=not problems, entries=n, head_hash=prev, problems=tuple(problems))


def _signature_problems(conn: Connection, head: Any) -> list[str]:
    try:
        key = audit_key.key_for(conn.engine)
    except AuditKeyError as exc:
        return [f"{exc}; without it the chain head cannot be authenticated"]
    if head.mac is None:
        return ["audit head is not signed (a database from before oncotrial 0003); "
                "run `oncotrial irt upgrade --db URL` to verify and sign it"]
    if head.key_id != key.key_id:
        return [f"audit key {key.path} is not the key this chain was signed with "
                f"(key id {key.key_id}, the head names {head.key_id})"]
    if head.mac != key.sign_head(head.seq, head.hash):
        return [f"audit head (seq {head.seq}) is not signed by the audit key: the chain was rewritten "
                "or the head replaced outside the service"]
    return []

