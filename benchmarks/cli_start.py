"""How long a user waits for the ``oncotrial`` command: start-up of ``--help`` and ``protocol show``,
each a fresh process, beside a bare Python and R starting with the survival package.

    python benchmarks/cli_start.py            # print the timings
    python benchmarks/cli_start.py --write    # also write the cli section of benchmarks/RESULTS.md

Every command runs ``--repeat`` times as a new process (the operating system's file cache warm
after the first); the figure is the best run, as a user who types it twice sees it. Goals
(issue 17): ``oncotrial --help`` <= 0.3 s, ``oncotrial protocol show patina`` <= 0.5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, markers, write_section  # noqa: E402

GOALS = {"oncotrial --help": 0.3, "oncotrial protocol show patina": 0.5}


def _oncotrial() -> list[str]:
    """The installed ``oncotrial`` script beside this Python (what a user types), else ``python -m``."""
    script = Path(sys.executable).with_name("oncotrial")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oncotrial"]


def commands() -> dict[str, list[str]]:
    cmds = {"python -c pass": [sys.executable, "-c", "pass"],
            "oncotrial --help": [*_oncotrial(), "--help"],
            "oncotrial protocol show patina": [*_oncotrial(), "protocol", "show", "patina"]}
    if shutil.which("Rscript"):
        cmds["Rscript: library(survival)"] = ["Rscript", "-e", "suppressMessages(library(survival))"]
    return cmds


def time_command(cmd: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--before", default="", help="A line on the figures before a change, kept in RESULTS.md.")
    args = ap.parse_args(argv)
    rows = []
    for name, cmd in commands().items():
        times = time_command(cmd, args.repeat)
        goal = GOALS.get(name)
        verdict = "" if goal is None else (f" (goal <= {goal:g} s: {'met' if min(times) <= goal else 'NOT met'})")
        rows.append(f"| `{name}` | {min(times):.2f} | {', '.join(f'{x:.2f}' for x in times)} |{verdict} |")
        print(f"{name}: best {min(times):.2f} s{verdict}")
    if args.write:
        begin, end = markers("cli")
        text = "\n".join([
            begin, "## Start-up of the command line", "",
            f"`python benchmarks/cli_start.py --write` on {dt.date.today().isoformat()}, {machine_line()}: each "
            f"command {args.repeat} times as a fresh process, best run in seconds.", "",
            "| command | best (s) | runs (s) | goal |", "|---|---|---|---|", *rows, "",
            *([args.before, ""] if args.before else []), end])
        print(f"wrote {write_section('cli', text)}")


if __name__ == "__main__":
    main()
