"""Expected information of the stratified log-rank statistic when strata are small.

Schoenfeld (1981) gives the log-rank statistic the information d p (1 - p) at d events
(p the experimental fraction, 1/4 at 1:1): each event adds the variance n1 n0 / n^2 of the
experimental count in its risk set, taken as p (1 - p). A stratified log-rank adds these per
stratum, within each stratum's own risk set, and in a small stratum n1 n0 / n^2 is well
below p (1 - p) on average (0 once one patient is left), so the statistic carries less
information; its drift under a hazard ratio HR is |log HR| sqrt(I), hence the power loss.

Derivation of the expected information I = E[sum over strata and events of n1 n0 / n^2],
at the expected calendar time tau of the look's d events (Lachin-Foulkes curve):

* patients enrolled by tau: n_tau; a cross-classified stratum h holds N ~ Bin(n_tau, pi_h);
* a patient is followed to x only if entered by tau - x, e(x) = A(tau - x) / A(tau) (A the
  accrual), and is then still at risk with q(x) = sum_a w_a S_a(x) exp(-eta_a x) (arm a with
  fraction w_a, survival S_a, dropout hazard eta_a); the event sub-density of one enrolled
  patient is f(x) = sum_a w_a h_a(x) S_a(x) exp(-eta_a x) e(x);
* the stratum's patients entered by tau - x are the first M of its randomization sequence
  (blocks run in entry order), and given an event at x, M = 1 + Bin(N - 1, e(x)); the risk set
  is the event's patient and the others of those M still at risk, n = 1 + Bin(M - 1, q(x)),
  so E[1 - 1/n | M] = 1 - (1 - (1 - q)^M) / (M q). Size-biasing N by the event,
  M - 1 ~ Bin(n_tau - 1, pi_h e(x)) directly;
* the arms are treated as exchangeable (exact under H0, first order near it), so the risk set
  is a random subset of the prefix: E[n1 n0] = n (n - 1) E[M1 M0] / (M (M - 1)), with
  E[M1 M0] = M^2 p (1 - p) - E[Var H] under permuted blocks, H the experimental count of the
  prefix's incomplete last block (hypergeometric), whose size comes from the renewal
  sequence of block sizes drawn uniformly from the protocol's list. (Taking the risk set as
  a random subset of the whole stratum instead overstates the loss: at PATINA's final look
  0.964 against the simulated 0.972.)

So I = p (1 - p) sum_h n_tau pi_h int f(x) E_M[kappa(M) E[1 - 1/n | M]] dx with
kappa(M) = E[M1 M0] / (M (M - 1) p (1 - p)). ``stratified_information_ratio`` returns, per
look, I over the same expression with one stratum (the unstratified log-rank, whose
information is d p (1 - p) up to 0.3% at PATINA's size), so one stratum gives exactly 1 and
only the cost of stratifying is applied to Schoenfeld's figure. The same
reasoning for Bernoulli allocation gives kappa = 1 and E[n1 n0 / n^2] = p (1 - p)(1 - 1/n),
the familiar small-sample correction of the hypergeometric variance (e.g. Kalbfleisch &
Prentice 2002, sec. 7.2; the efficiency loss of over-stratification, Akazawa, Kinukawa &
Nakamura 1997, Stat Med 16:1063-1070).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import simpson
from scipy.stats import binom

from oncotrial.design.events import Accrual, expected_events_by_arm
from oncotrial.design.sample_size import _time_for_events
from oncotrial.design.settings import SimulationSettings

_GRID = 2001  # follow-up grid for the integrals over x (Simpson); 1e-6 relative is plenty


def block_balance(n_max: int, block_sizes, allocation: tuple[int, int]) -> np.ndarray:
    """kappa[N] = E[N1 N0] / (N (N - 1) p (1 - p)) for N = 0..n_max patients of one stratum.

    N1, N0 are the stratum's patients per arm under permuted blocks with sizes drawn uniformly
    from ``block_sizes`` (p the experimental fraction of ``allocation``); kappa is 1 under
    Bernoulli allocation and N / (N - 1) when every stratum is exactly balanced. N < 2 gives 0
    (no risk set with two patients).

    Example:
        >>> k = block_balance(4, (2, 4), (1, 1))
        >>> [round(float(x), 4) for x in k]
        [0.0, 0.0, 1.6667, 1.3333, 1.3056]
    """
    sizes = np.asarray(block_sizes, np.int64)
    total = sum(allocation)
    p = allocation[0] / total
    if not isinstance(n_max, (int, np.integer)) or n_max < 0:
        raise ValueError(f"n_max: expected a non-negative integer, got {n_max!r}")
    if sizes.size == 0 or np.any(sizes <= 0) or np.any(sizes % total):
        raise ValueError(f"block_sizes: expected positive multiples of {total}, got {block_sizes!r}")
    renewal = np.zeros(n_max + 1)  # P(a block starts at position j)
    renewal[0] = 1.0
    for j in range(1, n_max + 1):
        renewal[j] = sum(renewal[j - b] for b in sizes if j >= b) / sizes.size
    var_last = np.zeros(n_max + 1)  # E[Var H | N]: H the experimental count of an incomplete last block
    for b in sizes:
        for m in range(1, min(b, n_max + 1)):
            var_last[m:] += renewal[: n_max + 1 - m] / sizes.size * m * p * (1 - p) * (b - m) / (b - 1)
    n = np.arange(n_max + 1, dtype=float)
    kappa = np.zeros(n_max + 1)
    kappa[2:] = (n[2:] ** 2 * p * (1 - p) - var_last[2:]) / (n[2:] * (n[2:] - 1) * p * (1 - p))
    return kappa


def _hazard(pe, x: np.ndarray) -> np.ndarray:
    return np.asarray(pe.hazards, float)[np.searchsorted(np.asarray(pe.starts, float), x, side="right") - 1]


def _expected_information(s: SimulationSettings, tau: float, cells: np.ndarray, kappa: np.ndarray,
                          acc: Accrual) -> float:
    """E[sum over strata and events of n1 n0 / n^2] / (p (1 - p)) at calendar time ``tau``."""
    a1, a0 = s.allocation
    p = a1 / (a1 + a0)
    enrolled = float(acc.accrued(tau))
    n_tau = min(s.n_subjects, int(round(enrolled)))
    x = np.linspace(0.0, tau, _GRID)
    entered = acc.accrued(tau - x) / enrolled  # e(x): P(entered by tau - x | entered by tau)
    survive = np.zeros_like(x)  # q(x): P(no event, no dropout by x)
    hazard = np.zeros_like(x)
    for pe, w, eta in ((s.experimental, p, s.dropout_hazards[0]), (s.control, 1 - p, s.dropout_hazards[1])):
        sv = w * pe.survival(x) * np.exp(-eta * x)
        survive += sv
        hazard += _hazard(pe, x) * sv
    density = hazard * entered  # event sub-density of one enrolled patient's follow-up
    m = np.arange(1, n_tau + 1)[:, None].astype(float)  # M: the event's stratum-mates entered by tau - x, + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        # E[1 - 1/n | M] for n = 1 + Bin(M - 1, q): 1 - (1 - (1 - q)^M) / (M q)
        inv = -np.expm1(m * np.log1p(-np.minimum(survive, 1.0))) / (m * survive)
    inv = np.where(survive > 1e-300, inv, 1.0)
    per_m = kappa[1:n_tau + 1, None] * (1.0 - inv)
    total = 0.0
    for c in cells[cells > 0]:
        # size-biased by the event: M - 1 ~ Bin(n_tau - 1, pi_h e(x))
        pm = binom.pmf(m - 1, n_tau - 1, c * entered)
        total += n_tau * c * simpson(density * np.sum(pm * per_m, axis=0), x=x)
    return float(total)


def stratified_information_ratio(settings: SimulationSettings) -> tuple[float, ...]:
    """Expected information of the stratified over the unstratified log-rank, per look.

    Below 1 when strata are small (see the module docstring for the derivation); computed at
    the settings' true hazards, accrual, dropout, strata, blocks and events per look, at the
    expected calendar time of each look's events.

    Example:
        >>> from oncotrial.design import sample_size_survival
        >>> from oncotrial.design.settings import settings_from_design
        >>> d = sample_size_survival(0.667, median_control=24, accrual_time=(0, 48), max_subjects=518)
        >>> s = settings_from_design(d, strata=((0.685, 0.315), (0.3, 0.7), (0.907, 0.093), (0.94, 0.06)))
        >>> round(stratified_information_ratio(s)[-1], 3)
        0.973
    """
    if not isinstance(settings, SimulationSettings):
        raise ValueError("settings: expected SimulationSettings")
    s = settings
    n = s.n_subjects
    a1, a0 = s.allocation
    # the simulator rescales the accrual shape to exactly n patients
    acc = Accrual(s.accrual.time, tuple(float(v) * n / s.accrual.n for v in s.accrual.intensity))
    arms, fractions = [s.experimental, s.control], [a1 / (a1 + a0), a0 / (a1 + a0)]

    def events_at(t: float) -> float:
        return float(expected_events_by_arm([t], acc, arms, fractions, s.dropout_hazards).sum())

    kappa = block_balance(n, s.block_sizes, s.allocation)
    cells = s.cell_probabilities()
    ratios = []
    for d in s.events_per_look:
        tau = _time_for_events(events_at, float(d), n)
        pooled = _expected_information(s, tau, np.ones(1), kappa, acc)
        ratios.append(_expected_information(s, tau, cells, kappa, acc) / pooled)
    return tuple(ratios)


__all__ = ["block_balance", "stratified_information_ratio"]
