"""Expected number of events over calendar time (Lachin & Foulkes 1986).

Patients enter by a piecewise-constant accrual intensity, have piecewise-exponential event
hazards (or Weibull ones, without dropout) per arm and an exponential dropout hazard; the
expected number of events observed by calendar time t is the accrual-weighted integral of each
arm's event probability by follow-up t - u, in closed form. The conventions follow rpact
``getEventProbabilities``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import gamma, gammainc

from oncotrial.stats.pwexp import PiecewiseExponential
from oncotrial.stats.weibull import Weibull

Survival = PiecewiseExponential | Weibull
"""An arm's event-time distribution: piecewise exponential, or Weibull (no dropout)."""


def _as_pieces(name: str, values: Sequence[float], nonneg: bool = True) -> np.ndarray:
    v = np.atleast_1d(np.asarray(values, dtype=float))
    if v.ndim != 1 or v.size == 0 or np.any(~np.isfinite(v)) or (nonneg and np.any(v < 0)):
        raise ValueError(f"{name}: expected a non-empty sequence of finite non-negative numbers, got {values!r}")
    return v


def dropout_hazard(rate: float, time: float) -> float:
    """Exponential hazard from "``rate`` of patients drop out by ``time``" (rpact dropoutRate/dropoutTime)."""
    if not (0 <= rate < 1):
        raise ValueError(f"dropout_rate: expected a proportion in [0, 1), got {rate!r}")
    if not (time > 0):
        raise ValueError(f"dropout_time: expected a positive time, got {time!r}")
    return float(-np.log1p(-rate) / time)


def _piece_terms(pe: PiecewiseExponential, eta: float):
    s = np.asarray(pe.starts, float)
    lam = np.asarray(pe.hazards, float)
    mu = lam + eta
    widths = np.diff(s)
    surv0 = np.exp(-np.concatenate([[0.0], np.cumsum(mu[:-1] * widths)]))  # P(no event, no dropout) at s_j
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(mu > 0, lam / np.where(mu > 0, mu, 1.0) * surv0, 0.0)
    # F(s_j): event probability accumulated over the completed pieces.
    f0 = np.concatenate([[0.0], np.cumsum(c[:-1] * -np.expm1(-mu[:-1] * widths))])
    # G(s_j) = int_0^{s_j} F
    g0 = np.zeros(s.size)
    for j in range(s.size - 1):
        g0[j + 1] = g0[j] + _int_piece(f0[j], c[j], mu[j], widths[j])
    return s, mu, c, f0, g0


