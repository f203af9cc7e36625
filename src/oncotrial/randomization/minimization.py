"""Pocock-Simon minimization (Pocock & Simon, Biometrics 1975;31:103-115).

For a new patient, each candidate arm k is scored by the imbalance the trial would
have if the patient went to k: for every factor f, take the arm counts among
patients already assigned who share the new patient's level of f, add the patient
to arm k, divide each arm's count by its ratio entry (so a 2:1 split counts as
balanced) and measure the spread -- range (max - min) or population variance.
The score G_k is the weighted sum over factors. Arms are ranked by G_k with ties
broken at random; the best arm is chosen with probability ``p_best`` and each other
arm with ``(1 - p_best) / (K - 1)`` (Pocock and Simon's biased coin). When every arm
ties, the arm is drawn at the allocation ratio. A site is one more factor: add
``"site": [site ids]`` to ``factors`` (often with a smaller weight).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from oncotrial.randomization._checks import check_arms, check_levels, check_ratio, check_seed
from oncotrial.randomization._rng import stream

IMBALANCE = ("range", "variance")
_TIE_DECIMALS = 9  # scores are sums of ratio-scaled counts; rounding removes float noise before ranking


def imbalance_scores(current: np.ndarray, ratio: np.ndarray, weights: np.ndarray, imbalance: str) -> np.ndarray:
    """Numeric core: G_k for every candidate arm.

    ``current`` has shape (..., F, K): per factor, arm counts among patients sharing
    the new patient's level. Returns shape (..., K).

    Example
    -------
    >>> imbalance_scores(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([1.0, 1.0]), np.array([1.0, 1.0]), "range")
    array([4., 2.])
    """
    k = current.shape[-1]
    scaled = current / ratio
    # K is small (2-4): explicit loops over arms keep every operation elementwise on
    # (..., F) arrays, far faster than reductions along a length-K last axis.
    columns = [scaled[..., j] for j in range(k)]
    out = []
    for cand in range(k):
        hyp = [columns[j] + 1.0 / ratio[j] if j == cand else columns[j] for j in range(k)]
        if imbalance == "range":
            spread = functools.reduce(np.maximum, hyp) - functools.reduce(np.minimum, hyp)
        else:
            mean = sum(hyp) / k
            spread = sum((h - mean) ** 2 for h in hyp) / k
        out.append(spread @ weights)
    return np.stack(out, axis=-1)


def choose_arm(
    scores: np.ndarray,
    ratio_probs: np.ndarray,
    p_best: float,
    u_ties: np.ndarray,
    u_choice: np.ndarray,
    u_other: np.ndarray,
) -> np.ndarray:
    """Numeric core: the biased-coin choice from scores (..., K) and uniform draws.

    ``u_ties`` (..., K) breaks ties in the ranking; ``u_choice`` (...) decides best vs
    other (or, when all arms tie, the arm at the ratio); ``u_other`` (...) picks which
    other arm.

    Example
    -------
    >>> choose_arm(np.array([[3.0, 1.0], [0.0, 0.0]]), np.array([0.5, 0.5]), 0.8,
    ...            np.zeros((2, 2)), np.array([0.5, 0.7]), np.zeros(2)).tolist()
    [1, 1]
    """
    k = scores.shape[-1]
    g = np.round(scores, _TIE_DECIMALS)
    order = np.lexsort((u_ties, g), axis=-1)
    best = order[..., 0]
    other_pos = 1 + np.minimum((u_other * (k - 1)).astype(int), k - 2)
    other = np.take_along_axis(order, other_pos[..., None], axis=-1)[..., 0]
    arm = np.where(u_choice < p_best, best, other)
    columns = [g[..., j] for j in range(k)]
    all_tied = functools.reduce(np.maximum, columns) == functools.reduce(np.minimum, columns)
    at_ratio = np.minimum(np.searchsorted(np.cumsum(ratio_probs), u_choice, side="right"), k - 1)
    return np.where(all_tied, at_ratio, arm)


@dataclass(frozen=True)
class Minimization:
    """Pocock-Simon minimization with a biased coin; pure and seeded.

    Parameters
    ----------
    factors : factor name -> level codes (protocol order); may include ``"site"``.
    arms : arm codes.
    ratio : allocation ratio, one positive integer per arm.
    weights : per-factor weights (mapping by name, factors not named get 1; or a sequence in
        factor order); default all 1.
    imbalance : ``"range"`` or ``"variance"``.
    p_best : probability of the arm with the lowest score, in [1/K, 1].
    seed : the list's seed; the draw for the n-th patient uses a stream from (seed, n).

    Example
    -------
    >>> m = Minimization({"sex": ["F", "M"], "stage": ["I", "II"]}, ["A", "B"], p_best=1.0, seed=1)
    >>> history = [({"sex": "F", "stage": "I"}, "A"), ({"sex": "M", "stage": "I"}, "B"),
    ...            ({"sex": "F", "stage": "II"}, "A")]
    >>> m.scores({"sex": "F", "stage": "II"}, history)   # F: A2 B0 -> 3|1, II: A1 B0 -> 2|0
    {'A': 5.0, 'B': 1.0}
    >>> m.assign({"sex": "F", "stage": "II"}, history)
    'B'
    >>> Minimization(m.factors, m.arms, p_best=0.8).probabilities({"sex": "F", "stage": "II"}, history)
    {'A': 0.19999999999999996, 'B': 0.8}
    """

    factors: Mapping[str, Sequence[str]]
    arms: Sequence[str]
    ratio: Sequence[int] = (1, 1)
    weights: Mapping[str, float] | Sequence[float] | None = None
    imbalance: str = "range"
    p_best: float = 0.8
    seed: int = 0

    def __post_init__(self) -> None:
        levels = check_levels(self.factors, "factors")
        if not levels:
            raise ValueError("factors: expected at least one factor")
        arms = check_arms(self.arms)
        ratio = check_ratio(self.ratio, len(arms))
        names = tuple(levels)
        if self.weights is None:
            w = (1.0,) * len(names)
        elif isinstance(self.weights, Mapping):
            unknown = [k for k in self.weights if k not in levels]
            if unknown:
                raise ValueError(f"weights: {unknown[0]!r} is not a factor; expected some of {', '.join(map(repr, names))}")
            w = tuple(float(self.weights.get(f, 1.0)) for f in names)
        else:
            items = list(self.weights)
            if len(items) != len(names):
                raise ValueError(f"weights: has {len(items)} entries but there are {len(names)} factors")
            w = tuple(float(x) for x in items)
        for f, x in zip(names, w):
            if not np.isfinite(x) or x < 0:
                raise ValueError(f"weights[{f!r}]: expected a finite number >= 0, got {x!r}")
        if sum(w) <= 0:
            raise ValueError("weights: all weights are 0; expected at least one positive weight")
        if self.imbalance not in IMBALANCE:
            raise ValueError(f"imbalance: {self.imbalance!r} is not one of {', '.join(map(repr, IMBALANCE))}")
        try:
            p = float(self.p_best)
        except (TypeError, ValueError):
            raise ValueError(f"p_best: expected a probability, got {self.p_best!r}") from None
        if not (1.0 / len(arms) <= p <= 1.0):
            raise ValueError(f"p_best: {self.p_best!r} must lie in [1/{len(arms)}, 1] (a coin favouring the best arm)")
        object.__setattr__(self, "factors", levels)
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "weights", dict(zip(names, w)))
        object.__setattr__(self, "p_best", p)
        object.__setattr__(self, "seed", check_seed(self.seed))

    # -- argument checks -------------------------------------------------------------
    def _levels_of(self, profile: Mapping[str, str], name: str) -> tuple[str, ...]:
        if not isinstance(profile, Mapping):
            raise ValueError(f"{name}: expected a mapping of factor name to level code, got {type(profile).__name__}")
        out = []
        for f, allowed in self.factors.items():
            if f not in profile:
                raise ValueError(f"{name}: factor {f!r} is missing")
            v = profile[f]
            if v not in allowed:
                raise ValueError(f"{name}[{f!r}]: unknown level {v!r}; expected one of {', '.join(map(repr, allowed))}")
            out.append(v)
        return tuple(out)

    def _current(self, profile: Mapping[str, str], history: Sequence[tuple[Mapping[str, str], str]]) -> np.ndarray:
        levels = self._levels_of(profile, "profile")
        arm_index = {a: i for i, a in enumerate(self.arms)}
        current = np.zeros((len(self.factors), len(self.arms)))
        for h, item in enumerate(history):
            try:
                past, arm = item
            except (TypeError, ValueError):
                raise ValueError(f"history[{h}]: expected a (profile, arm) pair, got {item!r}") from None
            if arm not in arm_index:
                raise ValueError(f"history[{h}]: arm {arm!r} is not one of {', '.join(map(repr, self.arms))}")
            past_levels = self._levels_of(past, f"history[{h}]")
            a = arm_index[arm]
            for f, (mine, theirs) in enumerate(zip(levels, past_levels)):
                if mine == theirs:
                    current[f, a] += 1
        return current

    # -- public ---------------------------------------------------------------------
    def scores(self, profile: Mapping[str, str], history: Sequence[tuple[Mapping[str, str], str]]) -> dict[str, float]:
        """G_k for each arm: the weighted imbalance if this patient went to arm k."""
        g = imbalance_scores(
            self._current(profile, history),
            np.asarray(self.ratio, dtype=float),
            np.asarray(list(self.weights.values())),
            self.imbalance,
        )
        return {a: float(x) for a, x in zip(self.arms, g)}

    def probabilities(self, profile: Mapping[str, str], history: Sequence[tuple[Mapping[str, str], str]]) -> dict[str, float]:
        """The probability of each arm for this patient (what :meth:`assign` draws from)."""
        g = np.round(np.array(list(self.scores(profile, history).values())), _TIE_DECIMALS)
        k = len(self.arms)
        if g.max() == g.min():
            total = sum(self.ratio)
            return {a: r / total for a, r in zip(self.arms, self.ratio)}
        n_best = int((g == g.min()).sum())
        other = (1.0 - self.p_best) / (k - 1)
        probs = {}
        for a, x in zip(self.arms, g):
            first = 1.0 / n_best if x == g.min() else 0.0
            probs[a] = first * self.p_best + (1.0 - first) * other
        return probs

    def assign(self, profile: Mapping[str, str], history: Sequence[tuple[Mapping[str, str], str]]) -> str:
        """The arm for a new patient given the (profile, arm) pairs already assigned.

        Pure: the same seed, profile and history give the same arm; the random draw
        depends only on ``seed`` and ``len(history)``.
        """
        g = imbalance_scores(
            self._current(profile, history),
            np.asarray(self.ratio, dtype=float),
            np.asarray(list(self.weights.values())),
            self.imbalance,
        )
        rng = stream(self.seed, "minimization", str(len(history)))
        u = rng.random(len(self.arms) + 2)
        total = sum(self.ratio)
        arm = choose_arm(
            g, np.asarray(self.ratio) / total, self.p_best, u[: len(self.arms)], u[-2], u[-1]
        )
        return self.arms[int(arm)]

    def assign_sequence(self, profiles: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
        """Assign patients one after another, each seeing all earlier ones.

        Example
        -------
        >>> m = Minimization({"sex": ["F", "M"]}, ["A", "B"], seed=2)
        >>> len(m.assign_sequence([{"sex": "F"}, {"sex": "M"}, {"sex": "F"}]))
        3
        """
        history: list[tuple[Mapping[str, str], str]] = []
        for profile in profiles:
            history.append((profile, self.assign(profile, history)))
        return tuple(a for _, a in history)
