"""Asking for a schema file to force, with path completion."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from fink_tui.core.decode import SchemaError, SchemaInfo, load_schema_file
from fink_tui.widgets.path_suggester import PathSuggester


class ForceSchemaModal(ModalScreen[SchemaInfo | None]):
    """Returns the parsed schema, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="force.cancel")]
    """Keys of the dialog."""


    def __init__(self, where: str = "every topic") -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"Decode the alerts of [b]{escape(self.where)}[/b] with this schema "
                "(.avsc or .json) instead of the one in their message keys. → completes the "
                "path; Enter loads; "
                "Esc cancels."
            )
            yield Input(placeholder="path/to/schema.avsc", suggester=PathSuggester(), id="path")
            yield Label("", id="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            schema = load_schema_file(event.value.strip())
        except SchemaError as exc:
            self.query_one("#error", Label).update(Text(str(exc)))
            return
        self.dismiss(schema)

    def action_cancel(self) -> None:
        """Close without forcing anything."""
        self.dismiss(None)
