"""Timing of the patient-level simulator and the reconstruction (oncotrial.sim).

    python benchmarks/sim_speed.py            # print
    python benchmarks/sim_speed.py --write    # also replace the sim section of benchmarks/RESULTS.md

Times the steps of one PATINA trial (518 patients): simulation to SDTM frames, writing
CSV + SAS XPORT, ADaM + statistics of the published figures, calibration, the whole
reconstruction, and `oncotrial reproduce patina` in process (goal: 8 s). There is no R or
lifelines counterpart of these steps to time beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile

from _results import best_of, machine_line, markers, write_section
from oncotrial.jobs import reproduce
from oncotrial.protocol import load_protocol
from oncotrial.sim import calibrate, reconstruct, simulate_trial, trial_figures, write_trial

BEGIN, END = markers("sim")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    p = load_protocol("patina")
    simulate_trial(p, 0)  # warm up imports
    trial = simulate_trial(p, 1)
    trial_figures(p, trial.sdtm)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            ("simulate_trial (518 patients, SDTM frames)", best_of(lambda: simulate_trial(p, 1))),
            ("write_trial (CSV + XPORT v5)", best_of(lambda: write_trial(trial, tmp), 2)),
            ("trial_figures (SDTM -> ADaM -> stats)", best_of(lambda: trial_figures(p, trial.sdtm), 2)),
            ("calibrate", best_of(lambda: calibrate(p), 1)),
            ("reconstruct (incl. its ADaM/stats check)", best_of(lambda: reconstruct(p), 1)),
            ("reproduce (the whole job: reconstruct, SDTM, ADaM, analysis, report)",
             best_of(lambda: reproduce(p, f"{tmp}/reproduce"), 1)),
        ]
    machine = machine_line()
    lines = [BEGIN, "## Simulation and reconstruction (oncotrial.sim)", "",
             f"`python benchmarks/sim_speed.py --write` on {dt.date.today().isoformat()}, {machine}. "
             "Best of 3 runs (write, figures: 2; calibrate, reconstruct: 1).", "",
             "| what | seconds |", "| --- | ---: |", *[f"| {w} | {s:.3f} |" for w, s in rows], "", END]
    section = "\n".join(lines)
    print(section)
    if args.write:
        print(f"updated {write_section('sim', section)}", file=sys.stderr)


if __name__ == "__main__":
    main()
