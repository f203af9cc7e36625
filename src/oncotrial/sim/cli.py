"""``oncotrial simulate`` and ``oncotrial reconstruct``: simulated and reconstructed trials from a protocol."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from oncotrial._console import make_console

from oncotrial.protocol.errors import ProtocolError

console = make_console()


def _fmt(v: float, d: int) -> str:
    return "NE" if v != v else f"{v:.{d}f}"


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


def reconstruct_cmd(
    protocol: str = typer.Argument(..., help="Bundled protocol name (e.g. patina) or path to a protocol TOML file."),
    out: Path = typer.Option(Path("reconstruction"), "--out", help="Folder for the SDTM domains and the comparison table."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed of the reconstruction."),
    formats: str = typer.Option("csv,xpt", "--formats", help="Comma-separated SDTM formats: csv, xpt, json."),
) -> None:
    """Reconstruct a patient-level trial from the protocol's published results; print published vs reproduced."""
    from oncotrial.sim.reconstruction import reconstruct
    from oncotrial.sim.trial import write_trial

    t0 = time.perf_counter()
    try:
        rec = reconstruct(protocol, seed=seed)
        fm = tuple(f.strip() for f in formats.split(",") if f.strip())
        write_trial(rec, out / "sdtm", formats=fm)
    except (ProtocolError, ValueError) as exc:
        _fail(exc)
    out.mkdir(parents=True, exist_ok=True)
    rec.comparison.to_csv(out / "comparison.csv", index=False)
    from rich.table import Table

    table = Table(title=f"{rec.protocol_id}: published vs reproduced (data cut-off {rec.data_cutoff})")
    for col in ("figure", "arm", "published", "reproduced", "within rounding", "note"):
        table.add_column(col)
    for r in rec.comparison.itertuples():
        table.add_row(r.figure, r.arm, _fmt(r.published, r.decimals), _fmt(r.reproduced, r.decimals),
                      "yes" if r.within_rounding else "[red]no[/red]", r.note)
    console.print(table)
    n_ok = int(rec.comparison["within_rounding"].sum())
    console.print(f"{n_ok} of {len(rec.comparison)} figures within the published rounding; "
                  f"SDTM in {out / 'sdtm'}, table in {out / 'comparison.csv'} ({time.perf_counter() - t0:.1f} s)")
    for note in rec.notes:
        console.print(f"note: {note}")


def simulate_cmd(
    protocol: str = typer.Argument(..., help="Bundled protocol name (e.g. patina) or path to a protocol TOML file."),
    replicates: int = typer.Option(1, "--replicates", "-n", min=1, help="Number of simulated trials."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the first trial; trial i uses seed + i."),
    out: Path | None = typer.Option(None, "--out", help="Write the SDTM of the first trial (and the summary) here."),
    calibrated: bool = typer.Option(True, "--calibrate/--no-calibrate", help="Calibrate to the published results first."),
) -> None:
    """Simulate trials; with --replicates N show each published figure's distribution beside its value."""
    from oncotrial.sim.calibration import calibrate
    from oncotrial.sim.replicates import replicate_summary
    from oncotrial.sim.trial import as_protocol, simulate_trial, write_trial

    t0 = time.perf_counter()
    try:
        p = as_protocol(protocol)
        params = calibrate(p) if calibrated and p.published is not None else None
        if out is not None:
            write_trial(simulate_trial(p, seed, params), out / "sdtm")
        if p.published is None:
            console.print("the protocol has no published results to compare with; "
                          + (f"SDTM written to {out / 'sdtm'}" if out else "nothing else to show"))
            return
        summary = replicate_summary(p, replicates, seed=seed, params=params)
    except (ProtocolError, ValueError) as exc:
        _fail(exc)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        summary.to_csv(out / "replicates.csv", index=False)
    from rich.table import Table

    table = Table(title=f"{p.study.id}: {replicates} simulated trial(s) vs published")
    for col in ("figure", "arm", "published", "mean", "2.5%", "median", "97.5%"):
        table.add_column(col)
    for r in summary.itertuples():
        d = int(r.decimals)
        table.add_row(r.figure, r.arm, _fmt(r.published, d), _fmt(r.mean, d), _fmt(r.q025, d), _fmt(r.q50, d), _fmt(r.q975, d))
    console.print(table)
    console.print(f"{replicates} trial(s) in {time.perf_counter() - t0:.1f} s")


def _parse_events(text: str | None) -> dict[str, int] | None:
    """``ARM=N,ARM=N`` as a mapping; an arm name may hold spaces but not commas or '='."""
    if text is None:
        return None
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        arm, sep, n = part.rpartition("=")
        if not sep or not arm.strip() or not n.strip().isdigit():
            raise ValueError(f"--events: {part!r} is not ARM=N; expected e.g. --events 'Male=112,Female=53'")
        if arm.strip() in out:
            raise ValueError(f"--events: arm {arm.strip()!r} is given twice")
        out[arm.strip()] = int(n)
    return out


def ipd_from_km_cmd(
    curve: Path = typer.Argument(..., help="Digitized curve CSV: columns arm, time, survival (a proportion)."),
    risk: Path = typer.Option(..., "--risk", help="Numbers-at-risk CSV: columns arm, time, n_risk (time 0 first)."),
    out: Path = typer.Option(..., "--out", help="IPD CSV to write: columns arm, time, event."),
    events: str | None = typer.Option(None, "--events", help="Reported total events per arm: ARM=N,ARM=N."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary (per arm n, events, censored, median)."),
) -> None:
    """Individual patient data from digitized Kaplan-Meier curves and their numbers at risk (Guyot et al. 2012)."""
    import json

    import pandas as pd

    from oncotrial.sim.ipd import ipd_from_km

    err = make_console(stderr=True)
    try:
        total = _parse_events(events)
        tables = {}
        for name, path in (("CURVE", curve), ("--risk", risk)):
            try:
                tables[name] = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
            except FileNotFoundError:
                raise ValueError(f"{name} {path}: no such file") from None
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise ValueError(f"{name} {path}: not a CSV file ({exc})") from None
        res = ipd_from_km(tables["CURVE"], tables["--risk"], total_events=total,
                          curve_name=str(curve), risk_name=str(risk))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        res.to_frame().to_csv(tmp, index=False)
        tmp.replace(out)  # never leave a half-written IPD file behind
    except (ValueError, OSError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2)
    rows = res.summary()
    for row, d in zip(rows, res.diagnostics):
        row["converged"] = d.converged
        row["notes"] = list(d.notes)
    if as_json:
        typer.echo(json.dumps({"out": str(out), "arms": rows}, indent=2))
        return
    for row in rows:
        med = "not reached" if row["median"] is None else f"{row['median']:g}"
        typer.echo(f"{row['arm']}: {row['n']} patients, {row['events']} events, {row['censored']} censored, "
                   f"KM median {med}")
        for note in row["notes"]:
            typer.echo(f"  note: {note}")
    typer.echo(f"IPD written to {out}")
