"""Dosing frequencies a regimen may name: the one vocabulary the protocol, the simulated EX and ADEX share.

A frequency is either a number of administrations per day or an interval in days between them;
``ONCE`` is a single administration. Names are matched upper-case, so a protocol may write
"once daily" or "every 3 weeks" as a report would.
"""

from __future__ import annotations

PER_DAY: dict[str, float] = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "QM": 1 / 28,
                             "ONCE DAILY": 1.0, "TWICE DAILY": 2.0, "DAILY": 1.0, "THREE TIMES DAILY": 3.0,
                             "EVERY 8 HOURS": 3.0, "EVERY 12 HOURS": 2.0, "Q8H": 3.0, "Q12H": 2.0}
INTERVAL_DAYS: dict[str, int] = {"QW": 7, "Q2W": 14, "Q3W": 21, "Q4W": 28, "EVERY WEEK": 7, "ONCE WEEKLY": 7,
                                 "WEEKLY": 7, "EVERY 2 WEEKS": 14, "EVERY 3 WEEKS": 21, "EVERY 4 WEEKS": 28}
KNOWN: frozenset[str] = frozenset(PER_DAY) | frozenset(INTERVAL_DAYS) | {"ONCE"}


def check_frequency(value: str) -> str:
    """``value`` if it names a known frequency (any case), else ValueError listing them.

    >>> check_frequency("every 3 weeks")
    'every 3 weeks'
    """
    if value.strip().upper() not in KNOWN:
        raise ValueError(f"frequency {value!r} is not one of {', '.join(sorted(KNOWN))} (any case)")
    return value
