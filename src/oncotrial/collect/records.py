"""The plain contract the data-capture service builds on: records, casebooks, errors, findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class FormRecord:
    """One saved instance of a form: a subject's values of one form version at one visit.

    ``visit`` is the visit's name as planned by :func:`oncotrial.collect.visit_schedule` (``"CYCLE 3"``,
    ``"WEEK 24"``, ``"LOG"`` for AEs and medications); ``visitnum`` overrides the number the schedule gives
    (an unscheduled visit). A repeating form tells its instances apart by ``key`` (e.g. the lesion ID) or
    ``seq``. ``values`` hold typed values (see :func:`oncotrial.collect.validate_form`): str for text, code,
    date (ISO 8601) and datetime; int; float; bool. Missing values are absent.

    >>> r = FormRecord("PATINA-101-0001", "LOG", "AE", 1, {"AETERM": "Neutropenia"}, seq=1)
    >>> r.record_key
    'LOG|AE|1'
    """

    usubjid: str
    visit: str
    form: str
    version: int
    values: Mapping[str, Any]
    seq: int = 1
    key: str = ""
    visitnum: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @property
    def record_key(self) -> str:
        """Visit, form and instance: unique within a casebook, stable across edits of the values."""
        return f"{self.visit}|{self.form}|{self.key or self.seq}"


@dataclass(frozen=True)
class Casebook:
    """One subject's records, in the order the casebook keeps them."""

    usubjid: str
    records: tuple[FormRecord, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))
        for r in self.records:
            if r.usubjid != self.usubjid:
                raise ValueError(f"casebook {self.usubjid}: record {r.record_key} belongs to {r.usubjid}")
        keys = [r.record_key for r in self.records]
        if len(set(keys)) != len(keys):
            dup = sorted({k for k in keys if keys.count(k) > 1})
            raise ValueError(f"casebook {self.usubjid}: record(s) {dup} appear more than once")

    def of_form(self, form_id: str) -> tuple[FormRecord, ...]:
        return tuple(r for r in self.records if r.form == form_id)


@dataclass(frozen=True)
class FieldError:
    """One broken rule: the form, the field, the rule (``type``, ``required``, ``range``, ``codelist``,
    ``hidden``, ``unknown``, ``version``) and a message a site user can act on."""

    form: str
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.form}.{self.field} [{self.rule}]: {self.message}"


class FormValidationError(ValueError):
    """Raised by :func:`oncotrial.collect.validate_form`; ``errors`` lists every :class:`FieldError`."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class Finding:
    """A failed edit check on one record: a query to open. ``key`` is stable while the check, subject,
    record and field are the same, so the service can close the query when the finding goes away and
    re-open it when it comes back."""

    check: str
    usubjid: str
    form: str
    visit: str
    record: str
    field: str
    message: str

    @property
    def key(self) -> str:
        return f"{self.check}|{self.usubjid}|{self.record}|{self.field}"

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "check": self.check, "usubjid": self.usubjid, "form": self.form,
                "visit": self.visit, "record": self.record, "field": self.field, "message": self.message}
