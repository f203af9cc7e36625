"""Strata: one combination of stratification-factor levels, and its canonical key.

The key is the one spelling of a stratum that every part of oncotrial uses (the
allocation list file, the IRT database, the balance report): ``factor=level``
pairs joined by ``|`` in protocol order, e.g.
``induction_response=CR_PR|prior_antiher2=YES|endocrine_therapy=AI|her2_blockade=DUAL``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oncotrial.randomization._checks import check_code, check_levels


@dataclass(frozen=True)
class Stratum:
    """One stratum: factor names and the level of each, in protocol order.

    Example
    -------
    >>> s = Stratum(factors=("response", "prior"), levels=("CR_PR", "NO"))
    >>> s.key
    'response=CR_PR|prior=NO'
    >>> Stratum.from_key(s.key) == s
    True
    >>> s.as_dict()
    {'response': 'CR_PR', 'prior': 'NO'}
    """

    factors: tuple[str, ...]
    levels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.factors) != len(self.levels):
            raise ValueError(f"levels: has {len(self.levels)} entries but there are {len(self.factors)} factors")
        for i, f in enumerate(self.factors):
            check_code(f, f"factors[{i}]")
        for f, v in zip(self.factors, self.levels):
            check_code(v, f"level of {f!r}")
        if len(set(self.factors)) != len(self.factors):
            raise ValueError(f"factors: {self.factors!r} names a factor twice")

    @property
    def key(self) -> str:
        """The canonical key, ``factor=level`` pairs joined by ``|``."""
        return "|".join(f"{f}={v}" for f, v in zip(self.factors, self.levels))

    def as_dict(self) -> dict[str, str]:
        """Factor name -> level code."""
        return dict(zip(self.factors, self.levels))

    @classmethod
    def from_key(cls, key: str) -> Stratum:
        """Parse a canonical key back into a Stratum (inverse of ``.key``)."""
        if not isinstance(key, str):
            raise ValueError(f"stratum: expected a key string, got {key!r}")
        if key == "":
            return cls((), ())
        factors, levels = [], []
        for part in key.split("|"):
            name, sep, level = part.partition("=")
            if not sep:
                raise ValueError(f"stratum: {key!r} is not a stratum key; part {part!r} lacks 'factor=level'")
            factors.append(name)
            levels.append(level)
        return cls(tuple(factors), tuple(levels))

    @classmethod
    def from_mapping(cls, strata: Mapping[str, str], factors: Sequence[str] | Mapping[str, Sequence[str]]) -> Stratum:
        """Build a Stratum from a patient's factor values; see :func:`stratum_key`."""
        return cls.from_key(stratum_key(strata, factors))


def stratum_key(strata: Mapping[str, str], factors: Sequence[str] | Mapping[str, Sequence[str]]) -> str:
    """The canonical stratum key of a patient's factor values, factors in protocol order.

    ``factors`` is the protocol's factor order: a sequence of names, or a mapping of
    name -> allowed level codes, in which case each value is also checked against
    the allowed levels. Extra entries in ``strata`` (e.g. a site) are ignored.

    Example
    -------
    >>> stratum_key({"prior": "NO", "response": "CR_PR"}, ["response", "prior"])
    'response=CR_PR|prior=NO'
    >>> stratum_key({"response": "PD"}, {"response": ["CR_PR", "SD"]})
    Traceback (most recent call last):
    ...
    ValueError: strata['response']: unknown level 'PD'; expected one of 'CR_PR', 'SD'
    """
    if not isinstance(strata, Mapping):
        raise ValueError(f"strata: expected a mapping of factor name to level code, got {type(strata).__name__}")
    if isinstance(factors, str):
        raise ValueError(f"factors: expected a sequence of factor names, got the single string {factors!r}")
    allowed = check_levels(factors, "factors") if isinstance(factors, Mapping) else None
    names = list(allowed) if allowed is not None else [check_code(f, f"factors[{i}]") for i, f in enumerate(factors)]
    parts = []
    for f in names:
        if f not in strata:
            raise ValueError(f"strata: factor {f!r} is missing; expected a level for each of {', '.join(map(repr, names))}")
        v = strata[f]
        check_code(v, f"strata[{f!r}]")
        if allowed is not None and v not in allowed[f]:
            raise ValueError(f"strata[{f!r}]: unknown level {v!r}; expected one of {', '.join(map(repr, allowed[f]))}")
        parts.append(f"{f}={v}")
    return "|".join(parts)


def enumerate_strata(strata_levels: Mapping[str, Sequence[str]]) -> tuple[Stratum, ...]:
    """Every stratum (the cross product of levels), first factor varying slowest.

    Example
    -------
    >>> [s.key for s in enumerate_strata({"a": ["1", "2"], "b": ["x", "y"]})]
    ['a=1|b=x', 'a=1|b=y', 'a=2|b=x', 'a=2|b=y']
    """
    levels = check_levels(strata_levels)
    factors = tuple(levels)
    return tuple(Stratum(factors, combo) for combo in itertools.product(*levels.values()))
