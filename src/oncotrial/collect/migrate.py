"""Moving a record to another version of its form (a protocol amendment), saying what did not fit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from oncotrial.collect.records import FormRecord
from oncotrial.collect.validate import edc_form, soft_errors
from oncotrial.protocol import Protocol


@dataclass(frozen=True)
class Migration:
    """The record on its new version; ``dropped`` the values the new version has no field for;
    ``missing`` the new version's required fields still empty (to be entered, or queried)."""

    record: FormRecord
    from_version: int
    dropped: Mapping[str, Any]
    missing: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"record": self.record.record_key, "from_version": self.from_version, "to_version": self.record.version,
                "dropped": dict(self.dropped), "missing": list(self.missing)}


def migrate_record(protocol: Protocol, record: FormRecord, to_version: int) -> Migration:
    """``record`` moved to version ``to_version`` of its form: values of fields both versions share are
    kept; the others are returned as ``dropped``, never silently lost.

    >>> from oncotrial.protocol import load_protocol
    >>> p = load_protocol("patina")
    >>> r = FormRecord("S-1", "SCREENING", "DEMOG", 1, {"AGE": 51, "SEX": "F", "RACE": "WHITE", "MENOSTAT": "POST",
    ...                "DENOVO": "N", "VISCMET": "Y", "CNSMET": "N", "INDRESP": "PR"})
    >>> m = migrate_record(p, r, 2)
    >>> m.record.version, dict(m.dropped), m.missing
    (2, {}, ())
    """
    form = edc_form(protocol, record.form)
    old = {f.id for f in form.fields_of(record.version)}
    new = {f.id for f in form.fields_of(to_version)}  # KeyError names the versions
    del old
    kept = {k: v for k, v in record.values.items() if k in new}
    dropped = {k: v for k, v in record.values.items() if k not in new}
    moved = replace(record, version=to_version, values=kept)
    missing = tuple(e.field for e in soft_errors(protocol, record.form, to_version, kept) if e.rule == "required")
    return Migration(moved, record.version, dropped, missing)
