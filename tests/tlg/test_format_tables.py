"""Number formatting (NE for what cannot be estimated) and the tables built from results."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from oncotrial.tlg.format import NE, count_pct, interval, num, p_text, pvalue, value
from oncotrial.tlg.tables import to_html


def test_not_estimable_prints_ne():
    assert num(float("nan")) == NE and num(None) == NE and num(math.inf) == NE
    assert interval(26.0, float("nan")) == "26.0-NE"
    assert value(float("nan"), "p") == NE


@pytest.mark.parametrize("p, text", [(0.0204, "0.02"), (0.0042, "0.004"), (0.00002, "<0.001"), (0.5, "0.50")])
def test_p_values(p, text):
    assert pvalue(p) == text


def test_p_text_and_counts():
    assert p_text(0.0002) == "P < 0.001" and p_text(0.02) == "P = 0.02"
    assert count_pct(3, 75.0) == "3 (75.0%)"


def test_html_tables_escape_and_caption():
    html = to_html(pd.DataFrame({"a": ["<b>x</b>"]}), caption="A & B")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<caption>A &amp; B</caption>" in html
