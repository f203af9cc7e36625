"""Write the seeded data sets on which oncotrial.stats is compared with R survival.

Run from the repository root: ``python validation/make_datasets.py``. The CSVs go
to tests/reference/data/ and are committed, so that the R scripts in this folder
and the Python tests read exactly the same rows. Each set exercises a case that
breaks naive implementations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference" / "data"


def _frame(rng: np.random.Generator, n: int, strata: list[str], time_scale: float, round_to: int | None,
           censor_rate: float) -> pd.DataFrame:
    arm = rng.choice(["A", "B"], size=n)
    stratum = rng.choice(strata, size=n)
    x1 = rng.integers(0, 2, size=n)
    x2 = np.round(rng.normal(size=n), 3)
    x3 = np.round(rng.uniform(40, 80, size=n), 1)
    lin = -0.4 * (arm == "B") + 0.3 * x1 + 0.2 * x2 + 0.01 * (x3 - 60)
    base = time_scale * (1 + np.array([strata.index(s) for s in stratum]) * 0.25)
    t_event = rng.exponential(base * np.exp(-lin))
    t_cens = rng.exponential(base / max(censor_rate, 1e-9) if censor_rate > 0 else np.inf, size=n)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    if round_to is not None:
        time = np.round(time, round_to)
        time = np.where(time <= 0, 10.0 ** (-round_to) if round_to > 0 else 1.0, time)
    return pd.DataFrame({"time": time, "event": event, "arm": arm, "stratum": stratum,
                         "x1": x1, "x2": x2, "x3": x3})


def make() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20261124)
    sets: dict[str, pd.DataFrame] = {}

    # heavy ties: integer times on 1..12 so many events share a time
    d = _frame(rng, 300, ["s1", "s2", "s3"], 4.0, None, 0.3)
    d["time"] = np.clip(np.ceil(d["time"]), 1, 12)
    sets["ties"] = d

    # several strata with different baseline hazards
    sets["strata"] = _frame(rng, 500, [f"s{i}" for i in range(1, 7)], 12.0, 2, 0.5)

    # one stratum in which every patient is in arm A
    d = _frame(rng, 240, ["s1", "s2", "s3"], 10.0, 1, 0.4)
    d.loc[d["stratum"] == "s3", "arm"] = "A"
    sets["onearm"] = d

    # all censored: nothing is estimable except the risk set
    d = _frame(rng, 40, ["s1", "s2"], 10.0, 2, 0.5)
    d["event"] = 0
    sets["allcens"] = d

    # a single event
    d = _frame(rng, 30, ["s1", "s2"], 10.0, 2, 0.5)
    d["event"] = 0
    d.loc[d.index[7], "event"] = 1
    sets["single"] = d

    # large: n >= 10,000 with ties from rounding to 0.1
    sets["large"] = _frame(rng, 12000, ["s1", "s2", "s3", "s4"], 20.0, 1, 0.6)
    return sets


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, frame in make().items():
        frame.to_csv(OUT / f"{name}.csv", index=False)
        print(f"{name}: {len(frame)} rows, {int(frame['event'].sum())} events")


if __name__ == "__main__":
    main()
