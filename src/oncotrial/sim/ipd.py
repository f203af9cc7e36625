"""Individual patient data from digitized Kaplan-Meier curves (Guyot et al., BMC Med Res Methodol 2012;12:9).

A digitized curve says when the survival drops and by how much; the numbers-at-risk table says how
many patients are left at each of its times. Per arm and per interval between two risk times, the
algorithm searches the number of patients censored in the interval (spread evenly over it) whose
reconstructed Kaplan-Meier reproduces the curve's drops *and* the next number at risk; the drops
then give the events. In the last interval, for which no later number at risk exists, the number
censored is either the total number of events (when reported) solved for, or the censoring rate of
the earlier intervals carried on.

The points are cleaned first, because nobody reads a plot exactly: they are sorted by time, held to
[0, 1], made non-increasing by antitonic (pool-adjacent-violators) regression, and anchored at
(0, 1). Antitonic regression rather than a running minimum because noise on a flat stretch of the
curve would pull a running minimum steadily below the true level (by about one noise standard
deviation per few points), which reads as events that did not happen; pooling averages the noise
out instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

CURVE_COLUMNS = ("arm", "time", "survival")
RISK_COLUMNS = ("arm", "time", "n_risk")
# how far outside [0, 1] a digitized survival may stray before it is refused rather than clipped:
# a digitizer's reading error is well under this, a value of 1.3 or a percentage is not noise
SURVIVAL_TOLERANCE = 0.02
MAX_ITER = 100


@dataclass(frozen=True)
class ArmDiagnostics:
    """How one arm's reconstruction went.

    ``n_risk_table`` is the risk table at the ``risk_times`` used and ``n_risk_reconstructed`` the
    number at risk in the reconstructed data at the same times; they are equal wherever the search
    ``converged``. ``risk_times_dropped`` are risk times after the curve's last point (nothing is
    known there). ``points_adjusted`` counts the digitized points whose survival the cleaning moved
    by more than 1e-9 (clipping to [0, 1] or the monotone fit).
    """

    arm: str
    n: int
    events: int
    censored: int
    total_events: int | None
    points_read: int
    points_used: int
    points_adjusted: int
    risk_times: tuple[float, ...]
    risk_times_dropped: tuple[float, ...]
    n_risk_table: tuple[int, ...]
    n_risk_reconstructed: tuple[int, ...]
    iterations: tuple[int, ...]
    converged: bool
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The diagnostics as plain JSON-ready values."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class IPDResult:
    """Reconstructed individual patient data: one row per patient, arms in the curve file's order.

    ``to_frame()`` gives columns arm, time, event (1 event, 0 censored); ``diagnostics`` one
    :class:`ArmDiagnostics` per arm; ``summary()`` per arm n, events, censored and the Kaplan-Meier
    median of the reconstructed data.
    """

    arms: tuple[str, ...]
    diagnostics: tuple[ArmDiagnostics, ...]
    _arm: np.ndarray = field(repr=False, compare=False)
    _time: np.ndarray = field(repr=False, compare=False)
    _event: np.ndarray = field(repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The data, columns arm, time, event."""
        return pd.DataFrame({"arm": self._arm.copy(), "time": self._time.copy(),
                             "event": self._event.astype(np.int64)})

    def arm(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(time, event) of one arm."""
        if name not in self.arms:
            raise ValueError(f"arm: {name!r} is not one of {list(self.arms)}")
        keep = self._arm == name
        return self._time[keep].copy(), self._event[keep].astype(np.int64)

    def summary(self) -> list[dict[str, Any]]:
        """Per arm: n, events, censored and the KM median (None where not reached)."""
        from oncotrial.stats import km

        rows = []
        for d in self.diagnostics:
            t, e = self.arm(d.arm)
            med = km(t, e).median
            rows.append({"arm": d.arm, "n": d.n, "events": d.events, "censored": d.censored,
                         "median": None if math.isnan(med) else med})
        return rows


def ipd_from_km(curve: pd.DataFrame, risk: pd.DataFrame, *, total_events: Mapping[str, int] | None = None,
                curve_name: str = "curve", risk_name: str = "risk") -> IPDResult:
    """Reconstruct individual patient data from digitized KM curves and their numbers at risk (Guyot 2012).

    Parameters
    ----------
    curve : columns arm, time, survival (a proportion): the points read off the plot, any order.
    risk : columns arm, time, n_risk: the numbers-at-risk table; every arm needs a row at time 0.
    total_events : the reported number of events per arm, where known; it fixes the last interval.
    curve_name, risk_name : what error messages call the two tables (the CLI passes the file names).

    Rows in messages are counted from 1 over the data rows (the header is not a row).

    Example
    -------
    Ten patients, events at 1, 2, 4 and 5, read off the plot exactly:

    >>> curve = pd.DataFrame({"arm": "A", "time": [1, 1, 2, 2, 4, 4, 5, 5, 6],
    ...                       "survival": [1, .9, .9, .8, .8, .7, .7, .6, .6]})
    >>> risk = pd.DataFrame({"arm": "A", "time": [0, 3], "n_risk": [10, 7]})
    >>> ipd = ipd_from_km(curve, risk, total_events={"A": 4})
    >>> df = ipd.to_frame()
    >>> df.loc[df.event == 1, "time"].tolist()
    [1.0, 2.0, 4.0, 5.0]
    >>> int(df.shape[0]), ipd.diagnostics[0].converged
    (10, True)
    """
    c = _read_table(curve, curve_name, CURVE_COLUMNS)
    r = _read_table(risk, risk_name, RISK_COLUMNS)
    _check_values(c, r, curve_name, risk_name)
    arms = tuple(dict.fromkeys(c["arm"]))
    risk_arms = tuple(dict.fromkeys(r["arm"]))
    for a in arms:
        if a not in risk_arms:
            raise ValueError(f"{risk_name}: arm {a!r} of {curve_name} has no rows; expected its numbers at risk")
    for a in risk_arms:
        if a not in arms:
            raise ValueError(f"{curve_name}: arm {a!r} of {risk_name} has no points; expected its digitized curve")
    events = _check_total_events(total_events, arms, r)

    out_arm, out_t, out_e, diags = [], [], [], []
    for a in arms:
        ca = c[c["arm"] == a]
        ra = r[r["arm"] == a]
        t, e, d = _one_arm(a, ca["time"].to_numpy(float), ca["survival"].to_numpy(float),
                           ra["time"].to_numpy(float), ra["n_risk"].to_numpy(float).astype(np.int64),
                           events.get(a))
        out_arm.append(np.full(t.size, a, dtype=object))
        out_t.append(t)
        out_e.append(e)
        diags.append(d)
    return IPDResult(arms, tuple(diags), np.concatenate(out_arm), np.concatenate(out_t), np.concatenate(out_e))


# ---------------------------------------------------------------------------------------- checks

def _read_table(df: pd.DataFrame, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name}: expected a table with columns {', '.join(columns)}, got {type(df).__name__}")
    cols = {str(k).strip(): k for k in df.columns}
    missing = [k for k in columns if k not in cols]
    if missing:
        raise ValueError(f"{name}: no column {missing[0]!r}; expected columns {', '.join(columns)}"
                         f" (found {', '.join(map(str, cols)) or 'none'})")
    if len(df) == 0:
        raise ValueError(f"{name}: no rows; expected at least one per arm")
    out = pd.DataFrame(index=range(len(df)))
    arm = df[cols["arm"]].reset_index(drop=True)
    blank = arm.isna() | (arm.astype(str).str.strip() == "")
    if blank.any():
        raise ValueError(f"{name} row {int(np.flatnonzero(blank)[0]) + 1}: arm is empty; expected an arm name")
    out["arm"] = arm.astype(str).str.strip()
    for k in columns[1:]:
        raw = df[cols[k]].reset_index(drop=True)
        num = pd.to_numeric(raw.astype(str).str.strip() if raw.dtype == object else raw, errors="coerce")
        bad = num.isna() | ~np.isfinite(num.to_numpy(float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} row {i + 1}: {k} is {raw.iloc[i]!r}; expected a number")
        out[k] = num.to_numpy(float)
    return out


def _check_values(c: pd.DataFrame, r: pd.DataFrame, cn: str, rn: str) -> None:
    for name, df in ((cn, c), (rn, r)):
        neg = np.flatnonzero(df["time"].to_numpy() < 0)
        if neg.size:
            i = int(neg[0])
            raise ValueError(f"{name} row {i + 1}: time is {float(df['time'].iloc[i])!r}; expected a time >= 0")
    s = c["survival"].to_numpy()
    bad = np.flatnonzero((s < -SURVIVAL_TOLERANCE) | (s > 1 + SURVIVAL_TOLERANCE))
    if bad.size:
        i = int(bad[0])
        hint = " (a percentage? divide by 100)" if s.max() > 1.5 else ""
        raise ValueError(f"{cn} row {i + 1}: survival is {float(s[i])!r}; expected a proportion between 0 and 1{hint}")
    n = r["n_risk"].to_numpy()
    bad = np.flatnonzero((n < 0) | (n != np.round(n)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{rn} row {i + 1}: n_risk is {float(n[i])!r}; expected a whole number >= 0")
    for a, g in r.groupby("arm", sort=False):
        order = np.argsort(g["time"].to_numpy(), kind="stable")
        t, nr, rows = g["time"].to_numpy()[order], g["n_risk"].to_numpy()[order], g.index.to_numpy()[order]
        if t[0] != 0:
            raise ValueError(f"{rn} row {rows[0] + 1}: arm {a!r} starts at time {float(t[0])!r}; expected a first row "
                             f"at time 0 with the number of patients")
        dup = np.flatnonzero(np.diff(t) == 0)
        if dup.size:
            raise ValueError(f"{rn} row {rows[dup[0] + 1] + 1}: arm {a!r} has time {float(t[dup[0]])!r} twice; "
                             f"expected one number at risk per time")
        up = np.flatnonzero(np.diff(nr) > 0)
        if up.size:
            k = up[0] + 1
            raise ValueError(f"{rn} row {rows[k] + 1}: arm {a!r} has n_risk {int(nr[k])} at time {float(t[k])!r}, more than "
                             f"{int(nr[k - 1])} at time {float(t[k - 1])!r}; expected numbers at risk that never increase")
        if nr[0] == 0:
            raise ValueError(f"{rn} row {rows[0] + 1}: arm {a!r} has no patients at time 0; expected n_risk > 0")


def _check_total_events(total: Mapping[str, int] | None, arms: tuple[str, ...], r: pd.DataFrame) -> dict[str, int]:
    if total is None:
        return {}
    out = {}
    for a, v in total.items():
        if a not in arms:
            raise ValueError(f"total_events: arm {a!r} is not in the curve (arms: {', '.join(arms)})")
        try:
            n_ev = int(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"total_events: arm {a!r} has {v!r}; expected a whole number") from exc
        n0 = int(r.loc[(r["arm"] == a) & (r["time"] == 0), "n_risk"].iloc[0])
        if n_ev != v or not 0 <= n_ev <= n0:
            raise ValueError(f"total_events: arm {a!r} has {v!r}; expected a whole number between 0 and {n0} "
                             f"(the number at risk at time 0)")
        out[a] = n_ev
    return out


# -------------------------------------------------------------------------------------- cleaning

def _antitonic(y: np.ndarray) -> np.ndarray:
    """The non-increasing sequence closest to ``y`` in least squares (pool adjacent violators)."""
    vals: list[float] = []
    counts: list[int] = []
    for v in y.tolist():
        vals.append(v)
        counts.append(1)
        while len(vals) > 1 and vals[-2] < vals[-1]:
            n = counts[-2] + counts[-1]
            vals[-2] = (vals[-2] * counts[-2] + vals[-1] * counts[-1]) / n
            counts[-2] = n
            vals.pop()
            counts.pop()
    return np.repeat(vals, counts)


def _clean(t: np.ndarray, s: np.ndarray, risk_t: np.ndarray, risk_n: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, int, list[str]]:
    """Sorted, non-increasing points from (0, 1); returns them, the count moved, and notes."""
    notes = []
    order = np.lexsort((-s, t))  # at one time, read the higher point first: it is the top of a drop
    t, s = t[order], s[order]
    clipped = np.clip(s, 0.0, 1.0)
    keep = t > 0  # the anchor (0, 1) replaces anything read at time 0
    t, s_raw, clipped = t[keep], s[keep], clipped[keep]
    fitted = _antitonic(clipped) if t.size else clipped
    moved = int(np.sum(np.abs(fitted - s_raw) > 1e-9))
    # nobody is at risk after the table's first zero, and nothing is left to fall after survival 0
    zero_risk = np.flatnonzero(risk_n == 0)
    stop = np.inf if zero_risk.size == 0 else risk_t[zero_risk[0]]
    at_zero = np.flatnonzero(fitted <= 0)
    if at_zero.size:
        stop = min(stop, t[at_zero[0]])
    after = t > stop
    if after.any():
        notes.append(f"{int(after.sum())} point(s) after time {stop:g} dropped (nobody left at risk)")
        t, fitted = t[~after], fitted[~after]
    return np.concatenate([[0.0], t]), np.concatenate([[1.0], fitted]), moved, notes


# ------------------------------------------------------------------------------------- algorithm

def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


class _Curve:
    """One arm's cleaned points, with the interval bookkeeping the passes share."""

    def __init__(self, t: np.ndarray, s: np.ndarray):
        self.t = t
        self.s = s
        self.d = np.zeros(t.size, dtype=np.int64)
        self.cen = np.zeros(t.size, dtype=np.int64)

    def run(self, lo: int, hi: int, t_end: float, n_cens: int, n_start: int, km_last: float
            ) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
        """Events and censoring in points lo..hi given ``n_cens`` censored spread evenly over [t[lo], t_end).

        Returns the number at risk after the interval, the KM at its last event, and d, cen and the
        censoring times of the interval.
        """
        t, s = self.t, self.s
        m = hi - lo + 1
        ct = t[lo] + np.arange(1, n_cens + 1) * (t_end - t[lo]) / (n_cens + 1)
        # a censoring time belongs to the point before it: censored after that point's events
        bins = np.searchsorted(t[lo:hi + 1], ct, side="right") - 1
        cen = np.bincount(bins, minlength=m).astype(np.int64)
        d = np.zeros(m, dtype=np.int64)
        n_hat = n_start
        for j in range(m):
            k = lo + j
            if k > 0 and n_hat > 0 and km_last > 0:
                d[j] = min(max(_round(n_hat * (1 - s[k] / km_last)), 0), n_hat)
                if d[j]:
                    km_last *= 1 - d[j] / n_hat
            if cen[j] > n_hat - d[j]:
                cen[j] = n_hat - d[j]
            n_hat -= d[j] + cen[j]
        if cen.sum() < ct.size:  # ran out of patients: keep the earliest censoring times
            ct = np.concatenate([ct[bins == j][:cen[j]] for j in range(m)])
        return n_hat, km_last, d, cen, ct


def _search(n_cens: int, n_max: int, run, gap_of) -> tuple[tuple, int]:
    """Guyot's search for the number censored in an interval: ``run(n)`` -> a pass, ``gap_of(pass)`` ->
    how many too many patients (left at risk, or events) it has; each is removed by censoring as many
    more. Stops at a gap of 0, at a bound (0 or ``n_max`` censored) or when it cycles, and returns
    the pass of smallest gap (then fewest censored) with the number of passes run.
    """
    tried: dict[int, tuple] = {}
    for it in range(1, MAX_ITER + 1):
        n_cens = min(max(n_cens, 0), n_max)
        if n_cens in tried:
            break
        tried[n_cens] = res = run(n_cens)
        gap = gap_of(res)
        if gap == 0 or (gap < 0 and n_cens == 0) or (gap > 0 and n_cens == n_max):
            break
        n_cens += gap
    best = min(tried, key=lambda k: (abs(gap_of(tried[k])), k))
    return tried[best], it


def _one_arm(arm: str, t_raw: np.ndarray, s_raw: np.ndarray, risk_t: np.ndarray, risk_n: np.ndarray,
             total_events: int | None) -> tuple[np.ndarray, np.ndarray, ArmDiagnostics]:
    order = np.argsort(risk_t, kind="stable")
    risk_t, risk_n = risk_t[order], risk_n[order]
    t, s, moved, notes = _clean(t_raw, s_raw, risk_t, risk_n)
    t_last = t[-1]
    beyond = risk_t > t_last
    dropped = tuple(float(x) for x in risk_t[beyond])
    if np.any(risk_n[beyond] > 0):  # patients said to be at risk where the curve no longer says anything
        notes.append(f"risk time(s) {', '.join(f'{x:g}' for x in dropped)} after the curve's last point "
                     f"({t_last:g}) ignored")
    keep = (risk_t <= t_last) | (risk_t == 0)
    risk_t, risk_n = risk_t[keep], risk_n[keep]
    # a point at every risk time, on the step function, so that each interval starts at a point
    extra = np.setdiff1d(risk_t[risk_t > 0], t)
    if extra.size:
        s_at = s[np.searchsorted(t, extra, side="right") - 1]
        t_all = np.concatenate([t, extra])
        o = np.argsort(t_all, kind="stable")
        t, s = t_all[o], np.concatenate([s, s_at])[o]
    lower = np.searchsorted(t, risk_t, side="left")
    cv = _Curve(t, s)
    n_int = risk_t.size
    iterations, mismatch = [], []
    n_start = int(risk_n[0])
    km_last = 1.0
    cen_times: list[np.ndarray] = []
    for i in range(n_int - 1):
        lo, hi, target = int(lower[i]), int(lower[i + 1]) - 1, int(risk_n[i + 1])
        ratio = s[lower[i + 1]] / s[lo] if s[lo] > 0 else 0.0
        n_cens = max(_round(n_start * ratio - target), 0)
        run = lambda nc: cv.run(lo, hi, t[lower[i + 1]], nc, n_start, km_last)  # noqa: E731
        (n_hat, km_last, d, cen, ct), it = _search(n_cens, n_start, run, lambda res: res[0] - target)
        iterations.append(it)
        if n_hat != target:
            mismatch.append(i + 1)
        cv.d[lo:hi + 1], cv.cen[lo:hi + 1] = d, cen
        cen_times.append(ct)
        # the next interval starts from the patients actually left, so that no patient is made or lost
        n_start = n_hat

    lo, hi = int(lower[-1]), t.size - 1
    span = t[hi] - t[lo]
    if n_int > 1 and risk_t[-1] > 0:
        rate = sum(int(c.size) for c in cen_times) / risk_t[-1]
        n_cens = min(_round(rate * span), n_start)
    else:
        n_cens = 0
    before = int(cv.d[:lo].sum())

    # in the last interval the censored are spread up to its last point, not beyond
    run = lambda nc: cv.run(lo, hi, t[hi], nc, n_start, km_last)  # noqa: E731
    if total_events is None:
        res, it = run(n_cens), 1
    else:
        res, it = _search(n_cens, n_start, run, lambda res: before + int(res[2].sum()) - total_events)
    iterations.append(it)
    n_end, _, d, cen, ct = res
    cv.d[lo:hi + 1], cv.cen[lo:hi + 1] = d, cen
    cen_times.append(ct)

    ev_t = np.repeat(t, cv.d)
    cens_t = np.concatenate(cen_times + [np.full(n_end, t[hi])])
    time = np.concatenate([ev_t, cens_t])
    event = np.concatenate([np.ones(ev_t.size, dtype=np.int64), np.zeros(cens_t.size, dtype=np.int64)])
    o = np.lexsort((1 - event, time))
    time, event = time[o], event[o]
    n_events = int(event.sum())
    if total_events is not None and n_events != total_events:
        notes.append(f"{n_events} events reconstructed, {total_events} reported: the curve's drops and the risk "
                     f"table allow no closer match")
    if mismatch:
        notes.append("numbers at risk not matched at risk time(s) "
                     + ", ".join(f"{risk_t[k]:g}" for k in mismatch)
                     + ": the curve falls more than the table allows")
    recon = tuple(int(np.sum(time >= x)) for x in risk_t)
    diag = ArmDiagnostics(
        arm=arm, n=int(time.size), events=n_events, censored=int(time.size - n_events), total_events=total_events,
        points_read=int(t_raw.size), points_used=int(t.size), points_adjusted=moved,
        risk_times=tuple(float(x) for x in risk_t), risk_times_dropped=dropped,
        n_risk_table=tuple(int(x) for x in risk_n), n_risk_reconstructed=recon, iterations=tuple(iterations),
        converged=not mismatch and (total_events is None or n_events == total_events), notes=tuple(notes))
    return time, event, diag
