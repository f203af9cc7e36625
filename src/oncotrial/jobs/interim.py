"""Monitoring the running trial: the interim analysis of the primary endpoint at a data cut-off.

At each look the data are cut at the look's cut-off (:func:`oncotrial.sdtm.cutoff.cut_at`), ADaM is
derived and the primary endpoint analysed as the protocol's plan says (stratified log-rank and
Cox); the observed events give the information fraction, and the protocol's monitoring plan
(``analysis.interim``) gives the boundary recalculated at that information
(:func:`oncotrial.design.interim.interim_analysis`). Two reports come out: the closed one (by arm,
for the data monitoring committee) and the open one (pooled, for the sponsor), each as HTML and
JSON. Nothing here prints.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from oncotrial.adam import adam_from_sdtm
from oncotrial.protocol import Protocol, load_protocol

Progress = Callable[[str], None]

INTERIM_STEPS = ("read", "looks", "boundaries", "closed", "open")


@dataclass(frozen=True)
class Look:
    """The primary endpoint at one look's cut-off, as the protocol's plan analyses it.

    ``z`` is on the monitoring scale: large values favour the experimental arm (minus the
    experimental arm's log-rank (O - E) / sqrt(V)).
    """

    cutoff: str
    n_randomized: int
    events: int
    events_by_arm: dict[str, int]
    z: float
    hr: float
    hr_lower: float
    hr_upper: float


@dataclass(frozen=True)
class InterimResult:
    """What an interim job computed and wrote: the looks, the boundary analysis and the files."""

    protocol: str
    endpoint: str
    looks: tuple[Look, ...]
    analysis: Any  # oncotrial.design.interim.InterimAnalysis
    closed: dict[str, Any]
    open: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def primary_endpoint(protocol: Protocol) -> str:
    """The primary time-to-event endpoint's id (e.g. ``PFS``): what the monitoring plan tests."""
    for e in protocol.endpoints:
        if e.role == "primary" and e.kind == "time_to_event":
            return e.id
    raise ValueError("endpoints: the interim analysis needs a primary time-to-event endpoint; the protocol has none")


def _check_cutoffs(cutoff: str, previous: Sequence[str]) -> list[str]:
    from oncotrial.sdtm.cutoff import cutoff_date

    days = []
    for name, value in [*(("--previous", c) for c in previous), ("--cutoff", cutoff)]:
        try:
            days.append(cutoff_date(value))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    for a, b in zip(days, days[1:]):
        if b <= a:
            raise ValueError(f"--previous: the looks' cut-offs must increase and come before --cutoff; "
                             f"{b.isoformat()} is not after {a.isoformat()}")
    return [d.isoformat() for d in days]


def _first_randomization(domains: Mapping[str, pd.DataFrame]) -> str | None:
    from oncotrial.sdtm.cutoff import randomizations

    ds = {str(k).upper(): v for k, v in domains.items()}.get("DS")
    if ds is None or ds.empty or "DSDECOD" not in ds.columns:
        return None
    rand = randomizations(ds)
    dates = pd.to_datetime(rand["DSSTDTC"], errors="coerce").dropna()
    return dates.min().date().isoformat() if len(dates) else None


def look_at(domains: Mapping[str, pd.DataFrame], protocol: Protocol, cutoff: str) -> tuple[Look, dict[str, pd.DataFrame]]:
    """The primary endpoint at ``cutoff`` from the whole trial's SDTM, and the ADaM it came from."""
    from oncotrial.analysis.plan import LABELS, tte_param
    from oncotrial.analysis.survival import analyze_time_to_event
    from oncotrial.sdtm.cutoff import cut_at

    endpoint = primary_endpoint(protocol)
    cut = cut_at(domains, cutoff)
    dm = cut.get("DM")
    if dm is None or dm.empty:
        first = _first_randomization(domains)
        raise ValueError(f"--cutoff {cutoff}: no patient was randomized by then" +
                         (f" (the first was on {first})" if first else " (the data hold no randomization)"))
    adam = adam_from_sdtm(cut, protocol)
    paramcd = tte_param(adam.get("adtte"), endpoint)
    if paramcd is None:
        raise ValueError(f"--cutoff {cutoff}: ADTTE holds no {endpoint} parameter to monitor")
    tte = analyze_time_to_event(adam["adsl"], adam["adtte"], protocol, paramcd, label=LABELS.get(endpoint, endpoint))
    if tte.events == 0:
        raise ValueError(f"--cutoff {cutoff}: no {endpoint} event by then ({tte.n} patients randomized); "
                         "a look needs events to measure information")
    look = Look(cutoff=cutoff, n_randomized=int(len(adam["adsl"])), events=int(tte.events),
                events_by_arm={a.arm: int(a.events) for a in tte.arms}, z=float(-tte.logrank_z),
                hr=float(tte.hr), hr_lower=float(tte.hr_lower), hr_upper=float(tte.hr_upper))
    return look, adam


def interim(protocol: Protocol | str | os.PathLike, out: str | os.PathLike, *,
            sdtm: str | os.PathLike | Mapping[str, pd.DataFrame], cutoff: str, previous: Sequence[str] = (),
            final: bool = False, closed: bool = True, progress: Progress | None = None,
            extra: Mapping[str, Any] | None = None) -> InterimResult:
    """The interim analysis at ``cutoff`` (looks before it at ``previous``) into ``out``.

    Writes ``interim_open.html`` / ``interim_open.json`` (pooled: information, boundaries, no arm)
    and, when ``closed``, ``interim_closed.html`` / ``interim_closed.json`` (by arm: the test
    statistic against the boundary, conditional power, repeated confidence intervals). ``final``
    makes this look the final analysis whatever its information.

    Example
    -------
    >>> interim("patina", "out/interim1", sdtm="out/sdtm", cutoff="2021-03-31")   # doctest: +SKIP
    """
    from oncotrial.design.from_protocol import monitoring_design, planned_max_events
    from oncotrial.design.interim import interim_analysis

    step = progress or (lambda _n: None)
    p = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    cutoffs = _check_cutoffs(cutoff, previous)
    sd = monitoring_design(p)
    max_events = planned_max_events(p, sd)
    if len(cutoffs) > sd.design.k_max:
        raise ValueError(f"--previous: look {len(cutoffs)} asked for, the monitoring plan has {sd.design.k_max} looks "
                         "(analysis.interim.information_rates)")
    step("read")
    if not isinstance(sdtm, Mapping):
        from oncotrial.sdtm import read_sdtm

        sdtm = read_sdtm(sdtm)
    step("looks")
    looks, adam = [], {}
    for c in cutoffs:
        look, adam = look_at(sdtm, p, c)
        looks.append(look)
    for a, b in zip(looks, looks[1:]):
        if b.events <= a.events:
            raise ValueError(f"--cutoff {b.cutoff}: {b.events} events, no more than at the look of {a.cutoff} "
                             f"({a.events}); a later look needs new events")
    step("boundaries")
    ia = interim_analysis(sd.design, events=[lk.events for lk in looks], z=[lk.z for lk in looks],
                          max_events=max_events, hazard_ratio_h1=p.analysis.target_hr,
                          allocation_ratio=sd.allocation_ratio, final=final)
    closed_doc = _closed_document(p, looks, ia, max_events)
    open_doc = _open_document(p, looks, ia, max_events)
    closed_doc.update(extra or {})
    open_doc.update(extra or {})
    # everything is computed and rendered before the first file is written, so a failure leaves
    # no half-written report behind
    from oncotrial.analysis.pooled import pooled_summary
    from oncotrial.report.interim import render_interim

    pages: dict[str, tuple[str, str]] = {}
    step("closed")
    if closed:
        from oncotrial.analysis import run_analysis

        results = run_analysis(adam, p)
        pages["closed"] = (_dumps(closed_doc), render_interim(p, closed_doc, results=results))
    step("open")
    pooled = pooled_summary(adam, p)
    open_doc["pooled"] = pooled.to_dict()
    pages["open"] = (_dumps(open_doc), render_interim(p, open_doc, pooled=pooled))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, (doc_text, page) in pages.items():
        paths[f"{name}_json"] = out / f"interim_{name}.json"
        paths[f"{name}_json"].write_text(doc_text, encoding="utf-8")
        paths[f"{name}_html"] = out / f"interim_{name}.html"
        paths[f"{name}_html"].write_text(page, encoding="utf-8")
    return InterimResult(p.study.id, primary_endpoint(p), tuple(looks), ia,
                         closed_doc if closed else {}, open_doc, paths)


def _plan(p: Protocol, ia: Any, max_events: int) -> dict[str, Any]:
    g = ia.design
    return {"max_events": max_events, "alpha": g.alpha, "sided": g.sided, "alpha_spending": g.alpha_spending,
            "beta_spending": g.beta_spending, "binding_futility": g.binding_futility,
            "planned_information_rates": list(p.analysis.interim.information_rates),
            "target_hr": p.analysis.target_hr}


def _boundaries(ia: Any) -> list[dict[str, Any]]:
    """The recalculated boundaries of every look (design quantities: no data in them)."""
    g = ia.design
    rows = []
    for k in range(g.k_max):
        rows.append({"look": k + 1, "information_rate": g.information_rates[k], "events": ia.planned_events[k],
                     "critical_value": g.critical_values[k], "critical_value_hr": ia.critical_values_hr[k],
                     "futility_bound": g.futility_bounds[k], "alpha_spent": g.alpha_spent[k],
                     "stage_level": g.stage_levels[k], "observed": k < ia.look})
    return rows


def _number(x: Any) -> float | None:
    return None if x is None else float(x)


def _closed_document(p: Protocol, looks: Sequence[Look], ia: Any, max_events: int) -> dict[str, Any]:
    g = ia.design
    stages = []
    for k, lk in enumerate(looks):
        stages.append({**asdict(lk), "look": k + 1, "information_rate": g.information_rates[k],
                       "critical_value": g.critical_values[k], "critical_value_hr": ia.critical_values_hr[k],
                       "futility_bound": g.futility_bounds[k], "test_statistic": ia.test_statistics[k],
                       "hr_z": ia.hazard_ratio[k],
                       "test_action": ia.test_actions[k], "overall_p_value": ia.overall_p_values[k],
                       "conditional_rejection_probability": ia.conditional_rejection_probabilities[k],
                       "repeated_ci_lower": ia.repeated_ci_lower[k], "repeated_ci_upper": ia.repeated_ci_upper[k],
                       "repeated_p_value": ia.repeated_p_values[k]})
    remaining = max(0.0, max_events - looks[-1].events) if ia.look < g.k_max else 0.0
    final = None
    if ia.final_p_value is not None:
        final = {"p_value": ia.final_p_value, "ci_lower": ia.final_ci[0], "ci_upper": ia.final_ci[1],
                 "median_unbiased_estimate": ia.median_unbiased_estimate}
    return {"report": "closed", "study": p.study.id, "endpoint": primary_endpoint(p),
            "experimental": p.experimental_arm, "control": p.control_arm, "look": ia.look,
            "final": ia.look == g.k_max, "overrun": bool(ia.overrun), "plan": _plan(p, ia, max_events),
            "stages": stages, "boundaries": _boundaries(ia),
            "conditional_power": {"remaining_events": remaining,
                                  "design_hr": _number(ia.conditional_power_design),
                                  "observed_hr": _number(ia.conditional_power_observed)},
            "final_inference": final, "analysis": ia.to_dict()}


def _open_document(p: Protocol, looks: Sequence[Look], ia: Any, max_events: int) -> dict[str, Any]:
    return {"report": "open", "study": p.study.id, "endpoint": primary_endpoint(p), "look": ia.look,
            "final": ia.look == ia.design.k_max, "overrun": bool(ia.overrun), "plan": _plan(p, ia, max_events),
            "looks": [{"cutoff": lk.cutoff, "n_randomized": lk.n_randomized, "events": lk.events,
                       "information_rate": ia.design.information_rates[i]} for i, lk in enumerate(looks)],
            "boundaries": _boundaries(ia)}


def _dumps(doc: Mapping[str, Any]) -> str:
    """JSON with non-finite numbers (no futility bound, an inestimable HR) as null, as JSON has no NaN."""
    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, Mapping):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(doc), indent=2, default=str) + "\n"


