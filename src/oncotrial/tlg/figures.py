"""Figures of the report as matplotlib Figures (Agg backend): KM curves, forest plot, CONSORT flow."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter  # noqa: E402

from oncotrial.analysis.results import TimeToEventAnalysis, TrialResults  # noqa: E402
from oncotrial.tlg.format import interval, num, p_text  # noqa: E402
from oncotrial.tlg.tables import arm_columns  # noqa: E402

COLORS = ("#1f5aa6", "#c0392b", "#2e8b57", "#8e44ad")
# Beyond the house colours, the arms take matplotlib's tab10 (distinct, colour-blind tolerable).
_MORE_COLORS = ("#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


def arm_color(k: int) -> str:
    """The colour of the ``k``-th arm of ``arm_order`` (any number of arms; repeats after 10)."""
    pool = COLORS + _MORE_COLORS
    return pool[k % len(pool)]


def at_risk(table: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Numbers at risk at each time from a Kaplan-Meier table.

    Nobody leaves the risk set between observed times, so the count at t is
    n_risk of the first observed time >= t (0 after the last).
    """
    t = table["time"].to_numpy()
    n = table["n_risk"].to_numpy()
    idx = np.searchsorted(t, times, side="left")
    return np.where(idx < len(t), n[np.minimum(idx, len(t) - 1)], 0).astype(int)


def _tick_step(tmax: float, unit: str) -> float:
    if unit == "months":
        return 6.0 if tmax <= 48 else 12.0
    return float(np.ceil(tmax / 8.0)) if tmax > 0 else 1.0


