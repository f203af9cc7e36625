"""Printing numbers the way the report prints them: NE for what cannot be estimated."""

from __future__ import annotations

import math

NE = "NE"


def _bad(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def num(x: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals, or NE."""
    return NE if _bad(x) else f"{x:.{digits}f}"


def pct(x: float | None, digits: int = 1) -> str:
    """A percentage (given in percent) with a % sign, or NE."""
    return NE if _bad(x) else f"{x:.{digits}f}%"


def interval(lo: float | None, hi: float | None, digits: int = 1, sep: "str" = "-") -> str:
    """A confidence interval "lo-hi" (each bound may be NE)."""
    return f"{num(lo, digits)}{sep}{num(hi, digits)}"


def pvalue(p: float | None) -> str:
    """P like journals print it: three decimals, <0.001 below that, NE when missing."""
    if _bad(p):
        return NE
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}" if p >= 0.01 and round(p, 2) >= 0.01 else f"{p:.3f}"


def p_text(p: float | None) -> str:
    """"P = 0.02" or "P < 0.001" (the sign follows the rounding)."""
    v = pvalue(p)
    return f"P {v[0]} {v[1:]}" if v.startswith("<") else f"P = {v}"


def count_pct(n: int, percent: float, digits: int = 1) -> str:
    """"n (x.x%)"."""
    return f"{n} ({num(percent, digits)}%)"


def value(x: float | None, kind: str) -> str:
    """A figure of the published-vs-reproduced table, printed by its kind."""
    if kind == "count":
        return NE if _bad(x) else f"{x:.0f}"
    if kind == "p":
        return NE if _bad(x) else (f"{x:.4f}" if x < 0.01 else f"{x:.3f}")
    if kind == "ratio":
        return num(x, 2)
    return num(x, 1)
