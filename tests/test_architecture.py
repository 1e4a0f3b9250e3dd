"""The layout rules of docs/ARCHITECTURE.md, checked on the source: every module documented,
public seams only, no import cycles, no Streamlit in the core, analyses without the database, the
demo loaded only at the edges, and the architecture page naming every package and module."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "gridmap"
#: Analysis modules: frames in, frames out, never the database (the enums of gridmap.models are
#: their vocabulary and may be imported; engines, queries and sessions may not).
ANALYSES = ("coverage", "density", "hotspots", "planning", "blindspots", "crs", "validation")
#: Who may import the demo: the first start, the command line, the demo and the city it draws.
DEMO_IMPORTERS = ("bootstrap", "cli", "demo", "citygen")


@cache
def modules() -> dict[str, Path]:
    """Dotted name → file of every core module (migrations excluded)."""
    found = {}
    for path in sorted(CORE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped
    ]


def _target(name: str) -> str | None:
    """The core module a dotted import name refers to (a name inside a module → the module)."""
    mods = modules()
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports(module: str) -> frozenset[str]:
    """The core modules ``module`` imports at run time (function-level imports included)."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    found = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(t for n in names if n.startswith("gridmap") and (t := _target(n)))
    found.discard(module)
    return frozenset(found)


def _external_imports(module: str) -> set[str]:
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    names = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif node.module and not node.level:
            names.add(node.module)
    return names


def test_every_module_says_its_job() -> None:
    assert len(modules()) > 100
    missing = [m for m, p in modules().items() if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not missing, missing


def test_no_private_name_crosses_a_module_boundary() -> None:
    files = [*modules().values(), *(ROOT / "views").glob("*.py"), ROOT / "ui_common.py",
             ROOT / "app.py", *(ROOT / "bench").glob("*.py")]  # fmt: skip
    crossing = []
    for path in files:
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gridmap"):
                crossing += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                             if a.name.startswith("_") and a.name != "__version__"]  # fmt: skip
    assert not crossing, crossing


def test_no_import_cycles() -> None:
    """Between modules (a package's ``__init__`` re-exporting its own modules aside)."""

    def edges(module: str) -> set[str]:
        return {t for t in imports(module) if not module.startswith(f"{t}.")}

    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges(module)):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in modules():
        if module not in state:
            assert (cycle := visit(module)) is None, " → ".join(cycle)


def test_the_core_never_imports_streamlit() -> None:
    users = [m for m in modules() if any(n.split(".")[0] == "streamlit"
                                         for n in _external_imports(m))]  # fmt: skip
    assert not users, users


@pytest.mark.parametrize("analysis", ANALYSES)
def test_analyses_never_touch_the_database(analysis: str) -> None:
    own = [
        m for m in modules() if m == f"gridmap.{analysis}" or m.startswith(f"gridmap.{analysis}.")
    ]
    assert own
    for module in own:
        assert not {"gridmap.db", "gridmap.repository"} & imports(module), module
        assert not any(n.startswith("sqlalchemy") for n in _external_imports(module)), module


def test_only_the_edges_import_the_demo() -> None:
    allowed = tuple(f"gridmap.{name}" for name in DEMO_IMPORTERS)
    importers = [m for m in modules()
                 if {"gridmap.demo", "gridmap.citygen"} & {_top(t) for t in imports(m)}
                 and not m.startswith(allowed)]  # fmt: skip
    assert not importers, importers


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_architecture_page_names_every_package_and_module() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)/?` \| (.+) \|$", page, flags=re.M))
    tops = {m.split(".")[1] for m in modules() if m.count(".") >= 1} - {"__main__"}
    assert tops <= set(rows) | {"migrations"}, sorted(tops - set(rows))
    for module in modules():
        parts = module.split(".")
        if len(parts) == 3 and parts[2] != "__main__":
            package, name = parts[1], parts[2]
            assert f"`{name}`" in rows[package], f"{module} is not on docs/ARCHITECTURE.md"
    assert "migrations" in rows


def test_pages_share_one_language_helper() -> None:
    for path in (ROOT / "views").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
                 and n.name in {"t", "_t"}]  # fmt: skip
        assert not local, f"{path.name} defines its own {local}: use ui_common.t"


def test_pages_use_the_fragment_that_acts_as_the_user() -> None:
    """A bare ``st.fragment`` reruns without the login gate, as the all-seeing SYSTEM principal:
    pages use ``ui_common.fragment``, which acts as the session's user on every rerun."""
    for path in [ROOT / "app.py", *(ROOT / "views").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bare = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "fragment"
            and isinstance(node.value, ast.Name) and node.value.id == "st"
        ]  # fmt: skip
        assert not bare, f"{path.name}:{bare}: st.fragment; use ui_common.fragment"
