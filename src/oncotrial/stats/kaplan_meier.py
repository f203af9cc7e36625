"""Kaplan-Meier estimate of the survival function: ``km``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from . import _checks
from ._core import KMArrays, km_arrays, km_confint, km_quantiles, step_index
from ._timefix import check_timefix, timefix as _timefix

CONF_TYPES = ("log-log", "log", "plain")


@dataclass(frozen=True)
class KMResult:
    """Kaplan-Meier fit.

    ``table`` has one row per distinct observed time (event or censoring), as R
    ``survfit``: time, n_risk, n_event, n_censor, surv, std_err (the standard
    error of S(t) by Greenwood's formula, R's ``summary.survfit`` std.err), and
    the pointwise confidence limits lower, upper. ``median`` and ``median_ci``
    are NaN where the curve (or a confidence limit) never drops to 0.5.
    """

    median: float
    median_ci: tuple[float, float]
    n: int
    n_events: int
    conf_level: float
    conf_type: str
    _arrays: KMArrays = field(repr=False, compare=False)
    _lower: np.ndarray = field(repr=False, compare=False)
    _upper: np.ndarray = field(repr=False, compare=False)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The KM table (built on first use: most callers want the median or a few rates)."""
        a = self._arrays
        with np.errstate(invalid="ignore"):
            std_err = a.surv * np.sqrt(a.greenwood)  # 0 * inf is NaN where S reaches 0, as R
        return pd.DataFrame({
            "time": a.time, "n_risk": a.n_risk.astype(np.int64), "n_event": a.n_event.astype(np.int64),
            "n_censor": a.n_censor.astype(np.int64), "surv": a.surv, "std_err": std_err,
            "lower": self._lower, "upper": self._upper,
        })

    def quantile(self, p: float | Sequence[float]) -> pd.DataFrame:
        """Quantiles of the survival time, one row per ``p`` (0.5 is the median).

        ``p`` is the failure probability, as in R ``quantile.survfit``; columns
        p, time, lower, upper, NaN where not reached.
        """
        probs = np.atleast_1d(np.asarray(p, dtype=float))
        if probs.ndim != 1 or np.any(np.isnan(probs)) or np.any((probs < 0) | (probs > 1)):
            raise ValueError(f"p: expected probabilities between 0 and 1, got {p!r}")
        q, ql, qu = km_quantiles(self._arrays, self._lower, self._upper, probs)
        return pd.DataFrame({"p": probs, "time": q, "lower": ql, "upper": qu})

    def survival_at(self, times: float | Sequence[float]) -> pd.DataFrame:
        """S(t) with its confidence limits and the number at risk at each requested time.

        The curve is right-continuous: an event at exactly t is included. Before
        the first observed time S is 1 with limits [1, 1]; after the last observed time S is NaN
        (not estimable; R ``summary.survfit`` drops such times) unless the curve
        has already reached 0.
        """
        at = _checks.as_time(np.atleast_1d(np.asarray(times, dtype=float)), "times")
        a = self._arrays
        idx = step_index(a.time, at)
        surv = np.where(idx >= 0, a.surv[np.maximum(idx, 0)], 1.0)
        lo_tab, up_tab = self._lower, self._upper
        # before the first observed time the curve is known to be 1 (R summary.survfit gives [1, 1])
        lower = np.where(idx >= 0, lo_tab[np.maximum(idx, 0)], 1.0)
        upper = np.where(idx >= 0, up_tab[np.maximum(idx, 0)], 1.0)
        # at risk at t: everyone whose time is >= t
        j = np.searchsorted(a.time, at, side="left")
        n_risk = np.where(j < a.time.size, a.n_risk[np.minimum(j, a.time.size - 1)], 0.0)
        beyond = at > a.time[-1]
        dead = surv == 0
        surv = np.where(beyond & ~dead, np.nan, surv)
        lower = np.where(beyond & ~dead, np.nan, lower)
        upper = np.where(beyond & ~dead, np.nan, upper)
        return pd.DataFrame({"time": at, "surv": surv, "lower": lower, "upper": upper,
                             "n_risk": n_risk.astype(int)})

    def to_frame(self) -> pd.DataFrame:
        """The KM table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Summary numbers: n, events, median with its CI."""
        return {"n": self.n, "n_events": self.n_events, "median": self.median,
                "median_lower": self.median_ci[0], "median_upper": self.median_ci[1],
                "conf_level": self.conf_level, "conf_type": self.conf_type}


def km(time: Any, event: Any, *, conf_level: float = 0.95, conf_type: str = "log-log",
       timefix: bool = True) -> KMResult:
    """Kaplan-Meier survival curve with Greenwood variance, as R ``survfit(Surv(time, event) ~ 1)``.

    Parameters
    ----------
    time : array of non-negative follow-up times.
    event : array of 0 (censored) / 1 (event), same length.
    conf_level : confidence level of the pointwise limits and the median CI.
    conf_type : "log-log" (default, as SAS and most oncology reports), "log"
        (R's default) or "plain".
    timefix : merge times equal up to floating-point error first, as R's
        ``survfit(timefix = TRUE)`` (the default; see ``_timefix``).

    Example
    -------
    >>> fit = km([1, 2, 2, 3, 5], [1, 1, 0, 1, 0])
    >>> fit.median
    3.0
    """
    t, e, c = km_arguments(time, event, conf_level, conf_type, timefix)
    return km_from_arrays(t, e, c, conf_type)


def km_arguments(time: Any, event: Any, conf_level: float, conf_type: str,
                 timefix: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Check the arguments every Kaplan-Meier fit takes; times come back merged if ``timefix``."""
    t = _checks.as_time(time)
    e = _checks.as_event(event, t.size)
    c = _checks.check_conf_level(conf_level)
    _checks.check_option(conf_type, CONF_TYPES, "conf_type")
    fix = check_timefix(timefix)
    if t.size == 0:
        raise ValueError("time: no rows; expected at least one observation")
    return (_timefix(t) if fix else t), e, c


def km_from_arrays(t: np.ndarray, e: np.ndarray, conf_level: float, conf_type: str) -> KMResult:
    """Build the result from checked arrays (used by ``km`` and ``median_followup``)."""
    a = km_arrays(t, e)
    lower, upper = km_confint(a.surv, np.sqrt(a.greenwood), conf_type, conf_level)
    q, ql, qu = km_quantiles(a, lower, upper, np.array([0.5]))
    return KMResult(median=float(q[0]), median_ci=(float(ql[0]), float(qu[0])), n=int(t.size),
                    n_events=int(e.sum()), conf_level=conf_level, conf_type=conf_type,
                    _arrays=a, _lower=lower, _upper=upper)
