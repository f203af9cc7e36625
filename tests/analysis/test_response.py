"""Binary endpoints on hand-made ADRS: denominators, exclusions, exact intervals."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats as sps

from oncotrial.analysis import analyze_binary
from oncotrial.protocol import load_protocol
from tests.analysis.helpers import toy_adsl

P = load_protocol("patina")


def clopper_pearson(x: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """The exact interval from beta quantiles: an implementation independent of oncotrial.stats."""
    a = 1 - conf
    lo = sps.beta.ppf(a / 2, x, n - x + 1) if x > 0 else 0.0
    hi = sps.beta.ppf(1 - a / 2, x + 1, n - x) if x < n else 1.0
    return lo, hi


def toy_adrs(adsl: pd.DataFrame) -> pd.DataFrame:
    best = ["CR", "PR", "SD", "PD", "NE", "PR"]
    rows = [{"USUBJID": u, "PARAMCD": "CBOR", "AVALC": best[i % len(best)]}
            for i, u in enumerate(adsl["USUBJID"])]
    return pd.DataFrame(rows[:-1])  # the last subject has no record: a non-responder


def test_rates_count_every_randomized_subject():
    adsl = toy_adsl(6)
    res = analyze_binary(adsl, toy_adrs(adsl), P, "CBOR", responder_values=["CR", "PR"])
    a, b = res.arm("A"), res.arm("B")
    assert (a.n, a.responders) == (6, 3)
    assert (b.n, b.responders) == (6, 2)  # B-05 (PR by position) has no record
    assert (a.lower, a.upper) == pytest.approx(clopper_pearson(3, 6), rel=1e-8)
    assert res.difference == pytest.approx(3 / 6 - 2 / 6)
    assert res.difference_lower < res.difference < res.difference_upper
    assert res.method == "clopper-pearson" and res.difference_method == "miettinen-nurminen"


def test_exclusion_removes_subjects_from_the_denominator():
    adsl = toy_adsl(6)
    excl = pd.Series(adsl["INDRESP"].eq("CR").to_numpy(), index=adsl["USUBJID"])
    res = analyze_binary(adsl, toy_adrs(adsl), P, "CBOR", responder_values=["CR", "PR"], exclude=excl,
                         population="excluding CR to induction")
    # A-00 and B-00 (CR to induction) were responders (CBOR CR): both leave numerator and denominator.
    assert (res.arm("A").n, res.arm("A").responders) == (5, 2)
    assert (res.arm("B").n, res.arm("B").responders) == (5, 1)
    assert res.to_frame().shape == (2, 7)


def test_bad_adrs_is_named():
    adsl = toy_adsl(3)
    adrs = toy_adrs(adsl)
    with pytest.raises(ValueError, match=r"ADRS: no rows with PARAMCD 'CBR'; present: \['CBOR'\]"):
        analyze_binary(adsl, adrs, P, "CBR", responder_values=["Y"])
    with pytest.raises(ValueError, match=r"ADRS: USUBJID 'A-00' has more than one CBOR row"):
        analyze_binary(adsl, pd.concat([adrs, adrs.iloc[:1]]), P, "CBOR", responder_values=["CR"])
    with pytest.raises(ValueError, match=r"ADRS: missing column\(s\) \['AVALC'\]"):
        analyze_binary(adsl, adrs.drop(columns="AVALC"), P, "CBOR", responder_values=["CR"])
