"""Electronic signatures of casebooks (21 CFR 11.50, 11.100, 11.200).

An investigator of the subject's site signs by re-entering their password (the API token alone does
not sign: 11.200 asks for two components). The signature records who signed, when, and its meaning
(a statement from :data:`MEANINGS`), and a SHA-256 of the entries it covers, so a change made after
signing shows as ``covers_current_data = false`` until the casebook is signed again. Signatures are
only added and each is a link of the audit chain (11.70: linked to the records they sign).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from oncotrial.irt import audit
from oncotrial.irt.db.engine import write_tx
from oncotrial.irt.db.models import Randomization, Signature, User
from oncotrial.irt.security import ts, verify_password
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.login_limit import LoginLimits
from oncotrial.irt.services.errors import Forbidden, Invalid, TooManyAttempts
from oncotrial.irt.services.subjects import casebook_of, refuse_if_held, subject_row
from oncotrial.irt.services.trial import Trial

SIGNERS = ("investigator",)
MEANINGS: dict[str, str] = {
    "approval": "I approve the data of this casebook as accurate and complete.",
    "review": "I have reviewed the data of this casebook.",
}


class WrongPassword(Forbidden):
    """The password re-entered to sign does not match (the route counts it against the log-in limits)."""


def content_hash(entries: list[Mapping[str, Any]]) -> str:
    """SHA-256 of the entries as signed: each record's key, revision and values."""
    signed = sorted([e["record"], e["revision"], e["values"]] for e in entries)
    return hashlib.sha256(audit.canonical(signed).encode()).hexdigest()


def sign_casebook(engine: Engine, trial: Trial, actor: Actor, subject_id: str, password: str,
                  meaning: str) -> dict[str, Any]:
    """Sign the subject's casebook as it stands, with ``meaning`` (a key of :data:`MEANINGS`)."""
    if actor.role not in SIGNERS:
        raise Forbidden(f"role {actor.role} cannot sign a casebook; the site's investigator signs")
    if meaning not in MEANINGS:
        raise Invalid(f"meaning: {meaning!r} is not a signature meaning; expected one of {', '.join(MEANINGS)}")
    with write_tx(engine) as conn:
        stored = conn.execute(select(User.password_hash).where(User.id == actor.id)).scalar_one()
        if stored is None:
            raise Invalid("password: you have no password to sign with; ask an admin to set one")
        if not verify_password(password, stored):
            raise WrongPassword("password: does not match; the casebook is not signed")
        subj = subject_row(conn, actor, subject_id, lock=True)
        refuse_if_held(conn, subj.id, "sign the casebook", while_frozen=True)
        _, entries = casebook_of(conn, trial, subj)
        if not entries:
            raise Invalid(f"subject_id: the casebook of {subject_id!r} has no entries to sign")
        now, digest = ts(), content_hash(entries)
        conn.execute(insert(Signature).values(randomization_id=subj.id, signed_by=actor.id, signed_at=now,
                                              meaning=meaning, statement=MEANINGS[meaning], content_hash=digest))
        audit.append(conn, actor=actor.label, action="sign", entity="signature", entity_id=subject_id, old=None,
                     new={"meaning": meaning, "statement": MEANINGS[meaning], "content_hash": digest,
                          "records": len(entries)}, reason="", when=now)
    return {"subject_id": subject_id, "signed_by": actor.name, "signed_at": now, "meaning": meaning,
            "statement": MEANINGS[meaning], "content_hash": digest, "covers_current_data": True}


def sign_casebook_limited(engine: Engine, trial: Trial, actor: Actor, subject_id: str, password: str,
                          meaning: str, *, limiter: LoginLimits, client: str) -> dict[str, Any]:
    """:func:`sign_casebook` with the account's log-in limits: a wrong password counts as a failed
    log-in (TooManyAttempts once the limit is reached), so a stolen API token or an unattended
    session cannot be used to guess the password."""
    wait = limiter.retry_after(actor.name, client)
    if wait:
        raise TooManyAttempts(f"password: too many failed attempts; try again in {wait} s", wait)
    try:
        signed = sign_casebook(engine, trial, actor, subject_id, password, meaning)
    except WrongPassword:
        limiter.record_failure(actor.name, client)
        raise
    limiter.record_success(actor.name, client)
    return signed


def subject_signatures(conn: Connection, randomization_id: int, entries: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The subject's signatures, oldest first, each saying whether it still covers the entries."""
    current = content_hash(entries)
    rows = conn.execute(select(Signature, User.name.label("signer")).join(User, User.id == Signature.signed_by)
                        .where(Signature.randomization_id == randomization_id).order_by(Signature.id)).all()
    return [{"signed_by": r.signer, "signed_at": r.signed_at, "meaning": r.meaning, "statement": r.statement,
             "content_hash": r.content_hash, "covers_current_data": r.content_hash == current} for r in rows]


def check_signatures(conn: Connection, links: Mapping[str, list[Any]]) -> list[str]:
    """Every signature against its audit link, in order, and every link against a signature."""
    want: dict[str, list[tuple[str, str]]] = {}
    for link in links.get("signature", []):
        new = json.loads(link.new)
        want.setdefault(link.entity_id, []).append((new["meaning"], new["content_hash"]))
    rows = conn.execute(select(Randomization.subject_id, Signature.meaning, Signature.content_hash)
                        .join(Randomization, Randomization.id == Signature.randomization_id)
                        .order_by(Signature.id)).all()
    have: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        have.setdefault(r.subject_id, []).append((r.meaning, r.content_hash))
    return [f"signatures of casebook {sid!r} do not match the audit trail "
            f"({len(have.get(sid, []))} in the database, {len(want.get(sid, []))} in the trail)"
            for sid in sorted(set(want) | set(have)) if want.get(sid) != have.get(sid)]
