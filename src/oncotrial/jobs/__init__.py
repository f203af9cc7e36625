"""End-to-end jobs that compose the stages: ``analyze`` (SDTM or ADaM -> report) and
``reproduce`` (published results -> reconstructed SDTM -> report).

The top of the flow: the only package that imports both ``oncotrial.sim`` and
``oncotrial.report``, so the stages below never import each other backwards. Names
load on first use so that the ``oncotrial`` command starts without the analysis stack.

>>> from oncotrial.jobs import ANALYZE_STEPS
>>> ANALYZE_STEPS[:2]
('read', 'adam')
"""

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "pipeline": ["ANALYZE_STEPS", "REPRODUCE_STEPS", "JobResult", "analyze", "reproduce"],
})
