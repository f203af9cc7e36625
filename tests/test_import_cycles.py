"""Imports follow the flow of DESIGN.md: no cycle between modules or packages of
src/oncotrial (lazy imports inside functions count too), and no import against the flow.

The import graph is read from the source with ``ast``, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "oncotrial"

# package -> the packages it must never import ("*": no other oncotrial package at all)
NEVER: dict[str, object] = {
    "stats": "*",
    "protocol": "*",
    "sim": {"report", "tlg", "jobs"},
    "report": {"sim", "jobs"},
    "adam": {"analysis", "tlg", "report", "sim", "jobs"},
    "sdtm": {"adam", "analysis", "tlg", "report", "sim", "jobs"},
    "analysis": {"tlg", "report", "sim", "jobs"},
    "tlg": {"report", "sim", "jobs"},
    "design": {"report", "tlg", "jobs", "sim"},
    # data capture's rules are pure: the service (irt) calls them, never the other way round
    "collect": {"irt", "adam", "analysis", "tlg", "report", "sim", "design", "jobs"},
    "recist": {"collect", "irt", "adam", "analysis", "tlg", "report", "sim", "design", "jobs"},
}
# only these may import the jobs layer (the command line on top of it)
JOBS_USERS = {"oncotrial.cli", "oncotrial.jobs"}


def module_files(root: Path) -> dict[str, Path]:
    mods = {}
    for p in root.rglob("*.py"):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def imported_names(name: str, path: Path):
    """Every dotted name ``name`` imports, at module level or inside functions."""
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def import_graph(root: Path) -> dict[str, set[str]]:
    mods = module_files(root)

    def resolve(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for t in imported_names(m, p):
            r = resolve(t)
            # a module importing its own package's __init__ is how Python loads it, not a cycle
            if r and r != m and not m.startswith(r + "."):
                edges[m].add(r)
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def package_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    pg: dict[str, set[str]] = {}
    for m, ts in edges.items():
        pg.setdefault(package_of(m), set()).update(
            package_of(t) for t in ts if package_of(t) not in (package_of(m), "oncotrial"))
    for ts in list(pg.values()):
        for t in ts:
            pg.setdefault(t, set())
    return pg


def against_the_flow(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for m, ts in sorted(edges.items()):
        short = package_of(m).split(".")[-1]
        rule = NEVER.get(short)
        for t in sorted(ts):
            tp = package_of(t)
            if tp == package_of(m) or tp == "oncotrial":
                continue
            target = tp.split(".")[-1]
            if rule == "*" or (rule and target in rule):
                bad.append(f"{m} -> {t}")
            elif target == "jobs" and package_of(m) not in JOBS_USERS:
                bad.append(f"{m} -> {t} (only the command line calls jobs)")
    return bad


@pytest.fixture(scope="module")
def edges():
    assert (SRC / "__init__.py").exists(), SRC
    return import_graph(SRC)


def test_no_cycle_between_modules(edges):
    assert cycles(edges) == []


def test_no_cycle_between_packages(edges):
    assert cycles(package_graph(edges)) == []


def test_no_import_against_the_flow(edges):
    assert against_the_flow(edges) == []


def test_the_graph_sees_lazy_and_relative_imports(edges):
    # jobs.pipeline imports sim.reconstruction inside reproduce(); the graph must hold that edge
    assert "oncotrial.sim.reconstruction" in edges["oncotrial.jobs.pipeline"]
    assert "oncotrial.adam.from_sdtm" in edges["oncotrial.adam"]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "oncotrial"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_the_check_finds_a_lazy_cycle_and_a_backward_import(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "sim/__init__.py": "",
        "sim/a.py": "from oncotrial.sim import b\n",
        "sim/b.py": "def f():\n    from . import a\n    from oncotrial.report.html import x\n",
        "report/__init__.py": "",
        "report/html.py": "from oncotrial.sim.c import y\n",
        "sim/c.py": "",
    })
    g = import_graph(root)
    assert cycles(g) == [["oncotrial.sim.a", "oncotrial.sim.b"]]
    assert cycles(package_graph(g)) == [["oncotrial.report", "oncotrial.sim"]]
    assert against_the_flow(g) == ["oncotrial.report.html -> oncotrial.sim.c",
                                   "oncotrial.sim.b -> oncotrial.report.html"]


def test_a_package_importing_its_own_init_is_no_cycle(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "adam/__init__.py": "from oncotrial.adam.subject_level import adsl\n",
        "adam/adsl.py": "from oncotrial.adam import _checks\n",
        "adam/_checks.py": "",
    })
    assert cycles(import_graph(root)) == []
