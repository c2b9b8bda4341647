"""The keys of the shown screen on one line at the bottom: one widget, redrawn only when the
keys change.

Textual's ``Footer`` rebuilds a widget per key (mount, restyle, layout of the whole screen) on
every change of the screen's bindings — a mode switch, a focus change, pause/resume — which
cost a third of a mode switch on a 2-core machine. This bar draws the same keys as one line of
text, so it redraws one row and never changes the layout. Clicking a key presses it.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

HELP_KEY = "question_mark"
"""The key that lists every key: always shown, even when the others do not fit."""
ALWAYS = (HELP_KEY, "q")
"""Shown however narrow the terminal (with the command palette's key)."""


class Key(NamedTuple):
    """One key as the bar shows it."""

    key: str
    display: str
    description: str
    enabled: bool


class KeyBar(Widget, can_focus=False):
    """Every key the person can press now, with what it does."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--disabled { text-style: dim; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.keys: tuple[Key, ...] = ()
        """The keys drawn now, in order."""
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys = self._keys(screen)
        if keys != self.keys:
            self.keys = keys
            self.refresh()  # one row redrawn; the size never changes

    def _keys(self, screen: Screen[object]) -> tuple[Key, ...]:
        app = self.app
        shown: dict[str, Key] = {}  # one entry per action: its first key
        palette = None
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = Key(binding.key, app.get_key_display(binding), "palette", enabled)
                continue
            if not binding.show or binding.action in shown:
                continue
            shown[binding.action] = Key(
                binding.key, app.get_key_display(binding), binding.description, enabled
            )
        keys = [key for key in shown.values() if key.key not in ALWAYS]
        keys += [key for key in shown.values() if key.key in ALWAYS]
        if palette is not None:
            keys.append(palette)
        return tuple(keys)

    def render(self) -> Text:
        width = self.size.width
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        text_style = self.get_component_rich_style("key-bar--description", partial=True)
        dim = self.get_component_rich_style("key-bar--disabled", partial=True)
        pieces = [self._piece(key) for key in self.keys]
        # What does not fit goes, from the screen's last keys back; "? Keys" (which lists
        # them all), "q Quit" and the palette stay, and "…" says something was left out.
        always = (*ALWAYS, self.app.COMMAND_PALETTE_BINDING)
        tail = [i for i, key in enumerate(self.keys) if key.key in always]
        keep = list(range(len(self.keys)))
        cut = False
        while sum(len(pieces[i]) for i in keep) + (2 if cut else 0) > width:
            droppable = [i for i in keep if i not in tail]
            if not droppable:
                break
            keep.remove(droppable[-1])
            cut = True
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for i in keep:
            key = self.keys[i]
            if cut and i == (tail[0] if tail else None):
                text.append("… ", text_style)
            start = text.cell_len
            extra = Style() if key.enabled else dim
            text.append(f" {key.display} ", key_style + extra)
            text.append(f"{key.description} ", text_style + extra)
            self._spans.append((start, text.cell_len, key.key))
        return text

    @staticmethod
    def _piece(key: Key) -> str:
        return f" {key.display} {key.description} "

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
