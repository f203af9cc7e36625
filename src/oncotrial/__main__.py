from oncotrial.cli import app

app(prog_name="oncotrial")
