"""Writing an analysis to a folder: report.html, results.json, summary.md, figures/*.png, adam/*.csv|.xpt."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from oncotrial.analysis.compare import Comparison, compare_published
from oncotrial.analysis.results import TrialResults, jsonable
from oncotrial.protocol import Protocol
from oncotrial.report.html import make_figures, render_report
from oncotrial.tlg.sections import reported
from oncotrial.tlg.summary import results_summary

ADAM_FILES = ("adsl", "adtte", "adrs", "adae", "adex")


def comparisons_for(results: TrialResults, protocol: Protocol) -> list[Comparison]:
    """Published-vs-reproduced tables for the protocol's ``published`` block (none without one)."""
    return [compare_published(results, protocol.published, protocol)] if protocol.published is not None else []


def read_adam(directory: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """ADaM datasets from a folder of ``adsl.csv``, ``adtte.csv``... (CSV; ``.xpt`` when no CSV).

    Date columns stay text; the analyses use AVAL/CNSR and flags, not dates.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"--adam: {d} is not a folder")
    out = {}
    for name in ADAM_FILES:
        csv, xpt = d / f"{name}.csv", d / f"{name}.xpt"
        if csv.is_file():
            out[name] = pd.read_csv(csv, keep_default_na=False, na_values=["", "NA"], low_memory=False)
        elif xpt.is_file():
            import pyreadstat

            out[name] = pyreadstat.read_xport(str(xpt))[0]
    if "adsl" not in out or "adtte" not in out:
        raise ValueError(f"--adam: {d} must hold adsl.csv and adtte.csv (or .xpt); found {sorted(out)}")
    return out


def write_adam(adam: Mapping[str, pd.DataFrame], directory: Path, *, xpt: bool = True) -> list[Path]:
    """Each ADaM dataset as CSV (and SAS XPORT v5 where its names fit)."""
    from oncotrial.sdtm import write_domain

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in adam.items():
        if df is None:
            continue
        written.append(write_domain(df, directory / f"{name}.csv", domain=name.upper(), validate=False))
        if xpt:
            written.append(write_domain(df, directory / f"{name}.xpt", domain=name.upper(), validate=False))
    for p in written:
        p.chmod(0o644)  # written via private temporary files; the outputs are for everyone to read
    return written


def write_outputs(results: TrialResults, protocol: Protocol, out: str | os.PathLike, *,
                  adam: Mapping[str, pd.DataFrame] | None = None, data_source: str = "",
                  extra: Mapping[str, object] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Write every output of an analysis into ``out``.

    Everything is first written to a temporary folder beside ``out`` and moved
    into place at the end, so a failure leaves no half-written report.
    ``extra`` is added to results.json under "run" (e.g. seed, timings).
    """
    step = progress or (lambda _n: None)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        step("figures")
        shown = reported(results, protocol)
        # Tumour-response figures belong to a planned response analysis, not to any data with lesions.
        fig_adam = adam if adam is None or shown.orr is not None or shown.cbr is not None else \
            {k: v for k, v in adam.items() if k != "adtr"}
        figs = make_figures(shown, fig_adam)
        (tmp / "figures").mkdir()
        for stem in figs.figures:
            (tmp / "figures" / f"{stem}.png").write_bytes(figs.png(stem))
        comparisons = comparisons_for(results, protocol)
        step("summary")
        summary = results_summary(results, protocol)
        (tmp / "summary.md").write_text(summary, encoding="utf-8")
        step("report")
        (tmp / "report.html").write_text(
            render_report(results, protocol, summary_md=summary, comparisons=comparisons, figures=figs,
                          data_source=data_source), encoding="utf-8")
        doc = {"protocol": protocol.study.id, "results": results.to_dict(),
               "published_vs_reproduced": [c.to_dict() for c in comparisons], "run": jsonable(dict(extra or {}))}
        (tmp / "results.json").write_text(json.dumps(doc, indent=2, allow_nan=False), encoding="utf-8")
        if adam is not None:
            step("adam")
            write_adam(adam, tmp / "adam")
        for item in ("report.html", "results.json", "summary.md", "figures", "adam"):
            target = out / item
            if (tmp / item).exists() and target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
        out.mkdir(parents=True, exist_ok=True)
        for item in tmp.iterdir():
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"report": out / "report.html", "results": out / "results.json", "summary": out / "summary.md",
            "figures": out / "figures", "adam": out / "adam"}
