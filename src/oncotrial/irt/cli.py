"""``oncotrial irt ...`` (set-up), ``oncotrial serve`` and ``oncotrial audit verify``.

Every command takes ``--db``: a SQLAlchemy URL (``postgresql+psycopg://...``) or a
plain file path, which means SQLite. Errors print one line naming the option and exit 2.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

import typer

from oncotrial.irt.config import DEFAULT_DB, ROLES, Settings, normalize_db_url
from oncotrial.irt.services.errors import IrtError

irt_app = typer.Typer(help="Set up the randomization service: trial, sites, users.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the randomization service's audit trail.", no_args_is_help=True)
edc_app = typer.Typer(help="Data capture: export what the sites entered.", no_args_is_help=True)

DB_HELP = "Database: a SQLAlchemy URL (postgresql+psycopg://user:pw@host/db) or a file path for SQLite."
ENV_DB = "ONCOTRIAL_IRT_DB"


def cli_actor() -> str:
    """Who runs a command, for the audit trail: `cli:` and the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


KEY_HELP = ("Audit key file (default: ONCOTRIAL_IRT_AUDIT_KEY, else <db file>.audit-key for SQLite, "
            "~/.config/oncotrial/irt-keys/HOST_PORT_DB.audit-key for PostgreSQL).")


@contextmanager
def _engine(db: str, audit_key: str | None = None) -> Iterator[object]:
    from oncotrial.irt.db.engine import make_engine

    try:
        engine = make_engine(normalize_db_url(db), audit_key_file=audit_key)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        yield engine
    except (IrtError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def _require_initialized(engine: object) -> None:
    from oncotrial.irt.services.setup import is_initialized

    if not is_initialized(engine):  # type: ignore[arg-type]
        raise IrtError("--db: the database holds no trial; run `oncotrial irt init --protocol NAME --db URL` first")


def _require_current_schema(engine: object) -> None:
    # A database made by an older oncotrial lacks what newer code calls (e.g. the
    # PostgreSQL randomization function): refuse to serve it rather than fail per request.
    from oncotrial.irt.db.migrate import current_revision, head_revision

    have, need = current_revision(engine), head_revision()  # type: ignore[arg-type]
    if have != need:
        raise IrtError(f"--db: the database schema is at revision {have}, this oncotrial needs {need}; "
                       "run `oncotrial irt upgrade --db URL` first")


def _require_audit_key(engine: object) -> None:
    from oncotrial.irt.audit_key import key_for

    key_for(engine)  # type: ignore[arg-type]  # raises AuditKeyError (a ValueError) naming the file


@irt_app.command("init")
def init(
    protocol: str = typer.Option(..., "--protocol", help="Bundled protocol name (patina) or a TOML path."),
    db: str = typer.Option(..., "--db", help=DB_HELP),
    seed: Optional[int] = typer.Option(
        None, "--seed", help="Seed of the allocation list (default: a secret random seed, stored with the list)."),
    per_stratum: Optional[int] = typer.Option(None, "--per-stratum",
                                              help="List slots per stratum (default: the protocol's target N)."),
    audit_key: Optional[str] = typer.Option(None, "--audit-key", help=KEY_HELP + " Created here."),
) -> None:
    """Create the schema, store the protocol and generate the stratified allocation list.

    The list itself is never printed: only its size and checksum."""
    from oncotrial.irt.services.setup import init_trial

    with _engine(db, audit_key) as engine:
        result = init_trial(engine, protocol, seed=seed, per_stratum=per_stratum, actor=cli_actor())  # type: ignore[arg-type]
    if result.list_rows:
        typer.echo(f"initialized {result.study_id}: {result.method}, {result.strata} strata, "
                   f"{result.list_rows} list rows, checksum {result.checksum}")
    else:
        typer.echo(f"initialized {result.study_id}: {result.method} (each arm decided at randomization; "
                   "no pre-generated list)")


@irt_app.command("export-sdtm")
def export_sdtm(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    out: str = typer.Option(..., "--out", help="Folder for the SDTM files (one per domain and format)."),
    formats: str = typer.Option("csv,xpt", "--formats", help="Comma-separated: csv, xpt, json."),
    as_json: bool = typer.Option(False, "--json", help="Print the domains and their rows as JSON."),
) -> None:
    """Write the SDTM of every subject's casebook (DM, DS, AE, EX, TU, TR, RS, SUPPxx, ...)."""
    from oncotrial.irt.db.engine import read_tx
    from oncotrial.irt.services.edc_export import domain_rows, write_sdtm_files
    from oncotrial.irt.services.trial import load_trial

    fmts = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in fmts if f not in ("csv", "xpt", "json")]
    if bad or not fmts:
        typer.echo(f"error: --formats: expected csv, xpt or json, got {formats!r}", err=True)
        raise typer.Exit(2)
    with _engine(db) as engine:
        _require_initialized(engine)
        _require_current_schema(engine)
        with read_tx(engine) as conn:  # type: ignore[arg-type]
            summaries = write_sdtm_files(conn, load_trial(conn), out, formats=fmts)
    domains = domain_rows(summaries)
    if as_json:
        typer.echo(json.dumps({"out": out, "domains": domains}))
    else:
        typer.echo(f"{len(domains)} domains written to {out}: " + ", ".join(f"{d} ({n})" for d, n in domains.items()))


