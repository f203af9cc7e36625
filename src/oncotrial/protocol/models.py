"""The trial protocol as data: pydantic models of a protocol TOML file.

Every model forbids unknown keys so that a misspelt setting is an error rather
than a silently ignored default, and is frozen so that a loaded protocol can be
shared between the randomization service, the simulator and the analysis
without anyone changing it under another's feet.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from oncotrial.protocol.edc import Code, CodeList, Edc, edc_problems
from oncotrial.protocol.frequency import check_frequency
from oncotrial.protocol.published_checks import published_problems

DAYS_PER_MONTH = 30.4375
"""Days in an average month: the conversion every time in months uses."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Study(_Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    phase: Literal["1", "1/2", "2", "2/3", "3", "4"]
    design: str
    masking: str
    registry_ids: list[str] = []
    indication: str = ""
    sponsor: str = ""


class Drug(_Model):
    """One drug of an arm's regimen, dosed in cycles."""

    drug: str
    dose: float = Field(gt=0)
    unit: str
    route: str
    frequency: str
    cycle_length_days: int = Field(gt=0)
    days_on: int = Field(ge=1)
    days_off: int = Field(ge=0)
    dose_levels: list[float] = []
    min_dose: float | None = None
    options: list[str] = []
    optional: bool = False
    note: str = ""

    @field_validator("frequency")
    @classmethod
    def _known_frequency(cls, v: str) -> str:
        return check_frequency(v)

    @field_validator("days_on")
    @classmethod
    def _days_on_within_cycle(cls, v: int, info: ValidationInfo) -> int:
        cycle = info.data.get("cycle_length_days")
        if cycle is not None and v > cycle:
            raise ValueError(f"must be <= cycle_length_days ({cycle})")
        return v

    @field_validator("days_off")
    @classmethod
    def _cycle_adds_up(cls, v: int, info: ValidationInfo) -> int:
        cycle, on = info.data.get("cycle_length_days"), info.data.get("days_on")
        if cycle is not None and on is not None and on + v != cycle:
            raise ValueError(f"days_on ({on}) + days_off ({v}) must equal cycle_length_days ({cycle})")
        return v

    @field_validator("dose_levels")
    @classmethod
    def _levels_descend_from_dose(cls, v: list[float], info: ValidationInfo) -> list[float]:
        if not v:
            return v
        dose = info.data.get("dose")
        if dose is not None and v[0] != dose:
            raise ValueError(f"must start at the starting dose ({dose:g}), got {v[0]:g}")
        if any(b >= a for a, b in zip(v, v[1:])):
            raise ValueError(f"must strictly decrease, got {v}")
        return v

    @field_validator("min_dose")
    @classmethod
    def _min_dose_is_a_level(cls, v: float | None, info: ValidationInfo) -> float | None:
        levels = info.data.get("dose_levels") or []
        if v is not None and levels and v not in levels:
            raise ValueError(f"must be one of dose_levels {levels}, got {v:g}")
        return v


class Arm(_Model):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_]+$")
    name: str
    short_name: str = ""
    ratio: int = Field(ge=1)
    experimental: bool = False
    # an observation (no treatment) arm has no regimen; an experimental arm always has one
    regimen: list[Drug] = []

    @model_validator(mode="after")
    def _experimental_arm_is_treated(self) -> "Arm":
        if self.experimental and not self.regimen:
            raise ValueError(f"regimen: experimental arm {self.code!r} needs at least one drug; "
                             "only a control (observation) arm may have none")
        return self

    @property
    def label(self) -> str:
        return self.short_name or self.name


class Level(_Model):
    code: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    label: str = ""
    prevalence: float | None = Field(default=None, ge=0, le=1)


