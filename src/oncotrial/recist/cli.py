"""``oncotrial recist TU TR --out RS``: RECIST 1.1 per-visit overall response from SDTM TU/TR."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from oncotrial._console import make_console

console = make_console(stderr=True)


def recist_cmd(
    tu: Path = typer.Argument(..., help="SDTM TU (tumour identification): .csv, .xpt or Dataset-JSON .json."),
    tr: Path = typer.Argument(..., help="SDTM TR (tumour results) in the same formats."),
    out: Path = typer.Option(..., "--out", help="RS file to write (.csv, .xpt or .json); written atomically."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary (counts per response) on stdout."),
    no_check: bool = typer.Option(False, "--no-baseline-check",
                                  help="Compute even if the baseline target selection breaks RECIST 1.1."),
) -> None:
    """Per-visit overall response (RSTESTCD OVRLRESP) of every subject from lesion data, RECIST 1.1."""
    from oncotrial.recist import recist
    from oncotrial.sdtm import read_domain, write_domain

    try:
        res = recist(read_domain(tu, domain="TU"), read_domain(tr, domain="TR"), check=not no_check)
        rs = res.to_rs()
        if "STUDYID" not in rs.columns:
            rs.insert(0, "STUDYID", "")
        write_domain(rs, out, domain="RS")
    except ValueError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2)
    counts = Counter(rs["RSSTRESC"])
    summary = {
        "out": str(out),
        "n_subjects": int(rs["USUBJID"].nunique()),
        "n_assessments": int(len(rs)),
        "responses": {k: int(counts.get(k, 0)) for k in ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")},
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(f"{summary['n_assessments']} overall responses of {summary['n_subjects']} subjects written to "
                   f"{out}: " + ", ".join(f"{k} {v}" for k, v in summary["responses"].items()))
