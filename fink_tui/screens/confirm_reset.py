"""The last word before offsets move: the plan, partition by partition."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label

from fink_tui.core.reset import ResetPlan


class ConfirmResetModal(ModalScreen[bool]):
    """Shows exactly what will change; returns True only if the user applies it."""

    BINDINGS = [
        Binding("y", "apply", "Apply", tooltip="Commit the new offsets now", id="confirm.apply"),
        Binding("n,escape", "cancel", "Cancel", tooltip="Change nothing", id="confirm.cancel"),
    ]
    """Keys of the confirmation."""


    def __init__(self, plan: ResetPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        moving = len(plan.changes)
        with Vertical():
            yield Label(
                Text.assemble(
                    "Reset group ",
                    (plan.group, "bold"),
                    f", {plan.scope}, to ",
                    (plan.target.describe(), "bold"),
                    ": ",
                    (plan.summary(), "yellow"),
                    ".  y applies, n cancels.",
                )
            )
            table: DataTable[str | Text] = DataTable(show_cursor=False)
            table.add_columns("Topic [Partition]", "Current", "", "New", "Messages")
            for r in plan.rows:
                current = "-" if r.current is None else f"{r.current:,}"
                delta = r.delta
                style = "bold" if delta else "dim"
                table.add_row(
                    Text(f"{r.topic} [{r.partition}]", style=style),
                    Text(current, justify="right", style=style),
                    "→",
                    Text(f"{r.new:,}", justify="right", style=style),
                    Text(self._effect(r.current, delta), style="yellow" if delta else "dim"),
                )
            yield table
            with Horizontal():
                yield Button("Apply (y)", variant="error", id="apply", disabled=not moving)
                yield Button("Cancel (n)", id="cancel")

    @staticmethod
    def _effect(current: int | None, delta: int) -> str:
        if delta:
            return f"{'re-read' if delta < 0 else 'skip'} {abs(delta):,}"
        return "first commit" if current is None else "unchanged"

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def action_apply(self) -> None:
        """Confirm: the offsets are committed now."""
        self.dismiss(bool(self.plan.changes))

    def action_cancel(self) -> None:
        """Change nothing."""
        self.dismiss(False)