@edc_app.command("export")
def edc_export(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    out: str = typer.Option(..., "--out", help="Folder for the export (SDTM files and define.xml, or odm.xml)."),
    cutoff: Optional[str] = typer.Option(
        None, "--cutoff", help="Data cut-off date YYYY-MM-DD (default: the database freeze's or lock's cut-off)."),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="Rebuild the data as they stood at this moment (YYYY-MM-DD[THH:MM[:SS]], UTC "
                              "unless a zone is given; a date alone is the end of that day)."),
    fmt: str = typer.Option("sdtm", "--format", help="sdtm (SDTM with define.xml 2.1) or odm (CDISC ODM 1.3.2)."),
    formats: str = typer.Option("csv,xpt,json", "--formats", help="SDTM file formats, comma-separated: csv, xpt, json."),
    no_audit: bool = typer.Option(False, "--no-audit", help="ODM: a snapshot of current values, no audit records."),
    chunk_subjects: int = typer.Option(
        200, "--chunk-subjects", help="SDTM: subjects whose casebooks are held at once (memory, not the files)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Export the entered data: SDTM DM, DS, EX, AE, CM, TU, TR, RS, SV, SUPP-- with define.xml, or ODM."""
    from pathlib import Path

    from oncotrial.irt.db.engine import read_tx
    from oncotrial.irt.services import edc_export as ex
    from oncotrial.irt.services.trial import load_trial

    if fmt not in ("sdtm", "odm"):
        typer.echo(f"error: --format: expected sdtm or odm, got {fmt!r}", err=True)
        raise typer.Exit(2)
    fmts = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not fmts or any(f not in ("csv", "xpt", "json") for f in fmts):
        typer.echo(f"error: --formats: expected csv, xpt or json, got {formats!r}", err=True)
        raise typer.Exit(2)
    if chunk_subjects < 1:
        typer.echo(f"error: --chunk-subjects: expected at least 1, got {chunk_subjects}", err=True)
        raise typer.Exit(2)
    if fmt == "odm" and cutoff is not None:
        typer.echo("error: --cutoff: ODM carries every entry with its audit trail; use --as-of for an earlier "
                   "state, or --format sdtm for a data cut-off", err=True)
        raise typer.Exit(2)
    with _engine(db) as engine:
        _require_initialized(engine)
        _require_current_schema(engine)
        moment = ex.as_of_timestamp(as_of) if as_of is not None else None
        if cutoff is not None:
            from oncotrial.sdtm.cutoff import cutoff_date

            cutoff = cutoff_date(cutoff).isoformat()
        with read_tx(engine) as conn:  # type: ignore[arg-type]
            trial = load_trial(conn)
            if fmt == "sdtm":
                summary = ex.write_sdtm_export(conn, trial, out, formats=fmts, cutoff=cutoff, as_of=moment,
                                                chunk_subjects=chunk_subjects)
            else:
                target = Path(out) / "odm.xml"
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(".odm.xml.tmp")
                with open(tmp, "w", encoding="utf-8") as fh:
                    n = ex.export_odm(conn, trial, fh, audit=not no_audit, as_of=moment)
                os.replace(tmp, target)
                summary = {"out": str(target), "subjects": n, "audit": not no_audit, "as_of": moment}
    if as_json:
        typer.echo(json.dumps(summary))
    elif fmt == "odm":
        typer.echo(f"ODM 1.3.2 of {summary['subjects']} subjects written to {summary['out']}")
    else:
        cut = f" at cut-off {summary['cutoff']} ({summary['cutoff_from']})" if summary["cutoff"] else ""
        typer.echo(f"{len(summary['domains'])} domains{cut} written to {out} with define.xml: "
                   + ", ".join(f"{d} ({n})" for d, n in summary["domains"].items()))


@irt_app.command("add-site")
def add_site(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    site: str = typer.Option(..., "--site", help="Site code, e.g. S01."),
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2 country code, e.g. US."),
    name: str = typer.Option("", "--name", help="Site name."),
) -> None:
    """Add a site."""
    from oncotrial.irt.services.setup import add_site as _add_site

    with _engine(db) as engine:
        _require_initialized(engine)
        _add_site(engine, site, country, name, actor=cli_actor())  # type: ignore[arg-type]
    typer.echo(f"site {site} ({country}) added")


@irt_app.command("add-user")
def add_user(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    name: str = typer.Option(..., "--name", help="User name."),
    role: str = typer.Option(..., "--role", help=f"One of {', '.join(ROLES)}."),
    site: Optional[str] = typer.Option(None, "--site", help="The user's site (required for site staff; a monitor's "
                                                             "first assigned site)."),
    password: Optional[str] = typer.Option(None, "--password", help="Password for web log-in (8+ characters)."),
    token_ttl_days: float = typer.Option(365.0, "--token-ttl-days", help="Days until the API token expires."),
) -> None:
    """Add a user; the last line printed is the user's API token (shown only this once)."""
    from oncotrial.irt.services.setup import add_user as _add_user

    with _engine(db) as engine:
        _require_initialized(engine)
        record, token = _add_user(engine, name, role, site=site, password=password,  # type: ignore[arg-type]
                                  token_ttl_days=token_ttl_days, actor=cli_actor())
    typer.echo(f"user {record['name']} ({record['role']}{', site ' + site if site else ''}) added; API token:")
    typer.echo(token)


@irt_app.command("assign-sites")
def assign_sites(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    name: str = typer.Option(..., "--name", help="The monitor's user name."),
    sites: str = typer.Option(..., "--sites", help="Comma-separated site codes: the monitor's whole set from now "
                                                  "on (an empty string removes every site)."),
    reason: str = typer.Option(..., "--reason", help="Why the assignment changes (kept in the audit trail)."),
    as_json: bool = typer.Option(False, "--json", help="Print the monitor's sites as JSON."),
) -> None:
    """Set the sites a monitor reads, queries and verifies (monitors see no site until assigned)."""
    from oncotrial.irt.services.monitors import assign_sites as _assign

    codes = [c.strip() for c in sites.split(",") if c.strip()]
    with _engine(db) as engine:
        _require_initialized(engine)
        _require_current_schema(engine)
        result = _assign(engine, name, codes, reason=reason, actor=cli_actor())  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"monitor {name}: sites {', '.join(result['sites']) or 'none'}"
                   + ("" if result["changed"] else " (unchanged)"))


