"""Allocation lists as CSV files with a checksum, and their verification.

File layout (UTF-8, ``\\n`` line endings)::

    # oncotrial allocation list v1
    # sha256: <SHA-256 of the canonical rows; see oncotrial.randomization.allocation>
    # rows: 64
    # seed: 20170601
    # method: permuted_blocks
    # arms: A|B
    # ratio: 1:1
    # block_sizes: 2|4
    # factors: induction_response|prior_antiher2|endocrine_therapy|her2_blockade
    stratum,sequence,block,block_size,arm,chain
    induction_response=CR_PR|prior_antiher2=YES|...,1,1,4,B,3f0c1d2e4a5b6c7d
    ...

``sha256`` covers the first five columns of every row (the canonical rows) and is
what a sponsor records; ``grep -v '^#' FILE | cut -d, -f1-5 | sha256sum`` recomputes
it. ``chain`` is a running hash, the first 16 hex digits of
``SHA-256(previous chain + "\\n" + canonical row)`` (the previous chain of row 1 is
the empty string); it lets a reader name the first row that was altered, inserted,
removed or reordered. Neither is a signature: someone who rewrites the rows, the
chain and the header consistently is not detected; keep the recorded ``sha256``
(or the file) somewhere they cannot write.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from oncotrial.randomization.allocation import COLUMNS, METHODS, AllocationList, AllocationRow, rows_checksum

MAGIC = "# oncotrial allocation list v1"
FILE_COLUMNS = (*COLUMNS, "chain")
_CHAIN_HEX = 16


def _chain(previous: str, row: AllocationRow) -> str:
    return hashlib.sha256(f"{previous}\n{row.canonical()}".encode()).hexdigest()[:_CHAIN_HEX]


def write_allocation_list(alloc: AllocationList, path: str | os.PathLike[str]) -> Path:
    """Write ``alloc`` as a checksummed CSV (see the module docstring for the layout).

    The file is written to a temporary name and renamed, so a failure never leaves a
    half-written list behind.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from oncotrial.randomization import generate_permuted_blocks
    >>> al = generate_permuted_blocks({"resp": ["CR_PR", "SD"]}, ["A", "B"], [1, 1], [2, 4], 8, seed=7)
    >>> p = write_allocation_list(al, pathlib.Path(tempfile.mkdtemp()) / "list.csv")
    >>> read_allocation_list(p) == al
    True
    """
    if not isinstance(alloc, AllocationList):
        raise ValueError(f"alloc: expected an AllocationList, got {type(alloc).__name__}")
    path = Path(path)
    lines = [
        MAGIC,
        f"# sha256: {alloc.checksum}",
        f"# rows: {len(alloc.rows)}",
        f"# seed: {alloc.seed}",
        f"# method: {alloc.method}",
        f"# arms: {'|'.join(alloc.arms)}",
        f"# ratio: {':'.join(map(str, alloc.ratio))}",
        f"# block_sizes: {'|'.join(map(str, alloc.block_sizes))}",
        f"# factors: {'|'.join(alloc.factors)}",
        ",".join(FILE_COLUMNS),
    ]
    chain = ""
    for r in alloc.rows:
        chain = _chain(chain, r)
        lines.append(f"{r.canonical()},{chain}")
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v) if value else ()


def _parse_int(text: str, what: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not an integer") from None
    return v


def read_allocation_list(path: str | os.PathLike[str]) -> AllocationList:
    """Read a list written by :func:`write_allocation_list`, verifying it.

    Checks, in order: the header, each row's format and running chain hash (the first
    row that fails is named: "row 17 (line 27) ..."), the ``sha256`` and ``rows``
    header lines against the rows, then the list's structure (sequences 1..n per
    stratum, blocks whole and balanced at the ratio, arms known). Any failure raises
    ValueError naming the file and the first bad row or header line.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from oncotrial.randomization import generate_permuted_blocks
    >>> al = generate_permuted_blocks({"resp": ["CR_PR", "SD"]}, ["A", "B"], [1, 1], [2], 2, seed=7)
    >>> p = write_allocation_list(al, pathlib.Path(tempfile.mkdtemp()) / "list.csv")
    >>> text = p.read_text().splitlines()
    >>> text[-1] = text[-1].replace(",A,", ",X,") if ",A," in text[-1] else text[-1].replace(",B,", ",X,")
    >>> _ = p.write_text("\\n".join(text) + "\\n")
    >>> read_allocation_list(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: row 4 (line 14) ... does not match ...
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"path: {str(path)!r} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = raw.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != MAGIC:
        raise ValueError(f"{path}: line 1 should be {MAGIC!r}; this is not an oncotrial allocation list")

    meta: dict[str, str] = {}
    meta_line: dict[str, int] = {}
    i = 1
    while i < len(lines) and lines[i].startswith("#"):
        key, sep, value = lines[i][1:].strip().partition(":")
        if not sep:
            raise ValueError(f"{path}: header line {i + 1} {lines[i]!r} is not '# key: value'")
        meta[key.strip()] = value.strip()
        meta_line[key.strip()] = i + 1
        i += 1
    for key in ("sha256", "rows", "seed", "method", "arms"):
        if key not in meta:
            raise ValueError(f"{path}: the header has no '# {key}:' line")
    if i >= len(lines) or lines[i] != ",".join(FILE_COLUMNS):
        found = lines[i] if i < len(lines) else "end of file"
        raise ValueError(f"{path}: line {i + 1} should be the column header {','.join(FILE_COLUMNS)!r}, found {found!r}")
    header_lineno = i + 1

    rows: list[AllocationRow] = []
    chain = ""
    for j, line in enumerate(lines[header_lineno:], start=1):
        where = f"{path}: row {j} (line {header_lineno + j})"
        cells = line.split(",")
        if len(cells) != len(FILE_COLUMNS):
            raise ValueError(f"{where}: has {len(cells)} fields; expected {len(FILE_COLUMNS)} ({','.join(FILE_COLUMNS)})")
        stratum, seq, block, bsize, arm, stored = cells
        row = AllocationRow(
            stratum,
            _parse_int(seq, f"{where} sequence"),
            _parse_int(block, f"{where} block"),
            _parse_int(bsize, f"{where} block_size"),
            arm,
        )
        if line != f"{row.canonical()},{stored}":
            # e.g. " 3" or "03" parses as 3: reject it so the file's bytes are its canonical rows
            raise ValueError(f"{where}: {line!r} is not in canonical form (no spaces, quotes or leading zeros)")
        chain = _chain(chain, row)
        if stored != chain:
            raise ValueError(
                f"{where} {row.canonical()!r} does not match the chain hash: this row, or one before it "
                f"that was removed or moved here, has been altered (rows 1..{j - 1} are intact)"
            )
        rows.append(row)

    n_rows = _parse_int(meta["rows"], f"{path}: header line {meta_line['rows']} rows")
    if n_rows != len(rows):
        first = min(n_rows, len(rows)) + 1
        raise ValueError(
            f"{path}: row {first}: the header says {n_rows} rows but the file has {len(rows)}; "
            f"rows were {'removed from' if len(rows) < n_rows else 'added at'} the end"
        )
    digest = rows_checksum(rows)
    if meta["sha256"] != digest:
        raise ValueError(
            f"{path}: header line {meta_line['sha256']} sha256 {meta['sha256']!r} does not match the rows "
            f"(their SHA-256 is {digest!r}); the header or the whole list was rewritten"
        )
    method = meta["method"]
    if method not in METHODS:
        raise ValueError(f"{path}: header line {meta_line['method']} method {method!r} is not one of {', '.join(map(repr, METHODS))}")
    ratio_text = meta.get("ratio", "")
    alloc = AllocationList(
        rows=tuple(rows),
        seed=_parse_int(meta["seed"], f"{path}: header line {meta_line['seed']} seed"),
        checksum=digest,
        method=method,
        arms=_split_list(meta["arms"]),
        ratio=tuple(_parse_int(x, f"{path}: header ratio") for x in ratio_text.split(":")) if ratio_text else (),
        block_sizes=tuple(_parse_int(x, f"{path}: header block_sizes") for x in _split_list(meta.get("block_sizes", ""))),
        factors=_split_list(meta.get("factors", "")),
    )
    problem = structure_problem(alloc)
    if problem is not None:
        j, message = problem
        raise ValueError(f"{path}: row {j} (line {header_lineno + j}): {message}")
    return alloc


def structure_problem(alloc: AllocationList) -> tuple[int, str] | None:
    """The first structural fault of a list as (1-based row number, message), or None.

    Checks that every arm is one of ``alloc.arms``, each stratum's sequence runs
    1, 2, ..., and for permuted blocks that block numbers run 1, 2, ..., every
    block's size is one of ``alloc.block_sizes``, it holds exactly that many rows,
    and its arms are in the allocation ratio.

    Example
    -------
    >>> rows = (AllocationRow("f=x", 1, 1, 2, "A"), AllocationRow("f=x", 2, 1, 2, "A"))
    >>> structure_problem(AllocationList(rows, seed=0, arms=("A", "B"), ratio=(1, 1), block_sizes=(2,)))
    (2, "block 1 of stratum 'f=x' is not balanced: A=2, B=0; expected A=1, B=1")
    """
    arms = set(alloc.arms)
    total = sum(alloc.ratio) if alloc.ratio else None
    expect_seq: dict[str, int] = {}
    blocks: dict[tuple[str, int], list[tuple[int, AllocationRow]]] = {}
    last_block: dict[str, int] = {}
    for j, r in enumerate(alloc.rows, start=1):
        if arms and r.arm not in arms:
            return j, f"arm {r.arm!r} is not one of the list's arms {', '.join(map(repr, alloc.arms))}"
        want = expect_seq.get(r.stratum, 0) + 1
        if r.sequence != want:
            return j, f"sequence {r.sequence} in stratum {r.stratum!r}; expected {want}"
        expect_seq[r.stratum] = want
        if alloc.method == "simple":
            if r.block != 0 or r.block_size != 0:
                return j, "a simple-randomization row should have block = block_size = 0"
            continue
        prev = last_block.get(r.stratum, 0)
        if r.block not in (prev, prev + 1) or r.block < 1:
            return j, f"block {r.block} in stratum {r.stratum!r}; expected {prev} or {prev + 1}"
        last_block[r.stratum] = r.block
        if alloc.block_sizes and r.block_size not in alloc.block_sizes:
            return j, f"block_size {r.block_size} is not one of {', '.join(map(str, alloc.block_sizes))}"
        blocks.setdefault((r.stratum, r.block), []).append((j, r))
    for (stratum, block), members in blocks.items():
        size = members[0][1].block_size
        if any(r.block_size != size for _, r in members):
            j = next(j for j, r in members if r.block_size != size)
            return j, f"block {block} of stratum {stratum!r} mixes block sizes"
        if len(members) != size:
            return members[-1][0], f"block {block} of stratum {stratum!r} has {len(members)} rows; its block_size is {size}"
        if total and alloc.arms and len(alloc.ratio) == len(alloc.arms):
            counts = Counter(r.arm for _, r in members)
            want = {a: size // total * q for a, q in zip(alloc.arms, alloc.ratio)}
            if any(counts.get(a, 0) != n for a, n in want.items()):
                got = ", ".join(f"{a}={counts.get(a, 0)}" for a in alloc.arms)
                exp = ", ".join(f"{a}={n}" for a, n in want.items())
                return members[-1][0], f"block {block} of stratum {stratum!r} is not balanced: {got}; expected {exp}"
    return None


@dataclass(frozen=True)
class ListVerification:
    """What :func:`verify_allocation_list` found in a list that passed every check."""

    path: str
    checksum: str
    seed: int
    method: str
    n_rows: int
    n_strata: int
    n_blocks: int
    arm_counts: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, object]:
        """Fields as plain Python objects."""
        return {
            "path": self.path,
            "checksum": self.checksum,
            "seed": self.seed,
            "method": self.method,
            "n_rows": self.n_rows,
            "n_strata": self.n_strata,
            "n_blocks": self.n_blocks,
            "arm_counts": dict(self.arm_counts),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row: the fields, with one ``n_<arm>`` column per arm."""
        d = self.to_dict()
        counts = d.pop("arm_counts")
        d.update({f"n_{a}": n for a, n in counts.items()})  # type: ignore[union-attr]
        return pd.DataFrame([d])


def verify_allocation_list(path: str | os.PathLike[str]) -> ListVerification:
    """Verify a list file (checksum, chain, structure) and summarise it; ValueError on any fault.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from oncotrial.randomization import generate_permuted_blocks
    >>> al = generate_permuted_blocks({"resp": ["CR_PR", "SD"]}, ["A", "B"], [1, 1], [4], 4, seed=7)
    >>> p = write_allocation_list(al, pathlib.Path(tempfile.mkdtemp()) / "list.csv")
    >>> v = verify_allocation_list(p)
    >>> v.n_rows, v.n_strata, v.n_blocks, dict(v.arm_counts)
    (8, 2, 2, {'A': 4, 'B': 4})
    """
    alloc = read_allocation_list(path)
    counts = Counter(r.arm for r in alloc.rows)
    arms = alloc.arms or tuple(sorted(counts))
    return ListVerification(
        path=str(path),
        checksum=alloc.checksum,
        seed=alloc.seed,
        method=alloc.method,
        n_rows=len(alloc.rows),
        n_strata=len(alloc.strata),
        n_blocks=len({(r.stratum, r.block) for r in alloc.rows if r.block}),
        arm_counts=tuple((a, counts.get(a, 0)) for a in arms),
    )
