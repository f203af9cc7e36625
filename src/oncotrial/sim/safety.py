"""Adverse events and dosing, cycle by cycle, driven by the protocol's regimens.

Dose reductions follow each drug's ``dose_levels``; a reduction below ``min_dose``
(or below the last level) stops the drug. Reductions, interruptions and
withdrawals are triggered by simulated grade >= 3 AEs, and the AE that triggered
them carries the action (AEACN).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd

from oncotrial.protocol import DAYS_PER_MONTH, Arm, Drug, Protocol
from oncotrial.protocol.frequency import INTERVAL_DAYS, PER_DAY
from oncotrial.sim.params import SimParams
from oncotrial.sim.patients import strat_col
from oncotrial.sim.safety_model import BACKGROUND
from oncotrial.sim.terms import background_terms

STANDARD_DOSES = MappingProxyType({
    # agent: (dose, unit, route, frequency, cycle days) -- label doses of common options
    "letrozole": (2.5, "mg", "ORAL", "QD", 1),
    "anastrozole": (1.0, "mg", "ORAL", "QD", 1),
    "exemestane": (25.0, "mg", "ORAL", "QD", 1),
    "fulvestrant": (500.0, "mg", "INTRAMUSCULAR", "Q4W", 28),
    "tamoxifen": (20.0, "mg", "ORAL", "QD", 1),
})

AE_COLUMNS = ["row", "AETERM", "AETOXGR", "AESER", "AEREL", "AEACN", "STDY", "ENDY"]
EX_COLUMNS = ["row", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXDOSFRQ", "STDY", "ENDY", "EXADJ", "CYCLE"]


def drug_assignment(protocol: Protocol, arm: Arm, drug: Drug, pts: pd.DataFrame,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(receives, agent name) per patient of ``pts`` for one drug of the arm's regimen.

    An optional drug is given to patients whose stratification level mentions it, if a
    factor's levels do (e.g. "Dual: trastuzumab + pertuzumab"), otherwise to all. For a
    drug with ``options``, a level naming an option selects it; the rest get one of
    the options no level names.
    """
    n = len(pts)
    gets = np.ones(n, dtype=bool)
    if drug.optional:
        for f in protocol.stratification_factors:
            mentions = [drug.drug.lower() in (lv.label or lv.code).lower() for lv in f.levels]
            if any(mentions) and not all(mentions):
                col = pts[strat_col(f.name)].to_numpy()
                gets = np.isin(col, [lv.code for lv, m in zip(f.levels, mentions) if m])
                break
    agent = np.full(n, drug.drug, dtype=object)
    if drug.options:
        named = np.zeros(n, dtype=bool)
        used: set[str] = set()
        for f in protocol.stratification_factors:
            for lv in f.levels:
                for opt in drug.options:
                    if opt.lower() in (lv.label or lv.code).lower() or opt.lower() == lv.code.lower():
                        m = pts[strat_col(f.name)].to_numpy() == lv.code
                        agent[m] = opt
                        named |= m
                        used.add(opt)
        rest = [o for o in drug.options if o not in used] or list(drug.options)
        agent[~named] = rng.choice(rest, size=int((~named).sum()))
    return gets, agent


def _dose_of(drug: Drug, agent: str) -> tuple[float, str, str, str, int]:
    f = drug.frequency.strip().upper()
    freq = "QD" if PER_DAY.get(f) == 1.0 else "Q3W" if INTERVAL_DAYS.get(f) == 21 else f
    base = (drug.dose, drug.unit, drug.route.upper(), freq, drug.days_on)
    if agent != drug.drug and agent.lower() in STANDARD_DOSES:
        dose, unit, route, fq, days_on = STANDARD_DOSES[agent.lower()]
        return dose, unit, route, fq, days_on if days_on > 1 else drug.days_on
    return base


