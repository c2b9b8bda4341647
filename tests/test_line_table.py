"""The line table under the lag and schema screens: widths, cells cut and justified, rows kept
across refreshes, the cursor on its row's key, its messages."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from fink_tui.widgets.line_table import LineTable, cell_segments


class OneTable(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def compose(self) -> ComposeResult:
        yield LineTable()

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        self.messages.append(f"highlighted {event.table.selected_key()}")

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        self.messages.append(f"selected {event.table.selected_key()}")


def plain(strip: object) -> str:
    return "".join(segment.text for segment in strip)  # type: ignore[attr-defined]


def test_a_cell_is_cut_with_an_ellipsis_justified_and_padded() -> None:
    """A cell is exactly its column's width plus one blank each side; a longer one ends in
    an ellipsis; a right-justified Text goes right; a str is text, never markup."""
    from rich.console import Console

    console = Console()
    assert plain(cell_segments("abcdefgh", 5, console)) == " abcd… "
    assert plain(cell_segments(Text("42", justify="right"), 5, console)) == "    42 "
    assert plain(cell_segments("[bold]x", 8, console)) == " [bold]x  "


async def test_widths_rows_and_cursor() -> None:
    """Columns without a width fit their widest cell (or name); fixed ones cut. A row that
    comes above keeps the cursor on its row and the other rows' lines as they were drawn; the
    row under the cursor gone, the cursor stays at its place and says so."""
    app = OneTable()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(LineTable)
        table.focus()
        table.set_columns(("Name", "Count"), (None, 3))
        table.set_rows([("a", ["alpha", "1"]), ("b", ["be", "12345"])])
        await pilot.pause()
        assert table.column_widths == (5, 3)
        assert plain(table.render_line(2)).startswith(" be     12… ")
        table.move_cursor(1)
        lines = [table.render_line(y) for y in (1, 2)]
        table.set_rows([("c", ["gamma", "7"]), ("a", ["alpha", "1"]), ("b", ["be", "12345"])])
        assert table.selected_key() == "b" and table.cursor_row == 2
        assert table.render_line(2) is lines[0] and table.render_line(3) is lines[1]
        await pilot.pause()
        app.messages.clear()
        table.set_rows([("c", ["gamma", "7"]), ("a", ["alpha", "1"])])
        await pilot.pause()
        assert table.selected_key() == "a" and app.messages == ["highlighted a"]


async def test_keys_and_clicks() -> None:
    """Up, down, End and Home move the cursor; Enter, or a click on the cursor's row, selects
    it; a click on another row moves the cursor there; a click on the header does nothing."""
    app = OneTable()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(LineTable)
        table.focus()
        table.set_columns(("Name",))
        table.set_rows([(k, [k]) for k in "abcd"])
        await pilot.pause()
        await pilot.press("down", "down")
        assert table.selected_key() == "c"
        await pilot.press("end")
        assert table.selected_key() == "d"
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.messages[-1] == "selected a"
        await pilot.click(LineTable, offset=(2, 2))
        await pilot.pause()
        assert table.selected_key() == "b" and app.messages[-1] == "highlighted b"
        await pilot.click(LineTable, offset=(2, 2))
        await pilot.click(LineTable, offset=(2, 0))
        await pilot.pause()
        assert app.messages[-1] == "selected b" and table.selected_key() == "b"


async def test_a_newest_first_table_follows_the_top() -> None:
    """With follow_top, a cursor on the first row stays there as rows come above (the newest
    is selected); moved down, it stays on its row."""
    app = OneTable()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(LineTable)
        table.follow_top = True
        table.set_columns(("Name",))
        table.set_rows([(k, [k]) for k in "ab"])
        table.set_rows([(k, [k]) for k in "cab"])
        assert table.selected_key() == "c" and table.cursor_row == 0
        table.move_cursor(1)
        table.set_rows([(k, [k]) for k in "dcab"])
        await pilot.pause()
        assert table.selected_key() == "a" and table.cursor_row == 2


async def test_the_lines_below_the_rows_take_the_background_worked_out_once() -> None:
    """Below its rows a table draws blank lines on its background, whose style walks the
    widget's ancestors: worked out once, not on every line, and again once the theme
    changed."""
    from textual.geometry import Region

    from tests.helpers import style_walks

    app = OneTable()
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        table.set_columns(["a"])
        table.set_rows([("k", ("x",))])
        await pilot.pause()
        with style_walks(table) as walks:
            table.refresh()
            blank = table.render_lines(Region(0, 0, 40, 20))[-1]
            assert walks[0] <= 1 and plain(blank).strip() == ""
            before = list(blank)[0].style
            app.theme = "textual-light" if app.theme != "textual-light" else "nord"
            await pilot.pause()
            table.refresh()
            blank = table.render_lines(Region(0, 0, 40, 20))[-1]
            assert list(blank)[0].style != before
