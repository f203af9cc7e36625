"""Every example in oncotrial's docstrings runs and gives what it shows (issue 16 §6), so the
documentation cannot drift from the code. Examples marked ``# doctest: +SKIP`` (they need files or a
server) are the only ones not run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import oncotrial

# Entry points and Alembic's migration scripts run only under their runners.
NOT_MODULES = ("oncotrial.__main__", "oncotrial.irt.__main__", "oncotrial.irt.migrations")


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(oncotrial.__path__, "oncotrial.")]
    return sorted(n for n in names if not n.startswith(NOT_MODULES))


def test_the_walk_finds_the_package():
    names = _modules()
    assert "oncotrial.stats.kaplan_meier" in names and "oncotrial.collect.from_sdtm" in names and len(names) > 100


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)  # an import that fails is a failure, never a skip
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False,
                             report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} give something else"