def km_figure(res: TimeToEventAnalysis, results: TrialResults, *, title: str = "") -> Figure:
    """Kaplan-Meier curves per arm with censoring marks, HR and p, and numbers at risk beneath."""
    codes = arm_columns(results)
    tmax = max((float(res.curves[c]["time"].max()) for c in codes if c in res.curves), default=1.0)
    step = _tick_step(tmax, res.unit)
    ticks = np.arange(0.0, tmax + step * 0.999, step)
    # The two-arm layout, in inches: 3.25 for the curves and 1.12 for the risk table; each further
    # arm adds two risk-table lines (0.45 in) so the table's type keeps its size.
    extra = 0.45 * max(len(codes) - 2, 0)
    height = 5.6 + extra
    fig = Figure(figsize=(8.0, height), dpi=110)
    ax = fig.add_axes([0.1, 0.34, 0.86, 0.58] if not extra else
                      [0.1, (0.34 * 5.6 + extra) / height, 0.86, 0.58 * 5.6 / height])
    for k, c in enumerate(codes):
        tab = res.curves.get(c)
        if tab is None or tab.empty:
            continue
        t = np.concatenate([[0.0], tab["time"].to_numpy()])
        s = np.concatenate([[1.0], tab["surv"].to_numpy()])
        a = res.arm(c)
        ax.step(t, 100 * s, where="post", color=arm_color(k), lw=1.8, gid=f"km:{c}",
                label=f"{results.arms[c]}: median {num(a.median)} ({interval(a.median_lower, a.median_upper)})")
        cens = tab[tab["n_censor"] > 0]
        ax.plot(cens["time"], 100 * cens["surv"], "|", color=arm_color(k), ms=6, mew=1, gid=f"censored:{c}")
    ax.set_xlim(0, ticks[-1])
    ax.set_ylim(0, 102)
    ax.set_xticks(ticks)
    ax.set_ylabel(f"{res.label} (%)" if len(res.label) <= 30 else "Probability (%)")
    ax.set_xlabel(f"Time since randomization ({res.unit})")
    ax.grid(alpha=0.25)
    strat = "stratified " if res.hr_stratified else ""
    lr = f"two-sided {'stratified ' if res.logrank_stratified else ''}log-rank"
    if len(codes) <= 2:
        hr_text = (f"HR ({strat}Cox) {num(res.hr, 2)} ({interval(res.hr_lower, res.hr_upper, 2)})\n"
                   f"{lr} {p_text(res.logrank_p)}")
    else:
        hr_text = "\n".join([f"HR ({strat}Cox), {lr} P, vs {results.arms[results.control]}:"] + [
            f"{results.arms[h.experimental]}: {num(h.hr, 2)} ({interval(h.hr_lower, h.hr_upper, 2)}), "
            f"{p_text(h.logrank_p)}" for h in res.comparisons])
    ax.text(0.98, 0.97, hr_text, transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.legend(loc="lower left", fontsize=8.5, frameon=False)
    ax.set_title(title or res.label, fontsize=11)
    rk = fig.add_axes([0.1, 0.02, 0.86, 0.2] if not extra else
                      [0.1, 0.02 * 5.6 / height, 0.86, (0.2 * 5.6 + extra) / height], gid="risk_table")
    rk.set_xlim(ax.get_xlim())
    rows = 2 * len(codes) + 1
    rk.set_ylim(0, rows)
    rk.axis("off")
    rk.text(0, rows - 0.5, "Number at risk", fontsize=8.5, fontweight="bold", va="center")
    for k, c in enumerate(codes):
        if c not in res.curves:
            continue
        y = rows - 1.5 - 2 * k
        rk.text(0, y, results.arms[c], ha="left", va="center", fontsize=8, color=arm_color(k), gid=f"risk:{c}")
        for tt, n in zip(ticks, at_risk(res.curves[c], ticks)):
            rk.text(tt, y - 1, str(n), ha="center", va="center", fontsize=8, color=arm_color(k))
    return fig


def forest_figure(results: TrialResults, experimental: str | None = None) -> Figure:
    """Forest plot: HR with CI overall and within each subgroup level, on a log scale.

    ``experimental`` picks one comparison (that arm vs the control) from
    ``results.subgroups_by_comparison``; it is needed with three or more arms, where the
    report draws one forest plot per comparison. Without it the two-arm analysis is drawn.
    """
    if experimental is None:
        if results.subgroups is None:
            known = ", ".join(results.subgroups_by_comparison) or "none"
            raise ValueError(f"forest_figure: {results.study} has no single comparison; give experimental= "
                             f"one of {known}")
        sg = results.subgroups
    elif experimental in results.subgroups_by_comparison:
        sg = results.subgroups_by_comparison[experimental]
    else:
        known = ", ".join(results.subgroups_by_comparison) or "none"
        raise ValueError(f"forest_figure: experimental={experimental!r} has no subgroup analysis; known: {known}")
    exp_code, ctl_code = sg.experimental, sg.control
    rows = [sg.overall, *sg.rows]
    # A header line before each subgroup's levels.
    display = []
    last = None
    for r in rows:
        if r.subgroup != "overall" and r.subgroup != last:
            display.append((r.label, None))
            last = r.subgroup
        display.append((("All patients" if r.subgroup == "overall" else f"   {r.level}"), r))
    h = 0.28 * len(display) + 1.2
    fig = Figure(figsize=(9.0, h), dpi=110)
    ax = fig.add_axes([0.38, 0.9 / h, 0.34, 1 - 1.3 / h])
    y = np.arange(len(display))[::-1]
    finite = [v for _, r in display if r is not None for v in (r.hr_lower, r.hr_upper) if np.isfinite(v) and v > 0]
    lo = min(finite + [0.25]) * 0.9
    hi = max(finite + [2.0]) * 1.1
    for yy, (lab, r) in zip(y, display):
        ax.text(-0.02, yy, lab, transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=8.5,
                fontweight="bold" if r is None or r.subgroup == "overall" else "normal")
        if r is None:
            continue
        cols = [exp_code, ctl_code]
        ax.text(1.03, yy, f"{num(r.hr, 2)} ({interval(r.hr_lower, r.hr_upper, 2)})", transform=ax.get_yaxis_transform(),
                ha="left", va="center", fontsize=8)
        ax.text(1.45, yy, " / ".join(f"{r.events[c]}/{r.n[c]}" for c in cols), transform=ax.get_yaxis_transform(),
                ha="left", va="center", fontsize=8)
        if np.isfinite(r.hr) and r.hr > 0:
            ax.plot([max(r.hr_lower, lo) if np.isfinite(r.hr_lower) else lo,
                     min(r.hr_upper, hi) if np.isfinite(r.hr_upper) else hi], [yy, yy], color="black", lw=1)
            ax.plot([r.hr], [yy], "D" if r.subgroup == "overall" else "s", color=COLORS[0], ms=5)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.7, len(display) - 0.3)
    ax.set_yticks([])
    ticks = [t for t in (0.25, 0.5, 1, 2, 4) if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"Hazard ratio ({100 * sg.conf_level:g}% CI)\n"
                  f"← favours {results.arms[exp_code]}   favours {results.arms[ctl_code]} →",
                  fontsize=8.5)
    ax.text(1.03, len(display) - 0.2, f"HR ({100 * sg.conf_level:g}% CI)", transform=ax.get_yaxis_transform(), fontsize=8.5,
            fontweight="bold", va="bottom")
    ax.text(1.45, len(display) - 0.2, "Events/N (" + " / ".join(results.arms[c] for c in (exp_code, ctl_code)) + ")",
            transform=ax.get_yaxis_transform(), fontsize=8.5, fontweight="bold", va="bottom")
    title = f"{sg.paramcd} by subgroup"
    if len(arm_columns(results)) > 2:
        title += f": {results.arms[exp_code]} vs {results.arms[ctl_code]}"
    ax.set_title(title, fontsize=10, loc="left")
    return fig


