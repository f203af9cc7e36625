"""The ``oncotrial`` command starts without the analysis stack, and the packages that load their
names on first use (:func:`oncotrial.lazy_exports`) hand out the same objects an eager import did.

Start-up time itself is measured in ``benchmarks/cli_start.py``; what is tested here is the cause
of a slow start, which does not depend on the machine: the modules a command imports.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

import pytest

HEAVY = ("numpy", "pandas", "scipy", "pydantic", "sqlalchemy", "numba", "matplotlib", "fastapi", "dask",
         "distributed", "httpx")
LAZY_PACKAGES = ("oncotrial.collect", "oncotrial.design", "oncotrial.jobs", "oncotrial.protocol",
                 "oncotrial.randomization", "oncotrial.recist", "oncotrial.sim")


def _fresh(code: str) -> list[str]:
    """The heavy top-level packages loaded after running ``code`` in a new interpreter."""
    probe = (f"import sys, json\n{code}\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_command_and_its_help_load_none_of_the_analysis_stack():
    assert _fresh("import oncotrial.cli") == []


def test_showing_a_protocol_loads_pydantic_but_no_numerical_library():
    code = ("from oncotrial.protocol.load import load_protocol\n"
            "from oncotrial.protocol.summary import protocol_summary\n"
            "protocol_summary(load_protocol('patina'))")
    assert _fresh(code) == ["pydantic"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_exported_name_is_the_object_of_its_submodule(package):
    pkg = importlib.import_module(package)
    assert pkg.__all__, f"{package} exports nothing"
    for name in pkg.__all__:
        value = getattr(pkg, name)
        assert not isinstance(value, ModuleType), f"{package}.{name} is a module"
        home = importlib.import_module(f"{package}.{pkg._lazy_where[name]}")
        assert value is getattr(home, name)
    assert set(pkg.__all__) <= set(dir(pkg))


def test_no_function_shadows_a_submodule_of_its_package():
    # a package's exported name that is also one of its submodules answers `oncotrial.stats.km`
    # with either, depending on what was imported first
    import pkgutil

    import oncotrial

    clashes = []
    for info in pkgutil.walk_packages(oncotrial.__path__, "oncotrial."):
        if info.ispkg and info.name.count(".") == 1:
            pkg = importlib.import_module(info.name)
            subs = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
            clashes += [f"{info.name}.{n}" for n in getattr(pkg, "__all__", ()) if n in subs]
    assert clashes == []


def test_exported_functions_stay_functions_after_their_modules_are_imported():
    code = ("import oncotrial.sim.calibration, oncotrial.sim.reconstruction, oncotrial.stats.kaplan_meier\n"
            "from oncotrial.sim import calibrate, reconstruct\n"
            "from oncotrial.stats import km\n"
            "assert callable(calibrate) and callable(reconstruct) and callable(km), (calibrate, reconstruct, km)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_a_submodule_is_an_attribute_of_its_package_and_an_unknown_name_an_attribute_error():
    import oncotrial.protocol as protocol

    assert protocol.summary.protocol_summary.__module__ == "oncotrial.protocol.summary"
    with pytest.raises(AttributeError, match="oncotrial.protocol.*no_such_name"):
        protocol.no_such_name  # noqa: B018
