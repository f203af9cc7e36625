"""The database exported for analysis and interchange: SDTM with define.xml 2.1, and CDISC ODM 1.3.2.

SDTM comes from the casebooks by :func:`oncotrial.collect.casebooks_to_sdtm`, cut at the data
cut-off (:func:`oncotrial.sdtm.cutoff.cut_at`: the database lock's cut-off unless another is given)
and, with ``as_of``, rebuilt as the database stood at that moment from each subject's audit links.
Its files are written a chunk of subjects at a time (:func:`write_sdtm_files`), so the export's
memory is one chunk's casebooks and rows whatever the trial's size; the files are the same bytes
as those of all subjects at once.

For ODM (:mod:`oncotrial.collect.odm`), subjects are read and written one at a time, each with the audit links of its own entries (found
by the ``(entity, entity_id)`` index), so the export's memory is one casebook whatever the trial's
size. The randomization is the RAND entry, inserted when and by whom the subject was randomized.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, select

from oncotrial import __version__
from oncotrial.collect import SdtmSpool, casebooks_to_sdtm, define_metadata, odm, sdtm_rows
from oncotrial.irt.db.models import AuditEntry, Randomization, Site, User
from oncotrial.irt.services.actors import Actor, user_of_label
from oncotrial.irt.security import stored_moment
from oncotrial.irt.services.errors import Invalid
from oncotrial.irt.services.forms import casebooks, replay_form_records
from oncotrial.irt.services.locks import database_hold
from oncotrial.irt.services.subjects import casebook_of, stored_protocol, subject_row
from oncotrial.irt.services.trial import Trial
from oncotrial.sdtm.io import write_sdtm_chunks
from oncotrial.sdtm.cutoff import cut_at
from oncotrial.sdtm.define import ColumnSummary, add_to_summary, summarize, write_define

_EXPORTER = Actor(0, "export", "statistician", None, None)


def _subjects(conn: Connection, trial: Trial, as_of: str | None) -> Iterator[odm.Subject]:
    query = (select(Randomization.subject_id, Randomization.randomized_at, User.name.label("by"))
             .join(User, User.id == Randomization.randomized_by).order_by(Randomization.randomization_number))
    if as_of is not None:
        query = query.where(Randomization.randomized_at <= as_of)
    for sid, randomized_at, by in conn.execute(query).all():
        subj = subject_row(conn, _EXPORTER, sid)
        book, entries = casebook_of(conn, trial, subj)
        ids = [f"{sid}|{e['record']}" for e in entries]
        links: list[Any] = []
        if ids:
            q = (select(AuditEntry.seq, AuditEntry.ts, AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id,
                        AuditEntry.new, AuditEntry.reason)
                 .where(AuditEntry.entity == "form_record", AuditEntry.entity_id.in_(ids)).order_by(AuditEntry.seq))
            if as_of is not None:
                q = q.where(AuditEntry.ts <= as_of)
            links = conn.execute(q).all()
        if as_of is not None:
            book, entries = casebook_of(conn, trial, subj, states=replay_form_records(links))
        by_record: dict[str, list[odm.Change]] = {}
        for link in links:
            new = json.loads(link.new)
            values = new["values"] if link.action == "enter" else {k: v for k, v in new.items() if k != "__version__"}
            by_record.setdefault(link.entity_id.split("|", 1)[1], []).append(
                odm.Change(link.ts, user_of_label(link.actor), values, link.reason or "", str(link.seq)))
        rand, *records = book.records
        out = [odm.Entry(rand.visit, rand.form, rand.version, "1", rand.values,
                         (odm.Change(randomized_at, by, rand.values, "", ""),))]
        for record, entry in zip(records, entries):
            out.append(odm.Entry(record.visit, record.form, record.version, entry["key"] or str(entry["seq"]),
                                 record.values, tuple(by_record.get(entry["record"], ()))))
        yield odm.Subject(sid, subj.site, tuple(out))


def export_odm(conn: Connection, trial: Trial, out: TextIO, *, audit: bool = True, as_of: str | None = None,
               source_system_version: str = __version__) -> int:
    """Write every subject's casebook as ODM 1.3.2 to ``out`` (Transactional with audit records, or a
    Snapshot without); ``as_of`` writes them as they stood at that stored timestamp. Returns the
    number of subjects written."""
    protocol = stored_protocol(conn)
    users = {user_of_label(a) for a in conn.execute(select(AuditEntry.actor).where(AuditEntry.entity == "form_record")
                                            .distinct()).scalars()}
    users |= set(conn.execute(select(User.name)).scalars())
    sites = conn.execute(select(Site.code, Site.name).order_by(Site.code)).all()
    return odm.write_odm(out, protocol, _subjects(conn, trial, as_of), users=users,
                         sites=[(c, n) for c, n in sites], audit=audit,
                         source_system_version=source_system_version)


def as_of_timestamp(text: str) -> str:
    """The ``--as-of`` moment in the stored timestamp form (see :func:`oncotrial.irt.security.stored_moment`)."""
    try:
        return stored_moment(text, "as_of")
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _cutoff(conn: Connection, cutoff: str | None, as_of: str | None) -> tuple[str | None, dict[str, Any]]:
    """The cut-off to apply (the given one, else the database freeze's or lock's) and what to say of it."""
    hold = database_hold(conn)
    source = "given"
    if cutoff is None and hold["cutoff"]:
        cutoff, source = hold["cutoff"], f"database {hold['state']}"
    return cutoff, {"cutoff": cutoff, "cutoff_from": source if cutoff else None,
                    "database": hold["state"], "as_of": as_of}


def export_sdtm_at(conn: Connection, trial: Trial, *, cutoff: str | None = None,
                   as_of: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SDTM domains at a data cut-off, and what they were cut at, in memory (for an analysis
    reading them; :func:`write_sdtm_export` writes them a chunk of subjects at a time).

    ``cutoff`` (YYYY-MM-DD) defaults to the cut-off of the database's freeze or lock, if any;
    ``as_of`` is a stored timestamp (:func:`as_of_timestamp`). The second value says which
    cut-off was applied and why, the database's state, and the as-of moment.
    """
    cutoff, info = _cutoff(conn, cutoff, as_of)
    domains = casebooks_to_sdtm(stored_protocol(conn), casebooks(conn, trial, as_of=as_of))
    return (cut_at(domains, cutoff) if cutoff is not None else domains), info


