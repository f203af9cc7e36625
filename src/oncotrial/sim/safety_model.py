"""AE and dose-modification models of each arm, from a protocol's published safety results.

Each published event ``{term, grade | min_grade, percent | count}`` becomes that
term's probability of that worst grade in that arm. A background term (drawn from
:data:`oncotrial.sim.terms.BACKGROUND_TERMS`) takes up what the named terms leave of
the published "any grade", "grade 3" and "grade 4" incidences, assuming terms
occur independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotrial.protocol import Protocol

BACKGROUND = "__background__"


@dataclass(frozen=True)
class AEModel:
    """One adverse-event term in one arm: probability of each worst CTCAE grade 1..5."""

    term: str
    grade_probs: tuple[float, float, float, float, float]
    serious_prob: tuple[float, float, float, float, float] = (0.0, 0.02, 0.25, 0.6, 1.0)
    related: bool = True


@dataclass(frozen=True)
class DoseModel:
    """Dose modifications of one reducible drug in one arm."""

    drug: str
    reduce_prob: float           # P(at least one reduction | a grade >= 3 AE while on the drug)
    second_reduce_prob: float    # P(second reduction | first)
    below_min_prob: float        # P(a further reduction, i.e. stopping, | dose at min)
    discontinue_ae_prob: float   # P(drug withdrawn for an AE)
    interrupt_prob: float = 0.3  # P(a cycle with a grade >= 3 AE is interrupted rather than completed)


def arm_sizes(protocol: Protocol) -> dict[str, float]:
    """Randomized patients per arm: published counts, else the randomized total split by ratio."""
    pub = protocol.published
    if pub is not None and pub.n_randomized and all(a in pub.n_randomized for a in protocol.arm_codes):
        return {a: float(pub.n_randomized[a]) for a in protocol.arm_codes}
    n = protocol.accrual.randomized_n or protocol.accrual.target_n
    tot = sum(a.ratio for a in protocol.arms)
    return {a.code: n * a.ratio / tot for a in protocol.arms}


def published_term_grades(protocol: Protocol) -> dict[str, dict[str, np.ndarray]]:
    """arm -> term -> probabilities of worst grade 1..5 implied by published.safety.events."""
    sizes = arm_sizes(protocol)
    out: dict[str, dict[str, np.ndarray]] = {a: {} for a in protocol.arm_codes}
    safety = protocol.published.safety if protocol.published is not None else None
    if safety is None:
        return out
    for ev in safety.events:
        g = ev.grade if ev.grade is not None else ev.min_grade
        for a in protocol.arm_codes:
            if a in ev.percent:
                p = ev.percent[a] / 100.0
            elif a in ev.count:
                p = ev.count[a] / sizes[a]
            else:
                continue
            probs = out[a].setdefault(ev.term, np.zeros(5))
            probs[g - 1] += p
    return out


def _background(named: dict[str, np.ndarray], any_: float | None, g3: float | None, g4: float | None) -> np.ndarray:
    """Worst-grade probabilities of the background term so that overall incidences come out right."""
    # P(worst <= g) over all terms = prod_t P_t(worst <= g) * P_bg(worst <= g), g = 0..4
    target = np.array([
        1 - (any_ if any_ is not None else 0.6),
        np.nan, np.nan, np.nan, 1.0,
    ])
    g4_ = g4 if g4 is not None else 0.02
    g3_ = g3 if g3 is not None else 0.10
    target[3] = 1 - g4_
    target[2] = 1 - g4_ - g3_
    target[1] = (target[0] + target[2]) / 2
    named_le = np.ones(5)
    for probs in named.values():
        cum = np.concatenate([[1 - probs.sum()], 1 - probs.sum() + np.cumsum(probs)[:-1]])
        named_le *= np.clip(cum, 1e-9, 1)
    bg_le = np.clip(target / named_le, 0, 1)
    bg_le = np.maximum.accumulate(bg_le)
    bg_le[-1] = 1.0
    # grade g (1..4) has probability P(<= g) - P(<= g-1); grade 5 none
    return np.append(np.diff(bg_le), 0.0)


SERIOUS_BY_GRADE = (0.0, 0.02, 0.25, 0.6, 1.0)
"""Baseline P(serious | worst grade 1..5) of an AE term; scaled per arm to the published SAE incidence."""


def _serious_scale(probs: list[np.ndarray], target: float | None) -> float:
    """Factor on SERIOUS_BY_GRADE giving P(any serious AE) = ``target`` when terms are independent."""
    if target is None:
        return 1.0
    base = np.asarray(SERIOUS_BY_GRADE)

    def p_any(c: float) -> float:
        s = np.minimum(base * c, 1.0)
        return 1 - float(np.prod([1 - np.dot(p, s) for p in probs]))

    lo, hi = 0.0, 50.0
    if p_any(hi) < target:
        return hi
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p_any(mid) < target else (lo, mid)
    return (lo + hi) / 2


def ae_models(protocol: Protocol) -> dict[str, tuple[AEModel, ...]]:
    """arm -> AE models: the published terms plus one background term."""
    named = published_term_grades(protocol)
    safety = protocol.published.safety if protocol.published is not None else None
    out = {}
    for a in protocol.arm_codes:
        def get(field: str) -> float | None:
            if safety is None:
                return None
            v = getattr(safety, field)
            return v[a] / 100.0 if a in v else None
        bg = _background(named[a], get("any_grade"), get("grade3"), get("grade4"))
        probs = [*named[a].values(), bg]
        scale = _serious_scale(probs, get("serious"))
        ser = tuple(float(min(x * scale, 1.0)) for x in SERIOUS_BY_GRADE)
        models = [AEModel(term=t, grade_probs=tuple(float(x) for x in p), serious_prob=ser) for t, p in named[a].items()]
        models.append(AEModel(term=BACKGROUND, grade_probs=tuple(float(x) for x in bg), serious_prob=ser, related=False))
        out[a] = tuple(models)
    return out


def dose_models(protocol: Protocol) -> dict[str, tuple[DoseModel, ...]]:
    """arm -> dose models of the drugs with more than one dose level."""
    pub = protocol.published
    mods = {(m.arm, m.drug): m for m in (pub.dose_modifications if pub is not None else [])}
    grades = ae_models(protocol)
    out: dict[str, tuple[DoseModel, ...]] = {}
    for arm in protocol.arms:
        models = []
        # P(some grade >= 3 AE) in this arm under independence
        p_no3 = np.prod([1 - sum(m.grade_probs[2:]) for m in grades[arm.code]])
        p3 = max(1 - p_no3, 1e-6)
        for drug in arm.regimen:
            if len(drug.dose_levels) < 2:
                continue
            m = mods.get((arm.code, drug.drug))
            red = (m.reduction / 100.0) if m is not None and m.reduction is not None else 0.3
            disc = (m.discontinuation_for_ae / 100.0) if m is not None and m.discontinuation_for_ae is not None else 0.05
            models.append(DoseModel(drug=drug.drug, reduce_prob=min(red / p3, 1.0), second_reduce_prob=0.35,
                                    below_min_prob=0.2, discontinue_ae_prob=disc))
        out[arm.code] = tuple(models)
    return out
