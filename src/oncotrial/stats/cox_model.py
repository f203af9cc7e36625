"""Cox proportional-hazards regression: ``cox`` and its PH test ``cox_zph``.

Covariates are columns of ``data``. Numeric (and boolean, as 0/1) columns enter
as they are. A categorical column (object, string or pandas Categorical dtype)
is dummy-coded with its first level as reference -- the first sorted level, or
the first category of a pandas Categorical -- and each dummy is named as R
names it, column name followed by level: ``arm`` with levels A, B gives
``armB``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from . import _checks
from ._core import chisq_sf, km_arrays, norm_sf2, z_value
from ._cox_core import CoxDesign, design, loglik_only, newton, score_residuals, zph_score
from ._labels import encode
from ._timefix import check_timefix, timefix as _timefix

TIES = ("efron", "breslow")


@dataclass(frozen=True)
class ChisqTest:
    """A chi-square test: statistic, degrees of freedom, p-value."""

    statistic: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, float]:
        return {"statistic": self.statistic, "df": self.df, "p_value": self.p_value}


def _chisq(stat: float, df: int) -> ChisqTest:
    p = float(chisq_sf(stat, df)) if df > 0 and np.isfinite(stat) else float("nan")
    return ChisqTest(float(stat), int(df), p)


@dataclass(frozen=True)
class ZphResult:
    """Test of proportional hazards per term and globally, as R ``cox.zph`` (transform "km")."""

    table: pd.DataFrame  # index: term names and "GLOBAL"; columns chisq, df, p
    transform: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {k: row.to_dict() for k, row in self.table.iterrows()}


@dataclass(frozen=True)
class CoxResult:
    """Fitted Cox model.

    ``coef``, ``se``, ``hr``, ``p_value`` are Series indexed by covariate (dummy)
    name (``names``), ``hr_ci`` a DataFrame with columns lower, upper and ``var``
    the variance matrix -- built on first access; ``se`` is the robust
    (sandwich) one when ``robust=True``, with the model-based one in ``naive_se``. ``loglik`` is the log partial likelihood
    at the estimate, ``loglik_null`` at beta = 0. The Wald test uses the
    reported variance (robust if requested), as R. Coefficients that cannot be
    estimated (aliased covariate, no events, no convergence) are NaN.
    """

    names: tuple[str, ...]
    loglik: float
    loglik_null: float
    lr_test: ChisqTest
    score_test: ChisqTest
    wald_test: ChisqTest
    robust_score_test: ChisqTest | None
    n: int
    n_events: int
    ties: str
    robust: bool
    conf_level: float
    iterations: int
    converged: bool
    terms: dict[str, list[str]]
    _beta: np.ndarray = field(repr=False, compare=False)
    _se: np.ndarray = field(repr=False, compare=False)
    _naive_se: np.ndarray = field(repr=False, compare=False)
    _var: np.ndarray = field(repr=False, compare=False)
    _design: CoxDesign | None = field(default=None, repr=False, compare=False)
    _time: np.ndarray | None = field(default=None, repr=False, compare=False)
    _event: np.ndarray | None = field(default=None, repr=False, compare=False)
    _estimable: np.ndarray | None = field(default=None, repr=False, compare=False)

    # the pandas views are built on first use: a fit inside a simulation loop needs none
    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(list(self.names), name="covariate")

    @cached_property
    def coef(self) -> pd.Series:
        """Log hazard ratios."""
        return pd.Series(self._beta, index=self._index, name="coef")

    @cached_property
    def se(self) -> pd.Series:
        """Standard errors (robust when ``robust=True``)."""
        return pd.Series(self._se, index=self._index, name="se")

    @cached_property
    def naive_se(self) -> pd.Series:
        """Model-based standard errors (equal to ``se`` unless ``robust=True``)."""
        return pd.Series(self._naive_se, index=self._index, name="naive_se")

    @cached_property
    def hr(self) -> pd.Series:
        """Hazard ratios exp(coef)."""
        return pd.Series(np.exp(self._beta), index=self._index, name="hr")

    @cached_property
    def hr_ci(self) -> pd.DataFrame:
        """Confidence limits of the hazard ratios (columns lower, upper)."""
        z = z_value(self.conf_level)
        return pd.DataFrame({"lower": np.exp(self._beta - z * self._se),
                             "upper": np.exp(self._beta + z * self._se)}, index=self._index)

    @cached_property
    def p_value(self) -> pd.Series:
        """Two-sided Wald p-values of the coefficients."""
        with np.errstate(invalid="ignore"):
            return pd.Series(norm_sf2(self._beta / self._se), index=self._index, name="p_value")

    @cached_property
    def var(self) -> pd.DataFrame:
        """Variance matrix of the coefficients (robust when ``robust=True``)."""
        return pd.DataFrame(self._var, index=self._index, columns=self._index)

    def zph(self, *, terms: bool = True) -> ZphResult:
        """Proportional-hazards test, as R ``cox.zph(fit, transform = "km")``."""
        return cox_zph(self, terms=terms)

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate: coef, hr, se, z, p_value, lower, upper (of the HR)."""
        return pd.DataFrame({"coef": self.coef, "hr": self.hr, "se": self.se, "z": self.coef / self.se,
                             "p_value": self.p_value, "lower": self.hr_ci["lower"],
                             "upper": self.hr_ci["upper"]})

    def to_dict(self) -> dict[str, Any]:
        return {"coef": self.coef.to_dict(), "se": self.se.to_dict(), "hr": self.hr.to_dict(),
                "p_value": self.p_value.to_dict(), "loglik": self.loglik,
                "lr_test": self.lr_test.to_dict(), "score_test": self.score_test.to_dict(),
                "wald_test": self.wald_test.to_dict(), "n": self.n, "n_events": self.n_events,
                "ties": self.ties, "robust": self.robust}


