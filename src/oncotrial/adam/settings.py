"""Derivation settings read from a protocol: the keyword arguments of adrs and adtte."""

from __future__ import annotations

from typing import Any


def protocol_settings(protocol: Any) -> dict[str, dict[str, float]]:
    """Derivation settings read from a protocol (``oncotrial.protocol.load_protocol``).

    Returns ``{"adrs": {...}, "adtte": {...}}`` keyword arguments for :func:`adrs` and
    :func:`adtte`: confirmation >= ``schedule.confirmation_min_weeks`` weeks, clinical
    benefit SD >= ``schedule.cbr_min_sd_weeks`` weeks, assessments every
    ``schedule.interval_weeks`` weeks with a ``schedule.window_days`` window.
    PATINA: 28, 168, 84 and 7 days.  When the schedule has ``sd_min_weeks`` the
    minimum time for SD to count in BOR (``sd_min_days``) is added too.
    """
    sch = protocol.schedule
    adrs_opts = {"confirmation_min_days": int(round(7 * sch.confirmation_min_weeks)),
                 "cbr_min_days": int(round(7 * sch.cbr_min_sd_weeks))}
    if getattr(sch, "sd_min_weeks", None) is not None:
        adrs_opts["sd_min_days"] = int(round(7 * sch.sd_min_weeks))
    return {
        "adrs": adrs_opts,
        "adtte": {"assessment_interval_days": float(7 * sch.interval_weeks),
                  "window_days": float(sch.window_days)},
    }