@irt_app.command("issue-token")
def issue_token(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    name: str = typer.Option(..., "--name", help="User name."),
    ttl_days: float = typer.Option(365.0, "--ttl-days", help="Days until the token expires."),
) -> None:
    """Issue another API token for a user; printed as the last line."""
    from oncotrial.irt.services.setup import issue_token as _issue

    with _engine(db) as engine:
        _require_initialized(engine)
        token = _issue(engine, name, ttl_days=ttl_days, actor=cli_actor())  # type: ignore[arg-type]
    typer.echo(token)


@irt_app.command("upgrade")
def upgrade_schema(db: str = typer.Option(..., "--db", help=DB_HELP),
                   audit_key: Optional[str] = typer.Option(None, "--audit-key", help=KEY_HELP)) -> None:
    """Apply the schema migrations of this version of oncotrial to an existing database."""
    from oncotrial.irt.db.migrate import current_revision, head_revision, upgrade
    from oncotrial.irt.services.setup import sign_unsigned_head

    with _engine(db, audit_key) as engine:
        _require_initialized(engine)
        before = current_revision(engine)  # type: ignore[arg-type]
        upgrade(engine)  # type: ignore[arg-type]
        signed = sign_unsigned_head(engine)  # type: ignore[arg-type]
    typer.echo(f"schema at revision {head_revision()} (was {before})")
    if signed:
        typer.echo(f"audit chain verified and its head signed with the audit key {signed}")


