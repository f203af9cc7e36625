"""The database checked against its audit trail: what ``oncotrial audit verify`` adds to the chain.

The chain (:mod:`oncotrial.irt.audit`) proves the trail was not rewritten; these checks
prove the tables still say what the trail says, so an edit made around the service (with
the triggers dropped) is named even when the trail itself is intact:

* the allocation list: its rows against the checksum recorded in the trail at set-up;
  which rows are marked assigned against the rows randomizations consumed; within each
  stratum, positions used in order;
* every field of every randomization (number, site, arm, stratum, strata as randomized and
  as verified, list row, eligibility, time, who) and every correction, against their links;
* every other audited entity through :class:`EntityCheck`: the state its links describe
  against its row. Modules that add audited tables register their own checks with
  :func:`register`, so ``verify`` covers them without knowing them.

Messages name subjects, fields and list positions, never an arm: they are shown to roles
that must not learn allocations.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, text

from oncotrial.irt.db.models import AuditEntry
from oncotrial.irt.services.forms import check_form_records
from oncotrial.irt.services.locks import check_locks
from oncotrial.irt.services.monitors import check_monitor_sites
from oncotrial.irt.services.queries import check_queries
from oncotrial.irt.services.sdv import check_sdv_marks
from oncotrial.irt.services.signatures import check_signatures
from oncotrial.randomization import AllocationRow, rows_checksum

Links = Mapping[str, list[Any]]
"""Audit links by entity, each in chain order (rows with seq, ts, actor, action, entity_id, old, new, reason)."""
Check = Callable[[Connection, Links], list[str]]


@dataclass(frozen=True)
class EntityCheck:
    """The current rows of an audited entity against the state its links describe.

    ``query`` selects one row per entity with its id as ``entity_id`` and one column per
    audited field, named as in the links' ``new`` documents; replaying the links of
    ``entity`` (each ``new`` document updates the state) must give the same values.

    Example (the edc tables register theirs the same way)::

        register(EntityCheck("site", "SELECT code AS entity_id, code AS site, country, name FROM sites"))
    """

    entity: str
    query: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Fields an entity has from its creation without the first link naming them."""

    def __call__(self, conn: Connection, links: Links) -> list[str]:
        state: dict[str, dict[str, Any]] = {}
        for link in links.get(self.entity, []):
            new = json.loads(link.new)
            if isinstance(new, dict):
                state.setdefault(link.entity_id, dict(self.defaults)).update(new)
        problems = []
        seen = set()
        for row in conn.execute(text(self.query)).mappings():
            entity_id = str(row["entity_id"])
            seen.add(entity_id)
            want = state.get(entity_id)
            if want is None:
                problems.append(f"{self.entity} {entity_id!r} has no audit record")
                continue
            differ = [f for f, value in row.items() if f != "entity_id" and f in want
                      and not _same(value, want[f])]
            differ += [f for f in row.keys() if f != "entity_id" and f not in want]
            if differ:
                problems.append(f"{self.entity} {entity_id!r} does not match the audit trail in: "
                                f"{', '.join(sorted(differ))}")
        for missing in sorted(set(state) - seen):
            problems.append(f"{self.entity} {missing!r} is in the audit trail but not in the database")
        return problems


def _same(value: Any, audited: Any) -> bool:
    if isinstance(audited, bool):
        return value is not None and bool(value) == audited
    return value == audited


_CHECKS: dict[str, Check] = {}


def register(check: Check, name: str | None = None) -> None:
    """Add a check to every ``audit verify`` (a later check of the same name replaces it)."""
    _CHECKS[name or getattr(check, "entity", None) or check.__name__] = check


