"""A subject's planned visits from the protocol's schedule, and visit names back to visit numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from oncotrial.protocol import Protocol
from oncotrial.protocol.edc import Visit


@dataclass(frozen=True)
class PlannedVisit:
    """One planned visit: its definition's id, its name (the record's ``visit``), number, date and window."""

    visit_id: str
    kind: str
    name: str
    visitnum: float
    planned: dt.date
    earliest: dt.date
    latest: dt.date
    forms: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"visit_id": self.visit_id, "kind": self.kind, "name": self.name, "visitnum": self.visitnum,
                "planned": self.planned.isoformat(), "earliest": self.earliest.isoformat(),
                "latest": self.latest.isoformat(), "forms": list(self.forms)}


def _edc(protocol: Protocol):
    if protocol.edc is None:
        raise ValueError(f"protocol {protocol.study.id} has no [edc] block")
    return protocol.edc


def _name(v: Visit, n: int, week: float) -> str:
    return v.name.replace("{n}", str(n)).replace("{week}", f"{week:g}")


def _date(x, what: str) -> dt.date:
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    if isinstance(x, str):
        try:
            return dt.date.fromisoformat(x)
        except ValueError:
            pass
    raise ValueError(f"{what}: expected a date (YYYY-MM-DD), got {x!r}")


def visit_schedule(protocol: Protocol, randomization_date: dt.date | str, *, until: dt.date | str,
                   end_of_treatment: dt.date | str | None = None) -> list[PlannedVisit]:
    """Every planned visit of one subject up to ``until``, in date order (ties in schedule order).

    Day 1 is the randomization date. Cycle visits fall on day 1 of each cycle while on treatment
    (until ``end_of_treatment`` if given); tumour assessments every ``schedule.interval_weeks`` weeks
    (+/- ``schedule.window_days``); the end-of-treatment visit at ``end_of_treatment``; survival
    follow-up every ``every_weeks`` after it. Unscheduled visits and logs are not planned.

    >>> from oncotrial.protocol import load_protocol
    >>> vs = visit_schedule(load_protocol("patina"), "2020-01-06", until="2020-04-30")
    >>> [(v.name, v.planned.isoformat()) for v in vs if v.kind == "assessment"]
    [('WEEK 12', '2020-03-30')]
    """
    edc = _edc(protocol)
    rand = _date(randomization_date, "randomization_date")
    end = _date(until, "until")
    eot = _date(end_of_treatment, "end_of_treatment") if end_of_treatment is not None else None
    if end < rand:
        raise ValueError(f"until ({end}) is before the randomization date ({rand})")
    if eot is not None and eot < rand:
        raise ValueError(f"end_of_treatment ({eot}) is before the randomization date ({rand})")
    treat_end = min(end, eot) if eot is not None else end
    out: list[tuple[dt.date, int, PlannedVisit]] = []
    for order, v in enumerate(edc.visits):
        w = dt.timedelta(days=v.window_days or 0)

        def add(name: str, num: float, day: dt.date, lo: dt.date, hi: dt.date) -> None:
            out.append((day, order, PlannedVisit(v.id, v.kind, name, float(num), day, lo, hi, tuple(v.forms))))

        if v.kind == "screening":
            add(v.name, v.visitnum, rand, rand - w, rand)
        elif v.kind == "cycle":
            length = v.cycle_length_days or protocol.schedule.visit_interval_days
            n = 1
            while (day := rand + dt.timedelta(days=(n - 1) * length)) <= treat_end:
                add(_name(v, n, (n - 1) * length / 7), v.visitnum + n - 1, day, day - w, day + w)
                n += 1
        elif v.kind == "assessment":
            weeks = protocol.schedule.interval_weeks
            wa = dt.timedelta(days=protocol.schedule.window_days)
            k = 1
            # the simulator's assessment days: round(7 * weeks * k) + 1 (day 1 = randomization)
            while (day := rand + dt.timedelta(days=round(7 * weeks * k))) <= end:
                add(_name(v, k, weeks * k), v.visitnum + k - 1, day, day - wa, day + wa)
                k += 1
        elif v.kind == "end_of_treatment" and eot is not None and eot <= end:
            add(v.name, v.visitnum, eot, eot, eot + w)
        elif v.kind == "follow_up" and eot is not None:
            k = 1
            while (day := eot + dt.timedelta(days=round(7 * v.every_weeks * k))) <= end:
                add(_name(v, k, v.every_weeks * k), v.visitnum + k - 1, day, day - w, day + w)
                k += 1
    out.sort(key=lambda t: (t[0], t[1], t[2].visitnum))
    return [p for _, _, p in out]


def _number_in(protocol: Protocol, v: Visit, visit: str) -> float | None:
    """The number of ``visit`` if the scheduled visit definition ``v`` plans that name, else None."""
    if v.kind in ("log", "unscheduled"):
        return None
    if "{n}" not in v.name and "{week}" not in v.name:
        return float(v.visitnum) if visit == v.name else None
    pattern = "^" + re.escape(v.name).replace(r"\{n\}", r"(?P<n>\d+)").replace(r"\{week\}", r"(?P<week>\d+(?:\.\d+)?)") + "$"
    m = re.match(pattern, visit)
    if m is None:
        return None
    if m.groupdict().get("n") is not None:
        return float(v.visitnum + int(m["n"]) - 1)
    weeks = protocol.schedule.interval_weeks if v.kind == "assessment" else (v.every_weeks or 0)
    if weeks and v.kind != "cycle":
        k = float(m["week"]) / weeks
        if k.is_integer() and k >= 1:
            return float(v.visitnum + int(k) - 1)
    if v.kind == "cycle":
        length = v.cycle_length_days or protocol.schedule.visit_interval_days
        k = float(m["week"]) * 7 / length
        if k.is_integer():
            return float(v.visitnum + int(k))
    return None


def visit_number(protocol: Protocol, visit: str) -> float | None:
    """The VISITNUM of a visit name the schedule plans (``"CYCLE 3"`` -> 3.0); None for a log or an
    unknown (unscheduled) name.

    >>> from oncotrial.protocol import load_protocol
    >>> visit_number(load_protocol("patina"), "WEEK 24")
    102.0
    """
    for v in _edc(protocol).visits:
        n = _number_in(protocol, v, visit)
        if n is not None:
            return n
    return None


def visit_definition(protocol: Protocol, visit: str) -> Visit | None:
    """The schedule's definition of a visit name: a planned visit, a log or the unscheduled visit.

    >>> from oncotrial.protocol import load_protocol
    >>> [visit_definition(load_protocol("patina"), n).id for n in ("CYCLE 3", "WEEK 24", "LOG")]
    ['CYCLE', 'ASSESSMENT', 'LOG']
    """
    for v in _edc(protocol).visits:
        if (v.kind in ("log", "unscheduled") and _instance_of(v.name, visit)) or _number_in(protocol, v, visit) is not None:
            return v
    return None


def _instance_of(name: str, visit: str) -> bool:
    """Whether ``visit`` is the visit ``name`` or, for a name with ``{n}`` ("UNSCHEDULED {n}"), one of its instances."""
    if "{n}" not in name:
        return visit == name
    return re.fullmatch(re.escape(name).replace(r"\{n\}", r"[1-9]\d*"), visit) is not None


def unscheduled_name(protocol: Protocol, n: int) -> str:
    """The name of the subject's ``n``-th unscheduled visit ("UNSCHEDULED 2"; the plain name when it has no ``{n}``).

    >>> from oncotrial.protocol import load_protocol
    >>> unscheduled_name(load_protocol("patina"), 2)
    'UNSCHEDULED 2'
    """
    v = next((v for v in _edc(protocol).visits if v.kind == "unscheduled"), None)
    if v is None:
        raise ValueError(f"protocol {protocol.study.id} has no unscheduled visit")
    return v.name.replace("{n}", str(n))


def is_log_visit(protocol: Protocol, visit: str) -> bool:
    return any(v.kind == "log" and v.name == visit for v in _edc(protocol).visits)


def schedule_frame(visits: list[PlannedVisit]) -> pd.DataFrame:
    """Planned visits as a table (one row each)."""
    return pd.DataFrame([v.to_dict() for v in visits])
