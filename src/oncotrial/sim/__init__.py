"""Patient-level trial simulation, calibration to published results, and reconstruction.

>>> from oncotrial.sim import simulate_trial
>>> trial = simulate_trial("patina", seed=7)          # doctest: +SKIP
>>> trial.sdtm["DM"].shape[0]                          # doctest: +SKIP
518
"""

from oncotrial.sim.calibrate import calibrate
from oncotrial.sim.figures import published_figures, trial_figures
from oncotrial.sim.params import AEModel, DoseModel, PiecewiseExponential, SimParams, default_params
from oncotrial.sim.reconstruct import Reconstruction, reconstruct
from oncotrial.sim.replicates import replicate_figures, replicate_summary
from oncotrial.sim.trial import SimulatedTrial, simulate_trial, write_trial

__all__ = [
    "AEModel", "DoseModel", "PiecewiseExponential", "Reconstruction", "SimParams", "SimulatedTrial",
    "calibrate", "default_params", "published_figures", "reconstruct", "replicate_figures", "replicate_summary",
    "simulate_trial", "trial_figures", "write_trial",
]
