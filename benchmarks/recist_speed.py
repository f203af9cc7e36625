"""RECIST 1.1 on 100,000 assessments: `oncotrial.recist.recist` timed on the simulator's lesions.

    python benchmarks/recist_speed.py            # print the timing
    python benchmarks/recist_speed.py --write    # also write the recist section of benchmarks/RESULTS.md

Simulated PATINA trials (their TU/TR, see `oncotrial.sim.lesions`) are stacked with distinct
subject ids until there are at least ``--assessments`` post-baseline visits; the time is the
best of ``--repeat`` runs of ``recist(tu, tr)`` (lesion table, baseline checks, per-visit
target, non-target and overall response). Goal (issue 13 §4): <= 1 s for 100,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from oncotrial.recist import recist
from oncotrial.sim import simulate_trial

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, markers, write_section  # noqa: E402


def stacked(assessments: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    tus, trs, n, seed = [], [], 0, 0
    while n < assessments:
        s = simulate_trial("patina", seed=seed).sdtm
        tu, tr = s["TU"].copy(), s["TR"].copy()
        for f in (tu, tr):
            f["USUBJID"] = f"R{seed}-" + f["USUBJID"].astype(str)
        n += int(tr[tr["VISIT"] != "SCREENING"].groupby(["USUBJID", "VISITNUM"]).ngroups)
        tus.append(tu)
        trs.append(tr)
        seed += 1
    return pd.concat(tus, ignore_index=True), pd.concat(trs, ignore_index=True), n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assessments", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    tu, tr, n = stacked(args.assessments)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = recist(tu, tr)
        times.append(time.perf_counter() - t)
    visits = len(res.visits)
    print(f"{visits:,} assessments ({tu['USUBJID'].nunique():,} patients, {len(tr):,} TR rows): "
          f"best {min(times):.2f} s, runs {', '.join(f'{x:.2f}' for x in times)}")
    if args.write:
        begin, end = markers("recist")
        text = "\n".join([
            begin, "## RECIST 1.1 on the simulator's lesions", "",
            f"`python benchmarks/recist_speed.py --write` on {dt.date.today().isoformat()}, {machine_line()}: "
            f"`oncotrial.recist.recist` on {visits:,} post-baseline assessments ({tu['USUBJID'].nunique():,} "
            f"patients, {len(tr):,} TR rows), best of {args.repeat} runs: **{min(times):.2f} s** "
            f"(runs: {', '.join(f'{x:.2f}' for x in times)}). Goal (issue 13 §4): <= 1 s for 100,000.",
            "No other implementation of RECIST 1.1 from lesion measurements exists in R or Python to time "
            "beside it (admiralonco starts from responses already called).", end])
        print(f"wrote {write_section('recist', text)}")


if __name__ == "__main__":
    main()
