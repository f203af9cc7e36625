"""Spending-function specifications such as ``obf``, ``hsd:-2`` or ``kd:3``: the one parser
the ``oncotrial design`` options and ``group_sequential_design`` share.

Pure string handling, without numpy, so that the command line can check its options
before the numerical modules are loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SPENDING_KINDS: tuple[str, ...] = ("obf", "pocock", "hsd", "kd")
DEFAULT_HSD_GAMMA = -4.0
SPENDING_FORMS = "obf, pocock, hsd, hsd:GAMMA or kd:RHO"


@dataclass(frozen=True)
class SpendingFunction:
    """A spending family and its parameter (HSD gamma, Kim-DeMets rho; None for obf and pocock).

    Example:
        >>> parse_spending("hsd:-2")
        SpendingFunction(kind='hsd', parameter=-2.0)
        >>> str(parse_spending("kd:3"))
        'kd:3'
    """

    kind: str
    parameter: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in SPENDING_KINDS:
            raise ValueError(f"kind: expected one of {SPENDING_KINDS}, got {self.kind!r}")
        if self.kind in ("obf", "pocock"):
            if self.parameter is not None:
                raise ValueError(f"{self.kind}: takes no parameter, got {self.parameter!r}")
        elif self.parameter is None or not math.isfinite(self.parameter):
            raise ValueError(f"{self.kind}: expected a finite parameter, got {self.parameter!r}")
        elif self.kind == "kd" and self.parameter <= 0:
            # rho <= 0 would spend all the error at the first look (or none at all).
            raise ValueError(f"kd: expected rho > 0, got {self.parameter!r}")

    def __str__(self) -> str:
        return self.kind if self.parameter is None else f"{self.kind}:{self.parameter:g}"


def parse_spending(
    spec: str | SpendingFunction, name: str = "spending", gamma: float | None = None
) -> SpendingFunction:
    """A spending function from ``obf``, ``pocock``, ``hsd`` (gamma ``gamma``, default -4),
    ``hsd:GAMMA`` or ``kd:RHO`` (level * t^rho); errors name the option ``name``.

    ``gamma`` is the separately given parameter of the Python API (``gamma_alpha``); it must
    not contradict one written in ``spec``.

    Example:
        >>> parse_spending("hsd")
        SpendingFunction(kind='hsd', parameter=-4.0)
        >>> parse_spending("kd", gamma=2)
        SpendingFunction(kind='kd', parameter=2.0)
    """
    if isinstance(spec, SpendingFunction):
        if gamma is not None and spec.parameter is not None and float(gamma) != spec.parameter:
            raise ValueError(f"{name}: parameter {spec.parameter:g} contradicts gamma {gamma!r}")
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"{name}: expected {SPENDING_FORMS}, got {spec!r}")
    kind, sep, text = spec.strip().lower().partition(":")
    if kind not in SPENDING_KINDS or (sep and kind in ("obf", "pocock")):
        raise ValueError(f"{name}: expected {SPENDING_FORMS}, got {spec!r}")
    if kind in ("obf", "pocock"):
        return SpendingFunction(kind)
    if sep:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{name}: expected a number after '{kind}:', got {spec!r}") from None
        if gamma is not None and float(gamma) != value:
            raise ValueError(f"{name}: {spec!r} contradicts the separately given parameter {gamma!r}")
    elif gamma is not None:
        value = float(gamma)
    elif kind == "hsd":
        value = DEFAULT_HSD_GAMMA
    else:
        raise ValueError(f"{name}: kd needs its exponent rho, e.g. 'kd:2' (alpha * t^2), got {spec!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite parameter, got {spec!r}")
    if kind == "kd" and value <= 0:
        raise ValueError(f"{name}: kd needs rho > 0, got {spec!r}")
    return SpendingFunction(kind, value)