ENV_SECURE = "ONCOTRIAL_IRT_SECURE_COOKIES"
ENV_PROXIES = "ONCOTRIAL_IRT_TRUSTED_PROXIES"
ENV_DOCS = "ONCOTRIAL_IRT_DOCS"


def app_from_env():  # noqa: ANN201
    """ASGI factory for ``--workers > 1`` (each worker process builds its own app)."""
    from oncotrial.irt.app import create_app

    proxies = tuple(p for p in os.environ.get(ENV_PROXIES, "").split(",") if p)
    return create_app(Settings(db_url=os.environ[ENV_DB], secure_cookies=os.environ.get(ENV_SECURE) == "1",
                               trusted_proxies=proxies, docs=os.environ.get(ENV_DOCS) == "1",
                               audit_key_file=os.environ.get("ONCOTRIAL_IRT_AUDIT_KEY")))


def serve(
    db: str = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", help="Log every request."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                        help="Mark cookies Secure (when served behind HTTPS)."),
    trusted_proxy: list[str] = typer.Option([], "--trusted-proxy",
                                            help="A reverse proxy (address or network) whose X-Forwarded-For is "
                                                 "believed; repeat for several. Default: none."),
    docs: bool = typer.Option(False, "--docs/--no-docs", help="Serve the OpenAPI pages at /api/docs."),
    audit_key: Optional[str] = typer.Option(None, "--audit-key", help=KEY_HELP),
) -> None:
    """Run the randomization service (REST API and web pages)."""
    import uvicorn

    url = normalize_db_url(db)
    try:
        settings = Settings(db_url=url, secure_cookies=secure_cookies, trusted_proxies=tuple(trusted_proxy),
                            docs=docs, audit_key_file=audit_key)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with _engine(url, audit_key) as engine:
        _require_initialized(engine)
        _require_current_schema(engine)
        _require_audit_key(engine)
    # Forwarded headers are resolved by the app, from configured proxies only; uvicorn's own
    # handling would believe them from 127.0.0.1 (anyone on the machine).
    common = dict(host=host, port=port, access_log=access_log, log_level="info", timeout_graceful_shutdown=5,
                  proxy_headers=False)
    if workers == 1:
        from oncotrial.irt.app import create_app

        uvicorn.run(create_app(settings), **common)
    else:
        os.environ[ENV_DB] = url
        os.environ[ENV_SECURE] = "1" if secure_cookies else "0"
        os.environ[ENV_PROXIES] = ",".join(trusted_proxy)
        os.environ[ENV_DOCS] = "1" if docs else "0"
        if audit_key:
            os.environ["ONCOTRIAL_IRT_AUDIT_KEY"] = audit_key
        uvicorn.run("oncotrial.irt.cli:app_from_env", factory=True, workers=workers, **common)


@audit_app.command("verify")
def audit_verify(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    audit_key: Optional[str] = typer.Option(None, "--audit-key", help=KEY_HELP),
) -> None:
    """Recompute the audit hash chain and its signed head; exit 0 only when it is intact and
    the database (allocation list, randomizations, corrections, sites, users) matches it."""
    from oncotrial.irt.routers.audit import verify

    with _engine(db, audit_key) as engine:
        _require_initialized(engine)
        report = verify(engine)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for problem in report["problems"]:
            typer.echo(f"problem: {problem}")
        typer.echo(f"audit chain {'intact' if report['ok'] else 'BROKEN'}: {report['entries']} entries, "
                   f"head {report['head_hash']}")
    raise typer.Exit(0 if report["ok"] else 1)

