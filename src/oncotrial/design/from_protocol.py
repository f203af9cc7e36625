"""Design and simulation settings of a bundled protocol (e.g. PATINA) from its TOML settings."""

from __future__ import annotations

import math
from typing import Sequence

from oncotrial.design.events import PiecewiseExponential, Survival, Weibull
from oncotrial.design.group_sequential import group_sequential_design
from oncotrial.design.sample_size import SurvivalDesign, sample_size_survival
from oncotrial.design.settings import allocation_of
from oncotrial.design.simulate import SimulationSettings, settings_from_design
from oncotrial.design.spending_spec import SpendingFunction

DAYS_PER_MONTH = 30.4375


def accrual_months(protocol) -> float:
    """Length of the accrual period in months (protocol accrual start to end)."""
    days = (protocol.accrual.end - protocol.accrual.start).days
    if days <= 0:
        raise ValueError("accrual: end must be after start")
    return days / DAYS_PER_MONTH


def _arms(protocol):
    if len(protocol.arms) != 2:
        raise ValueError(f"arms: the design compares two arms, the protocol has {len(protocol.arms)}")
    return protocol.arm(protocol.experimental_arm), protocol.arm(protocol.control_arm)


def control_survival(protocol, control_hazards: Sequence[tuple[float, float]] | None = None,
                     weibull_shape: float | None = None) -> Survival:
    """The control arm's PFS distribution: ``control_hazards`` [(start month, hazard per month), ...]
    or a Weibull of shape ``weibull_shape`` with the protocol's control median if given, else the
    protocol's ``analysis.control_hazards``, ``analysis.control_weibull_shape`` with
    ``analysis.control_median_months``, or that median alone (exponential).

    Example:
        >>> from oncotrial.protocol import load_protocol
        >>> p = load_protocol("patina")
        >>> control_survival(p).median(), control_survival(p, weibull_shape=1.5).median()
        (24.0, 24.0)
        >>> control_survival(p, [(0, 0.03), (6, 0.025)]).hazards
        (0.03, 0.025)
    """
    an = protocol.analysis
    if control_hazards is not None and weibull_shape is not None:
        raise ValueError("weibull_shape: a Weibull control takes the control median, not control_hazards")
    if weibull_shape is not None and not (isinstance(weibull_shape, (int, float)) and weibull_shape > 0
                                          and math.isfinite(weibull_shape)):
        raise ValueError(f"weibull_shape: expected a positive Weibull shape, got {weibull_shape!r}")
    hazards = control_hazards if control_hazards is not None else (None if weibull_shape is not None
                                                                   else an.control_hazards)
    if hazards is not None:
        try:
            return PiecewiseExponential(tuple(float(s) for s, _ in hazards), tuple(float(h) for _, h in hazards))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"control_hazards: expected (start month, hazard) pieces from month 0, {exc}") from None
    shape = an.control_weibull_shape if weibull_shape is None else weibull_shape
    if an.control_median_months is None:
        what = "weibull_shape: a Weibull control needs" if weibull_shape is not None else "control_hazards: give"
        raise ValueError(f"{what} the protocol's analysis.control_median_months")
    if shape is None:
        return PiecewiseExponential.from_median(an.control_median_months)
    return Weibull.from_median(an.control_median_months, shape)


