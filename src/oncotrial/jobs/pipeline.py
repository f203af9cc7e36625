"""The analyze and reproduce jobs: SDTM (or ADaM) -> ADaM -> results -> output folder.

They compose the stages (sim -> sdtm -> adam -> analysis -> report); this is the only
layer that imports both sim and report. Steps report progress through an optional
callback so the CLI can draw a bar; nothing here prints.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from oncotrial.adam import adam_from_sdtm
from oncotrial.analysis import TrialResults, run_analysis
from oncotrial.protocol import Protocol, load_protocol
from oncotrial.report.outputs import read_adam, write_outputs

Progress = Callable[[str], None]

# Steps of each job, in order: the CLI sizes its progress bar from these.
ANALYZE_STEPS = ("read", "adam", "PFS", "OS", "DOR", "follow-up", "response", "safety", "baseline", "subgroups",
                 "figures", "summary", "report", "adam")
REPRODUCE_STEPS = ("reconstruct", "sdtm", *ANALYZE_STEPS[1:])


@dataclass(frozen=True)
class JobResult:
    """What a job produced: the results, the output paths and how long each stage took (seconds)."""

    results: TrialResults
    paths: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)


def analyze(protocol: Protocol | str | os.PathLike, out: str | os.PathLike, *,
            sdtm: str | os.PathLike | Mapping[str, pd.DataFrame] | None = None,
            adam: str | os.PathLike | Mapping[str, pd.DataFrame] | None = None,
            progress: Progress | None = None, extra: Mapping[str, object] | None = None) -> JobResult:
    """Analyse a trial from SDTM (a folder or dict of domains) or ADaM and write every output into ``out``.

    Example
    -------
    >>> analyze("patina", "out", sdtm="out/sdtm")   # doctest: +SKIP
    """
    step = progress or (lambda _n: None)
    if (sdtm is None) == (adam is None):
        raise ValueError("give exactly one of sdtm (SDTM folder) or adam (ADaM folder)")
    p = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("read")
    if sdtm is not None:
        from oncotrial.sdtm import read_sdtm

        domains = read_sdtm(sdtm) if not isinstance(sdtm, Mapping) else sdtm
        step("adam")
        data = adam_from_sdtm(domains, p)
        source = f"SDTM {sdtm}" if not isinstance(sdtm, Mapping) else "SDTM"
    else:
        data = read_adam(adam) if not isinstance(adam, Mapping) else dict(adam)
        step("adam")
        source = f"ADaM {adam}" if not isinstance(adam, Mapping) else "ADaM"
    timings["adam"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    results = run_analysis(data, p, progress=step)
    timings["analysis"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    run = dict(extra or {})
    run["timings_seconds"] = timings
    paths = write_outputs(results, p, out, adam=data if sdtm is not None else None, data_source=source,
                          extra=run, progress=step)
    timings["outputs"] = time.perf_counter() - t2
    return JobResult(results, paths, timings)


def reproduce(protocol: Protocol | str | os.PathLike, out: str | os.PathLike, *, seed: int = 0,
              progress: Progress | None = None) -> JobResult:
    """Reconstruct a trial from its protocol's published results, then analyse it into ``out``.

    The reconstructed SDTM is written to ``out/sdtm`` (CSV) so that the analysis
    can be rerun from it with ``oncotrial analyze``.
    """
    from oncotrial.sdtm import write_sdtm
    from oncotrial.sim.reconstruction import reconstruct

    step = progress or (lambda _n: None)
    p = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    if p.published is None:
        raise ValueError(f"{p.study.id}: the protocol has no published block to reconstruct from")
    t0 = time.perf_counter()
    step("reconstruct")
    rec = reconstruct(p, seed=seed)
    t_rec = time.perf_counter() - t0
    step("sdtm")
    out = Path(out)
    write_sdtm(rec.sdtm, out / "sdtm", formats=("csv",))
    job = analyze(p, out, sdtm=rec.sdtm, progress=lambda n: None if n == "read" else step(n),
                  extra={"seed": seed, "reconstruction_seconds": t_rec})
    timings = {"reconstruct": t_rec, **job.timings}
    return JobResult(job.results, {**job.paths, "sdtm": out / "sdtm"}, timings)
