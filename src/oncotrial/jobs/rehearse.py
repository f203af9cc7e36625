"""The rehearsal: a whole trial run through the service's API, the simulator playing every site.

:func:`rehearse` simulates the trial (the reconstruction of the published trial when the protocol
has one, else a simulated trial), makes a rehearsal database holding the simulation's allocation
list, starts ``oncotrial serve`` on it and then, over HTTP only: randomizes every patient in
calendar order at their site; enters every eCRF entry the simulated SDTM implies
(:func:`oncotrial.collect.sdtm_to_casebooks`) from ``clients`` concurrent site clients, each
subject's visits in calendar order and a visit's forms in one save; makes realistic entry errors
the edit checks catch (a value out of range, a required value missing, an end before its start)
and corrects each through its query; lets the monitors verify what the SDV plan asks (several
monitor clients at once, a subject's pending records in one request); and has the data manager
lock the database at the data cut-off. It then exports SDTM from the database and runs the
analysis plan on it.

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
from urllib.parse import quote

import numpy as np
import pandas as pd

from oncotrial.collect import Casebook, run_edit_checks, sdtm_to_casebooks
from oncotrial.collect.from_sdtm import unmapped_summary
from oncotrial.collect.records import FormRecord
from oncotrial.protocol import Protocol, load_protocol
from oncotrial.sdtm.cutoff import randomizations

Progress = Callable[[str], None]
# Monitor clients verifying at once, a site each: enough to keep the single server process busy
# while one batch waits on its commit; more only queue behind the database's one writer.
MONITOR_CLIENTS = 4
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
    rand = randomizations(ds)[["USUBJID", "DSSTDTC"]].astype(str)
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


_Planned = tuple[FormRecord, tuple[dict[str, Any], str] | None]
"""A record to enter and, when the site gets it wrong first, the values it enters and what is wrong."""


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


class _Journal:
    """Every save the service acknowledged (201/200), one JSON line each, written as it comes: after a
    crash it says what the database must hold."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()

    def add(self, subject_id: str, saved: Mapping[str, Any]) -> None:
        line = json.dumps({"subject_id": subject_id, "record": saved["record"], "revision": saved["revision"]})
        with self.lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _check_resumable(engine: Any, db: str, protocol: Protocol, seed: int) -> None:
    """A database holding a trial is resumed only if it is this protocol's rehearsal with this seed."""
    from oncotrial.irt.db.engine import read_tx
    from oncotrial.irt.services.trial import load_trial

    with read_tx(engine) as conn:
        trial = load_trial(conn)
    if not trial.rehearsal:
        raise ValueError(f"--db: {db} already holds a trial; a rehearsal starts from an empty database "
                         "or resumes its own")
    if (trial.study_id, trial.seed) != (protocol.study.id, seed):
        raise ValueError(f"--db: {db} holds the rehearsal of {trial.study_id} with seed {trial.seed}; "
                         f"resume it with that protocol and --seed {trial.seed}")


def _arms(http: Any, headers: Mapping[str, str], n: int) -> dict[str, str]:
    """USUBJID -> arm of every randomization, as the (unblinded) statistician reads them."""
    given: dict[str, str] = {}
    while len(given) < n:
        page = _check(http.get("/api/v1/randomizations", params={"limit": 1000, "offset": len(given)},
                               headers=headers), "list the randomizations")
        if not page["items"]:
            break
        given.update({x["usubjid"]: x["arm"] for x in page["items"]})
    return given


