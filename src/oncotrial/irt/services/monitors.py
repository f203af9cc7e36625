"""Monitors and the sites assigned to them.

A monitor reads casebooks, raises queries and verifies source data only at the sites an admin
assigned (ICH E6: monitoring is planned per site). A monitor starts with no site. Each change of a
monitor's sites is one link of the audit chain holding the whole new set, so ``audit verify``
compares the current assignments with the last link. Assignments are ended, not deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import MonitorSite, Site, User
from oncotrial.irt.security import ts
from oncotrial.irt.services.errors import Invalid, NotFound

ENTITY = "monitor_sites"


def monitored_sites(conn: Connection, user_id: int) -> frozenset[int]:
    """The ids of the sites currently assigned to a monitor."""
    rows = conn.execute(select(MonitorSite.site_id)
                        .where(MonitorSite.user_id == user_id, MonitorSite.ended_at.is_(None)))
    return frozenset(r.site_id for r in rows)


def _current_codes(conn: Connection, user_id: int) -> list[str]:
    return sorted(conn.execute(select(Site.code).join(MonitorSite, MonitorSite.site_id == Site.id)
                               .where(MonitorSite.user_id == user_id, MonitorSite.ended_at.is_(None)))
                  .scalars())


def set_monitor_sites(conn: Connection, user_id: int, user_name: str, sites: Iterable[str], *, reason: str,
                      actor: str) -> dict[str, Any]:
    """Make ``sites`` (site codes) the monitor's sites inside the caller's transaction."""
    codes = sorted(set(sites))
    found = dict(conn.execute(select(Site.code, Site.id).where(Site.code.in_(codes))).all())
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(f"sites: {', '.join(repr(c) for c in missing)} "
                       f"{'does' if len(missing) == 1 else 'do'} not exist")
    old = _current_codes(conn, user_id)
    if old == codes:
        return {"name": user_name, "sites": codes, "changed": False}
    now = ts()
    ended = [found_id for code, found_id in conn.execute(
        select(Site.code, Site.id).join(MonitorSite, MonitorSite.site_id == Site.id)
        .where(MonitorSite.user_id == user_id, MonitorSite.ended_at.is_(None))) if code not in codes]
    if ended:
        conn.execute(update(MonitorSite).where(MonitorSite.user_id == user_id, MonitorSite.ended_at.is_(None),
                                               MonitorSite.site_id.in_(ended)).values(ended_at=now))
    for code in codes:
        if code not in old:
            conn.execute(insert(MonitorSite).values(user_id=user_id, site_id=found[code], assigned_at=now))
    audit.append(conn, actor=actor, action="assign_sites", entity=ENTITY, entity_id=user_name,
                 old={"sites": old}, new={"sites": codes}, reason=reason, when=now)
    return {"name": user_name, "sites": codes, "changed": True}


def assign_sites(engine: Engine, user_name: str, sites: Iterable[str], *, reason: str, actor: str) -> dict[str, Any]:
    """Give a monitor exactly these sites (an empty list takes every site away), with a reason.

    Example::

        assign_sites(engine, "monitor1", ["S01", "S02"], reason="monitoring plan v2", actor="cli")
    """
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: required when changing a monitor's sites")
    codes = list(sites)
    with write_tx(engine) as conn:
        row = conn.execute(select(User.id, User.role).where(User.name == user_name)).one_or_none()
        if row is None:
            raise NotFound(f"user: {user_name!r} does not exist")
        if row.role != "monitor":
            raise Invalid(f"user: {user_name!r} is a {row.role}; only monitors are assigned sites "
                          "(site staff have the one site they were added with)")
        return set_monitor_sites(conn, row.id, user_name, codes, reason=reason, actor=actor)


def monitor_sites_by_user(conn: Connection) -> dict[int, list[str]]:
    """Every monitor's current site codes, by user id."""
    out: dict[int, list[str]] = {}
    for r in conn.execute(select(MonitorSite.user_id, Site.code).join(Site, Site.id == MonitorSite.site_id)
                          .where(MonitorSite.ended_at.is_(None)).order_by(Site.code)):
        out.setdefault(r.user_id, []).append(r.code)
    return out


def check_monitor_sites(conn: Connection, links: Mapping[str, list[Any]]) -> list[str]:
    """Each monitor's current sites against the last assignment on the audit chain."""
    want: dict[str, list[str]] = {}
    for link in links.get(ENTITY, []):
        want[link.entity_id] = json.loads(link.new)["sites"]
    names = dict(conn.execute(select(User.id, User.name)).all())
    have = {names[uid]: codes for uid, codes in monitor_sites_by_user(conn).items()}
    problems = []
    for name in sorted(set(want) | set(have)):
        w, h = want.get(name, []), have.get(name, [])
        if w != h:
            problems.append(f"monitor {name!r} has sites {h} but the audit trail says {w}")
    return problems