def design_from_protocol(
    protocol,
    information_rates: Sequence[float] = (1.0,),
    alpha_spending: str | SpendingFunction = "obf",
    futility_bounds: Sequence[float] | None = None,
    beta_spending: str | SpendingFunction | None = None,
    n_subjects: int | None = None,
    method: str = "schoenfeld",
    *,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    allocation_ratio: float | None = None,
    binding_futility: bool = False,
    hr0: float = 1.0,
    control_hazards: Sequence[tuple[float, float]] | None = None,
    weibull_shape: float | None = None,
    dropout_rate_per_year: float | None = None,
) -> SurvivalDesign:
    """The sized design implied by the protocol's analysis plan and accrual.

    ``alpha``, ``power`` and ``sided`` default to the protocol's ``analysis.alpha`` (the
    overall level of the ``analysis.sided``-sided test, as in rpact), ``analysis.power`` and
    ``analysis.sided``; ``allocation_ratio`` (experimental:control) to the arms' ratio. Also
    uses ``analysis.target_hr``, the control PFS of :func:`control_survival` (``control_hazards``
    or ``weibull_shape`` in place of the protocol's), ``analysis.dropout_rate_per_year`` (or
    ``dropout_rate_per_year``; Weibull survival needs 0) and uniform accrual of
    ``accrual.randomized_n`` patients (or ``n_subjects``) from ``accrual.start`` to ``accrual.end``.
    ``binding_futility`` makes the futility bounds binding (efficacy bounds computed with
    them in place); ``hr0`` is the null hazard ratio (above 1: non-inferiority margin).

    Example:
        >>> from oncotrial.protocol import load_protocol
        >>> sd = design_from_protocol(load_protocol("patina"), [0.5, 1.0], alpha=0.05, sided=2)
        >>> sd.design.sided, round(sd.design.critical_values[-1], 4)
        (2, 1.9686)
        >>> ni = design_from_protocol(load_protocol("patina"), [0.5, 1.0], n_subjects=240, hr0=1.3)
        >>> round(ni.max_events, 2), round(ni.critical_values_hr[-1], 4)
        (94.7, 0.8674)
        >>> w = design_from_protocol(load_protocol("patina"), weibull_shape=1.5, dropout_rate_per_year=0)
        >>> round(w.analysis_times[-1], 2)
        53.95
    """
    an = protocol.analysis
    alpha = an.alpha if alpha is None else alpha
    sided = an.sided if sided is None else sided
    power = an.power if power is None else power
    if power is None:
        raise ValueError("power: the protocol's analysis gives no power; pass power")
    if not (0 < power < 1):
        raise ValueError(f"power: expected a probability in (0, 1), got {power!r}")
    exp, ctl = _arms(protocol)
    ratio = exp.ratio / ctl.ratio if allocation_ratio is None else allocation_ratio
    gs = group_sequential_design(
        information_rates, alpha=alpha, beta=1 - power, alpha_spending=alpha_spending,
        futility_bounds=futility_bounds, beta_spending=beta_spending, sided=sided,
        binding_futility=binding_futility,
    )
    n = protocol.accrual.randomized_n if n_subjects is None else n_subjects
    drop = float(an.dropout_rate_per_year if dropout_rate_per_year is None else dropout_rate_per_year)
    return sample_size_survival(
        an.target_hr, control=control_survival(protocol, control_hazards, weibull_shape), design=gs,
        accrual_time=(0.0, accrual_months(protocol)), max_subjects=n,
        dropout_rate=(drop, drop), dropout_time=12.0, allocation_ratio=ratio, method=method,
        hr0=hr0,
    )


def settings_from_protocol(protocol, design: SurvivalDesign, hazard_ratio: float | None = None) -> SimulationSettings:
    """Simulation settings: the design plus the protocol's strata, block sizes and arm codes.

    A design whose allocation ratio differs from the protocol's arms keeps the protocol's
    blocks as multiples of the allocation unit: PATINA's 1:1 blocks of 2 and 4 (one and two
    units) become blocks of 3 and 6 at 2:1.

    Example:
        >>> from oncotrial.protocol import load_protocol
        >>> p = load_protocol("patina")
        >>> s = settings_from_protocol(p, design_from_protocol(p, allocation_ratio=2))
        >>> s.allocation, s.block_sizes, s.n_strata
        ((2, 1), (3, 6), 16)
    """
    exp, ctl = _arms(protocol)
    factors = protocol.stratification_factors
    strata = [tuple(level.prevalence for level in f.levels) for f in factors]
    blocks = tuple(protocol.randomization.block_sizes) if protocol.randomization.block_sizes else (2, 4)
    unit, new_unit = exp.ratio + ctl.ratio, sum(allocation_of(design.allocation_ratio))
    if new_unit != unit:
        blocks = tuple(b // unit * new_unit for b in blocks)
    return settings_from_design(
        design, hazard_ratio=hazard_ratio, strata=strata, strata_names=[f.name for f in factors],
        block_sizes=blocks, arm_codes=(exp.code, ctl.code),
    )


def monitoring_design(protocol) -> SurvivalDesign:
    """The design of the protocol's monitoring plan (``analysis.interim``): its looks and spending.

    Example:
        >>> from oncotrial.protocol import load_protocol
        >>> sd = monitoring_design(load_protocol("patina"))
        >>> sd.design.information_rates, round(sd.design.critical_values[0], 4)
        ((0.5, 1.0), 2.9626)
    """
    from oncotrial.design.spending_spec import parse_spending

    plan = protocol.analysis.interim
    if plan is None:
        raise ValueError("analysis.interim: the protocol gives no monitoring plan "
                         "(information_rates, alpha_spending); add an [analysis.interim] table")
    beta = (None if plan.beta_spending is None
            else parse_spending(plan.beta_spending, "analysis.interim.beta_spending"))
    return design_from_protocol(
        protocol, plan.information_rates,
        alpha_spending=parse_spending(plan.alpha_spending, "analysis.interim.alpha_spending"),
        futility_bounds=plan.futility_bounds, beta_spending=beta, binding_futility=plan.binding_futility,
    )


def planned_max_events(protocol, design: SurvivalDesign | None = None) -> int:
    """The events of the final analysis: ``analysis.interim.max_events`` if the protocol sets it,
    else the sized design's maximum rounded up (a trial waits for whole events).

    Example:
        >>> from oncotrial.protocol import load_protocol
        >>> planned_max_events(load_protocol("patina"))
        258
    """
    plan = protocol.analysis.interim
    if plan is not None and plan.max_events is not None:
        return int(math.ceil(plan.max_events - 1e-9))
    sd = design or monitoring_design(protocol)
    return int(math.ceil(sd.max_events - 1e-9))
