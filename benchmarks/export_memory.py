"""Peak memory of ``oncotrial edc export`` (SDTM in CSV, XPT and Dataset-JSON with define.xml) of a
rehearsed trial, by chunk size, and of the export before it was written in chunks.

    python benchmarks/export_memory.py --db /tmp/big.db            # a database `oncotrial rehearse` left
    python benchmarks/export_memory.py --db /tmp/big.db --write    # also write the export-memory section
    python benchmarks/export_memory.py --db /tmp/big.db --before 50a2c2c   # and the export of that commit

Each export runs in its own process and its peak resident set (``ru_maxrss`` from ``wait4``) is
reported with what it is above a process that has only imported the export (Python, pandas,
pyreadstat, SQLAlchemy: the floor no chunk size lowers). ``--before`` extracts that commit's
``src`` (``git archive``) and runs its export the same way, as the all-subjects-at-once reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, markers, write_section  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
FLOOR = "import oncotrial.irt.services.edc_export, oncotrial.cli, pandas, pyreadstat"


def _run(argv: list[str], src: Path) -> tuple[float, float]:
    """Peak RSS (MiB) and wall time (s) of ``python argv`` with ``src`` on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return usage.ru_maxrss / 1024, took


def _export(db: str, out: Path, src: Path, chunk: int | None) -> tuple[float, float]:
    argv = ["-m", "oncotrial", "edc", "export", "--db", db, "--out", str(out), "--formats", "csv,xpt,json", "--json"]
    return _run(argv + ([] if chunk is None else ["--chunk-subjects", str(chunk)]), src)


def _source_of(rev: str, folder: Path) -> Path:
    tar = subprocess.run(["git", "archive", rev, "src"], cwd=SRC.parent, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as t:
        t.extractall(folder, filter="data")
    return folder / "src"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="A rehearsed database (oncotrial rehearse ... --db PATH).")
    ap.add_argument("--chunks", default="1,10,50,200", help="Chunk sizes (subjects), comma-separated.")
    ap.add_argument("--before", help="A commit whose export (all subjects at once) to measure too.")
    ap.add_argument("--write", action="store_true", help="Write the export-memory section of RESULTS.md.")
    args = ap.parse_args(argv)
    try:
        chunks = [int(c) for c in args.chunks.split(",")]
    except ValueError:
        raise SystemExit(f"--chunks: expected whole numbers separated by commas, got {args.chunks!r}") from None
    if not chunks or min(chunks) < 1:
        raise SystemExit(f"--chunks: expected chunk sizes of at least 1, got {args.chunks!r}")
    db = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        floor, _ = _run(["-c", FLOOR], SRC)
        if args.before:
            rows.append((f"before ({args.before}, all at once)",
                         *_export(db, Path(tmp) / "before", _source_of(args.before, Path(tmp) / "old"), None)))
        for c in chunks:
            rows.append((f"{c} subjects a chunk", *_export(db, Path(tmp) / f"c{c}", SRC, c)))
    lines = ["| export | peak RSS (MiB) | above imports (MiB) | wall (s) |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {rss:.0f} | {rss - floor:.0f} | {took:.1f} |" for name, rss, took in rows]
    print(f"imports alone: {floor:.0f} MiB")
    print("\n".join(lines))
    if args.write:
        begin, end = markers("export-memory")
        section = [begin, "## SDTM export memory by chunk size", "",
                   f"`python benchmarks/export_memory.py --db {Path(args.db).name}"
                   f"{' --before ' + args.before if args.before else ''} --write` on {dt.date.today().isoformat()}, "
                   f"{machine_line()}. SDTM in CSV, XPT and Dataset-JSON with define.xml of a rehearsed trial; "
                   f"peak resident set of the export process (imports alone: {floor:.0f} MiB). The files are "
                   "the same bytes whatever the chunk size.", "", *lines, end]
        print(f"wrote {write_section('export-memory', chr(10).join(section))}")


if __name__ == "__main__":
    main()
