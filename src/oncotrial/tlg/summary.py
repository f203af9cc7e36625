"""The written results summary: a paragraph in the style of a news report, every number from the results.

Wording that depends on a result (a reduction or an increase, significant or
not, "no" deaths or a count) is chosen from the result too; nothing is typed in.
"""

from __future__ import annotations

import math

from oncotrial.analysis.plan import LABELS
from oncotrial.analysis.results import TimeToEventAnalysis, TrialResults
from oncotrial.protocol import Protocol
from oncotrial.tlg.format import NE, num, p_text
from oncotrial.tlg.sections import reported
from oncotrial.tlg.tables import arm_columns

NUMBER_WORDS = {0: "No", 1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight",
                9: "Nine", 10: "Ten"}


def _ci(r: TrialResults, lo: float, hi: float, digits: int = 1, pct: bool = False) -> str:
    """"95% CI, 32.4-56.8" at the analysis' confidence level."""
    s = "%" if pct else ""
    lo_s = num(lo, digits) + (s if num(lo, digits) != NE else "")
    hi_s = num(hi, digits) + (s if num(hi, digits) != NE else "")
    return f"{100 * r.conf_level:g}% CI, {lo_s}-{hi_s}".replace("-NE", "-nonevaluable [NE]")


def _median(x: float, unit: str) -> str:
    """"44.3 months", or "not reached" for a median the curve never falls to."""
    return "not reached" if num(x) == NE else f"{num(x)} {unit}"


def _group(results: TrialResults, code: str) -> str:
    return f"the {results.arms[code].lower()} group"


def _short(res: TimeToEventAnalysis, abbreviation: str) -> str:
    """The endpoint in running text: its abbreviation under the standard name, else the protocol's name."""
    return abbreviation if res.label in ("", abbreviation, LABELS.get(abbreviation)) else res.label.lower()


def _pfs_paragraph(r: TrialResults, pfs: TimeToEventAnalysis, protocol: Protocol) -> str:
    e, c = r.experimental, r.control
    ae, ac = pfs.arm(e), pfs.arm(c)
    unit = r.unit
    two_sided_alpha = protocol.analysis.alpha * (2 if protocol.analysis.sided == 1 else 1)
    significant = math.isfinite(pfs.logrank_p) and pfs.logrank_p < two_sided_alpha
    direction = "reduction" if pfs.hr < 1 else "increase"
    qualifier = "significant " if significant else "non-significant "
    text = (f"At a median follow-up of {num(r.median_followup)} {unit}, patients in {_group(r, e)} experienced a "
            f"median {_short(pfs, 'PFS')} of {_median(ae.median, unit)} ({_ci(r, ae.median_lower, ae.median_upper)}) compared with "
            f"{_median(ac.median, unit)} ({_ci(r, ac.median_lower, ac.median_upper)}) in {_group(r, c)}. "
            f"This represented a {qualifier}{direction} in the hazard for disease progression or death "
            f"(HR, {num(pfs.hr, 2)}; {_ci(r, pfs.hr_lower, pfs.hr_upper, 2)}; 2-sided {p_text(pfs.logrank_p)}).")
    lms = ae.landmarks
    if lms:
        lm_e, lm_c = lms[0], ac.landmarks[0]
        text += (f" Estimated {_short(pfs, 'PFS')} rates at {lm_e.time:g} {unit} were {num(100 * lm_e.surv)}% for {_group(r, e)} "
                 f"and {num(100 * lm_c.surv)}% for {_group(r, c)}.")
    return text


def _secondary_paragraph(r: TrialResults) -> str:
    e, c = r.experimental, r.control
    parts = []
    if r.orr is not None:
        oe, oc = r.orr.arm(e), r.orr.arm(c)
        excl = "—excluding patients with a complete response to induction—" if "excluding" in r.orr.population else " "
        parts.append(f"The confirmed overall response rate (ORR){excl}was {num(100 * oe.rate)}% "
                     f"({_ci(r, 100 * oe.lower, 100 * oe.upper, pct=True)}) in {_group(r, e)} vs {num(100 * oc.rate)}% "
                     f"({_ci(r, 100 * oc.lower, 100 * oc.upper, pct=True)}) in {_group(r, c)}.")
    if r.dor is not None:
        de, dc = r.dor.arm(e), r.dor.arm(c)
        parts.append(f"The median duration of confirmed response was {_median(de.median, r.unit)} "
                     f"({_ci(r, de.median_lower, de.median_upper)}) with {r.arms[e].lower()} and "
                     f"{_median(dc.median, r.unit)} ({_ci(r, dc.median_lower, dc.median_upper)}) with {r.arms[c].lower()}.")
    if r.cbr is not None:
        ce, cc = r.cbr.arm(e), r.cbr.arm(c)
        parts.append(f"The clinical benefit rate was {num(100 * ce.rate)}% ({_ci(r, 100 * ce.lower, 100 * ce.upper, pct=True)}) "
                     f"among patients in {_group(r, e)} compared with {num(100 * cc.rate)}% "
                     f"({_ci(r, 100 * cc.lower, 100 * cc.upper, pct=True)}) for {_group(r, c)}.")
    if r.os is not None:
        oe, oc = r.os.arm(e), r.os.arm(c)
        parts.append(f"{'Overall survival (OS)' if r.os.label == LABELS['OS'] else r.os.label} data had {num(100 * r.os.maturity)}% maturity at the time of the analysis, "
                     f"with {oe.events} deaths in {_group(r, e)} and {oc.events} in {_group(r, c)} "
                     f"(HR, {num(r.os.hr, 2)}; {_ci(r, r.os.hr_lower, r.os.hr_upper, 2)}).")
    return " ".join(parts)