CHUNK_SUBJECTS = 200
"""Subjects whose casebooks an SDTM export holds at once."""


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_sdtm_files(conn: Connection, trial: Trial, out: str | os.PathLike, *,
                     formats: Iterable[str] = ("csv", "xpt"), cutoff: str | None = None,
                     as_of: str | None = None, chunk_subjects: int = CHUNK_SUBJECTS
                     ) -> dict[str, dict[str, ColumnSummary]]:
    """Write every subject's SDTM into ``out`` (one file per domain and format), cut at ``cutoff``
    if given, holding ``chunk_subjects`` casebooks at a time. Returns each domain's columns'
    summaries for define.xml.

    Each chunk's rows are made (:func:`oncotrial.collect.sdtm_rows`) and kept on disk
    (:class:`oncotrial.collect.SdtmSpool`), then read back typed as the whole trial's, cut (a row
    and a subject are kept or dropped on their own dates) and written by
    :func:`oncotrial.sdtm.io.write_sdtm_chunks`: the files are those of all subjects at once,
    byte for byte, whatever the chunk size.
    """
    if chunk_subjects < 1:
        raise Invalid(f"chunk_subjects: expected at least 1 subject a chunk, got {chunk_subjects}")
    fmts = tuple(formats)
    protocol = stored_protocol(conn)
    Path(out).mkdir(parents=True, exist_ok=True)
    with SdtmSpool(out) as spool:
        for books in _chunks(casebooks(conn, trial, as_of=as_of), chunk_subjects):
            spool.add(sdtm_rows(protocol, books))

        def parts() -> Iterator[dict[str, Any]]:
            for part in spool.chunks():
                yield cut_at(part, cutoff) if cutoff is not None else part

        summaries: dict[str, dict[str, ColumnSummary]] = {}
        for part in parts():
            for name, frame in part.items():
                if name in summaries:
                    add_to_summary(summaries[name], frame)
                else:
                    summaries[name] = summarize(frame)
        write_sdtm_chunks(parts, out, formats=fmts)
    return summaries


def write_sdtm_export(conn: Connection, trial: Trial, out: str | os.PathLike, *,
                      formats: Iterable[str] = ("csv", "xpt"), cutoff: str | None = None,
                      as_of: str | None = None, chunk_subjects: int = CHUNK_SUBJECTS) -> dict[str, Any]:
    """Write the SDTM export into ``out`` (one file per domain and format, by :func:`write_sdtm_files`)
    with its define.xml 2.1, describing the first of XPT, Dataset-JSON, CSV written, at the data
    cut-off :func:`export_sdtm_at` says. Returns a summary for the caller."""
    fmts = tuple(formats)
    cutoff, info = _cutoff(conn, cutoff, as_of)
    summaries = write_sdtm_files(conn, trial, out, formats=fmts, cutoff=cutoff, as_of=as_of,
                                 chunk_subjects=chunk_subjects)
    protocol = stored_protocol(conn)
    ext = next(e for f, e in (("xpt", ".xpt"), ("json", ".json"), ("csv", ".csv")) if f in fmts)
    define = write_define(summaries, Path(out) / "define.xml", study_id=protocol.study.id,
                          study_name=protocol.study.id, description=protocol.study.title,
                          protocol_name=protocol.study.id, variables=define_metadata(protocol),
                          files={d.upper(): f"{d.lower()}{ext}" for d in summaries},
                          source_system_version=__version__)
    return {"out": str(out), "define": str(define), **info, "domains": domain_rows(summaries)}


def domain_rows(summaries: Mapping[str, Mapping[str, ColumnSummary]]) -> dict[str, int]:
    """Each domain's rows, from :func:`write_sdtm_files`'s summaries."""
    return {d: next(iter(cols.values())).rows if cols else 0 for d, cols in summaries.items()}