def exposure_rows(protocol: Protocol, pts: pd.DataFrame, drug_end: dict[tuple[str, str], np.ndarray],
                  reductions: dict[tuple[str, str], np.ndarray], interrupted: dict[tuple[str, str], np.ndarray],
                  rng: np.random.Generator) -> pd.DataFrame:
    """One EX row per patient, drug and cycle.

    ``drug_end[(arm, drug)]`` is each patient's last day on the drug (NaN: never
    dosed); ``reductions[(arm, drug)]`` an (n, R) matrix of reduction days (NaN:
    none), each lowering the dose one level from the next cycle on;
    ``interrupted[(arm, drug)]`` an (n, C) boolean matrix of cycles stopped early.
    """
    frames = []
    arms = pts["ARMCD"].to_numpy()
    for arm in protocol.arms:
        rows = np.flatnonzero(arms == arm.code)
        if rows.size == 0:
            continue
        sub = pts.iloc[rows]
        for drug in arm.regimen:
            gets, agent = drug_assignment(protocol, arm, drug, sub, rng)
            end = drug_end[(arm.code, drug.drug)][rows] if (arm.code, drug.drug) in drug_end else np.full(rows.size, np.nan)
            ok = gets & ~np.isnan(end)
            if not ok.any():
                continue
            for ag in np.unique(agent[ok]):
                m = ok & (agent == ag)
                dose, unit, route, freq, days_on = _dose_of(drug, ag)
                cyc = drug.cycle_length_days
                ncyc = np.ceil(end[m] / cyc).astype(int)
                pi = np.repeat(np.arange(m.sum()), ncyc)
                c = np.concatenate([np.arange(k) for k in ncyc]) if ncyc.size else np.array([], int)
                st = c * cyc + 1
                en = np.minimum(st + days_on - 1, end[m][pi])
                levels = np.asarray(drug.dose_levels or [dose], dtype=float)
                red = reductions.get((arm.code, drug.drug))
                pid = rows[m][pi]
                if red is not None:
                    # a reduction during a cycle splits it: the old dose up to the day before, the new from that day
                    for jcol in range(red.shape[1]):
                        r = red[pid, jcol]
                        cut_ = (st < r) & (r <= en)
                        if cut_.any():
                            k_ = np.flatnonzero(cut_)
                            pi = np.concatenate([pi, pi[k_]])
                            pid = np.concatenate([pid, pid[k_]])
                            c = np.concatenate([c, c[k_]])
                            new_st = r[k_]
                            st = np.concatenate([st, new_st])
                            en = np.concatenate([np.where(cut_, r - 1, en), en[k_]])
                    o = np.lexsort((st, pid))
                    pi, pid, c, st, en = pi[o], pid[o], c[o], st[o], en[o]
                    lvl = np.sum(red[pid] <= st[:, None], axis=1)
                else:
                    lvl = np.zeros(pi.size, dtype=int)
                adj = np.full(pi.size, "", dtype=object)
                if lvl.any():
                    # EX is sorted by drug row blocks per agent; compare with the previous record of the patient
                    inc = np.r_[False, (pid[1:] == pid[:-1]) & (lvl[1:] > lvl[:-1])]
                    adj[inc] = "ADVERSE EVENT"
                itr = interrupted.get((arm.code, drug.drug))
                if itr is not None:
                    hit = itr[pid, np.minimum(c, itr.shape[1] - 1)]
                    short = hit & (en - st >= 7)
                    en = np.where(short, st + (en - st) // 2, en)
                    adj = np.where(short & (adj == ""), "ADVERSE EVENT", adj)
                st = st.astype(float)
                en = en.astype(float)
                d = dose * levels[np.minimum(lvl, levels.size - 1)] / levels[0]
                frames.append(pd.DataFrame({
                    "row": pid, "EXTRT": ag.upper(), "EXDOSE": d, "EXDOSU": unit, "EXROUTE": route,
                    "EXDOSFRQ": freq, "STDY": st, "ENDY": en, "EXADJ": adj, "CYCLE": c + 1}))
    if not frames:
        return pd.DataFrame(columns=EX_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(["row", "STDY", "EXTRT"], kind="stable").reset_index(drop=True)


def draw_safety(protocol: Protocol, params: SimParams, pts: pd.DataFrame, course: pd.DataFrame,
                rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate AEs and dosing; returns (ae, ex) long frames keyed by patient ``row``."""
    n = len(pts)
    arms = pts["ARMCD"].to_numpy()
    treated = (course["TRTFL"] == "Y").to_numpy()
    eot = course["EOTDY"].to_numpy()
    cut = course["CUTDY"].to_numpy()
    onset_rate = np.log(2) / (params.ae_onset_median * DAYS_PER_MONTH)
    named = [m.term for ms in params.aes.values() for m in ms if m.term != BACKGROUND]
    bg_terms = background_terms(named)
    ae_parts = []
    for arm in protocol.arms:
        rows = np.flatnonzero((arms == arm.code) & treated)
        for model in params.aes.get(arm.code, ()):
            p = np.asarray(model.grade_probs)
            u = rng.random(rows.size)
            grade = np.searchsorted(np.cumsum(p), u, side="right") + 1  # 6 = no event
            has = grade <= 5
            r = rows[has]
            g = grade[has]
            # onset within treatment: exponential truncated at the end of treatment
            span = eot[r]
            q = rng.random(r.size) * (1 - np.exp(-onset_rate * span))
            st = np.maximum(np.ceil(-np.log1p(-q) / onset_rate), 1)
            en = st + np.ceil(rng.exponential(14, r.size))
            ser = rng.random(r.size) < np.asarray(model.serious_prob)[g - 1]
            term = rng.choice(bg_terms, size=r.size) if model.term == BACKGROUND else np.full(r.size, model.term)
            ae_parts.append(pd.DataFrame({"row": r, "AETERM": term, "AETOXGR": g, "AESER": np.where(ser, "Y", "N"),
                                          "AEREL": "Y" if model.related else "N", "AEACN": "DOSE NOT CHANGED",
                                          "STDY": st, "ENDY": np.where(en <= cut[r], en, np.nan)}))
    ae = pd.concat(ae_parts, ignore_index=True) if ae_parts else pd.DataFrame(columns=AE_COLUMNS)
    ae = ae.sort_values(["row", "STDY"], kind="stable").reset_index(drop=True)

    drug_end: dict[tuple[str, str], np.ndarray] = {}
    reductions: dict[tuple[str, str], np.ndarray] = {}
    interrupted: dict[tuple[str, str], np.ndarray] = {}
    acn = ae["AEACN"].to_numpy().copy()
    for arm in protocol.arms:
        in_arm = (arms == arm.code) & treated
        for drug in arm.regimen:
            drug_end[(arm.code, drug.drug)] = np.where(in_arm, eot, np.nan)
        for dm in params.dose.get(arm.code, ()):
            drug = next(d for d in arm.regimen if d.drug == dm.drug)
            end = drug_end[(arm.code, dm.drug)].copy()
            levels = drug.dose_levels
            n_allowed = (levels.index(drug.min_dose) if drug.min_dose in levels else len(levels) - 1)
            red = np.full((n, 3), np.nan)
            # first grade >= 3 AE while on the drug triggers the first reduction
            severe = ae[(ae["AETOXGR"] >= 3) & in_arm[ae["row"].to_numpy(dtype=int)]]
            first = severe.groupby("row", sort=True).head(1)
            go = rng.random(len(first)) < dm.reduce_prob
            fr = first[go]
            red[fr["row"].to_numpy(), 0] = fr["STDY"].to_numpy()
            acn[fr.index.to_numpy()] = "DOSE REDUCED"
            r1 = fr["row"].to_numpy()
            second = r1[rng.random(r1.size) < dm.second_reduce_prob]
            red[second, 1] = red[second, 0] + np.ceil(rng.exponential(3 * DAYS_PER_MONTH, second.size))
            third = second[rng.random(second.size) < dm.below_min_prob]
            red[third, 2] = red[third, 1] + np.ceil(rng.exponential(3 * DAYS_PER_MONTH, third.size))
            # a reduction past the lowest allowed level stops the drug
            stop = red[:, n_allowed] if n_allowed < red.shape[1] else np.full(n, np.nan)
            end = np.where(~np.isnan(stop) & (stop < end), stop, end)
            red[:, n_allowed:] = np.nan
            red = np.where(red <= end[:, None], red, np.nan)
            # withdrawal for an AE, at the onset of one of the patient's AEs
            # the withdrawing AE is one whose action is still free (not the one that reduced the dose)
            free_ae = ae[in_arm[ae["row"].to_numpy(dtype=int)] & (acn == "DOSE NOT CHANGED")]
            any_ae = free_ae.groupby("row").sample(1, random_state=rng) if len(free_ae) else free_ae
            p_any = max(in_arm.sum(), 1) and len(any_ae) / max(in_arm.sum(), 1)
            wd = any_ae[rng.random(len(any_ae)) < min(dm.discontinue_ae_prob / max(p_any, 1e-9), 1.0)]
            wd = wd[wd["STDY"].to_numpy() < end[wd["row"].to_numpy()]]
            end[wd["row"].to_numpy()] = wd["STDY"].to_numpy()
            acn[wd.index.to_numpy()] = "DRUG WITHDRAWN"
            drug_end[(arm.code, dm.drug)] = end
            reductions[(arm.code, dm.drug)] = red
            ncyc = int(np.nanmax(np.append(end, 1)) // drug.cycle_length_days) + 2
            itr = np.zeros((n, ncyc), dtype=bool)
            sev_rows = severe["row"].to_numpy()
            sev_cyc = ((severe["STDY"].to_numpy() - 1) // drug.cycle_length_days).astype(int)
            hit = rng.random(sev_rows.size) < dm.interrupt_prob
            itr[sev_rows[hit], np.minimum(sev_cyc[hit], ncyc - 1)] = True
            interrupted[(arm.code, dm.drug)] = itr
            acn[severe.index.to_numpy()[hit & (acn[severe.index.to_numpy()] == "DOSE NOT CHANGED")]] = "DRUG INTERRUPTED"
    ae["AEACN"] = acn
    ex = exposure_rows(protocol, pts, drug_end, reductions, interrupted, rng)
    return ae, ex
