"""The trial as the service needs it, read from the protocol stored at ``irt init``.

The running service never reloads the protocol file: what was randomized against is
what is stored, so a later edit of the TOML cannot silently change live strata.
"""

from __future__ import annotations

import json
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from oncotrial.irt.config import OPEN_LABEL
from oncotrial.irt.db.models import TrialSetup
from oncotrial.irt.services.errors import Invalid, NotInitialized
from oncotrial.randomization import stratum_key

LIST_METHODS = ("permuted_blocks", "simple")
SUPPORTED_METHODS = (*LIST_METHODS, "minimization")


@dataclass(frozen=True)
class ArmInfo:
    code: str
    name: str
    ratio: int


@dataclass(frozen=True)
class FactorInfo:
    name: str
    label: str
    levels: tuple[tuple[str, str], ...]  # (code, label)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.levels)


@dataclass(frozen=True)
class Criterion:
    id: str
    kind: str
    text: str


@dataclass(frozen=True)
class Trial:
    study_id: str
    protocol_name: str
    method: str
    arms: tuple[ArmInfo, ...]
    factors: tuple[FactorInfo, ...]
    eligibility: tuple[Criterion, ...]
    block_sizes: tuple[int, ...]
    seed: int = 0
    p_best: float = 0.8
    rehearsal: bool = False
    masked: bool = False

    @classmethod
    def from_protocol_dict(cls, doc: Mapping[str, Any], protocol_name: str, seed: int | None = None, *,
                           rehearsal: bool = False) -> Trial:
        all_factors = {f["name"]: f for f in doc.get("stratification_factors", [])}
        rnd = doc["randomization"]
        names = list(rnd.get("stratify_by") or all_factors)
        factors = tuple(
            FactorInfo(n, all_factors[n].get("label", "") or n,
                       tuple((lv["code"], lv.get("label", "") or lv["code"]) for lv in all_factors[n]["levels"]))
            for n in names)
        return cls(
            study_id=doc["study"]["id"],
            protocol_name=protocol_name,
            method=rnd["method"],
            arms=tuple(ArmInfo(a["code"], a["name"], int(a.get("ratio", 1))) for a in doc["arms"]),
            factors=factors,
            eligibility=tuple(Criterion(c["id"], c["kind"], c["text"]) for c in doc.get("eligibility", [])),
            block_sizes=tuple(rnd.get("block_sizes") or ()),
            seed=int(rnd.get("seed", 0) if seed is None else seed),
            p_best=float(rnd.get("minimization_p_best", 0.8)),
            rehearsal=rehearsal,
            masked=str(doc["study"].get("masking", "")).strip().lower() not in OPEN_LABEL,
        )

    @property
    def uses_list(self) -> bool:
        """True for methods that consume a pre-generated list; minimization decides each arm
        from the patients before (and records its decisions as list rows as it goes)."""
        return self.method in LIST_METHODS

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    @property
    def strata_levels(self) -> dict[str, list[str]]:
        return {f.name: list(f.codes) for f in self.factors}

    def arm(self, code: str) -> ArmInfo:
        for a in self.arms:
            if a.code == code:
                return a
        raise KeyError(code)

    def stratum_of(self, strata: Mapping[str, str]) -> str:
        """Check a patient's strata against the protocol and return the stratum key.

        Every protocol factor must be present with one of its level codes, and no
        other factor may be given; the message names the offending factor.
        """
        unknown = [k for k in strata if k not in self.factor_names]
        if unknown:
            raise Invalid(f"strata.{unknown[0]}: not a stratification factor of {self.study_id}; "
                          f"expected the factors {', '.join(self.factor_names)}")
        for f in self.factors:
            if f.name not in strata:
                raise Invalid(f"strata.{f.name}: missing; expected one of {', '.join(f.codes)}")
            value = strata[f.name]
            if value not in f.codes:
                raise Invalid(f"strata.{f.name}: {str(value)[:60]!r} is not a level; expected one of {', '.join(f.codes)}")
        return _key(self.factor_names, tuple(strata[f.name] for f in self.factors))


@lru_cache(maxsize=4096)
def _key(factors: tuple[str, ...], levels: tuple[str, ...]) -> str:
    # Strata are few (16 in PATINA): the key of each is computed once by the one function
    # that defines the format for all of oncotrial.
    return stratum_key(dict(zip(factors, levels)), factors)


def load_trial(conn: Connection) -> Trial:
    row = conn.execute(select(TrialSetup.protocol_json, TrialSetup.protocol_name, TrialSetup.seed,
                              TrialSetup.rehearsal).where(TrialSetup.id == 1)).one_or_none()
    if row is None:
        raise NotInitialized("the database holds no trial; run `oncotrial irt init --protocol NAME --db URL` first")
    return Trial.from_protocol_dict(json.loads(row.protocol_json), row.protocol_name, seed=row.seed,
                                    rehearsal=bool(row.rehearsal))
