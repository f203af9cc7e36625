"""`oncotrial analyze` and `oncotrial reproduce` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from oncotrial.cli import app

runner = CliRunner()


def test_analyze_from_adam(analysed, tmp_path):
    _, out, _ = analysed
    res = runner.invoke(app, ["analyze", "--protocol", "patina", "--adam", str(out / "adam"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "PFS median" in res.output and (tmp_path / "o" / "report.html").is_file()


def test_analyze_needs_exactly_one_source(tmp_path):
    res = runner.invoke(app, ["analyze", "--protocol", "patina", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "exactly one of --sdtm, --adam or --db" in res.output
    res = runner.invoke(app, ["analyze", "--adam", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--protocol: required with --sdtm or --adam" in res.output
    res = runner.invoke(app, ["analyze", "--protocol", "patina", "--adam", str(tmp_path), "--cutoff", "2021-01-01",
                              "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--cutoff and --unblind go with --db" in res.output
    res = runner.invoke(app, ["analyze", "--protocol", "nosuch", "--adam", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "not a file and not a bundled protocol" in res.output
    res = runner.invoke(app, ["analyze", "--protocol", "patina", "--adam", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "must hold adsl.csv and adtte.csv" in res.output
    assert not (tmp_path / "o").exists()


def test_reproduce_patina_as_in_the_readme(tmp_path):
    run = subprocess.run([sys.executable, "-m", "oncotrial", "reproduce", "patina", "--out", "out"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "out"
    for name in ("report.html", "results.json", "summary.md", "adam/adsl.csv", "adam/adtte.csv", "sdtm/dm.csv",
                 "figures/km_pfs.png"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "results.json").read_text())
    rows = doc["published_vs_reproduced"][0]["rows"]
    assert {r["figure"] for r in rows} >= {"Median", "Hazard ratio (stratified)", "Rate at 48 months"}
    assert doc["results"]["n_randomized"] == {"A": 261, "B": 257}
    html = (out / "report.html").read_text()
    assert "Published vs reproduced" in html
