"""``python -m oncotrial.irt``: the service's own commands without loading the rest of
oncotrial (whose statistics and reporting imports take seconds), e.g. for fast restarts:
``python -m oncotrial.irt serve --db trial.db``. Same commands as ``oncotrial irt|serve|audit``."""

import typer

from oncotrial.irt.cli import audit_app, irt_app, serve

app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(irt_app, name="irt")
app.command("serve")(serve)
app.add_typer(audit_app, name="audit")

app(prog_name="python -m oncotrial.irt")