def _safety_paragraph(r: TrialResults, protocol: Protocol) -> str:
    s = r.safety
    e, c = r.experimental, r.control

    def pair(row) -> str:
        return f"{num(row.percent[e])}% vs {num(row.percent[c])}%"

    parts = [f"Adverse events (AEs) of any grade occurred in {num(s.row('any', '', 'any').percent[e])}% of "
             f"{_group(r, e)} and {num(s.row('any', '', 'any').percent[c])}% of {_group(r, c)}."]
    if s.graded:
        parts.append(f"Grade 3 AEs (as the worst grade) occurred in {pair(s.row('any', '', '3'))} and grade 4 AEs in "
                     f"{pair(s.row('any', '', '4'))}.")
    events = protocol.published.safety.events if protocol.published and protocol.published.safety else []
    by = {(x.term.upper(), x.grade): x for x in s.by_term}
    for ev in events:
        grade = str(ev.grade) if ev.grade is not None else f">={ev.min_grade}"
        names = {ev.term.upper(), ev.term.upper().replace("OE", "E")}
        row = next((by[k] for k in by if k[0] in names and k[1] == grade), None)
        if row is None:
            continue
        gtext = f"grade {ev.grade}" if ev.grade is not None else f"grade {ev.min_grade} or higher"
        if ev.count and not ev.percent:
            k = row.count[e]
            parts.append(f"{NUMBER_WORDS.get(k, str(k))} patient{'s' if k != 1 else ''} in {_group(r, e)} and "
                         f"{row.count[c]} in {_group(r, c)} experienced {gtext} {ev.term.lower()}.")
        else:
            parts.append(f"{gtext.capitalize()} {ev.term.lower()} occurred in {pair(row)}.")
    for m in s.dose_modifications:
        parts.append(f"{m.drug.capitalize()} dose reductions occurred in {num(m.reduction_percent)}% of patients, with a "
                     f"median time to first reduction of {num(m.median_time_to_first_reduction)} {r.unit}. AEs led to "
                     f"the discontinuation of {m.drug} in {num(m.discontinuation_percent)}% of patients.")
    try:
        parts.append(f"Serious AEs occurred in {num(s.row('serious', '', 'any').percent[e])}% of those in {_group(r, e)} "
                     f"compared with {num(s.row('serious', '', 'any').percent[c])}% in {_group(r, c)}.")
    except KeyError:
        pass
    deaths = sum(s.treatment_related_deaths.values())
    parts.append("No treatment-related deaths were reported." if deaths == 0 else
                 f"{NUMBER_WORDS.get(deaths, str(deaths))} treatment-related death{'s were' if deaths != 1 else ' was'} "
                 f"reported ({s.treatment_related_deaths[e]} in {_group(r, e)}, {s.treatment_related_deaths[c]} in "
                 f"{_group(r, c)}).")
    return " ".join(parts)


def _arms_list(items: list[str]) -> str:
    """"a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _lower(label: str) -> str:
    """A label in running text: lower case, but acronyms (5-FU, HER2) kept."""
    return " ".join(w if sum(ch.isupper() for ch in w) > 1 else w.lower() for w in label.split(" "))


def _group_k(r: TrialResults, code: str) -> str:
    return f"the {_lower(r.arms[code])} group"


def _versus(r: TrialResults, experimental: str) -> str:
    return f"{r.arms[experimental]} vs {_lower(r.arms[r.control])}"


def _hazard_sentence(r: TrialResults, res: TimeToEventAnalysis) -> str:
    """Each comparison's HR and log-rank p: "X vs control: HR, 0.66 (95% CI, ...); 2-sided P = ...; ..."."""
    return "; ".join(f"{_versus(r, h.experimental)}: HR, {num(h.hr, 2)} ({_ci(r, h.hr_lower, h.hr_upper, 2)}), "
                     f"2-sided {p_text(h.logrank_p)}" for h in res.comparisons)


