"""Time-to-event endpoints (PFS, OS, DoR): Kaplan-Meier per arm, Cox hazard ratio, log-rank test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from oncotrial.analysis._frames import (DAYS_PER_UNIT, arm_of, arm_order, days_to_unit, headline_pair,
                                         require_columns, one_per_subject, strata_columns)
from oncotrial.analysis.results import ArmTimeToEvent, HazardComparison, Landmark, TimeToEventAnalysis
from oncotrial.protocol import DAYS_PER_MONTH, Protocol
from oncotrial.stats import cox, km, logrank

NAN = float("nan")


def tte_frame(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Protocol, paramcd: str, *,
              strata: Sequence[str] = ()) -> pd.DataFrame:
    """One row per subject with an ``paramcd`` record: USUBJID, ARM, TIME (protocol unit), EVENT, strata columns.

    AVAL is taken to be in days, as ADaM time-to-event parameters are; CNSR = 0 is an event.
    """
    require_columns(adtte, "ADTTE", ["USUBJID", "PARAMCD", "AVAL", "CNSR"])
    arms = arm_of(adsl, protocol)
    d, ids = one_per_subject(adtte, "ADTTE", paramcd)
    aval = pd.to_numeric(d["AVAL"], errors="coerce").to_numpy(dtype=float)
    cnsr = pd.to_numeric(d["CNSR"], errors="coerce").to_numpy(dtype=float)
    for name, v, ok in (("AVAL", aval, np.isfinite(aval) & (aval >= 0)),
                        ("CNSR", cnsr, np.isfinite(cnsr) & (cnsr >= 0) & (cnsr == np.round(cnsr)))):
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            want = "a number of days >= 0" if name == "AVAL" else "an integer >= 0 (0 = event)"
            raise ValueError(f"ADTTE: {paramcd} row for USUBJID {ids.iloc[i]!r} has {name} {str(d[name].iloc[i])!r}; "
                             f"expected {want}")
    known = ids.isin(arms.index)
    out = pd.DataFrame({"USUBJID": ids.to_numpy(), "AVAL": aval, "CNSR": cnsr})[known.to_numpy()]
    out["ARM"] = arms.reindex(out["USUBJID"]).to_numpy()
    out["TIME"] = days_to_unit(out["AVAL"].to_numpy(), protocol.analysis.time_unit)
    out["EVENT"] = (out["CNSR"] == 0).astype(int)
    if strata:
        cols = strata_columns(adsl, protocol, strata)
        sl = adsl.assign(USUBJID=adsl["USUBJID"].astype(str)).set_index("USUBJID")
        for name, col in cols.items():
            vals = sl[col].reindex(out["USUBJID"])
            if vals.isna().any():
                bad = vals.index[vals.isna().to_numpy()][0]
                raise ValueError(f"ADSL: {col} ({name}) is missing for USUBJID {bad!r}; the stratified analysis needs it")
            out[name] = vals.astype(str).to_numpy()
    return out.reset_index(drop=True)


def landmark_times(protocol: Protocol) -> list[float]:
    """The protocol's landmark months expressed in its time unit."""
    per = DAYS_PER_MONTH / DAYS_PER_UNIT[protocol.analysis.time_unit]
    return [m * per for m in protocol.analysis.landmark_months]


def hazard_ratio(frame: pd.DataFrame, experimental: str, strata: Sequence[str], *, conf_level: float,
                 ties: str) -> tuple[float, float, float]:
    """Cox hazard ratio (experimental vs control) and its Wald CI; NaN when not estimable."""
    data = pd.DataFrame({"TIME": frame["TIME"].to_numpy(), "EVENT": frame["EVENT"].to_numpy(),
                         "TRT": (frame["ARM"] == experimental).astype(float).to_numpy()})
    for s in strata:
        data[s] = frame[s].to_numpy()
    if data["EVENT"].sum() == 0 or data["TRT"].nunique() < 2:
        return NAN, NAN, NAN
    fit = cox(data, time="TIME", event="EVENT", covariates=["TRT"], strata=list(strata) or None, ties=ties,
              conf_level=conf_level)
    return float(fit.hr["TRT"]), float(fit.hr_ci.loc["TRT", "lower"]), float(fit.hr_ci.loc["TRT", "upper"])


def pair_rows(frame: pd.DataFrame, experimental: str, control: str) -> pd.DataFrame:
    """The rows of ``frame`` (ARM column) in one comparison: the frame itself when every row is
    (two arms: copying it cost ~7 ms per endpoint, measured), else a fresh 0..n-1 indexed subset."""
    in_pair = frame["ARM"].isin([experimental, control]).to_numpy()
    return frame if in_pair.all() else frame[in_pair].reset_index(drop=True)


