"""Operating characteristics of one scenario, summarised from its analysed replicates."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from oncotrial.design.batch import BatchAnalysis
from oncotrial.design.settings import SimulationSettings


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics estimated from simulated replicates of one scenario.

    ``power`` is that of the stratified log-rank over the settings' strata (the primary test
    as the simulator runs it): the probability of stopping for efficacy (rejecting H0 in
    favour of the experimental arm); ``power_unstratified`` is that of the unstratified
    log-rank in the same trials with the same bounds. ``rejection_against`` (two-sided designs;
    0 otherwise) is the probability of rejecting H0 in favour of control, so a two-sided type I
    error is ``power + rejection_against`` under HR 1.
    ``hr_mean_log`` / ``hr_quantiles`` are over the replicates whose Cox fit at the stopping
    look converged; ``n_not_converged`` counts the others (their log HR is NaN).
    """

    hazard_ratio: float
    n_replicates: int
    seed: int
    power: float
    power_se: float
    reject_by_look: tuple[float, ...]
    futility_by_look: tuple[float, ...]
    stop_by_look: tuple[float, ...]
    expected_events: float
    expected_duration: float
    expected_subjects: float
    hr_mean_log: float
    hr_quantiles: dict[str, float]
    median_experimental: float
    median_control: float
    n_not_converged: int
    power_unstratified: float
    power_unstratified_se: float
    rejection_against: float
    analysis: BatchAnalysis = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "analysis"}
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per look: probabilities of stopping for efficacy / futility there."""
        k = len(self.reject_by_look)
        return pd.DataFrame(
            {
                "look": np.arange(1, k + 1),
                "events": self.analysis.events_per_look,
                "reject": self.reject_by_look,
                "futility": self.futility_by_look,
                "stop": self.stop_by_look,
                "mean_cut_time": np.nanmean(self.analysis.cut_time, axis=0),
            }
        )


def _summarise(analysis: BatchAnalysis, hazard_ratio: float, seed: int) -> SimulationResult:
    n = analysis.n_replicates
    k = analysis.cut_time.shape[1]
    looks = np.arange(1, k + 1)
    at_k = analysis.stop_look[:, None] == looks
    reject = (at_k & (analysis.decision[:, None] == 1)).mean(axis=0)
    fut = (at_k & (analysis.decision[:, None] == -1)).mean(axis=0)
    power = float(reject.sum())
    power_u = float(np.mean(analysis.decision_unstratified == 1))
    # Cox fits that did not converge (e.g. every event in one arm) are NaN, as in
    # oncotrial.stats.cox: the HR summaries are over the others, and their number is reported.
    hr_stop = analysis.at_stop("log_hr")
    n_not_converged = int(np.count_nonzero(~analysis.at_stop("converged")))
    fitted = hr_stop[np.isfinite(hr_stop)]
    probs = [0.025, 0.25, 0.5, 0.75, 0.975]
    q = np.quantile(np.exp(fitted), probs) if fitted.size else np.full(len(probs), np.nan)
    hr_mean_log = float(fitted.mean()) if fitted.size else float("nan")
    return SimulationResult(
        hazard_ratio=float(hazard_ratio),
        n_replicates=n,
        seed=seed,
        power=power,
        power_se=_binomial_se(power, n),
        reject_by_look=tuple(map(float, reject)),
        futility_by_look=tuple(map(float, fut)),
        stop_by_look=tuple(map(float, at_k.mean(axis=0))),
        expected_events=float(analysis.at_stop("n_events").mean()),
        expected_duration=float(analysis.at_stop("cut_time").mean()),
        expected_subjects=float(analysis.at_stop("n_enrolled").mean()),
        hr_mean_log=hr_mean_log,
        hr_quantiles=dict(zip(("q025", "q25", "q50", "q75", "q975"), map(float, q))),
        median_experimental=float(np.nanmean(analysis.at_stop("median_experimental"))),
        median_control=float(np.nanmean(analysis.at_stop("median_control"))),
        n_not_converged=n_not_converged,
        power_unstratified=power_u,
        power_unstratified_se=_binomial_se(power_u, n),
        rejection_against=float(np.mean(analysis.decision == -2)),
        analysis=analysis,
    )


def _binomial_se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def _true_hr(settings: SimulationSettings) -> float:
    ratio = np.asarray(settings.experimental.hazards) / np.asarray(settings.control.hazards)
    if settings.experimental.starts != settings.control.starts or np.ptp(ratio) > 1e-12:
        return float("nan")  # non-proportional hazards: no single true HR
    return float(ratio[0])
