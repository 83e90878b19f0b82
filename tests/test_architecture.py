"""The shape of kmenv, enforced: which layer may import which, no import cycles, a small top level, short modules.

The layer table below is the rule; docs/architecture.md draws the same picture for readers. The source is read
with :mod:`ast`, never imported, so a broken or slow module cannot hide a violation.

Every import of kmenv counts, wherever it is written: at module level, inside a function (deferring an import
hides a dependency from import time, not from the design) and under ``if TYPE_CHECKING:`` (a module that names
another's types depends on it; a type-only cycle is still a cycle). Relative imports are resolved like absolute
ones. An import edge goes to the most specific module it names: ``from kmenv.store import blobstore`` depends on
``kmenv.store.blobstore``, ``from kmenv.store import Store`` on ``kmenv.store`` (its ``__init__``).

Graph nodes are the packages directly under ``kmenv/`` (everything inside ``kmenv/store/`` is the node ``store``),
each top-level module (``config``, ``errors``, ``api``, ``_version``, ``__main__``) and the package root
``kmenv/__init__.py`` (the node ``kmenv``).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# --- the layer table ---------------------------------------------------------------------------------------------
#
# Bands from the bottom up. Inside a band, levels run low → high and names on one level are peers. A node may
# import any node on a lower level of its own band (never a peer, never a higher level) and any node of the bands
# its band lists under ``imports``. Everything imports downwards; nothing imports upwards.


@dataclass(frozen=True)
class Band:
    name: str
    levels: tuple[tuple[str, ...], ...]
    imports: tuple[str, ...]
    about: str


BANDS = (
    Band(
        "bottom",
        levels=(("errors", "_version"),),
        imports=(),
        about="the error tree and the version; anything may import them, they import nothing of kmenv",
    ),
    Band(
        "core",
        levels=(("values",), ("policy",), ("spec",), ("resolve",), ("lockfile",), ("compliance", "export")),
        imports=("bottom",),
        about="pure: text and values in, values out; no I/O module, no edge",
    ),
    Band(
        "edges",
        # store sits below fetch: fetch writes downloads into the store; the store never fetches anything.
        levels=(("fs",), ("config",), ("store",), ("fetch",), ("registry",), ("environment",), ("ledger",)),
        imports=("bottom", "core"),
        about="files, network, databases, interpreters; never the use cases or the entry points",
    ),
    Band(
        "top",
        levels=(("actions",), ("api", "interop"), ("kmenv", "cli"), ("__main__",)),
        imports=("bottom", "core", "edges"),
        about="use cases (actions; project.py is the composition root), then the Python API and the other "
        "clients' hooks (interop), the package root and the command line",
    ),
)

#: Modules the pure core must not import (a name here also forbids its submodules).
IO_MODULES = (
    "requests",
    "urllib3",
    "urllib.request",
    "http",
    "socket",
    "sqlite3",
    "subprocess",
    "shutil",
    "tempfile",
    "fcntl",
    "rich",
    "platformdirs",
)

#: What may sit directly in kmenv/ besides packages.
TOP_LEVEL_FILES = frozenset(
    {"__init__.py", "__main__.py", "api.py", "errors.py", "config.py", "_version.py", "py.typed"}
)

#: A module longer than this needs a module docstring with a sentence containing ONE_RESPONSIBILITY, saying why
#: its length is still one responsibility (e.g. "One responsibility, though long: the ledger's SQL schema ...").
MAX_LINES = 400
ONE_RESPONSIBILITY = "one responsibility"

# --- reading the source ------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent / "kmenv"


def _band_of() -> dict[str, tuple[Band, int]]:
    return {node: (band, rank) for band in BANDS for rank, level in enumerate(band.levels) for node in level}


BAND_OF = _band_of()
CORE = tuple(node for level in BANDS[1].levels for node in level)
EDGES = tuple(node for level in BANDS[2].levels for node in level)


@dataclass(frozen=True)
class Import:
    """One import statement's dependency of ``source`` (a module) on ``target`` (a module or an outside name)."""

    source: str
    target: str
    file: str
    line: int
    deferred: bool  # inside a function
    type_only: bool  # under if TYPE_CHECKING:

    def __str__(self) -> str:
        how = ", ".join(w for w, flag in (("inside a function", self.deferred), ("type-only", self.type_only)) if flag)
        return f"{self.file}:{self.line} imports {self.target}" + (f" ({how})" if how else "")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def modules() -> dict[str, Path]:
    """Every module of kmenv by dotted name; a package's name is its ``__init__``."""
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py")) if "__pycache__" not in p.parts}


def node_of(module: str) -> str:
    """The graph node a kmenv module belongs to: its package directly under kmenv/, or the top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "kmenv"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _known(name: str) -> str | None:
    """The longest prefix of ``name`` that is a kmenv module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules():
            return candidate
    return None


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules (or, outside kmenv, the dotted names) one import statement depends on."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield _known(alias.name) or alias.name
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    for alias in node.names:
        full = f"{base}.{alias.name}" if base else alias.name
        if full in modules():
            yield full  # from package import submodule
        elif base.split(".")[0] == "kmenv":
            yield _known(base) or base
        else:
            yield full  # outside kmenv: "from urllib import request" is urllib.request