def _check(response: Any, doing: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"{doing}: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()


def rehearse(protocol: Protocol | str | os.PathLike, db: str, out: str | os.PathLike, *, seed: int = 0,
             clients: int = 32, patients: int | None = None, error_rate: float = 0.02,
             progress: Progress | None = None) -> RehearsalResult:
    """Rehearse the trial through the API into the (empty) database ``db`` and write the results into ``out``.

    Writes ``out/sdtm`` (with define.xml), ``out/adam``, ``out/results.json``, ``out/report.html`` and
    ``out/rehearsal.json`` (patients, entries, queries raised and closed, entries saved per second,
    the number of visit saves and their latency).
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
    from oncotrial.irt.services.sdv import MAX_VERIFY_RECORDS
    from oncotrial.irt.services.setup import add_site, add_user, init_trial, is_initialized, issue_token
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

    engine = make_engine(url)
    try:  # before the simulation: a database that cannot be rehearsed into is refused at once
        resumed = is_initialized(engine)
        if resumed:
            _check_resumable(engine, db, p, seed)
    finally:
        engine.dispose()

    step("simulate")
    sim_sdtm, cutoff, source = _simulate(p, seed)
    sdtm = _first_subjects(sim_sdtm, patients)
    rand = _randomizations(sdtm)
    books, left = sdtm_to_casebooks(p, sdtm, include_rand=False)
    timings["simulate"] = time.perf_counter() - t0

    step("set up")
    sites = list(rand[["SITEID", "COUNTRY"]].drop_duplicates("SITEID").itertuples(index=False))
    engine = make_engine(url)
    try:
        if resumed:
            tokens = {site: issue_token(engine, f"coord{site}", actor="rehearse") for site, _ in sites}
            monitor, manager, statistician = (issue_token(engine, n, actor="rehearse")
                                              for n in ("monitor1", "datamanager1", "statistician1"))
        else:
            init_trial(engine, name if isinstance(name, str) else str(protocol), seed=seed, actor="rehearse",
                       rehearsal=_allocation(p, rand, seed))
            tokens = {}
            for site, country in sites:
                add_site(engine, site, country, f"Site {site}", actor="rehearse")
                tokens[site] = add_user(engine, f"coord{site}", "site_coordinator", site=site, actor="rehearse")[1]
            monitor = add_user(engine, "monitor1", "monitor", site=str(sites[0][0]), actor="rehearse")[1]
            assign_sites(engine, "monitor1", sorted(tokens), reason="rehearsal: one monitor for every site",
                         actor="rehearse")
            manager = add_user(engine, "datamanager1", "data_manager", actor="rehearse")[1]
            statistician = add_user(engine, "statistician1", "statistician", actor="rehearse")[1]
    finally:
        engine.dispose()
    journal = _Journal(out / "acknowledged.jsonl")

    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    counts: dict[str, Any] = {"randomized": 0, "entries": 0, "saves": 0, "batches": 0, "errors_made": 0,
                              "corrected": 0,
                              "queries_accepted": 0, "verified": 0, "resumed": 0}
    per_form: dict[str, int] = defaultdict(int)
    lat = _Latencies()
    count_lock = threading.Lock()
    server = ServerProcess(url, log_path=out / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=120.0) as http:
            step("randomize")
            t1 = time.perf_counter()
            before = _arms(http, h(statistician), len(rand)) if resumed else {}
            for r in rand.to_dict("records"):
                if r["USUBJID"] in before:
                    continue
                sid = _subject_id(p.study.id, r["USUBJID"])
                body = {"subject_id": sid, "site": r["SITEID"], "strata": _strata(p, r),
                        "eligibility_confirmed": True, "randomized_at": f"{r['RANDDT'][:10]}T12:00:00Z"}
                _check(http.post("/api/v1/randomizations", json=body, headers=h(tokens[r["SITEID"]])),
                       f"randomize {sid}")
                counts["randomized"] += 1
            # the unblinded statistician checks every arm against the simulation's (sites may be blind to it)
            given = _arms(http, h(statistician), len(rand))
            wrong = [(u, given.get(u), a) for u, a in zip(rand["USUBJID"], rand["ARMCD"]) if given.get(u) != a]
            if wrong:
                raise RuntimeError(f"randomize {wrong[0][0]}: the service gave arm {wrong[0][1]}, the simulation "
                                   f"{wrong[0][2]}: the rehearsal list is out of step")
            timings["randomize"] = time.perf_counter() - t1

            step("enter")
            site_of = dict(zip(rand["USUBJID"], rand["SITEID"]))
            errors = _Errors(p, error_rate, seed)
            plan: list[tuple[str, list[list[_Planned]]]] = []
            for book in books:
                records = sorted(book.records, key=_record_date)
                plan.append((book.usubjid, _visit_pages(p, [(r, errors.spoil(r)) for r in records])))

            def save(c: Any, sid: str, headers: Mapping[str, str], visit: str, entries: list[dict[str, Any]],
                     doing: str) -> list[dict[str, Any]]:
                s = time.perf_counter()
                saved = _check(c.post(f"/api/v1/subjects/{sid}/visits/{quote(visit, safe='')}/records",
                                      json={"entries": entries}, headers=headers), doing)["records"]
                lat.add(time.perf_counter() - s)
                for x in saved:
                    journal.add(sid, x)
                with count_lock:
                    counts["batches"] += 1
                    counts["saves"] += len(saved)
                return saved

            def enter(item: tuple[str, list[list[_Planned]]]) -> None:
                """One site client entering one subject's visits, a visit's page at a time; the entry
                errors the page had are corrected, after their queries, in a second save of the page."""
                uid, pages = item
                sid = _subject_id(p.study.id, uid)
                headers = h(tokens[site_of[uid]])
                with httpx.Client(base_url=server.base_url, timeout=120.0) as c:
                    saved_before: dict[str, dict[str, Any]] = {}
                    if resumed:
                        book = _check(c.get(f"/api/v1/subjects/{sid}/casebook", headers=headers), f"casebook {sid}")
                        saved_before = {e["record"]: e for e in book["records"]}
                    for page in pages:
                        visit = page[0][0].visit
                        new: list[_Planned] = []
                        fix: list[tuple[FormRecord, tuple[dict[str, Any], str], dict[str, Any]]] = []
                        for r, spoiled in page:
                            earlier = saved_before.get(r.record_key)
                            if earlier is None:
                                new.append((r, spoiled))
                            elif earlier["values"] != dict(r.values):  # saved with its error before a stop
                                fix.append((r, spoiled or (dict(earlier["values"]), "an entry left uncorrected"),
                                            earlier))
                        with count_lock:
                            counts["resumed"] += len(page) - len(new) - len(fix)
                            counts["entries"] += len(page)
                            counts["errors_made"] += len(fix) + sum(1 for _, spoiled in new if spoiled)
                            for r, _ in page:
                                per_form[r.form] += 1
                        if new:
                            saved = save(c, sid, headers, visit, [
                                {**_place(p, r), "values": spoiled[0] if spoiled else dict(r.values)}
                                for r, spoiled in new], f"enter {sid} {visit}")
                            fix += [(r, spoiled, x) for (r, spoiled), x in zip(new, saved) if spoiled]
                        if not fix:
                            continue
                        queries = _check(c.get("/api/v1/queries", params={"subject_id": sid, "status": "open"},
                                               headers=headers), f"queries of {sid}")["items"]
                        corrections = []
                        for r, (_, what), x in fix:
                            mine = [q for q in queries if q["record"] == x["record"]]
                            if not mine:
                                raise RuntimeError(f"enter {sid} {r.record_key}: {what} opened no query")
                            corrections.append({**_place(p, r), "values": dict(r.values), "revision": x["revision"],
                                                "reason": f"corrected after query {mine[0]['id']}: {what}"})
                        save(c, sid, headers, visit, corrections, f"correct {sid} {visit}")

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

            def verify(site: str) -> int:
                """One monitor client working through a site's list, a subject's pending records a request."""
                done = 0
                with httpx.Client(base_url=server.base_url, timeout=120.0) as c:
                    while work := _pending_sdv(c, mon_h, site):
                        for sid, pending in work.items():
                            for i in range(0, len(pending), MAX_VERIFY_RECORDS):
                                batch = [{"record": x["record"], "revision": x["revision"]}
                                         for x in pending[i:i + MAX_VERIFY_RECORDS]]
                                _check(c.post(f"/api/v1/subjects/{sid}/sdv/batch", json={"records": batch},
                                              headers=mon_h), f"verify {len(batch)} records of {sid}")
                            done += len(pending)
                return done

            with ThreadPoolExecutor(max_workers=min(clients, MONITOR_CLIENTS)) as pool:
                counts["verified"] += sum(pool.map(verify, sorted(tokens)))
            timings["verify"] = time.perf_counter() - t3

            step("lock")
            if _check(http.get("/api/v1/database", headers=dm_h), "the database's state")["state"] != "locked":
                _check(http.post("/api/v1/database/lock", json={"cutoff": cutoff.isoformat(),
                                                                 "reason": "rehearsal: data cut-off"}, headers=dm_h),
                       "lock the database")
    except httpx.TransportError as exc:
        raise RuntimeError(f"the service stopped answering ({exc}); every save it acknowledged is in "
                           f"{out / 'acknowledged.jsonl'}: run the same rehearse again to resume") from None
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
        "patients": len(rand), "sites": len(tokens), "entries": counts["entries"],
        "resumed": resumed, "entries_found_saved": counts["resumed"],
        "saves": counts["saves"], "visit_saves": counts["batches"], "entries_per_form": dict(sorted(per_form.items())),
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


def _pending_sdv(http: Any, headers: Mapping[str, str], site: str) -> dict[str, list[dict[str, Any]]]:
    """The monitor's work list of one site (records pending SDV), page after page, by subject."""
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    offset = 0
    while True:
        page = _check(http.get("/api/v1/sdv", params={"state": "pending", "site": site, "limit": 1000,
                                                      "offset": offset}, headers=headers), f"SDV list of {site}")
        for item in page["items"]:
            by_subject[item["subject_id"]].append(item)
        offset += page["count"]
        if not page["count"] or offset >= page["total"]:
            return dict(by_subject)


def _repeats(protocol: Protocol, form_id: str) -> bool:
    return next(f for f in protocol.edc.forms if f.id == form_id).repeats


def _place(protocol: Protocol, r: FormRecord) -> dict[str, Any]:
    """Where a record goes on its visit's page: form, version and instance (and an unscheduled visit's number)."""
    place: dict[str, Any] = {"form": r.form, "version": r.version}
    if r.visitnum is not None:
        place["visitnum"] = r.visitnum
    if r.key:
        place["key"] = r.key
    elif _repeats(protocol, r.form):
        place["seq"] = r.seq
    return place


def _visit_pages(protocol: Protocol, planned: list[_Planned]) -> list[list[_Planned]]:
    """A subject's records (in calendar order) as the visit pages a site saves, each in one request:
    a visit's forms together, in the order of their visits' first records; a log's entries
    (adverse events, medications) by the day they were reported, as they come in.

    Pages are cut at :data:`oncotrial.irt.services.forms.MAX_VISIT_ENTRIES`.
    """
    from oncotrial.collect.schedule import visit_definition
    from oncotrial.irt.services.forms import MAX_VISIT_ENTRIES

    pages: dict[tuple[str, float | None, str], list[_Planned]] = {}
    for r, spoiled in planned:
        v = visit_definition(protocol, r.visit)
        day = _record_date(r) if v is not None and v.kind == "log" else ""
        pages.setdefault((r.visit, r.visitnum, day), []).append((r, spoiled))
    return [page[i:i + MAX_VISIT_ENTRIES] for page in pages.values() for i in range(0, len(page), MAX_VISIT_ENTRIES)]