class StratificationFactor(_Model):
    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = ""
    levels: list[Level] = Field(min_length=2)

    @field_validator("levels")
    @classmethod
    def _levels_consistent(cls, v: list[Level]) -> list[Level]:
        codes = [lv.code for lv in v]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ValueError(f"level codes must be unique, {sorted(dup)} repeated")
        prev = [lv.prevalence for lv in v]
        if all(p is not None for p in prev) and not math.isclose(sum(prev), 1.0, abs_tol=1e-6):
            raise ValueError(f"prevalences must sum to 1, got {sum(prev):.6g}")
        return v

    @property
    def codes(self) -> list[str]:
        return [lv.code for lv in self.levels]


class Randomization(_Model):
    method: Literal["permuted_blocks", "simple", "minimization"]
    block_sizes: list[int] = [2, 4]
    stratify_by: list[str] = []
    seed: int = 0
    minimization_p_best: float = Field(default=0.8, gt=0, le=1)


class Criterion(_Model):
    id: str
    kind: Literal["inclusion", "exclusion"]
    text: str


class Schedule(_Model):
    interval_weeks: float = Field(gt=0)
    window_days: int = Field(ge=0)
    recist_version: Literal["1.0", "1.1"]
    assessor: str = "investigator"
    confirmation_min_weeks: float = Field(ge=0)
    cbr_min_sd_weeks: float = Field(ge=0)
    sd_min_weeks: float = Field(default=6, ge=0)
    missed_assessments_for_censoring: int = Field(default=2, ge=1)
    visit_interval_days: int = Field(default=28, gt=0)


class CensoringRule(_Model):
    cnsr: int = Field(ge=1)
    reason: str
    description: str


class Endpoint(_Model):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str
    kind: Literal["time_to_event", "binary", "safety"]
    role: Literal["primary", "secondary", "exploratory"]
    definition: str
    population: str = "ITT"
    assessor: str = ""
    censoring: list[CensoringRule] = []
    ctcae_version: str = ""


