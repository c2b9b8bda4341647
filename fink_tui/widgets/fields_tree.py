"""An alert's fields as a tree, built lazily (an LSST alert has tens of thousands of values)."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

PREVIEW = 60


def describe(value: Any) -> Text:
    """The one-line preview of a value."""
    if isinstance(value, bytes):
        return Text(f"<{len(value):,} bytes>", style="dim")
    if isinstance(value, dict):
        return Text(f"{{{len(value)} fields}}", style="dim")
    if isinstance(value, list):
        return Text(f"[{len(value)} items]", style="dim")
    if value is None:
        return Text("null", style="dim italic")
    if isinstance(value, float):
        return Text(f"{value:.10g}", style="cyan")
    if isinstance(value, bool | int):
        return Text(str(value), style="cyan")
    text = str(value)
    return Text(repr(text if len(text) <= PREVIEW else text[:PREVIEW] + "…"), style="green")


class FieldsTree(Tree[Any]):
    """Every field of an alert record; containers open on demand."""

    def __init__(self, record: dict[str, Any] | None, **kwargs: Any) -> None:
        super().__init__("alert", data=record, **kwargs)
        self.show_root = False
        self.guide_depth = 3
        self._painting: Style | None = None
        """The widget's style while its lines are made (see :attr:`rich_style`)."""

    @property
    def rich_style(self) -> Style:
        """The widget's style, worked out once per paint: Tree asks for it on every line, and
        each time walks the widget's ancestors (a third of the alert screen's first paint, the
        tree empty then)."""
        if self._painting is not None:
            return self._painting
        return super().rich_style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._painting = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._painting = None

    def on_mount(self) -> None:
        if self.root.data is not None:
            self.show(self.root.data)

    def clear(self) -> FieldsTree:
        """No fields (the alert is being read)."""
        self.root.data = None
        super().clear()
        return self

    def show(self, record: dict[str, Any]) -> None:
        """Show ``record``'s fields (the first level; the others when opened)."""
        self.root.remove_children()
        self.root.data = record
        self._fill(self.root)
        self.root.expand()

    def _fill(self, node: TreeNode[Any]) -> None:
        value = node.data
        items = value.items() if isinstance(value, dict) else enumerate(value or ())
        for name, child in items:
            label = Text.assemble((f"{name}", "bold"), " ", describe(child))
            if isinstance(child, dict | list) and child:
                node.add(label, data=child)
            else:
                node.add_leaf(label, data=child)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        node = event.node
        if not node.children and isinstance(node.data, dict | list):
            self._fill(node)
