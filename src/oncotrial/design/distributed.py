"""Running the batched simulator on a Dask cluster (dask.distributed).

Each task simulates and analyses a contiguous range of whole seed blocks, so a cluster run
returns exactly the arrays of a local run with the same seed, whatever the chunking.
Scenario grids (several settings) are submitted together so the cluster stays busy.
"""

from __future__ import annotations

from typing import Callable, Sequence

from oncotrial.design.batch import BatchAnalysis, _check_replicates, _check_seed, chunk_ranges, run_blocks
from oncotrial.design.settings import SimulationSettings
from oncotrial.design.sim_result import SimulationResult, _summarise, _true_hr


def _check_client(client) -> None:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise ValueError("client: dask.distributed is not installed") from exc
    if not isinstance(client, Client):
        raise ValueError(f"client: expected a dask.distributed.Client, got {type(client).__name__}")


def run_on_client(
    client,
    settings: SimulationSettings,
    seed: int,
    ranges: Sequence[tuple[int, int]],
    progress: Callable[[int], None] | None = None,
) -> list[BatchAnalysis]:
    """Analyses of each (first, count) range, computed on the cluster, in range order."""
    _check_client(client)
    from distributed import as_completed

    futures = [client.submit(run_blocks, settings, seed, a, n, pure=False) for a, n in ranges]
    if progress is not None:
        sizes = {f.key: n for f, (_, n) in zip(futures, ranges)}
        for f in as_completed(futures):
            progress(sizes[f.key])
    return client.gather(futures)


def simulate_scenarios(
    client,
    scenarios: Sequence[SimulationSettings],
    n_replicates: int,
    seed: int = 1,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> list[SimulationResult]:
    """Simulate a grid of scenarios on the cluster at once; one result per scenario, in order.

    Each scenario's result equals ``simulate_design(scenario, n_replicates, seed)`` run locally.
    """
    _check_client(client)
    n_replicates = _check_replicates(n_replicates)
    seed = _check_seed(seed)
    if not scenarios or not all(isinstance(s, SimulationSettings) for s in scenarios):
        raise ValueError("scenarios: expected a non-empty sequence of SimulationSettings")
    ranges = chunk_ranges(n_replicates, chunk_size)
    futures = [[client.submit(run_blocks, s, seed, a, n, pure=False) for a, n in ranges] for s in scenarios]
    if progress is not None:
        from distributed import as_completed

        sizes = {f.key: n for fs in futures for f, (_, n) in zip(fs, ranges)}
        for f in as_completed([f for fs in futures for f in fs]):
            progress(sizes[f.key])
    return [
        _summarise(BatchAnalysis.concat(client.gather(fs)), _true_hr(s), seed) for s, fs in zip(scenarios, futures)
    ]