class Accrual(_Model):
    target_n: int = Field(gt=0)
    randomized_n: int | None = Field(default=None, gt=0)
    start: dt.date
    end: dt.date
    n_sites: int = Field(gt=0)
    countries: list[str] = Field(min_length=1)
    data_cutoff: dt.date | None = None

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, v: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and v <= start:
            raise ValueError(f"must be after start ({start.isoformat()})")
        return v

    @field_validator("data_cutoff")
    @classmethod
    def _cutoff_after_start(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if v is not None and start is not None and v <= start:
            raise ValueError(f"must be after accrual start ({start.isoformat()})")
        return v

    @property
    def duration_months(self) -> float:
        return (self.end - self.start).days / DAYS_PER_MONTH


class InterimPlan(_Model):
    """The group-sequential monitoring plan of the primary endpoint: looks and spending.

    ``information_rates`` are the planned fractions of ``max_events`` at each look (the last is
    1); ``alpha_spending`` / ``beta_spending`` name a Lan-DeMets spending family as ``oncotrial
    design --spending`` does (obf, pocock, hsd:GAMMA, kd:RHO); ``futility_bounds`` are Z bounds at
    the interim looks. ``max_events`` is the planned number of events at the final analysis; when
    it is not given, the design sized from ``analysis`` (target HR, power, alpha) gives it.
    """

    information_rates: list[float] = Field(min_length=1)
    alpha_spending: str = Field(default="obf", pattern=r"^(obf|pocock|(hsd|kd):[^\s]+)$")
    beta_spending: str | None = Field(default=None, pattern=r"^(obf|pocock|(hsd|kd):[^\s]+)$")
    futility_bounds: list[float] | None = None
    binding_futility: bool = False
    max_events: float | None = Field(default=None, gt=0)

    @field_validator("information_rates")
    @classmethod
    def _rates(cls, v: list[float]) -> list[float]:
        if any(not (0 < x <= 1) for x in v) or any(b <= a for a, b in zip(v, v[1:])) or v[-1] != 1:
            raise ValueError(f"expected strictly increasing fractions in (0, 1] ending at 1, got {v}")
        return v

    @model_validator(mode="after")
    def _futility(self) -> "InterimPlan":
        if self.futility_bounds is not None and self.beta_spending is not None:
            raise ValueError("give futility_bounds or beta_spending, not both")
        if self.futility_bounds is not None and len(self.futility_bounds) != len(self.information_rates) - 1:
            raise ValueError(f"futility_bounds: expected one Z bound per interim look "
                             f"({len(self.information_rates) - 1}), got {len(self.futility_bounds)}")
        return self


class Analysis(_Model):
    alpha: float = Field(gt=0, lt=1)
    sided: Literal[1, 2]
    power: float | None = Field(default=None, gt=0, lt=1)
    target_hr: float | None = Field(default=None, gt=0)
    control_median_months: float | None = Field(default=None, gt=0)
    # Piecewise-exponential control PFS: [[start_month, hazard_per_month], ...] from month 0
    # (rpact piecewiseSurvivalTime / lambda2); instead of control_median_months.
    control_hazards: list[tuple[float, float]] | None = None
    # Weibull control PFS with this shape and control_median_months (rpact kappa with median2).
    control_weibull_shape: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    dropout_rate_per_year: float = Field(default=0.0, ge=0)
    primary_test: Literal["stratified_logrank", "logrank"] = "stratified_logrank"
    hr_model: Literal["stratified_cox", "cox"] = "stratified_cox"
    ties: Literal["efron", "breslow"] = "efron"
    stratify_by: list[str] = []
    conf_level: float = Field(default=0.95, gt=0, lt=1)
    km_conf_type: Literal["log-log", "log", "plain"] = "log-log"
    binomial_ci: Literal["clopper-pearson", "wilson"] = "clopper-pearson"
    difference_ci: Literal["miettinen-nurminen", "wald"] = "miettinen-nurminen"
    landmark_months: list[float] = []
    time_unit: Literal["months", "days", "weeks", "years"] = "months"
    subgroups: list[str] = []
    interim: InterimPlan | None = None

    @field_validator("control_hazards")
    @classmethod
    def _pieces_from_zero(cls, v: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("expected [[start_month, hazard_per_month], ...] with at least one piece")
        starts, hazards = [p[0] for p in v], [p[1] for p in v]
        if not all(math.isfinite(x) for x in starts + hazards):
            raise ValueError(f"expected finite months and hazards, got {v}")
        if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"start months must begin at 0 and strictly increase, got {starts}")
        if any(h < 0 for h in hazards) or hazards[-1] <= 0:
            raise ValueError(f"hazards must be non-negative with a positive last (open-ended) piece, got {hazards}")
        return v

    @model_validator(mode="after")
    def _one_control_survival(self) -> Analysis:
        if self.control_hazards is not None and self.control_median_months is not None:
            raise ValueError("control_hazards: give either control_hazards or control_median_months, not both")
        if self.control_weibull_shape is not None and self.control_median_months is None:
            raise ValueError("control_weibull_shape: a Weibull control needs control_median_months "
                             "(and no control_hazards)")
        return self


class Baseline(_Model):
    """Expected prevalences of baseline characteristics (fractions) and the age distribution."""

    age_median: float = Field(gt=0)
    age_sd: float = Field(gt=0)
    age_min: float = Field(default=18, ge=0)
    age_max: float = Field(default=90, gt=0)
    female: float = Field(ge=0, le=1)
    postmenopausal: float | None = Field(default=None, ge=0, le=1)
    de_novo: float | None = Field(default=None, ge=0, le=1)
    visceral: float | None = Field(default=None, ge=0, le=1)
    cns_metastases: float | None = Field(default=None, ge=0, le=1)
    cr_to_induction: float | None = Field(default=None, ge=0, le=1)


# ---- published results -------------------------------------------------------
# Per-arm values are dicts keyed by arm code; the protocol checks the keys.
PerArm = dict[str, float]
PerArmInterval = dict[str, tuple[float, float]]


class Landmark(_Model):
    time: float = Field(gt=0)
    rate: PerArm


PositiveFloat = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(gt=0, le=1)]


