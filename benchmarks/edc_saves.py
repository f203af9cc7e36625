"""eCRF saves per second over HTTP, and their latency, with 32 site clients entering at once:
a real ``oncotrial serve`` process, SQLite (WAL, synchronous=FULL) and PostgreSQL.

    python benchmarks/edc_saves.py                 # SQLite, and PostgreSQL if ONCOTRIAL_TEST_PG_URL is set
    python benchmarks/edc_saves.py --write         # also write the edc section of benchmarks/RESULTS.md
    python benchmarks/edc_saves.py --modes visit   # only the visit saves

Two modes: ``single`` saves one entry per request (``POST /api/v1/subjects/ID/records``); ``visit``
saves a cycle's three EX entries in one request (``POST /api/v1/subjects/ID/visits/VISIT/records``),
so the casebook is rebuilt and the edit checks run once per visit. Saves per second count entries
in both; the latency is per request.

Each client is one site's coordinator entering one patient's treatment cycles (EX: three drugs a
cycle), so a casebook grows to ``--entries`` records as a real one does: every save validates the
entry, writes it with its audit link, rebuilds the casebook and runs the protocol's edit checks
(RECIST included) to open or close queries, all in one durable transaction before the 201. The
rehearsal of a whole trial (``oncotrial rehearse``) is timed with ``--rehearse 12,60`` patients.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

from oncotrial.irt.config import normalize_db_url
from oncotrial.irt.testing import ServerProcess, fresh_postgres_database, prepare_trial

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine_line, markers, write_section  # noqa: E402

STRATA = {"induction_response": "CR_PR", "prior_antiher2": "NO", "endocrine_therapy": "AI", "her2_blockade": "DUAL"}
MODES = ("single", "visit")
DRUGS = (("PALBOCICLIB", 125.0, "mg"), ("TRASTUZUMAB", 6.0, "mg/kg"), ("PERTUZUMAB", 420.0, "mg"))


def _entry(i: int) -> dict:
    cycle, k = divmod(i, len(DRUGS))
    drug, dose, unit = DRUGS[k]
    start = dt.date(2021, 1, 4) + dt.timedelta(days=21 * cycle)
    return {"visit": f"CYCLE {cycle + 1}", "form": "EX", "seq": k + 1,
            "values": {"EXTRT": drug, "EXDOSE": dose, "EXDOSU": unit, "EXSTDTC": start.isoformat(),
                       "EXENDTC": (start + dt.timedelta(days=20 if k == 0 else 0)).isoformat()}}


def _requests(mode: str, entries: int) -> list[tuple[str, list[dict]]]:
    """The requests one client makes: (visit, entries) per request; one entry each in ``single`` mode."""
    planned = [_entry(k) for k in range(entries)]
    if mode == "single":
        return [(e["visit"], [e]) for e in planned]
    visits: dict[str, list[dict]] = {}
    for e in planned:
        visits.setdefault(e["visit"], []).append({k: v for k, v in e.items() if k != "visit"})
    return list(visits.items())


def run(db_url: str, clients: int, entries: int, mode: str = "single") -> dict:
    """One timed run: ``clients`` sites, one patient each, ``entries`` entries saved per patient."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    fx = prepare_trial(db_url, n_sites=clients, per_stratum=clients * 2)
    latencies: list[float] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(db_url, log_path=Path(tmp) / "server.log") as server:
        def client(i: int) -> None:
            site, sid = f"S{i + 1:02d}", f"P{i + 1:03d}"
            h = {"Authorization": f"Bearer {fx.tokens[site]}"}
            with httpx.Client(base_url=server.base_url, timeout=120.0) as c:
                r = c.post("/api/v1/randomizations", headers=h, json={
                    "subject_id": sid, "site": site, "strata": STRATA, "eligibility_confirmed": True})
                r.raise_for_status()
                mine = []
                for k, (visit, page) in enumerate(_requests(mode, entries)):
                    t = time.perf_counter()
                    if mode == "single":
                        r = c.post(f"/api/v1/subjects/{sid}/records", headers=h, json=page[0])
                    else:
                        r = c.post(f"/api/v1/subjects/{sid}/visits/{quote(visit, safe='')}/records", headers=h,
                                   json={"entries": page})
                    mine.append(time.perf_counter() - t)
                    if r.status_code != 201:
                        raise RuntimeError(f"save {k} of {sid}: HTTP {r.status_code} {r.text[:300]}")
                with lock:
                    latencies.extend(mine)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(client, range(clients)))
        wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    saves = clients * entries
    return {"mode": mode, "saves": saves, "requests": len(latencies), "seconds": wall, "per_second": saves / wall,
            "p50": float(np.quantile(ms, 0.5)), "p90": float(np.quantile(ms, 0.9)), "p99": float(np.quantile(ms, 0.99))}


