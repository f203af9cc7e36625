"""Efficacy course of each patient: progression, death, withdrawal, new therapy, tumour assessments.

Days are analysis days: day 1 is the randomization date, day ``d`` is the date
``RANDDT + d - 1``. Progression is only seen at a tumour assessment (every
``schedule.interval_weeks`` within +/- ``window_days``; some missed), so the recorded
progression date is the first assessment after the true progression time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.protocol import DAYS_PER_MONTH, Protocol
from oncotrial.sim.params import SimParams

NA = np.nan


def _per_arm(arms: np.ndarray, mapping, default: float = 0.0) -> np.ndarray:
    return np.array([float(mapping.get(a, default)) for a in arms])


def assessment_grid(protocol: Protocol, n: int, horizon_days: int, rng: np.random.Generator | None,
                    missed_prob: float = 0.0) -> np.ndarray:
    """(n, K) scheduled assessment days with window jitter; missed visits are NaN."""
    interval = protocol.schedule.interval_weeks * 7
    w = protocol.schedule.window_days
    k = int(np.ceil(horizon_days / interval)) + 1
    base = np.round(interval * np.arange(1, k + 1)) + 1
    days = np.tile(base, (n, 1)).astype(float)
    if rng is not None:
        days += rng.integers(-w, w + 1, size=days.shape)
        if missed_prob > 0:
            days[rng.random(days.shape) < missed_prob] = NA
    return days


def visit_labels(protocol: Protocol, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VISITNUM and VISIT of scheduled assessment ``k`` (1-based); k = 0 means unscheduled."""
    weeks = protocol.schedule.interval_weeks
    visitnum = np.where(k > 0, 100 + k, 999).astype(float)
    wk = (weeks * k).astype(float)
    labels = np.where(k > 0, np.char.add("WEEK ", np.char.mod("%g", wk)), "UNSCHEDULED")
    return visitnum, labels


def assessment_rows(protocol: Protocol, days: np.ndarray, visit_k: np.ndarray, pd_day: np.ndarray,
                    onset_day: np.ndarray, cr_from_day: np.ndarray, baseline_cr: np.ndarray,
                    ne: np.ndarray | None = None) -> pd.DataFrame:
    """Long frame of overall responses (one row per assessment) from per-patient day matrices.

    ``days`` (n, K) holds assessment days (NaN = none) and ``visit_k`` their scheduled
    visit number (0 = unscheduled). Results: PD on ``pd_day``; NON-CR/NON-PD throughout for
    patients in CR at baseline (no disease to respond); from ``onset_day`` PR, or CR from ``cr_from_day``; otherwise SD;
    ``ne`` marks NE assessments.
    """
    i, j = np.nonzero(~np.isnan(days))
    d = days[i, j]
    res = np.full(d.shape, "SD", dtype=object)
    res[d >= onset_day[i]] = "PR"
    res[d >= cr_from_day[i]] = "CR"
    # patients without disease after induction: neither a response nor progression
    res[baseline_cr[i]] = "NON-CR/NON-PD"
    if ne is not None:
        res[ne[i, j]] = "NE"
    res[d == pd_day[i]] = "PD"
    k = visit_k[i, j]
    visitnum, visit = visit_labels(protocol, k)
    out = pd.DataFrame({"row": i, "DY": d.astype(int), "RESP": res, "VISITNUM": visitnum, "VISIT": visit})
    return out.sort_values(["row", "DY"], kind="stable").reset_index(drop=True)