def verify_records(conn: Connection) -> list[str]:
    """Every registered check against the trail; an empty list when the tables agree with it."""
    links: dict[str, list[Any]] = defaultdict(list)
    for link in conn.execute(select(AuditEntry.seq, AuditEntry.ts, AuditEntry.actor, AuditEntry.action,
                                    AuditEntry.entity, AuditEntry.entity_id, AuditEntry.old, AuditEntry.new,
                                    AuditEntry.reason).order_by(AuditEntry.seq)):
        links[link.entity].append(link)
    problems: list[str] = []
    for check in _CHECKS.values():
        problems.extend(check(conn, links))
    return problems


def check_randomizations(conn: Connection, links: Links) -> list[str]:
    """Each randomization and correction field by field against its links, and the list use."""
    expected: dict[str, dict[str, Any]] = {}
    corrections: dict[str, list[Any]] = defaultdict(list)
    for link in links.get("randomization", []):
        new = json.loads(link.new)
        if link.action == "randomize":
            expected[link.entity_id] = {
                "randomization_number": new["randomization_number"], "site": new["site"], "arm": new["arm"],
                "stratum": new["stratum"], "strata_randomized": new["strata"], "strata_verified": new["strata"],
                "list_sequence": new["list_sequence"], "randomized_at": link.ts, "randomized_by": link.actor,
                "eligibility_confirmed": True}
        elif link.action == "correct" and link.entity_id in expected:
            expected[link.entity_id]["strata_verified"] = new["strata_verified"]
            corrections[link.entity_id].append(link)
    rows = conn.execute(text(
        "SELECT r.id, r.subject_id, r.randomization_number, s.code AS site, r.arm, r.stratum, r.strata_randomized, "
        "r.strata_verified, r.eligibility_confirmed, r.randomized_at, u.name || ' (' || u.role || ')' AS "
        "randomized_by, a.stratum AS list_stratum, a.sequence AS list_sequence, a.arm AS list_arm, "
        "a.assigned AS list_assigned FROM randomizations r LEFT JOIN sites s ON s.id = r.site_id "
        "LEFT JOIN users u ON u.id = r.randomized_by LEFT JOIN allocation_list a ON a.id = r.allocation_id "
        "ORDER BY r.randomization_number")).mappings().all()
    problems = []
    seen = set()
    for r in rows:
        subject = r["subject_id"]
        seen.add(subject)
        e = expected.get(subject)
        if e is None:
            problems.append(f"randomization of {subject!r} has no audit record")
            continue
        got = {"randomization_number": r["randomization_number"], "site": r["site"], "arm": r["arm"],
               "stratum": r["stratum"], "strata_randomized": json.loads(r["strata_randomized"]),
               "strata_verified": json.loads(r["strata_verified"]), "list_sequence": r["list_sequence"],
               "randomized_at": r["randomized_at"], "randomized_by": r["randomized_by"],
               "eligibility_confirmed": bool(r["eligibility_confirmed"])}
        differ = [f for f in got if got[f] != e[f]]
        if r["list_stratum"] != r["stratum"] or r["list_arm"] != r["arm"]:
            differ.append("allocation_id")
        if differ:
            problems.append(f"randomization of {subject!r} does not match its audit record in: "
                            f"{', '.join(sorted(set(differ)))}")
        problems.extend(_correction_problems(conn, r["id"], subject, corrections.get(subject, [])))
    for missing in sorted(set(expected) - seen):
        problems.append(f"randomization of {missing!r} is in the audit trail but not in the database")
    return problems


def _correction_problems(conn: Connection, randomization_id: int, subject: str, links: list[Any]) -> list[str]:
    rows = conn.execute(text(
        "SELECT c.old_value, c.new_value, c.reason, c.corrected_at, u.name || ' (' || u.role || ')' AS who "
        "FROM corrections c LEFT JOIN users u ON u.id = c.corrected_by WHERE c.randomization_id = :rid "
        "ORDER BY c.id"), {"rid": randomization_id}).all()
    if len(rows) != len(links):
        return [f"corrections of {subject!r}: {len(rows)} in the database, {len(links)} in the audit trail"]
    for i, (row, link) in enumerate(zip(rows, links), start=1):
        audited = (json.loads(link.old)["strata_verified"], json.loads(link.new)["strata_verified"], link.reason,
                   link.ts, link.actor)
        if (json.loads(row.old_value), json.loads(row.new_value), row.reason, row.corrected_at, row.who) != audited:
            return [f"correction {i} of {subject!r} differs from its audit record"]
    return []


