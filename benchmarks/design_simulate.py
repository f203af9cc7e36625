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
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- BEGIN design -->", "<!-- END design -->"


def patina_settings():
    from oncotrial.design.from_protocol import design_from_protocol, settings_from_protocol
    from oncotrial.protocol import load_protocol

    p = load_protocol("patina")
    return settings_from_protocol(p, design_from_protocol(p))


def best_of(fn, repeats: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, out


def sample_frame(settings, seed: int, idx: np.ndarray) -> pd.DataFrame:
    from oncotrial.design.simulate import simulate_trials

    frames = []
    for i in idx:
        b = simulate_trials(settings, 1, seed, first=int(i))
        frames.append(b.replicate(int(i), look=settings.n_looks).assign(replicate=int(i)))
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
    t = time.perf_counter()
    res = [analyse(x) for x in reps]
    return {"n": len(reps), "seconds": time.perf_counter() - t, "version": lifelines.__version__,
            "log_hr": [r[0] for r in res]}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--r-sample", type=int, default=200)
    ap.add_argument("--lifelines-sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    import numba

    from oncotrial.design.simulate import simulate_design

    settings = patina_settings()
    load_before = os.getloadavg()
    t = time.perf_counter()
    simulate_design(settings, 10, args.seed)  # compile, or load the numba cache
    warm = time.perf_counter() - t
    n = args.replicates
    best, runs, res = best_of(lambda: simulate_design(settings, n, args.seed, chunk_size=n), args.repeats)
    per_trial = best / n

    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(n, size=min(args.r_sample, n), replace=False))
    df = sample_frame(settings, args.seed, idx)
    r = time_r(df)
    ll = time_lifelines(df[df.replicate.isin(idx[: args.lifelines_sample])])
    load_after = os.getloadavg()

    rows = [("oncotrial batched (numba, %d threads)" % numba.get_num_threads(), n, best, per_trial, 1.0)]
    agree = ""
    if r is not None:
        r_per = r["seconds"] / r["n"]
        rows.append((f"R survival {r['survival']} (survdiff + coxph + survfit), one trial at a time",
                     r["n"], r["seconds"], r_per, r_per / per_trial))
        rr = pd.DataFrame(r["results"]).set_index("replicate").sort_index()
        an = res.analysis
        z = -an.logrank_z[idx, -1]
        diff = max(np.max(np.abs(z - (-rr["z"].to_numpy()))), np.max(np.abs(an.log_hr[idx, -1] - rr["log_hr"].to_numpy())))
        agree = f"On the {r['n']} sampled replicates, R's stratified log-rank Z and Cox log HR equal the batched values to {diff:.1e}."
    if ll is not None:
        ll_per = ll["seconds"] / ll["n"]
        rows.append((f"lifelines {ll['version']} (logrank_test + CoxPHFitter strata + KM), one trial at a time",
                     ll["n"], ll["seconds"], ll_per, ll_per / per_trial))

    lines = [
        BEGIN,
        "## Design: batched simulation of whole trials",
        "",
        f"`python benchmarks/design_simulate.py --write` on {dt.date.today().isoformat()}; {machine()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}. "
        f"Load average {load_before[0]:.1f} before / {load_after[0]:.1f} after (the machine is shared).",
        "",
        f"Workload: {n:,} PATINA-sized trials (518 patients, 16 strata from 4 binary factors, stratified "
        f"permuted blocks of 2 and 4, exponential PFS with HR 0.667, 5%/year dropout, accrual over 50 months, "
        f"final analysis at {settings.events_per_look[-1]} events), each analysed by a stratified log-rank test, "
        f"a stratified Cox model (Efron ties) and KM medians per arm. oncotrial: generation + analysis, "
        f"best of {args.repeats} runs (all runs: {', '.join(f'{x:.2f}' for x in runs)} s); numba warm-up "
        f"(compile or cache load) {warm:.1f} s, not included. R and lifelines analyse a random sample of the "
        f"same replicates one trial at a time (timed in-process, excluding start-up and I/O) and are "
        f"extrapolated to {n:,} trials.",
        "",
        "| implementation | trials timed | seconds | ms per trial | extrapolated to %s trials (s) | ratio to oncotrial |" % f"{n:,}",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, k, sec, per, ratio in rows:
        lines.append(f"| {name} | {k:,} | {sec:.2f} | {per * 1e3:.3f} | {per * n:.1f} | {ratio:.0f}x |")
    lines += ["", f"Goal: {n:,} trials in <= 2 s. Measured: {best:.2f} s "
              f"({'met' if best <= 2 else 'NOT met'}).", ""]
    if agree:
        lines += [agree, ""]
    lines.append(END)
    text = "\n".join(lines)
    print(text)
    if args.write:
        path = HERE / "RESULTS.md"
        old = path.read_text() if path.exists() else "# Benchmarks\n"
        if BEGIN in old and END in old:
            new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n" + text + "\n"
        path.write_text(new)


if __name__ == "__main__":
    sys.exit(main())
