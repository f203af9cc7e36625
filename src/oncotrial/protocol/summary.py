"""A readable, plain-text summary of a protocol (what `oncotrial protocol show` prints)."""

from __future__ import annotations

import math

from oncotrial.protocol.models import Drug, Protocol, Published


def _num(x: float) -> str:
    return "NE" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"


def _drug_line(d: Drug) -> str:
    schedule = f"days 1-{d.days_on} of {d.cycle_length_days}" if d.days_off else f"continuous, {d.cycle_length_days}-day cycles"
    if d.days_on == 1:
        schedule = f"day 1 every {d.cycle_length_days} days"
    text = f"{d.drug} {_num(d.dose)} {d.unit} {d.route}, {d.frequency}, {schedule}"
    if d.options:
        text += f" ({' / '.join(d.options)})"
    if d.dose_levels:
        text += f"; dose levels {' -> '.join(_num(x) for x in d.dose_levels)} {d.unit}"
        if d.min_dose is not None:
            text += f", stop below {_num(d.min_dose)}"
    if d.optional:
        text += "; optional"
    return text


def _published_lines(pub: Published, arms: list[str]) -> list[str]:
    u = pub.time_unit
    lines = [f"Published ({pub.label or 'results'}; {pub.source}):"]
    if pub.median_followup:
        lines.append(f"  median follow-up {_num(pub.median_followup)} {u}")
    for name in ("pfs", "os", "dor"):
        r = getattr(pub, name)
        if r is None:
            continue
        parts = []
        for a in arms:
            if a in r.median:
                ci = r.median_ci.get(a)
                ci_txt = f" ({_num(ci[0])}-{_num(ci[1])})" if ci else ""
                parts.append(f"{a} {_num(r.median[a])}{ci_txt}")
            if a in r.events:
                parts.append(f"{a} {_num(r.events[a])} events")
        if r.hr is not None:
            hr = f"HR {_num(r.hr)}"
            if r.hr_ci:
                hr += f" ({_num(r.hr_ci[0])}-{_num(r.hr_ci[1])})"
            parts.append(hr)
        if r.p_value is not None:
            parts.append(f"{r.p_sided}-sided p={_num(r.p_value)}")
        for lm in r.landmarks:
            parts.append(f"{_num(lm.time)}-{u[:-1]} rate " + " vs ".join(f"{_num(lm.rate[a])}%" for a in arms if a in lm.rate))
        label = f"median {u}" if r.median else ""
        lines.append(f"  {name.upper()}{' ' + label if label else ''}: " + "; ".join(parts))
    for name in ("orr", "cbr"):
        r = getattr(pub, name)
        if r is not None:
            parts = []
            for a in arms:
                ci = r.ci.get(a)
                parts.append(f"{a} {_num(r.rate[a])}%" + (f" ({_num(ci[0])}-{_num(ci[1])})" if ci else ""))
            lines.append(f"  {name.upper()}: " + "; ".join(parts))
    if pub.safety is not None:
        s = pub.safety
        for fld in ("any_grade", "grade3", "grade4", "serious"):
            vals = getattr(s, fld)
            if vals:
                lines.append(f"  AE {fld.replace('_', ' ')}: " + " vs ".join(f"{_num(vals[a])}%" for a in arms if a in vals))
        for ev in s.events:
            g = f"grade {ev.grade}" if ev.grade else f"grade >= {ev.min_grade}"
            vals = ev.percent or ev.count
            unit = "%" if ev.percent else " patients"
            lines.append(f"  {ev.term} {g}: " + " vs ".join(f"{_num(vals[a])}{unit}" for a in arms if a in vals))
    for dm in pub.dose_modifications:
        lines.append(f"  {dm.drug} (arm {dm.arm}): reductions {_num(dm.reduction)}%, median time to first "
                     f"{_num(dm.median_time_to_first_reduction)} {u}, discontinued for AEs {_num(dm.discontinuation_for_ae)}%")
    return lines