class TimeToEventResult(_Model):
    """A published time-to-event endpoint.

    ``hr``, ``hr_ci`` and ``p_value`` are one value in a two-arm trial, or one value per
    experimental arm (keyed by its code, each against the control arm) in a trial of three or
    more arms. Read them through :meth:`hr_for`, :meth:`hr_ci_for` and :meth:`p_value_for`,
    which answer both forms.

    >>> r = TimeToEventResult(hr={"B": 0.8, "C": 0.7}, hr_ci={"B": (0.6, 1.05), "C": (0.5, 0.9)})
    >>> r.hr_for("C"), r.hr_ci_for("C"), r.p_value_for("C")
    (0.7, (0.5, 0.9), None)
    """

    median: PerArm = {}
    median_ci: PerArmInterval = {}
    events: PerArm = {}
    hr: PositiveFloat | dict[str, PositiveFloat] | None = None
    hr_ci: tuple[float, float] | PerArmInterval | None = None
    hr_stratified: bool = True
    p_value: Probability | dict[str, Probability] | None = None
    p_sided: Literal[1, 2] = 2
    p_stratified: bool = True
    landmarks: list[Landmark] = []

    def hr_for(self, arm: str) -> float | None:
        """The published hazard ratio of experimental arm ``arm`` against the control."""
        return _per_comparison(self.hr, arm)

    def hr_ci_for(self, arm: str) -> tuple[float, float] | None:
        """The published confidence interval of :meth:`hr_for`."""
        return _per_comparison(self.hr_ci, arm)

    def p_value_for(self, arm: str) -> float | None:
        """The published p-value of experimental arm ``arm`` against the control (``p_sided``-sided)."""
        return _per_comparison(self.p_value, arm)


def _per_comparison(value, arm: str):
    """One comparison's published figure: the value itself in a two-arm trial, else the arm's entry."""
    if isinstance(value, dict):
        return value.get(arm)
    return value


class BinaryResult(_Model):
    rate: PerArm
    ci: PerArmInterval = {}
    population: str = ""
    confirmed: bool = False


class EventResult(_Model):
    """Incidence of one adverse event at one grade (``grade``) or at or above one (``min_grade``)."""

    term: str
    grade: int | None = Field(default=None, ge=1, le=5)
    min_grade: int | None = Field(default=None, ge=1, le=5)
    percent: PerArm = {}
    count: PerArm = {}

    @model_validator(mode="after")
    def _one_grade_rule(self) -> EventResult:
        if (self.grade is None) == (self.min_grade is None):
            raise ValueError(f"{self.term}: give exactly one of grade or min_grade")
        if not self.percent and not self.count:
            raise ValueError(f"{self.term}: give percent or count")
        return self


class SafetyResult(_Model):
    any_grade: PerArm = {}
    grade3: PerArm = {}
    grade4: PerArm = {}
    serious: PerArm = {}
    treatment_related_deaths: PerArm = {}
    events: list[EventResult] = []


class DoseModification(_Model):
    drug: str
    arm: str
    reduction: float | None = Field(default=None, ge=0, le=100)
    median_time_to_first_reduction: float | None = Field(default=None, gt=0)
    discontinuation_for_ae: float | None = Field(default=None, ge=0, le=100)


class PublishedLevel(_Model):
    """The published share of patients in one level of a stratification factor."""

    factor: str
    level: str
    percent: float = Field(ge=0, le=100)


class PublishedBaseline(_Model):
    """Published baseline percentages (age as a median in years).

    The named characteristics are those of :class:`Baseline`; a published share of a
    stratification level (e.g. dual HER2 blockade 94.0%) goes in ``strata``, naming the
    protocol's factor and level, so that no code needs to know a trial's factors.
    """

    age_median: float | None = None
    female: float | None = Field(default=None, ge=0, le=100)
    postmenopausal: float | None = Field(default=None, ge=0, le=100)
    de_novo: float | None = Field(default=None, ge=0, le=100)
    visceral: float | None = Field(default=None, ge=0, le=100)
    cns_metastases: float | None = Field(default=None, ge=0, le=100)
    strata: list[PublishedLevel] = []

    def characteristics(self) -> dict[str, float]:
        """The named characteristics that were published, name -> value."""
        return {k: v for k, v in self.model_dump(exclude={"strata"}).items() if v is not None}


