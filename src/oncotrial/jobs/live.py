"""The analysis plan run on the live database: export the casebooks at the data cut-off, derive
ADaM, analyse, report.

An open-label trial is analysed by arm. A masked trial is analysed pooled over arms (the blinded
review, :func:`oncotrial.analysis.pooled.pooled_summary`) unless the caller unblinds the analysis
with a reason, which is recorded on the trial's audit chain before anything is computed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oncotrial.jobs.pipeline import JobResult, Progress, analyze


@dataclass(frozen=True)
class BlindedResult:
    """What the blinded (pooled) analysis of a masked trial wrote."""

    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def analyze_database(db: str, out: str | os.PathLike, *, cutoff: str | None = None, unblind_reason: str | None = None,
                     actor: str = "cli", progress: Progress | None = None) -> JobResult | BlindedResult:
    """Analyse the trial in database ``db`` at ``cutoff`` (default: the database lock's cut-off) into ``out``.

    Example
    -------
    >>> analyze_database("trial.db", "out/primary", cutoff="2023-06-30")   # doctest: +SKIP
    """
    from oncotrial.adam import adam_from_sdtm
    from oncotrial.analysis.pooled import pooled_summary
    from oncotrial.irt.config import normalize_db_url
    from oncotrial.irt.db.engine import make_engine, read_tx
    from oncotrial.irt.services.edc_export import export_sdtm_at
    from oncotrial.irt.services.subjects import stored_protocol
    from oncotrial.irt.services.trial import load_trial
    from oncotrial.irt.services.unblinding import record_unblinded_analysis

    step = progress or (lambda _n: None)
    step("read")
    engine = make_engine(normalize_db_url(db))
    try:
        with read_tx(engine) as conn:
            trial = load_trial(conn)
            protocol = stored_protocol(conn)
            domains, info = export_sdtm_at(conn, trial, cutoff=cutoff)
        if trial.masked and unblind_reason is not None:
            record_unblinded_analysis(engine, actor=actor, reason=unblind_reason, cutoff=info["cutoff"])
    finally:
        engine.dispose()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    extra = {"database": {"cutoff": info["cutoff"], "cutoff_from": info["cutoff_from"], "state": info["database"]}}
    if not trial.masked or unblind_reason is not None:
        return analyze(protocol, out, sdtm=domains, progress=lambda n: None if n == "read" else step(n), extra=extra)
    step("adam")  # no SDTM is written: its DM and EX would name each patient's treatment
    summary = {**pooled_summary(adam_from_sdtm(domains, protocol), protocol).to_dict(), **extra}
    path = out / "results_blinded.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return BlindedResult(summary, {"results": path})
