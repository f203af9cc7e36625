"""The batched simulator on a real Dask LocalCluster (2 worker processes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from oncotrial.design.simulate import power_curve, simulate_design

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "validation"))
from design_sim_reference import reference_settings  # noqa: E402

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_cluster_run_equals_local_run(client):
    s = reference_settings()
    local = simulate_design(s, 1000, seed=77, chunk_size=1000)
    seen = []
    remote = simulate_design(s, 1000, seed=77, chunk_size=250, client=client, progress=seen.append)
    assert sum(seen) == 1000 and len(seen) == 4
    for name in ("log_hr", "se_log_hr", "observed_minus_expected", "variance", "cut_time",
                 "median_experimental", "median_control", "stop_look", "decision"):
        np.testing.assert_array_equal(getattr(remote.analysis, name), getattr(local.analysis, name), err_msg=name)
    assert remote.to_dict() == local.to_dict()


def test_scenario_grid_on_cluster(client):
    from oncotrial.design.distributed import simulate_scenarios

    s = reference_settings()
    scenarios = [s.with_hazard_ratio(h) for h in (0.667, 1.0)]
    seen = []
    res = simulate_scenarios(client, scenarios, 500, seed=3, chunk_size=250, progress=seen.append)
    assert sum(seen) == 1000
    local = power_curve(s, [0.667, 1.0], n_replicates=500, seed=3)
    assert tuple(r.power for r in res) == local.simulated
    assert res[0].power > res[1].power
    remote = power_curve(s, [0.667, 1.0], n_replicates=500, seed=3, client=client)
    assert remote == local


def test_client_argument_is_checked():
    from oncotrial.design.distributed import simulate_scenarios

    with pytest.raises(ValueError, match="client"):
        simulate_scenarios(object(), [reference_settings()], 10)


def test_cli_runs_on_the_cluster(client):
    from typer.testing import CliRunner

    from oncotrial.cli import app

    res = CliRunner().invoke(app, ["simulate-design", "patina", "--replicates", "250", "--no-type1", "--json",
                                   "--scheduler", client.scheduler.address])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    local = simulate_design(_patina_settings(), 250, seed=1)
    assert out["alternative"]["power"] == local.power


def _patina_settings():
    from oncotrial.design.from_protocol import design_from_protocol, settings_from_protocol
    from oncotrial.protocol import load_protocol

    p = load_protocol("patina")
    return settings_from_protocol(p, design_from_protocol(p))
