"""Figures for the design CLI (matplotlib). Computation lives elsewhere; these only draw."""

from __future__ import annotations

from pathlib import Path

from oncotrial.design.events import EventTimeline
from oncotrial.design.simulate import PowerCurve


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_event_timeline(timeline: EventTimeline, path: str | Path, title: str = "Expected events") -> Path:
    """Expected accrual and cumulative events over calendar time, analyses marked; writes a PNG."""
    plt = _pyplot()
    df = timeline.to_frame()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(df["time"], df["subjects"], color="grey", ls="--", label="patients randomized")
    ax.plot(df["time"], df["events"], color="black", label="events (both arms)")
    ax.plot(df["time"], df["events_experimental"], color="tab:blue", label="events, experimental")
    ax.plot(df["time"], df["events_control"], color="tab:red", label="events, control")
    for k, (t, d) in enumerate(zip(timeline.analysis_times, timeline.analysis_events), start=1):
        ax.axvline(t, color="tab:green", lw=0.8)
        ax.annotate(f"look {k}: {d:.1f} events\n{t:.1f} months", (t, d), xytext=(4, -28),
                    textcoords="offset points", fontsize=8)
    ax.set_xlabel("months from first randomization")
    ax.set_ylabel("number")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_power_curve(curve: PowerCurve, path: str | Path, title: str = "Power") -> Path:
    """Simulated rejection probabilities (95% Monte Carlo bands) and the analytic curves, each labelled
    with its test (stratified or unstratified log-rank); writes a PNG."""
    plt = _pyplot()
    import numpy as np

    df = curve.to_frame()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(df["hazard_ratios"], df["analytic"], color="black", label="analytic, unstratified log-rank (Schoenfeld)")
    ax.plot(df["hazard_ratios"], df["analytic_stratified"], color="tab:blue", ls="--",
            label="analytic, stratified log-rank")
    ax.errorbar(df["hazard_ratios"], df["simulated"], yerr=1.96 * np.asarray(df["simulated_se"]), fmt="o",
                color="tab:blue", capsize=3,
                label=f"simulated, stratified log-rank (primary; {curve.n_replicates} trials each)")
    ax.errorbar(df["hazard_ratios"], df["simulated_unstratified"],
                yerr=1.96 * np.asarray(df["simulated_unstratified_se"]), fmt="s", mfc="none", color="black",
                capsize=3, label="simulated, unstratified log-rank (same trials)")
    ax.set_xlabel("true hazard ratio")
    ax.set_ylabel("probability of rejecting H0")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