def _tte_paragraph_k(r: TrialResults, res: TimeToEventAnalysis, *, followup: bool) -> str:
    """A time-to-event endpoint of a trial of three or more arms: each arm's median, then each comparison."""
    unit = r.unit
    medians = [f"{_median(res.arm(c).median, unit)} ({_ci(r, res.arm(c).median_lower, res.arm(c).median_upper)}) "
               f"in {_group_k(r, c)}" for c in arm_columns(r)]
    lead = f"At a median follow-up of {num(r.median_followup)} {unit}, the" if followup else "The"
    text = (f"{lead} median {res.label.lower()} was {_arms_list(medians)}, with "
            f"{_arms_list([f'{res.arm(c).events} events in {_group_k(r, c)}' for c in arm_columns(r)])} "
            f"({num(100 * res.maturity)}% maturity). Hazard ratios against {_group_k(r, r.control)} "
            f"({'stratified ' if res.hr_stratified else ''}Cox): {_hazard_sentence(r, res)}.")
    lms = res.arm(arm_columns(r)[0]).landmarks
    if lms:
        rates = [f"{num(100 * res.arm(c).landmarks[0].surv)}% for {_group_k(r, c)}" for c in arm_columns(r)]
        text += f" Estimated {res.label.lower()} rates at {lms[0].time:g} {unit} were {_arms_list(rates)}."
    return text


def _binary_sentence_k(r: TrialResults, res) -> str:
    rates = [f"{num(100 * res.arm(c).rate)}% ({_ci(r, 100 * res.arm(c).lower, 100 * res.arm(c).upper, pct=True)}) "
             f"in {_group_k(r, c)}" for c in arm_columns(r)]
    diffs = "; ".join(f"{_versus(r, d.experimental)}: {num(100 * d.difference)} percentage points "
                      f"({_ci(r, 100 * d.difference_lower, 100 * d.difference_upper)})" for d in res.comparisons)
    return f"The {res.label.lower()} ({res.population}) was {_arms_list(rates)}. Differences: {diffs}."


def _safety_paragraph_k(r: TrialResults) -> str:
    s = r.safety

    def per_arm(row) -> str:
        return _arms_list([f"{num(row.percent.get(c, float('nan')))}% of {_group_k(r, c)}" for c in arm_columns(r)])

    parts = [f"Adverse events (AEs) of any grade occurred in {per_arm(s.row('any', '', 'any'))}."]
    if s.graded:
        for g in ("3", "4"):
            try:
                parts.append(f"Grade {g} AEs (as the worst grade) occurred in {per_arm(s.row('any', '', g))}.")
            except KeyError:
                pass
    try:
        parts.append(f"Serious AEs occurred in {per_arm(s.row('serious', '', 'any'))}.")
    except KeyError:
        pass
    deaths = sum(s.treatment_related_deaths.values())
    parts.append("No treatment-related deaths were reported." if deaths == 0 else
                 f"{NUMBER_WORDS.get(deaths, str(deaths))} treatment-related death{'s were' if deaths != 1 else ' was'} "
                 f"reported (" + _arms_list([f"{s.treatment_related_deaths.get(c, 0)} in {_group_k(r, c)}"
                                            for c in arm_columns(r)]) + ").")
    return " ".join(parts)


def _summary_k(r: TrialResults, protocol: Protocol) -> str:
    """The results section of a trial of three or more arms: every arm, then each comparison with the
    control (there is no one "experimental arm")."""
    n = sum(r.n_randomized.values())
    paras = [f"## {protocol.study.id} results\n\n"
             f"The trial randomly assigned {n} patients: "
             + _arms_list([f"{r.n_randomized[c]} to {_group_k(r, c)}" for c in arm_columns(r)]) + "."]
    if r.pfs is not None:
        paras.append(_tte_paragraph_k(r, r.pfs, followup=True))
    sec = []
    if r.orr is not None:
        sec.append(_binary_sentence_k(r, r.orr))
    if r.dor is not None:
        sec.append(_tte_paragraph_k(r, r.dor, followup=False))
    if r.cbr is not None:
        sec.append(_binary_sentence_k(r, r.cbr))
    if r.os is not None:
        sec.append(_tte_paragraph_k(r, r.os, followup=False))
    if sec:
        paras.append(" ".join(sec))
    if r.safety is not None:
        paras.append("### Safety\n\n" + _safety_paragraph_k(r))
    return "\n\n".join(paras) + "\n"


def results_summary(results: TrialResults, protocol: Protocol) -> str:
    """A Markdown results section (efficacy then safety) written from ``results``.

    With three or more arms every arm's figures are given and each experimental arm is
    compared with the control in turn. Sections the results do not hold (no response, no
    safety data) are left out.

    Example
    -------
    >>> print(results_summary(results, load_protocol("patina")))   # doctest: +SKIP
    """
    r = reported(results, protocol)
    if len(arm_columns(r)) > 2:
        return _summary_k(r, protocol)
    n = sum(r.n_randomized.values())
    head = (f"## {protocol.study.id} results\n\n"
            f"The trial randomly assigned {n} patients: {r.n_randomized[r.experimental]} to {_group(r, r.experimental)} "
            f"and {r.n_randomized[r.control]} to {_group(r, r.control)}.")
    paras = [head]
    if r.pfs is not None:
        paras.append(_pfs_paragraph(r, r.pfs, protocol))
    sec = _secondary_paragraph(r)
    if sec:
        paras.append(sec)
    if r.safety is not None:
        paras.append("### Safety\n\n" + _safety_paragraph(r, protocol))
    return "\n\n".join(paras) + "\n"
