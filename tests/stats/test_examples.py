"""The docstring examples of oncotrial.stats are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["kaplan_meier", "followup", "logrank_test", "cox_model", "restricted_mean", "binomial", "pwexp", "weibull"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    mod = importlib.import_module(f"oncotrial.stats.{name}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