def consort_figure(results: TrialResults) -> Figure:
    """CONSORT-style flow: a box per stage and arm, stages top to bottom."""
    codes = arm_columns(results)
    steps = list(results.flow)
    fig = Figure(figsize=(8.0 if len(codes) <= 2 else 3.4 * len(codes), 1.0 + 0.9 * (len(steps) + 1)), dpi=110)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.axis("off")
    n = len(steps) + 1
    ax.set_xlim(0, 1)
    ax.set_ylim(0, n)
    total = sum(results.n_randomized.values())
    box = dict(boxstyle="round,pad=0.4", fc="#eef3fb", ec="#1f5aa6")
    ax.text(0.5, n - 0.5, f"Randomized (N={total})", ha="center", va="center", fontsize=10, bbox=box)
    xs = (0.27, 0.73) if len(codes) == 2 else tuple((i + 0.5) / len(codes) for i in range(len(codes)))
    for x in xs:
        ax.annotate("", xy=(x, n - 1.25), xytext=(0.5, n - 0.75), arrowprops=dict(arrowstyle="->", color="#555"))
    for i, s in enumerate(steps):
        y = n - 1.5 - i
        for x, c in zip(xs, codes):
            label = f"{results.arms[c]}\n{s.stage}: {s.count.get(c, 0)}" if i == 0 else f"{s.stage}: {s.count.get(c, 0)}"
            ax.text(x, y, label, ha="center", va="center", fontsize=9, bbox=box, gid=f"flow:{c}:{i}")
            if i + 1 < len(steps):
                ax.annotate("", xy=(x, y - 0.68), xytext=(x, y - 0.3), arrowprops=dict(arrowstyle="->", color="#555"))
    return fig


def waterfall_figure(adtr: pd.DataFrame, results: TrialResults) -> Figure:
    """Best percent change of the sum of target diameters per patient (ADTR ``BPCHG``), one bar each,
    largest growth to deepest shrinkage, coloured by arm, with RECIST 1.1's PR (-30%) and PD (+20%) lines."""
    best = adtr[(adtr["PARAMCD"] == "BPCHG") & adtr["AVAL"].notna()]
    arm_col = "ARMCD" if "ARMCD" in best.columns else "ARM"
    best = best.sort_values("AVAL", ascending=False, kind="stable")
    codes = arm_columns(results)
    fig = Figure(figsize=(8.0, 4.6), dpi=110)
    ax = fig.add_axes([0.1, 0.14, 0.86, 0.76])
    x = np.arange(len(best))
    arms = best[arm_col].astype(str).to_numpy()
    for k, c in enumerate(codes):
        sel = arms == c
        ax.bar(x[sel], best["AVAL"].to_numpy()[sel], width=1.0, color=arm_color(k),
               label=f"{results.arms.get(c, c)} (n = {int(sel.sum())})")
    other = ~np.isin(arms, codes)
    if other.any():
        ax.bar(x[other], best["AVAL"].to_numpy()[other], width=1.0, color="#999999", label="other")
    for y, text in ((20.0, "+20% (PD)"), (-30.0, "-30% (PR)")):
        ax.axhline(y, color="#444444", lw=0.8, ls="--")
        ax.text(len(best) * 1.0, y, f" {text}", va="center", fontsize=8, color="#444444")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xlim(-1, max(len(best), 1))
    ax.set_xticks([])
    ax.set_xlabel("Patients with target lesions and an assessment, by best change")
    ax.set_ylabel("Best change from baseline in sum of diameters (%)")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    return fig


