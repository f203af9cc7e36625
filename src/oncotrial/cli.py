"""The ``oncotrial`` command. Each stage of the flow adds its own sub-command group."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from oncotrial.protocol.cli import protocol_app, register_protocol_check
from oncotrial.sim.cli import ipd_from_km_cmd, reconstruct_cmd, simulate_cmd
from oncotrial.jobs.cli import analyze, interim, rehearse, reproduce
from oncotrial.irt.cli import audit_app, edc_app, irt_app, serve as irt_serve
from oncotrial.randomization.cli import randomization_app
from oncotrial.design.cli import register as register_design
from oncotrial.recist.cli import recist_cmd

if TYPE_CHECKING:
    from oncotrial.protocol import Protocol



def edc_sdtm_problems(protocol: Protocol) -> list[str]:
    """The ``[edc]`` block's SDTM targets checked by :func:`oncotrial.collect.edc_sdtm_problems`,
    loaded when ``protocol validate`` runs: the SDTM specification needs pandas."""
    from oncotrial.collect.checks import edc_sdtm_problems as check

    return check(protocol)


app = typer.Typer(
    help="oncotrial: a randomized oncology trial from protocol to published result.",
    no_args_is_help=True,
    add_completion=False,
)
register_protocol_check(edc_sdtm_problems)
app.add_typer(protocol_app, name="protocol")
app.command("simulate")(simulate_cmd)
app.command("reconstruct")(reconstruct_cmd)
app.command("ipd-from-km")(ipd_from_km_cmd)
app.command("analyze")(analyze)
app.command("reproduce")(reproduce)
app.command("rehearse")(rehearse)
app.command("interim")(interim)
app.add_typer(irt_app, name="irt")
app.command("serve")(irt_serve)
app.add_typer(audit_app, name="audit")
app.add_typer(edc_app, name="edc")
app.add_typer(randomization_app, name="randomization")
register_design(app)
app.command("recist")(recist_cmd)


if __name__ == "__main__":  # pragma: no cover
    app()
