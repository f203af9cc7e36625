"""Randomizations per second with durable commits, and latency percentiles, for the
IRT service over loopback: a real uvicorn server process, 32 concurrent clients,
SQLite (WAL, synchronous=FULL) and PostgreSQL.

    python benchmarks/irt_throughput.py                       # SQLite, and PostgreSQL if ONCOTRIAL_TEST_PG_URL is set
    python benchmarks/irt_throughput.py --write               # also write the irt section of benchmarks/RESULTS.md

Two clients are timed, because client and server share the machine's 2 cores:
``httpx`` (32 threads, one keep-alive httpx.Client each: what the tests use) and
``raw`` (32 asyncio keep-alive connections speaking minimal HTTP/1.1 in one process:
the cheapest client Python can offer, so the server gets most of the CPU). CPU time
of the server process and of the client per randomization is reported next to wall
time, so a busy machine shows up as a gap between the two.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from oncotrial.irt.loadgen import (Fixture, Patient, ServerProcess, fresh_postgres_database, make_patients,
                                   prepare_trial, run_load)

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- BEGIN irt -->", "<!-- END irt -->"


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its live child processes (uvicorn workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out + [g for c in out for g in _children(c)]


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _raw_load(port: int, fixture: Fixture, patients: list[Patient], concurrency: int) -> tuple[list[float], int, list[str]]:
    queue = list(reversed(patients))
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                p = queue.pop()
                body = json.dumps(p.body()).encode()
                head = (f"POST /api/v1/randomizations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Authorization: Bearer {fixture.tokens[p.site]}\r\nIdempotency-Key: {p.key}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                payload = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if b" 201 " not in status_line:
                    errors.append(f"{p.subject_id}: {status_line!r} {payload[:200]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, len(latencies), errors


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] * 1000


def run_one(db_url: str, backend: str, client: str, n: int, warmup: int, clients: int, workers: int) -> dict:
    fixture = prepare_trial(db_url, n_sites=clients, per_stratum=max(500, n // 8))
    patients = make_patients(fixture, n + warmup, seed=3)
    with ServerProcess(db_url, workers=workers) as server:
        run_load(server.base_url, fixture, patients[:warmup], concurrency=clients)  # warm caches and pools
        load0 = os.getloadavg()[0]
        s0, c0, t0 = proc_cpu(server.proc.pid), self_cpu(), time.perf_counter()
        if client == "httpx":
            res = run_load(server.base_url, fixture, patients[warmup:], concurrency=clients)
            lat, done, errors = res.latencies, len(res.created), res.errors
        else:
            lat, done, errors = asyncio.run(_raw_load(server.port, fixture, patients[warmup:], clients))
        wall = time.perf_counter() - t0
        server_cpu = proc_cpu(server.proc.pid) - s0
        client_cpu = self_cpu() - c0
        load1 = os.getloadavg()[0]
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return {"backend": backend, "client": client, "n": done, "clients": clients, "workers": workers,
            "per_s": done / wall, "p50_ms": pct(lat, 0.5), "p90_ms": pct(lat, 0.9), "p99_ms": pct(lat, 0.99),
            "server_cpu_ms": server_cpu / done * 1000, "client_cpu_ms": client_cpu / done * 1000,
            "load_before": load0, "load_after": load1}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    import sqlalchemy
    import sqlite3
    import uvicorn
    import fastapi
    return (f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, "
            f"SQLAlchemy {sqlalchemy.__version__}")


def table(rows: list[dict]) -> str:
    out = ["| backend | client | uvicorn workers | randomizations | per second (best) | p50 ms | p90 ms | p99 ms "
           "| server CPU ms / rand. | client CPU ms / rand. | load avg before / after | per second, every run |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        out.append(f"| {r['backend']} | {r['client']} | {r['workers']} | {r['n']:,} | {r['per_s']:.0f} | "
                   f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['server_cpu_ms']:.2f} | "
                   f"{r['client_cpu_ms']:.2f} | {r['load_before']:.1f} / {r['load_after']:.1f} | {r.get('runs', '')} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="timed randomizations per run")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", default="1,2", help="uvicorn worker processes, comma-separated list")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--clients-kind", default="httpx,raw")
    ap.add_argument("--pg-url", default=os.environ.get("ONCOTRIAL_TEST_PG_URL"))
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the fastest is reported")
    ap.add_argument("--write", action="store_true", help="write the irt section of benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    rows = []
    for backend in args.backends.split(","):
        if backend == "postgresql" and not args.pg_url:
            print("skipping postgresql: set ONCOTRIAL_TEST_PG_URL or --pg-url", file=sys.stderr)
            continue
        for workers, client in [(int(w), c) for w in args.workers.split(",") for c in args.clients_kind.split(",")]:
            runs = []
            for _ in range(args.repeat):
                with ExitStack() as stack:
                    if backend == "sqlite":
                        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="irt-bench-"))
                        url = f"sqlite:///{folder}/bench.sqlite"
                    else:
                        url = stack.enter_context(fresh_postgres_database(args.pg_url, prefix="irt_bench"))
                    runs.append(run_one(url, backend, client, args.n, args.warmup, args.clients, workers))
            # The machine is shared (other jobs show in the load average): the fastest run is
            # the one least disturbed, and the closest to what the service itself can do.
            row = max(runs, key=lambda r: r["per_s"])
            row["runs"] = ", ".join(f"{r['per_s']:.0f}" for r in runs)
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
    text = table(rows)
    print(text)
    if args.write:
        section = "\n".join([
            BEGIN,
            "## IRT: durable randomizations per second over loopback",
            "",
            f"`python benchmarks/irt_throughput.py --write` on {dt.date.today().isoformat()}, {machine()}.",
            f"{args.clients} concurrent clients, {args.n:,} timed randomizations per run after {args.warmup} "
            "warm-up ones, each a full `POST /api/v1/randomizations` (token check, validation, allocation, "
            "counter, audit link, idempotency record, durable commit before the 201). "
            f"Fastest of {args.repeat} runs per row (all runs in the last column); server CPU is user+system "
            "time of the server process(es) per randomization.",
            "",
            text,
            "",
            "<!-- irt-notes -->",
            END,
        ])
        old = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
        notes = ""
        if BEGIN in old:
            prev = old[old.index(BEGIN):old.index(END)]
            if "<!-- irt-notes -->" in prev:
                notes = prev.split("<!-- irt-notes -->", 1)[1].rstrip("\n")
            section = section.replace("<!-- irt-notes -->", "<!-- irt-notes -->" + notes)
            new = old[:old.index(BEGIN)] + section + old[old.index(END) + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n" + section + "\n"
        RESULTS.write_text(new)


if __name__ == "__main__":
    main()
