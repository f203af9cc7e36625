"""Timing of the randomization balance simulation and allocation-list I/O.

Run from the repository root:  python benchmarks/bench_balance.py [--write]
With --write, replaces the <!-- BEGIN balance --> ... <!-- END balance --> section of
benchmarks/RESULTS.md (and only that section).

Side by side: the vectorized minimization simulation against the same rule run one
patient at a time through ``Minimization.assign`` (the IRT's path), extrapolated from
a few trials. No R package for these methods is available on Debian, so R is not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _results import best_of, machine_line, markers, write_section
from oncotrial.protocol import load_protocol
from oncotrial.randomization import (
    Minimization,
    generate_permuted_blocks,
    read_allocation_list,
    simulate_balance,
    write_allocation_list,
)

BEGIN, END = markers("balance")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--trials", type=int, default=10_000)
    args = ap.parse_args()

    load_start = os.getloadavg()[0]
    p = load_protocol("patina")
    levels = p.strata_levels
    prevalence = {f.name: [lv.prevalence for lv in f.levels] for f in p.stratification_factors if f.name in levels}
    n = p.accrual.randomized_n or p.accrual.target_n
    common = dict(n=n, trials=args.trials, strata_levels=levels, prevalence=prevalence, seed=1)

    rows = []
    summaries = {}
    for method, extra in (("blocks", {}), ("simple", {}), ("minimization", {}),
                          ("minimization", {"n_sites": p.accrual.n_sites, "site_weight": 0.5})):
        label = method + (" + 123 sites (weight 0.5)" if extra else "")
        sim = None

        def run() -> None:
            nonlocal sim
            sim = simulate_balance(method, **common, **extra)

        secs = best_of(run, repeat=3)
        rows.append((f"simulate_balance {label}, {args.trials:,} x {n}", secs))
        summaries[label] = sim.summary()

    # the same minimization, one patient at a time through Minimization.assign
    m = Minimization(levels, [a.code for a in p.arms], p_best=p.randomization.minimization_p_best, seed=1)
    rng = np.random.default_rng(1)
    few = 5
    profiles = [[{f: lv[int(rng.choice(len(lv), p=prevalence[f]))] for f, lv in levels.items()} for _ in range(n)]
                for _ in range(few)]
    t0 = time.perf_counter()
    for prof in profiles:
        m.assign_sequence(prof)
    per_trial = (time.perf_counter() - t0) / few
    rows.append((f"Minimization.assign one patient at a time, per trial of {n} (x {args.trials:,} = "
                 f"{per_trial * args.trials / 3600:.1f} h)", per_trial))

    alloc = generate_permuted_blocks(levels, [a.code for a in p.arms], [a.ratio for a in p.arms],
                                     p.randomization.block_sizes, p.accrual.target_n, seed=p.randomization.seed)
    rows.append((f"generate_permuted_blocks PATINA, {len(alloc):,} rows",
                 best_of(lambda: generate_permuted_blocks(levels, ["A", "B"], [1, 1], [2, 4], p.accrual.target_n, 7))))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.csv"
        rows.append(("write_allocation_list", best_of(lambda: write_allocation_list(alloc, path))))
        rows.append(("read_allocation_list (checksum, chain, structure)", best_of(lambda: read_allocation_list(path))))

    load = load_start
    machine = f"{machine_line()}, numpy {np.__version__}, 1-min load average {load:.1f} at the start"
    lines = [
        BEGIN,
        "## Randomization: balance simulation and allocation lists",
        "",
        f"`python benchmarks/bench_balance.py --write` on {dt.date.today().isoformat()}, {machine}. "
        "Best of 3 runs (the assign loop: mean of 5 trials).",
        "",
        "| what | seconds |",
        "| --- | ---: |",
        *[f"| {what} | {secs:.3f} |" for what, secs in rows],
        "",
        "Imbalance (range of n_arm / ratio, i.e. |n_A - n_B|) of the simulated PATINA trials "
        f"({args.trials:,} trials, seed 1):",
        "",
    ]
    for label, frame in summaries.items():
        lines.append(f"**{label}**")
        lines.append("")
        lines.append("| metric | mean | sd | median | p95 | p99 | max |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in frame.itertuples():
            lines.append(f"| {r.metric} | {r.mean:.2f} | {r.sd:.2f} | {r.median:g} | {r.p95:g} | {r.p99:g} | {r.max:g} |")
        lines.append("")
    lines.append(END)
    section = "\n".join(lines)
    print(section)
    if args.write:
        print(f"updated {write_section('balance', section)}", file=sys.stderr)


if __name__ == "__main__":
    main()