def draw_course(protocol: Protocol, params: SimParams, pts: pd.DataFrame, cutoff: np.datetime64,
                rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate each patient's efficacy course.

    Returns (course, assessments, new_therapy): ``course`` has one row per patient
    (PDDY, DTHDY, WDDY, NACTDY, EOTDY, EOTREAS, LSTALVDY, CUTDY, TRTFL and the latent
    progression time ``PFS_TRUE`` in months); ``assessments`` one row per tumour
    assessment (row, DY, RESP, VISITNUM, VISIT); ``new_therapy`` (row, DY).
    """
    n = len(pts)
    arms = pts["ARMCD"].to_numpy()
    cut_day = ((cutoff - pts["RANDDT"].to_numpy().astype("datetime64[D]")).astype(int) + 1).astype(float)
    baseline_cr = (pts["INDRESP"] == "CR").to_numpy()
    p_resp = _per_arm(arms, params.response_prob)
    responder = (rng.random(n) < p_resp) & ~baseline_cr
    # responders do better; the others' hazard balances so the arm's hazard stays about the same
    p_eff = np.where(baseline_cr, 0.0, p_resp)
    hr_r = _per_arm(arms, params.responder_hazard_ratio, 0.6)
    other = np.clip((1 - p_eff * hr_r) / np.maximum(1 - p_eff, 1e-9), 0.05, 20)
    scale = np.where(responder, hr_r, other)
    t_true = np.empty(n)
    for a in np.unique(arms):
        m = arms == a
        t_true[m] = params.pfs[a].sample(rng, int(m.sum()), scale[m])
    ev_day = np.ceil(t_true * DAYS_PER_MONTH)
    death_first = rng.random(n) < _per_arm(arms, params.death_first)
    drop_day = np.where(params.dropout_per_month > 0,
                        np.ceil(rng.exponential(1.0 / max(params.dropout_per_month, 1e-12), n) * DAYS_PER_MONTH), np.inf)
    nact = rng.random(n) < params.new_therapy_prob
    nact_day = np.where(nact, np.ceil(ev_day * rng.uniform(0.3, 0.9, n)) + 1, np.inf)

    horizon = int(np.nanmax(cut_day))
    days = assessment_grid(protocol, n, horizon, rng, params.missed_visit_prob)
    k_idx = np.tile(np.arange(1, days.shape[1] + 1), (n, 1))
    # progression is recorded at the first assessment done on or after it
    prog = ~death_first
    cand = np.where(days >= ev_day[:, None], days, np.inf)
    pd_day = np.where(prog, cand.min(axis=1), np.inf)
    pp = _per_arm(arms, params.post_progression_death, 0.02)
    post = np.ceil(rng.exponential(1.0 / np.maximum(pp, 1e-12)) * DAYS_PER_MONTH)
    death_day = np.where(death_first, ev_day, pd_day + post)
    end_obs = np.minimum(cut_day, drop_day)
    death_obs = death_day <= end_obs
    pd_obs = (pd_day <= end_obs) & (pd_day < death_day)
    stop = np.minimum.reduce([end_obs, np.where(death_obs, death_day - 1, np.inf),
                              np.where(pd_obs, pd_day, np.inf), nact_day - 1])
    days = np.where(days <= stop[:, None], days, NA)
    onset_k = np.where(rng.random(n) < 0.75, 0, 1)
    onset = np.where(responder, days_at(days, onset_k), np.inf)
    cr_resp = responder & (rng.random(n) < params.cr_share)
    cr_from = np.where(cr_resp, days_at(days, onset_k + 1), np.inf)
    ne = rng.random(days.shape) < params.ne_prob
    pdv = np.where(pd_obs, pd_day, NA)
    rs = assessment_rows(protocol, days, k_idx, pdv, onset, cr_from, baseline_cr, ne)

    treated = rng.random(n) >= _per_arm(arms, params.untreated_prob)
    eot_candidates = np.vstack([np.where(pd_obs, pd_day, np.inf), np.where(death_obs, death_day, np.inf),
                                np.where(drop_day <= cut_day, drop_day, np.inf), nact_day - 1, cut_day])
    reasons = np.array(["PROGRESSIVE DISEASE", "DEATH", "WITHDRAWAL BY SUBJECT", "PHYSICIAN DECISION", "ONGOING"])
    which = eot_candidates.argmin(axis=0)
    course = pd.DataFrame({
        "TRTFL": np.where(treated, "Y", "N"),
        "PDDY": np.where(pd_obs, pd_day, NA),
        "DTHDY": np.where(death_obs, death_day, NA),
        "WDDY": np.where((drop_day <= cut_day) & ~(death_obs & (death_day <= drop_day)), drop_day, NA),
        "NACTDY": np.where(nact_day <= end_obs, nact_day, NA),
        "EOTDY": np.where(treated, eot_candidates.min(axis=0), NA),
        "EOTREAS": np.where(treated, reasons[which], ""),
        "LSTALVDY": np.where(death_obs, death_day, end_obs),
        "CUTDY": cut_day,
        "PFS_TRUE": t_true,
        "RESPONDER": responder,
    })
    # most patients start new anticancer therapy soon after progression
    post_pd = pd_obs & (rng.random(n) < 0.7)
    post_day = pd_day + rng.integers(7, 60, n)
    cm_day = np.where(nact, nact_day, np.where(post_pd, post_day, np.inf))
    keep = cm_day <= end_obs
    cm = pd.DataFrame({"row": np.flatnonzero(keep), "DY": cm_day[keep].astype(int)})
    return course, rs, cm


def days_at(days: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Day of the ``k``-th (0-based) non-missing assessment of each patient, inf if none."""
    order = np.sort(np.where(np.isnan(days), np.inf, days), axis=1)
    kk = np.clip(k, 0, days.shape[1] - 1)
    return order[np.arange(len(days)), kk]
