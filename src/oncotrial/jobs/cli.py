"""`oncotrial analyze`, `reproduce`, `rehearse` and `interim`: parse, run the job with a progress bar, print its summary."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import typer
from oncotrial._console import make_console

from oncotrial.protocol.errors import ProtocolError

console = make_console(stderr=True)


def _bar(steps: tuple[str, ...]):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn("[bold]{task.description:<12}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, transient=False)
    task = prog.add_task("starting", total=len(steps))

    def advance(name: str) -> None:
        prog.update(task, description=name, advance=1)

    return prog, task, advance


def analyze(
    protocol: Optional[str] = typer.Option(None, "--protocol", help="Bundled protocol name (e.g. patina) or a TOML "
                                                                   "file (with --db: the database's own protocol)."),
    out: Path = typer.Option(..., "--out", help="Output folder (report.html, results.json, summary.md, figures/, adam/)."),
    sdtm: Path = typer.Option(None, "--sdtm", help="Folder of SDTM domains (CSV, XPT or Dataset-JSON)."),
    adam: Path = typer.Option(None, "--adam", help="Folder of ADaM datasets (adsl.csv, adtte.csv, ...) instead of SDTM."),
    db: Optional[str] = typer.Option(None, "--db", help="The trial's database (URL or SQLite path): analyse the live data."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="With --db: data cut-off YYYY-MM-DD (default: the "
                                                                "database lock's cut-off)."),
    unblind: Optional[str] = typer.Option(None, "--unblind", help="With --db, a masked trial: analyse by arm, for this "
                                                                  "reason (recorded on the audit chain); else pooled."),
) -> None:
    """Run the protocol's analysis plan on SDTM, ADaM or the live database, and write the report."""
    from oncotrial.jobs.pipeline import ANALYZE_STEPS
    from oncotrial.jobs.pipeline import analyze as run

    if sum(x is not None for x in (sdtm, adam, db)) != 1:
        console.print("error: give exactly one of --sdtm, --adam or --db")
        raise typer.Exit(2)
    if db is None and (cutoff is not None or unblind is not None):
        console.print("error: --cutoff and --unblind go with --db")
        raise typer.Exit(2)
    if db is None and protocol is None:
        console.print("error: --protocol: required with --sdtm or --adam")
        raise typer.Exit(2)
    prog, task, advance = _bar(ANALYZE_STEPS)
    t0 = time.perf_counter()
    try:
        with prog:
            if db is not None:
                from oncotrial.irt.cli import cli_actor
                from oncotrial.irt.services.errors import IrtError
                from oncotrial.jobs.live import BlindedResult, analyze_database

                try:
                    job = analyze_database(db, out, cutoff=cutoff, unblind_reason=unblind, actor=cli_actor(),
                                           progress=advance)
                except IrtError as exc:
                    raise ValueError(getattr(exc, "message", str(exc))) from None
            else:
                job = run(protocol, out, sdtm=sdtm, adam=adam, progress=advance)
            prog.update(task, completed=len(ANALYZE_STEPS), description="done")
    except (ProtocolError, ValueError) as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(1) from None
    if db is not None and isinstance(job, BlindedResult):
        s = job.summary
        lines = [f"{s['study']} (masked): {s['n_randomized']} patients, pooled over arms"]
        lines += [f"{t['endpoint']}: {t['events']} events, pooled median {t['median']:.1f} {s['unit']}"
                  for t in s["time_to_event"]]
        lines.append(f"results: {job.paths['results']}")
        typer.echo("\n".join(lines))
        return
    _done(job, time.perf_counter() - t0)