def _model_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """Covariate matrix (transposed: p x n), the covariate names, and the terms they belong to."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    terms: dict[str, list[str]] = {}
    for c in covariates:
        if c not in data.columns:
            raise ValueError(f"covariates: column {c!r} is not in data")
        s = data[c]
        missing = s.isna().to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(f"covariates: column {c!r} row {i} is missing; expected a value")
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels = [lv for lv in s.cat.categories if (s == lv).any()]
            values = s.astype(object).to_numpy()
        elif pd.api.types.is_bool_dtype(s):
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
            terms[c] = [c]
            continue
        elif pd.api.types.is_numeric_dtype(s):
            v = s.to_numpy(dtype=float)
            if not np.all(np.isfinite(v)):
                i = int(np.flatnonzero(~np.isfinite(v))[0])
                raise ValueError(f"covariates: column {c!r} row {i} is {float(v[i])!r}; expected a finite number")
            cols.append(v)
            names.append(c)
            terms[c] = [c]
            continue
        else:
            values = s.astype(str).to_numpy()
            levels = list(np.unique(values))
        terms[c] = []
        for lv in levels[1:]:
            cols.append((values == lv).astype(float))
            names.append(f"{c}{lv}")
            terms[c].append(f"{c}{lv}")
    if len(set(names)) != len(names):
        raise ValueError(f"covariates: duplicated covariate names {names}")
    # covariates as rows (p x n): each one contiguous, as the numeric core reads them
    xt = np.vstack(cols) if cols else np.zeros((0, len(data)))
    return xt, names, terms


def _estimable_columns(xt: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Covariates (rows of ``xt``) not aliased with earlier ones nor constant within strata.

    These are the ones R estimates; the others get NA coefficients there, NaN here.
    """
    p, n = xt.shape
    keep = np.zeros(p, dtype=bool)
    if p == 0:
        return keep
    # within-stratum cross-products (a covariate constant within every stratum is
    # absorbed by the stratified baseline hazard), from one X'X and per-stratum sums
    xs = xt - xt[:, :1]
    counts = np.bincount(strata).astype(float)
    sums = np.stack([np.bincount(strata, weights=xs[j]) for j in range(p)], axis=1)
    raw = xs @ xs.T
    total = sums.sum(axis=0)
    gram = raw - (sums / np.where(counts > 0, counts, 1.0)[:, None]).T @ sums
    scale = np.sqrt(np.maximum(np.diag(raw - np.outer(total, total) / n), 0.0)) + 1e-300
    gram = gram / np.outer(scale, scale)
    for j in range(p):  # over covariates, not rows
        trial = keep.copy()
        trial[j] = True
        ev = np.linalg.eigvalsh(gram[np.ix_(trial, trial)])
        if ev.min() > 1e-10 * max(ev.max(), 1e-300) and ev.max() > 1e-12:
            keep[j] = True
    return keep