def _int_piece(f0, c, mu, x):
    """int_0^x [f0 + c (1 - exp(-mu y))] dy."""
    x = np.asarray(x, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(mu > 0, x + np.expm1(-mu * x) / np.where(mu > 0, mu, 1.0), 0.0)
    return f0 * x + c * tail


def _weibull_without_dropout(w: Weibull, eta: float) -> None:
    if eta != 0:
        # With competing dropout the Weibull event probability has no closed form; rpact
        # refuses it too ("use simulation instead").
        raise ValueError(f"dropout_rate: Weibull survival (shape {w.shape:g}) is computed without dropout, "
                         f"as in rpact; give a dropout rate of 0 (got a dropout hazard of {eta:.4g} per unit time)")


def event_probability(pe: Survival, eta: float, x: np.ndarray) -> np.ndarray:
    """P(event observed by follow-up ``x``) with competing exponential dropout hazard ``eta``.

    Example:
        >>> round(float(event_probability(Weibull(0.1, 2.0), 0.0, 10.0)), 6)
        0.632121
    """
    if isinstance(pe, Weibull):
        _weibull_without_dropout(pe, eta)
        return -np.expm1(-pe.cumulative_hazard(x))
    s, mu, c, f0, _ = _piece_terms(pe, eta)
    x = np.maximum(np.asarray(x, float), 0.0)
    j = np.searchsorted(s, x, side="right") - 1
    return f0[j] + c[j] * -np.expm1(-mu[j] * (x - s[j]))


def integrated_event_probability(pe: Survival, eta: float, x: np.ndarray) -> np.ndarray:
    """G(x) = int_0^x P(event by y) dy, the building block of the accrual integral.

    For a Weibull, int_0^x S = Gamma(1 + 1/k) / rate * P(1/k, (rate x)^k), P the regularized
    lower incomplete gamma function.

    Example:
        >>> round(float(integrated_event_probability(Weibull(0.1, 1.0), 0.0, 10.0)), 6)
        3.678794
    """
    if isinstance(pe, Weibull):
        _weibull_without_dropout(pe, eta)
        x = np.maximum(np.asarray(x, float), 0.0)
        k = pe.shape
        return x - gamma(1.0 + 1.0 / k) / pe.rate * gammainc(1.0 / k, pe.cumulative_hazard(x))
    s, mu, c, f0, g0 = _piece_terms(pe, eta)
    x = np.maximum(np.asarray(x, float), 0.0)
    j = np.searchsorted(s, x, side="right") - 1
    return g0[j] + _int_piece(f0[j], c[j], mu[j], x - s[j])


@dataclass(frozen=True)
class Accrual:
    """Piecewise-uniform accrual: intensity ``intensity[j]`` patients per time unit on [time[j], time[j+1])."""

    time: tuple[float, ...]
    intensity: tuple[float, ...]

    def __post_init__(self) -> None:
        t = _as_pieces("accrual_time", self.time)
        a = _as_pieces("accrual_intensity", self.intensity)
        if t[0] != 0 or np.any(np.diff(t) <= 0):
            raise ValueError(f"accrual_time: expected strictly increasing times starting at 0, got {self.time!r}")
        if a.size != t.size - 1:
            raise ValueError(f"accrual_intensity: expected {t.size - 1} intensities (one per accrual piece), got {a.size}")
        if not np.any(a > 0):
            raise ValueError("accrual_intensity: at least one piece must have positive intensity")

    @classmethod
    def for_subjects(cls, n: float, time: Sequence[float], relative_intensity: Sequence[float] | None = None) -> "Accrual":
        """Accrual of ``n`` patients over the pieces ``time`` with relative intensities."""
        if not (n > 0 and np.isfinite(n)):
            raise ValueError(f"n: expected a positive number of patients, got {n!r}")
        t = _as_pieces("accrual_time", time)
        w = np.ones(t.size - 1) if relative_intensity is None else _as_pieces("accrual_intensity", relative_intensity)
        if w.size != t.size - 1:
            raise ValueError(f"accrual_intensity: expected {t.size - 1} intensities, got {w.size}")
        total = float(np.sum(w * np.diff(t)))
        if total <= 0:
            raise ValueError("accrual_intensity: at least one piece must have positive intensity")
        return cls(tuple(map(float, t)), tuple(float(x) for x in w * n / total))

    @property
    def duration(self) -> float:
        return float(self.time[-1])

    @property
    def n(self) -> float:
        return float(np.sum(np.asarray(self.intensity) * np.diff(self.time)))

    def accrued(self, t: np.ndarray) -> np.ndarray:
        """Expected number of patients randomized by calendar time t."""
        u = np.asarray(self.time)
        a = np.asarray(self.intensity)
        t = np.asarray(t, float)[..., None]
        return np.sum(a * np.clip(t - u[:-1], 0.0, np.diff(u)), axis=-1)

    def until(self, t: float) -> "Accrual":
        """The same intensities stopped at calendar time ``t`` (entry closed when the trial ends early).

        Example:
            >>> a = Accrual.for_subjects(900, (0, 50)).until(40)
            >>> a.time, round(a.n, 6)
            ((0.0, 40.0), 720.0)
        """
        if not (0 < t <= self.duration):
            raise ValueError(f"t: expected a time in (0, {self.duration:g}], got {t!r}")
        u = np.asarray(self.time)
        j = int(np.searchsorted(u, t, side="left"))  # pieces starting before t
        return Accrual(tuple(map(float, u[:j])) + (float(t),), self.intensity[:j])

    def quantile(self, p: np.ndarray) -> np.ndarray:
        """Calendar time by which a fraction ``p`` of patients has entered (inverse of accrued / n)."""
        u = np.asarray(self.time)
        a = np.asarray(self.intensity)
        cum = np.concatenate([[0.0], np.cumsum(a * np.diff(u))]) / self.n
        p = np.asarray(p, float)
        j = np.clip(np.searchsorted(cum, p, side="right") - 1, 0, a.size - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(a[j] > 0, (p - cum[j]) * self.n / a[j], 0.0)
        return u[j] + step


def expected_events_by_arm(
    t: np.ndarray,
    accrual: Accrual,
    arms: Sequence[Survival],
    fractions: Sequence[float],
    dropout: Sequence[float],
) -> np.ndarray:
    """Expected events observed by calendar time ``t`` per arm: array of shape (len(t), n_arms).

    Example:
        >>> acc = Accrual.for_subjects(100, (0, 10))
        >>> ev = expected_events_by_arm([10, 1e4], acc, [Weibull(0.1, 1.5), PiecewiseExponential.exponential(0.1)],
        ...                             [0.5, 0.5], [0.0, 0.0])
        >>> ev.round(4).tolist()
        [[15.0104, 18.394], [50.0, 50.0]]
    """
    t = np.atleast_1d(np.asarray(t, float))
    u = np.asarray(accrual.time)
    a = np.asarray(accrual.intensity)
    out = np.zeros((t.size, len(arms)))
    for i, (pe, frac, eta) in enumerate(zip(arms, fractions, dropout)):
        for j in range(a.size):
            lo = np.clip(t - u[j], 0.0, None)
            hi = np.clip(t - u[j + 1], 0.0, None)
            out[:, i] += frac * a[j] * (integrated_event_probability(pe, eta, lo) - integrated_event_probability(pe, eta, hi))
    return out


@dataclass(frozen=True)
class EventTimeline:
    """Expected accrual and events over calendar time (one row per time point)."""

    time: tuple[float, ...]
    subjects: tuple[float, ...]
    events_experimental: tuple[float, ...]
    events_control: tuple[float, ...]
    analysis_times: tuple[float, ...]
    analysis_events: tuple[float, ...]

    @property
    def events(self) -> tuple[float, ...]:
        return tuple(float(a + b) for a, b in zip(self.events_experimental, self.events_control))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["events"] = self.events
        return d

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": self.time,
                "subjects": self.subjects,
                "events_experimental": self.events_experimental,
                "events_control": self.events_control,
                "events": self.events,
            }
        )
