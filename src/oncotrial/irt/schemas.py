"""Request bodies of the REST API. Unknown fields are rejected and types are strict,
so ``"eligibility_confirmed": "yes"`` or ``"subject_id": 7`` is a 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

Code = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
SubjectId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
SiteCode = Annotated[StrictStr, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Reason = Annotated[StrictStr, Field(min_length=1, max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RandomizationIn(_Body):
    subject_id: SubjectId
    site: SiteCode
    strata: Annotated[dict[Code, Code], Field(max_length=32)]
    eligibility_confirmed: StrictBool
    # rehearsal databases only: the simulated calendar's moment of this randomization
    randomized_at: Annotated[StrictStr, Field(min_length=10, max_length=40)] | None = None


class CorrectionIn(_Body):
    strata_verified: Annotated[dict[Code, Code], Field(min_length=1, max_length=32)]
    reason: Reason


class SiteIn(_Body):
    site: SiteCode
    country: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
    name: Annotated[StrictStr, Field(max_length=200)] = ""


class UserIn(_Body):
    name: Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
    role: StrictStr
    site: SiteCode | None = None
    password: Annotated[StrictStr, Field(min_length=8, max_length=200)] | None = None
    token_ttl_days: Annotated[float, Field(gt=0, le=3650)] = 365.0


class MonitorSitesIn(_Body):
    """The whole set of sites a monitor monitors from now on (an empty list removes them all)."""

    sites: Annotated[list[SiteCode], Field(max_length=10_000)]
    reason: Reason


class TokenIn(_Body):
    ttl_days: Annotated[float, Field(gt=0, le=3650)] = 365.0


class DeactivateIn(_Body):
    reason: Reason


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if loc and loc[0] == "header":
        return "header " + ".".join(parts)
    return ".".join(parts) or "body"


def errors_message(errors: Iterable[Mapping[str, Any]]) -> str:
    """One line naming each bad field and what was expected (API and web forms alike), e.g.
    ``eligibility_confirmed: Input should be a valid boolean``."""
    problems = []
    for err in list(errors)[:10]:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            problems.append(f"body: not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})")
        elif err.get("type") == "missing":
            problems.append(f"{_location(loc)}: required field is missing")
        elif err.get("type") == "extra_forbidden":
            problems.append(f"{_location(loc)}: unknown field")
        else:
            problems.append(f"{_location(loc)}: {err.get('msg', 'invalid')}")
    return "; ".join(problems)


FieldValue = StrictStr | StrictBool | int | float | None


class VisitEntryIn(_Body):
    """One eCRF entry of a visit: its form and instance, its values, and for a change the revision
    it was made on and why."""

    form: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    key: Annotated[StrictStr, Field(max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")] = ""
    seq: Annotated[int, Field(ge=1, le=100000, strict=True)] | None = None
    version: Annotated[int, Field(ge=1, le=1000, strict=True)] | None = None
    visitnum: Annotated[float, Field(ge=0, le=100000)] | None = None  # an unscheduled visit's number
    revision: Annotated[int, Field(ge=1, strict=True)] | None = None
    reason: Annotated[StrictStr, Field(max_length=2000)] = ""
    values: Annotated[dict[Annotated[StrictStr, Field(max_length=64)], FieldValue], Field(max_length=200)]


class FormEntryIn(VisitEntryIn):
    """One eCRF entry with the visit it belongs to."""

    visit: Annotated[StrictStr, Field(min_length=1, max_length=64)]


class VisitEntriesIn(_Body):
    """A visit's eCRF page: its entries, saved together or not at all (how many: the service's
    :data:`oncotrial.irt.services.forms.MAX_VISIT_ENTRIES`)."""

    entries: list[VisitEntryIn]


class LockIn(_Body):
    """A freeze, lock, unfreeze or unlock of a casebook or, with ``record`` (``VISIT|FORM|INSTANCE``), of one record."""

    reason: Annotated[StrictStr, Field(max_length=2000)] = ""
    record: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None


class DatabaseLockIn(_Body):
    """A freeze, lock, unfreeze or unlock of the whole database; a lock names its data cut-off date."""

    reason: Annotated[StrictStr, Field(max_length=2000)] = ""
    cutoff: Annotated[StrictStr, Field(max_length=10)] | None = None


class QueryIn(_Body):
    """A reviewer's query on a saved record (``VISIT|FORM|INSTANCE``) and, optionally, one field."""

    record: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    field: Annotated[StrictStr, Field(max_length=64)] = ""
    text: Annotated[StrictStr, Field(min_length=1, max_length=4000)]


class MigrationIn(_Body):
    """Move saved entries of a form to another version: the subjects named, or all when omitted."""

    to_version: Annotated[int, Field(ge=1, le=1000, strict=True)]
    subject_ids: Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=64)]],
                           Field(min_length=1, max_length=10000)] | None = None
    reason: Annotated[StrictStr, Field(max_length=2000)] = ""


class UnblindIn(_Body):
    """Why the patient's treatment must be known now."""

    reason: Reason


class SdvIn(_Body):
    """The record verified against source and the revision whose values were checked."""

    record: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    revision: Annotated[int, Field(ge=1, strict=True)]


class SdvBatchIn(_Body):
    """Several records of one subject verified together, all or none (how many: the service's
    :data:`oncotrial.irt.services.sdv.MAX_VERIFY_RECORDS`)."""

    records: list[SdvIn]


class SignIn(_Body):
    """The investigator's password, re-entered, and the meaning of the signature."""

    password: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    meaning: Annotated[StrictStr, Field(min_length=1, max_length=32)]


class QueryAnswerIn(_Body):
    text: Annotated[StrictStr, Field(min_length=1, max_length=4000)]


class QueryActionIn(_Body):
    reason: Annotated[StrictStr, Field(max_length=2000)] = ""
