"""Check the analytic power figures against the simulator at a large replicate count.

Run from the repository root:  python validation/stratified_power.py [--replicates 40000]

For PATINA's settings (the protocol's fixed design, and one interim at half the events with
futility at Z = 0) simulates the trials, which are analysed by the stratified log-rank over
the 16 strata (the primary test) and, in the same trials, by the unstratified log-rank; and
compares:

* the simulated stratified power with ``analytic_power(..., stratified=True)``,
* the simulated unstratified power with ``analytic_power(...)`` (Schoenfeld),
* the power lost to stratification (unstratified minus stratified, paired in the same
  trials) with the difference of the two analytic figures,
* the simulated mean stratified / unstratified log-rank variance per look with
  ``stratified_information_ratio``.

Writes tests/reference/design/stratified_power.json, which tests/design/test_power_figures.py
checks against the analytic functions (so a change of either side shows).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from oncotrial.design.from_protocol import design_from_protocol, settings_from_protocol
from oncotrial.design.information import stratified_information_ratio
from oncotrial.design.simulate import analytic_power, simulate_design
from oncotrial.protocol import load_protocol

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference" / "design" / "stratified_power.json"
DESIGNS = {
    "patina": dict(),
    "patina_interim_futility0": dict(information_rates=[0.5, 1.0], futility_bounds=[0.0]),
}


def check(name: str, options: dict, replicates: int, seed: int) -> dict:
    p = load_protocol("patina")
    sd = design_from_protocol(p, **options)
    s = settings_from_protocol(p, sd)
    res = simulate_design(s, replicates, seed=seed)
    an = res.analysis
    # the same trials analysed both ways: the paired difference has a much smaller s.e.
    loss = (an.decision_unstratified == 1).astype(float) - (an.decision == 1)
    analytic_u, analytic_s = analytic_power(s, sd.hazard_ratio), analytic_power(s, sd.hazard_ratio, stratified=True)
    return {
        "design": name,
        "options": options,
        "hazard_ratio": sd.hazard_ratio,
        "events_per_look": list(s.events_per_look),
        "n_replicates": replicates,
        "seed": seed,
        "simulated_stratified": res.power,
        "simulated_stratified_se": res.power_se,
        "simulated_unstratified": res.power_unstratified,
        "simulated_unstratified_se": res.power_unstratified_se,
        "analytic_unstratified": analytic_u,
        "analytic_stratified": analytic_s,
        "stratification_loss_simulated": float(loss.mean()),
        "stratification_loss_simulated_se": float(loss.std(ddof=1) / np.sqrt(replicates)),
        "stratification_loss_analytic": analytic_u - analytic_s,
        "information_ratio_simulated": list(map(float, an.variance.mean(axis=0) / an.variance_unstratified.mean(axis=0))),
        "information_ratio_analytic": list(stratified_information_ratio(s)),
        "variance_unstratified_over_schoenfeld": list(map(float, an.variance_unstratified.mean(axis=0)
                                                          / (np.asarray(s.events_per_look) / 4))),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=40000)
    ap.add_argument("--seed", type=int, default=20260518)
    args = ap.parse_args()
    rows = [check(name, opts, args.replicates, args.seed) for name, opts in DESIGNS.items()]
    for r in rows:
        print(f"{r['design']}: {r['n_replicates']} trials, events {r['events_per_look']}")
        for kind in ("stratified", "unstratified"):
            sim, se, ana = r[f"simulated_{kind}"], r[f"simulated_{kind}_se"], r[f"analytic_{kind}"]
            print(f"  {kind:>12} log-rank: simulated {sim:.4f} (MC s.e. {se:.4f}), analytic {ana:.4f}, "
                  f"difference {(sim - ana) / se:+.2f} s.e.")
        print(f"  power lost to stratification: simulated {r['stratification_loss_simulated']:.4f} "
              f"(paired MC s.e. {r['stratification_loss_simulated_se']:.4f}), "
              f"analytic {r['stratification_loss_analytic']:.4f}")
        print(f"  information ratio: simulated {np.round(r['information_ratio_simulated'], 4).tolist()}, "
              f"analytic {np.round(r['information_ratio_analytic'], 4).tolist()}")
    OUT.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
