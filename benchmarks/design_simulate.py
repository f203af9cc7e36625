"""Benchmark: 10,000 simulated-and-analysed PATINA trials vs R survival and lifelines per trial.

    python benchmarks/design_simulate.py [--replicates 10000] [--r-sample 200] [--lifelines-sample 50] [--write]

Simulates PATINA-sized trials (518 patients, 16 strata from 4 binary factors, stratified
permuted blocks, event-driven final analysis at 257 events) with
``oncotrial.design.simulate.simulate_design`` and times the whole run (generation and
analysis: stratified log-rank, stratified Cox with Efron ties, KM medians per arm). The
same replicates (a sample) are written out and analysed one trial at a time by R survival
(via Rscript; timed inside R, excluding start-up and I/O) and by lifelines; per-trial times
are extrapolated to the full run. The numba compile time of a cold cache is reported
separately. With --write, the `design` section of benchmarks/RESULTS.md is replaced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _results import machine_line, markers, write_section

HERE = Path(__file__).resolve().parent
BEGIN, END = markers("design")


def patina_settings():
    from oncotrial.design.from_protocol import design_from_protocol, settings_from_protocol
    from oncotrial.protocol import load_protocol

    p = load_protocol("patina")
    return settings_from_protocol(p, design_from_protocol(p))


def best_of(fn, repeats: int) -> tuple[float, list[float], float, object]:
    """Best wall time, all wall times, process CPU time of the best run, last result."""
    times, cpus, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(times), times, cpus[int(np.argmin(times))], out


def sample_frame(settings, seed: int, idx: np.ndarray) -> pd.DataFrame:
    from oncotrial.design.simulate import replicate_frame

    frames = [replicate_frame(settings, seed, int(i), look=settings.n_looks).assign(replicate=int(i)) for i in idx]
    return pd.concat(frames, ignore_index=True)


def time_r(df: pd.DataFrame) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "reps.csv", Path(tmp) / "out.json"
        df[["replicate", "AVAL", "EVENT", "TRT01PN", "STRATUM"]].to_csv(src, index=False, float_format="%.17g")
        subprocess.run(["Rscript", str(HERE / "design_survival_timing.R"), str(src), str(dst)], check=True)
        return json.loads(dst.read_text())


def time_lifelines(df: pd.DataFrame) -> dict | None:
    try:
        import lifelines
        from lifelines import CoxPHFitter, KaplanMeierFitter
        from lifelines.statistics import logrank_test
    except ImportError:
        return None
    reps = [g for _, g in df.groupby("replicate", sort=True)]

    def analyse(x: pd.DataFrame):
        # lifelines has no stratified log-rank test: the unstratified one is timed instead
        e, c = x[x.TRT01PN == 1], x[x.TRT01PN == 0]
        logrank_test(e.AVAL, c.AVAL, e.EVENT, c.EVENT)
        cph = CoxPHFitter().fit(x[["AVAL", "EVENT", "TRT01PN", "STRATUM"]], "AVAL", "EVENT", strata=["STRATUM"])
        m = [KaplanMeierFitter().fit(g.AVAL, g.EVENT).median_survival_time_ for g in (e, c)]
        return float(cph.params_.iloc[0]), m

    analyse(reps[0])
    t, c = time.perf_counter(), time.process_time()
    res = [analyse(x) for x in reps]
    return {"n": len(reps), "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c,
            "version": lifelines.__version__,
            "log_hr": [r[0] for r in res]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--r-sample", type=int, default=200)
    ap.add_argument("--lifelines-sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if args.r_sample < 1 or args.lifelines_sample < 1:
        ap.error("--r-sample and --lifelines-sample must be >= 1: the benchmark times R and lifelines beside oncotrial")

    import numba

    from oncotrial.design.simulate import simulate_design

    settings = patina_settings()
    load_before = os.getloadavg()
    t = time.perf_counter()
    simulate_design(settings, 10, args.seed)  # compile, or load the numba cache
    warm = time.perf_counter() - t
    n = args.replicates
    threads = numba.get_num_threads()
    runs = {}
    for k in sorted({1, threads}, reverse=True):
        numba.set_num_threads(k)
        runs[k] = best_of(lambda: simulate_design(settings, n, args.seed, chunk_size=n), args.repeats)
    numba.set_num_threads(threads)
    best, walls, cpu, res = runs[threads]
    best1, _, cpu1, _ = runs[1]

    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(n, size=min(args.r_sample, n), replace=False))
    df = sample_frame(settings, args.seed, idx)
    r = time_r(df)
    ll = time_lifelines(df[df.replicate.isin(idx[: args.lifelines_sample])])
    load_after = os.getloadavg()

    rows = [(f"oncotrial batched, numba {threads} threads", n, best, cpu)]
    if threads != 1:
        rows.append(("oncotrial batched, numba 1 thread", n, best1, cpu1))
    agree = ""
    if r is not None:
        rows.append((f"R survival {r['survival']} (survdiff + coxph + survfit), one trial at a time",
                     r["n"], r["seconds"], r["cpu_seconds"]))
        rr = pd.DataFrame(r["results"]).set_index("replicate").sort_index()
        an = res.analysis
        z = -an.logrank_z[idx, -1]
        diff = max(np.max(np.abs(z - (-rr["z"].to_numpy()))),
                   np.max(np.abs(an.log_hr[idx, -1] - rr["log_hr"].to_numpy())))
        agree = (f"On the {r['n']} sampled replicates, R's stratified log-rank Z and Cox log HR equal the batched "
                 f"values to {diff:.1e} (R coxph's default convergence tolerance is 1e-9).")
    if ll is not None:
        rows.append((f"lifelines {ll['version']} (logrank_test + CoxPHFitter strata + KM), one trial at a time",
                     ll["n"], ll["seconds"], ll["cpu_seconds"]))

    lines = [
        BEGIN,
        "## Design: batched simulation of whole trials",
        "",
        f"`python benchmarks/design_simulate.py --write` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"{machine_line()}, numpy {np.__version__}, numba {numba.__version__}. "
        f"Load average {load_before[0]:.1f} before / {load_after[0]:.1f} after: the machine is shared with other "
        "jobs, so wall-clock times are inflated; CPU times (process user + system) are the load-robust comparison.",
        "",
        f"Workload: {n:,} PATINA-sized trials (518 patients, 16 strata from 4 binary factors, stratified "
        f"permuted blocks of 2 and 4, exponential PFS with HR 0.667, 5%/year dropout, accrual over 50 months, "
        f"final analysis at {settings.events_per_look[-1]} events), each analysed by a stratified log-rank test, "
        f"a stratified Cox model (Efron ties) and KM medians per arm. oncotrial: generation + analysis, "
        f"best of {args.repeats} runs (wall times of the {threads}-thread runs: "
        f"{', '.join(f'{x:.2f}' for x in walls)} s); numba warm-up (compile or cache load) {warm:.1f} s, not "
        f"included. R and lifelines analyse a random sample of the same replicates one trial at a time (timed "
        f"in-process, excluding start-up and I/O) and are extrapolated to {n:,} trials.",
        "",
        f"| implementation | trials timed | wall s | CPU s | ms per trial (wall) | extrapolated to {n:,} trials, wall s | ratio (wall) | ratio (CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    base_w, base_c = best / n, cpu / n
    for name, k, sec, c in rows:
        rw, rc = sec / k / base_w, c / k / base_c
        lines.append(f"| {name} | {k:,} | {sec:.2f} | {c:.2f} | {sec / k * 1e3:.3f} | {sec / k * n:.1f} | "
                     f"{rw:.{0 if rw >= 10 else 2}f}x | {rc:.{0 if rc >= 10 else 2}f}x |")
    lines += ["", f"Goal: {n:,} trials in <= 2 s on this 2-core machine. Measured: {best:.2f} s wall clock with "
              f"{threads} threads ({'met' if best <= 2 else 'NOT met under this load'}); {cpu:.2f} s CPU "
              f"({cpu1:.2f} s CPU single-threaded, i.e. {cpu1 / n * 1e6:.0f} us per trial).", ""]
    if agree:
        lines += [agree, ""]
    lines.append(END)
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("design", text)


if __name__ == "__main__":
    sys.exit(main())
