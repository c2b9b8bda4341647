"""An Avro schema as a tree of fields and types."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from fink_tui.core.schema_diff import records_in, type_name
from fink_tui.textual_compat import SteadyScrollbars


class SchemaTree(Tree[Any], SteadyScrollbars):
    """Fields of a record schema, nested records as branches."""

    _painting: Style | None = None
    """The widget's style while its lines are made (see :attr:`rich_style`)."""

    @property
    def rich_style(self) -> Style:
        """The widget's style, worked out once per paint: Textual's Tree asks for it on every
        line, and each time walks the widget's ancestors."""
        if self._painting is not None:
            return self._painting
        return super().rich_style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._painting = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._painting = None

    def show_schema(self, schema: dict[str, Any] | None, title: str = "") -> None:
        """Replace the tree with ``schema`` (None: empty)."""
        self.clear()
        self.root.set_label(title or "schema")
        if schema is None:
            return
        self._add_fields(self.root, schema)
        self.root.expand()

    def _add_fields(self, node: TreeNode[Any], record: dict[str, Any]) -> None:
        for field in record.get("fields", ()):
            label = Text.assemble((field["name"], "bold"), "  ", (type_name(field["type"]), "cyan"))
            if field.get("doc"):
                label.append(f"  {field['doc']}"[:80], "dim")
            records = records_in(field["type"])
            if records:
                child = node.add(label, data=field)
                for sub in records:
                    self._add_fields(child, sub)
            else:
                node.add_leaf(label, data=field)
