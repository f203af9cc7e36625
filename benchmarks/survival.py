"""Survival benchmark: oncotrial.stats beside R survival, statsmodels and lifelines.

Run from the repository root (R with r-cran-survival and r-cran-jsonlite on PATH;
``pip install -e '.[bench]'`` for lifelines and statsmodels):

    python benchmarks/survival.py            # time, check agreement, write RESULTS.md
    python benchmarks/survival.py --quick    # fewer repetitions, no RESULTS.md

Two workloads on the same data for every tool (written to benchmarks/.data/):

(a) one PATINA-sized trial: 518 patients, arms A/B 1:1, four binary
    stratification factors; KM per arm with the median and its CI, stratified
    log-rank, stratified Efron Cox on arm.
(b) 1,000,000 rows, 5 covariates, 10 strata, times rounded to 0.1 (ties):
    stratified Efron Cox, and KM with the median and its CI.

Each task is timed in-process (R via Rscript with its own timer, so R's
start-up and CSV reading are not counted) and the median time is reported;
the Python tools run in turn, repetition by repetition and in random order
(round robin), so that load from other processes on a shared machine falls on
all of them alike; on the PATINA trial each timed call follows an untimed one
of the same task, as in R's timing loop.
The numbers each tool produces are compared with R's: oncotrial must agree to
1e-6 (relative) or the script exits non-zero; the others' differences are
reported. The survival section of benchmarks/RESULTS.md (between the
``<!-- BEGIN survival -->`` / ``<!-- END survival -->`` markers) is rewritten.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _results import cpu_model, markers, write_section

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
BEGIN, END = markers("survival")
STRATA4 = ["s1", "s2", "s3", "s4"]
COVS5 = ["x1", "x2", "x3", "x4", "x5"]
TOL = 1e-6

R_SCRIPT = r"""
args <- commandArgs(TRUE)
workload <- args[1]; path <- args[2]; reps <- as.integer(args[3]); out <- args[4]
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
d <- read.csv(path)
now <- function() as.numeric(Sys.time())
timeit <- function(f) {
  t <- numeric(reps); val <- NULL
  for (i in seq_len(reps)) { t0 <- now(); val <- f(); t[i] <- now() - t0 }
  list(times = t, value = val)
}
res <- list()
if (workload == "trial") {
  km <- function() {
    f <- survfit(Surv(time, event) ~ arm, data = d, conf.type = "log-log")
    q <- quantile(f, 0.5)
    list(median = unname(q$quantile[, 1]), lower = unname(q$lower[, 1]), upper = unname(q$upper[, 1]))
  }
  lr <- function() {
    s <- survdiff(Surv(time, event) ~ arm + strata(s1, s2, s3, s4), data = d)
    list(chisq = s$chisq)
  }
  cx <- function() {
    f <- coxph(Surv(time, event) ~ arm + strata(s1, s2, s3, s4), data = d, ties = "efron")
    list(coef = unname(coef(f)), se = unname(sqrt(diag(f$var))))
  }
  res$km <- timeit(km); res$logrank <- timeit(lr); res$cox <- timeit(cx)
  res$all <- timeit(function() list(km(), lr(), cx()))
  res$all$value <- NULL
} else {
  cx <- function() {
    f <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + strata(s), data = d, ties = "efron")
    list(coef = unname(coef(f)), se = unname(sqrt(diag(f$var))))
  }
  km <- function() {
    f <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
    q <- quantile(f, 0.5)
    list(median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
  }
  res$cox <- timeit(cx); res$km <- timeit(km)
}
res$version <- paste(R.version$major, R.version$minor, sep = ".")
res$survival <- as.character(packageVersion("survival"))
write_json(res, out, digits = NA, auto_unbox = TRUE, na = "null")
"""


# --------------------------------------------------------------------------- data

def make_trial(seed: int = 518) -> pd.DataFrame:
    """A PATINA-sized trial: exponential PFS with medians 29.1 vs 44.3 months, ~60% events."""
    rng = np.random.default_rng(seed)
    n = 518
    arm = np.where(np.arange(n) % 2 == 0, "A", "B")
    rng.shuffle(arm)
    strata = rng.random((n, 4)) < np.array([0.6, 0.5, 0.3, 0.55])
    rate = np.log(2) / np.where(arm == "B", 44.3, 29.1) * np.exp(0.2 * strata[:, 0] - 0.15 * strata[:, 2])
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(20, 100, n)
    days = np.ceil(np.minimum(t_event, t_cens) * 30.4375)  # whole days: ties, as in real data
    d = pd.DataFrame({"time": days, "event": (t_event <= t_cens).astype(int), "arm": arm})
    for j, c in enumerate(STRATA4):
        d[c] = strata[:, j].astype(int)
    return d


def make_big(seed: int = 10**6, n: int = 1_000_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(n, 5)), 4)
    s = rng.integers(0, 10, n)
    beta = np.array([0.3, -0.2, 0.1, 0.0, 0.05])
    base = 10.0 * (1 + 0.1 * s)
    t_event = rng.exponential(base * np.exp(-(x @ beta)))
    t_cens = rng.exponential(2 * base)
    time_ = np.maximum(np.round(np.minimum(t_event, t_cens), 1), 0.1)
    d = pd.DataFrame(x, columns=COVS5)
    d["s"] = s
    d["time"] = time_
    d["event"] = (t_event <= t_cens).astype(int)
    return d


# --------------------------------------------------------------------------- timing

def run_r(workload: str, csv: Path, reps: int) -> dict[str, Any] | None:
    if shutil.which("Rscript") is None:
        return None
    script = DATA / "survival_bench.R"
    script.write_text(R_SCRIPT)
    out = DATA / f"r_{workload}.json"
    subprocess.run(["Rscript", str(script), workload, str(csv), str(reps), str(out)], check=True)
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- tools

def arms(d: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """(time, event) per arm, split the same cheap way for every Python tool."""
    arm, t, e = d["arm"].to_numpy(), d["time"].to_numpy(), d["event"].to_numpy()
    return [(t[arm == a], e[arm == a]) for a in np.unique(arm)]


def oncotrial_trial(d: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from oncotrial.stats import cox, km, logrank

    def f_km():
        res = [km(t, e) for t, e in arms(d)]
        return {"median": [r.median for r in res], "lower": [r.median_ci[0] for r in res],
                "upper": [r.median_ci[1] for r in res]}

    def f_lr():
        key = d["s1"] * 8 + d["s2"] * 4 + d["s3"] * 2 + d["s4"]
        return {"chisq": logrank(d["time"], d["event"], d["arm"], strata=key).chisq}

    def f_cox():
        f = cox(d, time="time", event="event", covariates=["arm"], strata=STRATA4)
        return {"coef": list(f.coef), "se": list(f.se)}

    return {"km": f_km, "logrank": f_lr, "cox": f_cox, "all": lambda: (f_km(), f_lr(), f_cox())}


def oncotrial_big(d: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from oncotrial.stats import cox, km

    def f_cox():
        f = cox(d, time="time", event="event", covariates=COVS5, strata="s")
        return {"coef": list(f.coef), "se": list(f.se)}

    def f_km():
        r = km(d["time"].to_numpy(), d["event"].to_numpy())
        return {"median": r.median, "lower": r.median_ci[0], "upper": r.median_ci[1]}

    return {"cox": f_cox, "km": f_km}


def statsmodels_trial(d: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    def f_km():
        med, lo, up = [], [], []
        for t, e in arms(d):
            sf = SurvfuncRight(t, e)
            ci = sf.quantile_ci(0.5, method="cloglog")
            med.append(sf.quantile(0.5))
            lo.append(ci[0])
            up.append(ci[1])
        return {"median": med, "lower": lo, "upper": up}

    def f_lr():
        key = (d["s1"] * 8 + d["s2"] * 4 + d["s3"] * 2 + d["s4"]).to_numpy()
        chisq, _ = survdiff(d["time"].to_numpy(), d["event"].to_numpy(), d["arm"].to_numpy(), strata=key)
        return {"chisq": chisq}

    def f_cox():
        key = (d["s1"] * 8 + d["s2"] * 4 + d["s3"] * 2 + d["s4"]).to_numpy()
        x = (d["arm"] == "B").to_numpy(float)[:, None]
        r = PHReg(d["time"].to_numpy(), x, status=d["event"].to_numpy(), strata=key, ties="efron").fit()
        return {"coef": list(r.params), "se": list(r.bse)}

    return {"km": f_km, "logrank": f_lr, "cox": f_cox, "all": lambda: (f_km(), f_lr(), f_cox())}


def statsmodels_big(d: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import SurvfuncRight

    def f_cox():
        r = PHReg(d["time"].to_numpy(), d[COVS5].to_numpy(), status=d["event"].to_numpy(),
                  strata=d["s"].to_numpy(), ties="efron").fit()
        return {"coef": list(r.params), "se": list(r.bse)}

    def f_km():
        sf = SurvfuncRight(d["time"].to_numpy(), d["event"].to_numpy())
        ci = sf.quantile_ci(0.5, method="cloglog")
        return {"median": sf.quantile(0.5), "lower": ci[0], "upper": ci[1]}

    return {"cox": f_cox, "km": f_km}


def lifelines_trial(d: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.utils import median_survival_times

    def f_km():
        med, lo, up = [], [], []
        for t, e in arms(d):
            k = KaplanMeierFitter().fit(t, e)
            ci = median_survival_times(k.confidence_interval_)
            med.append(k.median_survival_time_)
            lo.append(float(ci.iloc[0, 0]))
            up.append(float(ci.iloc[0, 1]))
        return {"median": med, "lower": lo, "upper": up}

    def f_cox():
        df = d[["time", "event"] + STRATA4].copy()
        df["armB"] = (d["arm"] == "B").astype(float)
        f = CoxPHFitter().fit(df, "time", "event", strata=STRATA4)
        return {"coef": list(f.params_), "se": list(f.standard_errors_)}

    return {"km": f_km, "cox": f_cox, "all": lambda: (f_km(), f_cox())}


def lifelines_big(d: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.utils import median_survival_times

    def f_cox():
        f = CoxPHFitter().fit(d[["time", "event", "s"] + COVS5], "time", "event", strata=["s"])
        return {"coef": list(f.params_[COVS5]), "se": list(f.standard_errors_[COVS5])}

    def f_km():
        k = KaplanMeierFitter().fit(d["time"], d["event"])
        ci = median_survival_times(k.confidence_interval_)
        return {"median": k.median_survival_time_, "lower": float(ci.iloc[0, 0]), "upper": float(ci.iloc[0, 1])}

    return {"cox": f_cox, "km": f_km}


# --------------------------------------------------------------------------- comparison

def flat(v: Any) -> np.ndarray:
    if isinstance(v, dict):
        return np.concatenate([flat(v[k]) for k in sorted(v)]) if v else np.zeros(0)
    if isinstance(v, (list, tuple)):
        return np.concatenate([flat(x) for x in v]) if v else np.zeros(0)
    return np.array([np.nan if v is None else v], dtype=float)


def max_rel(a: Any, b: Any) -> float:
    x, y = flat(a), flat(b)
    if x.shape != y.shape:
        return float("inf")
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.abs(x - y) / np.maximum(np.abs(y), 1e-300)
    r = np.where(both_nan, 0.0, r)
    return float(np.nanmax(np.where(np.isnan(r), np.inf, r))) if r.size else 0.0


def machine() -> dict[str, str]:
    cpu = cpu_model()
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, AttributeError):
        pass
    import scipy

    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset")}


def version(mod: str) -> str:
    try:
        import importlib.metadata as md

        return md.version(mod)
    except Exception:  # noqa: BLE001 - reporting only
        return "not installed"


# --------------------------------------------------------------------------- main

TASKS = [
    ("trial", "km", "PATINA trial (518): KM per arm + median CI"),
    ("trial", "logrank", "PATINA trial (518): stratified log-rank (4 factors)"),
    ("trial", "cox", "PATINA trial (518): stratified Efron Cox"),
    ("trial", "all", "PATINA trial (518): all three"),
    ("big", "cox", "1,000,000 rows: stratified Efron Cox (5 cov, 10 strata)"),
    ("big", "km", "1,000,000 rows: KM + median CI"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions; RESULTS.md is not written")
    ap.add_argument("--skip", nargs="*", default=[], help="tools to skip: r statsmodels lifelines")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")

    trial, big = make_trial(), make_big()
    trial_csv, big_csv = DATA / "trial.csv", DATA / "big.csv"
    trial.to_csv(trial_csv, index=False)
    if not big_csv.exists() or len(pd.read_csv(big_csv, usecols=["time"])) != len(big):
        big.to_csv(big_csv, index=False)
    # every tool reads the same rows, so Python tools use what R reads
    trial = pd.read_csv(trial_csv)
    big = pd.read_csv(big_csv)

    reps_small = 5 if args.quick else 40
    reps_big = 1 if args.quick else 3
    times: dict[tuple[str, str, str], float] = {}
    values: dict[tuple[str, str, str], Any] = {}

    py_tools: dict[str, dict[str, dict[str, Callable[[], Any]]]] = {
        "oncotrial": {"trial": oncotrial_trial(trial), "big": oncotrial_big(big)}}
    if "statsmodels" not in args.skip:
        py_tools["statsmodels"] = {"trial": statsmodels_trial(trial), "big": statsmodels_big(big)}
    if "lifelines" not in args.skip:
        py_tools["lifelines"] = {"trial": lifelines_trial(trial), "big": lifelines_big(big)}
    # warm-up (imports, first-call costs) is not timed, for any Python tool
    for tool in py_tools.values():
        for f in tool["trial"].values():
            f()

    def round_robin(workload: str, reps: dict[str, int], warm: bool) -> None:
        """Time the Python tools in turn, repetition by repetition and in a fresh random
        order each time, so that load from other processes on a shared machine and cache
        state fall on all of them alike. With ``warm``, each timed call follows an untimed
        one of the same task (as R's timing loop does), so no tool runs on cold caches."""
        rng = np.random.default_rng(1)
        samples: dict[tuple[str, str], list[float]] = {}
        tasks = list(next(iter(py_tools.values()))[workload])
        for rep in range(max(reps.values())):
            for task in tasks:
                order = list(py_tools)
                rng.shuffle(order)
                for tool in order:
                    fn = py_tools[tool][workload].get(task)
                    if fn is None or rep >= reps[tool]:
                        continue
                    if warm:
                        fn()
                    t0 = time.perf_counter()
                    val = fn()
                    samples.setdefault((tool, task), []).append(time.perf_counter() - t0)
                    values[(tool, workload, task)] = val
        for (tool, task), ts in sorted(samples.items()):
            times[(tool, workload, task)] = statistics.median(ts)
            print(f"  {tool:11s} {workload:5s} {task:8s} {statistics.median(ts):9.4f} s  ({len(ts)} runs)")

    print("Python tools, round robin")
    round_robin("trial", {"oncotrial": reps_small, "statsmodels": reps_small, "lifelines": max(reps_small // 8, 3)},
                warm=True)
    round_robin("big", {"oncotrial": reps_big, "statsmodels": reps_big, "lifelines": reps_big}, warm=False)

    r_versions = ""
    if "r" not in args.skip:
        print("R survival")
        for workload, csv, reps in (("trial", trial_csv, reps_small), ("big", big_csv, reps_big)):
            res = run_r(workload, csv, reps)
            if res is None:
                print("  Rscript not found; R skipped")
                break
            r_versions = f"R {res['version']}, survival {res['survival']}"
            for task in ("km", "logrank", "cox", "all"):
                if task in res:
                    ts = res[task]["times"]
                    times[("R", workload, task)] = statistics.median(ts if isinstance(ts, list) else [ts])
                    if res[task].get("value") is not None:
                        values[("R", workload, task)] = res[task]["value"]
                    print(f"  {'R':11s} {workload:5s} {task:8s} {times[('R', workload, task)]:9.4f} s")

    tools = [t for t in ("oncotrial", "R", "statsmodels", "lifelines") if any(k[0] == t for k in times)]
    # agreement with R on the numbers each task produces
    agree: dict[tuple[str, str, str], float] = {}
    for (tool, workload, task), val in values.items():
        ref = values.get(("R", workload, task))
        if tool != "R" and ref is not None and task != "all":
            agree[(tool, workload, task)] = max_rel(val, ref)
    failed = [(k, v) for k, v in agree.items() if k[0] == "oncotrial" and not v <= TOL]

    lines = render(tools, times, agree, r_versions, args.quick)
    print("\n".join(lines))
    if not args.quick:
        write_survival_section(lines)
    if failed:
        print(f"oncotrial differs from R by more than {TOL:g}: {failed}", file=sys.stderr)
        return 1
    return 0


def fmt_time(t: float) -> str:
    return f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s"


def render(tools: list[str], times: dict, agree: dict, r_versions: str, quick: bool) -> list[str]:
    m = machine()
    today = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [BEGIN, "## Survival: oncotrial.stats vs R survival, statsmodels, lifelines", ""]
    out.append(f"`python benchmarks/survival.py` on {today}{' (quick)' if quick else ''}. "
               f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; load average at the end "
               f"{m['load']} (the machine is shared, so times carry noise); OPENBLAS_CORETYPE {m['openblas_coretype']}. "
               f"Python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, pandas {m['pandas']}; "
               f"{r_versions or 'R not run'}; statsmodels {version('statsmodels')}; lifelines {version('lifelines')}.")
    out.append("")
    out.append("Median wall time per task, same data for every tool (R timed inside R, without "
               "start-up and CSV reading). In brackets: tool time / oncotrial time (> 1 means oncotrial is faster).")
    out.append("")
    out.append("| task | " + " | ".join(tools) + " |")
    out.append("| --- | " + " | ".join("---:" for _ in tools) + " |")
    for workload, task, label in TASKS:
        base = times.get(("oncotrial", workload, task))
        cells = []
        for tool in tools:
            t = times.get((tool, workload, task))
            if t is None:
                cells.append("n/a")
            elif tool == "oncotrial":
                cells.append(fmt_time(t))
            else:
                cells.append(f"{fmt_time(t)} ({t / base:.1f}x)")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Agreement with R (largest relative difference over the task's numbers: medians and CI limits; "
               "log-rank chi-square; Cox coefficients and standard errors):")
    out.append("")
    others = [t for t in tools if t != "R"]
    out.append("| task | " + " | ".join(others) + " |")
    out.append("| --- | " + " | ".join("---:" for _ in others) + " |")
    for workload, task, label in TASKS:
        if task == "all":
            continue
        cells = []
        for tool in others:
            v = agree.get((tool, workload, task))
            cells.append("n/a" if v is None else ("0" if v == 0 else f"{v:.1e}"))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Notes: lifelines has no stratified log-rank test (n/a); its \"all three\" is KM and Cox only. "
               "inf: the tool gave NaN where R gives a number. The median CIs of statsmodels "
               "(`quantile_ci`, Brookmeyer-Crowley type) and lifelines (crossing of the pointwise band, no "
               "midpoint rule) are different methods from R's `quantile.survfit`, so their CI limits may "
               "differ from R's; oncotrial follows R. Coefficients: R stops Newton-Raphson at a relative "
               "log-likelihood change of 1e-9, oncotrial at a negligible step (|step| <= 1e-10 (1 + |beta|)); "
               "here they agree to the digits shown.")
    out.append(END)
    return out


def write_survival_section(lines: list[str]) -> None:
    print(f"wrote the survival section of {write_section('survival', chr(10).join(lines))}")


if __name__ == "__main__":
    sys.exit(main())
