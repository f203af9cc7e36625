"""The published figures of a trial, computed from its SDTM through oncotrial.adam and oncotrial.stats.

:func:`trial_figures` derives ADSL, ADRS, ADTTE and ADAE-style subject counts from
SDTM frames and returns one row per figure (``figure``, ``arm``, ``value``), named
as :func:`published_figures` names the published ones, so the two can be set side
by side. Times are in months (AVAL days / DAYS_PER_MONTH); percentages in percent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.protocol import DAYS_PER_MONTH, Protocol

TERM_SUFFIX = "safety.event"


def _experimental(protocol: Protocol) -> tuple[str, str]:
    """(experimental arm, control arm) codes of a two-arm comparison."""
    exp = [a.code for a in protocol.arms if a.experimental] or [protocol.arm_codes[0]]
    ctl = [a for a in protocol.arm_codes if a != exp[0]]
    return exp[0], ctl[0]


def event_label(ev) -> str:
    g = f"grade {ev.grade}" if ev.grade is not None else f"grade >= {ev.min_grade}"
    kind = "n" if ev.count and not ev.percent else "%"
    return f"AE {ev.term} {g} ({kind})"


def baseline_targets(protocol: Protocol) -> dict[str, tuple[str, object]]:
    """Published baseline figure name -> (how to compute, what): ("age",), ("sex", "F"), ("supp", QNAM/value), ("strat", column/level)."""
    pub = protocol.published
    out: dict[str, tuple[str, object]] = {}
    if pub is None or pub.baseline is None:
        return out
    direct = {"age_median": ("age", None), "female": ("sex", "F"), "postmenopausal": ("supp", ("MENOSTAT", "POST")),
              "de_novo": ("supp", ("DENOVO", "Y")), "visceral": ("supp", ("VISCMET", "Y")),
              "cns_metastases": ("supp", ("CNSMET", "Y"))}
    for name in pub.baseline.characteristics():
        out[name] = direct[name]
    columns = {f.name: f"STRAT{w}R" for w, f in enumerate(protocol.stratification_factors, start=1)}  # ADSL
    for lv in pub.baseline.strata:
        out[baseline_level_name(lv.factor, lv.level)] = ("strat", (columns[lv.factor], lv.level))
    return out


def baseline_level_name(factor: str, level: str) -> str:
    """How a published stratum share is named in the comparison table."""
    return f"{factor}={level}"


def published_figures(protocol: Protocol) -> pd.DataFrame:
    """The published block as rows: figure, arm, published (NaN for a bound given as NE), decimals."""
    pub = protocol.published
    if pub is None:
        raise ValueError(f"{protocol.study.id}: the protocol has no published block to compare with")
    rows: list[tuple[str, str, float]] = []

    def add(fig: str, arm: str, v) -> None:
        rows.append((fig, arm, float(v) if v is not None else np.nan))

    for a, v in pub.n_randomized.items():
        add("randomized (n)", a, v)
    if pub.median_followup:
        add("median follow-up (months)", "", pub.median_followup)
    for ep in ("pfs", "os", "dor"):
        r = getattr(pub, ep)
        if r is None:
            continue
        E = ep.upper()
        for a, v in r.median.items():
            add(f"{E} median (months)", a, v)
        for a, (lo, hi) in r.median_ci.items():
            add(f"{E} median lower CI", a, lo)
            add(f"{E} median upper CI", a, hi)
        for a, v in r.events.items():
            add(f"{E} events (n)", a, v)
        if r.hr is not None:
            add(f"{E} HR", "", r.hr)
        if r.hr_ci is not None:
            add(f"{E} HR lower CI", "", r.hr_ci[0])
            add(f"{E} HR upper CI", "", r.hr_ci[1])
        if r.p_value is not None:
            add(f"{E} p ({r.p_sided}-sided)", "", r.p_value)
        for lm in r.landmarks:
            for a, v in lm.rate.items():
                add(f"{E} rate at {lm.time:g} months (%)", a, v)
    for ep in ("orr", "cbr"):
        r = getattr(pub, ep)
        if r is None:
            continue
        for a, v in r.rate.items():
            add(f"{ep.upper()} (%)", a, v)
        for a, (lo, hi) in r.ci.items():
            add(f"{ep.upper()} lower CI", a, lo)
            add(f"{ep.upper()} upper CI", a, hi)
    if pub.safety is not None:
        s = pub.safety
        for fld, lab in (("any_grade", "AE any grade (%)"), ("grade3", "AE grade 3 (%)"), ("grade4", "AE grade 4 (%)"),
                         ("serious", "Serious AE (%)"), ("treatment_related_deaths", "Treatment-related deaths (n)")):
            for a, v in getattr(s, fld).items():
                add(lab, a, v)
        for ev in s.events:
            for a, v in (ev.percent or ev.count).items():
                add(event_label(ev), a, v)
    for dm in pub.dose_modifications:
        if dm.reduction is not None:
            add(f"{dm.drug} dose reduction (%)", dm.arm, dm.reduction)
        if dm.median_time_to_first_reduction is not None:
            add(f"{dm.drug} median time to first reduction (months)", dm.arm, dm.median_time_to_first_reduction)
        if dm.discontinuation_for_ae is not None:
            add(f"{dm.drug} discontinued for AE (%)", dm.arm, dm.discontinuation_for_ae)
    if pub.baseline is not None:
        for name, v in pub.baseline.characteristics().items():
            add(f"baseline {name}" + (" (years)" if name == "age_median" else " (%)"), "", v)
        for lv in pub.baseline.strata:
            add(f"baseline {baseline_level_name(lv.factor, lv.level)} (%)", "", lv.percent)
    return pd.DataFrame(rows, columns=["figure", "arm", "published"])


def derive_adam(protocol: Protocol, sdtm: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """ADSL, ADRS and ADTTE from SDTM frames, with the protocol's schedule settings."""
    from oncotrial.adam.adrs import adrs
    from oncotrial.adam.adsl import adsl
    from oncotrial.adam.adtte import adtte

    s = {k.upper(): v for k, v in sdtm.items()}
    sl = adsl(s["DM"], ds=s.get("DS"), ex=s.get("EX"), ae=s.get("AE"), sv=s.get("SV"), rs=s.get("RS"),
              suppdm=s.get("SUPPDM"), cm=s.get("CM"))
    sch = protocol.schedule
    rs = adrs(sl, s["RS"], confirmation_min_days=int(round(sch.confirmation_min_weeks * 7)),
              sd_min_days=int(round(sch.sd_min_weeks * 7)), cbr_min_days=int(round(sch.cbr_min_sd_weeks * 7)))
    reducible = [d.drug.upper() for a in protocol.arms for d in a.regimen if len(d.dose_levels) > 1]
    tte = adtte(sl, rs, dataset_ex=s.get("EX"), extrt=reducible[0] if reducible else None,
                assessment_interval_days=sch.interval_weeks * 7, window_days=sch.window_days,
                max_missed=sch.missed_assessments_for_censoring)
    return {"ADSL": sl, "ADRS": rs, "ADTTE": tte}


