"""End-to-end jobs that compose the stages: ``analyze`` (SDTM or ADaM -> report) and
``reproduce`` (published results -> reconstructed SDTM -> report).

The top of the flow: the only package that imports both ``oncotrial.sim`` and
``oncotrial.report``, so the stages below never import each other backwards. Names
load on first use so that the ``oncotrial`` command starts without the analysis stack.

>>> from oncotrial.jobs import ANALYZE_STEPS
>>> ANALYZE_STEPS[:2]
('read', 'adam')
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"pipeline": ["ANALYZE_STEPS", "REPRODUCE_STEPS", "JobResult", "analyze", "reproduce"]}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"oncotrial.jobs.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'oncotrial.jobs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
