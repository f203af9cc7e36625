"""`oncotrial design PROTOCOL` and `oncotrial simulate-design PROTOCOL`.

The numerical modules (numpy, scipy, pandas, numba) are imported inside the commands, so
registering these commands does not slow down every other ``oncotrial`` command.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import typer
from oncotrial._console import make_console
from oncotrial.design.spending_spec import SPENDING_FORMS, SpendingFunction, parse_spending

DAYS_PER_MONTH = 30.4375  # as oncotrial.design.from_protocol


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _load(name: str):
    from oncotrial.protocol import load_protocol

    try:
        return load_protocol(name)
    except Exception as exc:  # the protocol loader's own error names the problem
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(message: str) -> typer.Exit:
    # Plain text on stderr (not click's boxed usage error) so that it reads the same at any width.
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _spending_options(spending: str, beta_spending: str | None) -> tuple[SpendingFunction, SpendingFunction | None]:
    """Parse --spending / --beta-spending before any work, so a bad value names its option."""
    try:
        return (parse_spending(spending, "--spending"),
                None if beta_spending is None else parse_spending(beta_spending, "--beta-spending"))
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _design(protocol, looks: str, spending: SpendingFunction, futility: str | None,
            beta_spending: SpendingFunction | None, subjects: int | None, method: str, **options):
    from oncotrial.design.from_protocol import design_from_protocol

    try:
        return design_from_protocol(
            protocol, information_rates=_floats(looks, "--looks"), alpha_spending=spending,
            futility_bounds=_floats(futility, "--futility") if futility else None,
            beta_spending=beta_spending, n_subjects=subjects, method=method, **options,
        )
    except ValueError as exc:
        raise _fail(_with_option(str(exc))) from None


# The API's argument names and the options that set them: an API error names the option too.
_OPTION_OF = {"information_rates": "--looks", "futility_bounds": "--futility", "alpha": "--alpha", "beta": "--power",
              "power": "--power", "sided": "--sided", "allocation_ratio": "--ratio", "method": "--method",
              "n_subjects": "--subjects", "max_subjects": "--subjects", "alpha_spending": "--spending",
              "beta_spending": "--beta-spending", "binding_futility": "--binding", "hr0": "--hr0",
              "hazard_ratio": "--hr0", "control_hazards": "--control-hazards", "weibull_shape": "--weibull-shape",
              "dropout_rate": "--dropout", "dropout_rate_per_year": "--dropout"}


def _with_option(message: str) -> str:
    name, sep, rest = message.partition(":")
    return f"{_OPTION_OF[name]} ({name}):{rest}" if sep and name in _OPTION_OF else message


def _date(protocol, months: float) -> str:
    return (protocol.accrual.start + dt.timedelta(days=months * DAYS_PER_MONTH)).isoformat()


LOOKS = typer.Option("1", "--looks", help="Information fractions of the analyses, e.g. 0.5,1 (last = 1).")
SPENDING = typer.Option(
    "obf", "--spending",
    help=f"Alpha spending: {SPENDING_FORMS} (Hwang-Shih-DeCani gamma, default -4; Kim-DeMets alpha t^rho).")
FUTILITY = typer.Option(
    None, "--futility", help="Futility Z bounds at the interim looks, e.g. 0 (non-binding unless design --binding).")
BETA_SPENDING = typer.Option(None, "--beta-spending", help=f"Futility by beta spending: {SPENDING_FORMS}.")
SUBJECTS = typer.Option(None, "--subjects", help="Patients (default: the protocol's randomized number).")
METHOD = typer.Option("schoenfeld", "--method", help="Events formula: schoenfeld, freedman or hsieh-freedman.")
ALPHA = typer.Option(
    None, "--alpha", help="Overall level of the --sided test (two-sided 0.05: 0.025 per tail); default: the protocol's.")
POWER = typer.Option(None, "--power", help="Power (default: the protocol's).")
SIDED = typer.Option(
    None, "--sided", help="1, or 2 for symmetric two-sided efficacy bounds (default: the protocol's).")
RATIO = typer.Option(
    None, "--ratio", help="Allocation ratio experimental:control, e.g. 2 (default: the protocol's arms).")
BINDING = typer.Option(
    False, "--binding", help="Binding futility: efficacy bounds computed with the futility stops in place "
    "(needs --futility or --beta-spending).")


CONTROL_HAZARDS = typer.Option(
    None, "--control-hazards", help="Piecewise-exponential control PFS: START:HAZARD per month from month 0, "
    "e.g. 0:0.03,6:0.025,12:0.02 (default: the protocol's).")
DROPOUT = typer.Option(None, "--dropout", help="Proportion lost to follow-up per year, both arms (default: the protocol's).")


def _check_binding(binding: bool, futility: str | None, beta_fn) -> None:
    if binding and futility is None and beta_fn is None:
        raise _fail("--binding: binding futility needs futility bounds (--futility or --beta-spending)")


def _check_hr0(hr0: float) -> None:
    if not (hr0 > 0 and math.isfinite(hr0)):
        raise _fail(f"--hr0: expected a positive null hazard ratio, got {hr0!r}")


def _hazard_pieces(text: str | None) -> list[tuple[float, float]] | None:
    """--control-hazards START:HAZARD,... (months, hazard per month), checked before any work."""
    if text is None:
        return None
    pieces = []
    for part in (x.strip() for x in text.split(",")):
        start, sep, hazard = part.partition(":")
        try:
            pieces.append((float(start), float(hazard)))
        except ValueError:
            raise _fail(f"--control-hazards: expected START:HAZARD pieces (month:hazard per month) such as "
                        f"0:0.03,6:0.025, got {part!r}") from None
        if not sep or not all(map(math.isfinite, pieces[-1])):
            raise _fail(f"--control-hazards: expected START:HAZARD pieces with finite numbers, got {part!r}")
    starts, hazards = [p[0] for p in pieces], [p[1] for p in pieces]
    if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise _fail(f"--control-hazards: start months must begin at 0 and strictly increase, got {starts}")
    if min(hazards) < 0 or hazards[-1] <= 0:
        raise _fail(f"--control-hazards: hazards must be non-negative with a positive last piece, got {hazards}")
    return pieces


def _check_survival_options(hazards, weibull_shape: float | None, dropout: float | None) -> None:
    if weibull_shape is not None and not (weibull_shape > 0 and math.isfinite(weibull_shape)):
        raise _fail(f"--weibull-shape: expected a positive Weibull shape, got {weibull_shape!r}")
    if weibull_shape is not None and hazards is not None:
        raise _fail("--weibull-shape: a Weibull control takes the protocol's control median, not --control-hazards")
    if dropout is not None and not (0 <= dropout < 1):
        raise _fail(f"--dropout: expected a proportion lost per year in [0, 1), got {dropout!r}")


def _survival_text(control) -> str:
    if hasattr(control, "shape"):
        return f"Weibull, shape {control.shape:g}"
    if len(control.hazards) == 1:
        return "exponential"
    return "piecewise exponential, hazard " + ", ".join(
        f"{h:g} from month {s:g}" for s, h in zip(control.starts, control.hazards))


def design(
    protocol: str = typer.Argument(..., help="A bundled protocol name (e.g. patina) or a TOML path."),
    looks: str = LOOKS,
    spending: str = SPENDING,
    futility: str = FUTILITY,
    beta_spending: str = BETA_SPENDING,
    subjects: int = SUBJECTS,
    method: str = METHOD,
    alpha: float = ALPHA,
    power: float = POWER,
    sided: int = SIDED,
    ratio: float = RATIO,
    binding: bool = BINDING,
    hr0: float = typer.Option(
        1.0, "--hr0", help="Null hazard ratio: above 1 a non-inferiority margin, below 1 superiority by a margin "
        "(one-sided, schoenfeld only)."),
    control_hazards: str = CONTROL_HAZARDS,
    weibull_shape: float = typer.Option(
        None, "--weibull-shape", help="Weibull control PFS of this shape with the protocol's control median "
        "(rpact kappa; needs --dropout 0 if the protocol has dropout)."),
    dropout: float = DROPOUT,
    plot: Path = typer.Option(None, "--plot", help="Write the expected event curve to this PNG file."),
    as_json: bool = typer.Option(False, "--json", help="Print the design as JSON instead of tables."),
) -> None:
    """Events, patients and expected analysis times for the protocol's target hazard ratio."""
    alpha_fn, beta_fn = _spending_options(spending, beta_spending)
    _check_binding(binding, futility, beta_fn)
    _check_hr0(hr0)
    hazards = _hazard_pieces(control_hazards)
    _check_survival_options(hazards, weibull_shape, dropout)
    p = _load(protocol)
    sd = _design(p, looks, alpha_fn, futility, beta_fn, subjects, method, alpha=alpha, power=power, sided=sided,
                 allocation_ratio=ratio, binding_futility=binding, hr0=hr0, control_hazards=hazards,
                 weibull_shape=weibull_shape, dropout_rate_per_year=dropout)
    if as_json:
        d = sd.to_dict()
        typer.echo(json.dumps(d, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    else:
        _print_design(p, sd)
    if plot is not None:
        from oncotrial.design.plots import plot_event_timeline

        plot_event_timeline(sd.timeline(), plot, title=f"{p.study.id}: expected events")
        typer.echo(f"expected event curve written to {plot}")


def _print_design(p, sd) -> None:
    from rich.table import Table

    c = make_console()
    g = sd.design
    c.print(f"[bold]{p.study.id}[/bold] design ({sd.method}; {g.sided}-sided alpha {g.alpha:g}, "
            f"power {1 - g.beta:.0%}, {g.alpha_spending_function} spending, allocation {sd.allocation_ratio:g}:1)")
    notes = ([f"null HR {sd.hr0:g} (H0: HR >= {sd.hr0:g})" if sd.hazard_ratio < sd.hr0 else
              f"null HR {sd.hr0:g} (H0: HR <= {sd.hr0:g})"] if sd.hr0 != 1.0 else [])
    notes += ["binding futility"] if g.binding_futility else []
    if notes:
        c.print("; ".join(notes))
    c.print(
        f"target HR {sd.hazard_ratio:g}: median PFS {sd.median_control:.1f} months (control) vs "
        f"{sd.median_experimental:.1f} (experimental), {_survival_text(sd.control)}; "
        f"dropout {sd.dropout_hazards[1] * 12:.3f}/year (hazard)"
    )
    c.print(
        f"events needed: {math.ceil(sd.max_events - 1e-9):.0f} ({sd.max_events:.2f}; "
        f"fixed design {sd.events_fixed:.2f}, "
        f"inflation {g.inflation_factor:.4f})"
    )
    if sd.accrual_overrun:
        c.print(
            f"patients: {sd.max_subjects:.0f} accrued by the final analysis at {sd.analysis_times[-1]:.1f} months "
            f"(of {sd.planned_subjects:.0f} planned over {sd.accrual.duration:.1f} months); expected events under "
            f"H1 {sd.expected_events_h1:.1f}, expected duration under H1 {sd.study_duration_h1:.1f} months"
        )
        c.print(
            f"note: accrual would run past the final analysis: the events are expected "
            f"{-sd.follow_up:.1f} months before accrual ends, so accrual stops then and the maximum number "
            f"of patients is those accrued by the final analysis (rpact's convention)"
        )
    else:
        c.print(
            f"patients: {sd.max_subjects:.0f} over {sd.accrual.duration:.1f} months of accrual; follow-up after "
            f"accrual {sd.follow_up:.1f} months; expected events under H1 {sd.expected_events_h1:.1f}, "
            f"expected duration under H1 {sd.study_duration_h1:.1f} months"
        )
    t = Table(title="Analyses")
    for col in ("look", "information", "events", "months", "expected date", "efficacy Z", "HR bound",
                "futility Z", "P(reject) H1"):
        t.add_column(col, justify="right")
    fut = list(sd.futility_bounds_hr) + [float("nan")] * g.k_max
    for k in range(g.k_max):
        fz = g.futility_bounds[k] if k < g.k_max - 1 else math.nan
        t.add_row(
            str(k + 1), f"{g.information_rates[k]:.3f}", f"{math.ceil(sd.events_per_stage[k] - 1e-9):.0f}",
            f"{sd.analysis_times[k]:.1f}", _date(p, sd.analysis_times[k]), f"{g.critical_values[k]:.4f}",
            f"{sd.critical_values_hr[k]:.4f}", "-" if not math.isfinite(fz) else f"{fz:.4f} (HR {fut[k]:.3f})",
            f"{g.rejection_probabilities[k]:.4f}",
        )
    c.print(t)


def simulate_design_cmd(
    protocol: str = typer.Argument(..., help="A bundled protocol name (e.g. patina) or a TOML path."),
    replicates: int = typer.Option(10000, "--replicates", help="Simulated trials per scenario."),
    seed: int = typer.Option(1, "--seed", help="Seed; the same seed gives the same trials however chunked."),
    hr: float = typer.Option(None, "--hr", help="True hazard ratio (default: the protocol's target HR)."),
    looks: str = LOOKS,
    spending: str = SPENDING,
    futility: str = FUTILITY,
    beta_spending: str = BETA_SPENDING,
    subjects: int = SUBJECTS,
    method: str = METHOD,
    alpha: float = ALPHA,
    power: float = POWER,
    sided: int = SIDED,
    ratio: float = RATIO,
    binding: bool = BINDING,
    hr0: float = typer.Option(
        1.0, "--hr0", help="Null hazard ratio: the simulated log-rank tests HR = 1, so only 1 (other values are "
        "refused; oncotrial design --hr0 sizes them)."),
    control_hazards: str = CONTROL_HAZARDS,
    weibull_shape: float = typer.Option(
        None, "--weibull-shape", help="Refused: the simulator draws piecewise-exponential times (oncotrial design "
        "--weibull-shape sizes a Weibull design)."),
    dropout: float = DROPOUT,
    type1: bool = typer.Option(True, "--type1/--no-type1", help="Also simulate HR 1 for the type I error."),
    power_grid: str = typer.Option(None, "--power-grid", help="True HRs for a power curve, e.g. 0.55,0.6,0.667,0.75,0.85,1"),
    plot: Path = typer.Option(None, "--plot", help="Write the power curve (needs --power-grid) to this PNG."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a Dask scheduler to run the chunks on."),
    chunk_size: int = typer.Option(2000, "--chunk-size", help="Replicates per chunk (rounded to seed blocks)."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Simulate whole trials of the design (stratified blocks, event-driven looks) and report power.

    Each power figure names its test: simulated, the stratified log-rank over the protocol's
    strata (the primary test) and the unstratified log-rank in the same trials; analytic, the
    unstratified log-rank by Schoenfeld's approximation and the stratified one with its
    expected information (``oncotrial.design.information``), all with the same bounds and events.
    """
    from oncotrial.design.from_protocol import settings_from_protocol
    from oncotrial.design.simulate import power_curve, simulate_design

    if replicates < 1:
        raise typer.BadParameter("--replicates: expected a positive integer")
    alpha_fn, beta_fn = _spending_options(spending, beta_spending)
    _check_binding(binding, futility, beta_fn)
    _check_hr0(hr0)
    if hr0 != 1.0:
        # the kernels' log-rank statistic tests HR = 1; a margin would need another statistic
        raise _fail(f"--hr0: simulate-design simulates the log-rank test of H0: HR = 1, not a null hazard ratio "
                    f"of {hr0:g} (oncotrial design --hr0 sizes such a design)")
    if weibull_shape is not None:
        raise _fail("--weibull-shape: simulate-design draws piecewise-exponential survival times; give the control "
                    "survival as --control-hazards (oncotrial design --weibull-shape sizes a Weibull design)")
    hazards = _hazard_pieces(control_hazards)
    _check_survival_options(hazards, None, dropout)
    p = _load(protocol)
    sd = _design(p, looks, alpha_fn, futility, beta_fn, subjects, method, alpha=alpha, power=power, sided=sided,
                 allocation_ratio=ratio, binding_futility=binding, control_hazards=hazards,
                 dropout_rate_per_year=dropout)
    try:
        settings = settings_from_protocol(p, sd, hazard_ratio=hr)
    except ValueError as exc:
        raise _fail(_with_option(str(exc))) from None
    true_hr = sd.hazard_ratio if hr is None else hr
    client = None
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
    grid = _floats(power_grid, "--power-grid") if power_grid else []
    scenarios = [("alternative", true_hr)] + ([("null", 1.0)] if type1 else [])
    total = replicates * (len(scenarios) + len(grid))
    results = {}
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # the bar goes to stderr so that --json output on stdout stays machine-readable
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=make_console(stderr=True), transient=as_json) as bar:
        task = bar.add_task("simulating trials", total=total)
        step = lambda n: bar.advance(task, n)  # noqa: E731
        for name, h in scenarios:
            results[name] = simulate_design(settings.with_hazard_ratio(h), replicates, seed, chunk_size, client, step)
        curve = power_curve(settings, grid, replicates, seed, chunk_size, client, step) if grid else None
    if client is not None:
        client.close()
    out = {name: r.to_dict() for name, r in results.items()}
    figures = _power_figures(settings, results["alternative"], true_hr)
    # the unlabelled key of earlier versions: the unstratified Schoenfeld figure
    out["analytic_power"] = figures["analytic_unstratified"]["value"]
    out["analytic_power_unstratified"] = figures["analytic_unstratified"]["value"]
    out["analytic_power_stratified"] = figures["analytic_stratified"]["value"]
    out["power"] = {"hazard_ratio": true_hr, "primary": "simulated_stratified", **figures}
    out["design"] = {"sided": settings.sided, "alpha": sd.design.alpha, "power": 1 - sd.design.beta,
                     "allocation": list(settings.allocation), "block_sizes": list(settings.block_sizes),
                     "binding_futility": sd.design.binding_futility, "method": sd.method,
                     "events_per_look": list(settings.events_per_look),
                     "critical_values": list(settings.critical_values),
                     "futility_bounds": list(settings.futility_bounds)}
    if curve is not None:
        out["power_curve"] = curve.to_dict()
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        _print_simulation(p, settings, results, figures, curve)
    if plot is not None:
        if curve is None:
            typer.echo("error: --plot needs --power-grid", err=True)
            raise typer.Exit(2)
        from oncotrial.design.plots import plot_power_curve

        plot_power_curve(curve, plot, title=f"{p.study.id}: power by true hazard ratio")
        typer.echo(f"power curve written to {plot}", err=as_json)


def _power_figures(settings, result, true_hr: float) -> dict:
    """The four power figures at the true HR, each with the test it belongs to."""
    from oncotrial.design.information import stratified_information_ratio
    from oncotrial.design.simulate import analytic_power, power_tests

    tests = power_tests(settings)
    return {
        "simulated_stratified": {"value": result.power, "mc_se": result.power_se, "test": tests["simulated"]},
        "simulated_unstratified": {"value": result.power_unstratified, "mc_se": result.power_unstratified_se,
                                   "test": tests["simulated_unstratified"]},
        "analytic_unstratified": {"value": analytic_power(settings, true_hr), "test": tests["analytic"]},
        "analytic_stratified": {
            "value": analytic_power(settings, true_hr, stratified=True), "test": tests["analytic_stratified"],
            "information_ratio": list(stratified_information_ratio(settings.with_hazard_ratio(true_hr)))},
    }


def _print_simulation(p, settings, results, figures, curve) -> None:
    from rich.table import Table

    c = make_console()
    c.print(f"[bold]{p.study.id}[/bold]: {settings.n_subjects} patients, {settings.n_strata} strata, "
            f"events per look {list(settings.events_per_look)}")
    t = Table(title="Simulated operating characteristics (stratified log-rank, the primary test)")
    for col in ("scenario", "true HR", "trials", "P(reject)", "MC s.e.", "P(reject) unstratified LR",
                "P(stop) by look", "E[events]", "E[months]", "HR estimate median (2.5%-97.5%)"):
        t.add_column(col, justify="right")
    for name, r in results.items():
        q = r.hr_quantiles
        t.add_row(name, f"{r.hazard_ratio:g}", str(r.n_replicates), f"{r.power:.4f}", f"{r.power_se:.4f}",
                  f"{r.power_unstratified:.4f}", ", ".join(f"{x:.3f}" for x in r.stop_by_look),
                  f"{r.expected_events:.1f}", f"{r.expected_duration:.1f}",
                  f"{q['q50']:.3f} ({q['q025']:.3f}-{q['q975']:.3f})")
    c.print(t)
    if settings.sided == 2:
        for name, r in results.items():
            c.print(f"{name}: P(reject in favour of control) {r.rejection_against:.4f}; either direction "
                    f"{r.power + r.rejection_against:.4f}")
    for name, r in results.items():
        if r.n_not_converged:
            c.print(f"{name}: the Cox fit did not converge in {r.n_not_converged} trial(s) (e.g. all events in one "
                    "arm); the HR estimate summarises the others")
    names = {"simulated_stratified": "simulated", "simulated_unstratified": "simulated",
             "analytic_unstratified": "analytic", "analytic_stratified": "analytic"}
    c.print(f"power at true HR {results['alternative'].hazard_ratio:g}, by test:")
    for key, kind in names.items():
        f = figures[key]
        se = f" (MC s.e. {f['mc_se']:.4f})" if "mc_se" in f else ""
        c.print(f"  {kind} {f['value']:.4f}{se}: {f['test']}")
    if curve is not None:
        pc = Table(title="Power curve (LR: log-rank)")
        for col in ("true HR", "simulated, stratified LR", "simulated, unstratified LR",
                    "analytic, unstratified LR (Schoenfeld)", "analytic, stratified LR"):
            pc.add_column(col, justify="right")
        for row in zip(curve.hazard_ratios, curve.simulated, curve.simulated_unstratified, curve.analytic,
                       curve.analytic_stratified):
            pc.add_row(f"{row[0]:g}", *(f"{v:.4f}" for v in row[1:]))
        c.print(pc)


def register(app: typer.Typer) -> None:
    """Add `design` and `simulate-design` to the top-level ``oncotrial`` command."""
    app.command("design")(design)
    app.command("simulate-design")(simulate_design_cmd)
