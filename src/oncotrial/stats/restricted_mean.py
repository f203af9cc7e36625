"""Restricted mean survival time: ``rmst`` and ``rmst_diff`` (survRM2's method)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _checks
from ._core import km_arrays, norm_sf2, rmst_arrays, z_value
from ._labels import encode
from ._timefix import check_timefix, timefix as _timefix


@dataclass(frozen=True)
class RMSTResult:
    """Area under the Kaplan-Meier curve on [0, tau] with its standard error and CI.

    NaN where tau lies beyond the last observed time (the curve is not known up
    to tau; survRM2 refuses such a tau).
    """

    estimate: float
    se: float
    lower: float
    upper: float
    tau: float
    conf_level: float

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "se": self.se, "lower": self.lower, "upper": self.upper,
                "tau": self.tau, "conf_level": self.conf_level}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class RMSTDiffResult:
    """Difference (second group minus first, sorted labels) and ratio of RMSTs, as survRM2."""

    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float
    ratio: float
    ratio_lower: float
    ratio_upper: float
    ratio_p_value: float
    groups: tuple[Any, Any]
    per_group: dict[Any, RMSTResult]
    tau: float
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "se": self.se, "lower": self.lower, "upper": self.upper,
                "p_value": self.p_value, "ratio": self.ratio, "ratio_lower": self.ratio_lower,
                "ratio_upper": self.ratio_upper, "ratio_p_value": self.ratio_p_value,
                "groups": self.groups, "tau": self.tau}

    def to_frame(self) -> pd.DataFrame:
        """One row per group (RMST, se, CI) and one for the difference."""
        rows = {str(g): r.to_dict() for g, r in self.per_group.items()}
        rows["difference"] = {"estimate": self.estimate, "se": self.se, "lower": self.lower,
                              "upper": self.upper, "tau": self.tau, "conf_level": self.conf_level}
        return pd.DataFrame.from_dict(rows, orient="index")


def _check_tau(tau: Any) -> float:
    try:
        t = float(tau)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tau: expected a positive number, got {tau!r}") from exc
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"tau: {tau!r} must be a positive finite number")
    return t


def _rmst(t: np.ndarray, e: np.ndarray, tau: float, conf: float, fix: bool) -> RMSTResult:
    if fix:
        t = _timefix(t)
    if t.size == 0 or tau > t.max():
        nan = float("nan")
        return RMSTResult(nan, nan, nan, nan, tau, conf)
    est, var = rmst_arrays(km_arrays(t, e), tau)
    se = float(np.sqrt(var))
    z = z_value(conf)
    return RMSTResult(est, se, est - z * se, est + z * se, tau, conf)


def rmst(time: Any, event: Any, *, tau: float, conf_level: float = 0.95, timefix: bool = True) -> RMSTResult:
    """Restricted mean survival time up to ``tau``: the area under the KM curve.

    Variance as survRM2 / R ``print(survfit, rmean = tau)``: the sum over event
    times t_j <= tau of (area from t_j to tau)^2 d_j / (n_j (n_j - d_j)).
    CI = estimate +/- z se. ``timefix`` merges times equal up to floating-point
    error first, as R's default ``survfit(timefix = TRUE)``.

    Example
    -------
    >>> rmst([1, 2, 3, 4], [1, 1, 0, 1], tau=3).estimate
    2.25
    """
    t = _checks.as_time(time)
    e = _checks.as_event(event, t.size)
    tau_f, conf = _check_tau(tau), _checks.check_conf_level(conf_level)
    return _rmst(t, e, tau_f, conf, check_timefix(timefix))


def rmst_diff(time: Any, event: Any, group: Any, *, tau: float, conf_level: float = 0.95,
              timefix: bool = True) -> RMSTDiffResult:
    """Difference and ratio of RMST between two groups, as survRM2 ``rmst2``.

    The difference is group 2 minus group 1 (labels in sorted order; e.g. B - A)
    with se = sqrt(se1^2 + se2^2); the ratio group 2 / group 1 with a CI on the
    log scale. Exactly two groups are required. ``timefix`` merges near-equal
    times within each group (survRM2 fits ``survfit`` per arm, so R does the same).

    Example
    -------
    >>> rmst_diff([1, 2, 3, 4, 2, 5, 6, 7], [1, 1, 0, 1, 1, 0, 1, 0], list("AAAABBBB"), tau=4).groups
    ('A', 'B')
    """
    t = _checks.as_time(time)
    e = _checks.as_event(event, t.size)
    g = _checks.as_labels(group, t.size, "group")
    tau_f = _check_tau(tau)
    conf = _checks.check_conf_level(conf_level)
    fix = check_timefix(timefix)
    levels, codes = encode(g)
    if levels.size != 2:
        raise ValueError(f"group: expected exactly 2 groups, got {levels.size} ({list(levels)[:5]})")
    per = {lv.item() if hasattr(lv, "item") else lv: _rmst(t[codes == k], e[codes == k], tau_f, conf, fix)
           for k, lv in enumerate(levels)}
    a, b = list(per.values())
    z = z_value(conf)
    est = b.estimate - a.estimate
    se = float(np.hypot(a.se, b.se))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = float(norm_sf2(est / se)) if se > 0 else float("nan")
        log_ratio = np.log(b.estimate / a.estimate)
        se_log = float(np.sqrt((a.se / a.estimate) ** 2 + (b.se / b.estimate) ** 2))
        rp = float(norm_sf2(log_ratio / se_log)) if se_log > 0 else float("nan")
    return RMSTDiffResult(
        estimate=est, se=se, lower=est - z * se, upper=est + z * se, p_value=p,
        ratio=float(np.exp(log_ratio)), ratio_lower=float(np.exp(log_ratio - z * se_log)),
        ratio_upper=float(np.exp(log_ratio + z * se_log)), ratio_p_value=rp,
        groups=tuple(per.keys()), per_group=per, tau=tau_f, conf_level=conf)
