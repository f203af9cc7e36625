"""The piecewise-exponential survival distribution: the one used by the design's event
predictions (:mod:`oncotrial.design.events`) and by the simulator (:mod:`oncotrial.sim`).

Constant hazard ``hazards[j]`` on ``[starts[j], starts[j+1])``; ``starts`` begins at 0 and the
last hazard continues for ever. The cumulative hazard is built the same way for every method, so
a survival probability, its inverse and a drawn time agree to the last bit wherever they are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def _as_pieces(name: str, values: Sequence[float]) -> np.ndarray:
    v = np.atleast_1d(np.asarray(values, dtype=float))
    if v.ndim != 1 or v.size == 0 or np.any(~np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{name}: expected a non-empty sequence of finite non-negative numbers, got {values!r}")
    return v


@dataclass(frozen=True)
class PiecewiseExponential:
    """Hazard ``hazards[j]`` on ``[starts[j], starts[j+1])`` (the last piece is open-ended).

    >>> pe = PiecewiseExponential.through([(12.0, 0.5)])
    >>> round(float(pe.survival(12.0)), 3), round(pe.median(), 6)
    (0.5, 12.0)
    >>> PiecewiseExponential.from_median(10.0).scaled(0.5).median()
    20.0
    """

    starts: tuple[float, ...]
    hazards: tuple[float, ...]

    def __post_init__(self) -> None:
        s = _as_pieces("starts", self.starts)
        h = _as_pieces("hazards", self.hazards)
        if s[0] != 0 or np.any(np.diff(s) <= 0):
            raise ValueError(f"starts: expected strictly increasing times beginning at 0, got {self.starts!r}")
        if s.size != h.size:
            raise ValueError(f"hazards: expected {s.size} hazards (one per piece), got {h.size}")
        object.__setattr__(self, "starts", tuple(float(x) for x in s))
        object.__setattr__(self, "hazards", tuple(float(x) for x in h))

    @classmethod
    def exponential(cls, hazard: float) -> PiecewiseExponential:
        return cls((0.0,), (float(hazard),))

    @classmethod
    def from_median(cls, median: float) -> PiecewiseExponential:
        if not (median > 0 and np.isfinite(median)):
            raise ValueError(f"median: expected a positive number, got {median!r}")
        return cls.exponential(np.log(2.0) / median)

    @classmethod
    def through(cls, points: list[tuple[float, float]], tail_hazard: float | None = None) -> PiecewiseExponential:
        """The piecewise exponential passing through survival ``points`` [(time, S(time)), ...].

        Points are sorted; survival must decrease. The hazard after the last point is
        ``tail_hazard`` or that of the last segment.
        """
        pts = sorted((float(t), float(s)) for t, s in points)
        if not pts:
            raise ValueError("points: need at least one (time, survival) point")
        starts, hazards = [0.0], []
        t0, s0 = 0.0, 1.0
        for t, s in pts:
            if t <= t0 or not 0 < s < s0 + 1e-12:
                raise ValueError(f"points: survival must decrease over increasing times, got {pts}")
            hazards.append(max(np.log(s0 / s) / (t - t0), 1e-9))
            starts.append(t)
            t0, s0 = t, s
        hazards.append(hazards[-1] if tail_hazard is None else float(tail_hazard))
        return cls(tuple(starts), tuple(hazards))

    def scaled(self, factor: float) -> PiecewiseExponential:
        """Proportional hazards: every piece multiplied by ``factor`` (e.g. a hazard ratio)."""
        return PiecewiseExponential(self.starts, tuple(h * factor for h in self.hazards))

    def _base(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.asarray(self.starts)
        h = np.asarray(self.hazards)
        return s, h, np.concatenate([[0.0], np.cumsum(h[:-1] * np.diff(s))])

    def cumulative_hazard(self, t: np.ndarray | float) -> np.ndarray:
        s, h, base = self._base()
        t = np.asarray(t, dtype=float)
        j = np.clip(np.searchsorted(s, t, side="right") - 1, 0, s.size - 1)
        return base[j] + h[j] * (t - s[j])

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        return np.exp(-self.cumulative_hazard(t))

    def quantile_of_cumhaz(self, target: np.ndarray | float) -> np.ndarray:
        """Inverse cumulative hazard: the time where it reaches ``target`` (draws times from Exp(1) variates)."""
        s, h, base = self._base()
        target = np.asarray(target, dtype=float)
        j = np.clip(np.searchsorted(base, target, side="right") - 1, 0, s.size - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(h[j] > 0, s[j] + (target - base[j]) / np.where(h[j] > 0, h[j], 1.0), np.inf)

    def quantile_time(self, surv: np.ndarray | float) -> np.ndarray:
        """Inverse survival: the time at which S(t) = ``surv``."""
        return self.quantile_of_cumhaz(-np.log(np.clip(np.asarray(surv, dtype=float), 1e-300, 1.0)))

    def median(self) -> float:
        """Time at which survival is 0.5."""
        return float(self.quantile_of_cumhaz(np.log(2.0)))

    def sample(self, rng: np.random.Generator, n: int, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Draw ``n`` times; ``scale`` multiplies the hazard (proportional hazards)."""
        e = rng.exponential(size=n) / np.asarray(scale, dtype=float)
        return self.quantile_time(np.exp(-e))
