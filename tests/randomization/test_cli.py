"""`oncotrial randomization list | verify | simulate` through the real command and protocol."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import load_protocol
from oncotrial.randomization import read_allocation_list

runner = CliRunner()


def test_list_then_verify_the_patina_list(tmp_path):
    out = tmp_path / "patina.csv"
    res = runner.invoke(app, ["randomization", "list", "--protocol", "patina", "--per-stratum", "20", "--seed", "5",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    alloc = read_allocation_list(out)
    p = load_protocol("patina")
    assert len(alloc.strata) == 16 and alloc.seed == 5 and alloc.arms == ("A", "B")
    assert alloc.factors == tuple(f.name for f in p.stratification_factors)
    assert alloc.checksum in res.output

    ok = runner.invoke(app, ["randomization", "verify", str(out)])
    assert ok.exit_code == 0 and ok.output.startswith("OK ")
    js = runner.invoke(app, ["randomization", "verify", str(out), "--format", "json"])
    assert json.loads(js.output)["n_strata"] == 16

    lines = out.read_text().splitlines()
    lines[20] = lines[20].replace(",A,", ",B,") if ",A," in lines[20] else lines[20].replace(",B,", ",A,")
    out.write_text("\n".join(lines) + "\n")
    bad = runner.invoke(app, ["randomization", "verify", str(out)])
    assert bad.exit_code == 1
    assert "row 11 (line 21)" in bad.output


def test_list_defaults_to_the_protocol_seed_and_rejects_bad_input(tmp_path):
    out = tmp_path / "l.csv"
    res = runner.invoke(app, ["randomization", "list", "--protocol", "patina", "--per-stratum", "4", "--out", str(out)])
    assert res.exit_code == 0
    assert read_allocation_list(out).seed == load_protocol("patina").randomization.seed
    bad = runner.invoke(app, ["randomization", "list", "--protocol", "patina", "--per-stratum", "0", "--out",
                              str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "n_per_stratum: expected an integer >= 1" in bad.output
    assert not (tmp_path / "x.csv").exists()
    before = out.read_text()
    again = runner.invoke(app, ["randomization", "list", "--protocol", "patina", "--per-stratum", "4", "--seed", "9",
                                "--out", str(out)])
    assert again.exit_code == 2 and "already exists; pass --force" in again.output and out.read_text() == before
    forced = runner.invoke(app, ["randomization", "list", "--protocol", "patina", "--per-stratum", "4", "--seed", "9",
                                 "--out", str(out), "--force"])
    assert forced.exit_code == 0 and read_allocation_list(out).seed == 9


def test_simulate_prints_a_summary_and_writes_per_trial_rows(tmp_path):
    out = tmp_path / "sim.csv"
    res = runner.invoke(app, ["randomization", "simulate", "--protocol", "patina", "--method", "blocks",
                              "--trials", "300", "--n", "518", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "max_stratum_imbalance" in res.output and "300 simulated trials of 518 patients" in res.output
    frame = pd.read_csv(out)
    assert len(frame) == 300 and frame["max_stratum_imbalance"].max() <= 2

    js = runner.invoke(app, ["randomization", "simulate", "--protocol", "patina", "--method", "minimization",
                             "--trials", "50", "--n", "100", "--sites", "--format", "json"])
    assert js.exit_code == 0, js.output
    metrics = {row["metric"] for row in json.loads(js.output)["summary"]}
    assert "max_site_imbalance" in metrics

    bad = runner.invoke(app, ["randomization", "simulate", "--protocol", "patina", "--method", "simple", "--sites"])
    assert bad.exit_code == 2 and "--sites: only minimization" in bad.output
