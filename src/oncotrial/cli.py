"""The ``oncotrial`` command. Each stage of the flow adds its own sub-command group."""

from __future__ import annotations

import typer

from oncotrial.protocol.cli import protocol_app

app = typer.Typer(
    help="oncotrial: a randomized oncology trial from protocol to published result.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(protocol_app, name="protocol")


if __name__ == "__main__":  # pragma: no cover
    app()
