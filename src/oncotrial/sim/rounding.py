"""Published rounding: how many decimals a published figure carries, and whether a value rounds to it."""

from __future__ import annotations

import math


def decimals_of(published: float, figure: str = "") -> int:
    """Decimals shown in a published value (counts, marked "(n)", have none)."""
    if figure.endswith("(n)"):
        return 0
    if published is None or not math.isfinite(published):
        return 1
    text = repr(float(published))
    if "e" in text:
        return 6
    frac = text.split(".")[1] if "." in text else ""
    return 0 if frac == "0" and figure.endswith("(n)") else len(frac)


def within_rounding(published: float, value: float, decimals: int) -> bool:
    """Does ``value`` round (half up or half down) to ``published`` at ``decimals``? NE (NaN) matches NaN."""
    if published is None or (isinstance(published, float) and math.isnan(published)):
        return value is None or (isinstance(value, float) and math.isnan(value))
    if value is None or not math.isfinite(value):
        return False
    half = 0.5 * 10.0 ** (-decimals)
    return abs(value - published) <= half + 1e-9


def rounded(value: float, decimals: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "NE"
    return f"{value:.{decimals}f}"
