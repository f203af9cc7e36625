"""The allocation list: a pre-generated, checksummed sequence of arms per stratum.

The checksum is SHA-256 over the *canonical rows*: the UTF-8 text of the header line
``stratum,sequence,block,block_size,arm`` followed by one line per row
(``{stratum},{sequence},{block},{block_size},{arm}``), every line ending in ``\\n``,
rows in list order (strata in protocol order, sequence ascending). Codes cannot
contain commas, quotes or newlines, so the text needs no CSV quoting and anyone can
recompute it from a written file with
``grep -v '^#' FILE.csv | cut -d, -f1-5 | sha256sum``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

COLUMNS = ("stratum", "sequence", "block", "block_size", "arm")
METHODS = ("permuted_blocks", "simple")


@dataclass(frozen=True)
class AllocationRow:
    """One slot of the list: the ``sequence``-th assignment (1-based) in ``stratum``.

    ``block`` is the 1-based block number within the stratum and ``block_size`` its
    size; both are 0 for simple (unblocked) randomization.
    """

    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str

    def canonical(self) -> str:
        """The row as one canonical CSV line (without the newline)."""
        return f"{self.stratum},{self.sequence},{self.block},{self.block_size},{self.arm}"


def canonical_text(rows: Iterable[AllocationRow]) -> str:
    """Header line plus one line per row, each ending in a newline: what the checksum covers.

    Example
    -------
    >>> canonical_text([AllocationRow("resp=SD", 1, 1, 2, "A")])
    'stratum,sequence,block,block_size,arm\\nresp=SD,1,1,2,A\\n'
    """
    return ",".join(COLUMNS) + "\n" + "".join(r.canonical() + "\n" for r in rows)


def rows_checksum(rows: Iterable[AllocationRow]) -> str:
    """SHA-256 hex digest of :func:`canonical_text`.

    Example
    -------
    >>> rows_checksum([])[:12]  # the header line alone
    '26164f636dce'
    """
    return hashlib.sha256(canonical_text(rows).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AllocationList:
    """A pre-generated allocation list; immutable, its checksum always matches its rows.

    Build one with :func:`generate_permuted_blocks` or :func:`generate_simple`, or read
    one with :func:`read_allocation_list`. Passing a ``checksum`` that does not match
    the rows raises ValueError; leaving it empty computes it.

    Example
    -------
    >>> from oncotrial.randomization import generate_permuted_blocks
    >>> al = generate_permuted_blocks({"resp": ["CR_PR", "SD"]}, ["A", "B"], [1, 1], [2, 4], 4, seed=1)
    >>> al.strata
    ('resp=CR_PR', 'resp=SD')
    >>> [(r.sequence, r.block, r.block_size, r.arm) for r in al.for_stratum("resp=SD")]
    [(1, 1, 4, 'B'), (2, 1, 4, 'A'), (3, 1, 4, 'A'), (4, 1, 4, 'B')]
    """

    rows: tuple[AllocationRow, ...]
    seed: int
    checksum: str = ""
    method: str = "permuted_blocks"
    arms: tuple[str, ...] = ()
    ratio: tuple[int, ...] = ()
    block_sizes: tuple[int, ...] = ()
    factors: tuple[str, ...] = ()
    _index: dict[str, tuple[AllocationRow, ...]] = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        rows = tuple(self.rows)
        object.__setattr__(self, "rows", rows)
        for name in ("arms", "ratio", "block_sizes", "factors"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.method not in METHODS:
            raise ValueError(f"method: {self.method!r} is not one of {', '.join(map(repr, METHODS))}")
        digest = rows_checksum(rows)
        if self.checksum and self.checksum != digest:
            raise ValueError(f"checksum: {self.checksum!r} does not match the rows (their SHA-256 is {digest!r})")
        object.__setattr__(self, "checksum", digest)
        index: dict[str, list[AllocationRow]] = {}
        for r in rows:
            index.setdefault(r.stratum, []).append(r)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    @property
    def strata(self) -> tuple[str, ...]:
        """Stratum keys in list order."""
        return tuple(self._index)

    def for_stratum(self, key: str) -> tuple[AllocationRow, ...]:
        """The rows of one stratum in sequence order; ValueError naming the key if absent."""
        try:
            return self._index[key]
        except KeyError:
            shown = ", ".join(map(repr, list(self._index)[:4])) + (" ..." if len(self._index) > 4 else "")
            raise ValueError(f"stratum: {key!r} is not in this allocation list (strata: {shown})") from None

    def __len__(self) -> int:
        return len(self.rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per slot: columns stratum, sequence, block, block_size, arm."""
        return pd.DataFrame(
            {
                "stratum": [r.stratum for r in self.rows],
                "sequence": [r.sequence for r in self.rows],
                "block": [r.block for r in self.rows],
                "block_size": [r.block_size for r in self.rows],
                "arm": [r.arm for r in self.rows],
            },
            columns=list(COLUMNS),
        ).astype({"sequence": "int64", "block": "int64", "block_size": "int64"})

    def to_dict(self) -> dict[str, object]:
        """Metadata and rows as plain Python objects."""
        return {
            "seed": self.seed,
            "checksum": self.checksum,
            "method": self.method,
            "arms": list(self.arms),
            "ratio": list(self.ratio),
            "block_sizes": list(self.block_sizes),
            "factors": list(self.factors),
            "rows": [r.__dict__.copy() for r in self.rows],
        }