class Published(_Model):
    """Results reported for one data cut-off: what a reproduction is compared with."""

    source: str
    label: str = ""
    time_unit: Literal["months", "days", "weeks", "years"] = "months"
    median_followup: float | None = Field(default=None, gt=0)
    n_randomized: PerArm = {}
    pfs: TimeToEventResult | None = None
    os: TimeToEventResult | None = None
    orr: BinaryResult | None = None
    dor: TimeToEventResult | None = None
    cbr: BinaryResult | None = None
    safety: SafetyResult | None = None
    dose_modifications: list[DoseModification] = []
    baseline: PublishedBaseline | None = None


class Protocol(_Model):
    """A whole trial protocol. Load one with :func:`oncotrial.protocol.load_protocol`."""

    schema_version: Literal[1] = 1
    study: Study
    arms: list[Arm] = Field(min_length=2)
    stratification_factors: list[StratificationFactor] = []
    randomization: Randomization
    eligibility: list[Criterion] = []
    schedule: Schedule
    endpoints: list[Endpoint] = Field(min_length=1)
    accrual: Accrual
    analysis: Analysis
    baseline: Baseline | None = None
    published: Published | None = None
    published_earlier: list[Published] = []
    edc: Edc | None = None

    @field_validator("arms")
    @classmethod
    def _arm_codes_unique(cls, v: list[Arm]) -> list[Arm]:
        codes = [a.code for a in v]
        if len(set(codes)) != len(codes):
            raise ValueError(f"arm codes must be unique, got {codes}")
        return v

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        # Cross-field checks name the offending path themselves: pydantic would
        # otherwise attribute them to the protocol as a whole.
        problems: list[str] = []
        names = [f.name for f in self.stratification_factors]
        for section, refs in (("randomization.stratify_by", self.randomization.stratify_by),
                              ("analysis.stratify_by", self.analysis.stratify_by)):
            for i, ref in enumerate(refs):
                if ref not in names:
                    problems.append(f"{section}[{i}]: {ref!r} is not a stratification factor (known: {names})")
        total = sum(a.ratio for a in self.arms)
        if self.randomization.method == "permuted_blocks":
            for i, b in enumerate(self.randomization.block_sizes):
                if b % total:
                    problems.append(f"randomization.block_sizes[{i}]: {b} is not a multiple of the allocation ratio sum ({total})")
        problems.extend(_comparison_problems(self.arms))
        codes = {a.code for a in self.arms}
        for label, pub in [("published", self.published)] + [
                (f"published_earlier[{i}]", p) for i, p in enumerate(self.published_earlier)]:
            if pub is not None:
                problems.extend(_unknown_arms(pub, codes, label))
                problems.extend(published_problems(pub, label))
                if not _comparison_problems(self.arms):
                    problems.extend(_comparison_figures(pub, self.arms, label))
                problems.extend(_unknown_levels(pub, self.stratification_factors, label))
        if self.edc is not None:
            cycles = {d.cycle_length_days for a in self.arms for d in a.regimen}
            derived = {"arms"} | {f"strata.{f.name}" for f in self.stratification_factors}
            problems.extend(edc_problems(self.edc, cycle_lengths=cycles, derived_lists=derived,
                                         default_cycle=self.schedule.visit_interval_days))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Convenience accessors used across the package.
    @property
    def arm_codes(self) -> list[str]:
        return [a.code for a in self.arms]

    @property
    def experimental_arm(self) -> str:
        """Code of the experimental arm of a two-arm trial: the one arm flagged ``experimental``,
        else the first arm listed.

        The one rule every stage uses (hazard ratios, differences and simulated effects are
        experimental vs :attr:`control_arm`). A trial of three or more arms has one experimental
        arm per comparison: ask :attr:`comparisons`.

        >>> from oncotrial.protocol import load_protocol
        >>> p = load_protocol("patina")
        >>> p.experimental_arm, p.control_arm
        ('A', 'B')
        """
        if len(self.arms) != 2:
            raise ValueError(f"arms: the protocol has {len(self.arms)} arms, so it has one experimental arm "
                             f"per comparison ({', '.join(f'{e} vs {c}' for e, c in self.comparisons)}), not one")
        flagged = [a.code for a in self.arms if a.experimental]
        return flagged[0] if len(flagged) == 1 else self.arms[0].code

    @property
    def control_arm(self) -> str:
        """Code of the control arm. Two arms: the arm that is not :attr:`experimental_arm`. Three or
        more: the one arm not flagged ``experimental`` (validation makes sure there is exactly one)."""
        if len(self.arms) == 2:
            exp = self.experimental_arm
            return next(a.code for a in self.arms if a.code != exp)
        return next(a.code for a in self.arms if not a.experimental)

    @property
    def comparisons(self) -> list[tuple[str, str]]:
        """The (experimental, control) pairs every hazard ratio and difference is for, in the
        order the arms are listed: one pair in a two-arm trial, each experimental arm against
        the control arm in a trial of three or more arms.

        >>> from oncotrial.protocol import load_protocol
        >>> load_protocol("patina").comparisons
        [('A', 'B')]
        """
        if len(self.arms) == 2:
            return [(self.experimental_arm, self.control_arm)]
        control = self.control_arm
        return [(a.code, control) for a in self.arms if a.code != control]

    def arm(self, code: str) -> Arm:
        for a in self.arms:
            if a.code == code:
                return a
        raise KeyError(f"arm {code!r} is not in the protocol (arms: {self.arm_codes})")

    def factor(self, name: str) -> StratificationFactor:
        for f in self.stratification_factors:
            if f.name == name:
                return f
        raise KeyError(f"stratification factor {name!r} is not in the protocol")

    def endpoint(self, endpoint_id: str) -> Endpoint:
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(f"endpoint {endpoint_id!r} is not in the protocol")

    def codelist(self, list_id: str) -> CodeList:
        """A code list of the ``[edc]`` block, or one the protocol derives: ``arms`` (arm codes and
        names) and ``strata.<factor>`` (a stratification factor's levels)."""
        if list_id == "arms":
            return CodeList(id="arms", codes=[Code(code=a.code, label=a.name) for a in self.arms])
        if list_id.startswith("strata."):
            f = self.factor(list_id[len("strata."):])
            return CodeList.model_construct(id=list_id, codes=[Code(code=lv.code, label=lv.label) for lv in f.levels])
        if self.edc is None:
            raise KeyError(f"code list {list_id!r}: the protocol has no [edc] block")
        return self.edc.codelist(list_id)

    @property
    def factors_in_strat_order(self) -> list[StratificationFactor]:
        """The factors numbered as CDISC STRATwR/STRATwV: randomization's ``stratify_by`` first, in its
        order, then any other factor. The IRT export, the simulator and the analysis all number by this."""
        first = [self.factor(n) for n in self.randomization.stratify_by]
        return first + [f for f in self.stratification_factors if f.name not in self.randomization.stratify_by]

    @property
    def strata_levels(self) -> dict[str, list[str]]:
        """Factor name -> level codes, for the factors randomization stratifies by, in STRATwR order."""
        chosen = self.randomization.stratify_by or [f.name for f in self.stratification_factors]
        return {n: self.factor(n).codes for n in chosen}


