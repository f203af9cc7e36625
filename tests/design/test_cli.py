"""`oncotrial design` and `oncotrial simulate-design` on the bundled PATINA protocol."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.design import sample_size_survival

runner = CliRunner()


def test_design_patina_prints_events_and_writes_plot(tmp_path):
    png = tmp_path / "events.png"
    res = runner.invoke(app, ["design", "patina", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "events needed: 257" in res.output
    assert "patients: 518" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_design_patina_json_matches_library():
    res = runner.invoke(app, ["design", "patina", "--json", "--looks", "0.5,1", "--futility", "0"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    from oncotrial.design import group_sequential_design

    gs = group_sequential_design((0.5, 1.0), futility_bounds=(0.0,))
    want = sample_size_survival(0.667, median_control=24.0, design=gs, accrual_time=(0, d["accrual"]["time"][-1]),
                                max_subjects=518, dropout_rate=(0.05, 0.05))
    assert d["max_events"] == pytest.approx(want.max_events, rel=1e-12)
    assert d["analysis_times"] == pytest.approx(list(want.analysis_times), rel=1e-12)


def test_design_bad_looks_is_an_error():
    res = runner.invoke(app, ["design", "patina", "--looks", "0.7,0.5"])
    assert res.exit_code == 2
    assert "information_rates" in res.output


def test_simulate_design_patina_json(tmp_path):
    png = tmp_path / "power.png"
    res = runner.invoke(app, ["simulate-design", "patina", "--replicates", "500", "--seed", "4", "--json",
                              "--power-grid", "0.6,1", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["alternative"]["n_replicates"] == 500
    assert 0.8 < out["alternative"]["power"] < 0.97
    assert out["null"]["power"] < 0.07
    assert out["power_curve"]["hazard_ratios"] == [0.6, 1.0]
    assert png.stat().st_size > 1000
