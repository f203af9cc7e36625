"""Assembling the self-contained HTML report: tables and base64 PNG figures in one page, CSS inline."""

from __future__ import annotations

import datetime as dt
import html as _html
import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

import jinja2
import pandas as pd
from matplotlib.figure import Figure

from oncotrial.analysis.compare import Comparison
from oncotrial.analysis.results import TrialResults
from oncotrial.protocol import Protocol
from oncotrial.tlg import figures as F
from oncotrial.tlg import tables as T
from oncotrial.tlg.sections import reported


@dataclass(frozen=True)
class ReportFigures:
    """The report's figures by file stem (``km_pfs``, ``forest_pfs``...), as matplotlib Figures."""

    figures: dict[str, tuple[Figure, str]] = field(default_factory=dict)  # stem -> (figure, caption)
    _png: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def png(self, stem: str) -> bytes:
        """The figure as PNG, drawn once: the report's files and its page embed the same bytes."""
        if stem not in self._png:
            self._png[stem] = F.png_bytes(self.figures[stem][0])
        return self._png[stem]

    def data_uri(self, stem: str) -> str:
        return F.png_data_uri(self.png(stem))


def make_figures(results: TrialResults, adam: Mapping[str, pd.DataFrame] | None = None) -> ReportFigures:
    """Every figure the report shows, built once so the PNG files and the page use the same ones.
    ``adam`` adds the figures drawn from the data themselves (the waterfall plot from ADTR)."""
    out: dict[str, tuple[Figure, str]] = {"consort": (F.consort_figure(results), "Patient flow (CONSORT-style).")}
    for key in ("pfs", "os", "dor"):
        res = getattr(results, key)
        if res is not None:
            # The endpoint's name as the protocol gives it (run_analysis labels the result with it).
            out[f"km_{key}"] = (F.km_figure(res, results, title=res.label),
                                f"Kaplan-Meier estimates of {res.label.lower()} with numbers at risk.")
    if results.subgroups is not None and results.subgroups.rows and not _k_arms(results):
        out["forest_pfs"] = (F.forest_figure(results),
                             "Hazard ratio for progression or death in subgroups (unstratified Cox).")
    elif _k_arms(results):
        for e, sg in results.subgroups_by_comparison.items():
            if sg.rows:
                out[_forest_stem(e)] = (F.forest_figure(results, e),
                                        f"Hazard ratio for {_event_words(results)} in subgroups (unstratified Cox): "
                                        f"{results.arms[e]} vs {results.arms[sg.control]}.")
    adtr = (adam or {}).get("adtr")
    if adtr is not None and ((adtr["PARAMCD"] == "BPCHG") & adtr["AVAL"].notna()).any():
        out["waterfall"] = (F.waterfall_figure(adtr, results),
                            "Best percent change from baseline in the sum of target-lesion diameters (RECIST 1.1), "
                            "one bar per patient with target lesions and a measured assessment.")
        out["spider"] = (F.spider_figure(adtr, results),
                         "Change from baseline in the sum of target-lesion diameters over time, one line per patient.")
    return ReportFigures(out)


def _k_arms(results: TrialResults) -> bool:
    """Three or more arms: one comparison per experimental arm, no single experimental arm."""
    return len(T.arm_columns(results)) > 2


def _forest_stem(experimental: str) -> str:
    return f"forest_pfs_{re.sub(r'[^a-z0-9]+', '_', experimental.lower())}"


def _event_words(results: TrialResults) -> str:
    label = results.pfs.label if results.pfs is not None else "progression-free survival"
    return "progression or death" if label == "Progression-free survival" else f"an event of {label.lower()}"


def _markdown_to_html(md: str) -> str:
    """The summary's small Markdown subset (headings, paragraphs) as HTML."""
    out = []
    for block in md.strip().split("\n\n"):
        m = re.match(r"^(#+)\s+(.*)$", block)
        if m:
            level = min(len(m.group(1)) + 1, 4)
            out.append(f"<h{level}>{_html.escape(m.group(2))}</h{level}>")
        else:
            out.append(f"<p>{_html.escape(block)}</p>")
    return "\n".join(out)


