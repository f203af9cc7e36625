"""The data monitoring committee's interim reports as self-contained HTML pages.

The closed report (by arm) shows the test statistic against the recalculated boundary,
conditional power and repeated confidence intervals, then the efficacy and safety results by arm;
the open report (pooled) shows only how far the information has come and the boundaries, which
are design quantities. Both are rendered from the JSON documents the interim job writes, so the
page and the file cannot disagree.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from oncotrial.analysis.pooled import PooledSummary
from oncotrial.analysis.results import TrialResults
from oncotrial.protocol import Protocol
from oncotrial.report.html import make_figures, render_page
from oncotrial.tlg import figures as F
from oncotrial.tlg import tables as T
from oncotrial.tlg.format import num


def _f(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{100 * x:.1f}%"


def _bound(x: Any) -> str:
    return "none" if x is None or (isinstance(x, float) and (not math.isfinite(x) or x <= -8)) else f"{x:.3f}"


def _table(df: pd.DataFrame, caption: str) -> dict[str, Any]:
    return {"kind": "table", "html": T.to_html(df, caption=caption)}


def _figure(fig, caption: str) -> dict[str, Any]:
    return {"kind": "figure", "src": F.png_base64(fig), "caption": caption}


def boundary_table(doc: Mapping[str, Any]) -> pd.DataFrame:
    """The recalculated boundaries of every look: information, events, Z and hazard-ratio boundaries."""
    rows = []
    last = len(doc["boundaries"])
    for b in doc["boundaries"]:
        # the design's last futility bound equals its critical value: there is no futility stop there
        futility = "-" if b["look"] == last else _bound(b["futility_bound"])
        rows.append({"Look": b["look"], "Information rate": _f(b["information_rate"]),
                     "Events": f"{b['events']:.0f}" + ("" if b["observed"] else " (planned)"),
                     "Efficacy boundary (Z)": _f(b["critical_value"]),
                     "Boundary (HR)": _f(b["critical_value_hr"]),
                     "Futility bound (Z)": futility,
                     "Cumulative alpha spent": f"{b['alpha_spent']:.5f}",
                     "Nominal level": f"{b['stage_level']:.5f}"})
    return pd.DataFrame(rows)


def stage_table(doc: Mapping[str, Any], arms: Mapping[str, str]) -> pd.DataFrame:
    """The closed report's looks: the data at each cut-off and the test against its boundary."""
    exp, ctl = doc["experimental"], doc["control"]
    rows = []
    for s in doc["stages"]:
        rows.append({"Look": s["look"], "Cut-off": s["cutoff"], "Patients": s["n_randomized"],
                     f"Events {arms.get(exp, exp)}": s["events_by_arm"].get(exp, 0),
                     f"Events {arms.get(ctl, ctl)}": s["events_by_arm"].get(ctl, 0),
                     "Information rate": _f(s["information_rate"]), "Z": _f(s["z"]),
                     "Boundary (Z)": _f(s["critical_value"]),
                     "HR (Cox)": f"{_f(s['hr'])} ({_f(s['hr_lower'])}-{_f(s['hr_upper'])})",
                     "Repeated CI (HR)": f"{_f(s['repeated_ci_lower'])}-{_f(s['repeated_ci_upper'])}",
                     "Repeated p": _f(s["repeated_p_value"], 4), "Action": s["test_action"]})
    return pd.DataFrame(rows)


def _closed_summary(doc: Mapping[str, Any]) -> str:
    s = doc["stages"][-1]
    cp = doc["conditional_power"]
    k, kmax = doc["look"], len(doc["boundaries"])
    parts = [f"Look {k} of {kmax}{' (final analysis)' if doc['final'] else ''} at the data cut-off "
             f"{s['cutoff']}: {s['events']} {doc['endpoint']} events of {doc['plan']['max_events']} planned "
             f"(information rate {_f(s['information_rate'])}).",
             f"The stratified log-rank Z is {_f(s['z'])} against an efficacy boundary of {_f(s['critical_value'])} "
             f"(hazard ratio {_f(s['critical_value_hr'])}); the test action is <b>{_html.escape(s['test_action'])}</b>."]
    if doc.get("overrun"):
        parts.append("The observed events reached the planned maximum: this look is the final analysis, "
                     "spending all the remaining alpha.")
    if cp["design_hr"] is not None:
        parts.append(f"Conditional power for the remaining {cp['remaining_events']:.0f} events: "
                     f"{_pct(cp['design_hr'])} under the design hazard ratio {doc['plan']['target_hr']:g}, "
                     f"{_pct(cp['observed_hr'])} under the observed one ({_f(s['hr_z'])}).")
    fin = doc.get("final_inference")
    if fin:
        parts.append(f"Final inference: p = {_f(fin['p_value'], 4)}, hazard ratio median-unbiased estimate "
                     f"{_f(fin['median_unbiased_estimate'])} ({_f(fin['ci_lower'])}-{_f(fin['ci_upper'])}).")
    return "".join(f"<p>{p}</p>" for p in parts)


