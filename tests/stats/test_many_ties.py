"""The heavily-tied fast path is chosen by one helper, shared by time_table and timefix."""

from __future__ import annotations

import numpy as np

from oncotrial.stats._core import many_ties, time_table
from oncotrial.stats._timefix import _sorted_unique, timefix


def test_many_ties_only_for_large_tied_arrays():
    rng = np.random.default_rng(1)
    days = rng.integers(1, 500, 60_000).astype(float)
    assert many_ties(days)
    assert not many_ties(rng.exponential(size=60_000))
    assert not many_ties(days[:50_000])  # small arrays always take the plain sort


def test_both_paths_agree_on_tied_days():
    rng = np.random.default_rng(2)
    days = rng.integers(1, 500, 60_000).astype(float)
    event = (rng.random(days.size) < 0.6).astype(float)
    np.testing.assert_array_equal(_sorted_unique(days), np.unique(days))
    utime, n_risk, n_event = time_table(days, event)
    np.testing.assert_array_equal(utime, np.unique(days))
    np.testing.assert_array_equal(n_risk, [(days >= u).sum() for u in utime])
    np.testing.assert_array_equal(n_event, [event[days == u].sum() for u in utime])
    # a near-equal copy of a day count is merged onto it on the hashing path too
    nudged = days.copy()
    nudged[::1000] += 1e-12
    np.testing.assert_array_equal(timefix(nudged), days)
