"""Log-rank and Fleming-Harrington G(rho) tests: ``logrank``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _checks
from ._core import chisq_sf, logrank_arrays, logrank_chisq
from ._labels import encode
from ._timefix import check_timefix, timefix as _timefix


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank (rho = 0) or G(rho) test, as R ``survdiff``.

    ``observed``/``expected`` are (weighted) event counts per group, summed over
    strata, indexed by group label in sorted order; ``var`` is the variance
    matrix of observed - expected. With fewer than two groups having expected
    events, ``chisq`` and ``p_value`` are NaN (not estimable).
    """

    chisq: float
    df: int
    p_value: float
    observed: pd.Series
    expected: pd.Series
    n: pd.Series
    var: pd.DataFrame
    rho: float
    n_strata: int

    def to_frame(self) -> pd.DataFrame:
        """One row per group: n, observed, expected, (O-E)^2/E, (O-E)^2/V, as print.survdiff."""
        o, e = self.observed.to_numpy(), self.expected.to_numpy()
        v = np.diag(self.var.to_numpy())
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame({"n": self.n.to_numpy(), "observed": o, "expected": e,
                                 "o_e2_e": (o - e) ** 2 / e, "o_e2_v": (o - e) ** 2 / v},
                                index=self.observed.index)

    def z(self, group: Any) -> float:
        """The signed statistic of ``group``: (observed - expected) / sqrt(variance), summed over strata.

        Negative when ``group`` has fewer events than expected (its hazard is lower); with two
        groups its square is ``chisq``. NaN when the variance is zero.

        >>> res = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["A", "B", "A", "B", "A", "B"])
        >>> z = res.z("A")
        >>> print(round(z, 4), abs(z * z - res.chisq) < 1e-12, z == -res.z("B"))
        0.2719 True True
        """
        if group not in self.observed.index:
            raise ValueError(f"group: expected one of {list(self.observed.index)}, got {group!r}")
        v = float(self.var.loc[group, group])
        diff = float(self.observed[group] - self.expected[group])
        return float(diff / np.sqrt(v)) if v > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"chisq": self.chisq, "df": self.df, "p_value": self.p_value, "rho": self.rho,
                "observed": self.observed.to_dict(), "expected": self.expected.to_dict()}


def logrank(time: Any, event: Any, group: Any, *, strata: Any = None, rho: float = 0.0,
            timefix: bool = True) -> LogrankResult:
    """Compare survival between groups, optionally stratified, as R ``survdiff``.

    ``rho`` = 0 is the log-rank test; rho = 1 the Peto-Peto/Prentice
    modification of the Gehan-Wilcoxon test (weights S(t-)^rho from the pooled
    Kaplan-Meier within stratum). The p-value is two-sided (chi-square).
    ``timefix`` merges times equal up to floating-point error first (over all
    rows, before splitting by stratum), as R's default ``survdiff(timefix = TRUE)``.

    Example
    -------
    >>> res = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["A", "B", "A", "B", "A", "B"])
    >>> res.df
    1
    """
    t = _checks.as_time(time)
    e = _checks.as_event(event, t.size)
    g = _checks.as_labels(group, t.size, "group")
    try:
        r = float(rho)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"rho: expected a number, got {rho!r}") from exc
    if not np.isfinite(r):
        raise ValueError(f"rho: expected a finite number, got {rho!r}")
    fix = check_timefix(timefix)
    if t.size == 0:
        raise ValueError("time: no rows; expected at least one observation")
    if strata is None:
        s_codes, ns = np.zeros(t.size, dtype=np.int64), 1
    else:
        s_lab = _checks.as_labels(strata, t.size, "strata")
        s_levels, s_codes = encode(s_lab)
        ns = s_levels.size
    levels, codes = encode(g)
    if fix:
        t = _timefix(t)
    la = logrank_arrays(t, e, codes, levels.size, s_codes, ns, r)
    chisq, df = logrank_chisq(la)
    p = float(chisq_sf(chisq, df)) if df >= 1 else float("nan")
    idx = pd.Index(levels, name="group")
    return LogrankResult(chisq=chisq, df=df, p_value=p,
                         observed=pd.Series(la.observed, index=idx, name="observed"),
                         expected=pd.Series(la.expected, index=idx, name="expected"),
                         n=pd.Series(la.n.astype(int), index=idx, name="n"),
                         var=pd.DataFrame(la.var, index=idx, columns=idx),
                         rho=r, n_strata=int(ns))
