"""Keyed rows under a row cursor, one line each below a header line: what the alert table and
the line tables share (the keys and clicks that move the cursor, its scrolling, and the lines
kept per row and look)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.strip import Strip

from fink_tui.textual_compat import SteadyFocus, SteadyScrollbars


class RowCursor(SteadyScrollbars, SteadyFocus, can_focus=True):
    """Rows (their keys in :attr:`row_keys` order) under a cursor; line 0 is the header.
    Subclasses draw the lines (keeping each in :attr:`_strips` by row key and look: header,
    row, even-row, cursor; :meth:`look`), and say what a move or a selection means
    (:meth:`cursor_moved`, :meth:`action_select_cursor`)."""

    LOOKS: ClassVar[str] = "row-cursor--"
    """The prefix of the component classes of the looks."""
    FOCUS_COMPONENTS = frozenset({"row-cursor--cursor"})
    """The focus changes the cursor's look only: its row is drawn again (:meth:`_restyle`)."""
    COMPONENT_CLASSES = {
        "row-cursor--header",
        "row-cursor--row",
        "row-cursor--even-row",
        "row-cursor--cursor",
    }
    DEFAULT_CSS = """
    RowCursor {
        background: $surface;
        color: $foreground;
        &:focus > .row-cursor--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .row-cursor--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .row-cursor--header { background: ansi_bright_blue; color: ansi_default; }
        & > .row-cursor--even-row { background: $surface-lighten-1 50%; }
        &:dark > .row-cursor--even-row { background: $surface-darken-1 40%; }
        & > .row-cursor--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first_row", "First row", show=False, id="table.first_row"),
        Binding("end", "last_row", "Last row", show=False, id="table.last_row"),
    ]
    """Keys that move the cursor."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cursor_row = 0
        """Index of the row under the cursor."""
        self._keys: list[str] = []
        self._strips: dict[tuple[str, str], Strip] = {}
        """Each row's line per look, as last drawn."""
        self._looks: dict[str, Style] = {}

    @property
    def row_count(self) -> int:
        """How many rows are shown."""
        return len(self._keys)

    @property
    def row_keys(self) -> list[str]:
        """The rows' keys, in the order shown."""
        return list(self._keys)

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return self._keys[self.cursor_row] if self._keys else None

    def look(self, name: str) -> Style:
        """The style of a look (of the component class :attr:`LOOKS` + ``name``)."""
        look = self._looks.get(name)
        if look is None:
            look = self._looks[name] = self.get_component_rich_style(self.LOOKS + name)
        return look

    def blank(self, width: int) -> Strip:
        """A line below the rows: the widget's background (its style worked out once, not on
        every line: it walks the widget's ancestors)."""
        style = self._looks.get("")
        if style is None:
            style = self._looks[""] = self.rich_style
        return Strip.blank(width, style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks.clear()
        self._strips.clear()

    def on_focus(self) -> None:
        self._restyle()

    def on_blur(self) -> None:
        self._restyle()

    def _restyle(self) -> None:
        """The cursor's look follows the focus: only its row is drawn again."""
        self._looks.clear()
        self._strips = {k: v for k, v in self._strips.items() if k[1] != "cursor"}
        self.refresh_line(self.cursor_row + 1)

    def cursor_moved(self) -> None:
        """The cursor is on another row (a subclass says so with a message)."""

    def action_select_cursor(self) -> None:
        """Enter, or a click on the cursor's row (a subclass says what it opens)."""

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row ``row`` (clamped), scrolled into view."""
        row = max(0, min(row, len(self._keys) - 1))
        old, self.cursor_row = self.cursor_row, row
        self._scroll_to_cursor()
        if row != old:
            self.refresh_line(old + 1)
            self.refresh_line(row + 1)
            self.cursor_moved()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(1, self.scrollable_content_region.height - 2))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(1, self.scrollable_content_region.height - 2))

    def action_first_row(self) -> None:
        """Cursor to the first row."""
        self.move_cursor(0)

    def action_last_row(self) -> None:
        """Cursor to the last row."""
        self.move_cursor(len(self._keys) - 1)

    def click_row(self, event: events.Click) -> bool:
        """A click on a row: on the cursor's, select it; on another, move the cursor there.
        False for a click on the header or below the rows."""
        index = self.scroll_offset.y + event.y - 1
        if event.y < 1 or index >= len(self._keys):
            return False
        if index == self.cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(index)
        return True
