"""Which results a report shows: the endpoints the protocol names, not every one the data happen to allow."""

from __future__ import annotations

import dataclasses

from oncotrial.analysis.results import TrialResults
from oncotrial.protocol import Protocol

# TrialResults field -> the protocol endpoint id that asks for it.
_ENDPOINT_OF = {"os": "OS", "dor": "DOR", "orr": "ORR", "cbr": "CBR"}
# Flow stages that exist only for the response analysis (analysis.plan._flow adds them with ORR).
_RESPONSE_STAGES = ("Analysed for ORR", "Confirmed responders (DoR)")


def reported(results: TrialResults, protocol: Protocol) -> TrialResults:
    """``results`` without the sections the protocol does not plan: an OS, DoR, ORR or CBR result
    whose endpoint id is not among ``protocol.endpoints``, and safety without an endpoint of kind
    "safety" (a reconstruction may simulate response and adverse events the trial never reported).
    A protocol that lists no endpoints keeps everything; PFS, the primary analysis, always stays.

    Example
    -------
    >>> reported(results, load_protocol("colon")).orr is None   # doctest: +SKIP
    True
    """
    if not protocol.endpoints:
        return results
    ids = {e.id for e in protocol.endpoints}
    drop = {key: None for key, ep in _ENDPOINT_OF.items() if ep not in ids and getattr(results, key) is not None}
    if results.safety is not None and not any(e.kind == "safety" for e in protocol.endpoints):
        drop["safety"] = None
    if not drop:
        return results
    if "orr" in drop:
        drop["flow"] = tuple(s for s in results.flow if s.stage not in _RESPONSE_STAGES)
    return dataclasses.replace(results, **drop)
