"""Patient-level trial simulation, calibration to published results, and reconstruction.

>>> from oncotrial.sim import simulate_trial
>>> trial = simulate_trial("patina", seed=7)          # doctest: +SKIP
>>> trial.sdtm["DM"].shape[0]                          # doctest: +SKIP
518
"""

from oncotrial.sim.params import AEModel, DoseModel, PiecewiseExponential, SimParams, default_params
from oncotrial.sim.trial import SimulatedTrial, simulate_trial, write_trial

__all__ = [
    "AEModel", "DoseModel", "PiecewiseExponential", "SimParams", "SimulatedTrial",
    "default_params", "simulate_trial", "write_trial",
]
