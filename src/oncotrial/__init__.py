"""oncotrial: a randomized oncology trial from protocol to published result.

Each stage's package loads its names on first use (:func:`lazy_exports`): the ``oncotrial`` command
imports every stage's command-line module to register its sub-commands, and with eager re-exports
``oncotrial --help`` paid for numpy, pandas, scipy and pydantic. A package declares where each name
lives and it is loaded when first asked for:

>>> import types
>>> pkg = types.ModuleType("demo")
>>> pkg.__all__, pkg.__getattr__, pkg.__dir__ = lazy_exports("json", vars(pkg), {"decoder": ["JSONDecoder"]})
>>> pkg.JSONDecoder.__name__, "JSONDecoder" in vars(pkg)
('JSONDecoder', True)

It lives here, in the root package, because every stage may import the root and the root imports
no stage.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from types import ModuleType
from typing import Any

__version__ = "0.1.0"


class _LazyPackage(ModuleType):
    """A package whose exported names win over its submodules of the same name.

    The import system binds a submodule on its package when it is first loaded. No exported name
    is also a submodule's (tests/test_cli_startup.py checks), so this only guards a future clash:
    loaded lazily, a direct ``import oncotrial.pkg.name`` would otherwise leave ``oncotrial.pkg.name``
    the module for good, and ``from oncotrial.pkg import name`` would hand out a module instead of
    the function.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}"
                and self.__dict__.get("_lazy_where", {}).get(name) == name):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(package: str, namespace: MutableMapping[str, Any], exports: Mapping[str, Sequence[str]]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package`` whose names live in submodules.

    ``exports`` maps a submodule (relative to ``package``) to the names it provides; ``namespace``
    is the package's ``globals()``, where a name is kept once loaded so later lookups are plain.
    A submodule itself is also loaded on attribute access (``oncotrial.sim.trial``), as an eager
    ``__init__`` would have made it available.

    In a package's ``__init__.py``::

        __all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {"trial": ["simulate_trial"]})
    """
    where = {name: module for module, names in exports.items() for name in names}
    names = sorted(where)
    namespace["_lazy_where"] = where
    module = sys.modules.get(package)
    if module is not None and vars(module) is namespace:
        module.__class__ = _LazyPackage

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f"{package}.{module}"), name)
        elif not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return names, __getattr__, __dir__
