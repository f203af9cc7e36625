"""Trial design: sample size and events (Schoenfeld, Freedman), expected event timelines
(Lachin-Foulkes), Lan-DeMets group-sequential boundaries, and batched simulation of whole
trials (``oncotrial.design.simulate``).

Names are loaded on first use (PEP 562) so that the ``oncotrial`` command, which registers
the design sub-commands, does not pay for scipy at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "events": ["Accrual", "EventTimeline", "PiecewiseExponential", "dropout_hazard", "event_probability",
               "expected_events_by_arm"],
    "group_sequential": ["Characteristics", "GroupSequentialDesign", "characteristics", "group_sequential_design"],
    "recursion": ["crossing_probabilities"],
    "sample_size": ["SurvivalDesign", "events_freedman", "events_hsieh_freedman", "events_schoenfeld",
                    "sample_size_survival"],
    "spending_functions": ["spending", "spending_hsd", "spending_kd", "spending_obf", "spending_pocock"],
    "spending_spec": ["SpendingFunction", "parse_spending"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"oncotrial.design.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'oncotrial.design' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
