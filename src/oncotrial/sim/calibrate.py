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
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    n_risk = t.size - np.arange(t.size)
    s = np.cumprod(np.where(e, 1 - 1 / n_risk, 1.0))
    k = np.searchsorted(t, at, side="right") - 1
    return 1.0 if k < 0 else float(s[k])


def calibrate(protocol: Protocol | str, *, replicates: int = 12, rounds: int = 3, seed: int = 2024) -> SimParams:
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
                resp += int((course["RESPONDER"].to_numpy() & pop & (course["PFS_TRUE"].to_numpy() * DAYS_PER_MONTH > 200)).sum())
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
                    h_model = float(pe.cumhaz(tm))
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
            ratios = []
            for a, target in pub.dor.median.items():
                tr = np.concatenate([c["PFS_TRUE"].to_numpy()[(p_["ARMCD"] == a).to_numpy() & c["RESPONDER"].to_numpy()]
                                     for p_, c, _ in sims])
                if tr.size and np.isfinite(target):
                    ratios.append(np.median(tr) / (target + 3.0))
            if ratios:
                changes["responder_hazard_ratio"] = float(np.clip(params.responder_hazard_ratio * np.mean(ratios), 0.2, 1.0))
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


def _benefit_rows(protocol: Protocol, rs, n: int) -> np.ndarray:
    """Patients (row numbers) with a response or an assessment without progression on/after the
    clinical-benefit landmark and before any PD -- the CBR rule of oncotrial.adam.adrs, approximately."""
    cbr_day = int(round(protocol.schedule.cbr_min_sd_weeks * 7)) + 1
    first_pd = rs[rs["RESP"] == "PD"].groupby("row")["DY"].min().reindex(range(n)).fillna(np.inf).to_numpy()
    ok = rs[rs["RESP"].isin(["SD", "PR", "CR", "NON-CR/NON-PD"]) & (rs["DY"] >= cbr_day)]
    ok = ok[ok["DY"].to_numpy() < first_pd[ok["row"].to_numpy()]]
    resp = rs[rs["RESP"].isin(["PR", "CR"])].groupby("row")["DY"].agg(["min", "max", "count"])
    conf = resp[(resp["count"] >= 2) & (resp["max"] - resp["min"] >= 28)].index.to_numpy()
    return np.union1d(ok["row"].unique(), conf).astype(int)


def _km_median(t: np.ndarray, e: np.ndarray) -> float:
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    n_risk = t.size - np.arange(t.size)
    s = np.cumprod(np.where(e, 1 - 1 / n_risk, 1.0))
    k = np.flatnonzero(s <= 0.5)
    return float(t[k[0]]) if k.size else np.nan
