"""Binary response endpoints (confirmed ORR, clinical benefit rate): rates per arm and their difference."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from oncotrial.analysis import _binom
from oncotrial.analysis._frames import arm_of, arm_order, headline_pair, one_per_subject, require_columns
from oncotrial.analysis.results import ArmRate, BinaryAnalysis, RateDifference
from oncotrial.protocol import Protocol

NAN = float("nan")


def responders(adrs: pd.DataFrame, paramcd: str, values: Iterable[str]) -> pd.Series:
    """Per-subject responder flag from one ADRS parameter: AVALC in ``values``.

    ADRS has one record per subject for a best-response parameter (BOR, CBOR, CCB...);
    a subject with more than one is an error, since which one counts would be a guess.
    """
    require_columns(adrs, "ADRS", ["USUBJID", "PARAMCD", "AVALC"])
    d, ids = one_per_subject(adrs, "ADRS", paramcd)
    want = {v.upper() for v in values}
    return pd.Series(d["AVALC"].astype(str).str.strip().str.upper().isin(want).to_numpy(), index=ids.to_numpy())


def analyze_binary(adsl: pd.DataFrame, adrs: pd.DataFrame, protocol: Protocol, paramcd: str, *,
                   responder_values: Iterable[str], label: str = "", population: str = "ITT",
                   exclude: pd.Series | None = None) -> BinaryAnalysis:
    """Rate of subjects whose ``paramcd`` AVALC is a responder value, per arm, with CIs.

    The denominator is every randomized subject (minus those flagged in
    ``exclude``, a boolean Series by USUBJID); a subject without an ADRS record
    counts as a non-responder, as the ITT principle requires. The per-arm CI
    follows ``analysis.binomial_ci``; the difference (experimental - control)
    is given with the CI of ``analysis.difference_ci`` (Miettinen-Nurminen by
    default), once per ``protocol.comparisons`` pair in ``comparisons``. Arms are
    listed as ``arm_order`` gives them; with three or more the top-level
    ``experimental`` is "" and the difference fields are NaN (read
    ``res.comparison(code)``).

    Example
    -------
    >>> orr = analyze_binary(adsl, adrs, p, "CBOR", responder_values=["CR", "PR"])  # doctest: +SKIP
    """
    a = protocol.analysis
    arms = arm_of(adsl, protocol)
    if exclude is not None:
        ex = exclude.reindex(arms.index).fillna(False).astype(bool)
        arms = arms[~ex.to_numpy()]
    resp = responders(adrs, paramcd, responder_values).reindex(arms.index).fillna(False).astype(bool)
    rows = []
    counts: dict[str, tuple[int, int]] = {}
    for code in arm_order(protocol):
        m = (arms == code).to_numpy()
        n, x = int(m.sum()), int(resp.to_numpy()[m].sum())
        lo, hi = _binom.rate_ci(x, n, method=a.binomial_ci, conf_level=a.conf_level)
        rows.append(ArmRate(code, n, x, x / n if n else float("nan"), lo, hi))
        counts[code] = (x, n)
    comparisons = []
    for e, c in protocol.comparisons:
        (x1, n1), (x0, n0) = counts[e], counts[c]
        diff, dlo, dhi = _binom.difference_ci(x1, n1, x0, n0, method=a.difference_ci, conf_level=a.conf_level)
        comparisons.append(RateDifference(e, c, diff, dlo, dhi, a.difference_ci))
    # With k arms no single difference is "the" one: NaN rather than a pick among them.
    experimental, control = headline_pair(protocol)
    top = comparisons[0] if experimental else RateDifference(experimental, control, NAN, NAN, NAN, a.difference_ci)
    return BinaryAnalysis(paramcd=paramcd, label=label or paramcd, population=population, conf_level=a.conf_level,
                          method=a.binomial_ci, experimental=top.experimental, control=top.control, arms=tuple(rows),
                          difference=top.difference, difference_lower=top.difference_lower,
                          difference_upper=top.difference_upper, difference_method=a.difference_ci,
                          comparisons=tuple(comparisons))
