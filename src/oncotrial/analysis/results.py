"""Result objects of the analyses: frozen dataclasses with ``to_dict()`` and ``to_frame()``.

NaN marks a value that cannot be estimated (an upper confidence bound never
reached, a median of a curve that never falls to 50%); ``to_dict()`` writes it
as ``None`` so that results.json is valid JSON, and the tables print it as NE.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


def jsonable(value: Any) -> Any:
    """A result value as plain JSON types; NaN and infinities become None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("json", True)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    return value


class _Result:
    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready plain types (NaN as None)."""
        return jsonable(self)


def _comparison_of(comparisons: tuple, experimental: str, paramcd: str):
    """The entry of ``comparisons`` for ``experimental`` vs the control; KeyError naming the known ones."""
    for c in comparisons:
        if c.experimental == experimental:
            return c
    known = ", ".join(f"{c.experimental} vs {c.control}" for c in comparisons) or "none"
    raise KeyError(f"no {paramcd} comparison for experimental arm {experimental!r}; known: {known}")


@dataclass(frozen=True)
class Landmark(_Result):
    """Kaplan-Meier estimate at one time, with its pointwise confidence interval."""

    time: float
    surv: float
    lower: float
    upper: float
    n_risk: int


@dataclass(frozen=True)
class ArmTimeToEvent(_Result):
    arm: str
    n: int
    events: int
    median: float
    median_lower: float
    median_upper: float
    landmarks: tuple[Landmark, ...] = ()


@dataclass(frozen=True)
class HazardComparison(_Result):
    """One experimental arm vs the control: Cox hazard ratio with its CI and the log-rank test.

    Fitted on the patients of these two arms only (pairwise, as multi-arm trial reports do);
    ``logrank_z`` is the experimental arm's signed (O - E) / sqrt(V); ``n`` and ``events`` count
    the two arms' patients.
    """

    experimental: str
    control: str
    hr: float
    hr_lower: float
    hr_upper: float
    hr_stratified: bool
    logrank_chisq: float
    logrank_p: float
    logrank_z: float
    logrank_stratified: bool
    n: int
    events: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class TimeToEventAnalysis(_Result):
    """One time-to-event endpoint: per-arm Kaplan-Meier summaries and the comparison.

    Times are in ``unit``; ``hr`` is experimental vs control; ``logrank_p`` is two-sided;
    ``logrank_z`` is the experimental arm's signed statistic (O - E) / sqrt(V), negative when it
    has fewer events than expected (``logrank_z ** 2 == logrank_chisq``).
    ``curves`` holds each arm's Kaplan-Meier table (in ``unit``) for the figures.
    ``comparisons`` holds one :class:`HazardComparison` per experimental arm vs the control
    (``Protocol.comparisons``). With two arms the top-level hr/logrank fields equal its one
    entry; with three or more arms ``experimental`` is "" and those fields are NaN (there is no
    single comparison): read them through :meth:`comparison`.
    """

    paramcd: str
    label: str
    unit: str
    conf_level: float
    experimental: str
    control: str
    arms: tuple[ArmTimeToEvent, ...]
    hr: float
    hr_lower: float
    hr_upper: float
    hr_stratified: bool
    logrank_chisq: float
    logrank_p: float
    logrank_stratified: bool
    strata: tuple[str, ...]
    n: int
    events: int
    maturity: float
    logrank_z: float = float("nan")
    curves: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, metadata={"json": False})
    comparisons: tuple[HazardComparison, ...] = ()

    def arm(self, code: str) -> ArmTimeToEvent:
        for a in self.arms:
            if a.arm == code:
                return a
        raise KeyError(f"arm {code!r} not in {self.paramcd} results")

    def comparison(self, experimental: str) -> HazardComparison:
        """The comparison of ``experimental`` with the control."""
        return _comparison_of(self.comparisons, experimental, self.paramcd)

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: n, events, median and CI, and each landmark rate."""
        rows = []
        for a in self.arms:
            row = {"PARAMCD": self.paramcd, "arm": a.arm, "n": a.n, "events": a.events, "median": a.median,
                   "median_lower": a.median_lower, "median_upper": a.median_upper}
            for lm in a.landmarks:
                row[f"surv_{lm.time:g}"] = lm.surv
                row[f"surv_{lm.time:g}_lower"] = lm.lower
                row[f"surv_{lm.time:g}_upper"] = lm.upper
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class ArmRate(_Result):
    arm: str
    n: int
    responders: int
    rate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class RateDifference(_Result):
    """One experimental arm vs the control: difference of rates (experimental - control) with its CI."""

    experimental: str
    control: str
    difference: float
    difference_lower: float
    difference_upper: float
    difference_method: str


@dataclass(frozen=True)
class BinaryAnalysis(_Result):
    """A response rate per arm (exact or Wilson CI) and the difference experimental - control.

    ``arms`` lists every arm (see ``arm_order``); ``comparisons`` holds one
    :class:`RateDifference` per ``Protocol.comparisons`` pair. With two arms the top-level
    difference fields equal its one entry; with three or more ``experimental`` is "" and
    they are NaN (no single comparison): read them through :meth:`comparison`.
    """

    paramcd: str
    label: str
    population: str
    conf_level: float
    method: str
    experimental: str
    control: str
    arms: tuple[ArmRate, ...]
    difference: float
    difference_lower: float
    difference_upper: float
    difference_method: str
    comparisons: tuple[RateDifference, ...] = ()

    def arm(self, code: str) -> ArmRate:
        for a in self.arms:
            if a.arm == code:
                return a
        raise KeyError(f"arm {code!r} not in {self.paramcd} results")

    def comparison(self, experimental: str) -> RateDifference:
        """The rate difference of ``experimental`` vs the control."""
        return _comparison_of(self.comparisons, experimental, self.paramcd)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"PARAMCD": self.paramcd, **a.to_dict()} for a in self.arms])


