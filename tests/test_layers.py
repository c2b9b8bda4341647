"""The import contract: one direction through the code, no circle.

Every ``import`` of the package is read from the source (also those inside functions, which
run later but run all the same), and checked against the layers, lowest first:

    config → core → headless commands and model → app, screens, widgets, demo → cli

A module may import its own layer or a lower one, never a higher one. Imports guarded by
``if TYPE_CHECKING:`` only name types for the checker; they count for the layers but not as
circles (they never run). The headless commands and the core never import Textual.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fink_tui"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("fink_tui", "fink_tui.config"),
    ("fink_tui.core",),
    ("fink_tui.commands", "fink_tui.model"),
    (
        "fink_tui.app",
        "fink_tui.screens",
        "fink_tui.widgets",
        "fink_tui.messages",
        "fink_tui.export",
        "fink_tui.textual_compat",
        "fink_tui.demo",
    ),
    ("fink_tui.cli", "fink_tui.__main__"),
)
NO_TEXTUAL = ("fink_tui.config", "fink_tui.core", "fink_tui.commands", "fink_tui.model")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    """The index of the layer a module belongs to (the longest matching prefix decides)."""
    best, length = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    assert best >= 0, f"{module} is in no layer: add it to LAYERS"
    return best


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str) -> list[tuple[str, bool]]:
    """(imported module, runs) for every import in ``module``'s source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, runs: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, runs)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, runs) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, runs))
            # ``from fink_tui.widgets import cutout`` imports the submodule.
            found.extend(
                (f"{base}.{a.name}", runs) for a in node.names if f"{base}.{a.name}" in MODULES
            )
        for child in ast.iter_child_nodes(node):
            visit(child, runs)

    visit(tree, True)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    """No module imports a layer above its own (imports inside functions included)."""
    mine = layer_of(module)
    upward = [
        target
        for target, _ in GRAPH[module]
        if target in MODULES and target != "fink_tui" and layer_of(target) > mine
    ]
    assert not upward, f"{module} (layer {mine}) imports a higher layer: {upward}"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if any(m.startswith(p) for p in NO_TEXTUAL))
)
def test_lower_layers_import_no_textual(module: str) -> None:
    """Config, core, model and the headless commands never import Textual, even lazily."""
    textual = [t for t, _ in GRAPH[module] if t.split(".")[0] == "textual"]
    assert not textual, f"{module} imports {textual}"


def test_no_import_circle() -> None:
    """No chain of imports that run leads from a module back to itself."""
    edges = {
        m: sorted({t for t, runs in GRAPH[m] if runs and t in MODULES and t != "fink_tui"})
        for m in MODULES
    }
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            cycle = path[path.index(node) :] + [node]
            raise AssertionError("import circle: " + " → ".join(cycle))
        if node in done:
            return
        for target in edges[node]:
            walk(target, [*path, node])
        done.add(node)

    for module in sorted(edges):
        walk(module, [])


def test_the_checker_sees_lazy_imports() -> None:
    """Imports inside functions are read too (cli imports the app only when it runs)."""
    assert ("fink_tui.app", True) in GRAPH["fink_tui.cli"]
