"""Write patient-level replicates of the batched simulator for validation with R survival.

Run from the repository root:  python validation/design_sim_reference.py && Rscript validation/design_survival.R

Writes tests/reference/design/sim_latent.csv (latent data of 4 replicates: entry, PFS,
dropout, arm, stratum; replicate 3 has times rounded to quarter months so that event and
censoring times tie) and sim_look{k}.csv (the analysis data of every replicate at each
look, as ``TrialBatch.replicate`` cuts it). design_survival.R analyses the latter with
survdiff / coxph(ties = "efron") / survfit and writes sim_survival.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from oncotrial.design import PiecewiseExponential, sample_size_survival
from oncotrial.design.simulate import TrialBatch, settings_from_design, simulate_trials

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference" / "design"
STRATA = ((0.685, 0.315), (0.3, 0.7), (0.907, 0.093), (0.94, 0.06))


def reference_settings():
    from oncotrial.design import group_sequential_design

    gs = group_sequential_design((0.5, 1.0), alpha=0.025, beta=0.1, futility_bounds=(0.0,))
    control = PiecewiseExponential((0.0, 6.0), (np.log(2) / 20, np.log(2) / 28))
    sd = sample_size_survival(
        0.667, control=control, design=gs, accrual_time=(0, 6, 50), accrual_intensity=(0.5, 1.0),
        max_subjects=518, dropout_rate=(0.05, 0.05),
    )
    return settings_from_design(sd, strata=STRATA)


def reference_batch() -> TrialBatch:
    s = reference_settings()
    b = simulate_trials(s, 4, seed=2026)
    # Quarter months are exact binary fractions, so entry + pfs and cut - entry are exact
    # and ties are exact: R's timefix (aeqSurv), which merges times equal to ~1e-8, then
    # sees the same ties as exact comparison does.
    q = 0.25
    pfs, drop, entry = b.pfs.copy(), b.dropout.copy(), b.entry.copy()
    pfs[3] = np.ceil(pfs[3] / q) * q
    drop[3] = np.where(np.isfinite(drop[3]), np.ceil(drop[3] / q) * q, np.inf)
    entry[3] = np.round(entry[3] / q) * q
    return TrialBatch(s, 0, entry, pfs, drop, b.arm, b.stratum)


def main() -> None:
    b = reference_batch()
    rows = []
    for i in range(b.n_replicates):
        rows.append(pd.DataFrame({"replicate": i, "entry": b.entry[i], "pfs": b.pfs[i], "dropout": b.dropout[i],
                                  "arm": b.arm[i], "stratum": b.stratum[i]}))
    pd.concat(rows).to_csv(OUT / "sim_latent.csv", index=False, float_format="%.17g")
    for look in range(1, b.settings.n_looks + 1):
        frames = [b.replicate(i, look).assign(replicate=i) for i in range(b.n_replicates)]
        pd.concat(frames)[["replicate", "USUBJID", "TRT01PN", "STRATUM", "AVAL", "EVENT"]].to_csv(
            OUT / f"sim_look{look}.csv", index=False, float_format="%.17g"
        )
    print("wrote", OUT)


if __name__ == "__main__":
    main()
