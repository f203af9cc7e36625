"""`oncotrial randomization ...`: generate and verify allocation lists, simulate balance."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import typer

# the algorithms are imported inside each command: `oncotrial --help` must not load numpy

randomization_app = typer.Typer(
    help="Allocation lists (generate, verify) and balance simulations.", no_args_is_help=True
)


class ListMethod(str, Enum):
    blocks = "blocks"
    simple = "simple"


class SimMethod(str, Enum):
    blocks = "blocks"
    simple = "simple"
    minimization = "minimization"


class Format(str, Enum):
    text = "text"
    json = "json"


def _settings(protocol: str) -> dict[str, Any]:
    """The randomization settings of a protocol as plain arguments for this package."""
    from oncotrial.protocol import load_protocol  # imported late: only the protocol-driven commands need it

    p = load_protocol(protocol)
    levels = p.strata_levels
    return {
        "study": p.study.id,
        "method": p.randomization.method,
        "strata_levels": levels,
        "prevalence": {f.name: [lv.prevalence for lv in f.levels] for f in p.stratification_factors if f.name in levels},
        "arms": [a.code for a in p.arms],
        "ratio": [a.ratio for a in p.arms],
        "block_sizes": list(p.randomization.block_sizes),
        "seed": p.randomization.seed,
        "p_best": p.randomization.minimization_p_best,
        "n": p.accrual.randomized_n or p.accrual.target_n,
        "n_sites": p.accrual.n_sites,
    }


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@randomization_app.command("list")
def list_command(
    protocol: str = typer.Option(..., "--protocol", help="A bundled protocol name (e.g. patina) or a TOML path."),
    per_stratum: int = typer.Option(..., "--per-stratum", help="Slots per stratum (rounded up to whole blocks)."),
    out: Path = typer.Option(..., "--out", help="The CSV file to write."),
    seed: int = typer.Option(None, "--seed", help="Random seed; default: the protocol's randomization.seed."),
    method: ListMethod = typer.Option(ListMethod.blocks, "--method", help="blocks: stratified permuted blocks; simple."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it already exists."),
) -> None:
    """Generate a checksummed allocation list for a protocol and write it as CSV."""
    from oncotrial.randomization.blocks import generate_permuted_blocks
    from oncotrial.randomization.listfile import write_allocation_list
    from oncotrial.randomization.simple import generate_simple

    try:
        if out.exists() and not force:
            # an allocation list is a trial record: never replace one by accident
            raise ValueError(f"--out: {out} already exists; pass --force to replace it")
        s = _settings(protocol)
        use_seed = s["seed"] if seed is None else seed
        if method is ListMethod.blocks:
            alloc = generate_permuted_blocks(s["strata_levels"], s["arms"], s["ratio"], s["block_sizes"], per_stratum, use_seed)
        else:
            alloc = generate_simple(s["strata_levels"], s["arms"], s["ratio"], per_stratum, use_seed)
        write_allocation_list(alloc, out)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{out}: {len(alloc)} rows in {len(alloc.strata)} strata, seed {alloc.seed}, sha256 {alloc.checksum}")


@randomization_app.command("verify")
def verify_command(
    file: Path = typer.Argument(..., help="An allocation list CSV written by `oncotrial randomization list`."),
    format: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """Verify an allocation list: checksum, row chain and block structure. Exit 1 if it fails."""
    from oncotrial.randomization.listfile import verify_allocation_list

    try:
        v = verify_allocation_list(file)
    except ValueError as exc:
        typer.echo(f"FAILED {exc}", err=True)
        raise typer.Exit(1) from None
    if format is Format.json:
        typer.echo(json.dumps(v.to_dict(), indent=2))
        return
    counts = ", ".join(f"{a}={n}" for a, n in v.arm_counts)
    typer.echo(f"OK {file}: {v.n_rows} rows, {v.n_strata} strata, {v.n_blocks} blocks ({counts}); "
               f"method {v.method}, seed {v.seed}, sha256 {v.checksum}")


@randomization_app.command("simulate")
def simulate_command(
    protocol: str = typer.Option(..., "--protocol", help="A bundled protocol name (e.g. patina) or a TOML path."),
    method: SimMethod = typer.Option(..., "--method", help="blocks, simple or minimization."),
    trials: int = typer.Option(10000, "--trials", help="Number of simulated trials."),
    n: int = typer.Option(None, "--n", help="Patients per trial; default: the protocol's randomized (or target) n."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulation."),
    sites: bool = typer.Option(False, "--sites/--no-sites", help="Minimization: add the protocol's sites as a factor."),
    site_weight: float = typer.Option(1.0, "--site-weight", help="Minimization: weight of the site factor."),
    p_best: float = typer.Option(None, "--p-best", help="Minimization: biased-coin probability; default from protocol."),
    imbalance: str = typer.Option("range", "--imbalance", help="Minimization: range or variance."),
    out: Path = typer.Option(None, "--out", help="Also write the per-trial imbalances to this CSV."),
    format: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """Simulate many trials and summarise the largest within-stratum, marginal and overall imbalance."""
    from oncotrial.randomization.simulation import simulate_balance

    try:
        if sites and method is not SimMethod.minimization:
            raise ValueError(f"--sites: only minimization uses sites as a factor, not --method {method.value}")
        s = _settings(protocol)
        sim = simulate_balance(
            method.value,
            n=s["n"] if n is None else n,
            trials=trials,
            strata_levels=s["strata_levels"],
            prevalence=s["prevalence"],
            arms=s["arms"],
            ratio=s["ratio"],
            block_sizes=s["block_sizes"],
            imbalance_kind=imbalance,
            p_best=s["p_best"] if p_best is None else p_best,
            n_sites=s["n_sites"] if sites else None,
            site_weight=site_weight,
            seed=seed,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        sim.to_frame().to_csv(out, index=False)
    if format is Format.json:
        d = sim.to_dict()
        d["distribution_max_stratum_imbalance"] = sim.distribution("max_stratum_imbalance").to_dict(orient="records")
        typer.echo(json.dumps(d, indent=2))
        return
    typer.echo(f"{s['study']}: {sim.trials} simulated trials of {sim.n} patients, method {sim.method}, "
               f"{len(sim.strata)} strata, seed {sim.seed}")
    typer.echo("Imbalance = range of n_arm / ratio (|n_A - n_B| for 1:1).")
    typer.echo(sim.summary().drop(columns="method").to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    typer.echo("\nLargest within-stratum imbalance:")
    dist = sim.distribution("max_stratum_imbalance")
    typer.echo(dist.to_string(index=False, formatters={"value": "{:g}".format, "proportion": "{:.4f}".format,
                                                       "cumulative": "{:.4f}".format}))
