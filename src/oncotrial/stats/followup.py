"""Median follow-up by the reverse Kaplan-Meier method: ``median_followup``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .kaplan_meier import km_arguments, km_from_arrays


@dataclass(frozen=True)
class FollowupResult:
    """Reverse Kaplan-Meier median follow-up with its confidence interval (NaN = not reached)."""

    median: float
    lower: float
    upper: float
    n: int
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "lower": self.lower, "upper": self.upper,
                "n": self.n, "conf_level": self.conf_level}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def median_followup(time: Any, event: Any, *, conf_level: float = 0.95,
                    conf_type: str = "log-log", timefix: bool = True) -> FollowupResult:
    """Median potential follow-up: the KM median of the censoring distribution.

    Censorings are the "events" and events the "censorings" (Schemper & Smith
    1996), i.e. R ``survfit(Surv(time, 1 - event) ~ 1)``, and the median with
    its CI as ``quantile.survfit``. ``timefix`` merges times equal up to
    floating-point error first, as R's default ``survfit(timefix = TRUE)``.

    Example
    -------
    >>> median_followup([3, 5, 6, 8, 9], [1, 0, 1, 0, 0]).median
    8.0
    """
    t, e, c = km_arguments(time, event, conf_level, conf_type, timefix)
    fit = km_from_arrays(t, 1.0 - e, c, conf_type)
    return FollowupResult(median=fit.median, lower=fit.median_ci[0], upper=fit.median_ci[1],
                          n=int(t.size), conf_level=c)