def _comparison_problems(arms: list[Arm]) -> list[str]:
    """A trial of three or more arms names its comparisons by flagging every arm but the control."""
    if len(arms) == 2:
        return []
    controls = [a.code for a in arms if not a.experimental]
    if len(controls) == 1:
        return []
    return [f"arms: with {len(arms)} arms, flag every arm but the control `experimental = true` "
            f"(each experimental arm is compared with the control); arms not flagged: {controls}"]


def _comparison_figures(pub: Published, arms: list[Arm], label: str) -> list[str]:
    """Hazard ratios, their CIs and p-values are per comparison: one value with two arms, one per
    experimental arm (never the control) with more."""
    control = next(a.code for a in arms if not a.experimental) if len(arms) > 2 else None
    experimental = [a.code for a in arms if a.code != control] if control else None
    out: list[str] = []
    for name in ("pfs", "os", "dor"):
        r = getattr(pub, name)
        if r is None:
            continue
        for fld in ("hr", "hr_ci", "p_value"):
            v = getattr(r, fld)
            path = f"{label}.{name}.{fld}"
            if v is None:
                continue
            if control is None:
                if isinstance(v, dict):
                    out.append(f"{path}: a two-arm trial has one comparison; give one value, not one per arm")
            elif not isinstance(v, dict):
                out.append(f"{path}: with {len(arms)} arms give one value per experimental arm, "
                           f"keyed by its code (each against control {control!r}): {experimental}")
            elif control in v:
                out.append(f"{path}: {control!r} is the control arm; the keys are the experimental arms {experimental}")
    return out


