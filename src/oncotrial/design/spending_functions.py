"""Lan-DeMets alpha/beta spending functions (one tail), in rpact's parameterisation:
O'Brien-Fleming-like, Pocock-like, Hwang-Shih-DeCani and the Kim-DeMets power family.

Each function maps information fractions ``t`` in (0, 1] to the cumulative error spent
by ``t``; all satisfy f(0) = 0 and f(1) = ``level``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import norm

from oncotrial.design.spending_spec import SPENDING_KINDS, SpendingFunction

SpendingKind = Literal["obf", "pocock", "hsd", "kd"]


def _check_t(t: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < 0) or np.any(t > 1 + 1e-12):
        raise ValueError("t: information fractions must lie in [0, 1]")
    return np.clip(t, 0.0, 1.0)


def _check_level(level: float, name: str) -> float:
    if not (0 < level < 1):
        raise ValueError(f"{name}: expected a probability in (0, 1), got {level!r}")
    return float(level)


def spending_obf(t: np.ndarray | float, level: float) -> np.ndarray:
    """O'Brien-Fleming-like spending, 2 - 2 Phi(z_{1-level/2} / sqrt(t)) (rpact ``asOF``).

    Example: ``spending_obf([0.5, 1], 0.025)`` -> ``[0.00152..., 0.025]``.
    """
    level = _check_level(level, "level")
    t = _check_t(t)
    with np.errstate(divide="ignore"):
        out = 2.0 * norm.sf(norm.isf(level / 2.0) / np.sqrt(t))
    return np.where(t > 0, out, 0.0)


def spending_pocock(t: np.ndarray | float, level: float) -> np.ndarray:
    """Pocock-like spending, level * log(1 + (e - 1) t) (rpact ``asP``)."""
    level = _check_level(level, "level")
    t = _check_t(t)
    return level * np.log1p((np.e - 1.0) * t)


def spending_hsd(t: np.ndarray | float, level: float, gamma: float = -4.0) -> np.ndarray:
    """Hwang-Shih-DeCani spending, level (1 - e^{-gamma t}) / (1 - e^{-gamma}) (rpact ``asHSD``).

    ``gamma = 0`` is linear spending ``level * t``.
    """
    level = _check_level(level, "level")
    if not np.isfinite(gamma):
        raise ValueError(f"gamma: expected a finite number, got {gamma!r}")
    t = _check_t(t)
    if gamma == 0:
        return level * t
    return level * (-np.expm1(-gamma * t)) / (-np.expm1(-gamma))


def spending_kd(t: np.ndarray | float, level: float, rho: float) -> np.ndarray:
    """Kim-DeMets power family, level * t^rho (rpact ``asKD`` / ``bsKD`` with gamma = rho).

    Example: ``spending_kd([0.5, 1], 0.025, 2)`` -> ``[0.00625, 0.025]``.
    """
    level = _check_level(level, "level")
    if not (np.isfinite(rho) and rho > 0):
        raise ValueError(f"rho: expected a positive number, got {rho!r}")
    t = _check_t(t)
    return level * t**rho


def spending(kind: str | SpendingFunction, t: np.ndarray | float, level: float, gamma: float = -4.0) -> np.ndarray:
    """Dispatch to one of the spending functions by name ("obf", "pocock", "hsd", "kd").

    ``gamma`` is the HSD gamma or the Kim-DeMets rho; a ``SpendingFunction`` brings its own.

    Example: ``spending("kd", [0.5, 1], 0.025, 2)`` -> ``[0.00625, 0.025]``.
    """
    if isinstance(kind, SpendingFunction):
        kind, gamma = kind.kind, (gamma if kind.parameter is None else kind.parameter)
    if kind == "obf":
        return spending_obf(t, level)
    if kind == "pocock":
        return spending_pocock(t, level)
    if kind == "hsd":
        return spending_hsd(t, level, gamma)
    if kind == "kd":
        return spending_kd(t, level, gamma)
    raise ValueError(f"spending: expected one of {SPENDING_KINDS}, got {kind!r}")
