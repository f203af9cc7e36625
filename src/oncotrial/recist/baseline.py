"""Baseline selection checks of RECIST 1.1 (Eisenhauer et al. 2009, sections 3.1.1 and 4.2).

At most 5 target lesions in all and 2 per organ (lymph nodes together count as one
organ), every non-nodal target >= 10 mm in longest diameter, every nodal target
>= 15 mm in short axis, and every target measured at baseline.  :func:`check_baseline`
lists the findings (for data capture, one query each); :func:`validate_baseline`
raises :class:`BaselineError` naming the first lesion at fault.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from oncotrial.recist.lesions import LesionData, baseline_visits

__all__ = ["BaselineFinding", "BaselineError", "check_baseline", "validate_baseline",
           "MAX_TARGETS", "MAX_TARGETS_PER_ORGAN", "MIN_NONNODAL_MM", "MIN_NODAL_MM"]

MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2
MIN_NONNODAL_MM = 10.0
MIN_NODAL_MM = 15.0


@dataclass(frozen=True)
class BaselineFinding:
    """One violation of the baseline rules, naming the lesion (and TU/TR row) concerned."""

    USUBJID: str
    TULNKID: str
    rule: str            # "max_targets", "max_targets_per_organ", "min_size_nonnodal", "min_size_nodal", "not_measured"
    message: str
    evaluator: str = ""
    row: int | None = None   # 1-based TU row (count rules) or TR row (size rules)
    domain: str = "TU"

    def to_dict(self) -> dict:
        return asdict(self)


class BaselineError(ValueError):
    """Baseline target selection breaks RECIST 1.1; ``findings`` holds every violation."""

    def __init__(self, findings: list[BaselineFinding]):
        self.findings = list(findings)
        first = findings[0]
        more = f" (and {len(findings) - 1} more baseline finding(s))" if len(findings) > 1 else ""
        super().__init__(f"{first.domain} row {first.row}: {first.message}{more}")


def _who(subj: str, ev: str) -> str:
    e = ev.strip("|").replace("|", " ")
    return f"{subj} ({e})" if e else subj


def check_baseline(data: LesionData) -> list[BaselineFinding]:
    """Every baseline selection finding of the target lesions in ``data``.

    Example
    -------
    >>> from oncotrial.recist import lesion_data, check_baseline
    >>> [f.message for f in check_baseline(lesion_data(tu, tr))]   # doctest: +SKIP
    """
    out: list[BaselineFinding] = []
    les = data.lesions
    tgt = les[les.ROLE == "TARGET"]
    if tgt.empty:
        return out
    # count rules: the lesion beyond the limit is the one named
    # SID numbers the series in order of (USUBJID, EVAL)
    order = tgt.sort_values(["SID", "TUROW"], kind="stable")
    rank = order.groupby("SID").cumcount().to_numpy() + 1
    for r, k in zip(order[rank > MAX_TARGETS].itertuples(), rank[rank > MAX_TARGETS]):
        out.append(BaselineFinding(r.USUBJID, r.TULNKID, "max_targets",
                                   f"target lesion {r.TULNKID} of {_who(r.USUBJID, r.EVAL)} is target number "
                                   f"{int(k)}; RECIST 1.1 allows at most "
                                   f"{MAX_TARGETS} target lesions", r.EVAL, int(r.TUROW), "TU"))
    orank = order.groupby(["SID", "ORGAN"]).cumcount().to_numpy() + 1
    for r, k in zip(order[orank > MAX_TARGETS_PER_ORGAN].itertuples(), orank[orank > MAX_TARGETS_PER_ORGAN]):
        organ = r.ORGAN or "(no TULOC)"
        out.append(BaselineFinding(r.USUBJID, r.TULNKID, "max_targets_per_organ",
                                   f"target lesion {r.TULNKID} of {_who(r.USUBJID, r.EVAL)} is target number {int(k)} "
                                   f"in {organ}; RECIST 1.1 allows at most {MAX_TARGETS_PER_ORGAN} per organ "
                                   "(lymph nodes together are one organ)", r.EVAL, int(r.TUROW), "TU"))
    # size rules at the baseline visit: the series' first assessment visit
    t = data.target
    basevis = baseline_visits(data)
    tb = t.merge(basevis[["SID", "BASEVISNUM"]], on="SID")
    tb = tb[tb.VISITNUM == tb.BASEVISNUM]
    sized = tgt.merge(tb[["LID", "LDIAM", "TRROW"]], on="LID", how="left")
    ld = sized.LDIAM.to_numpy(dtype=float)
    nodal = sized.NODAL.to_numpy(dtype=bool)
    # only the lesions at fault reach the (slow) row loop
    at_fault = np.isnan(ld) | np.where(nodal, ld < MIN_NODAL_MM, ld < MIN_NONNODAL_MM)
    for r in sized[at_fault].itertuples():
        who = _who(r.USUBJID, r.EVAL)
        if r.LDIAM != r.LDIAM:
            out.append(BaselineFinding(r.USUBJID, r.TULNKID, "not_measured",
                                       f"target lesion {r.TULNKID} of {who} has no LDIAM at the baseline visit; "
                                       "every target lesion must be measured at baseline",
                                       r.EVAL, int(r.TUROW), "TU"))
        elif r.NODAL and r.LDIAM < MIN_NODAL_MM:
            out.append(BaselineFinding(r.USUBJID, r.TULNKID, "min_size_nodal",
                                       f"nodal target lesion {r.TULNKID} of {who} has short axis {r.LDIAM:g} mm "
                                       f"at baseline; a target lymph node must be >= {MIN_NODAL_MM:g} mm",
                                       r.EVAL, int(r.TRROW), "TR"))
        elif not r.NODAL and r.LDIAM < MIN_NONNODAL_MM:
            out.append(BaselineFinding(r.USUBJID, r.TULNKID, "min_size_nonnodal",
                                       f"target lesion {r.TULNKID} of {who} has longest diameter {r.LDIAM:g} mm at "
                                       f"baseline; a non-nodal target must be >= {MIN_NONNODAL_MM:g} mm",
                                       r.EVAL, int(r.TRROW), "TR"))
    out.sort(key=lambda f: (f.USUBJID, f.evaluator, f.TULNKID, f.rule))
    return out


def validate_baseline(data: LesionData) -> LesionData:
    """``data`` unchanged if its baseline selection follows RECIST 1.1, else :class:`BaselineError`."""
    findings = check_baseline(data)
    if findings:
        raise BaselineError(findings)
    return data


def findings_frame(findings: list[BaselineFinding]) -> pd.DataFrame:
    """The findings as a table (one row each)."""
    cols = ["USUBJID", "TULNKID", "rule", "message", "evaluator", "row", "domain"]
    return pd.DataFrame([f.to_dict() for f in findings], columns=cols)