def spider_figure(adtr: pd.DataFrame, results: TrialResults) -> Figure:
    """Percent change of the sum of target diameters from baseline over time (ADTR ``SDIAM``), one line
    per patient, one panel per arm, with RECIST 1.1's PR (-30%) and PD (+20%) lines."""
    sd = adtr[(adtr["PARAMCD"] == "SDIAM") & adtr["PCHG"].notna()].copy()
    arm_col = "ARMCD" if "ARMCD" in sd.columns else "ARM"
    start = pd.to_datetime(sd["RANDDT"]) if "RANDDT" in sd.columns else sd.groupby("USUBJID")["ADT"].transform("min")
    sd["WEEKS"] = (pd.to_datetime(sd["ADT"]) - start).dt.days.clip(lower=0) / 7.0
    if "ABLFL" in sd.columns:
        sd.loc[sd["ABLFL"] == "Y", "WEEKS"] = 0.0  # every line starts at its baseline
    codes = arm_columns(results)
    # 4.5 inches per panel; with two arms that is the 9-inch figure of panels 0.47 apart, 0.42 wide.
    fig = Figure(figsize=(4.5 * len(codes), 4.2), dpi=110)
    step = 0.94 / len(codes)
    axes = [fig.add_axes([0.08 + step * k, 0.14, step - 0.05, 0.74]) for k in range(len(codes))]
    top = float(np.nanmax(sd["PCHG"])) if len(sd) else 20.0
    for k, (ax, c) in enumerate(zip(axes, codes)):
        arm = sd[sd[arm_col].astype(str) == c]
        for _, one in arm.groupby("USUBJID", sort=False):
            one = one.sort_values("WEEKS")
            ax.plot(one["WEEKS"], one["PCHG"], color=arm_color(k), lw=0.6, alpha=0.5)
        for y in (20.0, -30.0):
            ax.axhline(y, color="#444444", lw=0.8, ls="--")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_ylim(-105, max(top, 25.0) + 5)
        ax.set_title(f"{results.arms.get(c, c)} (n = {arm['USUBJID'].nunique()})", fontsize=9)
        ax.set_xlabel("Weeks since randomization")
    axes[0].set_ylabel("Change from baseline in sum of diameters (%)")
    return fig


def boundary_figure(boundaries: list[dict], *, observed_z: list[float] | None = None,
                    current_rate: float | None = None, title: str = "") -> Figure:
    """Group-sequential boundaries on the Z scale against the information rate, and where the trial stands.

    ``boundaries`` are rows with ``information_rate``, ``critical_value`` and ``futility_bound``
    (-inf: none), one per look. ``observed_z`` (the closed report) draws the trial's statistic at
    the looks done; ``current_rate`` (the open report) only marks how far the information has come.
    """
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    t = np.array([b["information_rate"] for b in boundaries], dtype=float)
    crit = np.array([b["critical_value"] for b in boundaries], dtype=float)
    fut = np.array([b["futility_bound"] for b in boundaries], dtype=float)
    ax.plot(t, crit, "o-", color=COLORS[2], label="efficacy boundary (reject H0)")
    shown = np.isfinite(fut) & (fut > -8)
    shown[-1] = False  # the last look's "futility bound" is its critical value, not a futility stop
    if shown.any():
        ax.plot(t[shown], fut[shown], "s--", color=COLORS[1], label="futility bound")
    if observed_z is not None:
        k = len(observed_z)
        ax.plot(t[:k], observed_z, "D-", color=COLORS[0], ms=7, label="observed Z")
    if current_rate is not None:
        ax.axvline(current_rate, color="grey", ls=":", label=f"information now ({current_rate:.0%})")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlim(0, max(1.05, float(t.max()) + 0.05))
    ax.set_xlabel("Information rate (events / planned maximum)")
    ax.set_ylabel("Z (large favours the experimental arm)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a base64 data URI, for embedding in a self-contained page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_base64(fig: Figure) -> str:
    """The figure as a base64 data URI, for embedding in a self-contained page."""
    return png_data_uri(png_bytes(fig))


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write the figure as PNG; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(png_bytes(fig))
    return p
