"""Argument checks shared by the allocation methods, run before any random draw.

Each check raises ValueError naming the argument and what was expected, so the
caller (a CLI user, the IRT service) can tell which input is wrong.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

from oncotrial._seed import check_seed  # noqa: F401  (the package's one seed rule)

# Codes end up inside stratum keys ("f=l|g=m") and unquoted CSV cells, so the
# characters that delimit those are not allowed in them.
_FORBIDDEN = set("|=,\n\r\"#")


def _is_whole(x: object) -> bool:
    """An integer-valued real number (numpy integers included), not a bool."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return False
    if isinstance(x, numbers.Integral):  # exact: a float round trip would reject ints above 2**53
        return True
    return math.isfinite(float(x)) and float(x) == int(x)


def check_code(value: object, name: str) -> str:
    """A factor name, level code or arm code: a non-empty string without delimiters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
    if value != value.strip():
        raise ValueError(f"{name}: {value!r} has leading or trailing spaces")
    bad = sorted(set(value) & _FORBIDDEN)
    if bad:
        raise ValueError(f"{name}: {value!r} contains {''.join(bad)!r}; codes may not contain any of | = , \" # or newlines")
    return value


def check_arms(arms: Sequence[str], name: str = "arms") -> tuple[str, ...]:
    """At least two distinct arm codes."""
    if isinstance(arms, str):
        raise ValueError(f"{name}: expected a sequence of arm codes, got the single string {arms!r}")
    out = tuple(check_code(a, f"{name}[{i}]") for i, a in enumerate(arms))
    if len(out) < 2:
        raise ValueError(f"{name}: expected at least 2 arms, got {len(out)}")
    if len(set(out)) != len(out):
        dup = next(a for a in out if out.count(a) > 1)
        raise ValueError(f"{name}: arm {dup!r} appears more than once")
    return out


def check_ratio(ratio: Sequence[int], n_arms: int, name: str = "ratio") -> tuple[int, ...]:
    """Positive integer allocation ratio, one entry per arm."""
    try:
        items = list(ratio)
    except TypeError as exc:
        raise ValueError(f"{name}: expected a sequence of positive integers, got {ratio!r}") from exc
    if len(items) != n_arms:
        raise ValueError(f"{name}: has {len(items)} entries but there are {n_arms} arms; expected one entry per arm")
    out = []
    for i, r in enumerate(items):
        if not _is_whole(r) or r < 1:
            raise ValueError(f"{name}[{i}]: expected a positive integer, got {r!r}")
        out.append(int(r))
    return tuple(out)


def check_block_sizes(block_sizes: Sequence[int], ratio: tuple[int, ...], name: str = "block_sizes") -> tuple[int, ...]:
    """Distinct positive block sizes, each a multiple of the ratio sum."""
    try:
        items = list(block_sizes)
    except TypeError as exc:
        raise ValueError(f"{name}: expected a sequence of positive integers, got {block_sizes!r}") from exc
    if not items:
        raise ValueError(f"{name}: expected at least one block size")
    total = sum(ratio)
    out = []
    for i, b in enumerate(items):
        if not _is_whole(b) or b < 1:
            raise ValueError(f"{name}[{i}]: expected a positive integer, got {b!r}")
        b = int(b)
        if b % total:
            raise ValueError(
                f"{name}[{i}]: block size {b} is not a multiple of the ratio sum {total} "
                f"(ratio {':'.join(map(str, ratio))}); a block must hold whole ratio sets"
            )
        if b in out:
            raise ValueError(f"{name}: block size {b} appears more than once")
        out.append(b)
    return tuple(out)


def check_probabilities(weights: Sequence[float] | None, n: int, name: str) -> tuple[float, ...]:
    """Non-negative weights of length ``n`` normalised to sum 1; ``None`` means equal."""
    if weights is None:
        return tuple([1.0 / n] * n)
    items = list(weights)
    if len(items) != n:
        raise ValueError(f"{name}: has {len(items)} entries; expected {n}")
    vals = []
    for i, w in enumerate(items):
        try:
            v = float(w)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}[{i}]: expected a number, got {w!r}") from exc
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name}[{i}]: expected a finite number >= 0, got {w!r}")
        vals.append(v)
    s = sum(vals)
    if s <= 0:
        raise ValueError(f"{name}: all entries are 0; expected at least one positive weight")
    return tuple(v / s for v in vals)


def check_count(value: object, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if not _is_whole(value) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_levels(strata_levels: Mapping[str, Sequence[str]], name: str = "strata_levels") -> dict[str, tuple[str, ...]]:
    """Factor name -> distinct level codes, in the caller's (protocol) order."""
    if not isinstance(strata_levels, Mapping):
        raise ValueError(f"{name}: expected a mapping of factor name to level codes, got {type(strata_levels).__name__}")
    out: dict[str, tuple[str, ...]] = {}
    for f, levels in strata_levels.items():
        check_code(f, f"{name} factor name")
        if isinstance(levels, str):
            raise ValueError(f"{name}[{f!r}]: expected a sequence of level codes, got the single string {levels!r}")
        lv = tuple(check_code(v, f"{name}[{f!r}][{i}]") for i, v in enumerate(levels))
        if not lv:
            raise ValueError(f"{name}[{f!r}]: expected at least one level")
        if len(set(lv)) != len(lv):
            dup = next(v for v in lv if lv.count(v) > 1)
            raise ValueError(f"{name}[{f!r}]: level {dup!r} appears more than once")
        out[f] = lv
    return out
