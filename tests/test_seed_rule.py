"""One seed rule across the package: every seeded entry point accepts and refuses the same seeds."""

from __future__ import annotations

import numpy as np
import pytest

from oncotrial._seed import check_seed
from oncotrial.protocol import load_protocol


@pytest.mark.parametrize("good", [0, 7, np.int64(3), 2**63])
def test_integers_from_zero_are_seeds(good):
    assert check_seed(good) == int(good) and type(check_seed(good)) is int


@pytest.mark.parametrize("bad", [-1, 1.5, 2.0, "3", True, None])
def test_every_seeded_entry_point_refuses_the_same_seeds(bad):
    from oncotrial.collect.records import FormRecord
    from oncotrial.collect.sdv import sdv_required
    from oncotrial.design import sample_size_survival
    from oncotrial.design.simulate import settings_from_design, simulate_design
    from oncotrial.randomization import generate_simple
    from oncotrial.sim import reconstruct, simulate_trial

    patina = load_protocol("patina")
    settings = settings_from_design(sample_size_survival(0.667, median_control=24, accrual_time=(0, 48),
                                                         max_subjects=518))
    calls = {
        "check_seed": lambda: check_seed(bad),
        "simulate_trial": lambda: simulate_trial(patina, seed=bad),
        "reconstruct": lambda: reconstruct(patina, seed=bad),
        "simulate_design": lambda: simulate_design(settings, n_replicates=10, seed=bad),
        "generate_simple": lambda: generate_simple({}, ["A", "B"], [1, 1], n_per_stratum=4, seed=bad),
        "sdv_required": lambda: sdv_required(patina, FormRecord("S-1", "LOG", "CM", 1, {"CMTRT": "X"}, seq=1),
                                             seed=bad),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=r"^seed: expected an integer >= 0, got "):
            call()
