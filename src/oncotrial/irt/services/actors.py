"""Who acts and what they ask for: the service layer's inputs, and the USUBJID rule."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oncotrial.irt import audit
from oncotrial.irt.config import SITE_ROLES


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough to authorize and to sign the audit trail."""

    id: int
    name: str
    role: str
    site_id: int | None
    site: str | None
    monitored_sites: frozenset[int] = field(default=frozenset())

    @property
    def label(self) -> str:
        """How the actor signs an audit link (:func:`user_of_label` reads the user back)."""
        return f"{self.name} ({self.role})"

    @property
    def visible_sites(self) -> frozenset[int] | None:
        """The sites whose subjects this actor sees, or None for all sites: site staff their own
        site, monitors the sites assigned to them (none until an admin assigns some), data
        managers and statisticians every site."""
        if self.role in SITE_ROLES:
            return frozenset() if self.site_id is None else frozenset({self.site_id})
        if self.role == "monitor":
            return self.monitored_sites
        return None

    def site_condition(self, column: Any) -> Any:
        """A WHERE condition on ``column`` (a site id column) keeping the sites this actor sees,
        or None when the actor sees every site."""
        sites = self.visible_sites
        return None if sites is None else column.in_(sorted(sites))

    def sees_site(self, site_id: int) -> bool:
        sites = self.visible_sites
        return sites is None or site_id in sites

    @property
    def where(self) -> str:
        """How a refusal names the actor's reach: " at your site", " at your sites" or ""."""
        if self.role in SITE_ROLES:
            return " at your site"
        return " at your sites" if self.role == "monitor" else ""

@dataclass(frozen=True)
class RandomizationRequest:
    subject_id: str
    site: str
    strata: Mapping[str, str]
    eligibility_confirmed: bool
    randomized_at: str | None = None  # a rehearsal's simulated calendar (stored timestamp form)

    def fingerprint(self) -> str:
        body = {"subject_id": self.subject_id, "site": self.site, "strata": dict(self.strata),
                "eligibility_confirmed": self.eligibility_confirmed}
        return hashlib.sha256(audit.canonical(body).encode()).hexdigest()


def user_of_label(label: str) -> str:
    """The user name of an audit link's actor, as :attr:`Actor.label` wrote it.

    >>> user_of_label("kim (site_coordinator)"), user_of_label("cli:root")
    ('kim', 'cli:root')
    """
    return label.rsplit(" (", 1)[0]


def usubjid(study_id: str, subject_id: str) -> str:
    """USUBJID as ``STUDYID-SUBJID``: subject ids are unique across the trial."""
    return f"{study_id}-{subject_id}"
