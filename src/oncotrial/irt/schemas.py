"""Request bodies of the REST API. Unknown fields are rejected and types are strict,
so ``"eligibility_confirmed": "yes"`` or ``"subject_id": 7`` is a 422 naming the field."""

from __future__ import annotations

from typing import Annotated

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


class TokenIn(_Body):
    ttl_days: Annotated[float, Field(gt=0, le=3650)] = 365.0


class DeactivateIn(_Body):
    reason: Reason
