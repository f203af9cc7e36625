"""Coding adverse-event verbatim terms with the dictionary the protocol names (verbatim/LLT -> PT -> SOC).

oncotrial ships ``oncotrial-ae``, a small dictionary covering PATINA's terms. It stands in for MedDRA,
which is licensed and cannot be shipped; a trial with a MedDRA licence loads its own files with
:func:`dictionary_from_rows`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Iterable, Mapping


@dataclass(frozen=True)
class CodedTerm:
    verbatim: str
    llt: str
    pt: str
    soc: str


@dataclass(frozen=True)
class Dictionary:
    """A coding dictionary: normalised lowest-level term -> (LLT, PT, SOC)."""

    name: str
    terms: Mapping[str, tuple[str, str, str]]

    def __len__(self) -> int:
        return len(self.terms)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def dictionary_from_rows(name: str, rows: Iterable[tuple[str, str, str]]) -> Dictionary:
    """A dictionary from (LLT, PT, SOC) rows; a PT is also its own LLT. Conflicting rows are an error."""
    terms: dict[str, tuple[str, str, str]] = {}
    for i, row in enumerate(rows, start=1):
        if len(row) != 3 or not all(isinstance(x, str) and x.strip() for x in row):
            raise ValueError(f"dictionary {name} row {i}: expected LLT, PT, SOC (non-empty), got {row!r}")
        llt, pt, soc = (x.strip() for x in row)
        for term, entry in ((llt, (llt, pt, soc)), (pt, (pt, pt, soc))):
            old = terms.get(_norm(term))
            if old is not None and old[1:] != entry[1:]:
                raise ValueError(f"dictionary {name} row {i}: {term!r} is coded both as {old[1]} and {pt}")
            terms.setdefault(_norm(term), entry)
    return Dictionary(name, MappingProxyType(terms))


def load_dictionary(name: str = "oncotrial-ae") -> Dictionary:
    """A dictionary shipped with oncotrial, by the name a protocol's ``edc.ae_dictionary`` gives."""
    path = resources.files("oncotrial.collect") / "data" / f"{name}.csv"
    if not path.is_file():
        raise ValueError(f"AE dictionary {name!r} is not shipped with oncotrial (ships: oncotrial-ae)")
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = next(reader)
    if header != ["LLT", "PT", "SOC"]:
        raise ValueError(f"AE dictionary {name}: expected columns LLT, PT, SOC, got {header}")
    return dictionary_from_rows(name, (tuple(r) for r in reader if r))


def code_term(dictionary: Dictionary, verbatim: str) -> CodedTerm | None:
    """The coding of a verbatim term (case and spacing ignored), or None when it needs manual coding.

    >>> d = load_dictionary("oncotrial-ae")
    >>> code_term(d, "  loose stools ")
    CodedTerm(verbatim='  loose stools ', llt='Loose stools', pt='Diarrhoea', soc='Gastrointestinal disorders')
    >>> code_term(d, "felt odd") is None
    True
    """
    if not isinstance(verbatim, str):
        raise ValueError(f"verbatim: expected text, got {verbatim!r}")
    hit = dictionary.terms.get(_norm(verbatim))
    return None if hit is None else CodedTerm(verbatim, *hit)
