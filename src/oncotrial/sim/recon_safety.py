"""Reconstruction of adverse events and dose modifications with exact published counts.

Every published incidence becomes an exact number of patients (percent of the
safety population, rounded). Per term, each patient has one record at their worst
grade; overall grade-3 and grade-4 incidences are worst grades, and the grade-3
and grade-4 sets are kept disjoint, so counting "patients with a grade 3 event" or
"patients whose worst grade is 3" gives the same numbers. Background terms
(:data:`oncotrial.sim.terms.BACKGROUND_TERMS`) fill what the named terms leave.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from oncotrial.protocol import DAYS_PER_MONTH, Protocol
from oncotrial.sim.recon_counts import count_for
from oncotrial.sim.terms import background_terms


@dataclass
class SafetyPlan:
    ae: pd.DataFrame                     # row, AETERM, AETOXGR, AESER, AEREL, AEACN, STDY, ENDY
    drug_end: dict = field(default_factory=dict)     # (arm, drug) -> end day per patient (NaN untreated)
    reductions: dict = field(default_factory=dict)   # (arm, drug) -> (n, 3) reduction days
    notes: list[str] = field(default_factory=list)


def _take(rng: np.random.Generator, pool: np.ndarray, k: int, prefer: np.ndarray | None = None) -> np.ndarray:
    """``k`` members of ``pool``, those in ``prefer`` first (in random order)."""
    pool = rng.permutation(pool)
    if prefer is not None:
        pool = np.concatenate([pool[np.isin(pool, prefer)], pool[~np.isin(pool, prefer)]])
    return pool[:k]


def _next_dosing_day(x: float, cycle: int, days_on: int) -> float:
    pos = (x - 1) % cycle
    return x if pos < days_on else x + (cycle - pos)


def plan_safety(protocol: Protocol, arm: np.ndarray, treated: np.ndarray, eot: np.ndarray, cut: np.ndarray,
                rng: np.random.Generator) -> SafetyPlan:
    """AEs, dose reductions and withdrawals of each treated patient (analysis days)."""
    pub = protocol.published
    s = pub.safety if pub is not None else None
    rows: list[dict] = []
    notes: list[str] = []
    n = arm.size
    bg_terms = background_terms([e.term for e in s.events] if s is not None else [])
    drug_end: dict = {}
    reductions: dict = {}

    def onset(i: int, lo: float = 1.0) -> float:
        hi = max(eot[i], lo)
        return float(min(np.ceil(rng.uniform(lo, min(hi, lo + 6 * DAYS_PER_MONTH))), hi))

    def add(i: int, term: str, grade: int, start: float | None = None, related: str = "Y") -> int:
        st = onset(i) if start is None else start
        en = st + int(rng.integers(5, 30))
        rows.append({"row": int(i), "AETERM": term, "AETOXGR": int(grade), "AESER": "N", "AEREL": related,
                     "AEACN": "DOSE NOT CHANGED", "STDY": st, "ENDY": en if en <= cut[i] else np.nan})
        return len(rows) - 1

    for a in protocol.arms:
        pts = np.flatnonzero((arm == a.code) & treated)
        N = pts.size
        for d in a.regimen:
            drug_end[(a.code, d.drug)] = np.where((arm == a.code) & treated, eot, np.nan)
        if N == 0 or s is None:
            continue
        get = lambda fld: (getattr(s, fld).get(a.code) if getattr(s, fld) else None)  # noqa: E731
        k_any = count_for(get("any_grade"), N) if get("any_grade") is not None else N
        k4 = count_for(get("grade4"), N) if get("grade4") is not None else 0
        k3 = count_for(get("grade3"), N) if get("grade3") is not None else 0
        if k3 + k4 > k_any:
            notes.append(f"arm {a.code}: grade 3 + grade 4 exceed any grade; grade 3 cut")
            k3 = k_any - k4
        perm = rng.permutation(pts)
        g4set, g3set, anyset = perm[:k4], perm[k4:k4 + k3], perm[:k_any]
        has_g = {int(i): 0 for i in anyset}   # worst grade placed so far
        # named terms, highest grades first so they land in the right worst-grade sets
        evs = [e for e in s.events if a.code in (e.percent or e.count)]
        evs.sort(key=lambda e: -(e.grade or e.min_grade))
        used_by_term: dict[str, set[int]] = {}
        for e in evs:
            g = e.grade or e.min_grade
            k = int(e.count[a.code]) if (e.count and not e.percent) else count_for(e.percent[a.code], N)
            taken = used_by_term.setdefault(e.term.lower(), set())
            if g >= 4:
                pool = np.array([i for i in g4set if i not in taken], dtype=int)
            elif g == 3:
                pool = np.array([i for i in g3set if i not in taken], dtype=int)
                if e.min_grade is not None and pool.size < k:
                    pool = np.concatenate([pool, [i for i in g4set if i not in taken]]).astype(int)
            else:
                # grade 1-2 records: anyone with an AE; prefer patients already in the set
                pool = np.array([i for i in anyset if i not in taken], dtype=int)
            if pool.size < k:
                notes.append(f"arm {a.code}: {e.term} grade {g}: only {pool.size} of {k} patients can carry it "
                             f"within the published overall grade incidences")
                k = pool.size
            chosen = rng.choice(pool, size=k, replace=False) if k else np.array([], int)
            for i in chosen:
                gg = 4 if (g == 3 and e.min_grade is not None and i in set(g4set)) else g
                add(i, e.term, gg)
                taken.add(int(i))
                has_g[int(i)] = max(has_g.get(int(i), 0), gg)
        # background: worst grade where still missing, then low-grade extras
        for i in g4set:
            if has_g[int(i)] < 4:
                add(i, rng.choice(bg_terms), 4, related="N")
                has_g[int(i)] = 4
        for i in g3set:
            if has_g[int(i)] < 3:
                add(i, rng.choice(bg_terms), 3, related="N")
                has_g[int(i)] = 3
        for i in anyset:
            if has_g[int(i)] == 0:
                add(i, rng.choice(bg_terms), int(rng.integers(1, 3)), related="N")
                has_g[int(i)] = 1
        extra = rng.choice(anyset, size=len(anyset) // 2, replace=False) if len(anyset) else []
        for i in extra:
            add(i, rng.choice(bg_terms), 1, related="N")
    ae = pd.DataFrame(rows, columns=["row", "AETERM", "AETOXGR", "AESER", "AEREL", "AEACN", "STDY", "ENDY"])

    # serious AEs: exact numbers of patients, on their worst event
    if s is not None:
        for a in protocol.arms:
            pts = np.flatnonzero((arm == a.code) & treated)
            if a.code not in s.serious or pts.size == 0:
                continue
            k = count_for(s.serious[a.code], pts.size)
            sub = ae[ae["row"].isin(pts)]
            worst = sub.sort_values("AETOXGR", ascending=False, kind="stable").drop_duplicates("row")
            prefer = worst[worst["AETOXGR"] >= 3]
            chosen = pd.concat([prefer.sample(frac=1, random_state=rng), worst[worst["AETOXGR"] < 3].sample(frac=1, random_state=rng)])
            ae.loc[chosen.index[:k], "AESER"] = "Y"
            if k > len(chosen):
                notes.append(f"arm {a.code}: serious AEs: only {len(chosen)} patients have an AE")

    # dose modifications of reducible drugs
    mods = {(m.arm, m.drug): m for m in (pub.dose_modifications if pub is not None else [])}
    for a in protocol.arms:
        pts = np.flatnonzero((arm == a.code) & treated)
        for d in a.regimen:
            if len(d.dose_levels) < 2 or pts.size == 0:
                continue
            m = mods.get((a.code, d.drug))
            red = np.full((n, 3), np.nan)
            end = drug_end[(a.code, d.drug)]
            k_red = count_for(m.reduction, pts.size) if m is not None and m.reduction is not None else 0
            k_wd = count_for(m.discontinuation_for_ae, pts.size) if m is not None and m.discontinuation_for_ae is not None else 0
            med = (m.median_time_to_first_reduction if m is not None and m.median_time_to_first_reduction else 3.0) * DAYS_PER_MONTH
            target = float(np.round(med))
            pos = (target - 1) % d.cycle_length_days
            if pos >= d.days_on:
                # a reduction shows in EX on a dosing day: move the median onto the nearest one
                target = target - (pos - d.days_on + 1) if pos - d.days_on + 1 <= d.cycle_length_days - pos else target + d.cycle_length_days - pos
            # reduction days around the published median; the middle ones exactly on it
            days = np.sort(np.round(np.exp(rng.normal(np.log(med), 0.6, k_red))))
            days = np.clip(days, 8, None)
            if k_red:
                mid = (k_red - 1) // 2, k_red // 2
                days[: mid[0]] = np.minimum(days[: mid[0]], target)
                days[mid[1]:] = np.maximum(days[mid[1]:], target)
                days[mid[0]] = days[mid[1]] = target
            sub = ae[ae["row"].isin(pts) & (ae["AETOXGR"] >= 3)].drop_duplicates("row")
            severe = sub["row"].to_numpy()
            order = _take(rng, pts, pts.size, prefer=severe)
            need = list(rng.permutation(days))
            chosen = []
            for i in order:
                if not need:
                    break
                # the reduction shows in EX on the next dosing day, which must come before the drug ends
                fit = [x for x in need if _next_dosing_day(x, d.cycle_length_days, d.days_on) < end[i] - 1]
                if fit:
                    x = fit[0]
                    need.remove(x)
                    chosen.append((i, x))
            if need:
                notes.append(f"{d.drug}: {len(need)} reductions could not be placed before the end of treatment")
            levels_left = (d.dose_levels.index(d.min_dose) if d.min_dose in d.dose_levels else len(d.dose_levels) - 1)
            for i, x in chosen:
                red[i, 0] = x
                idx = ae.index[(ae["row"] == i) & (ae["AETOXGR"] >= 3) & (ae["AEACN"] == "DOSE NOT CHANGED")]
                if len(idx):
                    ae.loc[idx[0], ["STDY", "AEACN"]] = [x, "DOSE REDUCED"]
                else:
                    j = add(i, rng.choice(bg_terms), 2, start=x)
                    ae = pd.concat([ae, pd.DataFrame([rows[j]])], ignore_index=True)
                    ae.loc[ae.index[-1], "AEACN"] = "DOSE REDUCED"
                if levels_left >= 2 and rng.random() < 0.3 and x + 90 < end[i] - 1:
                    red[i, 1] = x + float(rng.integers(60, 90))
            # withdrawals for AEs: a later AE of the patient (or a new low-grade one) stops the drug
            cand = _take(rng, pts, pts.size, prefer=np.array([i for i, _ in chosen]))
            placed = 0
            for i in cand:
                if placed >= k_wd:
                    break
                lo = np.nanmax([red[i, 0], red[i, 1], 0]) + 14
                if end[i] - 1 <= lo:
                    continue
                x = float(np.ceil(rng.uniform(lo, min(end[i] - 1, lo + 365))))
                j = ae.index[(ae["row"] == i) & (ae["AEACN"] == "DOSE NOT CHANGED")]
                if len(j):
                    ae.loc[j[0], ["STDY", "AEACN"]] = [x, "DRUG WITHDRAWN"]
                    ae.loc[j[0], "ENDY"] = x + 10 if x + 10 <= cut[i] else np.nan
                else:
                    continue
                end[i] = x
                placed += 1
            if placed < k_wd:
                notes.append(f"{d.drug}: only {placed} of {k_wd} withdrawals for AEs could be placed")
            drug_end[(a.code, d.drug)] = end
            reductions[(a.code, d.drug)] = red
    # AEs stay within treatment (+30 days) and before the cut-off
    return SafetyPlan(ae.sort_values(["row", "STDY"], kind="stable").reset_index(drop=True), drug_end, reductions, notes)