def _walk(
    nodes: Iterable[ast.AST], deferred: bool, type_only: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement with whether it sits in a function and whether under ``if TYPE_CHECKING:``."""
    for child in nodes:
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, deferred, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from _walk(child.body, deferred, True)
            yield from _walk(child.orelse, deferred, type_only)
        else:
            inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from _walk(ast.iter_child_nodes(child), inner, type_only)


def _dynamic(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``importlib.import_module("kmenv.…")`` with a literal name (a computed name cannot be followed)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0] if node.args else None
            if name == "import_module" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def read_imports(text: str, module: str, file: str, is_package: bool = False) -> list[Import]:
    """The imports of one module's source; a name passed to import_module counts as an import in a function."""
    tree = ast.parse(text, file)
    found = [
        Import(module, target, file, stmt.lineno, deferred, type_only)
        for stmt, deferred, type_only in _walk(tree.body, False, False)
        for target in _targets(module, is_package, stmt)
    ]
    found += [Import(module, _known(name) or name, file, line, True, False) for line, name in _dynamic(tree)]
    return list(dict.fromkeys(found))  # "from m import a, b" is one dependency


@functools.cache
def imports() -> tuple[Import, ...]:
    """Every import in kmenv, outside names included."""
    return tuple(
        found
        for module, path in modules().items()
        for found in read_imports(
            path.read_text(encoding="utf-8"), module, str(path.relative_to(ROOT.parent)), path.name == "__init__.py"
        )
    )


def kmenv_imports() -> list[Import]:
    """Imports of one kmenv module by another (a module importing itself is ignored)."""
    return [i for i in imports() if i.target in modules() and i.target != i.source]


def _cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _natural(text: str) -> list[str | int]:
    """Sort key putting file.py:59 before file.py:315."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _against_the_table(i: Import) -> bool:
    source, target = node_of(i.source), node_of(i.target)
    return source in BAND_OF and target in BAND_OF and not _allowed(source, target)


def _describe_cycles(cycles: list[list[str]], edges: list[Import], group: Callable[[str], str]) -> str:
    """Each cycle's members, then the imports between different members that form it; upward ones marked."""
    lines = []
    for members in cycles:
        inside = set(members)
        lines.append(f"cycle among {', '.join(members)}:")
        lines += sorted(
            {
                f"    {i}" + ("   <- against the layer table" if _against_the_table(i) else "")
                for i in edges
                if {group(i.source), group(i.target)} <= inside and group(i.source) != group(i.target)
            },
            key=_natural,
        )
    return "\n  " + "\n  ".join(lines)


def _allowed(source: str, target: str) -> bool:
    """The layer table's verdict on node ``source`` importing node ``target``."""
    if source == target:
        return True
    (band, rank), (target_band, target_rank) = BAND_OF[source], BAND_OF[target]
    if band is target_band:
        return target_rank < rank
    return target_band.name in band.imports


def _crossing(sources: Iterable[str], targets: Iterable[str]) -> list[Import]:
    """Imports from a module of the ``sources`` nodes into one of the ``targets`` nodes that the table forbids."""
    wanted, into = set(sources), set(targets)
    return [
        i
        for i in kmenv_imports()
        if node_of(i.source) in wanted and node_of(i.target) in into and _against_the_table(i)
    ]


# --- the rules ---------------------------------------------------------------------------------------------------


def _refuse(found: Iterable[object], why: str) -> None:
    """Fail listing every offender (sorted, once each) under ``why``; pass when there is none."""
    listed = sorted({str(o) for o in found}, key=_natural)
    if listed:
        pytest.fail(f"{why}:\n  " + "\n  ".join(listed), pytrace=False)


def _nodes(*bands: str) -> list[str]:
    return [node for node, (band, _) in BAND_OF.items() if band.name in bands]


def _order(band: str) -> str:
    levels = next(b.levels for b in BANDS if b.name == band)
    return " < ".join(level[0] if len(level) == 1 else f"({' | '.join(level)})" for level in levels)


def drawing() -> str:
    """The layer table as text, top band first."""
    width = max(len(_order(b.name)) for b in BANDS)
    return "\n".join(f"  {b.name:<7} {_order(b.name):<{width}}  {b.about}" for b in reversed(BANDS))


def test_the_source_is_found() -> None:
    assert "kmenv.errors" in modules() and len(modules()) > 50
    assert any(i.target == "kmenv.errors" for i in kmenv_imports())


def test_the_reader_sees_every_kind_of_import() -> None:
    source = "\n".join(
        [
            "from __future__ import annotations",
            "import typing",
            "from urllib import request",
            "from . import digests",
            "from .. import errors",
            "from kmenv.store.writer import BlobWriter, CHUNK_SIZE",
            "from kmenv.values.handles import Handle as H",
            "if typing.TYPE_CHECKING:",
            "    from kmenv.fetch import FetchJob",
            "def later() -> None:",
            "    import kmenv.ledger.database",
            "    importlib.import_module('kmenv.config')",
        ]
    )
    found = {(i.target, i.deferred, i.type_only) for i in read_imports(source, "kmenv.store.blobstore", "x.py")}
    assert found == {
        ("__future__.annotations", False, False),
        ("typing", False, False),
        ("urllib.request", False, False),
        ("kmenv.store.digests", False, False),
        ("kmenv.errors", False, False),
        ("kmenv.store.writer", False, False),
        ("kmenv.values.handles", False, False),
        ("kmenv.fetch", False, True),
        ("kmenv.ledger.database", True, False),
        ("kmenv.config", True, False),
    }
    assert [node_of(m) for m in ("kmenv.store.writer", "kmenv.errors", "kmenv")] == ["store", "errors", "kmenv"]


def test_every_package_and_top_level_module_has_a_place_in_the_layer_table() -> None:
    _refuse(
        {node_of(m) for m in modules()} - set(BAND_OF),
        f"add these to the layer table in tests/{Path(__file__).name} and to docs/architecture.md:\n{drawing()}\n"
        "not placed yet",
    )


def test_no_import_cycle_between_packages() -> None:
    edges = kmenv_imports()
    cycles = _cycles((node_of(i.source), node_of(i.target)) for i in edges if node_of(i.source) != node_of(i.target))
    if cycles:
        pytest.fail("packages import each other in a circle:" + _describe_cycles(cycles, edges, node_of), pytrace=False)


def test_no_import_cycle_between_modules() -> None:
    edges = kmenv_imports()
    cycles = _cycles((i.source, i.target) for i in edges)
    if cycles:
        pytest.fail("modules import each other in a circle:" + _describe_cycles(cycles, edges, str), pytrace=False)


def test_the_pure_core_imports_no_io_module() -> None:
    _refuse(
        (
            i
            for i in imports()
            if node_of(i.source) in CORE and any(i.target == m or i.target.startswith(m + ".") for m in IO_MODULES)
        ),
        f"the pure core ({', '.join(CORE)}) does no I/O itself; it must not import {', '.join(IO_MODULES)}",
    )


def test_the_pure_core_imports_no_edge_use_case_or_entry_point() -> None:
    _refuse(_crossing(CORE, _nodes("edges", "top")), "the pure core must not import an edge, actions, api or cli")


def test_edges_import_no_use_case_or_entry_point() -> None:
    _refuse(_crossing(EDGES, _nodes("top")), "edges must not import actions, cli, api or the package root")


def test_edges_import_only_lower_edges() -> None:
    _refuse(_crossing(EDGES, EDGES), f"an edge may import only the edges below it ({_order('edges')})")


def test_the_core_imports_only_lower_core() -> None:
    _refuse(_crossing(CORE, CORE), f"a core package may import only the core below it ({_order('core')})")


def test_errors_and_version_import_nothing_of_kmenv() -> None:
    bottom = _nodes("bottom")
    _refuse((i for i in kmenv_imports() if node_of(i.source) in bottom), "errors and _version import nothing of kmenv")


def test_use_cases_and_entry_points_import_only_downwards() -> None:
    top = _nodes("top")
    _refuse(_crossing(top, top), f"the use cases and entry points import only downwards ({_order('top')})")


def test_the_top_level_holds_only_entry_points_and_packages() -> None:
    _refuse(
        (
            entry.name
            for entry in ROOT.iterdir()
            if entry.name != "__pycache__"
            and not (entry.is_file() and entry.name in TOP_LEVEL_FILES)
            and not (entry.is_dir() and (entry / "__init__.py").is_file())
        ),
        f"kmenv/ holds only {', '.join(sorted(TOP_LEVEL_FILES))} and packages; move these into a layer's package",
    )


def test_no_long_module_without_a_reason() -> None:
    long = []
    for path in modules().values():
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_LINES and ONE_RESPONSIBILITY not in (ast.get_docstring(ast.parse(text)) or "").lower():
            long.append(f"{path.relative_to(ROOT.parent)}: {lines} lines")
    _refuse(
        long,
        f"modules over {MAX_LINES} lines: split each, or say in its module docstring why it is one responsibility "
        f"(a sentence containing {ONE_RESPONSIBILITY!r})",
    )


def test_docs_architecture_draws_the_same_layer_order() -> None:
    """docs/architecture.md states each band's order as ``a`` < ``b`` < ...; it must be this table's order."""
    text = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for band in (BANDS[1], BANDS[2]):
        drawn = " < ".join(", ".join(f"`{node}`" for node in level) for level in band.levels)
        assert drawn in text, f"docs/architecture.md should state the {band.name} order as: {drawn}"
