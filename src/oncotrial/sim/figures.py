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


def published_figures(protocol: Protocol) -> pd.DataFrame:
    """The published block as rows: figure, arm, published (NaN for a bound given as NE), decimals."""
    from oncotrial.analysis.compare import baseline_level_name, event_label, published_comparisons

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
        for label, _, hr, hr_ci, p_value in published_comparisons(r, protocol):
            if hr is not None:
                add(f"{E} HR", label, hr)
            if hr_ci is not None:
                add(f"{E} HR lower CI", label, hr_ci[0])
                add(f"{E} HR upper CI", label, hr_ci[1])
            if p_value is not None:
                add(f"{E} p ({r.p_sided}-sided)", label, p_value)
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
    check = _r_rule_bounds(protocol, adam, results)
    rows = [(r.code, r.arm, float(r.reproduced), float(check.get((r.code, r.arm), np.nan)))
            for r in compare_published(results, pub, protocol).rows]
    return pd.DataFrame(rows, columns=["figure", "arm", "value", "r_rule"])
