"""Who acts and what they ask for: the service layer's inputs, and the USUBJID rule."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from oncotrial.irt import audit


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough to authorize and to sign the audit trail."""

    id: int
    name: str
    role: str
    site_id: int | None
    site: str | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"

@dataclass(frozen=True)
class RandomizationRequest:
    subject_id: str
    site: str
    strata: Mapping[str, str]
    eligibility_confirmed: bool

    def fingerprint(self) -> str:
        body = {"subject_id": self.subject_id, "site": self.site, "strata": dict(self.strata),
                "eligibility_confirmed": self.eligibility_confirmed}
        return hashlib.sha256(audit.canonical(body).encode()).hexdigest()

def usubjid(study_id: str, subject_id: str) -> str:
    """USUBJID as ``STUDYID-SUBJID``: subject ids are unique across the trial."""
    return f"{study_id}-{subject_id}"