def compare_arms(frame: pd.DataFrame, protocol: Protocol, experimental: str, control: str,
                 strata: Sequence[str]) -> HazardComparison:
    """Cox HR (stratified per the plan) and log-rank test of ``experimental`` vs ``control``.

    Only the two arms' rows of ``frame`` (from :func:`tte_frame`) enter, so with three
    or more arms each comparison is pairwise.
    """
    a = protocol.analysis
    pair = pair_rows(frame, experimental, control)
    hr_strata = tuple(strata) if a.hr_model == "stratified_cox" else ()
    hr, lo, hi = hazard_ratio(pair, experimental, hr_strata, conf_level=a.conf_level, ties=a.ties)
    lr_strata = tuple(strata) if a.primary_test == "stratified_logrank" else ()
    chisq = p = z = NAN
    if pair["ARM"].nunique() == 2:
        s = pair[list(lr_strata)].astype(str).agg("|".join, axis=1).to_numpy() if lr_strata else None
        lr = logrank(pair["TIME"].to_numpy(), pair["EVENT"].to_numpy(), pair["ARM"].to_numpy(), strata=s)
        chisq, p, z = float(lr.chisq), float(lr.p_value), lr.z(experimental)
    return HazardComparison(experimental=experimental, control=control, hr=hr, hr_lower=lo, hr_upper=hi,
                            hr_stratified=bool(hr_strata), logrank_chisq=chisq, logrank_p=p, logrank_z=z,
                            logrank_stratified=bool(lr_strata), n=int(len(pair)), events=int(pair["EVENT"].sum()))


def analyze_time_to_event(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Protocol, paramcd: str, *,
                          label: str = "", stratified: bool = True,
                          landmarks: Sequence[float] | None = None) -> TimeToEventAnalysis:
    """Analyse one ADTTE parameter per the protocol's plan.

    Per arm: Kaplan-Meier median with its CI (``analysis.km_conf_type``) and the
    rate at each landmark. Between arms, per ``protocol.comparisons`` pair: the Cox
    hazard ratio (experimental vs control; stratified by ``analysis.stratify_by``
    when ``hr_model`` is ``stratified_cox`` and ``stratified``) and the two-sided
    log-rank p (stratified likewise when ``primary_test`` is ``stratified_logrank``).
    With three or more arms each comparison is fitted on the patients of its two
    arms only (pairwise, as multi-arm trial reports do), the arms are listed in
    protocol order, and the top-level hr/logrank fields are NaN (read
    ``res.comparison(code)``); with two arms they equal ``comparisons[0]``.

    Example
    -------
    >>> res = analyze_time_to_event(adsl, adtte, load_protocol("patina"), "PFS")  # doctest: +SKIP
    >>> res.arm("A").median, res.hr                                                # doctest: +SKIP
    >>> res.comparison("A").logrank_p == res.logrank_p                             # doctest: +SKIP
    """
    a = protocol.analysis
    pairs = protocol.comparisons
    two_arms = len(protocol.arms) == 2
    experimental, control = headline_pair(protocol)
    order = arm_order(protocol)
    strata = tuple(a.stratify_by) if stratified else ()
    frame = tte_frame(adsl, adtte, protocol, paramcd, strata=strata)
    times = list(landmark_times(protocol) if landmarks is None else landmarks)
    arms, curves = [], {}
    for code in order:
        sub = frame[frame["ARM"] == code]
        if sub.empty:
            arms.append(ArmTimeToEvent(code, 0, 0, NAN, NAN, NAN, tuple(Landmark(t, NAN, NAN, NAN, 0) for t in times)))
            continue
        fit = km(sub["TIME"].to_numpy(), sub["EVENT"].to_numpy(), conf_level=a.conf_level, conf_type=a.km_conf_type)
        lms = ()
        if times:
            at = fit.survival_at(times)
            lms = tuple(Landmark(float(t), float(r.surv), float(r.lower), float(r.upper), int(r.n_risk))
                        for t, r in zip(times, at.itertuples()))
        arms.append(ArmTimeToEvent(code, int(len(sub)), int(sub["EVENT"].sum()), float(fit.median),
                                   float(fit.median_ci[0]), float(fit.median_ci[1]), lms))
        curves[code] = fit.table.copy()
    comparisons = tuple(compare_arms(frame, protocol, e, c, strata) for e, c in pairs)
    # With k arms no single comparison is "the" one: NaN rather than a pick among them.
    top = comparisons[0] if two_arms else None
    n, ev = int(len(frame)), int(frame["EVENT"].sum())
    return TimeToEventAnalysis(
        paramcd=paramcd, label=label or paramcd, unit=a.time_unit, conf_level=a.conf_level,
        experimental=experimental, control=control, arms=tuple(arms),
        hr=top.hr if top else NAN, hr_lower=top.hr_lower if top else NAN, hr_upper=top.hr_upper if top else NAN,
        hr_stratified=comparisons[0].hr_stratified, logrank_chisq=top.logrank_chisq if top else NAN,
        logrank_p=top.logrank_p if top else NAN, logrank_stratified=comparisons[0].logrank_stratified,
        strata=tuple(strata), n=n, events=ev, maturity=ev / n if n else NAN,
        logrank_z=top.logrank_z if top else NAN, curves=curves, comparisons=comparisons)
