"""The shape of the code stays as docs/architecture.md draws it.

Layers, lowest first: core -> patients -> medications -> notifications -> interop ->
tracker. A module may import from its own layer or any layer below it, never from one
above (a lower app that must trigger higher work sends a signal instead), and no two
modules may import each other, directly or round a longer circle. Every import counts,
including those inside functions: a circle hidden in a function is still a circle.
No module, tests and benchmarks included, is longer than 700 lines (migrations aside).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYERS = ["core", "patients", "medications", "notifications", "interop", "tracker"]
MAX_LINES = 700


def _app_files() -> list[Path]:
    files = []
    for layer in LAYERS:
        root = REPO / layer
        if root.is_dir():
            files += [p for p in root.rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every project module `path` imports, resolved to the most
    specific module that exists (`from medications.services import dose_log` ->
    medications.services; `from . import triage` -> medications.symptoms.triage)."""
    module = _module_name(path)
    package = module if _is_package(path) else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.append((node.lineno, candidate if candidate in known else target))
    resolved = []
    for line, name in found:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            resolved.append((line, name))
    return resolved


def _graph() -> dict[str, list[tuple[int, str]]]:
    files = _app_files()
    known = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, known) for p in files}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{module}:{line} imports {target}"
        for module, edges in _graph().items()
        for line, target in edges
        if _layer(target) > _layer(module)
    ]
    assert upward == [], "imports that run upward:\n" + "\n".join(upward)


def _circles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for _, target in graph.get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    circles = _circles(_graph())
    assert circles == [], "modules that import each other: " + "; ".join(
        " <-> ".join(c) for c in circles
    )


def test_the_checks_catch_what_they_are_for() -> None:
    graph = {"a.x": [(1, "a.y")], "a.y": [(3, "a.z")], "a.z": [(7, "a.x")], "a.w": []}
    assert _circles(graph) == [["a.x", "a.y", "a.z"]]
    assert _layer("tracker.urls") > _layer("notifications.models") > _layer("core.api")


def _all_python_files() -> list[Path]:
    extra = [
        p
        for folder in ("tests", "bench")
        for p in (REPO / folder).rglob("*.py")
        if "vendor" not in p.parts
    ]
    return _app_files() + sorted(extra)


@pytest.mark.parametrize("path", _all_python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_is_over_700_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(REPO)} has {lines} lines; split it"