def _unknown_arms(pub: Published, codes: set[str], label: str) -> list[str]:
    """Per-arm dicts in a published block must use the protocol's arm codes."""
    out: list[str] = []

    def check(path: str, mapping: dict) -> None:
        for k in mapping:
            if k not in codes:
                out.append(f"{path}: arm {k!r} is not one of the protocol's arms {sorted(codes)}")

    check(f"{label}.n_randomized", pub.n_randomized)
    for name in ("pfs", "os", "dor"):
        r = getattr(pub, name)
        if r is not None:
            for fld in ("median", "median_ci", "events"):
                check(f"{label}.{name}.{fld}", getattr(r, fld))
            for fld in ("hr", "hr_ci", "p_value"):
                if isinstance(getattr(r, fld), dict):
                    check(f"{label}.{name}.{fld}", getattr(r, fld))
            for j, lm in enumerate(r.landmarks):
                check(f"{label}.{name}.landmarks[{j}].rate", lm.rate)
    for name in ("orr", "cbr"):
        r = getattr(pub, name)
        if r is not None:
            check(f"{label}.{name}.rate", r.rate)
            check(f"{label}.{name}.ci", r.ci)
    if pub.safety is not None:
        for fld in ("any_grade", "grade3", "grade4", "serious", "treatment_related_deaths"):
            check(f"{label}.safety.{fld}", getattr(pub.safety, fld))
        for j, ev in enumerate(pub.safety.events):
            check(f"{label}.safety.events[{j}].percent", ev.percent)
            check(f"{label}.safety.events[{j}].count", ev.count)
    for j, dm in enumerate(pub.dose_modifications):
        if dm.arm not in codes:
            out.append(f"{label}.dose_modifications[{j}].arm: {dm.arm!r} is not one of the protocol's arms {sorted(codes)}")
    return out


def _unknown_levels(pub: Published, factors: list[StratificationFactor], label: str) -> list[str]:
    """Published stratum shares must name a factor and level the protocol has."""
    if pub.baseline is None:
        return []
    known = {f.name: f.codes for f in factors}
    out = []
    for j, lv in enumerate(pub.baseline.strata):
        path = f"{label}.baseline.strata[{j}]"
        if lv.factor not in known:
            out.append(f"{path}.factor: {lv.factor!r} is not a stratification factor (known: {list(known)})")
        elif lv.level not in known[lv.factor]:
            out.append(f"{path}.level: {lv.level!r} is not a level of {lv.factor} (levels: {known[lv.factor]})")
    return out
