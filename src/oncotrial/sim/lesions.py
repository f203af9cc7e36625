"""The simulator measures lesions: SDTM TU/TR behind every simulated tumour response.

Each patient gets lesions at the screening visit (one to three target lesions, at most two per
organ, non-nodal >= 10 mm and nodes >= 15 mm short axis; up to two non-target lesions; a patient
whose responses are NON-CR/NON-PD has non-target disease only) and, at each assessment, the
measurements that make RECIST 1.1 (:mod:`oncotrial.recist`) give that visit's response: a sum of
diameters at least 30% below baseline for PR, above that and short of progression for SD, 20% and
5 mm over the nadir for PD, every target gone (nodes under 10 mm) and every non-target absent for
CR, a target not measured for NE, an unequivocal progression of a non-target for PD without
targets. Depths are planned over the whole course, so that stable disease after a partial
response stays stable (the nadir is never so deep that SD would be out of reach).

The lesions are drawn from their own random stream, seeded by the trial's subjects, so the rest of
the simulation draws exactly what it drew before. RS is then computed from TU/TR by the engine
and checked against the responses planned: a difference is an error, never silently kept.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from oncotrial.protocol import Protocol

TARGET_ORGANS = ("LIVER", "LUNG", "LYMPH NODE", "BREAST", "ADRENAL GLAND", "SKIN")
NONTARGET_ORGANS = ("BONE", "PLEURA", "LYMPH NODE", "LIVER", "PERITONEUM")
METHOD = "CT SCAN"
EVALUATOR = "INVESTIGATOR"


def _rng(pts: pd.DataFrame) -> np.random.Generator:
    digest = hashlib.sha256("|".join(pts["USUBJID"].astype(str)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _pd_threshold(nadir: float) -> float:
    """The smallest sum RECIST calls progression over ``nadir``: +20% and +5 mm."""
    return max(1.2 * nadir, nadir + 5.0)


class _Patient:
    """One patient's lesions and the sums chosen visit by visit."""

    def __init__(self, usubjid: str, responses: list[str], rng: np.random.Generator):
        self.usubjid = usubjid
        self.nt_only = "NON-CR/NON-PD" in responses
        self.targets: list[tuple[str, str, float]] = []  # (link id, organ, baseline mm)
        if not self.nt_only:
            # after a complete response, a node would stay under 10 mm and PR could not be told from CR
            regrows = any(r in ("PR", "SD") and "CR" in responses[:i] for i, r in enumerate(responses))
            choices = [o for o in TARGET_ORGANS if not (regrows and o == "LYMPH NODE")]
            organs = rng.choice(choices, size=int(rng.integers(1, 4)), replace=False)
            for i, organ in enumerate(organs, start=1):
                size = float(rng.integers(15, 36)) if organ == "LYMPH NODE" else float(rng.integers(12, 51))
                self.targets.append((f"T{i:02d}", str(organ), size))
        n_nt = int(rng.integers(1, 3)) if self.nt_only else int(rng.integers(0, 3))
        self.nontargets = [(f"NT{i:02d}", str(o)) for i, o in
                           enumerate(rng.choice(NONTARGET_ORGANS, size=n_nt, replace=False), start=1)]
        # stable disease after a partial response needs a nadir from which SD is still reachable
        pr_then_sd = any(r == "SD" and "PR" in responses[:i] for i, r in enumerate(responses))
        self.pr_depth = float(rng.uniform(0.6, 0.68) if pr_then_sd else rng.uniform(0.4, 0.68))
        self.sd_level = float(rng.uniform(0.78, 1.1))
        self.base = sum(s for _, _, s in self.targets)

    def sizes(self, total: float) -> list[float]:
        """Target sizes (whole mm) summing to ``total``, each in proportion to its baseline size."""
        raw = [total * s / self.base for _, _, s in self.targets]
        out = [float(np.floor(x)) for x in raw]
        for i in np.argsort([-(x - np.floor(x)) for x in raw])[: int(round(total - sum(out)))]:
            out[int(i)] += 1.0
        return out

    def not_complete(self, sizes: list[float]) -> list[float]:
        """``sizes`` such that RECIST cannot call them CR: when nothing but nodes under 10 mm is left,
        the largest node is kept at 10 mm (a short axis of 10 mm or more is disease)."""
        nodal = [organ == "LYMPH NODE" for _, organ, _ in self.targets]
        if any(v > 0 for v, n in zip(sizes, nodal) if not n) or any(v >= 10 for v, n in zip(sizes, nodal) if n):
            return sizes
        out = list(sizes)
        i = max((k for k, n in enumerate(nodal) if n), key=lambda k: out[k])
        out[i] = 10.0
        return out

    def target_sum(self, response: str, nadir: float) -> float | None:
        """The sum of diameters for ``response`` given the nadir so far; None for CR (all gone)."""
        s0 = self.base
        if response == "CR":
            return None
        if response == "PR":
            want = np.floor(self.pr_depth * s0)
            return float(min(want, np.floor(0.7 * s0), np.ceil(_pd_threshold(nadir)) - 1))
        if response == "SD":
            low, high = np.floor(0.7 * s0) + 1, np.ceil(_pd_threshold(nadir)) - 1
            return float(min(max(np.round(self.sd_level * s0), low), high))
        if response == "PD":
            return float(np.ceil(_pd_threshold(nadir)) + 1)
        raise ValueError(f"{self.usubjid}: no target sum for response {response!r}")


