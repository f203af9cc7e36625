"""Secrets: API tokens, web sessions and passwords, and the UTC clock they use.

Tokens and session ids are 256-bit random secrets; only their SHA-256 is stored,
which is enough for a high-entropy secret (nothing to brute-force). Passwords are
low-entropy, so they get a memory-hard KDF: ``hashlib.scrypt`` (standard library,
no extra dependency), parameters stored with each hash so they can be raised later.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

TOKEN_PREFIX = "ot_"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# The hash of a random password nobody knows, with the current parameters: a log-in for a
# name that does not exist (or has no password) is checked against it, so it costs the same
# scrypt time as a wrong password and timing does not reveal which names exist.
DUMMY_PASSWORD_HASH = "scrypt$16384$8$1$ejSGDB6g9alFNeRZihWf5g==$B1rGqL6LfxyqCvR5qcmHEGdMHtB0PLXm3DDluYzEqqY="


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def ts(moment: dt.datetime | None = None) -> str:
    """Fixed-width ISO-8601 UTC text, the form every timestamp is stored in."""
    moment = moment or utcnow()
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored_moment(text: str, name: str) -> str:
    """A moment given as ISO 8601 text in the stored timestamp form (:func:`ts`).

    A date alone means the end of that day (UTC); a time without a zone is UTC. ``name``
    names the field in the error.

    >>> stored_moment("2021-06-30", "as_of")
    '2021-06-30T23:59:59.999999Z'
    >>> stored_moment("2021-06-30T14:05+02:00", "as_of")
    '2021-06-30T12:05:00.000000Z'
    """
    raw = (text or "").strip()
    try:
        if len(raw) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time.max, dt.timezone.utc)
        else:
            moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise ValueError(f"{name}: expected a date (YYYY-MM-DD) or date and time "
                         f"(YYYY-MM-DDTHH:MM[:SS][+hh:mm]), got {text!r}") from None
    return ts(moment)


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("--password: expected at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(
        SCRYPT_N, SCRYPT_R, SCRYPT_P,
        base64.b64encode(salt).decode("ascii"), base64.b64encode(digest).decode("ascii"))


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                         dklen=len(expected))
    return hmac.compare_digest(got, expected)
