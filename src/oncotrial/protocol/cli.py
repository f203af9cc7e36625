"""`oncotrial protocol ...`: show and validate protocol files."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from enum import Enum
from pathlib import Path

import typer

from oncotrial.protocol.errors import ProtocolError

if TYPE_CHECKING:
    from oncotrial.protocol.models import Protocol

PROTOCOL_CHECKS: list[Callable[[Protocol], list[str]]] = []
"""Further checks ``validate`` runs, added by the stages that read parts of a protocol against their own
specifications (collect checks the ``[edc]`` block's SDTM targets): the protocol imports none of them."""


def register_protocol_check(check: Callable[[Protocol], list[str]]) -> None:
    """Have ``oncotrial protocol validate`` run ``check`` (a list of problems, each naming its field)."""
    if check not in PROTOCOL_CHECKS:
        PROTOCOL_CHECKS.append(check)

protocol_app = typer.Typer(help="Show or validate a trial protocol.", no_args_is_help=True)


class Format(str, Enum):
    text = "text"
    json = "json"


@protocol_app.command("show")
def show(
    name: str = typer.Argument(..., help="A bundled protocol name (e.g. patina) or a path to a TOML file."),
    format: Format = typer.Option(Format.text, "--format", help="text: a readable summary; json: the full protocol."),
) -> None:
    """Print a protocol: a readable summary, or the full protocol as JSON."""
    from oncotrial.protocol.load import load_protocol
    from oncotrial.protocol.summary import protocol_summary

    try:
        p = load_protocol(name)
    except ProtocolError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if format is Format.json:
        # pydantic writes NaN (a bound reported as NE) as null, keeping the output valid JSON.
        typer.echo(p.model_dump_json(indent=2))
    else:
        typer.echo(protocol_summary(p))


@protocol_app.command("validate")
def validate(file: Path = typer.Argument(..., help="The protocol TOML file to check.")) -> None:
    """Check a protocol file; every problem is listed with the field it concerns."""
    from oncotrial.protocol.load import load_protocol

    try:
        p = load_protocol(file)
        problems = [x for check in PROTOCOL_CHECKS for x in check(p)]
        if problems:
            raise ProtocolError(str(file), problems)
    except ProtocolError as exc:
        typer.echo(f"{exc.source}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None
    edc = f", {len(p.edc.forms)} forms, {len(p.edc.visits)} visits" if p.edc is not None else ""
    typer.echo(f"{file}: valid protocol {p.study.id} ({len(p.arms)} arms, {len(p.stratification_factors)} "
               f"stratification factors, {len(p.endpoints)} endpoints{edc})")
