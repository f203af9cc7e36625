"""Reconstruct a patient-level trial from its published results: :func:`reconstruct`.

The method is general: every target comes from the protocol's ``published`` block
(nothing here names a trial, a drug or an AE term). Counts and percentages are hit
exactly by assigning exact numbers of patients; survival figures by building event
times whose Kaplan-Meier curves pass through the published medians, CI bounds and
landmark rates, with the HR tuned by search (see :mod:`oncotrial.sim.recon_tte`).
The comparison table is computed from the SDTM written, through the report's own
analysis (ADaM as ``oncotrial analyze`` derives it, :func:`oncotrial.analysis.run_analysis`,
:func:`oncotrial.analysis.compare_published`; see :func:`oncotrial.sim.figures.trial_figures`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotrial.protocol import DAYS_PER_MONTH, Protocol
from oncotrial.sim.domains import build_sdtm
from oncotrial.sim.patients import (RACE_PROBS, RACES, allocation_lists, response_level, site_table, strat_col,
                                    undeclared_baseline)
from oncotrial.sim.recon_counts import best_denominator, binomial_design, count_for
from oncotrial.sim.recon_response import plan_arm_responses
from oncotrial.sim.recon_safety import plan_safety
from oncotrial.sim.recon_tte import CurveTarget, HRTarget, build_arms, hr_misses, pair_hr
from oncotrial.sim.safety import exposure_rows
from oncotrial.sim.trial import as_protocol, check_seed

INTERVAL_FALLBACK = 84


@dataclass(frozen=True)
class Reconstruction:
    """A reconstructed trial: SDTM domains, the patient-level plan, and published vs reproduced figures."""

    protocol_id: str
    seed: int
    data_cutoff: dt.date
    sdtm: dict[str, pd.DataFrame]
    patients: pd.DataFrame
    comparison: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.comparison.copy()

    def to_dict(self) -> dict[str, object]:
        return {"protocol_id": self.protocol_id, "seed": self.seed, "data_cutoff": self.data_cutoff.isoformat(),
                "n": len(self.patients), "within_rounding": int(self.comparison["within_rounding"].sum()),
                "figures": len(self.comparison), "notes": list(self.notes)}


# ---------------------------------------------------------------- patients

def _exact_flags(n: int, pct: float | None, rng: np.random.Generator, default: float = 0.5) -> np.ndarray:
    k = count_for(pct, n) if pct is not None else int(round(default * n))
    out = np.zeros(n, dtype=bool)
    out[rng.permutation(n)[:k]] = True
    return out


def _ages(n: int, median: float, sd: float, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """Integer ages whose median is as close to ``median`` as integers allow."""
    a = np.sort(np.clip(np.round(rng.normal(median, sd, n)), lo, hi))
    if n % 2 == 0:
        lo_v = np.floor(median)
        hi_v = lo_v + (1 if median - lo_v >= 0.25 else 0)
        if median - lo_v >= 0.75:
            lo_v = hi_v = lo_v + 1
        a[: n // 2] = np.minimum(a[: n // 2], lo_v)
        a[n // 2 - 1] = lo_v
        a[n // 2:] = np.maximum(a[n // 2:], hi_v)
        a[n // 2] = hi_v
    else:
        m = np.round(median)
        a[: n // 2] = np.minimum(a[: n // 2], m)
        a[n // 2] = m
        a[n // 2 + 1:] = np.maximum(a[n // 2 + 1:], m)
    return rng.permutation(a).astype(int)


def recon_patients(protocol: Protocol, sizes: dict[str, int], rng: np.random.Generator) -> pd.DataFrame:
    """Patients with exact published baseline percentages, randomized through the allocation list."""
    n = sum(sizes.values())
    pub = protocol.published
    pb = pub.baseline if pub is not None else None
    b = protocol.baseline
    age_med = pb.age_median if pb is not None and pb.age_median is not None else (b.age_median if b else 60.0)
    df = pd.DataFrame({"AGE": _ages(n, age_med, b.age_sd if b else 10.0, b.age_min if b else 18, b.age_max if b else 90, rng)})

    def pct(name: str, fallback: float | None) -> float | None:
        v = getattr(pb, name, None) if pb is not None else None
        return v if v is not None else (None if fallback is None else 100 * fallback)

    female = _exact_flags(n, pct("female", b.female if b else 0.5), rng)
    df["SEX"] = np.where(female, "F", "M")
    df["RACE"] = rng.choice(RACES, size=n, p=RACE_PROBS)
    post = np.zeros(n, dtype=bool)
    k_post = count_for(pct("postmenopausal", b.postmenopausal if b else 0.5) or 50.0, n)
    order = np.concatenate([rng.permutation(np.flatnonzero(female)), rng.permutation(np.flatnonzero(~female))])
    post[order[:k_post]] = True
    df["MENOSTAT"] = np.where(post, "POST", "PRE")
    for col, name, fb in (("DENOVO", "de_novo", b.de_novo if b else None), ("VISCMET", "visceral", b.visceral if b else None),
                          ("CNSMET", "cns_metastases", b.cns_metastases if b else None)):
        df[col] = np.where(_exact_flags(n, pct(name, fb), rng, 0.0 if fb is None else fb), "Y", "N")
    for f in protocol.stratification_factors:
        prev = np.array([lv.prevalence if lv.prevalence is not None else np.nan for lv in f.levels], dtype=float)
        prev = np.where(np.isnan(prev), max(1 - np.nansum(prev), 0) / max(np.isnan(prev).sum(), 1), prev)
        counts = np.floor(prev / prev.sum() * n).astype(int)
        rem = n - counts.sum()
        frac = prev / prev.sum() * n - counts
        counts[np.argsort(-frac)[:rem]] += 1
        df[strat_col(f.name)] = rng.permutation(np.repeat(f.codes, counts))
    # accrual: evenly over the period, in random patient order
    acc = protocol.accrual
    span = (acc.end - acc.start).days
    days = np.sort(np.round(np.linspace(0, span, n) + rng.uniform(-3, 3, n)).clip(0, span)).astype(int)
    df["RANDDT"] = np.datetime64(acc.start.isoformat(), "D") + days.astype("timedelta64[D]")
    df["ICDT"] = df["RANDDT"].to_numpy() - rng.integers(1, 22, n).astype("timedelta64[D]")
    sites = site_table(protocol, rng)
    idx = rng.choice(len(sites), size=n, p=(sites["weight"] / sites["weight"].sum()).to_numpy())
    df.insert(0, "SITEID", sites["SITEID"].to_numpy()[idx])
    df.insert(1, "COUNTRY", sites["COUNTRY"].to_numpy()[idx])
    df.insert(0, "SUBJID", [f"{i + 1:04d}" for i in range(n)])
    df.insert(0, "USUBJID", protocol.study.id + "-" + df["SITEID"] + "-" + df["SUBJID"])
    df["ARMCD"] = _randomize_exact(protocol, df, sizes)
    df["ARM"] = df["ARMCD"].map({a.code: a.name for a in protocol.arms})
    # Drawn before dropping so the random stream, and so every other column, is the same.
    return df.drop(columns=undeclared_baseline(protocol))


def _randomize_exact(protocol: Protocol, df: pd.DataFrame, sizes: dict[str, int]) -> np.ndarray:
    """Arms from the stratified allocation list; the list seed is the first from the protocol's on that
    gives the published arm sizes (the real list is confidential). Under simple randomization every
    assignment with the published sizes is equally likely: the arms are a random permutation of them."""
    if protocol.randomization.method == "simple":
        rng = np.random.default_rng([protocol.randomization.seed, 0x51])
        return rng.permutation(np.repeat(list(sizes), list(sizes.values()))).astype(str)
    factors = list(protocol.strata_levels)
    keys = (df[[strat_col(f) for f in factors]].astype(str)
            .agg(lambda r: "|".join(f"{f}={v}" for f, v in zip(factors, r)), axis=1).to_numpy()) if factors \
        else np.full(len(df), "", dtype=object)
    counts = pd.Series(keys).value_counts()
    best = None
    for k in range(400):
        alloc = allocation_lists(protocol, int(counts.max()), protocol.randomization.seed + k)
        arms = np.empty(len(df), dtype=object)
        for key in counts.index:
            rows = alloc.for_stratum(key)
            pos = np.flatnonzero(keys == key)
            arms[pos] = [rows[i].arm for i in range(len(pos))]
        miss = sum(abs(int((arms == a).sum()) - n) for a, n in sizes.items())
        if best is None or miss < best[0]:
            best = (miss, arms)
        if miss == 0:
            break
    return best[1].astype(str)


# ---------------------------------------------------------------- main

def _sizes(protocol: Protocol) -> dict[str, int]:
    pub = protocol.published
    if pub is not None and pub.n_randomized and all(a in pub.n_randomized for a in protocol.arm_codes):
        return {a: int(round(pub.n_randomized[a])) for a in protocol.arm_codes}
    n = protocol.accrual.randomized_n or protocol.accrual.target_n
    tot = sum(a.ratio for a in protocol.arms)
    out = {a.code: int(n * a.ratio // tot) for a in protocol.arms}
    out[protocol.arm_codes[0]] += n - sum(out.values())
    return out


def _curve_target(r, arm: str, early: tuple = ()) -> CurveTarget | None:
    if r is None:
        return None
    med = r.median.get(arm)
    ci = r.median_ci.get(arm)
    return CurveTarget(median=med, lower=ci[0] if ci else None, upper=ci[1] if ci else None,
                       landmarks=tuple((lm.time, lm.rate[arm] / 100) for lm in r.landmarks if arm in lm.rate),
                       early=early)


def _strata_key(protocol: Protocol, pts: pd.DataFrame, names: list[str]) -> np.ndarray | None:
    if not names:
        return None
    return pts[[strat_col(f) for f in names]].astype(str).agg("|".join, axis=1).to_numpy()


def _arm_codes(protocol: Protocol) -> list[str]:
    """The experimental arms in comparison order, then the control: the order random streams are drawn in."""
    return [e for e, _ in protocol.comparisons] + [protocol.control_arm]


def _hr_targets(r, protocol: Protocol, *, with_p: bool = True) -> dict[str, HRTarget]:
    """Per experimental arm, the published HR, CI (and p) of endpoint ``r`` against the control."""
    out = {}
    for e, _ in protocol.comparisons:
        ci = r.hr_ci_for(e) if r is not None else None
        out[e] = HRTarget(r.hr_for(e) if r is not None else None, ci[0] if ci else None, ci[1] if ci else None,
                          r.p_value_for(e) if r is not None and with_p else None, r.p_sided if r is not None else 2)
    return out


def _plan_efficacy(protocol: Protocol, pts: pd.DataFrame, sizes: dict[str, int], rng: np.random.Generator) -> dict:
    """PFS, deaths, last contacts, the cut-off and responses of every patient (analysis days)."""
    pub = protocol.published
    notes: list[str] = []
    ctl = protocol.control_arm
    codes = _arm_codes(protocol)
    conf = protocol.analysis.conf_level
    n = len(pts)
    arm = pts["ARMCD"].to_numpy()
    rand = pts["RANDDT"].to_numpy().astype("datetime64[D]")

    # data cut-off: the median potential follow-up equals the published median follow-up
    if pub.median_followup:
        start = np.datetime64(protocol.accrual.start.isoformat(), "D")
        rel = (rand - start).astype(int)
        cut_rel = int(np.round(np.median(rel) + pub.median_followup * DAYS_PER_MONTH)) - 1
        cutoff = start + np.timedelta64(cut_rel, "D")
    else:
        from oncotrial.sim.trial import data_cutoff
        cutoff = np.datetime64(data_cutoff(protocol).isoformat(), "D")
    F = (cutoff - rand).astype(int) + 1
    interval = int(round(protocol.schedule.interval_weeks * 7)) or INTERVAL_FALLBACK

    def grid_limit(shift: int) -> np.ndarray:
        return (1 + interval * ((F + shift - 1) // interval)).astype(float)

    # ---- PFS
    cbr_day = protocol.schedule.cbr_min_sd_weeks * 7
    early = {a: ((cbr_day / DAYS_PER_MONTH, min(pub.cbr.rate[a] / 100 + 1.5 / sizes[a], 0.995)),)
             if pub.cbr is not None and a in pub.cbr.rate else () for a in codes}
    targets = {a: _curve_target(pub.pfs, a, early[a]) or CurveTarget(early=early[a]) for a in codes}
    for a in codes:
        if targets[a].median is None:
            med = (protocol.analysis.control_median_months or 12.0) / (protocol.analysis.target_hr or 1.0 if a != ctl else 1.0)
            targets[a] = CurveTarget(median=med, early=early[a])
            notes.append(f"PFS arm {a}: no published median; the design's median ({med:.1f} months) shapes the curve")
    pr = pub.pfs
    hrt = _hr_targets(pr, protocol)
    strata_pfs = _strata_key(protocol, pts, protocol.analysis.stratify_by) if (pr is None or pr.hr_stratified) else None
    res = build_arms(grid_limit, arm, ctl, targets, hrt, strata_pfs, seed=int(rng.integers(2**31)),
                         conf_level=conf, min_drop_day=cbr_day + interval + 1 if pub.cbr is not None else 2)
    pfs_t, pfs_e = res.time, res.event
    full_lim = grid_limit(0)
    nact = (~pfs_e) & (res.limit_used < full_lim)   # censored before the cut-off: new anticancer therapy

    # ---- deaths: some PFS events are deaths, the rest of the deaths follow progression
    orr_ = pub.os
    d_target = {a: int(orr_.events[a]) if orr_ is not None and a in orr_.events else None for a in codes}
    death_first = np.zeros(n, dtype=bool)
    for a in codes:
        ev = np.flatnonzero(pfs_e & (arm == a))
        k = int(round(0.1 * ev.size)) if d_target[a] is None else min(int(round(0.1 * ev.size)), d_target[a] // 3)
        death_first[rng.choice(ev, size=k, replace=False)] = True
    death = _plan_deaths(protocol, pts, arm, codes, pfs_t, pfs_e, death_first, nact, res.limit_used, F, d_target,
                         rng, conf, notes)

    # ---- last contact; median follow-up (reverse KM of OS) snapped onto the published value
    last_alive = np.where(np.isfinite(death), death, F.astype(float))
    if pub.median_followup:
        # move the cut-off (only the last contact of patients alive changes) until the reverse-KM median is right
        from oncotrial.sim.km_target import km_stats
        alive = ~np.isfinite(death)
        for _ in range(4):
            med = km_stats(last_alive, alive).median
            delta = int(np.round(pub.median_followup * DAYS_PER_MONTH - med))
            if delta == 0 or not np.isfinite(med):
                break
            F = F + delta
            cutoff = cutoff + np.timedelta64(delta, "D")
            last_alive = np.where(alive, np.maximum(F, np.where(pfs_e, pfs_t, res.limit_used)), death)
        _snap_followup(last_alive, death, pfs_t, pub.median_followup, notes)
        # deaths stay on or before the (moved) cut-off
        death = np.where(np.isfinite(death), np.minimum(death, F), death)
        last_alive = np.where(np.isfinite(death), death, last_alive)
    if orr_ is not None and orr_.hr is not None:
        os_strata = _strata_key(protocol, pts, protocol.analysis.stratify_by) if orr_.hr_stratified else None
        hrt_os = _hr_targets(orr_, protocol, with_p=False)
        base_os = np.where(pfs_e & ~death_first, pfs_t, np.where(nact, res.limit_used + 30, np.nan))
        left = polish_deaths(death, base_os, np.minimum(F, last_alive.max()).astype(float), last_alive, death_first,
                             arm, ctl, os_strata, hrt_os, rng, conf)
        last_alive = np.where(np.isfinite(death), death, last_alive)
        if left == 0:
            notes[:] = [x for x in notes if not x.startswith("OS: no placement")]

    # ---- responses: ORR population, responders and their start days, clinical benefit
    lvl = response_level(protocol)
    indresp = np.where(pts[strat_col(lvl[0])].to_numpy() == lvl[1], "PR", "SD") if lvl else np.full(n, "SD", object)
    orr = pub.orr
    starts: dict[int, float] = {}
    for a in codes:
        ids = np.flatnonzero(arm == a)
        if orr is not None and a in orr.rate:
            cr_pool = ids[indresp[ids] == "PR"] if lvl else ids
            p_cr = protocol.baseline.cr_to_induction if protocol.baseline and protocol.baseline.cr_to_induction else 0.0
            k, n_pop = binomial_design(orr.rate[a], tuple(orr.ci[a]) if a in orr.ci else None, ids.size,
                                       max(ids.size - cr_pool.size, 1) if "excluding" in orr.population.lower() else ids.size,
                                       conf, prefer=int(round(ids.size * (1 - p_cr))))
            if "excluding" not in orr.population.lower():
                n_pop = ids.size
            n_cr = ids.size - n_pop
            cr = rng.choice(cr_pool, size=min(n_cr, cr_pool.size), replace=False)
            indresp[cr] = "CR"
            pop = ids[indresp[ids] != "CR"]
            tg = _curve_target(pub.dor, a)
            st, ok = plan_arm_responses(pfs_t, pfs_e, pop, k, tg, rng, conf)
            if not ok and tg is not None:
                from oncotrial.sim.recon_response import S_MIN
                late = [x for x in (tg.median, tg.upper) if x is not None and np.isfinite(x)]
                counts = ", ".join(f"{int(np.sum(pfs_e[pop] & (pfs_t[pop] - S_MIN + 1 >= x * DAYS_PER_MONTH)))} "
                                   f"for >= {x:g} months" for x in late)
                notes.append(f"DoR arm {a}: the responders' progression times could not carry every published DoR "
                             f"figure (patients of the ORR population whose progression allows a response lasting "
                             f"that long: {counts})")
            starts.update(st)
    return dict(cutoff=cutoff, F=F, interval=interval, pfs_t=pfs_t, pfs_e=pfs_e, nact=nact, death_first=death_first,
                death=death, last_alive=last_alive, indresp=indresp, starts=starts, notes=notes,
                score=_plan_score(protocol, pts, pfs_t, pfs_e, death, last_alive, starts))

def reconstruct(protocol: Protocol | str, seed: int = 0, *, check: bool = True, attempts: int = 6) -> Reconstruction:
    """Reconstruct one patient-level trial whose analysis reproduces ``protocol.published``.

    The survival and response part is planned up to ``attempts`` times (different random streams,
    the same for the same ``seed``); the plan with the fewest published figures missed is kept.

    Example
    -------
    >>> rec = reconstruct("patina")                                # doctest: +SKIP
    >>> rec.comparison[["figure", "arm", "published", "reproduced", "within_rounding"]]  # doctest: +SKIP
    """
    protocol = as_protocol(protocol)
    seed = check_seed(seed)
    pub = protocol.published
    if pub is None:
        raise ValueError(f"{protocol.study.id}: protocol has no 'published' block; nothing to reconstruct")
    notes: list[str] = []
    rng = np.random.default_rng([seed, 0x2EC0])
    sizes = _sizes(protocol)
    pts = recon_patients(protocol, sizes, rng)
    n = len(pts)
    arm = pts["ARMCD"].to_numpy()

    plans = []
    for k in range(attempts):
        plan = _plan_efficacy(protocol, pts, sizes, np.random.default_rng([seed, 0x2EC0, k]))
        plans.append(plan)
        if plan["score"] == 0:
            break
    plan = min(plans, key=lambda p_: p_["score"])
    notes.extend(plan["notes"])
    cutoff, F, interval = plan["cutoff"], plan["F"], plan["interval"]
    pfs_t, pfs_e, nact, death_first = plan["pfs_t"], plan["pfs_e"], plan["nact"], plan["death_first"]
    death, last_alive, indresp, starts = plan["death"], plan["last_alive"], plan["indresp"], plan["starts"]
    rng = np.random.default_rng([seed, 0x2EC0, 0x5AFE])
    pts["INDRESP"] = indresp

    # ---- treated (safety population) and end of treatment
    treated = np.ones(n, dtype=bool)
    if pub.safety is not None:
        for a in _arm_codes(protocol):
            ids = np.flatnonzero(arm == a)
            pcts = [v[a] for v in (pub.safety.any_grade, pub.safety.grade3, pub.safety.grade4, pub.safety.serious) if a in v]
            pcts += [e.percent[a] for e in pub.safety.events if a in e.percent]
            pcts += [x for m in pub.dose_modifications if m.arm == a for x in (m.reduction, m.discontinuation_for_ae) if x is not None]
            n_saf = best_denominator(pcts, ids.size)
            if n_saf < ids.size:
                untreated = rng.choice(ids, size=ids.size - n_saf, replace=False)
                treated[untreated] = False
                notes.append(f"arm {a}: safety population {n_saf} of {ids.size} randomized (the published safety "
                             f"percentages fit no larger denominator)")
    pd_day = np.where(pfs_e & ~death_first, pfs_t, np.nan)
    nact_day = np.where(nact, pfs_t + 7, np.nan)
    eot = np.fmin(np.fmin(np.fmin(pd_day, death), nact_day - 1), last_alive)
    reason = np.select([eot == pd_day, eot == death, eot == nact_day - 1, eot < F],
                       ["PROGRESSIVE DISEASE", "DEATH", "PHYSICIAN DECISION", "WITHDRAWAL BY SUBJECT"], "ONGOING")
    eot = np.where(treated, eot, np.nan)
    reason = np.where(treated, reason, "")

    # ---- safety
    sp = plan_safety(protocol, arm, treated, np.nan_to_num(eot, nan=1.0), np.fmin(last_alive, F), rng)
    notes.extend(sp.notes)
    for key, end in sp.drug_end.items():
        sp.drug_end[key] = np.where(treated, end, np.nan)
    ex = exposure_rows(protocol, pts, sp.drug_end, sp.reductions, {}, rng)

    # ---- tumour assessments
    rs, cb_note = _assessments(protocol, pts, arm, pfs_t, pfs_e, death_first, indresp, starts, interval, rng)
    if cb_note:
        notes.append(cb_note)
    cm_rows = np.flatnonzero(nact)
    cm = pd.DataFrame({"row": cm_rows, "DY": nact_day[cm_rows].astype(int)})
    withdrawn = np.where((~np.isfinite(death)) & (last_alive < F), last_alive, np.nan)
    course = pd.DataFrame({
        "TRTFL": np.where(treated, "Y", "N"), "PDDY": pd_day, "DTHDY": death, "WDDY": withdrawn,
        "NACTDY": nact_day, "EOTDY": eot, "EOTREAS": reason, "LSTALVDY": last_alive, "CUTDY": F.astype(float),
        "PFSDY": pfs_t, "PFSEVT": pfs_e.astype(int), "RESPSTDY": pd.Series(starts).reindex(range(n)).to_numpy(),
    })
    sdtm = build_sdtm(protocol, pts, course, rs, sp.ae, ex, cm)
    patients = pd.concat([pts, course], axis=1)
    cut_date = dt.date.fromisoformat(str(cutoff))
    comparison = compare(protocol, sdtm, notes) if check else pd.DataFrame(
        columns=["figure", "arm", "published", "reproduced", "decimals", "within_rounding", "note"])
    return Reconstruction(protocol.study.id, seed, cut_date, sdtm, patients, comparison, tuple(dict.fromkeys(notes)))


def _plan_score(protocol: Protocol, pts: pd.DataFrame, pfs_t, pfs_e, death, last_alive, starts) -> int:
    """Published survival figures (PFS, OS, DoR, follow-up) a plan misses, computed as the analysis will."""
    from oncotrial.sim.km_target import km_stats, km_stats_exact
    from oncotrial.sim.recon_tte import pair_logrank_p
    from oncotrial.sim.rounding import decimals_of, within_rounding

    pub = protocol.published
    codes, ctl = _arm_codes(protocol), protocol.control_arm
    arm = pts["ARMCD"].to_numpy()
    conf = protocol.analysis.conf_level
    miss = 0

    def km_miss(r, a, t, e) -> int:
        if r is None:
            return 0
        tg = _curve_target(r, a)
        st = km_stats_exact(t, e, conf)
        out = sum(not tg.ok(w, getattr(st, w)) for w in ("median", "lower", "upper"))
        for tm, rate in tg.landmarks:
            out += not within_rounding(100 * rate, 100 * st.surv_at(tm * DAYS_PER_MONTH), decimals_of(round(100 * rate, 6)))
        return out

    def hr_miss(r, t, e) -> int:
        if r is None or r.hr is None:
            return 0
        strata = _strata_key(protocol, pts, protocol.analysis.stratify_by) if r.hr_stratified else None
        return sum(int(tg.misses(*pair_hr(t.astype(float), e, arm, x, ctl, strata, conf),
                                 pair_logrank_p(t.astype(float), e, arm, x, ctl, strata, r.p_sided)
                                 if tg.p is not None else None) // 1)
                   for x, tg in _hr_targets(r, protocol).items() if tg.hr is not None)

    for a in codes:
        m = arm == a
        miss += km_miss(pub.pfs, a, pfs_t[m], pfs_e[m])
    miss += hr_miss(pub.pfs, pfs_t, pfs_e)
    os_t = np.where(np.isfinite(death), death, last_alive)
    miss += hr_miss(pub.os, os_t, np.isfinite(death))
    if pub.median_followup:
        fu = km_stats(last_alive, ~np.isfinite(death)).median / DAYS_PER_MONTH
        miss += not within_rounding(pub.median_followup, fu, decimals_of(pub.median_followup))
    if pub.dor is not None and starts:
        idx = np.array(sorted(starts))
        dur = pfs_t[idx] - np.array([starts[i] for i in idx]) + 1
        for a in codes:
            m = arm[idx] == a
            if m.any():
                miss += km_miss(pub.dor, a, dur[m], pfs_e[idx][m])
    return int(miss)


def _plan_deaths(protocol, pts, arm, codes, pfs_t, pfs_e, death_first, nact, lim, F, d_target, rng, conf, notes):
    """Death days (NaN = alive at the last contact): exact numbers per arm, OS HRs searched via the post-progression
    gaps (the grid shares one gap and tilt among the experimental arms; the random search then moves each arm's)."""
    n = arm.size
    pub = protocol.published
    os_ = pub.os
    ctl = protocol.control_arm
    exps = [a for a in codes if a != ctl]
    strata = _strata_key(protocol, pts, protocol.analysis.stratify_by) if (os_ is None or os_.hr_stratified) else None
    hrt = _hr_targets(os_, protocol, with_p=False)
    searched = any(t.hr is not None for t in hrt.values())
    base = np.where(pfs_e & ~death_first, pfs_t, np.where(nact, lim + 30, np.nan))
    unit = rng.exponential(1.0, n)
    noise = rng.random(n)
    cands = {a: np.flatnonzero((arm == a) & np.isfinite(base)) for a in codes}

    def order_for(a: str, tilt: float) -> np.ndarray:
        # tilt > 0: later progressors die first; < 0: earlier ones
        c = cands[a]
        r = (np.argsort(np.argsort(base[c])) + 0.5) / max(c.size, 1)
        return c[np.argsort(noise[c] - tilt * r, kind="stable")]

    def deaths_for(g: dict[str, float], tilt: dict[str, float]) -> np.ndarray:
        d = np.where(death_first, pfs_t, np.nan)
        for a in codes:
            need = (d_target[a] if d_target[a] is not None else int(0.3 * (arm == a).sum())) - int((death_first & (arm == a)).sum())
            o = order_for(a, tilt[a])
            day = base[o] + np.ceil(g[a] * unit[o] * DAYS_PER_MONTH)
            ok = o[day <= F[o]]
            dd = base[ok] + np.ceil(g[a] * unit[ok] * DAYS_PER_MONTH)
            d[ok[:max(need, 0)]] = dd[:max(need, 0)]
        return d

    def os_miss(d: np.ndarray) -> float:
        t = np.where(np.isfinite(d), d, F)
        return hr_misses(t.astype(float), np.isfinite(d), arm, ctl, hrt, strata, conf)

    best = (np.inf, {a: 18.0 for a in codes}, {a: 0.0 for a in codes})
    if searched:
        grid = np.exp(np.linspace(np.log(2), np.log(60), 8))
        done = False
        for te in (0.0, -1.0, -2.0, 1.0):
            for tc in (0.0, 1.0, 2.0, -1.0):
                for ge in (4.0, 16.0):
                    for gc in grid:
                        g = {**{e: ge for e in exps}, ctl: float(gc)}
                        tl = {**{e: te for e in exps}, ctl: tc}
                        m = os_miss(deaths_for(g, tl))
                        if m < best[0]:
                            best = (m, g, tl)
                        if m == 0:
                            done = True
                            break
                    if done:
                        break
                if done:
                    break
            if done:
                break
    if searched and best[0] > 0:
        for it in range(150):
            step = 0.25 if it < 75 else 0.08
            g = {a: float(best[1][a] * np.exp(rng.normal(0, step))) for a in codes}
            tl = {a: float(best[2][a] + rng.normal(0, step)) for a in codes}
            m = os_miss(deaths_for(g, tl))
            if m < best[0]:
                best = (m, g, tl)
            if m == 0:
                break
    if searched and best[0] > 0:
        # other draws of who dies and how long after progression, from the best settings found
        for _ in range(6):
            unit[:] = rng.exponential(1.0, n)
            noise[:] = rng.random(n)
            for it in range(30):
                g = {a: float(best[1][a] * np.exp(rng.normal(0, 0.1 if it else 0.0))) for a in codes}
                tl = {a: float(best[2][a] + rng.normal(0, 0.1 if it else 0.0)) for a in codes}
                m = os_miss(deaths_for(g, tl))
                if m < best[0]:
                    best = (m, g, tl, unit.copy(), noise.copy())
                if m == 0:
                    break
            if best[0] == 0:
                break
        if len(best) == 5:
            unit[:], noise[:] = best[3], best[4]
    d = deaths_for(best[1], best[2])
    if searched and best[0] > 0:
        cur = polish_deaths(d, base, F.astype(float), F.astype(float), death_first, arm, ctl, strata, hrt, rng, conf)
        best = (cur, *best[1:])
    for a in codes:
        if d_target[a] is not None and int(np.isfinite(d[arm == a]).sum()) != d_target[a]:
            notes.append(f"OS arm {a}: only {int(np.isfinite(d[arm == a]).sum())} of {d_target[a]} deaths fit before the cut-off")
    if best[0] > 0 and searched:
        notes.append("OS: no placement of the deaths gave the published HR and CI within rounding (with the "
                     "published death counts the HR must lie in a narrow band for both CI bounds to round right)")
    return d


def polish_deaths(d: np.ndarray, base: np.ndarray, limit: np.ndarray, censor: np.ndarray, death_first: np.ndarray,
                  arm: np.ndarray, control: str, strata, hrt: dict[str, HRTarget], rng: np.random.Generator,
                  conf: float, steps: int = 10) -> float:
    """Move single deaths (in place) earlier or later -- same patients, same counts -- in the direction that
    brings each comparison's OS HR and CI (``hrt``: experimental arm -> target) towards the published ones;
    returns the remaining miss (0 = all within rounding). ``censor`` is each living patient's last-contact day."""
    def os_time(dd: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(dd), dd, censor).astype(float)

    def os_miss(dd: np.ndarray) -> float:
        return hr_misses(os_time(dd), np.isfinite(dd), arm, control, hrt, strata, conf)

    targets = {e: tg for e, tg in hrt.items() if tg.hr is not None}
    target_hr = {e: np.sqrt(tg.lower * tg.upper) if tg.lower and tg.upper else tg.hr for e, tg in targets.items()}
    cur = os_miss(d)
    for _ in range(steps):
        if cur == 0 or not targets:
            break
        # HR too high: experimental deaths later, control earlier; the control follows the worst comparison
        fits = {e: pair_hr(os_time(d), np.isfinite(d), arm, e, control, strata, conf) for e in targets}
        sign = {e: 1.0 if fits[e][0] > target_hr[e] else -1.0 for e in targets}
        worst = max(targets, key=lambda e: targets[e].misses(*fits[e]))
        dead = np.flatnonzero(np.isfinite(d) & ~death_first)
        best = (cur, None, None)
        for i in rng.choice(dead, size=min(30, dead.size), replace=False):
            if arm[i] != control and arm[i] not in sign:
                continue
            direction = sign[arm[i]] if arm[i] != control else -sign[worst]
            for step in (30, 90, 180):
                new = d[i] + direction * step
                if new <= base[i] or new > limit[i]:
                    continue
                d2 = d.copy()
                d2[i] = new
                m = os_miss(d2)
                if m < best[0]:
                    best = (m, i, new)
        if best[1] is None:
            break
        cur, i, new = best
        d[i] = new
    return cur


def _snap_followup(last_alive: np.ndarray, death: np.ndarray, pfs_t: np.ndarray, target_months: float,
                   notes: list[str]) -> None:
    """Move one or two last-contact dates so the reverse-KM median follow-up (OS) rounds to the published value."""
    from oncotrial.sim.km_target import km_stats
    from oncotrial.sim.rounding import decimals_of, within_rounding

    target = float(np.round(target_months * DAYS_PER_MONTH))
    alive = ~np.isfinite(death)
    for _ in range(10):
        st = km_stats(last_alive, alive)
        v = st.median / DAYS_PER_MONTH
        if within_rounding(target_months, v, decimals_of(target_months)):
            return
        cand = np.flatnonzero(alive & (pfs_t <= target) & (last_alive >= target) & (last_alive != target))
        if cand.size == 0:
            break
        i = cand[np.argmin(np.abs(last_alive[cand] - st.median))]
        last_alive[i] = target
    notes.append("median follow-up: the last-contact dates could not be moved onto the published value")


def _assessments(protocol, pts, arm, pfs_t, pfs_e, death_first, indresp, starts, interval, rng):
    """Overall responses per visit: scheduled every ``interval`` days (within the window), the final one on the
    progression or censoring day, responses from each responder's start day, confirmed >= 28 days later;
    clinical benefit trimmed to the published count by leaving out the assessments between the CBR landmark
    and an early progression."""
    from oncotrial.sim.outcomes import visit_labels

    pub = protocol.published
    n = arm.size
    conf_days = int(round(protocol.schedule.confirmation_min_weeks * 7))
    cbr_day = int(round(protocol.schedule.cbr_min_sd_weeks * 7)) + 1
    w = protocol.schedule.window_days
    gap_max = protocol.schedule.missed_assessments_for_censoring * interval + w
    # clinical benefit: everyone with an adequate assessment on/after cbr_day before progression, or confirmed response
    final = pfs_t
    responder = np.zeros(n, dtype=bool)
    responder[list(starts)] = True
    baseline_cr = indresp == "CR"
    # an adequate assessment on/after the landmark: before progression or death, or the censoring assessment itself
    has_late = np.where(pfs_e, final > cbr_day, final >= cbr_day)
    cb = responder | has_late
    drop_window = np.zeros(n, dtype=bool)
    cb_notes: list[str] = []
    if pub.cbr is not None:
        for a in np.unique(arm):
            if a not in pub.cbr.rate:
                continue
            ids = np.flatnonzero(arm == a)
            k = count_for(pub.cbr.rate[a], ids.size)
            excess = int(cb[ids].sum()) - k
            # drop the assessments in [cbr_day, progression) of early progressors without a response
            cand = ids[cb[ids] & ~responder[ids] & ~baseline_cr[ids] & pfs_e[ids] & (final[ids] >= cbr_day)
                       & (final[ids] - (1 + interval) <= gap_max)]
            cand = cand[np.argsort(final[cand])]
            take = cand[:max(excess, 0)]
            drop_window[take] = True
            cb[take] = False
            if excess > take.size:
                cb_notes.append(f"CBR arm {a}: {excess - take.size} more patients have clinical benefit than published")
            elif excess < 0:
                cb_notes.append(f"CBR arm {a}: {-excess} fewer patients can have clinical benefit than published "
                                f"(too many progressed before the landmark)")
    rows = []
    for i in range(n):
        f = final[i]
        days = list(np.arange(1 + interval, f, interval, dtype=float))
        jit = rng.integers(-w, w + 1, len(days))
        # jitter within the window, but never across the clinical-benefit landmark or past the final day
        days = [d + j if (d + j < f - 1 and (d < cbr_day or d + j >= cbr_day)) else d for d, j in zip(days, jit)]
        ks = list(range(1, len(days) + 1))
        if drop_window[i]:
            keep = [(d, k) for d, k in zip(days, ks) if d < cbr_day - w - 1]
            days, ks = [d for d, _ in keep], [k for _, k in keep]
        s = starts.get(i)
        if s is not None:
            # the response starts on day s (scheduled visit if one is near) and is confirmed >= 28 days later
            near = [j for j, d in enumerate(days) if abs(d - s) <= 3]
            if near:
                days[near[0]] = s
            else:
                days.append(s)
                ks.append(0)
            conf_at = [d for d in days if s + conf_days <= d < f] + ([f] if not pfs_e[i] and f >= s + conf_days else [])
            if not conf_at:
                days.append(s + conf_days)
                ks.append(0)
        if not (pfs_e[i] and death_first[i]):
            days.append(f)
            ks.append(int(round((f - 1) / interval)) if abs((f - 1) - interval * round((f - 1) / interval)) <= w and f > 1 else 0)
        order = np.argsort(days, kind="stable")
        ds = np.asarray(days, dtype=float)[order]
        kk = np.asarray(ks, dtype=int)[order]
        ds, uniq = np.unique(ds, return_index=True)
        kk = kk[uniq]
        for d, k in zip(ds, kk):
            if pfs_e[i] and not death_first[i] and d == f:
                res = "PD"
            elif baseline_cr[i]:
                # no disease left after induction: neither a response nor progression (not counted in ORR/DoR)
                res = "NON-CR/NON-PD"
            elif s is not None and d >= s:
                res = "PR"
            else:
                res = "SD"
            rows.append((i, int(d), res, int(k)))
    df = pd.DataFrame(rows, columns=["row", "DY", "RESP", "K"])
    vn, vl = visit_labels(protocol, df["K"].to_numpy())
    df["VISITNUM"], df["VISIT"] = vn, vl
    return df.drop(columns="K"), "; ".join(cb_notes)


# ---------------------------------------------------------------- comparison

def compare(protocol: Protocol, sdtm: dict[str, pd.DataFrame], notes: list[str] | None = None) -> pd.DataFrame:
    """Published vs reproduced figures, computed from ``sdtm`` by the report's analysis path."""
    from oncotrial.sim.figures import published_figures, trial_figures
    from oncotrial.sim.rounding import decimals_of, within_rounding

    pubf = published_figures(protocol)
    got = trial_figures(protocol, sdtm)
    m = pubf.merge(got, on=["figure", "arm"], how="left")
    m["decimals"] = [decimals_of(p, f) for p, f in zip(m["published"], m["figure"])]
    m["reproduced"] = m["value"]
    m["within_rounding"] = [within_rounding(p, v, d) for p, v, d in zip(m["published"], m["reproduced"], m["decimals"])]
    dm = sdtm["DM"]
    treated = dm[dm["USUBJID"].isin(sdtm["EX"]["USUBJID"])]
    n_saf = treated["ARMCD"].value_counts().to_dict()
    m["note"] = [_explain(r, protocol, notes or [], n_saf) for r in m.itertuples()]
    return m[["figure", "arm", "published", "reproduced", "decimals", "within_rounding", "note"]]


def _explain(r, protocol: Protocol, notes: list[str], n_saf: dict[str, int] | None = None) -> str:
    from oncotrial.sim.rounding import within_rounding

    if r.within_rounding:
        return ""
    f, arm, pub = r.figure, r.arm, r.published
    pub = float(pub)
    check = getattr(r, "r_rule", np.nan)
    if "median" in f and "CI" in f and np.isfinite(check) and within_rounding(pub, check, r.decimals):
        return (f"oncotrial.stats.km gives {r.reproduced}; R survival (quantile.survfit) gives {check:.2f} for the "
                f"same data, which rounds to the published value")
    if f.startswith("baseline age"):
        return "AGE is an integer: the median of an even number of integer ages is a whole or half year"
    if f.endswith("lower CI") or f.endswith("upper CI"):
        ep = f.split()[0].lower()
        res = getattr(protocol.published, ep, None)
        if ep in ("orr", "cbr") and res is not None and arm in res.rate:
            return (f"no count that gives the published {res.rate[arm]:g}% in the analysed population has the exact "
                    f"(Clopper-Pearson) interval {res.ci[arm][0]:g}-{res.ci[arm][1]:g}; the rate is kept")
    if "(%)" in f and not f.startswith(("PFS", "OS", "DOR")):
        n = (n_saf or {}).get(arm)
        if n:
            k = int(np.floor(pub / 100 * n))
            return (f"no whole number of the {n} treated patients (a denominator every other safety percentage of "
                    f"the arm fits) gives {pub:g}%: {k}/{n} = {100 * k / n:.2f}%, {k + 1}/{n} = {100 * (k + 1) / n:.2f}%")
        return "the percentage fits no integer count of the population; the nearest count is used"
    if f.startswith(("PFS HR", "OS HR", "PFS p", "OS p")):
        return ("HR, CI and p follow from the whole curves, the strata and the number of events; the search "
                "found no placement within rounding of all three")
    if f.startswith("DOR"):
        rel = [n for n in notes if n.startswith(f"DoR arm {arm}")]
        return (rel[0] if rel else "the DoR curve could not be placed") + \
            ": durations of response are bounded by the responders' progression times, fixed by the PFS figures"
    if "median" in f or "rate at" in f:
        return "the KM curve has no step at the needed time or level with this many patients at risk"
    return "not reached by the reconstruction"
