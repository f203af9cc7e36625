"""The published figures of a trial next to the same figures computed from its data.

:func:`published_figures` lists the protocol's ``published`` block as rows
(``figure``, ``arm``, ``published``); :func:`trial_figures` computes the same
figures from SDTM through the one analysis path of the report
(:func:`oncotrial.adam.adam_from_sdtm` ->
:func:`oncotrial.analysis.run_analysis` -> :func:`oncotrial.analysis.compare_published`)
and names its rows alike, so the two can be set side by side. Times are in the
published unit (months); percentages in percent.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from oncotrial.protocol import Protocol


def event_label(ev, kind: str | None = None) -> str:
    """How a published AE figure is named; ``kind`` "n" or "%" (default: as published, a percentage if given)."""
    g = f"grade {ev.grade}" if ev.grade is not None else f"grade >= {ev.min_grade}"
    kind = kind or ("n" if ev.count and not ev.percent else "%")
    return f"AE {ev.term} {g} ({kind})"


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


def _figure_names(protocol: Protocol) -> dict[tuple[str, str], str]:
    """(section, figure) of a :func:`compare_published` row -> the name :func:`published_figures` gives it."""
    from oncotrial.analysis.compare import BASELINE_LABELS, event_figure, stratum_figure

    pub = protocol.published
    names = {("Follow-up", "Median follow-up (reverse KM)"): "median follow-up (months)",
             ("Patients", "Randomized"): "randomized (n)"}
    for key, title in (("pfs", "PFS"), ("os", "OS"), ("dor", "DoR")):
        E = key.upper()
        names.update({(title, "Events"): f"{E} events (n)", (title, "Median"): f"{E} median (months)",
                      (title, "Median, lower 95% CI"): f"{E} median lower CI",
                      (title, "Median, upper 95% CI"): f"{E} median upper CI",
                      (title, "Hazard ratio"): f"{E} HR", (title, "Hazard ratio (stratified)"): f"{E} HR",
                      (title, "Hazard ratio, lower 95% CI"): f"{E} HR lower CI",
                      (title, "Hazard ratio, upper 95% CI"): f"{E} HR upper CI"})
        for sided in (1, 2):
            names[(title, f"Log-rank p ({sided}-sided)")] = f"{E} p ({sided}-sided)"
        r = getattr(pub, key)
        for lm in (r.landmarks if r is not None else ()):
            names[(title, f"Rate at {lm.time:g} {pub.time_unit}")] = f"{E} rate at {lm.time:g} months (%)"
    for title in ("ORR", "CBR"):
        names.update({(title, "Rate"): f"{title} (%)", (title, "Rate, lower 95% CI"): f"{title} lower CI",
                      (title, "Rate, upper 95% CI"): f"{title} upper CI"})
    names.update({("Safety", "Any adverse event"): "AE any grade (%)",
                  ("Safety", "Worst grade 3 adverse event"): "AE grade 3 (%)",
                  ("Safety", "Worst grade 4 adverse event"): "AE grade 4 (%)",
                  ("Safety", "Serious adverse event"): "Serious AE (%)",
                  ("Safety", "Treatment-related deaths"): "Treatment-related deaths (n)"})
    for ev in (pub.safety.events if pub.safety is not None else ()):
        names[("Safety", event_figure(ev))] = event_label(ev, "%")
        names[("Safety", event_figure(ev) + " (patients)")] = event_label(ev, "n")
    for dm in pub.dose_modifications:
        sec = f"Dose modifications ({dm.drug})"
        names.update({(sec, "Dose reduction"): f"{dm.drug} dose reduction (%)",
                      (sec, "Median time to first reduction"): f"{dm.drug} median time to first reduction (months)",
                      (sec, "Discontinued for an AE"): f"{dm.drug} discontinued for AE (%)"})
    names[("Baseline", "Median age (years)")] = "baseline age_median (years)"
    names.update({("Baseline", lab): f"baseline {fld} (%)" for fld, lab in BASELINE_LABELS.items()})
    for lv in (pub.baseline.strata if pub.baseline is not None else ()):
        names[("Baseline", stratum_figure(protocol, lv.factor, lv.level))] = \
            f"baseline {baseline_level_name(lv.factor, lv.level)} (%)"
    return names


def _r_rule_bounds(protocol: Protocol, adam: Mapping[str, pd.DataFrame], results) -> dict[tuple[str, str], float]:
    """KM median CI bounds by R survival's quantile rule, per (figure, arm): a cross-check the notes quote."""
    from oncotrial.analysis.survival import tte_frame
    from oncotrial.sim.km_target import km_stats

    out: dict[tuple[str, str], float] = {}
    for key in ("pfs", "os", "dor"):
        r, res = getattr(protocol.published, key), getattr(results, key)
        if r is None or res is None or not r.median_ci:
            continue
        d = tte_frame(adam["adsl"], adam["adtte"], protocol, res.paramcd)
        for a in r.median_ci:
            da = d[d["ARM"] == a]
            if len(da) == 0:
                continue
            st = km_stats(da["TIME"].to_numpy(), da["EVENT"].to_numpy().astype(bool), protocol.analysis.conf_level)
            out[(f"{key.upper()} median lower CI", a)] = st.lower
            out[(f"{key.upper()} median upper CI", a)] = st.upper
    return out


def trial_figures(protocol: Protocol, sdtm: Mapping[str, pd.DataFrame] | None = None,
                  adam: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Every figure of ``protocol.published`` computed from ``sdtm`` (or ``adam``): columns figure, arm, value, r_rule.

    The numbers are the report's: ADaM as ``oncotrial analyze`` derives it,
    :func:`~oncotrial.analysis.run_analysis`, then
    :func:`~oncotrial.analysis.compare_published`; only the figure names are
    :func:`published_figures`'. ``r_rule`` holds, for KM median CI bounds, the
    bound by R survival's quantile rule (NaN elsewhere). ``adam`` is keyed by
    lower-case dataset name, as :func:`run_analysis` takes it.

    Example
    -------
    >>> trial_figures(load_protocol("patina"), simulate_trial(load_protocol("patina"), 0).sdtm)  # doctest: +SKIP
    """
    from oncotrial.analysis import compare_published, run_analysis

    pub = protocol.published
    if pub is None:
        raise ValueError(f"{protocol.study.id}: the protocol has no published block")
    if (sdtm is None) == (adam is None):
        raise ValueError("trial_figures: give exactly one of sdtm (SDTM domains) or adam (ADaM datasets)")
    if adam is None:
        from oncotrial.adam import adam_from_sdtm

        adam = adam_from_sdtm(sdtm, protocol)
    results = run_analysis(adam, protocol)
    names = _figure_names(protocol)
    check = _r_rule_bounds(protocol, adam, results)
    rows = []
    for r in compare_published(results, pub, protocol).rows:
        name = names.get((r.section, r.figure))
        if name is None:
            raise ValueError(f"trial_figures: no figure name for the comparison row {r.section!r} / {r.figure!r}")
        rows.append((name, r.arm, float(r.reproduced), float(check.get((name, r.arm), np.nan))))
    return pd.DataFrame(rows, columns=["figure", "arm", "value", "r_rule"])
