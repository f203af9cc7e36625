"""Arm balance overall, by stratum and by factor level, with allocation-list use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from oncotrial.irt.db.models import AllocationRow, Randomization
from oncotrial.irt.services.trial import Trial
from oncotrial.randomization import Stratum, balance_report


def balance(conn: Connection, trial: Trial) -> dict[str, Any]:
    """Arm counts and imbalance overall, by stratum (as randomized) and by factor level, plus
    list use per stratum.

    Counts and imbalance come from :func:`oncotrial.randomization.balance_report`, so the
    imbalance is the range of ``n_arm / ratio_arm`` (0 for a trial split exactly at its
    allocation ratio, e.g. 2:1), the same figure the randomization package reports.
    """
    arms = [a.code for a in trial.arms]
    ratio = [a.ratio for a in trial.arms]
    counts = conn.execute(select(Randomization.stratum, Randomization.arm, func.count())
                          .group_by(Randomization.stratum, Randomization.arm)).all()
    slots = conn.execute(select(AllocationRow.stratum, AllocationRow.assigned, func.count(), func.min(AllocationRow.id))
                         .group_by(AllocationRow.stratum, AllocationRow.assigned)).all()
    first_row: dict[str, int] = {}
    list_use: dict[str, dict[str, int]] = {}
    for stratum, assigned, n, first in slots:
        first_row[stratum] = min(first, first_row.get(stratum, first))
        use = list_use.setdefault(stratum, {"list_used": 0, "list_remaining": 0})
        use["list_used" if assigned else "list_remaining"] += n
    # Strata in list order, then any randomized outside the list (none today; kept visible, not dropped).
    order = sorted(first_row, key=first_row.__getitem__)
    order += sorted({s for s, _, _ in counts} - set(first_row))
    keys: list[str] = []
    assigned_arms: list[str] = []
    for stratum, arm, n in counts:
        keys.extend([stratum] * n)
        assigned_arms.extend([arm] * n)
    report = balance_report(keys, assigned_arms, arms, ratio, all_strata=order)
    strata = []
    factors: dict[str, dict[str, dict[str, int]]] = {f.name: {c: dict.fromkeys(arms, 0) for c in f.codes}
                                                     for f in trial.factors}
    factor_imbalance: dict[str, dict[str, float]] = {f.name: dict.fromkeys(f.codes, 0.0) for f in trial.factors}
    for row in report.rows:
        by_arm = dict(zip(arms, row.counts))
        if row.scope == "stratum":
            strata.append({"stratum": row.stratum, "levels": Stratum.from_key(row.stratum).as_dict(), "arms": by_arm,
                           **list_use.get(row.stratum, {"list_used": 0, "list_remaining": 0}),
                           "total": sum(row.counts), "imbalance": row.imbalance})
        elif row.scope == "factor":
            factors.setdefault(row.factor, {})[row.level] = by_arm
            factor_imbalance.setdefault(row.factor, {})[row.level] = row.imbalance
        else:
            overall = by_arm
    return {"study_id": trial.study_id, "total": sum(overall.values()), "arms": overall, "ratio": dict(zip(arms, ratio)),
            "strata": strata, "factors": factors, "factor_imbalance": factor_imbalance, **{
                k: v for k, v in report.to_dict().items() if k.endswith("imbalance")}}