def _open_summary(doc: Mapping[str, Any]) -> str:
    lk = doc["looks"][-1]
    nxt = next((b for b in doc["boundaries"] if not b["observed"]), None)
    parts = [f"Look {doc['look']} of {len(doc['boundaries'])} at the data cut-off {lk['cutoff']}: "
             f"{lk['n_randomized']} patients randomized, {lk['events']} {doc['endpoint']} events over both arms "
             f"of {doc['plan']['max_events']} planned (information rate {_f(lk['information_rate'])})."]
    if nxt is not None:
        parts.append(f"The next look is planned at {nxt['events']:.0f} events (information rate "
                     f"{_f(nxt['information_rate'])}).")
    parts.append("This report pools the arms: it shows no comparison, so it can go to the sponsor "
                 "without unblinding the trial's results.")
    return "".join(f"<p>{_html.escape(p)}</p>" for p in parts)


def render_interim(protocol: Protocol, doc: Mapping[str, Any], *, results: TrialResults | None = None,
                   pooled: PooledSummary | None = None, generated: str | None = None) -> str:
    """The closed (``doc["report"] == "closed"``, with ``results`` by arm) or open (with ``pooled``)
    interim report as one HTML page."""
    closed = doc["report"] == "closed"
    unit = protocol.analysis.time_unit
    plan = doc["plan"]
    design = (f"Monitoring plan: {len(doc['boundaries'])} looks at information rates "
              f"{', '.join(f'{x:g}' for x in plan['planned_information_rates'])} of {plan['max_events']} events; "
              f"{plan['alpha_spending']} alpha spending, overall alpha {plan['alpha']:g} "
              f"({plan['sided']}-sided). Boundaries are recalculated at the observed information.")
    boundary_fig = F.boundary_figure(
        doc["boundaries"], observed_z=[s["test_statistic"] for s in doc["stages"]] if closed else None,
        current_rate=None if closed else doc["looks"][-1]["information_rate"],
        title=f"{protocol.study.id}: {doc['endpoint']} monitoring boundaries")
    if closed:
        arms = {a.code: a.label for a in protocol.arms}
        sections: list[dict[str, Any]] = [
            {"id": "interim", "title": "Interim analysis (closed: by arm)", "intro": design,
             "html": _closed_summary(doc),
             "content": [_table(stage_table(doc, arms), "The primary endpoint at each look"),
                         _figure(boundary_fig, "Efficacy (and futility) boundaries on the Z scale and the "
                                               "observed stratified log-rank statistic."),
                         _table(boundary_table(doc), "Boundaries recalculated at the observed information")]}]
        if results is not None:
            figs = make_figures(results).figures
            eff = []
            for key, name in (("pfs", "Progression-free survival"), ("os", "Overall survival")):
                res = getattr(results, key)
                if res is not None:
                    eff.append(_table(T.time_to_event_table(res, results), name))
                    if f"km_{key}" in figs:
                        fig, cap = figs[f"km_{key}"]
                        eff.append(_figure(fig, cap))
            if eff:
                sections.append({"id": "efficacy", "title": "Efficacy by arm", "content": eff})
            if results.safety is not None:
                sections.append({"id": "safety", "title": "Safety by arm", "content": [
                    _table(T.safety_overview_table(results.safety, results), "Adverse events overview")]})
        title = f"{protocol.study.id}: interim analysis, closed report (confidential: data monitoring committee)"
    else:
        content = [_figure(boundary_fig, "Boundaries on the Z scale and the information reached (no statistic "
                                         "is shown: the open report compares no arms)."),
                   _table(boundary_table(doc), "Boundaries recalculated at the observed information")]
        if pooled is not None:
            frame = pooled.to_frame()
            if not frame.empty:
                frame = pd.DataFrame({"Endpoint": frame["label"], "Patients": frame["n"], "Events": frame["events"],
                                      f"Pooled median ({unit})": [
                                          f"{num(m)} ({num(lo)}-{num(hi)})" for m, lo, hi in
                                          zip(frame["median"], frame["median_lower"], frame["median_upper"])]})
                content.append(_table(frame, "Time-to-event endpoints pooled over arms"))
        sections = [{"id": "interim", "title": "Interim analysis (open: pooled)", "intro": design,
                     "html": _open_summary(doc), "content": content}]
        title = f"{protocol.study.id}: interim analysis, open report"
    cutoff = (doc["stages"] if closed else doc["looks"])[-1]["cutoff"]
    return render_page(protocol, sections, data_source=f"SDTM cut at {cutoff}", unit=unit,
                       generated=generated, title=title)
