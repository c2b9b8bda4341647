"""Choosing where to move a group's offsets: earliest, latest, an offset, a time, or ±N."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from fink_tui.core.reset import ResetTarget, TargetKind, parse_target, parse_time
from fink_tui.textual_compat import highlight, highlighted_index

CHOICES = (
    ("earliest", "Earliest — read everything kept again"),
    ("latest", "Latest — skip to the end"),
    ("offset", "Offset — an exact offset"),
    ("time", "Time — first alert at or after an ISO-8601 time (UTC)"),
    ("shift", "Shift — move by ±N from the committed offset"),
)
NEEDS_VALUE = {"offset": "e.g. 1200", "time": "e.g. 2026-11-24T03:00:00", "shift": "e.g. -100"}


class ResetOffsetsModal(ModalScreen[ResetTarget | None]):
    """Returns the chosen target, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="reset.cancel"),
        Binding("enter", "submit", "Show plan", priority=True, id="reset.submit"),
    ]
    """Keys of the dialog."""

    def __init__(self, group: str, scope: str) -> None:
        super().__init__()
        self.group = group
        self.scope = scope
        self._theme_drawn: str | None = None

    def _question(self) -> str:
        return f"Reset group [b]{escape(self.group)}[/b] on [b]{escape(self.scope)}[/b] to:"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._question(), id="question")
            with RadioSet(id="kind"):
                for i, (key, text) in enumerate(CHOICES):
                    yield RadioButton(text, value=i == 0, name=key)
            yield Input(placeholder="", id="value", disabled=True)
            yield Label("", id="error")
            with Horizontal():
                yield Button("Show plan", variant="warning", id="plan")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        # Built ahead, out of sight (textual_compat.prepare_screen): an app closing meanwhile
        # may have taken its widgets already (once in the full suite, on a loaded machine).
        for radios in self.query(RadioSet):
            radios.focus()

    def ask(self, scope: str) -> ResetOffsetsModal:
        """The dialog again, for ``scope``, as it first opens: it is kept (installed) between
        uses, since building its widgets took most of the time to open it."""
        self.scope = scope
        if self.is_mounted:
            self.query_one("#question", Label).update(self._question())
            self.query(RadioButton).first().value = True
            highlight(self.query_one(RadioSet), 0)
            box = self.query_one("#value", Input)
            box.value, box.disabled, box.placeholder = "", True, ""
            self.query_one("#error", Label).update("")
            self.query_one(RadioSet).focus()
        return self

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # As for the dashboard screens: no restyle of every widget unless the theme changed.
        if self.app.theme == self._theme_drawn:
            event.refresh_styles = False
        self._theme_drawn = self.app.theme

    def _kind(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return str(pressed.name) if pressed is not None else "earliest"

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._show_value(self._kind())

    def _show_value(self, kind: str) -> None:
        box = self.query_one("#value", Input)
        box.disabled = kind not in NEEDS_VALUE
        box.placeholder = NEEDS_VALUE.get(kind, "")
        if not box.disabled:
            box.focus()

    def action_submit(self) -> None:
        """Enter: on the choices, pick the highlighted one (and go on to the plan when it
        needs no value); on the value, show the plan; on a button, press it."""
        focused = self.focused
        if isinstance(focused, Button):
            focused.press()
        elif isinstance(focused, RadioSet):
            highlighted = highlighted_index(focused)
            kind = CHOICES[highlighted or 0][0]
            focused.action_toggle_button()
            if kind in NEEDS_VALUE:
                self._show_value(kind)
            else:
                self.dismiss(parse_target(kind))
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        kind = self._kind()
        if self.query_one("#value", Input).disabled and kind in NEEDS_VALUE:
            return
        value = self.query_one("#value", Input).value.strip()
        try:
            if kind == "shift":
                try:
                    shift = int(value)
                except ValueError:
                    raise ValueError(
                        f"a shift is a whole number of alerts, e.g. -100 or 50: {value!r}"
                    ) from None
                target = parse_target(None, shift)
            elif kind in ("offset", "time"):
                if not value:
                    raise ValueError(f"type the {kind} first")
                # The choice says what the text is: 20261124 is a date here, not an offset.
                target = (
                    ResetTarget(TargetKind.TIME, parse_time(value))
                    if kind == "time"
                    else (parse_target(value))
                )
                if kind == "offset" and target.kind is not TargetKind.OFFSET:
                    raise ValueError(f"not an offset: {value!r}")
            else:
                target = parse_target(kind)
        except ValueError as exc:
            self.query_one("#error", Label).update(Text(str(exc)))
            return
        self.dismiss(target)

    def action_cancel(self) -> None:
        """Close without resetting anything."""
        self.dismiss(None)
