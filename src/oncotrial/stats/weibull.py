"""The Weibull survival distribution as rpact parameterises it (``lambda2``, ``kappa``).

S(t) = exp(-(rate t)^shape), i.e. R's ``pweibull(t, shape, scale = 1 / rate)``; shape 1 is the
exponential with hazard ``rate``. Proportional hazards with ratio HR scale the rate by
HR^(1 / shape), rpact's ``lambda1 = lambda2 * hazardRatio^(1 / kappa)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _positive(name: str, x: float) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not (
            x > 0 and np.isfinite(x)):
        raise ValueError(f"{name}: expected a positive finite number, got {x!r}")
    return float(x)


@dataclass(frozen=True)
class Weibull:
    """Weibull survival S(t) = exp(-(``rate`` t)^``shape``).

    >>> w = Weibull.from_median(24.0, shape=1.5)
    >>> round(w.median(), 10), round(float(w.survival(24.0)), 10)
    (24.0, 0.5)
    >>> round(w.scaled(0.667).rate / w.rate, 6) == round(0.667 ** (1 / 1.5), 6)
    True
    """

    rate: float
    shape: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _positive("rate", self.rate))
        object.__setattr__(self, "shape", _positive("shape", self.shape))

    @classmethod
    def from_median(cls, median: float, shape: float) -> Weibull:
        """The Weibull with this median (rpact ``getLambdaByMedian(median, kappa)``).

        >>> round(Weibull.from_median(24.0, 1.5).rate, 8)
        0.03263416
        """
        m = _positive("median", median)
        k = _positive("shape", shape)
        return cls(np.log(2.0) ** (1.0 / k) / m, k)

    def scaled(self, factor: float) -> Weibull:
        """Proportional hazards: the hazard multiplied by ``factor`` (e.g. a hazard ratio).

        >>> Weibull(0.1, 2.0).scaled(0.25).rate
        0.05
        """
        return Weibull(self.rate * _positive("factor", factor) ** (1.0 / self.shape), self.shape)

    def cumulative_hazard(self, t: np.ndarray | float) -> np.ndarray:
        """(rate t)^shape.

        >>> float(Weibull(0.5, 2.0).cumulative_hazard(4.0))
        4.0
        """
        return (self.rate * np.maximum(np.asarray(t, dtype=float), 0.0)) ** self.shape

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        """exp(-(rate t)^shape).

        >>> round(float(Weibull(0.1, 1.0).survival(10.0)), 6)
        0.367879
        """
        return np.exp(-self.cumulative_hazard(t))

    def quantile_time(self, surv: np.ndarray | float) -> np.ndarray:
        """Inverse survival: the time at which S(t) = ``surv``.

        >>> round(float(Weibull(0.1, 2.0).quantile_time(np.exp(-1.0))), 10)
        10.0
        """
        s = np.clip(np.asarray(surv, dtype=float), 1e-300, 1.0)
        return (-np.log(s)) ** (1.0 / self.shape) / self.rate

    def median(self) -> float:
        """Time at which survival is 0.5.

        >>> round(Weibull(np.log(2) / 12, 1.0).median(), 10)
        12.0
        """
        return float(self.quantile_time(0.5))
