"""Tables of the randomization service (SQLAlchemy 2 declarative models).

Timestamps are stored as fixed-width ISO-8601 UTC strings (``2026-01-29T10:00:00.000000Z``):
they sort as text, compare the same way on SQLite and PostgreSQL, and hash identically
in the audit chain wherever they are read back. JSON payloads are stored as canonical
text for the same reason.

The migration in ``oncotrial/irt/migrations/versions`` creates exactly these tables
(a test compares the two), plus triggers that forbid deleting or overwriting
randomizations and the audit trail.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, false, func, text, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


TS = String(32)


class TrialSetup(Base):
    """The one protocol this database serves, and how its allocation list was made."""

    __tablename__ = "trial_setup"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(String(64))
    protocol_name: Mapped[str] = mapped_column(String(200))
    protocol_json: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(32))
    seed: Mapped[int] = mapped_column(BigInteger)
    list_checksum: Mapped[str] = mapped_column(String(128))
    list_rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(TS)
    # A rehearsal (``oncotrial rehearse``) takes its list and its calendar from the simulator.
    rehearsal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(TS)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(TS)


class ApiToken(Base):
    """An API token, stored only as the SHA-256 of the high-entropy secret."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(TS)
    expires_at: Mapped[str | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[str | None] = mapped_column(TS, nullable=True)


class WebSession(Base):
    """A web log-in; the cookie holds the secret, the table its SHA-256."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[str] = mapped_column(TS)
    expires_at: Mapped[str] = mapped_column(TS)
    ended_at: Mapped[str | None] = mapped_column(TS, nullable=True)


class AllocationRow(Base):
    """One row of the stratified allocation list. Never shown to site roles."""

    __tablename__ = "allocation_list"
    __table_args__ = (
        UniqueConstraint("stratum", "sequence", name="uq_allocation_stratum_sequence"),
        Index("ix_allocation_next", "stratum", "assigned", "sequence"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stratum: Mapped[str] = mapped_column(String(500))
    sequence: Mapped[int] = mapped_column(Integer)
    block: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(32))
    assigned: Mapped[bool] = mapped_column(Boolean, default=False)


class Counter(Base):
    """Named counters (the randomization number) incremented inside the allocating transaction."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Randomization(Base):
    """A randomized subject. Rows are never deleted; only the verified strata change,
    and only through a recorded correction."""

    __tablename__ = "randomizations"
    # "P001" and "p001" are one subject to a person reading a CRF: one of them only.
    __table_args__ = (Index("uq_randomizations_subject_id_ci", func.lower(text("subject_id")), unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    randomization_number: Mapped[int] = mapped_column(Integer, unique=True)
    subject_id: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    arm: Mapped[str] = mapped_column(String(32))
    stratum: Mapped[str] = mapped_column(String(500))
    strata_randomized: Mapped[str] = mapped_column(Text)
    strata_verified: Mapped[str] = mapped_column(Text)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocation_list.id"), unique=True)
    eligibility_confirmed: Mapped[bool] = mapped_column(Boolean)
    randomized_at: Mapped[str] = mapped_column(TS)
    randomized_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Correction(Base):
    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    randomization_id: Mapped[int] = mapped_column(ForeignKey("randomizations.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str] = mapped_column(Text)
    new_value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    corrected_at: Mapped[str] = mapped_column(TS)
    corrected_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class FormRecordRow(Base):
    """One eCRF entry of a subject (see :class:`oncotrial.collect.FormRecord`): the current values,
    canonical JSON; every earlier value lives in the audit chain, field by field. ``revision``
    counts saves, so an edit made on a stale copy is refused instead of overwriting another's."""

    __tablename__ = "form_records"
    __table_args__ = (UniqueConstraint("randomization_id", "record_key", name="uq_form_records_subject_record"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    randomization_id: Mapped[int] = mapped_column(ForeignKey("randomizations.id"), index=True)
    record_key: Mapped[str] = mapped_column(String(200))
    visit: Mapped[str] = mapped_column(String(64))
    visitnum: Mapped[float | None] = mapped_column(Float, nullable=True)
    form: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    values: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(TS)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[str] = mapped_column(TS)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class DataLock(Base):
    """A freeze or lock of the whole database, of one subject's casebook or of one saved record.

    ``state`` is open, frozen (no data change; queries, SDV and signatures go on) or locked (no
    change of any kind). ``target`` names what is held: "" for the database, the subject id for a
    casebook, ``subject|VISIT|FORM|INSTANCE`` for a record (the form record's audit entity id).
    One row per target, its history in the audit chain; ``cutoff`` is the data cut-off date a
    database freeze or lock was made at."""

    __tablename__ = "data_locks"
    __table_args__ = (UniqueConstraint("scope", "target", name="uq_data_locks_scope_target"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(300))
    randomization_id: Mapped[int | None] = mapped_column(ForeignKey("randomizations.id"), index=True)
    record_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    cutoff: Mapped[str | None] = mapped_column(String(10))
    changed_at: Mapped[str] = mapped_column(TS)
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)


class QueryRow(Base):
    """A data query on a subject's casebook: raised by an edit check (``finding_key`` names the finding,
    so the query closes itself when the data are corrected and re-opens when they go wrong again) or by
    a monitor or data manager on a record and field. ``status`` is open, answered or closed;
    ``resolution`` says why a closed query closed (``corrected``: the finding went away; ``accepted``:
    closed by a reviewer). Every transition is a link of the audit chain."""

    __tablename__ = "queries"
    __table_args__ = (UniqueConstraint("randomization_id", "finding_key", name="uq_queries_subject_finding"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    randomization_id: Mapped[int] = mapped_column(ForeignKey("randomizations.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    finding_key: Mapped[str | None] = mapped_column(String(400), nullable=True)
    check: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    answer: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[str] = mapped_column(TS)
    opened_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[str] = mapped_column(TS)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class SdvMark(Base):
    """A monitor's source-data verification of one revision of a saved record. Marks are only added:
    a record changed after its verification shows as changed until it is verified again."""

    __tablename__ = "sdv_marks"
    __table_args__ = (UniqueConstraint("randomization_id", "record_key", "revision", name="uq_sdv_marks_record_revision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    randomization_id: Mapped[int] = mapped_column(ForeignKey("randomizations.id"), index=True)
    record_key: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer)
    verified_at: Mapped[str] = mapped_column(TS)
    verified_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Signature(Base):
    """An investigator's electronic signature of a subject's casebook (21 CFR 11.50): who, when, the
    meaning signed, and a hash of the entries signed, so a later change shows the signature no longer
    covers the data. Signatures are only added."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    randomization_id: Mapped[int] = mapped_column(ForeignKey("randomizations.id"), index=True)
    signed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[str] = mapped_column(TS)
    meaning: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class MonitorSite(Base):
    """A site assigned to a monitor, who sees (reads, queries, verifies) only the subjects of the
    sites assigned. An assignment is ended, never deleted, so the table keeps who saw what when."""

    __tablename__ = "monitor_sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    assigned_at: Mapped[str] = mapped_column(TS)
    ended_at: Mapped[str | None] = mapped_column(TS, nullable=True)


class IdempotencyKey(Base):
    """A client's Idempotency-Key and the randomization it produced (one per user and key)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    randomization_id: Mapped[int] = mapped_column(ForeignKey("randomizations.id"))
    created_at: Mapped[str] = mapped_column(TS)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit trail."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "seq"),)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(200))
    old: Mapped[str] = mapped_column(Text)
    new: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain head: locked by every writer so links are appended one at a time, and
    signed (``mac``) with the audit key kept outside the database (``key_id`` names it)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
