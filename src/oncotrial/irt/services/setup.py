"""Bootstrap and administration: the trial, its allocation list, sites, users, tokens."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, inspect, select, update

from oncotrial._seed import check_seed
from oncotrial.irt import audit, audit_key
from oncotrial.irt.audit_key import AuditKey
from oncotrial.irt.config import ROLES, SITE_ROLES
from oncotrial.irt.db.engine import read_tx, write_tx
from oncotrial.irt.db.migrate import upgrade
from oncotrial.irt.db.models import AllocationRow, ApiToken, AuditHead, Counter, Site, TrialSetup, User
from oncotrial.irt.security import hash_password, hash_secret, new_secret, ts, utcnow
from oncotrial.irt.services.errors import Conflict, Invalid, NotFound
from oncotrial.irt.services.monitors import monitor_sites_by_user, set_monitor_sites
from oncotrial.irt.services.trial import SUPPORTED_METHODS, Trial
from oncotrial.randomization import AllocationList, Minimization, generate_permuted_blocks, generate_simple

SITE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
RANDOMIZATION_COUNTER = "randomization_number"


@dataclass(frozen=True)
class InitResult:
    study_id: str
    method: str
    strata: int
    list_rows: int
    checksum: str
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def build_allocation_list(trial: Trial, *, seed: int, per_stratum: int) -> AllocationList:
    """The stratified list for ``trial``: ``per_stratum`` slots (whole blocks) in every stratum."""
    arms = [a.code for a in trial.arms]
    ratio = [a.ratio for a in trial.arms]
    if trial.method == "permuted_blocks":
        return generate_permuted_blocks(trial.strata_levels, arms, ratio, list(trial.block_sizes), per_stratum, seed)
    if trial.method == "simple":
        return generate_simple(trial.strata_levels, arms, ratio, per_stratum, seed)
    raise Invalid(f"randomization.method: {trial.method!r} is not supported by the IRT; "
                  f"expected one of {', '.join(SUPPORTED_METHODS)} (list-based methods)")


def init_trial(engine: Engine, protocol: str, *, seed: int | None = None, per_stratum: int | None = None,
               actor: str = "cli", rehearsal: AllocationList | None = None) -> InitResult:
    """Create the schema, store the protocol and its generated allocation list, start the audit chain.

    ``rehearsal`` makes a rehearsal database (``oncotrial rehearse``) holding that list, the
    simulated trial's own assignments, instead of a generated one; it also takes each
    randomization's time from the request. A trial database never does either.

    ``per_stratum`` defaults to the protocol's target sample size, so no stratum can run
    out even if every patient fell into it. Without ``seed`` the list's seed is drawn from the
    operating system's secure random source: the protocol's own seed is public (anyone with
    the protocol file could rebuild the list and foresee allocations), so it serves
    simulations only.
    """
    from oncotrial.protocol import load_protocol  # the protocol package is needed only here

    try:
        p = load_protocol(protocol)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise Invalid(f"--protocol: {exc}") from exc
    doc = p.model_dump(mode="json")
    try:
        seed = secrets.randbelow(2**63) if seed is None else check_seed(seed, "--seed")
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    per_stratum = int(p.accrual.target_n if per_stratum is None else per_stratum)
    if per_stratum < 1:
        raise Invalid(f"--per-stratum: expected an integer >= 1, got {per_stratum}")
    trial = Trial.from_protocol_dict(doc, protocol, seed=seed)
    if trial.method not in SUPPORTED_METHODS:
        raise Invalid(f"randomization.method: {trial.method!r} is not supported by the IRT; "
                      f"expected one of {', '.join(SUPPORTED_METHODS)}")
    rows: tuple = ()
    checksum = ""
    if trial.method == "minimization":
        try:  # the parameters are checked now, not at the first patient
            Minimization(trial.strata_levels, [a.code for a in trial.arms], [a.ratio for a in trial.arms],
                         p_best=trial.p_best, seed=seed)
        except ValueError as exc:
            raise Invalid(f"randomization: {exc}") from exc
    if rehearsal is not None:
        if not trial.uses_list:
            raise Invalid(f"randomization.method: a rehearsal replays a list; {trial.method!r} keeps none")
        rows, checksum = rehearsal.rows, rehearsal.checksum
    elif trial.uses_list:
        alloc = build_allocation_list(trial, seed=seed, per_stratum=per_stratum)
        rows, checksum = alloc.rows, alloc.checksum
    n_strata = len({r.stratum for r in rows})

    upgrade(engine)
    if is_initialized(engine):
        raise Conflict("the database already holds a trial; an allocation list is never regenerated in place")
    key = _audit_key_for_new_trial(engine)
    with write_tx(engine) as conn:
        if conn.execute(select(TrialSetup.study_id).where(TrialSetup.id == 1)).one_or_none() is not None:
            raise Conflict("the database already holds a trial; an allocation list is never regenerated in place")
        now = ts()
        conn.execute(insert(TrialSetup).values(
            id=1, study_id=trial.study_id, protocol_name=protocol, protocol_json=audit.canonical(doc),
            method=trial.method, seed=seed, list_checksum=checksum, list_rows=len(rows), created_at=now,
            rehearsal=rehearsal is not None))
        if rows:
            conn.execute(insert(AllocationRow), [
                {"stratum": r.stratum, "sequence": r.sequence, "block": r.block, "block_size": r.block_size,
                 "arm": r.arm, "assigned": False} for r in rows])
        conn.execute(insert(Counter).values(name=RANDOMIZATION_COUNTER, value=0))
        audit.init_chain(conn, key)
        # The seed is not written to the trail: the trail is readable by monitors, the seed is the list.
        audit.append(conn, actor=actor, action="init", entity="trial", entity_id=trial.study_id, when=now,
                     new={"protocol": protocol, "method": trial.method, "strata": n_strata,
                          "list_rows": len(rows), "list_checksum": checksum,
                          **({"rehearsal": True} if rehearsal is not None else {})})
    return InitResult(trial.study_id, trial.method, n_strata, len(rows), checksum, seed)


def _audit_key_for_new_trial(engine: Engine) -> AuditKey:
    """The key file the configuration names, created now (a file left by an earlier failed
    set-up of this same database is reused: no chain was signed with it yet)."""
    path = audit_key.key_path(engine)
    return audit_key.load_key(path) if path.exists() else audit_key.create_key(path)


def sign_unsigned_head(engine: Engine) -> str | None:
    """For a database from before migration 0003: verify its chain, then sign the head with
    the configured key (created if missing). Returns the key file, or None if already signed.
    Refuses a chain that does not verify: signing it would certify the damage."""
    with read_tx(engine) as conn:
        head = conn.execute(select(AuditHead.mac)).one_or_none()
        if head is None or head.mac is not None:
            return None
        report = audit.verify_chain(conn, check_signature=False)
    if not report.ok:
        raise Conflict("audit chain: broken, so its head is not signed; " + "; ".join(report.problems[:3]))
    path = audit_key.key_path(engine)
    if not path.exists():
        audit_key.create_key(path)
    with write_tx(engine) as conn:
        audit.seal_head(conn)
    return str(path)


def is_initialized(engine: Engine) -> bool:
    if not inspect(engine).has_table("trial_setup"):
        return False
    with read_tx(engine) as conn:
        return conn.execute(select(TrialSetup.id)).first() is not None


def add_site(engine: Engine, code: str, country: str, name: str = "", *, actor: str = "cli") -> dict[str, Any]:
    if not SITE_CODE.match(code or ""):
        raise Invalid(f"site: {code!r} is not a site code; expected 1-32 letters, digits, '_' or '-'")
    if not COUNTRY.match(country or ""):
        raise Invalid(f"country: {country!r} is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. US)")
    if len(name) > 200:
        raise Invalid("name: longer than 200 characters")
    with write_tx(engine) as conn:
        if conn.execute(select(Site.id).where(Site.code == code)).first() is not None:
            raise Conflict(f"site: {code!r} already exists")
        now = ts()
        site_id = conn.execute(insert(Site).values(code=code, country=country, name=name, active=True,
                                                   created_at=now).returning(Site.id)).scalar_one()
        record = {"site": code, "country": country, "name": name}
        audit.append(conn, actor=actor, action="add_site", entity="site", entity_id=code, new=record, when=now)
    return {"id": site_id, **record}


def _expiry(ttl_days: float | None) -> str | None:
    return None if ttl_days is None else ts(utcnow() + dt.timedelta(days=ttl_days))


def add_user(engine: Engine, name: str, role: str, *, site: str | None = None, password: str | None = None,
             token_ttl_days: float | None = 365.0, actor: str = "cli") -> tuple[dict[str, Any], str]:
    """Create a user and its first API token; returns (user record, token). The token is shown once."""
    if not USER_NAME.match(name or ""):
        raise Invalid(f"name: {name!r} is not a user name; expected 1-100 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise Invalid(f"role: {role!r} is not a role; expected one of {', '.join(ROLES)}")
    if role in SITE_ROLES and not site:
        raise Invalid(f"site: role {role} needs --site (the site they work at)")
    pw_hash = hash_password(password) if password is not None else None
    with write_tx(engine) as conn:
        site_id = None
        if site:
            site_id = conn.execute(select(Site.id).where(Site.code == site)).scalar_one_or_none()
            if site_id is None:
                raise NotFound(f"site: {site!r} does not exist; add it first with `oncotrial irt add-site`")
        if conn.execute(select(User.id).where(User.name == name)).first() is not None:
            raise Conflict(f"name: user {name!r} already exists")
        # A monitor's site is its first assignment, not a site it works at.
        works_at = None if role == "monitor" else site
        now = ts()
        user_id = conn.execute(insert(User).values(name=name, role=role, site_id=None if works_at is None else site_id,
                                                   password_hash=pw_hash, active=True, created_at=now)
                               .returning(User.id)).scalar_one()
        record = {"name": name, "role": role, "site": works_at, "web_login": pw_hash is not None}
        audit.append(conn, actor=actor, action="add_user", entity="user", entity_id=name, new=record, when=now)
        if role == "monitor" and site:
            set_monitor_sites(conn, user_id, name, [site], reason="assigned when the monitor was added", actor=actor)
            record["sites"] = [site]
        token = _issue_token(conn, user_id, name, _expiry(token_ttl_days), actor)
    return {"id": user_id, **record}, token


def _issue_token(conn: Connection, user_id: int, user_name: str, expires_at: str | None, actor: str) -> str:
    token = new_secret()
    token_hash = hash_secret(token)
    conn.execute(insert(ApiToken).values(user_id=user_id, token_hash=token_hash, created_at=ts(),
                                         expires_at=expires_at))
    # The trail records which token (a prefix of its hash), never the token itself.
    audit.append(conn, actor=actor, action="issue_token", entity="user", entity_id=user_name,
                 new={"token_hash_prefix": token_hash[:12], "expires_at": expires_at})
    return token


def issue_token(engine: Engine, user_name: str, *, ttl_days: float | None = 365.0,
                expires_at: dt.datetime | None = None, actor: str = "cli") -> str:
    """A new API token for an existing user (``expires_at`` overrides ``ttl_days``)."""
    when = ts(expires_at) if expires_at is not None else _expiry(ttl_days)
    with write_tx(engine) as conn:
        user_id = conn.execute(select(User.id).where(User.name == user_name)).scalar_one_or_none()
        if user_id is None:
            raise NotFound(f"user: {user_name!r} does not exist")
        return _issue_token(conn, user_id, user_name, when, actor)


def set_user_active(engine: Engine, user_name: str, active: bool, *, reason: str, actor: str) -> dict[str, Any]:
    if not reason.strip():
        raise Invalid("reason: required when activating or deactivating a user")
    with write_tx(engine) as conn:
        row = conn.execute(select(User.id, User.active, User.role).where(User.name == user_name)).one_or_none()
        if row is None:
            raise NotFound(f"user: {user_name!r} does not exist")
        if not active and row.role == "admin" and row.active:
            admins = conn.execute(select(func.count()).select_from(User)
                                  .where(User.role == "admin", User.active.is_(True))).scalar_one()
            if admins <= 1:
                raise Conflict(f"user: {user_name!r} is the last active admin; add another admin first, "
                               "or nobody could manage sites and users")
        conn.execute(update(User).where(User.id == row.id).values(active=active))
        if not active:
            conn.execute(update(ApiToken).where(ApiToken.user_id == row.id, ApiToken.revoked_at.is_(None))
                         .values(revoked_at=ts()))
        audit.append(conn, actor=actor, action="activate_user" if active else "deactivate_user", entity="user",
                     entity_id=user_name, old={"active": bool(row.active)}, new={"active": active}, reason=reason)
    return {"name": user_name, "active": active}


def list_sites(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(Site.code, Site.country, Site.name, Site.active).order_by(Site.code)).all()
    return [{"site": r.code, "country": r.country, "name": r.name, "active": bool(r.active)} for r in rows]


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(User.id, User.name, User.role, Site.code, User.active, User.password_hash)
                        .join(Site, Site.id == User.site_id, isouter=True).order_by(User.name)).all()
    monitored = monitor_sites_by_user(conn)
    return [{"name": r.name, "role": r.role, "site": r.code, "active": bool(r.active),
             "web_login": r.password_hash is not None,
             **({"sites": monitored.get(r.id, [])} if r.role == "monitor" else {})} for r in rows]
