"""Cox model against R coxph / cox.zph (efron, breslow, strata, robust)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.stats import cox, cox_hr, cox_zph

from ._ref import arr, close, reference

VARIANTS = {
    "efron": {},
    "breslow": {"ties": "breslow"},
    "efron_robust": {"robust": True},
    "efron_strata": {"strata": "stratum"},
    "breslow_strata": {"strata": "stratum", "ties": "breslow"},
    "efron_strata_robust": {"strata": "stratum", "robust": True},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cox_matches_r(case: tuple[str, pd.DataFrame], variant: str) -> None:
    name, d = case
    block = reference(name)["cox"]
    ref = block.get(variant)
    if ref is None:
        pytest.skip(f"{name}: no {variant} fit (single stratum)")
    covs = block["covariates"]
    covs = [covs] if isinstance(covs, str) else covs
    fit = cox(d, time="time", event="event", covariates=covs, **VARIANTS[variant])
    ref_names = [ref["names"]] if isinstance(ref["names"], str) else ref["names"]
    assert list(fit.coef.index) == ref_names
    assert fit.n == ref["n"] and fit.n_events == ref["n_events"]
    if ref["n_events"] == 0:
        # R reports NA coefficients with zero standard errors; oncotrial says NaN (not estimable)
        assert fit.coef.isna().all() and fit.se.isna().all() and np.isnan(fit.lr_test.statistic)
        return
    what = f"{name}/{variant}"
    close(fit.coef, ref["coef"], f"{what}: coef")
    # R gives an aliased coefficient (NA) a standard error of 0; oncotrial says NaN
    aliased = fit.coef.isna().to_numpy()
    close(fit.se[~aliased], arr(ref["se"])[~aliased], f"{what}: se")
    close(fit.naive_se[~aliased], arr(ref["naive_se"])[~aliased], f"{what}: naive se")
    close(fit.hr_ci["lower"], ref["hr_lower"], f"{what}: HR lower")
    close(fit.hr_ci["upper"], ref["hr_upper"], f"{what}: HR upper")
    close(fit.p_value, ref["p_value"], f"{what}: p")
    close([fit.loglik_null, fit.loglik], ref["loglik"], f"{what}: loglik")
    close(fit.lr_test.statistic, ref["lr_test"], f"{what}: LR")
    close(fit.score_test.statistic, ref["score_test"], f"{what}: score")
    close(fit.wald_test.statistic, ref["wald_test"], f"{what}: Wald")
    if ref.get("robust_score") is not None:
        close(fit.robust_score_test.statistic, ref["robust_score"], f"{what}: robust score")
    zph = fit.zph()
    if "zph" in ref:
        assert list(zph.table.index) == ref["zph"]["terms"]
        close(zph.table["chisq"], ref["zph"]["chisq"], f"{what}: zph chisq")
        close(zph.table["df"], ref["zph"]["df"], f"{what}: zph df")
        close(zph.table["p"], ref["zph"]["p"], f"{what}: zph p")
    else:
        # R's cox.zph fails on a singular information (a single event); oncotrial gives NaN
        assert zph.table["chisq"].isna().any()


def test_categorical_is_dummy_coded_like_r() -> None:
    d = pd.DataFrame({"t": [5, 3, 8, 2, 7, 4, 9, 6, 1, 10], "e": [1, 1, 0, 1, 1, 1, 0, 1, 1, 0],
                      "arm": list("CABCABCABA")})
    fit = cox(d, time="t", event="e", covariates=["arm"])
    assert list(fit.coef.index) == ["armB", "armC"]
    assert fit.terms == {"arm": ["armB", "armC"]}
    assert list(cox_zph(fit).table.index) == ["arm", "GLOBAL"]
    assert cox_zph(fit).table.loc["arm", "df"] == 2
    # a pandas Categorical keeps its own level order: reference is its first category
    d["arm"] = pd.Categorical(d["arm"], categories=["C", "B", "A"])
    assert list(cox(d, time="t", event="e", covariates=["arm"]).coef.index) == ["armB", "armA"]


def test_aliased_covariate_is_nan() -> None:
    d = pd.DataFrame({"t": np.arange(1.0, 11.0), "e": [1, 1, 0, 1, 1, 1, 0, 1, 1, 0],
                      "x": [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.6, 0.7, 0.0]})
    d["x2"] = 2 * d["x"]
    fit = cox(d, time="t", event="e", covariates=["x", "x2"])
    assert np.isfinite(fit.coef["x"]) and np.isnan(fit.coef["x2"]) and np.isnan(fit.se["x2"])


def test_monotone_likelihood_gives_nan_not_an_exception() -> None:
    # every event in arm A before any in B: the arm coefficient runs off to infinity
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 1, 1, 0, 0, 0, 0],
                      "arm": list("AAAABBBB")})
    fit = cox(d, time="t", event="e", covariates=["arm"])
    assert not fit.converged
    assert np.isnan(fit.coef["armB"]) and np.isnan(fit.hr_ci.loc["armB", "lower"])


def test_result_frames() -> None:
    d = pd.DataFrame({"t": [5, 3, 8, 2, 7, 4, 9, 6], "e": [1, 1, 0, 1, 1, 1, 0, 1], "x": [1, 0, 1, 0, 1, 0, 0, 1]})
    fit = cox(d, time="t", event="e", covariates="x")
    assert list(fit.to_frame().columns) == ["coef", "hr", "se", "z", "p_value", "lower", "upper"]
    assert fit.to_dict()["n"] == 8
    with pytest.raises(AttributeError):
        fit.loglik = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ties": "exact"}, "ties"),
        ({"covariates": ["nope"]}, "covariates: column 'nope'"),
        ({"covariates": []}, "covariates"),
        ({"time": "nope"}, "time: column 'nope'"),
        ({"strata": "nope"}, "strata: column 'nope'"),
        ({"covariates": ["xnan"]}, "row 2 is missing"),
        ({"event": "bad"}, "event: row 1"),
    ],
)
def test_bad_input_names_the_problem(kwargs, message) -> None:
    d = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 1, 1], "x": [0.0, 1, 0, 1],
                      "xnan": [0.0, 1, np.nan, 1], "bad": [1, 2, 0, 1]})
    args = {"time": "t", "event": "e", "covariates": ["x"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        cox(d, **args)


@pytest.mark.parametrize("stratified", [False, True])
def test_cox_hr_from_arrays_is_the_same_fit_as_cox(case: tuple[str, pd.DataFrame], stratified: bool) -> None:
    """The array entry point the reconstruction's search calls gives cox()'s HR and CI (and so R's)."""
    name, d = case
    covs = reference(name)["cox"]["covariates"]
    cov = covs if isinstance(covs, str) else covs[0]
    if stratified and "stratum" not in d.columns:
        pytest.skip(f"{name}: no stratum column")
    strata = "stratum" if stratified else None
    if not pd.api.types.is_numeric_dtype(d[cov]) and d[cov].nunique() > 2:
        pytest.skip(f"{name}: {cov} has more than two levels; cox_hr fits one column")
    fit = cox(d, time="time", event="event", covariates=[cov], strata=strata, timefix=False)
    x = d[cov].to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(d[cov]) else \
        pd.get_dummies(d[cov], drop_first=True, dtype=float).iloc[:, 0].to_numpy()
    got = cox_hr(d["time"].to_numpy(), d["event"].to_numpy(), x, None if strata is None else d[strata].to_numpy())
    want = [fit.hr.iloc[0], *fit.hr_ci.iloc[0]]
    assert np.allclose(got, want, rtol=1e-10, equal_nan=True), name


def test_cox_hr_without_events_or_with_ragged_input() -> None:
    assert np.isnan(cox_hr(np.array([1.0, 2.0]), np.array([0, 0]), np.array([0.0, 1.0]))).all()
    with pytest.raises(ValueError, match="expected arrays of one length, got 2, 2, 3"):
        cox_hr(np.array([1.0, 2.0]), np.array([1, 0]), np.array([0.0, 1.0, 1.0]))
