"""Subgroup analysis for the forest plot: hazard ratio within each level of each subgroup variable."""

from __future__ import annotations

import pandas as pd

from oncotrial.analysis.characteristics import characteristic_values
from oncotrial.analysis.results import SubgroupAnalysis, SubgroupRow
from oncotrial.analysis.survival import hazard_ratio, pair_rows, tte_frame
from oncotrial.protocol import Protocol


def _row(frame: pd.DataFrame, subgroup: str, label: str, level: str, experimental: str, control: str,
         conf_level: float, ties: str) -> SubgroupRow:
    n = {a: int((frame["ARM"] == a).sum()) for a in (experimental, control)}
    ev = {a: int(frame.loc[frame["ARM"] == a, "EVENT"].sum()) for a in (experimental, control)}
    hr, lo, hi = hazard_ratio(frame, experimental, (), conf_level=conf_level, ties=ties)
    return SubgroupRow(subgroup, label, level, n, ev, hr, lo, hi)


def analyze_subgroups(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Protocol, paramcd: str = "PFS", *,
                      subgroups: list[str] | None = None, unavailable: tuple[str, ...] = (),
                      experimental: str | None = None) -> SubgroupAnalysis:
    """Unstratified Cox HR (experimental vs control) overall and per level of each subgroup.

    Subgroups default to ``analysis.subgroups``; one ADSL holds no column for is
    an error, so a forest plot never silently loses a row (a caller that drops
    some names them in ``unavailable``, which the report prints).
    ``experimental`` picks the comparison (``Protocol.comparisons``) by its
    experimental arm; it may be left out only when there is one comparison (two
    arms). Every HR is fitted on the patients of the comparison's two arms only.

    Example
    -------
    >>> sg = analyze_subgroups(adsl, adtte, load_protocol("patina"))   # doctest: +SKIP
    >>> sg_lev = analyze_subgroups(adsl, adtte, three_arm_protocol, "OS", experimental="LEV")  # doctest: +SKIP
    """
    a = protocol.analysis
    experimental, control = _comparison(protocol, experimental)
    # three or more arms: pairwise, as for the overall comparisons (compare_arms)
    frame = pair_rows(tte_frame(adsl, adtte, protocol, paramcd), experimental, control)
    overall = _row(frame, "overall", "All patients", "", experimental, control, a.conf_level, a.ties)
    rows = []
    for name in (a.subgroups if subgroups is None else subgroups):
        label, values = characteristic_values(adsl, protocol, name)
        v = values.reindex(frame["USUBJID"]).to_numpy()
        levels = [x for x in pd.unique(v) if x is not None and not (isinstance(x, float) and x != x)]
        if name in {f.name for f in protocol.stratification_factors}:
            order = [lv.label or lv.code for lv in protocol.factor(name).levels]
            levels = [x for x in order if x in levels]
        else:
            levels = sorted(levels, key=str)
        for lev in levels:
            rows.append(_row(frame[v == lev], name, label, str(lev), experimental, control, a.conf_level, a.ties))
    return SubgroupAnalysis(paramcd=paramcd, conf_level=a.conf_level, experimental=experimental, control=control,
                            overall=overall, rows=tuple(rows), unavailable=tuple(unavailable))


def _comparison(protocol: Protocol, experimental: str | None) -> tuple[str, str]:
    """The (experimental, control) pair of ``protocol.comparisons`` whose experimental arm is ``experimental``."""
    pairs = protocol.comparisons
    known = ", ".join(f"{e} vs {c}" for e, c in pairs)
    if experimental is None:
        if len(pairs) == 1:
            return pairs[0]
        raise ValueError(f"experimental: the protocol has {len(protocol.arms)} arms and {len(pairs)} comparisons "
                         f"({known}); name the experimental arm of the one to analyse")
    for e, c in pairs:
        if e == experimental:
            return e, c
    raise ValueError(f"experimental: {experimental!r} is not the experimental arm of a comparison; expected one of "
                     f"{[e for e, _ in pairs]} ({known})")
