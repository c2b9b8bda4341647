"""Textual's private API that fink-tui relies on (all of it in fink_tui/textual_compat.py):
these fail as soon as a Textual release renames or removes any of it."""

from __future__ import annotations

import gc
import inspect
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver
from textual.screen import Screen
from textual.widgets import RadioButton, RadioSet

from fink_tui.textual_compat import QuietCrashApp, highlight, highlighted_index, note_input
from tests.helpers import wait_until


def two_modes(other: type[Screen[None]] = Screen) -> App[None]:
    """An app of two modes, "one" shown at start and "other" not yet built."""

    class Modes(App[None]):
        MODES = {"one": Screen, "other": other}

        def on_mount(self) -> None:
            self.switch_mode("one")

    return Modes()


def test_app_private_driver_writes() -> None:
    """App._driver is where Textual's own bell and OSC 52 go (write_to_terminal uses it)."""
    assert "self._driver.write" in inspect.getsource(App.bell)
    assert "self._driver.write" in inspect.getsource(App.copy_to_clipboard)


def test_app_private_crash_hooks_exist() -> None:
    """App._fatal_error (overridden) and App._close_messages_no_wait (called) are there."""
    assert callable(getattr(App, "_fatal_error", None))
    assert inspect.signature(App._fatal_error).parameters.keys() == {"self"}
    assert callable(getattr(App, "_close_messages_no_wait", None))
    assert "_fatal_error" in QuietCrashApp.__dict__


async def test_crash_goes_to_crash_report_not_the_terminal() -> None:
    """An error in a handler reaches crash_report with its traceback, and the app closes."""
    reports: list[str] = []

    class Crashing(QuietCrashApp):
        def crash_report(self, traceback_text: str) -> None:
            reports.append(traceback_text)

        def on_mount(self) -> None:
            raise RuntimeError("boom")

    app = Crashing()
    with pytest.raises(RuntimeError, match="boom"):  # run_test re-raises it for the test
        async with app.run_test() as pilot:
            await pilot.pause()
    assert reports and "RuntimeError: boom" in reports[0]