def rehearse_run(db_url: str, patients: int, clients: int) -> dict:
    from oncotrial.jobs.rehearse import rehearse

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        summary = rehearse("patina", db_url, Path(tmp) / "out", clients=clients, patients=patients).summary
        return {**summary, "wall": time.perf_counter() - t}


def _database(stack: ExitStack, backend: str, pg_url: str | None, name: str) -> str:
    """A new empty database for one run, removed when ``stack`` closes."""
    if backend == "sqlite":
        return normalize_db_url(Path(stack.enter_context(tempfile.TemporaryDirectory())) / name)
    return stack.enter_context(fresh_postgres_database(pg_url))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--entries", type=int, default=60, help="saves per client (its patient's casebook grows to this)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--modes", default="single,visit", help="single (one entry a request), visit (a visit's entries)")
    ap.add_argument("--pg-url", default=os.environ.get("ONCOTRIAL_TEST_PG_URL"))
    ap.add_argument("--rehearse", default="", help="also time `rehearse patina` with these many patients (e.g. 12,60)")
    ap.add_argument("--write", action="store_true", help="write the edc section of benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    patients = [int(n) for n in args.rehearse.split(",") if n.strip()]
    rows, rehearsals = [], []
    load_before = os.getloadavg()[0]
    for backend in args.backends.split(","):
        if backend == "postgresql" and not args.pg_url:
            print("skipping postgresql: set ONCOTRIAL_TEST_PG_URL or --pg-url", file=sys.stderr)
            continue
        for mode in args.modes.split(","):
            with ExitStack() as stack:
                url = _database(stack, backend, args.pg_url, "edc.sqlite")
                res = run(url, args.clients, args.entries, mode)
            rows.append((backend, res))
            print(json.dumps({"backend": backend, **res}))
        for n in patients:
            with ExitStack() as stack:
                url = _database(stack, backend, args.pg_url, "rehearsal.sqlite")
                reh = rehearse_run(url, n, args.clients)
            rehearsals.append((backend, reh))
            print(json.dumps({"backend": backend, "rehearse_patients": n, "wall": reh["wall"], "saves": reh["saves"],
                              "visit_saves": reh["visit_saves"], "saves_per_second": reh["saves_per_second"],
                              "seconds": reh["seconds"]}))
    if args.write:
        begin, end = markers("edc")
        lines = [begin, "## Data capture: eCRF saves per second over HTTP", "",
                 f"`python benchmarks/edc_saves.py --write{f' --rehearse {args.rehearse}' if args.rehearse else ''}` "
                 f"on {dt.date.today().isoformat()}, {machine_line()}. {args.clients} site clients at once, one "
                 f"patient each, {args.entries} EX entries per patient (the casebook grows to {args.entries} records); "
                 "`single`: each entry is a full `POST /api/v1/subjects/ID/records`; `visit`: a cycle's three EX entries "
                 "are one `POST /api/v1/subjects/ID/visits/VISIT/records`; a durable commit before every 201. "
                 "Saves/s counts entries saved, latency is per request. "
                 f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (the machine is shared).",
                 "Goal (issue 12 §9): >= 500 saves/s with p99 <= 50 ms.", "",
                 "| backend | mode | saves | requests | seconds | saves/s | p50 ms | p90 ms | p99 ms |",
                 "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for backend, r in rows:
            lines.append(f"| {backend} | {r['mode']} | {r['saves']:,} | {r['requests']:,} | {r['seconds']:.1f} | "
                         f"{r['per_second']:.0f} | {r['p50']:.1f} | {r['p90']:.1f} | {r['p99']:.1f} |")
        if rehearsals:
            lines += ["", "`oncotrial rehearse patina` (reconstructed trial, first N patients; goal: all 518 patients in "
                      "<= 3 minutes; a visit's forms are one visit save):", "",
                      "| backend | patients | entries | saves | visit saves | saves/s (entry phase) | entry phase s | "
                      "SDV phase s | wall s |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for backend, r in rehearsals:
                lines.append(f"| {backend} | {r['patients']} | {r['entries']:,} | {r['saves']:,} | {r['visit_saves']:,} | "
                             f"{r['saves_per_second']:.0f} | {r['seconds']['enter']:.0f} | {r['seconds']['verify']:.0f} | "
                             f"{r['wall']:.0f} |")
            largest = {b: r for b, r in sorted(rehearsals, key=lambda x: x[1]["patients"])}
            # every patient's casebook costs about the same, so the whole trial scales with its patients
            lines += ["", "All 518 patients, extrapolated linearly from the largest run: " + "; ".join(
                f"{b} {r['wall'] * 518 / r['patients'] / 60:.0f} min" for b, r in largest.items()
                if r["patients"] < 518) + "."]
        lines.append(end)
        print(f"wrote {write_section('edc', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
