"""Calibration: simulator parameters whose expected results equal the published ones.

:func:`calibrate` starts from :func:`oncotrial.sim.params.default_params` (curves
through the published medians, landmark and clinical-benefit rates; AE grade
probabilities and dose-modification rates from the published incidences) and
corrects, by simulation, what the data-generating process distorts: progression
is only seen at the next tumour assessment, responses need confirmation, and
deaths need time to happen before the cut-off. Each round simulates ``replicates``
trials' efficacy courses (no SDTM; fast), compares pooled results with the targets
and rescales: the cumulative hazard at each curve point, the response probability,
the post-progression death hazard.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from oncotrial.protocol import DAYS_PER_MONTH, Protocol
from oncotrial.stats import km
from oncotrial.stats._core import km_arrays
from oncotrial.sim.outcomes import draw_course
from oncotrial.sim.params import PiecewiseExponential, SimParams, _pfs_points, default_params
from oncotrial.sim.patients import enrol
from oncotrial.sim.trial import as_protocol, data_cutoff


def _pooled_courses(protocol: Protocol, params: SimParams, replicates: int, seed: int):
    cut = np.datetime64((params.data_cutoff or data_cutoff(protocol)).isoformat(), "D")
    out = []
    for r in range(replicates):
        rng = np.random.default_rng([seed, r, 0xCA1])
        pts = enrol(protocol, rng, seed=int(rng.integers(2**31 - 1)))
        course, rs, _ = draw_course(protocol, params, pts, cut, rng)
        out.append((pts, course, rs))
    return out


def _observed_pfs(course, rs) -> tuple[np.ndarray, np.ndarray]:
    """PFS days and events as the analysis would see them (event at PD or death, else last assessment)."""
    n = len(course)
    last = rs.groupby("row")["DY"].max().reindex(range(n)).fillna(1).to_numpy()
    pd_ = course["PDDY"].to_numpy()
    dth = course["DTHDY"].to_numpy()
    ev_day = np.fmin(pd_, dth)
    event = np.isfinite(ev_day)
    return np.where(event, ev_day, last), event


def _km_at(t: np.ndarray, e: np.ndarray, at: float) -> float:
    """Kaplan-Meier S(at) (oncotrial.stats, so tied censorings stay in the risk set);
    beyond the last observed time the last value is kept."""
    a = km_arrays(np.asarray(t, float), np.asarray(e, bool).astype(float))
    k = int(np.searchsorted(a.time, at, side="right")) - 1
    return 1.0 if k < 0 else float(a.surv[k])


def _confirmable_after_days(protocol: Protocol) -> float:
    """Study day of the earliest assessment that can confirm a response seen at the first one.

    Assessments follow the schedule only, so confirmation (a second PR/CR at least
    ``confirmation_min_weeks`` later) falls at the first scheduled assessment that far
    after the first assessment; a responder progressing before it is not counted.
    """
    sch = protocol.schedule
    k = max(1, int(np.ceil(sch.confirmation_min_weeks / sch.interval_weeks - 1e-9)))
    return sch.interval_weeks * 7 * (1 + k)


def calibrate(protocol: Protocol | str, *, replicates: int = 12, rounds: int = 5, seed: int = 2024) -> SimParams:
    """Parameters for :func:`oncotrial.sim.simulate_trial` calibrated to ``protocol.published``.

    Example
    -------
    >>> params = calibrate("patina")                      # doctest: +SKIP
    >>> round(float(params.pfs["A"].survival(44.3)), 2)   # doctest: +SKIP
    0.52
    """
    protocol = as_protocol(protocol)
    if protocol.published is None:
        raise ValueError(f"{protocol.study.id}: protocol has no 'published' block to calibrate to")
    pub = protocol.published
    params = default_params(protocol)
    arms = protocol.arm_codes
    points = {a: _pfs_points(protocol, a) for a in arms}
    confirm_day = _confirmable_after_days(protocol)
    for _ in range(rounds):
        sims = _pooled_courses(protocol, params, replicates, seed)
        new_pfs, new_resp, new_pp = {}, dict(params.response_prob), dict(params.post_progression_death)
        for a in arms:
            t_all, e_all, resp, n_pop, deaths = [], [], 0, 0, 0
            for pts, course, rs in sims:
                m = (pts["ARMCD"] == a).to_numpy()
                t, e = _observed_pfs(course, rs)
                t_all.append(t[m])
                e_all.append(e[m])
                deaths += int(np.isfinite(course["DTHDY"].to_numpy()[m]).sum())
                pop = m & (pts["INDRESP"] != "CR").to_numpy()
                n_pop += int(pop.sum())
                confirmable = course["PFS_TRUE"].to_numpy() * DAYS_PER_MONTH > confirm_day
                resp += int((course["RESPONDER"].to_numpy() & pop & confirmable).sum())
            t, e = np.concatenate(t_all), np.concatenate(e_all)
            cbr_t = protocol.schedule.cbr_min_sd_weeks * 7 / DAYS_PER_MONTH
            cbr_obs = None
            if pub.cbr is not None and a in pub.cbr.rate:
                cb, tot = 0, 0
                for pts, course, rs in sims:
                    m = (pts["ARMCD"] == a).to_numpy()
                    cb += int(m[_benefit_rows(protocol, rs, len(pts))].sum())
                    tot += int(m.sum())
                cbr_obs = cb / max(tot, 1)
            if points[a]:
                pe = params.pfs[a]
                adj = []
                for tm, s_target in points[a]:
                    s_obs = _km_at(t, e, tm * DAYS_PER_MONTH)
                    if cbr_obs is not None and abs(tm - cbr_t) < 1e-9:
                        # the clinical-benefit point: what matters is the benefit rate, not the KM there
                        s_obs = cbr_obs
                    h_model = float(pe.cumulative_hazard(tm))
                    h_new = h_model * np.log(s_target) / np.log(min(max(s_obs, 1e-6), 1 - 1e-9))
                    adj.append((tm, float(np.exp(-h_new))))
                try:
                    new_pfs[a] = PiecewiseExponential.through(adj)
                except ValueError:
                    new_pfs[a] = pe
            else:
                new_pfs[a] = params.pfs[a]
            if pub.orr is not None and a in pub.orr.rate and n_pop:
                obs = resp / n_pop
                new_resp[a] = float(np.clip(params.response_prob[a] * (pub.orr.rate[a] / 100) / max(obs, 1e-6), 0, 1))
            if pub.os is not None and a in pub.os.events:
                target = pub.os.events[a] * len(sims)
                ratio = target / max(deaths, 1)
                new_pp[a] = float(np.clip(params.post_progression_death[a] * ratio ** 1.5, 1e-4, 2.0))
        changes = dict(pfs=new_pfs, response_prob=new_resp, post_progression_death=new_pp)
        # duration of response: responders' hazard relative to the arm, from their median time to progression
        if pub.dor is not None and pub.dor.median:
            rhr = dict(params.responder_hazard_ratio)
            for a, target in pub.dor.median.items():
                tr = np.concatenate([c["PFS_TRUE"].to_numpy()[(p_["ARMCD"] == a).to_numpy() & c["RESPONDER"].to_numpy()]
                                     for p_, c, _ in sims])
                # responders whose response can be confirmed (two assessments before progression)
                tr = tr[tr * DAYS_PER_MONTH > 2 * protocol.schedule.interval_weeks * 7]
                if tr.size and np.isfinite(target):
                    # a response starts about one assessment interval after randomization
                    start = protocol.schedule.interval_weeks * 7 / DAYS_PER_MONTH
                    rhr[a] = float(np.clip(rhr[a] * np.median(tr) / (target + start), 0.2, 1.0))
            changes["responder_hazard_ratio"] = rhr
        # hazard ratios: the control arm's early PFS shape; who dies first (before progression) for OS
        exp_arm, ctl_arm = protocol.experimental_arm, protocol.control_arm
        if pub.pfs is not None and pub.pfs.hr and len(arms) == 2:
            hr_obs = _pooled_hr(sims, exp_arm, "pfs")
            if np.isfinite(hr_obs):
                alpha = float(np.clip(params.pfs_shape.get(ctl_arm, 0.5) + 0.7 * np.log(hr_obs / pub.pfs.hr), 0.02, 0.98))
                changes["pfs_shape"] = {**dict(params.pfs_shape), ctl_arm: alpha}
                new_pfs[ctl_arm] = _bent(new_pfs[ctl_arm], alpha)
        if pub.os is not None and pub.os.hr and len(arms) == 2:
            hr_obs = _pooled_hr(sims, exp_arm, "os")
            if np.isfinite(hr_obs):
                df = dict(changes.get("death_first", params.death_first))
                step = float(np.log(hr_obs / pub.os.hr))
                df[ctl_arm] = float(np.clip(df[ctl_arm] * np.exp(1.5 * step), 0.01, 0.9))
                df[exp_arm] = float(np.clip(df[exp_arm] * np.exp(-1.5 * step), 0.01, 0.9))
                changes["death_first"] = df
        # time to first dose reduction: AE onsets drive reductions
        times = [m.median_time_to_first_reduction for m in pub.dose_modifications if m.median_time_to_first_reduction]
        if times:
            from oncotrial.sim.safety import draw_safety
            days = []
            for pts, course, _ in sims[:4]:
                ae, _ = draw_safety(protocol, params, pts, course, np.random.default_rng([seed, 7]))
                days.append(ae.loc[ae["AEACN"] == "DOSE REDUCED", "STDY"].to_numpy())
            d = np.concatenate(days)
            if d.size:
                obs = np.median(d) / DAYS_PER_MONTH
                changes["ae_onset_median"] = float(np.clip(params.ae_onset_median * times[0] / obs, 0.2, 60))
        # median follow-up (reverse KM of OS): move the cut-off
        if pub.median_followup:
            fu = []
            for _, c, _ in sims:
                alive = ~np.isfinite(c["DTHDY"].to_numpy())
                fu.append(_km_median(c["LSTALVDY"].to_numpy(), alive))
            delta = int(round((pub.median_followup - np.nanmean(fu) / DAYS_PER_MONTH) * DAYS_PER_MONTH))
            cur = params.data_cutoff or data_cutoff(protocol)
            changes["data_cutoff"] = cur + dt.timedelta(days=delta)
        params = params.with_(**changes)
    return params


def _pooled_hr(sims, exp_arm: str, endpoint: str) -> float:
    """Mean log HR (experimental vs the other arm, Cox, unstratified) over simulated trials, exponentiated."""
    from oncotrial.sim.recon_tte import cox_hr

    logs = []
    for pts, course, rs in sims:
        trt = (pts["ARMCD"] == exp_arm).to_numpy().astype(float)
        if endpoint == "pfs":
            t, e = _observed_pfs(course, rs)
        else:
            d = course["DTHDY"].to_numpy()
            e = np.isfinite(d)
            t = np.where(e, d, course["LSTALVDY"].to_numpy())
        try:
            logs.append(np.log(cox_hr(t.astype(float), e, trt, None)[0]))
        except (ValueError, FloatingPointError):
            continue
    return float(np.exp(np.mean(logs))) if logs else np.nan


def _bent(pe: PiecewiseExponential, alpha: float) -> PiecewiseExponential:
    """``pe`` with a knot halfway between its first two points, its level set by ``alpha``
    (log-survival interpolation weight; 0.5 = no bend). Survival at the other points is unchanged."""
    b = list(pe.starts)
    if len(b) < 3:
        return pe
    t0, t1 = b[1], b[2]
    s0, s1 = float(pe.survival(t0)), float(pe.survival(t1))
    pts = [(t, float(pe.survival(t))) for t in b[1:]]
    tm = (t0 + t1) / 2
    sm = float(np.exp((1 - alpha) * np.log(s0) + alpha * np.log(s1)))
    pts = [p for p in pts if abs(p[0] - tm) > 1e-9] + [(tm, sm)]
    try:
        return PiecewiseExponential.through(sorted(pts), tail_hazard=pe.hazards[-1])
    except ValueError:
        return pe


def _benefit_rows(protocol: Protocol, rs, n: int) -> np.ndarray:
    """Patients (row numbers) with a response or an assessment without progression on/after the
    clinical-benefit landmark and before any PD -- the CBR rule of oncotrial.adam.adrs, approximately."""
    cbr_day = int(round(protocol.schedule.cbr_min_sd_weeks * 7)) + 1
    first_pd = rs[rs["RESP"] == "PD"].groupby("row")["DY"].min().reindex(range(n)).fillna(np.inf).to_numpy()
    ok = rs[rs["RESP"].isin(["SD", "PR", "CR", "NON-CR/NON-PD"]) & (rs["DY"] >= cbr_day)]
    ok = ok[ok["DY"].to_numpy() < first_pd[ok["row"].to_numpy()]]
    resp = rs[rs["RESP"].isin(["PR", "CR"])].groupby("row")["DY"].agg(["min", "max", "count"])
    conf = resp[(resp["count"] >= 2) & (resp["max"] - resp["min"] >= 7 * protocol.schedule.confirmation_min_weeks)].index.to_numpy()
    return np.union1d(ok["row"].unique(), conf).astype(int)


def _km_median(t: np.ndarray, e: np.ndarray) -> float:
    """Kaplan-Meier median as R quantile.survfit (oncotrial.stats); NaN when not reached."""
    return float(km(np.asarray(t, float), np.asarray(e, bool).astype(int)).median)