async def test_radio_set_highlight_is_read() -> None:
    """RadioSet keeps the highlighted button's index in ``_selected``."""

    class Radios(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            with RadioSet():
                yield RadioButton("a")
                yield RadioButton("b")

    app = Radios()
    async with app.run_test() as pilot:
        radios = app.query_one(RadioSet)
        radios.focus()
        await pilot.press("down")
        await pilot.pause()
        assert highlighted_index(radios) == 1
        highlight(radios, 0)
        await pilot.pause()
        assert highlighted_index(radios) == 0
        assert radios.query(RadioButton).first().has_class("-selected")


async def test_a_mode_is_built_before_it_is_shown() -> None:
    """``_init_mode`` builds a mode's screen (mounted, not shown); a second call is a no-op."""
    from textual.widgets import Label

    from fink_tui.textual_compat import prepare_mode

    class Other(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Label("other")

    app = two_modes(Other)
    async with app.run_test() as pilot:
        assert prepare_mode(app, "other")
        await pilot.pause()
        assert not prepare_mode(app, "other")
        assert app.current_mode == "one"
        await pilot.press()
        app.switch_mode("other")
        await pilot.pause()
        assert str(app.screen.query_one(Label).render()) == "other"


async def test_a_screen_is_found_in_the_stack_of_another_mode() -> None:
    """``_screen_stacks`` holds each mode's stack: a screen pushed in one mode is found there
    once another mode is shown, and no longer once popped."""
    from fink_tui.textual_compat import in_a_stack

    app = two_modes()
    async with app.run_test() as pilot:
        pushed: Screen[None] = Screen()
        app.install_screen(pushed, name="pushed")
        assert not in_a_stack(app, pushed)
        await app.push_screen(pushed)
        app.switch_mode("other")
        await pilot.pause()
        assert in_a_stack(app, pushed) and app.screen is not pushed
        app.switch_mode("one")
        await pilot.pause()
        app.pop_screen()
        await pilot.pause()
        assert not in_a_stack(app, pushed)


async def test_a_built_mode_is_shown_without_parsing_the_css_again() -> None:
    """A screen built ahead counts as styled (``_css_update_count``): its first showing does not
    parse and apply the whole stylesheet (``refresh_css``) again."""
    from fink_tui.textual_compat import prepare_mode

    app = two_modes()
    refreshed: list[bool] = []
    async with app.run_test() as pilot:
        assert prepare_mode(app, "other")
        await pilot.pause()
        original = app.refresh_css
        app.refresh_css = lambda animate=True: refreshed.append(True) or original(animate)  # type: ignore[method-assign]
        app.switch_mode("other")
        await pilot.pause()
        assert app.current_mode == "other" and not refreshed


async def test_default_css_is_parsed_ahead() -> None:
    """After ``load_default_css``, the first widget of a class adds no CSS that the stylesheet
    must parse again (``_require_parse``), and it is styled by its DEFAULT_CSS."""
    from textual.widget import Widget

    from fink_tui.textual_compat import load_default_css, widget_classes

    class Boxed(Widget):
        DEFAULT_CSS = "Boxed { height: 3; border: solid red; }"

    assert Boxed in widget_classes()
    app = App[None]()
    async with app.run_test() as pilot:
        load_default_css(app, [Boxed])
        assert not app.stylesheet._require_parse
        await app.screen.mount(Boxed())
        assert not app.stylesheet._require_parse
        await pilot.pause()
        assert app.screen.query_one(Boxed).size.height == 1  # 3 rows, 2 of them border


def test_a_strip_cut_at_its_own_length_is_freed_when_dropped() -> None:
    """Strip.divide at the strip's own length gives [strip] and no longer keeps it inside the
    strip: the strip is freed at once, not by the next full garbage collection."""
    from rich.segment import Segment
    from textual.strip import Strip

    from fink_tui.textual_compat import free_strips_at_once

    free_strips_at_once()
    free_strips_at_once()  # twice: still one wrapper
    gc.collect()
    gc.disable()
    try:
        strip = Strip([Segment("ZTF21aaxtctv"), Segment(" 18.2")])
        assert strip.divide([17]) == [strip]
        assert [s.text for s in strip.divide([3, 17, 40])] == ["ZTF", "21aaxtctv 18.2"]
        del strip
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_a_screen_toast_rack_is_found_and_hidden() -> None:
    """Textual's toast rack has the id hide_toast_rack looks for, App._notifications is there,
    and a rack hidden at mount is still shown for a notification."""
    from fink_tui.textual_compat import hide_toast_rack

    app = two_modes()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        rack = app.screen.get_child_by_id("textual-toastrack")
        assert not app._notifications
        hide_toast_rack(app.screen)
        assert rack.display is False
        app.notify("ZTF21aaxtctv matched")
        await pilot.pause()
        assert rack.display is True


async def test_a_screen_out_of_sight_is_laid_out_and_listed_with_its_mode() -> None:
    """``stacked_screens`` and ``mode_screen`` read ``_screen_stacks``; ``lay_out_unseen``
    gives a built screen's widgets their sizes (``Screen._refresh_layout``, and
    ``_layout_required`` cleared as Textual does) once their content changed, without
    showing it."""
    from textual.widgets import Label

    from fink_tui.textual_compat import (
        lay_out_unseen,
        mode_screen,
        prepare_mode,
        stacked_screens,
    )

    class Other(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Label("a line\nand another", id="text")

    app = two_modes(Other)
    async with app.run_test(size=(50, 12)) as pilot:
        assert mode_screen(app, "other") is None
        assert prepare_mode(app, "other")
        await pilot.pause()
        other = mode_screen(app, "other")
        assert isinstance(other, Other) and other in stacked_screens(app)
        assert app.screen in stacked_screens(app)  # and the "_default" mode's screen
        label = other.query_one("#text", Label)
        assert label.size == (len("and another"), 2)
        label.update("a line\nand another\nand a third one")
        await pilot.pause()
        assert other._layout_required and label.size.height == 2  # asked for, not done
        lay_out_unseen(other)
        assert label.size == (len("and a third one"), 3) and not other._layout_required
        assert app.screen is not other
        lay_out_unseen(app.screen)  # the shown screen is Textual's to lay out: nothing here


async def test_a_screen_out_of_sight_is_drawn_ahead_and_shown_from_its_lines() -> None:
    """``render_unseen`` lays a screen out of sight out first when a layout was asked for
    (False: call again), then draws its widgets' lines into Textual's cache of them; showing
    the screen then draws none of those lines again, and shows them."""
    from textual.strip import Strip
    from textual.widget import Widget

    from fink_tui.textual_compat import prepare_mode, render_unseen

    drawn: list[int] = []

    class Lines(Widget):
        def render_line(self, y: int) -> Strip:
            drawn.append(y)
            return Strip.blank(self.size.width)

    class Other(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Lines(id="lines")

    app = two_modes(Other)
    async with app.run_test(size=(40, 10)) as pilot:
        assert prepare_mode(app, "other")
        await pilot.pause()
        other = app._screen_stacks["other"][-1]
        lines = other.query_one("#lines", Lines)
        other._layout_required = True  # as a widget's new size asks
        assert not render_unseen(other, [lines]) and not other._layout_required
        assert drawn == [] and lines.size == (40, 10)  # laid out, nothing drawn yet
        assert render_unseen(other, [lines])
        assert sorted(drawn) == list(range(10))
        drawn.clear()
        app.switch_mode("other")
        await pilot.pause()
        assert app.screen is other and drawn == []  # shown from the lines drawn ahead
        assert render_unseen(other, [lines]) and drawn == []  # shown: Textual's to draw


async def test_an_installed_screen_is_built_before_it_is_first_pushed() -> None:
    """``prepare_screen`` (``App._get_screen``, ``_load_screen_css``): the screen's widgets are
    there before it is shown, and pushing it composes nothing again."""
    from textual.widgets import Label

    from fink_tui.textual_compat import prepare_screen

    composed: list[int] = []

    class Dialog(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            composed.append(1)
            yield Label("ready", id="ready")

    app = two_modes()
    async with app.run_test() as pilot:
        dialog = Dialog()
        app.install_screen(dialog, name="dialog")
        assert prepare_screen(app, dialog)
        await pilot.pause()
        assert dialog.is_running and composed == [1] and app.screen is not dialog
        assert str(dialog.query_one("#ready", Label).render()) == "ready"
        assert not prepare_screen(app, dialog)
        await app.push_screen(dialog)
        await pilot.pause()
        assert app.screen is dialog and composed == [1]


async def test_keys_are_noted_as_the_driver_sends_them() -> None:
    """note_input sees each key the driver sends (Pilot's keys go the same way) before the
    app handles it, and the key still reaches the app."""
    noted: list[str] = []
    handled: list[str] = []

    class Keys(App[None]):
        def on_key(self, event: events.Key) -> None:
            handled.append(event.key)

    app = Keys()
    async with app.run_test() as pilot:
        note_input(app, lambda m: noted.append(m.key) if isinstance(m, events.Key) else None)
        await pilot.press("x", "2")
        assert noted == ["x", "2"] and handled == ["x", "2"]


async def test_a_switch_keeps_the_lines_of_steady_screens_and_scroll_bars() -> None:
    """Textual draws a screen's background and the scroll bars of its scroll views anew at
    every mode switch (it empties the screen's cache of lines, and ``ScrollView._size_updated``
    refreshes the bars at every layout). ``SteadyBackground`` and ``SteadyScrollbars`` keep
    those lines while their look and sizes stay; a new theme or terminal size draws them
    again."""
    from textual.geometry import Size
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    from fink_tui.textual_compat import SteadyBackground, SteadyScrollbars

    def tall(base: type[ScrollView]) -> type[ScrollView]:
        class Tall(base, can_focus=False):  # type: ignore[valid-type,misc]
            # (not focusable: a scroll bar's look follows the focus, drawn again with it)
            def on_mount(self) -> None:
                self.virtual_size = Size(10, 100)  # taller than the terminal: a scroll bar

            def render_line(self, y: int) -> Strip:
                return Strip.blank(self.size.width)

        return Tall

    steady_view, plain_view = tall(SteadyScrollbars), tall(ScrollView)

    class Steady(SteadyBackground[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield steady_view()

        def on_screen_resume(self, event: events.ScreenResume) -> None:
            event.refresh_styles = False  # as the dashboard's screens do with the same theme

    class Plain(Screen[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield plain_view()

    def lines(screen: Screen[None]) -> tuple[list[Strip], list[Strip]]:
        """The lines cached for the screen's background and for its view's scroll bar."""
        bar = screen.query_one(ScrollView).vertical_scrollbar
        return list(screen._styles_cache._cache.values()), list(bar._styles_cache._cache.values())

    def same(now: list[Strip], before: list[Strip]) -> bool:
        return len(now) == len(before) and all(a is b for a, b in zip(now, before, strict=True))

    def none_of(now: list[Strip], before: list[Strip]) -> bool:
        return not any(a is b for a in now for b in before)

    class Modes(App[None]):
        MODES = {"steady": Steady, "plain": Plain}

        def on_mount(self) -> None:
            self.switch_mode("steady")

    app = Modes()
    async with app.run_test(size=(40, 10)) as pilot:
        for mode in ("plain", "steady", "plain"):  # (building a mode restyles every screen)
            app.switch_mode(mode)
            await pilot.pause(0.1)  # painted
        steady, plain = app._screen_stacks["steady"][-1], app._screen_stacks["plain"][-1]
        before = {screen: lines(screen) for screen in (steady, plain)}
        assert all(len(ids) == 10 for pair in before.values() for ids in pair)
        for mode in ("steady", "plain", "steady"):
            app.switch_mode(mode)
            await pilot.pause(0.1)  # painted
        background, bar = lines(steady)
        assert same(background, before[steady][0]) and same(bar, before[steady][1])  # kept
        background, bar = lines(plain)
        assert none_of(background, before[plain][0])  # Textual's way: both drawn anew
        assert none_of(bar, before[plain][1])

        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause(0.1)  # painted
        assert none_of(lines(steady)[0], before[steady][0])  # another look: drawn again
        await pilot.resize_terminal(40, 12)
        await pilot.pause(0.1)  # painted
        assert steady.query_one(ScrollView).vertical_scrollbar.window_size == 12
        assert len(lines(steady)[1]) == 12


async def test_a_focus_move_draws_only_what_the_focus_changes() -> None:
    """Textual draws a widget whole when it gains or loses the focus, and its scroll bar (its
    colours set again, unchanged). ``SteadyFocus`` keeps every line but those its own
    ``on_focus`` / ``on_blur`` draw again, still tells its parent of the move
    (``DescendantFocus``, ``DescendantBlur``), and draws itself whole when the focus changes
    more of its look (a ``:focus`` rule of its own)."""
    from textual.containers import Vertical
    from textual.geometry import Size
    from textual.scroll_view import ScrollView
    from textual.strip import Strip
    from textual.widgets import Input

    from fink_tui.textual_compat import SteadyFocus

    class Rows(ScrollView):
        DEFAULT_CSS = "Rows { height: 8; }"

        def on_mount(self) -> None:
            self.virtual_size = Size(10, 100)  # a scroll bar

        def render_line(self, y: int) -> Strip:
            return Strip.blank(self.size.width)

        def on_focus(self) -> None:
            self.refresh_line(0)  # the cursor's line, say

        def on_blur(self) -> None:
            self.refresh_line(0)

    class SteadyRows(Rows, SteadyFocus):
        pass

    class Loud(SteadyRows):
        DEFAULT_CSS = "Loud:focus { background: red; }"

    moves: list[str] = []

    class Box(Vertical):
        def on_descendant_focus(self) -> None:
            moves.append("focus")

        def on_descendant_blur(self) -> None:
            moves.append("blur")

    class Focusing(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            with Box():
                yield SteadyRows(id="steady")
            yield Rows(id="plain")  # the same widget without SteadyFocus
            yield Loud(id="loud")
            yield Input(id="box")

    def lines(widget: ScrollView) -> tuple[list[Strip], list[Strip]]:
        bar = widget.vertical_scrollbar
        return list(widget._styles_cache._cache.values()), list(bar._styles_cache._cache.values())

    def kept(now: list[Strip], before: list[Strip]) -> int:
        return sum(1 for a, b in zip(now, before, strict=True) if a is b)

    app = Focusing()
    async with app.run_test(size=(40, 30)) as pilot:
        box = app.query_one("#box", Input)
        box.focus()
        await pilot.pause(0.1)
        views = [app.query_one(f"#{name}", ScrollView) for name in ("steady", "plain", "loud")]
        before = {view: lines(view) for view in views}
        for view in views:  # each gains the focus, then loses it
            view.focus()
            await pilot.pause(0.1)
            box.focus()
            await pilot.pause(0.1)  # painted
        steady, plain, loud = (lines(view) for view in views)
        assert kept(steady[0], before[views[0]][0]) == 7  # all but the cursor's line
        assert kept(steady[1], before[views[0]][1]) == 8  # the scroll bar's
        assert kept(plain[0], before[views[1]][0]) == 0  # Textual's way: all drawn again
        assert kept(plain[1], before[views[1]][1]) == 0
        assert kept(loud[0], before[views[2]][0]) == 0  # its look changed with the focus
        assert moves == ["focus", "blur"] and app.focused is box


def test_linux_driver_private_input_loop_is_there() -> None:
    """QuietInputDriver replaces LinuxDriver.run_input_thread, sets ``exit_event`` (which
    disable_input sets, then joins the thread), and reads the parser's ``_timeout_time``."""
    assert "run_input_thread" in LinuxDriver.__dict__
    assert "self.exit_event.set()" in inspect.getsource(LinuxDriver.disable_input)
    assert "self.exit_event = Event()" in inspect.getsource(LinuxDriver.__init__)
    assert "self._debug" in inspect.getsource(LinuxDriver.run_input_thread)
    assert callable(LinuxDriver.process_message)
    parser = XTermParser()
    assert parser._timeout_time is None
    list(parser.feed("\x1b"))  # a lone escape: the parser waits ESCDELAY for more
    assert parser._timeout_time is not None


INPUT_CHILD = """
import sys, threading
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver
from fink_tui.textual_compat import quiet_input

out = open(sys.argv[1], "w", buffering=1)


class Keys(App[None]):
    def on_mount(self) -> None:
        thread = next(t for t in threading.enumerate() if t.name == "textual-input")
        out.write(f"input thread {thread.native_id}\\n")

    def on_key(self, event) -> None:
        out.write(f"key {event.key}\\n")
        if event.key == "q":
            self.exit()


Keys(driver_class=quiet_input(LinuxDriver) if sys.argv[2] == "quiet" else LinuxDriver).run()
out.write("ended\\n")
"""


def lines_of(path: Path, want: str) -> list[str]:
    """The lines written to ``path`` once one of them starts with ``want``."""

    def lines() -> list[str]:
        return path.read_text().splitlines() if path.exists() else []

    assert wait_until(lambda: any(line.startswith(want) for line in lines())), lines()
    return lines()


def wake_ups(pid: int, thread: int) -> int:
    status = Path(f"/proc/{pid}/task/{thread}/status").read_text()
    return int(status.split("voluntary_ctxt_switches:")[1].split()[0])


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@pytest.mark.parametrize(("driver", "most"), [("textual", None), ("quiet", 2)])
def test_the_input_thread_sleeps_until_a_key_comes(
    tmp_path: Path, driver: str, most: int | None
) -> None:
    """In a pseudo-terminal: Textual's input thread wakes ten times a second with no key
    (the control); QuietInputDriver's not at all, yet it gets the keys, a lone Esc once
    ESCDELAY is over (the parser's own wait), and ends when the app does."""
    out = tmp_path / "keys.txt"
    master, slave = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", INPUT_CHILD, str(out), driver],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(slave)
    drained = threading.Thread(target=drain, args=(master,), daemon=True)
    drained.start()
    try:
        thread = int(lines_of(out, "input thread")[0].split()[-1])
        before = wake_ups(child.pid, thread)
        time.sleep(1.0)
        woke = wake_ups(child.pid, thread) - before
        if most is None:
            assert woke >= 5
        else:
            assert woke <= most
        os.write(master, b"x")
        assert "key x" in lines_of(out, "key x")
        os.write(master, b"\x1b")
        assert "key escape" in lines_of(out, "key escape")
        os.write(master, b"q")
        assert child.wait(20) == 0
        assert lines_of(out, "ended")[-1] == "ended"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)


def drain(fd: int) -> None:
    """Read what the app paints, so it never blocks on a full terminal."""
    try:
        while os.read(fd, 1 << 16):
            pass
    except OSError:
        return