def _pct(k: float, n: float) -> float:
    return 100.0 * k / n if n else np.nan


def trial_figures(protocol: Protocol, sdtm: dict[str, pd.DataFrame], adam: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Every figure of ``protocol.published``, computed from ``sdtm``: columns figure, arm, value."""
    from oncotrial.stats import cox, km, logrank, median_followup

    pub = protocol.published
    if pub is None:
        raise ValueError(f"{protocol.study.id}: the protocol has no published block")
    adam = adam or derive_adam(protocol, sdtm)
    sl, rs, tte = adam["ADSL"], adam["ADRS"], adam["ADTTE"]
    exp, ctl = _experimental(protocol)
    arms = protocol.arm_codes
    strata_cols = [f"STRAT{w}R" for w, f in enumerate(protocol.stratification_factors, start=1)
                   if f.name in protocol.analysis.stratify_by]
    rows: list[tuple[str, str, float, float]] = []

    def add(fig: str, arm: str, v, check: float = np.nan) -> None:
        rows.append((fig, arm, float(v), float(check)))

    for a in arms:
        add("randomized (n)", a, (sl["ARMCD"] == a).sum())
    if pub.median_followup:
        # reverse Kaplan-Meier of overall survival: follow-up for death, the trial's whole follow-up
        os_ = tte[tte["PARAMCD"] == "OS"]
        add("median follow-up (months)", "", median_followup(os_["AVAL"] / DAYS_PER_MONTH, (os_["CNSR"] == 0).astype(int)).median)

    orr_pop = sl
    if pub.orr is not None and "excluding" in pub.orr.population.lower() and "INDRESP" in sl.columns:
        orr_pop = sl[sl["INDRESP"] != "CR"]

    def tte_block(ep: str, r) -> None:
        d = tte[tte["PARAMCD"] == ep].copy()

        d["T"] = d["AVAL"] / DAYS_PER_MONTH
        d["E"] = (d["CNSR"] == 0).astype(int)
        d["TRT"] = (d["ARMCD"] == exp).astype(float)
        for a in arms:
            da = d[d["ARMCD"] == a]
            if len(da) == 0:
                continue
            f = km(da["T"], da["E"], conf_level=protocol.analysis.conf_level, conf_type=protocol.analysis.km_conf_type)
            if a in r.median:
                add(f"{ep} median (months)", a, f.median)
            if a in r.median_ci:
                # the same bounds by R survival's quantile rule, as a cross-check shown in the notes
                from oncotrial.sim.km_target import km_stats
                rr = km_stats(da["T"].to_numpy(), da["E"].to_numpy().astype(bool), protocol.analysis.conf_level)
                add(f"{ep} median lower CI", a, f.median_ci[0], rr.lower)
                add(f"{ep} median upper CI", a, f.median_ci[1], rr.upper)
            if a in r.events:
                add(f"{ep} events (n)", a, da["E"].sum())
            for lm in r.landmarks:
                if a in lm.rate:
                    add(f"{ep} rate at {lm.time:g} months (%)", a, 100 * float(f.survival_at([lm.time])["surv"].iloc[0]))
        d2 = d[d["ARMCD"].isin([exp, ctl])]
        if r.hr is not None or r.hr_ci is not None:
            fit = cox(d2, time="T", event="E", covariates=["TRT"], strata=strata_cols if r.hr_stratified and strata_cols else None,
                      ties=protocol.analysis.ties, conf_level=protocol.analysis.conf_level)
            add(f"{ep} HR", "", fit.hr.iloc[0])
            add(f"{ep} HR lower CI", "", fit.hr_ci.iloc[0, 0])
            add(f"{ep} HR upper CI", "", fit.hr_ci.iloc[0, 1])
        if r.p_value is not None:
            lr = logrank(d2["T"], d2["E"], d2["TRT"],
                         strata=d2[strata_cols].astype(str).agg("|".join, axis=1) if r.p_stratified and strata_cols else None)
            p = lr.p_value
            if r.p_sided == 1:
                # one-sided in favour of the experimental arm
                z = np.sqrt(lr.chisq) * (1 if _observed_minus_expected(d2) < 0 else -1)
                from scipy.stats import norm
                p = float(norm.sf(z))
            add(f"{ep} p ({r.p_sided}-sided)", "", p)

    for ep in ("pfs", "os", "dor"):
        r = getattr(pub, ep)
        if r is not None:
            tte_block(ep.upper(), r)

    def binom(k: int, n: int) -> tuple[float, float]:
        from oncotrial.stats import clopper_pearson, wilson

        f = clopper_pearson if protocol.analysis.binomial_ci == "clopper-pearson" else wilson
        res = f(int(k), int(n), conf_level=protocol.analysis.conf_level)
        return float(res.lower), float(res.upper)

    for ep, param in (("orr", "CRSP"), ("cbr", "CBR")):
        r = getattr(pub, ep)
        if r is None:
            continue
        pop = orr_pop if ep == "orr" else sl
        flag = rs[(rs["PARAMCD"] == param)].set_index("USUBJID")["AVALC"]
        for a in arms:
            ids = pop.loc[pop["ARMCD"] == a, "USUBJID"]
            k = int((ids.map(flag) == "Y").sum())
            n = len(ids)
            add(f"{ep.upper()} (%)", a, _pct(k, n))
            if a in r.ci:
                lo, hi = binom(k, n)
                add(f"{ep.upper()} lower CI", a, 100 * lo)
                add(f"{ep.upper()} upper CI", a, 100 * hi)

    if pub.safety is not None or pub.dose_modifications:
        ae = sdtm["AE"].copy()
        saf = sl[sl["SAFFL"] == "Y"]
        arm_of = saf.set_index("USUBJID")["ACTARMCD"]
        ae = ae[ae["USUBJID"].isin(arm_of.index)]
        ae["ARM_"] = ae["USUBJID"].map(arm_of)
        ae["G"] = pd.to_numeric(ae["AETOXGR"], errors="coerce")
        worst = ae.groupby("USUBJID")["G"].max()
        s = pub.safety
        if s is not None:
            for a in arms:
                ids = saf.loc[saf["ACTARMCD"] == a, "USUBJID"]
                w = ids.map(worst)
                n = len(ids)
                if a in s.any_grade:
                    add("AE any grade (%)", a, _pct(w.notna().sum(), n))
                if a in s.grade3:
                    add("AE grade 3 (%)", a, _pct((w == 3).sum(), n))
                if a in s.grade4:
                    add("AE grade 4 (%)", a, _pct((w == 4).sum(), n))
                if a in s.serious:
                    add("Serious AE (%)", a, _pct(ae.loc[(ae["ARM_"] == a) & (ae["AESER"] == "Y"), "USUBJID"].nunique(), n))
                if a in s.treatment_related_deaths:
                    add("Treatment-related deaths (n)", a,
                        ae.loc[(ae["ARM_"] == a) & (ae["G"] == 5) & (ae["AEREL"] == "Y"), "USUBJID"].nunique())
            for ev in s.events:
                sub = ae[ae["AEDECOD"].str.lower() == ev.term.lower()]
                wt = sub.groupby("USUBJID")["G"].max()
                for a in (ev.percent or ev.count):
                    ids = saf.loc[saf["ACTARMCD"] == a, "USUBJID"]
                    g = ids.map(wt)
                    k = int((g == ev.grade).sum()) if ev.grade is not None else int((g >= ev.min_grade).sum())
                    add(event_label(ev), a, k if (ev.count and not ev.percent) else _pct(k, len(ids)))
        for dm in pub.dose_modifications:
            ids = saf.loc[saf["ACTARMCD"] == dm.arm, "USUBJID"]
            n = len(ids)
            ttdr = tte[(tte["PARAMCD"] == "TTDR") & tte["USUBJID"].isin(ids)]
            if dm.reduction is not None:
                add(f"{dm.drug} dose reduction (%)", dm.arm, _pct((ttdr["CNSR"] == 0).sum(), n))
            if dm.median_time_to_first_reduction is not None:
                add(f"{dm.drug} median time to first reduction (months)", dm.arm,
                    float(np.median(ttdr.loc[ttdr["CNSR"] == 0, "AVAL"])) / DAYS_PER_MONTH if (ttdr["CNSR"] == 0).any() else np.nan)
            if dm.discontinuation_for_ae is not None:
                k = ae.loc[(ae["ARM_"] == dm.arm) & (ae["AEACN"] == "DRUG WITHDRAWN"), "USUBJID"].nunique()
                add(f"{dm.drug} discontinued for AE (%)", dm.arm, _pct(k, n))

    for name, (kind, what) in baseline_targets(protocol).items():
        lab = f"baseline {name}" + (" (years)" if name == "age_median" else " (%)")
        if kind == "age":
            add(lab, "", float(np.median(sl["AGE"].astype(float))))
        elif kind == "sex":
            add(lab, "", _pct((sl["SEX"] == what).sum(), len(sl)))
        else:
            col, val = what
            add(lab, "", _pct((sl[col].astype(str) == val).sum(), len(sl)) if col in sl.columns else np.nan)
    return pd.DataFrame(rows, columns=["figure", "arm", "value", "r_rule"])


def _observed_minus_expected(d: pd.DataFrame) -> float:
    """O - E of events in the experimental group (TRT == 1), unstratified log-rank."""
    t = d["T"].to_numpy()
    e = d["E"].to_numpy()
    g = d["TRT"].to_numpy()
    o_minus_e = 0.0
    for tt in np.unique(t[e == 1]):
        at = t >= tt
        n = at.sum()
        n1 = (at & (g == 1)).sum()
        dd = ((t == tt) & (e == 1)).sum()
        d1 = ((t == tt) & (e == 1) & (g == 1)).sum()
        o_minus_e += d1 - dd * n1 / n
    return o_minus_e
