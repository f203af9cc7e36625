"""Patient-level trial simulation, calibration to published results, and reconstruction.

>>> from oncotrial.sim import simulate_trial
>>> trial = simulate_trial("patina", seed=7)          # doctest: +SKIP
>>> trial.sdtm["DM"].shape[0]                          # doctest: +SKIP
518
"""

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "calibration": ["calibrate"],
    "figures": ["published_figures", "trial_figures"],
    "ipd": ["ArmDiagnostics", "IPDResult", "ipd_from_km"],
    "params": ["AEModel", "DoseModel", "PiecewiseExponential", "SimParams", "default_params"],
    "reconstruction": ["Reconstruction", "reconstruct"],
    "replicates": ["replicate_figures", "replicate_summary"],
    "trial": ["SimulatedTrial", "simulate_trial", "write_trial"],
})