def interim_database(db: str, out: str | os.PathLike, *, cutoff: str | None = None, previous: Sequence[str] = (),
                     final: bool = False, closed_reason: str | None = None, user: str | None = None,
                     password: str | None = None, progress: Progress | None = None) -> InterimResult:
    """The interim analysis of the trial in database ``db`` at ``cutoff`` (default: the database lock's
    cut-off). The open report is always written. The closed one only with ``closed_reason``, and
    only for an active account of the unblinded statistician's role (``user``, ``password``, as the
    service's log-in checks them); the request is put on the trial's audit chain (who, why, which
    cut-off) before anything is computed.

    Example
    -------
    >>> interim_database("trial.db", "out/dmc1", cutoff="2021-03-31", closed_reason="DMC meeting 1",
    ...                  user="stat", password="...")  # doctest: +SKIP
    """
    from oncotrial.irt.config import UNBLINDED_ROLES
    from oncotrial.irt.services.sessions import authenticate

    from oncotrial.irt.config import normalize_db_url
    from oncotrial.irt.db.engine import make_engine, read_tx
    from oncotrial.irt.services.edc_export import export_sdtm_at
    from oncotrial.irt.services.subjects import stored_protocol
    from oncotrial.irt.services.trial import load_trial
    from oncotrial.irt.services.unblinding import record_unblinded_analysis

    step = progress or (lambda _n: None)
    if closed_reason is not None and not closed_reason.strip():
        raise ValueError("--closed: give the reason for the closed report (e.g. the DMC meeting)")
    if closed_reason is not None and not (user and password):
        raise ValueError("--user: the closed report needs the unblinded statistician's account and its password")
    engine = make_engine(normalize_db_url(db))
    try:
        actor = None
        if closed_reason is not None:
            account = authenticate(engine, user, password)
            if account is None:
                raise ValueError(f"--user: no active account {user!r} with that password")
            if account.role not in UNBLINDED_ROLES:
                raise ValueError(f"--user: {user} is a {account.role}; only the unblinded statistician's role "
                                 f"({', '.join(UNBLINDED_ROLES)}) may produce the closed report")
            actor = f"{account.name} ({account.role})"
        with read_tx(engine) as conn:
            trial = load_trial(conn)
            protocol = stored_protocol(conn)
            domains, info = export_sdtm_at(conn, trial, cutoff=cutoff)
        if info["cutoff"] is None:
            raise ValueError("--cutoff: required, as the database is neither frozen nor locked at a cut-off")
        _check_cutoffs(info["cutoff"], previous)
        if actor is not None:
            record_unblinded_analysis(engine, actor=actor, reason=closed_reason, cutoff=info["cutoff"])
    finally:
        engine.dispose()
    extra = {"database": {"cutoff": info["cutoff"], "cutoff_from": info["cutoff_from"], "state": info["database"]}}
    return interim(protocol, out, sdtm=domains, cutoff=info["cutoff"], previous=previous, final=final,
                   closed=closed_reason is not None, progress=lambda n: None if n == "read" else step(n), extra=extra)
