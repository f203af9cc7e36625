"""One simulated PATINA trial analysed once per test session (SDTM -> ADaM -> results -> outputs)."""

from __future__ import annotations

import pytest

from oncotrial.protocol import load_protocol


@pytest.fixture(scope="session")
def patina():
    return load_protocol("patina")


@pytest.fixture(scope="session")
def analysed(tmp_path_factory, patina):
    """A simulated PATINA (seed 11) analysed from SDTM into a temporary folder: (JobResult, folder)."""
    from oncotrial.jobs.pipeline import analyze
    from oncotrial.sim import simulate_trial

    trial = simulate_trial(patina, seed=11)
    out = tmp_path_factory.mktemp("patina_out")
    steps: list[str] = []
    job = analyze(patina, out, sdtm=trial.sdtm, progress=steps.append)
    return job, out, steps
