"""Many simulated trials, each analysed like the real one: the distribution of every published figure."""

from __future__ import annotations

import pandas as pd

from oncotrial.protocol import Protocol
from oncotrial.sim.figures import published_figures, trial_figures
from oncotrial.sim.params import SimParams
from oncotrial.sim.rounding import decimals_of
from oncotrial.sim.trial import simulate_trial


def replicate_figures(protocol: Protocol, replicates: int, *, seed: int = 0, params: SimParams | None = None) -> pd.DataFrame:
    """Long frame: replicate, figure, arm, value -- each trial analysed as the report analyses one (SDTM -> ADaM -> plan)."""
    if replicates < 1:
        raise ValueError(f"replicates: expected at least 1, got {replicates}")
    rows = []
    for r in range(replicates):
        trial = simulate_trial(protocol, seed + r, params)
        f = trial_figures(protocol, trial.sdtm).drop(columns="r_rule")
        f.insert(0, "replicate", r)
        rows.append(f)
    return pd.concat(rows, ignore_index=True)


def replicate_summary(protocol: Protocol, replicates: int, *, seed: int = 0, params: SimParams | None = None) -> pd.DataFrame:
    """Per published figure: published value and the simulated mean, SD and 2.5/50/97.5% quantiles."""
    long = replicate_figures(protocol, replicates, seed=seed, params=params)
    g = long.groupby(["figure", "arm"], sort=False)["value"]
    stats = pd.DataFrame({
        "mean": g.mean(), "sd": g.std(), "q025": g.quantile(0.025), "q50": g.median(), "q975": g.quantile(0.975),
        "n_estimable": g.count(),
    }).reset_index()
    pub = published_figures(protocol)
    out = pub.merge(stats, on=["figure", "arm"], how="left")
    out["decimals"] = [decimals_of(p, f) for p, f in zip(out["published"], out["figure"])]
    return out