@dataclass(frozen=True)
class SafetyRow(_Result):
    """Patients with an event in one category, per arm (count and percent of the safety population)."""

    category: str
    term: str
    grade: str
    count: dict[str, int]
    percent: dict[str, float]


@dataclass(frozen=True)
class DoseModificationSummary(_Result):
    drug: str
    arm: str
    n: int
    reduced: int
    reduction_percent: float
    median_time_to_first_reduction: float
    discontinued_for_ae: int
    discontinuation_percent: float


@dataclass(frozen=True)
class SafetyAnalysis(_Result):
    """Treatment-emergent adverse events in the safety population, by arm."""

    unit: str
    graded: bool  # False when ADAE has no CTCAE grade: no grade rows
    n: dict[str, int]
    overview: tuple[SafetyRow, ...]
    by_term: tuple[SafetyRow, ...]
    dose_modifications: tuple[DoseModificationSummary, ...]
    treatment_related_deaths: dict[str, int]

    def row(self, category: str, term: str = "", grade: str = "") -> SafetyRow:
        for r in self.overview + self.by_term:
            if r.category == category and r.term.upper() == term.upper() and r.grade == grade:
                return r
        raise KeyError(f"no safety row {category!r}/{term!r}/{grade!r}")

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for r in self.overview + self.by_term:
            row = {"category": r.category, "term": r.term, "grade": r.grade}
            for a in self.n:
                row[f"n_{a}"] = r.count.get(a, 0)
                row[f"pct_{a}"] = r.percent.get(a, float("nan"))
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class BaselineRow(_Result):
    """One line of the baseline table: a level's count/percent per arm, or a median (range)."""

    characteristic: str
    level: str
    kind: str  # "count" or "median"
    values: dict[str, dict[str, float]]  # arm (and "Total") -> {"n", "percent"} or {"median", "min", "max"}


@dataclass(frozen=True)
class BaselineTable(_Result):
    n: dict[str, int]
    rows: tuple[BaselineRow, ...]

    def value(self, characteristic: str, level: str = "", arm: str = "Total") -> dict[str, float]:
        for r in self.rows:
            if r.characteristic == characteristic and r.level == level:
                return r.values[arm]
        raise KeyError(f"no baseline row {characteristic!r}/{level!r}")

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for r in self.rows:
            row = {"characteristic": r.characteristic, "level": r.level, "kind": r.kind}
            for arm, v in r.values.items():
                for k, x in v.items():
                    row[f"{arm}_{k}"] = x
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class SubgroupRow(_Result):
    subgroup: str
    label: str
    level: str
    n: dict[str, int]
    events: dict[str, int]
    hr: float
    hr_lower: float
    hr_upper: float


@dataclass(frozen=True)
class SubgroupAnalysis(_Result):
    """Unstratified Cox hazard ratios within each level of each subgroup variable."""

    paramcd: str
    conf_level: float
    experimental: str
    control: str
    overall: SubgroupRow
    rows: tuple[SubgroupRow, ...]
    unavailable: tuple[str, ...] = ()  # planned subgroups the data hold no variable for

    def to_frame(self) -> pd.DataFrame:
        out = []
        for r in (self.overall,) + self.rows:
            d = {"subgroup": r.subgroup, "label": r.label, "level": r.level, "hr": r.hr,
                 "hr_lower": r.hr_lower, "hr_upper": r.hr_upper}
            for a, v in r.n.items():
                d[f"n_{a}"] = v
                d[f"events_{a}"] = r.events.get(a, 0)
            out.append(d)
        return pd.DataFrame(out)


@dataclass(frozen=True)
class FlowStep(_Result):
    """A box of the CONSORT-style flow: patients per arm at one stage."""

    stage: str
    count: dict[str, int]


@dataclass(frozen=True)
class TrialResults(_Result):
    """Everything the report shows, for one protocol and one data set.

    With three or more arms ``experimental`` is "" (no single experimental arm), ``control``
    is the control arm and per-arm dicts (``n_randomized``, flow, safety, baseline) hold every
    arm of ``arm_order``.
    """

    study: str
    unit: str
    conf_level: float
    arms: dict[str, str]  # code -> label
    experimental: str
    control: str
    n_randomized: dict[str, int]
    flow: tuple[FlowStep, ...]
    median_followup: float
    median_followup_lower: float
    median_followup_upper: float
    pfs: TimeToEventAnalysis | None
    os: TimeToEventAnalysis | None
    dor: TimeToEventAnalysis | None
    orr: BinaryAnalysis | None
    cbr: BinaryAnalysis | None
    safety: SafetyAnalysis | None
    baseline: BaselineTable | None
    subgroups: SubgroupAnalysis | None
    # Added for trials of three or more arms (defaults keep older constructions working):
    # arm_order is the column order of every table, comparisons is Protocol.comparisons, and
    # subgroups_by_comparison holds the subgroup analysis of each experimental arm vs the
    # control (``subgroups`` is the two-arm one, None with three or more arms).
    arm_order: tuple[str, ...] = ()
    comparisons: tuple[tuple[str, str], ...] = ()
    subgroups_by_comparison: dict[str, SubgroupAnalysis] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The efficacy summary: one row per endpoint and arm."""
        frames = [r.to_frame() for r in (self.pfs, self.os, self.dor, self.orr, self.cbr) if r is not None]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
