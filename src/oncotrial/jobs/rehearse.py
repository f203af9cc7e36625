"""The rehearsal: a whole trial run through the service's API, the simulator playing every site.

:func:`rehearse` simulates the trial (the reconstruction of the published trial when the protocol
has one, else a simulated trial), makes a rehearsal database holding the simulation's allocation
list, starts ``oncotrial serve`` on it and then, over HTTP only: randomizes every patient in
calendar order at their site; enters every eCRF entry the simulated SDTM implies
(:func:`oncotrial.collect.sdtm_to_casebooks`) from ``clients`` concurrent site clients, each
subject's entries in calendar order; makes realistic entry errors the edit checks catch (a value
out of range, a required value missing, an end before its start) and corrects each through its
query; lets the monitors verify what the SDV plan asks; and has the data manager lock the database
at the data cut-off. It then exports SDTM from the database and runs the analysis plan on it.

The analysis of the exported SDTM equals the analysis of the simulator's own SDTM: the database
holds what the simulator meant, nothing lost or bent on the way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.collect import Casebook, run_edit_checks, sdtm_to_casebooks
from oncotrial.collect.from_sdtm import unmapped_summary
from oncotrial.collect.records import FormRecord
from oncotrial.protocol import Protocol, load_protocol

Progress = Callable[[str], None]
REHEARSE_STEPS = ("simulate", "set up", "randomize", "enter", "queries", "verify", "lock", "export", "analyze")


@dataclass(frozen=True)
class RehearsalResult:
    """What a rehearsal did (``summary``, as written to rehearsal.json) and the paths it wrote."""

    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.summary)


def _simulate(protocol: Protocol, seed: int) -> tuple[dict[str, pd.DataFrame], dt.date, str]:
    if protocol.published is not None:
        from oncotrial.sim import reconstruct

        rec = reconstruct(protocol, seed)
        return rec.sdtm, rec.data_cutoff, "reconstruction of the published trial"
    from oncotrial.sim import simulate_trial

    t = simulate_trial(protocol, seed)
    return t.sdtm, t.data_cutoff, "simulated trial"


def _first_subjects(sdtm: Mapping[str, pd.DataFrame], n: int | None) -> dict[str, pd.DataFrame]:
    """The domains restricted to the first ``n`` subjects randomized (all when ``n`` is None)."""
    if n is None:
        return dict(sdtm)
    if n < 1:
        raise ValueError(f"patients: expected an integer >= 1, got {n}")
    keep = set(_randomizations(sdtm)["USUBJID"].head(n))
    return {k: v[v["USUBJID"].astype(str).isin(keep)].reset_index(drop=True) if "USUBJID" in v.columns else v
            for k, v in sdtm.items()}


def _randomizations(sdtm: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per subject in randomization order: USUBJID, SUBJID, SITEID, COUNTRY, ARMCD, RANDDT, STRATwR."""
    dm = sdtm["DM"][["USUBJID", "SITEID", "COUNTRY", "ARMCD"]].astype(str).copy()
    dm["_order"] = range(len(dm))
    ds = sdtm["DS"]
    rand = ds[ds["DSDECOD"].astype(str) == "RANDOMIZED"][["USUBJID", "DSSTDTC"]].astype(str)
    dm = dm.merge(rand.rename(columns={"DSSTDTC": "RANDDT"}), on="USUBJID", how="left")
    supp = sdtm.get("SUPPDM")
    if supp is not None:
        strata = supp[supp["QNAM"].astype(str).str.fullmatch(r"STRAT\d+R")]
        wide = strata.pivot_table(index="USUBJID", columns="QNAM", values="QVAL", aggfunc="first")
        dm = dm.merge(wide.reset_index(), on="USUBJID", how="left")
    if dm["RANDDT"].isna().any():
        raise ValueError(f"DS: no RANDOMIZED record for {dm.loc[dm['RANDDT'].isna(), 'USUBJID'].iloc[0]}")
    return dm.sort_values(["RANDDT", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _subject_id(study_id: str, usubjid: str) -> str:
    prefix = f"{study_id}-"
    return usubjid[len(prefix):] if usubjid.startswith(prefix) else usubjid


def _strata(protocol: Protocol, row: Mapping[str, Any]) -> dict[str, str]:
    names = protocol.randomization.stratify_by or [f.name for f in protocol.stratification_factors]
    return {name: str(row[f"STRAT{i}R"]) for i, name in enumerate(names, start=1)}


def _allocation(protocol: Protocol, rand: pd.DataFrame, seed: int):  # noqa: ANN202
    """The simulation's assignments as the rehearsal database's list: per stratum, in randomization order."""
    from oncotrial.randomization import AllocationList, AllocationRow, stratum_key

    names = protocol.randomization.stratify_by or [f.name for f in protocol.stratification_factors]
    seq: dict[str, int] = defaultdict(int)
    rows = []
    for r in rand.to_dict("records"):
        key = stratum_key(_strata(protocol, r), names)
        seq[key] += 1
        rows.append(AllocationRow(key, seq[key], 0, 0, r["ARMCD"]))
    return AllocationList(tuple(rows), seed=seed, method=protocol.randomization.method,
                          arms=tuple(protocol.arm_codes), ratio=tuple(a.ratio for a in protocol.arms),
                          block_sizes=tuple(protocol.randomization.block_sizes or ()), factors=tuple(names))


def _record_date(r: FormRecord) -> str:
    dates = [str(v) for v in r.values.values() if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-"]
    return min(dates) if dates else ""


class _Errors:
    """Realistic entry errors the protocol's edit checks catch, drawn with a fixed seed.

    Each error is one of: a number above its field's maximum, a required value left out, an end
    date before its start, and only one the protocol's checks find on that record; the site enters
    the true values again when the query arrives.
    """

    def __init__(self, protocol: Protocol, rate: float, seed: int):
        if not 0 <= rate <= 1:
            raise ValueError(f"error_rate: expected a fraction between 0 and 1, got {rate}")
        self.protocol = protocol
        self.forms = {f.id: f for f in protocol.edc.forms}
        self.rate = rate
        self.rng = np.random.default_rng([seed, 0xE770])

    def spoil(self, r: FormRecord) -> tuple[dict[str, Any], str] | None:
        """The record's values with one error the edit checks find, and what it is; None for most records."""
        if self.rng.random() >= self.rate:
            return None
        form = self.forms[r.form]
        fields = {f.id: f for f in form.fields_of(r.version)}
        values = dict(r.values)
        tries: list[tuple[dict[str, Any], str]] = []
        for end in (k for k in values if k.endswith("ENDTC") and k[:-5] + "STDTC" in values):
            start = dt.date.fromisoformat(str(values[end[:-5] + "STDTC"])[:10])
            tries.append(({**values, end: (start - dt.timedelta(days=1)).isoformat()}, f"{end} before its start"))
        for k, v in values.items():
            f = fields[k]
            if f.max is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
                tries.append(({**values, k: type(v)(f.max * 10 + 1)}, f"{k} out of range"))
            if f.required and k != form.repeat_key:
                tries.append(({x: y for x, y in values.items() if x != k}, f"{k} left out"))
        before = self._findings(r, values)
        for i in self.rng.permutation(len(tries)):
            spoiled, what = tries[int(i)]
            if self._findings(r, spoiled) - before:  # an error the checks would miss is no rehearsal of them
                return spoiled, what
        return None

    def _findings(self, r: FormRecord, values: Mapping[str, Any]) -> set[str]:
        record = FormRecord(r.usubjid, r.visit, r.form, r.version, values, seq=r.seq, key=r.key, visitnum=r.visitnum)
        return {f.key for f in run_edit_checks(self.protocol, Casebook(r.usubjid, (record,)))}


class _Latencies:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: list[float] = []

    def add(self, seconds: float) -> None:
        with self.lock:
            self.ms.append(seconds * 1000)

    def quantile(self, q: float) -> float | None:
        return float(np.quantile(self.ms, q)) if self.ms else None


def _check(response: Any, doing: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"{doing}: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()


def rehearse(protocol: Protocol | str | os.PathLike, db: str, out: str | os.PathLike, *, seed: int = 0,
             clients: int = 32, patients: int | None = None, error_rate: float = 0.02,
             progress: Progress | None = None) -> RehearsalResult:
    """Rehearse the trial through the API into the (empty) database ``db`` and write the results into ``out``.

    Writes ``out/sdtm`` (with define.xml), ``out/adam``, ``out/results.json``, ``out/report.html`` and
    ``out/rehearsal.json`` (patients, entries, queries raised and closed, saves per second, latency).
    ``patients`` rehearses only the first N randomized. The same ``seed`` gives the same trial.

    Example
    -------
    >>> rehearse("patina", "sqlite:///trial.db", "out/rehearsal", clients=32)   # doctest: +SKIP
    """
    import httpx

    from oncotrial.irt.config import normalize_db_url
    from oncotrial.irt.db.engine import make_engine, read_tx
    from oncotrial.irt.services import edc_export
    from oncotrial.irt.services.monitors import assign_sites
    from oncotrial.irt.services.setup import add_site, add_user, init_trial, is_initialized
    from oncotrial.irt.services.trial import load_trial
    from oncotrial.irt.testing import ServerProcess
    from oncotrial.jobs.pipeline import analyze

    step = progress or (lambda _n: None)
    if not isinstance(clients, int) or isinstance(clients, bool) or not 1 <= clients <= 256:
        raise ValueError(f"clients: expected an integer from 1 to 256, got {clients!r}")
    p = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    if p.edc is None:
        raise ValueError(f"protocol {p.study.id} has no [edc] block: there are no forms to rehearse")
    name = protocol if isinstance(protocol, str) else p.study.id.lower()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    url = normalize_db_url(db)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    step("simulate")
    sim_sdtm, cutoff, source = _simulate(p, seed)
    sdtm = _first_subjects(sim_sdtm, patients)
    rand = _randomizations(sdtm)
    books, left = sdtm_to_casebooks(p, sdtm, include_rand=False)
    timings["simulate"] = time.perf_counter() - t0

    step("set up")
    engine = make_engine(url)
    try:
        if is_initialized(engine):
            raise ValueError(f"--db: {db} already holds a trial; a rehearsal starts from an empty database")
        init_trial(engine, name if isinstance(name, str) else str(protocol), seed=seed, actor="rehearse",
                   rehearsal=_allocation(p, rand, seed))
        tokens: dict[str, str] = {}
        for site, country in rand[["SITEID", "COUNTRY"]].drop_duplicates("SITEID").itertuples(index=False):
            add_site(engine, site, country, f"Site {site}", actor="rehearse")
            tokens[site] = add_user(engine, f"coord{site}", "site_coordinator", site=site, actor="rehearse")[1]
        first = str(rand["SITEID"].iloc[0])
        monitor = add_user(engine, "monitor1", "monitor", site=first, actor="rehearse")[1]
        assign_sites(engine, "monitor1", sorted(tokens), reason="rehearsal: one monitor for every site",
                     actor="rehearse")
        manager = add_user(engine, "datamanager1", "data_manager", actor="rehearse")[1]
    finally:
        engine.dispose()

    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    counts: dict[str, Any] = {"randomized": 0, "entries": 0, "saves": 0, "errors_made": 0, "corrected": 0,
                              "queries_accepted": 0, "verified": 0}
    per_form: dict[str, int] = defaultdict(int)
    lat = _Latencies()
    count_lock = threading.Lock()
    server = ServerProcess(url, log_path=out / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=120.0) as http:
            step("randomize")
            t1 = time.perf_counter()
            for r in rand.to_dict("records"):
                sid = _subject_id(p.study.id, r["USUBJID"])
                body = {"subject_id": sid, "site": r["SITEID"], "strata": _strata(p, r),
                        "eligibility_confirmed": True, "randomized_at": f"{r['RANDDT'][:10]}T12:00:00Z"}
                got = _check(http.post("/api/v1/randomizations", json=body, headers=h(tokens[r["SITEID"]])),
                             f"randomize {sid}")
                if got["arm"] != r["ARMCD"]:
                    raise RuntimeError(f"randomize {sid}: the service gave arm {got['arm']}, the simulation "
                                       f"{r['ARMCD']}: the rehearsal list is out of step")
                counts["randomized"] += 1
            timings["randomize"] = time.perf_counter() - t1

            step("enter")
            site_of = dict(zip(rand["USUBJID"], rand["SITEID"]))
            errors = _Errors(p, error_rate, seed)
            plan: list[tuple[str, list[tuple[FormRecord, tuple[dict[str, Any], str] | None]]]] = []
            for book in books:
                records = sorted(book.records, key=_record_date)
                plan.append((book.usubjid, [(r, errors.spoil(r)) for r in records]))

            def enter(item: tuple[str, list[tuple[FormRecord, tuple[dict[str, Any], str] | None]]]) -> None:
                uid, records = item
                sid = _subject_id(p.study.id, uid)
                headers = h(tokens[site_of[uid]])
                with httpx.Client(base_url=server.base_url, timeout=120.0) as c:
                    for r, spoiled in records:
                        place: dict[str, Any] = {"visit": r.visit, "form": r.form, "version": r.version}
                        if r.visitnum is not None:
                            place["visitnum"] = r.visitnum
                        if r.key:
                            place["key"] = r.key
                        elif _repeats(p, r.form):
                            place["seq"] = r.seq
                        first_values = spoiled[0] if spoiled else dict(r.values)
                        s = time.perf_counter()
                        saved = _check(c.post(f"/api/v1/subjects/{sid}/records", json={**place, "values": first_values},
                                              headers=headers), f"enter {sid} {r.record_key}")
                        lat.add(time.perf_counter() - s)
                        n_saves = 1
                        if spoiled:
                            queries = _check(c.get("/api/v1/queries", params={"subject_id": sid, "status": "open"},
                                                   headers=headers), f"queries of {sid}")["items"]
                            mine = [q for q in queries if q["record"] == saved["record"]]
                            if not mine:
                                raise RuntimeError(f"enter {sid} {r.record_key}: {spoiled[1]} opened no query")
                            s = time.perf_counter()
                            _check(c.post(f"/api/v1/subjects/{sid}/records", json={
                                **place, "values": dict(r.values), "revision": saved["revision"],
                                "reason": f"corrected after query {mine[0]['id']}: {spoiled[1]}"}, headers=headers),
                                f"correct {sid} {r.record_key}")
                            lat.add(time.perf_counter() - s)
                            n_saves += 1
                        with count_lock:
                            counts["entries"] += 1
                            counts["saves"] += n_saves
                            per_form[r.form] += 1
                            if spoiled:
                                counts["errors_made"] += 1

            t2 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                for _ in pool.map(enter, plan):
                    pass
            timings["enter"] = time.perf_counter() - t2

            step("queries")
            dm_h = h(manager)
            closed = _check(http.get("/api/v1/queries", params={"status": "closed", "limit": 1}, headers=dm_h),
                            "closed queries")["total"]
            counts["corrected"] = closed
            while True:
                page = _check(http.get("/api/v1/queries", params={"status": "open", "limit": 1000}, headers=dm_h),
                              "open queries")
                if not page["items"]:
                    break
                for q in page["items"]:  # findings the simulated data hold themselves: confirmed at source
                    _check(http.post(f"/api/v1/queries/{q['id']}/close", json={
                        "reason": "rehearsal: value confirmed against the simulated source"}, headers=dm_h),
                        f"close query {q['id']}")
                    counts["queries_accepted"] += 1

            step("verify")
            mon_h = h(monitor)
            t3 = time.perf_counter()
            while True:
                page = _check(http.get("/api/v1/sdv", params={"state": "pending", "limit": 1000}, headers=mon_h),
                              "SDV list")
                if not page["items"]:
                    break
                for item in page["items"]:
                    _check(http.post(f"/api/v1/subjects/{item['subject_id']}/sdv",
                                     json={"record": item["record"], "revision": item["revision"]}, headers=mon_h),
                           f"verify {item['subject_id']} {item['record']}")
                    counts["verified"] += 1
            timings["verify"] = time.perf_counter() - t3

            step("lock")
            _check(http.post("/api/v1/database/lock", json={"cutoff": cutoff.isoformat(),
                                                             "reason": "rehearsal: data cut-off"}, headers=dm_h),
                   "lock the database")
    finally:
        server.kill()

    step("export")
    engine = make_engine(url)
    try:
        with read_tx(engine) as conn:
            export = edc_export.write_sdtm_export(conn, load_trial(conn), out / "sdtm", formats=("csv", "xpt"))
    finally:
        engine.dispose()

    step("analyze")
    job = analyze(p, out, sdtm=out / "sdtm", extra={"rehearsal": True})
    timings["total"] = time.perf_counter() - t0
    saves_per_s = counts["saves"] / timings["enter"] if timings.get("enter") else None
    summary = {
        "protocol": p.study.id, "seed": seed, "source": source, "clients": clients,
        "patients": counts["randomized"], "sites": len(tokens), "entries": counts["entries"],
        "saves": counts["saves"], "entries_per_form": dict(sorted(per_form.items())),
        "queries": {"raised_by_entry_errors": counts["errors_made"], "closed_by_correction": counts["corrected"],
                    "accepted_by_data_manager": counts["queries_accepted"]},
        "sdv_verified": counts["verified"], "cutoff": cutoff.isoformat(), "database_locked": True,
        "saves_per_second": saves_per_s, "latency_ms": {"p50": lat.quantile(0.5), "p99": lat.quantile(0.99)},
        "rows_not_collected": unmapped_summary(left), "exported": export["domains"],
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    path = out / "rehearsal.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return RehearsalResult(summary, {**job.paths, "rehearsal": path, "sdtm": out / "sdtm"})


def _repeats(protocol: Protocol, form_id: str) -> bool:
    return next(f for f in protocol.edc.forms if f.id == form_id).repeats
