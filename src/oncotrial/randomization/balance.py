"""Balance of assigned arms per stratum, per factor level (margin) and overall.

Imbalance of a group is the range of ``n_j / r_j`` over arms j (counts divided by
the allocation ratio), so for 1:1 it is ``|n_A - n_B|`` and a group split exactly at
the ratio has imbalance 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotrial.randomization._checks import check_arms, check_ratio
from oncotrial.randomization.strata import Stratum


def imbalance(counts: np.ndarray, ratio: Sequence[int]) -> np.ndarray:
    """Numeric core: range of counts / ratio over the last axis (arms).

    Example
    -------
    >>> imbalance(np.array([[5, 3], [4, 2]]), [1, 1]).tolist()
    [2.0, 2.0]
    >>> float(imbalance(np.array([4, 2]), [2, 1]))
    0.0
    """
    scaled = np.asarray(counts, dtype=float) / np.asarray(ratio, dtype=float)
    return scaled.max(axis=-1) - scaled.min(axis=-1)


@dataclass(frozen=True)
class BalanceRow:
    """Arm counts and imbalance of one group: a stratum, a factor level, or the whole trial."""

    scope: str  # "stratum", "factor" or "overall"
    stratum: str  # stratum key (scope "stratum"), else ""
    factor: str  # factor name (scope "factor"), else ""
    level: str  # level code (scope "factor"), else ""
    counts: tuple[int, ...]
    imbalance: float


@dataclass(frozen=True)
class BalanceReport:
    """Balance per stratum, per factor level and overall; see :func:`balance_report`."""

    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    rows: tuple[BalanceRow, ...]

    def _of(self, scope: str) -> tuple[BalanceRow, ...]:
        return tuple(r for r in self.rows if r.scope == scope)

    @property
    def max_stratum_imbalance(self) -> float:
        """The largest within-stratum imbalance."""
        return max((r.imbalance for r in self._of("stratum")), default=0.0)

    @property
    def max_marginal_imbalance(self) -> float:
        """The largest imbalance within any one factor level."""
        return max((r.imbalance for r in self._of("factor")), default=0.0)

    @property
    def overall_imbalance(self) -> float:
        """Imbalance of the whole trial."""
        return self._of("overall")[0].imbalance

    def to_frame(self) -> pd.DataFrame:
        """One row per group: scope, stratum, factor, level, n, n_<arm> per arm, imbalance."""
        records = []
        for r in self.rows:
            rec: dict[str, object] = {"scope": r.scope, "stratum": r.stratum, "factor": r.factor, "level": r.level, "n": sum(r.counts)}
            rec.update({f"n_{a}": c for a, c in zip(self.arms, r.counts)})
            rec["imbalance"] = r.imbalance
            records.append(rec)
        return pd.DataFrame.from_records(records)

    def to_dict(self) -> dict[str, object]:
        """Summary figures as plain Python objects."""
        return {
            "arms": list(self.arms),
            "ratio": list(self.ratio),
            "max_stratum_imbalance": self.max_stratum_imbalance,
            "max_marginal_imbalance": self.max_marginal_imbalance,
            "overall_imbalance": self.overall_imbalance,
        }


def balance_report(
    strata: Sequence[str],
    assigned: Sequence[str],
    arms: Sequence[str],
    ratio: Sequence[int] | None = None,
    all_strata: Sequence[str] | None = None,
) -> BalanceReport:
    """Balance of assigned patients: per stratum, per factor level (parsed from the keys), overall.

    ``strata`` holds each patient's canonical stratum key and ``assigned`` their arm.
    ``all_strata`` (e.g. ``AllocationList.strata``) lists strata to report even when
    empty, in that order; otherwise strata appear in order of first appearance.

    Example
    -------
    >>> rep = balance_report(["r=CR|p=NO", "r=CR|p=NO", "r=SD|p=NO"], ["A", "A", "B"], ["A", "B"])
    >>> rep.max_stratum_imbalance, rep.overall_imbalance
    (2.0, 1.0)
    >>> rep.to_frame().set_index(["scope", "factor", "level"]).loc[("factor", "r", "CR"), ["n_A", "n_B"]].tolist()
    [2, 0]
    """
    arm_codes = check_arms(arms)
    r = check_ratio(ratio if ratio is not None else [1] * len(arm_codes), len(arm_codes))
    keys = list(strata)
    given = list(assigned)
    if len(keys) != len(given):
        raise ValueError(f"assigned: length {len(given)} differs from strata's length {len(keys)}")
    arm_index = {a: i for i, a in enumerate(arm_codes)}
    order: list[str] = list(all_strata) if all_strata is not None else []
    seen = set(order)
    counts: dict[str, np.ndarray] = {k: np.zeros(len(arm_codes), dtype=int) for k in order}
    for i, (k, a) in enumerate(zip(keys, given)):
        if a not in arm_index:
            raise ValueError(f"assigned: row {i} is arm {a!r}; expected one of {', '.join(map(repr, arm_codes))}")
        if k not in seen:
            if all_strata is not None:
                raise ValueError(f"strata: row {i} is stratum {k!r}, which is not in all_strata")
            seen.add(k)
            order.append(k)
            counts[k] = np.zeros(len(arm_codes), dtype=int)
        counts[k][arm_index[a]] += 1

    rows: list[BalanceRow] = []
    margins: dict[tuple[str, str], np.ndarray] = {}
    for k in order:
        c = counts[k]
        rows.append(BalanceRow("stratum", k, "", "", tuple(int(x) for x in c), float(imbalance(c, r))))
        for f, lv in Stratum.from_key(k).as_dict().items():
            margins.setdefault((f, lv), np.zeros(len(arm_codes), dtype=int))
            margins[(f, lv)] += c
    for (f, lv), c in margins.items():
        rows.append(BalanceRow("factor", "", f, lv, tuple(int(x) for x in c), float(imbalance(c, r))))
    total = sum(counts.values(), np.zeros(len(arm_codes), dtype=int))
    rows.append(BalanceRow("overall", "", "", "", tuple(int(x) for x in total), float(imbalance(total, r))))
    return BalanceReport(arms=arm_codes, ratio=r, rows=tuple(rows))