def check_allocation_list(conn: Connection, links: Links) -> list[str]:
    """The list against its set-up checksum (from the trail); assigned flags against use."""
    init = next((link for link in links.get("trial", []) if link.action == "init"), None)
    if init is None:
        return ["the audit trail has no set-up (init) record"]
    recorded = json.loads(init.new)
    problems = []
    rows = conn.execute(text("SELECT id, stratum, sequence, block, block_size, arm, assigned FROM allocation_list "
                             "ORDER BY id")).all()
    method = conn.execute(text("SELECT method, list_checksum, list_rows FROM trial_setup WHERE id = 1")).one_or_none()
    if method is None or method.method != recorded["method"]:
        problems.append("trial set-up: method differs from the audit trail")
    if recorded["list_rows"]:
        listed = rows
        digest = rows_checksum(AllocationRow(r.stratum, r.sequence, r.block, r.block_size, r.arm) for r in listed)
        if len(listed) != recorded["list_rows"]:
            problems.append(f"allocation list: {len(listed)} rows, {recorded['list_rows']} recorded at set-up")
        if digest != recorded["list_checksum"]:
            problems.append("allocation list: rows differ from the list recorded at set-up "
                            f"(checksum {digest[:16]}..., recorded {recorded['list_checksum'][:16]}...)")
        if method is not None and (method.list_checksum, method.list_rows) != (recorded["list_checksum"],
                                                                               recorded["list_rows"]):
            problems.append("trial set-up: list checksum or size differs from the audit trail")
    used = {rid: n for rid, n in conn.execute(text(
        "SELECT allocation_id, randomization_number FROM randomizations"))}
    by_stratum: dict[str, list[tuple[int, bool, int | None]]] = defaultdict(list)
    for r in rows:
        assigned = bool(r.assigned)
        if assigned and r.id not in used:
            problems.append(f"allocation list: stratum {r.stratum!r} position {r.sequence} is marked assigned "
                            "but no randomization used it")
        elif not assigned and r.id in used:
            problems.append(f"allocation list: stratum {r.stratum!r} position {r.sequence} was used by "
                            f"randomization number {used[r.id]} but is not marked assigned")
        by_stratum[r.stratum].append((r.sequence, r.id in used, used.get(r.id)))
    for stratum, slots in by_stratum.items():
        slots.sort()
        flags = [u for _, u, _ in slots]
        if True in flags and False in flags[:len(flags) - flags[::-1].index(True)]:
            first_gap = next(seq for seq, u, _ in slots if not u)
            problems.append(f"allocation list: stratum {stratum!r} position {first_gap} was skipped "
                            "(later positions are used)")
        numbers = [n for _, u, n in slots if u]
        if numbers != sorted(numbers):
            problems.append(f"allocation list: stratum {stratum!r} positions were used out of randomization order")
    return problems


SITES = EntityCheck("site", "SELECT code AS entity_id, code AS site, country, name FROM sites")
USERS = EntityCheck("user", "SELECT u.name AS entity_id, u.name AS name, u.role AS role, s.code AS site, "
                            "u.active AS active FROM users u LEFT JOIN sites s ON s.id = u.site_id",
                    defaults={"active": True})

for _check in (check_allocation_list, check_randomizations, SITES, USERS):
    register(_check)
register(check_form_records)
register(check_locks)
register(check_queries)
register(check_sdv_marks)
register(check_signatures)
register(check_monitor_sites)


def names() -> Iterable[str]:
    """The registered checks, in the order ``verify`` runs them."""
    return tuple(_CHECKS)