def reproduce(
    protocol: str = typer.Argument(..., help="Bundled protocol name (e.g. patina) or a TOML file with a published block."),
    out: Path = typer.Option(Path("out"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the reconstruction (the same seed gives the same report)."),
) -> None:
    """Reconstruct a published trial from its protocol, analyse it, and report published beside reproduced."""
    from oncotrial.jobs.pipeline import REPRODUCE_STEPS
    from oncotrial.jobs.pipeline import reproduce as run

    prog, task, advance = _bar(REPRODUCE_STEPS)
    t0 = time.perf_counter()
    try:
        with prog:
            job = run(protocol, out, seed=seed, progress=advance)
            prog.update(task, completed=len(REPRODUCE_STEPS), description="done")
    except (ProtocolError, ValueError) as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(1) from None
    _done(job, time.perf_counter() - t0)


def rehearse(
    protocol: str = typer.Argument(..., help="Bundled protocol name (e.g. patina) or a TOML file with data-capture forms (edc)."),
    db: str = typer.Option(..., "--db", help="An empty database: a SQLAlchemy URL or a file path for SQLite."),
    out: Path = typer.Option(Path("rehearsal"), "--out", help="Output folder (sdtm/, adam/, results.json, "
                                                              "report.html, rehearsal.json)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulated trial (the same seed gives the same trial)."),
    clients: int = typer.Option(32, "--clients", help="Concurrent site clients entering data."),
    patients: Optional[int] = typer.Option(None, "--patients", help="Rehearse only the first N patients randomized."),
    error_rate: float = typer.Option(0.02, "--error-rate", help="Share of entries made with an error to correct."),
    as_json: bool = typer.Option(False, "--json", help="Print rehearsal.json."),
) -> None:
    """Run a whole trial through the service's API: the simulator plays every site, monitors verify,
    the data manager locks at the cut-off; then export SDTM from the database and analyse it."""
    from oncotrial.jobs.rehearse import REHEARSE_STEPS
    from oncotrial.jobs.rehearse import rehearse as run

    prog, task, advance = _bar(REHEARSE_STEPS)
    t0 = time.perf_counter()
    try:
        with prog:
            result = run(protocol, db, out, seed=seed, clients=clients, patients=patients, error_rate=error_rate,
                         progress=advance)
            prog.update(task, completed=len(REHEARSE_STEPS), description="done")
    except (ProtocolError, ValueError, RuntimeError) as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(1) from None
    s = result.summary
    if as_json:
        typer.echo(json.dumps(s))
        return
    rate = f"{s['saves_per_second']:.0f}" if s["saves_per_second"] else "-"
    typer.echo(f"{s['protocol']}: {s['patients']} patients, {s['entries']} entries ({s['saves']} saves, {rate}/s), "
               f"{s['queries']['raised_by_entry_errors']} entry errors corrected through queries, "
               f"{s['sdv_verified']} records verified, locked at {s['cutoff']}\n"
               f"report: {result.paths['report']}  ({time.perf_counter() - t0:.1f} s)")


def interim(
    protocol: Optional[str] = typer.Argument(None, help="Bundled protocol name (e.g. patina) or a TOML file (with "
                                                         "--db: the database's own protocol)."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="Data cut-off of this look, YYYY-MM-DD (with --db: "
                                                                "default the database lock's cut-off)."),
    sdtm: Path = typer.Option(None, "--sdtm", help="Folder of the trial's SDTM domains (CSV, XPT or Dataset-JSON)."),
    db: Optional[str] = typer.Option(None, "--db", help="The trial's database (URL or SQLite path): the live data."),
    previous: Optional[str] = typer.Option(None, "--previous", help="Cut-offs of the looks already done, "
                                                                    "e.g. 2021-06-30,2022-09-30."),
    final: bool = typer.Option(False, "--final", help="This look is the final analysis, whatever its information."),
    closed: Optional[str] = typer.Option(None, "--closed", help="With --db: also write the closed (by-arm) report, "
                                                                "for this reason (recorded on the audit chain)."),
    user: Optional[str] = typer.Option(None, "--user", help="With --closed: the unblinded statistician's account; the "
                                                            "password is read from ONCOTRIAL_PASSWORD or asked for."),
    out: Path = typer.Option(Path("interim"), "--out", help="Output folder (interim_open.html/.json, "
                                                             "interim_closed.html/.json)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report's JSON (closed if written, else open)."),
) -> None:
    """The interim analysis at a data cut-off: the primary endpoint against the boundary recalculated at
    the observed information, in a closed report (by arm, for the DMC) and an open one (pooled)."""
    from oncotrial.jobs.interim import INTERIM_STEPS, interim as run, interim_database

    if (sdtm is None) == (db is None):
        console.print("error: give exactly one of --sdtm or --db")
        raise typer.Exit(2)
    if sdtm is not None and (protocol is None or cutoff is None):
        console.print("error: --sdtm needs the PROTOCOL argument and --cutoff")
        raise typer.Exit(2)
    if sdtm is not None and closed is not None:
        console.print("error: --closed goes with --db (from SDTM both reports are written)")
        raise typer.Exit(2)
    if user is not None and closed is None:
        console.print("error: --user goes with --closed")
        raise typer.Exit(2)
    password = None
    if closed is not None and user is not None:
        password = os.environ.get("ONCOTRIAL_PASSWORD") or typer.prompt(f"password of {user}", hide_input=True,
                                                                         err=True)
    looks = [c.strip() for c in previous.split(",") if c.strip()] if previous else []
    prog, task, advance = _bar(INTERIM_STEPS)
    try:
        with prog:
            if db is not None:
                from oncotrial.irt.services.errors import IrtError

                try:
                    job = interim_database(db, out, cutoff=cutoff, previous=looks, final=final, closed_reason=closed,
                                           user=user, password=password, progress=advance)
                except IrtError as exc:
                    raise ValueError(getattr(exc, "message", str(exc))) from None
            else:
                job = run(protocol, out, sdtm=sdtm, cutoff=cutoff, previous=looks, final=final, progress=advance)
            prog.update(task, completed=len(INTERIM_STEPS), description="done")
    except (ProtocolError, ValueError) as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(1) from None
    doc = job.closed or job.open
    if as_json:
        typer.echo(json.dumps(json.loads(job.paths["closed_json" if job.closed else "open_json"].read_text())))
        return
    last = doc["boundaries"][doc["look"] - 1]
    lines = [f"{job.protocol}: look {doc['look']} of {len(doc['boundaries'])}, {job.endpoint} events "
             f"{job.looks[-1].events} of {doc['plan']['max_events']} (information rate {last['information_rate']:.3f}); "
             f"efficacy boundary Z {last['critical_value']:.3f}"]
    if job.closed:
        st = job.closed["stages"][-1]
        lines.append(f"Z {st['z']:.3f}: {st['test_action']}")
    lines += [f"{name}: {path}" for name, path in job.paths.items() if name.endswith("_html")]
    typer.echo("\n".join(lines))


def _done(job, seconds: float) -> None:
    r = job.results
    from oncotrial.tlg.format import interval, num, pvalue

    lines = [f"{r.study}: {sum(r.n_randomized.values())} patients randomized"]
    if r.pfs is not None and r.experimental:
        e, c = r.pfs.arm(r.experimental), r.pfs.arm(r.control)
        lines.append(f"PFS median {num(e.median)} vs {num(c.median)} {r.unit}; HR {num(r.pfs.hr, 2)} "
                     f"({interval(r.pfs.hr_lower, r.pfs.hr_upper, 2)}); p = {pvalue(r.pfs.logrank_p)}")
    elif r.pfs is not None:
        # Three or more arms: no single experimental arm, one line per comparison with the control.
        for h in r.pfs.comparisons:
            e, c = r.pfs.arm(h.experimental), r.pfs.arm(h.control)
            lines.append(f"PFS {h.experimental} vs {h.control}: median {num(e.median)} vs {num(c.median)} {r.unit}; "
                         f"HR {num(h.hr, 2)} ({interval(h.hr_lower, h.hr_upper, 2)}); p = {pvalue(h.logrank_p)}")
    lines.append(f"report: {job.paths['report']}  ({seconds:.1f} s)")
    typer.echo("\n".join(lines))