def cox(data: pd.DataFrame, *, time: str, event: str, covariates: Sequence[str],
        strata: str | Sequence[str] | None = None, ties: str = "efron", robust: bool = False,
        conf_level: float = 0.95, timefix: bool = True) -> CoxResult:
    """Fit a Cox model by Newton-Raphson, as R ``coxph``.

    Parameters
    ----------
    data : DataFrame with the time, event, covariate and strata columns.
    time, event : column names (event 1 = event, 0 = censored).
    covariates : column names; categorical columns are dummy-coded (see module doc).
    strata : column name(s) defining strata with separate baseline hazards.
    ties : "efron" (R's default) or "breslow".
    robust : sandwich variance from dfbeta residuals, as ``coxph(robust = TRUE)``.
    timefix : merge times equal up to floating-point error first (over all rows),
        as R's default ``coxph.control(timefix = TRUE)``; ``cox_zph`` uses the merged times.

    Example
    -------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 1, 1], "arm": list("ABABAB")})
    >>> fit = cox(d, time="t", event="e", covariates=["arm"])
    >>> list(fit.coef.index)
    ['armB']
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    for name, col in (("time", time), ("event", event)):
        if col not in data.columns:
            raise ValueError(f"{name}: column {col!r} is not in data")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates: expected at least one column name")
    _checks.check_option(ties, TIES, "ties")
    conf = _checks.check_conf_level(conf_level)
    fix = check_timefix(timefix)
    t = _checks.as_time(data[time].to_numpy(), "time")
    e = _checks.as_event(data[event].to_numpy(), t.size, "event")
    if t.size == 0:
        raise ValueError("data: no rows; expected at least one observation")
    if strata is None:
        s_codes = np.zeros(t.size, dtype=np.int64)
    else:
        s_cols = [strata] if isinstance(strata, str) else list(strata)
        for c in s_cols:
            if c not in data.columns:
                raise ValueError(f"strata: column {c!r} is not in data")
            _checks.as_labels(data[c].to_numpy(), t.size, f"strata column {c!r}")
        # combined stratum = distinct combination of the columns' level codes (mixed radix)
        key = np.zeros(t.size, dtype=np.int64)
        for c in s_cols:
            levels, codes = encode(data[c].to_numpy())
            key = key * levels.size + codes
        s_codes = encode(key)[1] if len(s_cols) > 1 else key
    x_all, names, terms = _model_matrix(data, covariates)
    if fix:
        t = _timefix(t)
    return _fit(t, e, x_all, names, terms, s_codes, ties, robust, conf)


def cox_hr(time: np.ndarray, event: np.ndarray, x: np.ndarray, strata: np.ndarray | None = None, *,
           conf_level: float = 0.95) -> tuple[float, float, float]:
    """(HR, lower, upper) of one covariate by the same Efron fit as :func:`cox`, from arrays: for loops
    that fit thousands of candidate data sets (the reconstruction's search), where a data frame per
    fit would cost more than the fit. Times are used as given (no ``timefix``).

    >>> t = np.array([5., 8., 12., 3., 9., 14., 7., 10.]); e = np.array([1, 1, 0, 1, 1, 0, 1, 1])
    >>> x = np.array([1., 1., 1., 1., 0., 0., 0., 0.])
    >>> hr, lower, upper = cox_hr(t, e, x)
    >>> bool(lower < hr < upper)
    True
    """
    conf = _checks.check_conf_level(conf_level)
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    xt = np.asarray(x, dtype=float).reshape(1, -1)
    if e.shape != t.shape or xt.shape[1] != t.size:
        raise ValueError(f"time, event, x: expected arrays of one length, got {t.size}, {e.size}, {xt.shape[1]}")
    s = np.zeros(t.size, dtype=np.int64) if strata is None else encode(np.asarray(strata))[1]
    if not e.any():
        return float("nan"), float("nan"), float("nan")
    nr = newton(design(t, e, xt, s, True))
    info = float(nr.info[0, 0])
    beta, se = float(nr.beta[0]), (1.0 / np.sqrt(info) if info > 0 else float("nan"))
    z = z_value(conf)
    return float(np.exp(beta)), float(np.exp(beta - z * se)), float(np.exp(beta + z * se))


def _fit(t: np.ndarray, e: np.ndarray, x_all: np.ndarray, names: list[str], terms: dict[str, list[str]],
         s_codes: np.ndarray, ties: str, robust: bool, conf: float) -> CoxResult:
    p_all = len(names)
    est = _estimable_columns(x_all, s_codes)
    d = design(t, e, x_all[est], s_codes, ties == "efron")
    n_events = int(e.sum())
    nan_p = np.full(p_all, np.nan)

    def full(v: np.ndarray) -> np.ndarray:
        out = nan_p.copy()
        out[est] = v
        return out

    p = int(est.sum())
    if n_events == 0 or p == 0:
        beta = np.full(p, np.nan)
        nr = None
        var = np.full((p, p), np.nan)
        naive = var
        # no events: nothing to estimate; no estimable covariate: only the null likelihood
        ll = ll0 = float("nan") if n_events == 0 else loglik_only(d, np.zeros(0))
        lr = score = wald = _chisq(float("nan"), p)
        rscore = _chisq(float("nan"), p) if robust else None
        iterations, converged = 0, False
    else:
        nr = newton(d)
        beta = nr.beta.copy()
        iterations, converged = nr.iterations, nr.converged
        try:
            naive = np.linalg.inv(nr.info)
        except np.linalg.LinAlgError:
            naive = np.linalg.pinv(nr.info)
        if not converged:
            # a coefficient still moving after max_iter is heading to +/- infinity
            moving = np.abs(nr.last_step) > 1e-6 * (1.0 + np.abs(beta))
            beta[moving] = np.nan
        ll, ll0 = nr.loglik, nr.loglik0
        lr = _chisq(2.0 * (ll - ll0), p)
        try:
            sc = float(nr.u0 @ np.linalg.solve(nr.info0, nr.u0))
        except np.linalg.LinAlgError:
            sc = float("nan")
        score = _chisq(sc, p)
        rscore = None
        if robust:
            dfb = score_residuals(d, nr.beta) @ naive
            var = dfb.T @ dfb
            r0 = score_residuals(d, np.zeros(p))
            u0 = r0.sum(axis=0)
            try:
                rs = float(u0 @ np.linalg.solve(r0.T @ r0, u0))
            except np.linalg.LinAlgError:
                rs = float("nan")
            rscore = _chisq(rs, p)
        else:
            var = naive
        ok = np.isfinite(beta)
        try:
            w = float(beta[ok] @ np.linalg.solve(var[np.ix_(ok, ok)], beta[ok])) if ok.all() else float("nan")
        except np.linalg.LinAlgError:
            w = float("nan")
        wald = _chisq(w, p)
    se = np.sqrt(np.diag(var)) if p else np.zeros(0)
    se = np.where(np.isfinite(beta), se, np.nan)
    nse = np.sqrt(np.diag(naive)) if p else np.zeros(0)
    nse = np.where(np.isfinite(beta), nse, np.nan)
    var_full = np.full((p_all, p_all), np.nan)
    var_full[np.ix_(est, est)] = var
    return CoxResult(
        names=tuple(names), loglik=float(ll), loglik_null=float(ll0), lr_test=lr, score_test=score,
        wald_test=wald, robust_score_test=rscore, n=int(t.size), n_events=n_events, ties=ties,
        robust=bool(robust), conf_level=conf, iterations=iterations, converged=converged, terms=terms,
        _beta=full(beta), _se=full(se), _naive_se=full(nse), _var=var_full,
        _design=d if nr is not None else None, _time=t, _event=e, _estimable=est,
    )


def cox_zph(fit: CoxResult, *, terms: bool = True) -> ZphResult:
    """Score test of proportional hazards, as R ``cox.zph(fit, transform = "km", terms = terms)``.

    For each term, the score test of theta = 0 in beta(t) = beta + theta * g(t),
    with g(t) = 1 - S(t-) from the pooled Kaplan-Meier (centred on its mean
    over the events), at the fitted beta; plus a global test on all terms. A
    categorical covariate is one term (all its dummies) when ``terms`` is True.
    """
    cols = ["chisq", "df", "p"]
    names = list(fit.coef.index)
    groups = fit.terms if terms else {n: [n] for n in names}
    if fit._design is None or not np.all(np.isfinite(fit.coef.to_numpy()[fit._estimable])):
        idx = list(groups) + ["GLOBAL"]
        return ZphResult(pd.DataFrame(np.nan, index=pd.Index(idx, name="term"), columns=cols), "km")
    d = fit._design
    a = km_arrays(fit._time, fit._event)
    # g(t) = 1 - S(t-), S the KM of all rows pooled over strata, just before t
    # (R: findInterval(left.open = TRUE)), centred on its mean over the events
    t_sets = d.set_time[d.dset]
    j = np.searchsorted(a.time, t_sets, side="left")
    ttimes = 1.0 - np.concatenate(([1.0], a.surv))[j]
    g_set = ttimes - (ttimes * d.d_count).sum() / d.d_count.sum()
    est_names = [n for n, k in zip(names, fit._estimable) if k]
    beta = fit.coef.to_numpy()[fit._estimable]
    u, imat = zph_score(d, beta, g_set)
    p = beta.size
    rows: list[tuple[str, float, int]] = []
    for term, members in groups.items():
        jj = [est_names.index(m) for m in members if m in est_names]
        if not jj:  # every dummy of the term is aliased: R leaves the term out
            continue
        kk = list(range(p)) + [p + i for i in jj]
        rows.append((term, _quad(u[kk], imat[np.ix_(kk, kk)]), len(jj)))
    rows.append(("GLOBAL", _quad(u, imat), p))
    tab = pd.DataFrame(rows, columns=["term", "chisq", "df"]).set_index("term")
    tab["p"] = [float(chisq_sf(c, k)) if k > 0 and np.isfinite(c) else float("nan")
                for c, k in zip(tab["chisq"], tab["df"])]
    return ZphResult(tab, "km")


def _quad(u: np.ndarray, m: np.ndarray) -> float:
    """u' m^-1 u, NaN where m is singular (e.g. a single event: g(t) is confounded with x)."""
    try:
        return float(u @ np.linalg.solve(m, u))
    except np.linalg.LinAlgError:
        return float("nan")
