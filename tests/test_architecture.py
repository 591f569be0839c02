"""The architecture of docs/architecture.md holds: the import contracts of pyproject.toml are
kept, no two capabilities lean on each other, and the edges (routes, pages, commands) leave every
write to the services."""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "xinyong"
# A capability's edges: they sit on top of the web kit and the other capabilities' services.
EDGES = {"api", "pages", "admin_pages", "cli"}
# Alembic's environment script needs every table (xinyong.models): it is the migration tool's
# entry point, run by Alembic, not part of the core kernel's code.
COMPOSITION_POINTS = {"xinyong.core.migrations.env"}


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # lint-imports reads pyproject.toml from where it runs
    assert lint_imports(no_cache=True, no_logo=True) == 0


def _node(module: str) -> str | None:
    """The node of the capability graph a module belongs to: `<capability>` for its rules,
    tables, services and queries, `<capability>:edges` for its routes, pages and commands."""
    parts = module.split(".")
    if parts[0] != "xinyong" or len(parts) < 2 or module in COMPOSITION_POINTS:
        return None
    if len(parts) == 2:
        return parts[1]
    return f"{parts[1]}:edges" if parts[2] in EDGES else parts[1]


def _capability_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("xinyong")
    arrows: dict[str, set[str]] = {}
    for module in graph.modules:
        source = _node(module)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = _node(imported)
            if target is not None and target != source:
                arrows.setdefault(source, set()).add(target)
    return arrows


def _cycles(arrows: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(arrows.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(arrows):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_capability_leans_on_another_that_leans_back() -> None:
    arrows = _capability_graph()
    assert {"subjects", "ingest", "web", "web:edges"} <= set(arrows)  # the graph was read
    assert _cycles(arrows) == []


WRITE_AT_THE_EDGE = re.compile(r"\bwriting\(|\baudit\.record\(")


def test_the_edges_leave_every_write_to_the_services() -> None:
    found = [f"{path.relative_to(SRC)}:{n}: {line.strip()}"
             for path in sorted(SRC.glob("*/*.py")) if path.stem in EDGES
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if WRITE_AT_THE_EDGE.search(line)]
    assert found == []