def draw_lesions(protocol: Protocol, pts: pd.DataFrame, rs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SDTM TU and TR behind each patient's RS rows (``RSSTRESC`` per visit, in VISITNUM order)."""
    rng = _rng(pts)
    rand = dict(zip(pts["USUBJID"].astype(str), pd.to_datetime(pts["RANDDT"])))
    study = protocol.study.id
    screening = 0.0
    if protocol.edc is not None:
        screening = next((float(v.visitnum) for v in protocol.edc.visits if v.kind == "screening"
                          and v.visitnum is not None), 0.0)
    tu_rows: list[dict] = []
    tr_rows: list[dict] = []
    order = {u: i for i, u in enumerate(pts["USUBJID"].astype(str))}
    frame = rs.assign(_o=rs["USUBJID"].astype(str).map(order)).sort_values(["_o", "VISITNUM"], kind="stable")
    for uid, visits in frame.groupby("USUBJID", sort=False):
        uid = str(uid)
        responses = visits["RSSTRESC"].astype(str).tolist()
        p = _Patient(uid, responses, rng)
        base_day = (rand[uid] - pd.Timedelta(days=int(rng.integers(3, 21)))).strftime("%Y-%m-%d")
        lesions = [(lid, organ, "TARGET") for lid, organ, _ in p.targets] + \
                  [(lid, organ, "NON-TARGET") for lid, organ in p.nontargets]
        for seq, (lid, organ, role) in enumerate(lesions, start=1):
            tu_rows.append({"STUDYID": study, "DOMAIN": "TU", "USUBJID": uid, "TUSEQ": seq, "TULNKID": lid,
                            "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification", "TUORRES": role,
                            "TUSTRESC": role, "TULOC": organ, "TUMETHOD": METHOD, "TUEVAL": EVALUATOR,
                            "VISITNUM": screening, "VISIT": "SCREENING", "TUDTC": base_day})
        rows: list[dict] = []

        def measure(visit: str, visitnum: float, day: str, target: list[float | None], states: list[str]) -> None:
            for (lid, _, _), v in zip(p.targets, target):
                rows.append({"TRLNKID": lid, "TRTESTCD": "LDIAM", "TRTEST": "Longest Diameter",
                             "TRORRES": "NOT DONE" if v is None else f"{v:g}",
                             "TRSTRESC": "NOT DONE" if v is None else f"{v:g}",
                             "TRSTRESN": np.nan if v is None else v, "TRSTRESU": "mm", "TRGRPID": "TARGET",
                             "VISIT": visit, "VISITNUM": visitnum, "TRDTC": day})
            for (lid, _), state in zip(p.nontargets, states):
                rows.append({"TRLNKID": lid, "TRTESTCD": "TUMSTATE", "TRTEST": "Tumor State", "TRORRES": state,
                             "TRSTRESC": state, "TRSTRESN": np.nan, "TRSTRESU": "", "TRGRPID": "NON-TARGET",
                             "VISIT": visit, "VISITNUM": visitnum, "TRDTC": day})

        measure("SCREENING", screening, base_day, [s for _, _, s in p.targets], ["PRESENT"] * len(p.nontargets))
        nadir = p.base
        for v, resp in zip(visits.itertuples(index=False), responses):
            day = str(v.RSDTC)[:10]
            present = ["PRESENT"] * len(p.nontargets)
            if resp == "CR":
                target = [5.0 if organ == "LYMPH NODE" else 0.0 for _, organ, _ in p.targets]
                measure(v.VISIT, v.VISITNUM, day, target, ["ABSENT"] * len(p.nontargets))
                nadir = min(nadir, sum(target))
            elif resp == "NE":
                target = [None] * len(p.targets)
                states = present if p.targets else ["NOT DONE"] * len(p.nontargets)
                measure(v.VISIT, v.VISITNUM, day, target, states)
            elif p.nt_only or not p.targets:
                states = present.copy()
                if resp == "PD":
                    states[0] = "UNEQUIVOCAL PROGRESSION"
                elif resp == "CR":
                    states = ["ABSENT"] * len(p.nontargets)
                measure(v.VISIT, v.VISITNUM, day, [], states)
            else:
                sizes = p.sizes(p.target_sum(resp, nadir))
                if resp in ("PR", "SD"):
                    sizes = p.not_complete(sizes)
                measure(v.VISIT, v.VISITNUM, day, sizes, present)
                nadir = min(nadir, sum(sizes))
        for seq, r in enumerate(rows, start=1):
            tr_rows.append({"STUDYID": study, "DOMAIN": "TR", "USUBJID": uid, "TRSEQ": seq, **r,
                            "TREVAL": EVALUATOR})
    tu = pd.DataFrame(tu_rows)
    tr = pd.DataFrame(tr_rows)
    return tu, tr


def rs_from_lesions(tu: pd.DataFrame, tr: pd.DataFrame, planned: pd.DataFrame) -> pd.DataFrame:
    """``planned`` RS with each visit's response as RECIST 1.1 computes it from ``tu``/``tr``; an error
    names the first visit where the lesions do not give the planned response."""
    from oncotrial.recist import recist

    visits = recist(tu, tr).visits[["USUBJID", "VISITNUM", "OVRLRESP"]]
    got = planned[["USUBJID", "VISITNUM"]].merge(visits, on=["USUBJID", "VISITNUM"], how="left")
    differ = got["OVRLRESP"].astype(str).to_numpy() != planned["RSSTRESC"].astype(str).to_numpy()
    if differ.any():
        i = int(np.flatnonzero(differ)[0])
        raise ValueError(f"RS: the lesions of {got['USUBJID'].iloc[i]} give {got['OVRLRESP'].iloc[i]} at visit "
                         f"{got['VISITNUM'].iloc[i]:g}, the simulation planned {planned['RSSTRESC'].iloc[i]}")
    out = planned.copy()
    out["RSORRES"] = out["RSSTRESC"] = got["OVRLRESP"].to_numpy()
    return out