def _visit_line(p: Protocol, v) -> str:
    when = {"cycle": f"day 1 of every {v.cycle_length_days or p.schedule.visit_interval_days}-day cycle",
            "assessment": f"every {_num(p.schedule.interval_weeks)} weeks +/- {p.schedule.window_days} days",
            "follow_up": f"every {_num(v.every_weeks)} weeks after end of treatment",
            "log": "throughout the study", "unscheduled": "when needed"}.get(v.kind, v.kind.replace("_", " "))
    return f"  {v.name} ({when}): {', '.join(v.forms)}"


def _edc_lines(p: Protocol) -> list[str]:
    edc = p.edc
    lines = ["Forms:"]
    for f in edc.forms:
        versions = f"v{'/'.join(str(n) for n in f.version_numbers)}"
        sdv = f.sdv.mode if f.sdv.mode != "sample" else f"sample {f.sdv.fraction:.0%}"
        lines.append(f"  {f.id}: {f.label} ({versions}, {len(f.fields)} fields{', repeating' if f.repeats else ''}; SDV {sdv})")
    lines += ["Visits:"] + [_visit_line(p, v) for v in edc.visits]
    lines.append(f"Edit checks: {len(edc.edit_checks)}" + (f"; AE dictionary {edc.ae_dictionary}" if edc.ae_dictionary else ""))
    return lines


def protocol_summary(p: Protocol) -> str:
    """The protocol as a few readable paragraphs.

    Example
    -------
    >>> from oncotrial.protocol import load_protocol
    >>> print(protocol_summary(load_protocol("patina")).splitlines()[0])
    PATINA: Palbociclib added to anti-HER2 and endocrine maintenance therapy in HR+/HER2+ advanced breast cancer
    """
    ratio = ":".join(str(a.ratio) for a in p.arms)
    lines = [
        f"{p.study.id}: {p.study.title}",
        f"Phase {p.study.phase}, {p.study.design}, {p.study.masking}; allocation {ratio}"
        + (f" ({', '.join(p.study.registry_ids)})" if p.study.registry_ids else ""),
        "",
        "Arms:",
    ]
    for a in p.arms:
        lines.append(f"  {a.code}: {a.name}")
        lines.extend(f"       {_drug_line(d)}" for d in a.regimen)
    lines += ["", f"Randomization: {p.randomization.method.replace('_', ' ')}"
              + (f", block sizes {p.randomization.block_sizes}" if p.randomization.method == "permuted_blocks" else "")
              + ", stratified by:"]
    for f in p.stratification_factors:
        levels = ", ".join(f"{lv.label or lv.code}" + (f" {lv.prevalence:.1%}" if lv.prevalence is not None else "")
                           for lv in f.levels)
        lines.append(f"  {f.label or f.name}: {levels}")
    s = p.schedule
    lines += ["", f"Assessments: every {_num(s.interval_weeks)} weeks (+/- {s.window_days} days), RECIST {s.recist_version}, "
              f"{s.assessor}; confirmation >= {_num(s.confirmation_min_weeks)} weeks; clinical benefit SD >= {_num(s.cbr_min_sd_weeks)} weeks"]
    lines += ["", "Endpoints:"]
    lines.extend(f"  {e.id} ({e.role}): {e.definition}" for e in p.endpoints)
    ac = p.accrual
    lines += ["", f"Accrual: target {ac.target_n}" + (f", randomized {ac.randomized_n}" if ac.randomized_n else "")
              + f", {ac.start.isoformat()} to {ac.end.isoformat()}, {ac.n_sites} sites in {len(ac.countries)} countries"
              + (f"; data cut-off {ac.data_cutoff.isoformat()}" if ac.data_cutoff else "")]
    an = p.analysis
    lines.append(f"Analysis: {an.sided}-sided alpha {_num(an.alpha)}, {an.primary_test.replace('_', ' ')}, "
                 f"{an.hr_model.replace('_', ' ')} ({an.ties} ties)"
                 + (f", power {an.power:.0%} for HR {_num(an.target_hr)}" if an.power and an.target_hr else ""))
    if p.edc is not None:
        lines += [""] + _edc_lines(p)
    if p.published is not None:
        lines += [""] + _published_lines(p.published, p.arm_codes)
    return "\n".join(lines)