def render_report(results: TrialResults, protocol: Protocol, *, summary_md: str,
                  comparisons: list[Comparison] | None = None, figures: ReportFigures | None = None,
                  data_source: str = "", generated: str | None = None) -> str:
    """The report as one HTML string: no external requests (images are data URIs, CSS inline)."""
    results = reported(results, protocol)
    figs = figures or make_figures(results)
    img = {k: (figs.data_uri(k), cap) for k, (_f, cap) in figs.figures.items()}

    def fig_item(stem: str) -> list[dict[str, Any]]:
        return [{"kind": "figure", "src": img[stem][0], "caption": img[stem][1]}] if stem in img else []

    def table(df, caption: str, classes: str = "tbl") -> dict[str, Any]:
        return {"kind": "table", "html": T.to_html(df, caption=caption, classes=classes)}

    sections: list[dict[str, Any]] = [
        {"id": "summary", "title": "Results summary", "html": _markdown_to_html(summary_md), "content": []},
        {"id": "flow", "title": "Patient flow", "content": fig_item("consort") + [
            table(T.flow_table(results), "Patients at each stage, by arm")]},
    ]
    if results.baseline is not None:
        sections.append({"id": "baseline", "title": "Baseline characteristics",
                         "content": [table(T.baseline_frame(results.baseline, results),
                                         "Baseline characteristics (intention-to-treat population)")]})
    eff = []
    for key in ("pfs", "os"):
        res = getattr(results, key)
        if res is not None:
            eff += [table(T.time_to_event_table(res, results), res.label)]
            eff += fig_item(f"km_{key}")
    if eff:
        sections.append({"id": "efficacy", "title": "Efficacy: time to event",
                         "intro": f"Median follow-up (reverse Kaplan-Meier): {T.num(results.median_followup)} "
                                  f"{results.unit} ({100 * results.conf_level:g}% CI "
                                  f"{T.interval(results.median_followup_lower, results.median_followup_upper)}).",
                         "content": eff})
    analyses = T.subgroup_analyses(results)
    if any(sg.rows for sg in analyses.values()):
        missing = next(iter(analyses.values())).unavailable
        forests = (sum((fig_item(_forest_stem(e)) for e in analyses), []) if _k_arms(results)
                   else fig_item("forest_pfs"))
        sections.append({"id": "subgroups", "title": "Subgroup analysis",
                         "intro": ("Not shown, as the data hold no variable for them: " + ", ".join(missing) + ".")
                         if missing else "",
                         "content": forests + [table(T.subgroup_table(results), f"{results.pfs.label}: hazard ratio by subgroup"
                                                     if _k_arms(results) else "PFS hazard ratio by subgroup")]})
    resp = []
    for key, name in (("orr", "Confirmed objective response"), ("cbr", "Clinical benefit")):
        res = getattr(results, key)
        if res is not None:
            resp.append(table(T.binary_table(res, results), f"{name} ({res.population})"))
    if results.dor is not None:
        resp += [table(T.time_to_event_table(results.dor, results), "Duration of confirmed response (responders)")]
        resp += fig_item("km_dor")
    resp += fig_item("waterfall") + fig_item("spider")
    if resp:
        sections.append({"id": "response", "title": "Response", "content": resp})
    if results.safety is not None:
        sections.append({"id": "safety", "title": "Safety", "intro": "Treatment-emergent adverse events in the safety "
                         "population; each patient counts once per row, at the worst grade.",
                         "content": [table(T.safety_overview_table(results.safety, results), "Adverse events overview"),
                                   table(T.safety_term_table(results.safety, results),
                                         "Adverse events by preferred term (any grade in at least 10% of an arm)")]})
    for i, cmp in enumerate(comparisons or []):
        sections.append({"id": f"published{i}", "title": f"Published vs reproduced: {cmp.label or cmp.source}",
                         "intro": f"Source: {cmp.source}. Every figure the source reports, beside the same figure "
                                  f"computed here.",
                         "content": [table(T.comparison_table(cmp, results), "Published and reproduced figures",
                                         classes="tbl cmp")]})
    return render_page(protocol, sections, data_source=data_source or "ADaM", unit=results.unit, generated=generated)


def render_page(protocol: Protocol, sections: list[dict[str, Any]], *, data_source: str, unit: str,
                generated: str | None = None, title: str = "") -> str:
    """One self-contained page of ``sections`` (each an id, a title, an optional intro or HTML
    summary, and figure / table / heading items) under the protocol's title."""
    from oncotrial import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("oncotrial.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        title=title or f"{protocol.study.id}: {protocol.study.title}",
        subtitle=f"{protocol.study.design}, {protocol.study.masking}; " + ", ".join(protocol.study.registry_ids),
        version=__version__, generated=generated or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        data_source=data_source, unit=unit, sections=sections)
