"""Figures of a published block that contradict one another (issue 15 §1).

Only contradictions that are certain whatever the trial are refused: an estimate outside its own
interval, an interval whose lower bound is above its upper, a percentage outside 0..100, a survival
rate that rises with time or disagrees with the median, more events or patients with an event than
patients randomized, a count that is negative or not whole. Rounded figures keep their order, so
every comparison allows equality.

The block is read by attribute (a :class:`~oncotrial.protocol.models.Published`); this module does
not import the models, which call it, so that there is no import cycle.
"""

from __future__ import annotations

import math
from typing import Any

_PERCENT_FIELDS = ("any_grade", "grade3", "grade4", "serious", "treatment_related_deaths")


def published_problems(pub: Any, label: str) -> list[str]:
    """Contradictions inside one published block ``pub`` (a ``Published``), each naming the path
    (``label`` is the block's own, e.g. ``published`` or ``published_earlier[0]``) and the figures.
    Missing figures (``nan``: not reached, not estimable) are never compared.

    >>> from oncotrial.protocol import load_protocol
    >>> pub = load_protocol("patina").published
    >>> published_problems(pub, "published")
    []
    >>> pfs = pub.pfs.model_copy(update={"median": {"A": 60.0, "B": 29.1}})
    >>> published_problems(pub.model_copy(update={"pfs": pfs}), "published")
    ['published.pfs.median_ci.A: median 60.0 lies outside its interval (32.4, 56.8)', \
'published.pfs.landmarks[0].rate.A: 46.5% at 48 is below 50%, yet the median 60.0 is later']
    """
    out: list[str] = []
    n = pub.n_randomized
    _whole(out, f"{label}.n_randomized", n, "patients")
    for name in ("pfs", "os", "dor"):
        r = getattr(pub, name)
        if r is not None:
            _time_to_event(out, f"{label}.{name}", r, n, f"{label}.n_randomized")
    for name in ("orr", "cbr"):
        r = getattr(pub, name)
        if r is not None:
            path = f"{label}.{name}"
            _percent(out, f"{path}.rate", r.rate)
            for arm, ci in r.ci.items():
                _percent(out, f"{path}.ci.{arm}", dict(zip(("lower", "upper"), ci)))
                _inside(out, f"{path}.ci.{arm}", "rate", r.rate.get(arm), ci)
    if pub.safety is not None:
        for fld in _PERCENT_FIELDS:
            _percent(out, f"{label}.safety.{fld}", getattr(pub.safety, fld))
        for j, ev in enumerate(pub.safety.events):
            path = f"{label}.safety.events[{j}]"
            _percent(out, f"{path}.percent", ev.percent)
            _whole(out, f"{path}.count", ev.count, "patients")
            _at_most_randomized(out, f"{path}.count", ev.count, n, "patients with the event",
                                f"{label}.n_randomized")
    return out


def _time_to_event(out: list[str], path: str, r: Any, n: dict[str, float], n_path: str) -> None:
    for arm, ci in r.median_ci.items():
        _inside(out, f"{path}.median_ci.{arm}", "median", r.median.get(arm), ci)
    for suffix, hr, ci in _hr_pairs(r):
        if ci is not None:
            _inside(out, f"{path}.hr_ci{suffix}", "hazard ratio", hr, ci)
    _whole(out, f"{path}.events", r.events, "events")
    _at_most_randomized(out, f"{path}.events", r.events, n, "events", n_path)
    order = sorted(range(len(r.landmarks)), key=lambda j: r.landmarks[j].time)
    for j in order:
        lm = r.landmarks[j]
        _percent(out, f"{path}.landmarks[{j}].rate", lm.rate)
        for arm, rate in lm.rate.items():
            _agrees_with_median(out, f"{path}.landmarks[{j}].rate.{arm}", lm.time, rate, r.median.get(arm))
    for earlier, later in zip(order, order[1:]):
        a, b = r.landmarks[earlier], r.landmarks[later]
        for arm, rate in b.rate.items():
            before = a.rate.get(arm)
            if _known(rate, before) and b.time > a.time and rate > before:
                out.append(f"{path}.landmarks[{later}].rate.{arm}: {rate}% at {b.time:g} is above {before}% at "
                           f"{a.time:g} (landmarks[{earlier}]); a survival rate cannot rise with time")


def _hr_pairs(r: Any) -> list[tuple[str, float | None, tuple[float, float] | None]]:
    """(path suffix, hazard ratio, its interval) per comparison: one, or one per experimental arm."""
    if isinstance(r.hr, dict) or isinstance(r.hr_ci, dict):
        arms = dict.fromkeys([*(r.hr if isinstance(r.hr, dict) else {}),
                              *(r.hr_ci if isinstance(r.hr_ci, dict) else {})])
        return [(f".{arm}", r.hr_for(arm), r.hr_ci_for(arm)) for arm in arms]
    return [("", r.hr, r.hr_ci)]


def _known(*values: float | None) -> bool:
    return all(v is not None and not math.isnan(v) for v in values)


def _inside(out: list[str], path: str, what: str, estimate: float | None, ci: tuple[float, float]) -> None:
    lower, upper = ci
    if _known(lower, upper) and lower > upper:
        out.append(f"{path}: lower bound {lower} is above upper bound {upper}")
        return
    if not _known(estimate):
        return
    if (_known(lower) and estimate < lower) or (_known(upper) and estimate > upper):
        out.append(f"{path}: {what} {estimate} lies outside its interval ({lower}, {upper})")


def _percent(out: list[str], path: str, values: dict[str, float]) -> None:
    for key, v in values.items():
        if _known(v) and not 0 <= v <= 100:
            out.append(f"{path}.{key}: {v} is not a percentage (0 to 100)")


def _whole(out: list[str], path: str, values: dict[str, float], what: str) -> None:
    for arm, v in values.items():
        if _known(v) and (v < 0 or not float(v).is_integer()):
            out.append(f"{path}.{arm}: {v} is not a whole, non-negative number of {what}")


def _at_most_randomized(out: list[str], path: str, values: dict[str, float], n: dict[str, float],
                        what: str, n_path: str) -> None:
    for arm, v in values.items():
        total = n.get(arm)
        if _known(v, total) and v > total:
            out.append(f"{path}.{arm}: {v:g} {what} in an arm of {total:g} randomized patients ({n_path}.{arm})")


def _agrees_with_median(out: list[str], path: str, time: float, rate: float, median: float | None) -> None:
    # The Kaplan-Meier median is the first time the curve reaches 50%: before it the curve is at or
    # above 50%, from it on at or below.
    if not _known(rate, median):
        return
    if time < median and rate < 50:
        out.append(f"{path}: {rate}% at {time:g} is below 50%, yet the median {median} is later")
    elif time > median and rate > 50:
        out.append(f"{path}: {rate}% at {time:g} is above 50%, yet the median {median} is earlier")
