"""The only place fink-tui touches Textual's private API; tests/test_textual_compat.py fails
as soon as a Textual release changes any of it.

- A crash report without local variables: Textual's own report prints every local of the
  traceback, and locals can hold credentials. :class:`QuietCrashApp` overrides the private
  ``App._fatal_error`` to hand the traceback to :meth:`QuietCrashApp.crash_report` instead, and
  closes the app the way Textual does (``App._close_messages_no_wait``).
- Escape sequences written to the terminal as they are (the bell and desktop notifications):
  :func:`write_to_terminal` uses the private ``App._driver``, as ``App.bell`` and
  ``App.copy_to_clipboard`` do.
- The radio button under a :class:`~textual.widgets.RadioSet`'s cursor, which Textual keeps in
  the private ``RadioSet._selected``.
- Screens built ahead, out of sight: :func:`prepare_mode` (``App._init_mode``, and the screen's
  ``_css_update_count``), :func:`prepare_screen` (``App._get_screen``, ``_load_screen_css``),
  :func:`in_a_stack` and :func:`stacked_screens` (``App._screen_stacks``),
  :func:`lay_out_unseen` (``Screen._refresh_layout``, ``_layout_required``), and
  :func:`render_unseen` (``_layout_required``, and a widget's lines drawn into Textual's cache
  of them before the compositor asks: ``Widget.render_lines`` is public, calling it out of
  sight is not).
- Default CSS parsed ahead: :func:`load_default_css` (``DOMNode._get_default_css`` and
  ``_css_bases``, the stylesheet's ``add_source`` and ``rules_map``).
- A screen's toast rack hidden ahead: :func:`hide_toast_rack` (the rack's id,
  ``textual-toastrack``, and ``App._notifications``).
- Keys seen as soon as the terminal sends them: :func:`note_input` wraps the driver's
  ``send_message`` (the private ``App._driver``), on its input thread.
- Lines of the screen freed as soon as they are dropped: :func:`free_strips_at_once` replaces
  ``Strip.divide`` (public), which otherwise keeps ``[self]`` in the strip's own cache.
- Lines kept across a screen switch: :class:`SteadyScrollbars` overrides
  ``ScrollView._size_updated``; :class:`SteadyBackground` overrides ``Widget._set_dirty`` and
  reads the screen's ``_styles_cache`` (its ``_cache`` and ``_dirty_lines``).
- Lines kept across a focus move: :class:`SteadyFocus` replaces Textual's ``Widget._on_focus``
  and ``_on_blur`` handlers (their work done again without their redraw), and reads the
  private ``_component_styles``.
- An input thread that sleeps until a key comes: :class:`QuietInputDriver` replaces
  ``LinuxDriver.run_input_thread`` (its loop, with the private ``_debug``, ``exit_event`` and
  ``process_message``), reads the private ``XTermParser._timeout_time`` and ``textual._time``.
"""

from __future__ import annotations

import os
import selectors
import threading
import traceback
from codecs import getincrementaldecoder
from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar, Self

from textual import events
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Region, Size
from textual.message import Message
from textual.screen import Screen, ScreenResultType
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import RadioSet


def write_to_terminal(app: App[Any], text: str) -> bool:
    """Write ``text`` to the terminal as it is; False if there is none (headless, closing)."""
    driver = getattr(app, "_driver", None)
    if driver is None or app.is_headless:
        return False
    driver.write(text)
    return True


class QuietCrashApp(App[int]):
    """An App whose unhandled errors go to :meth:`crash_report`, never to the terminal."""

    def crash_report(self, traceback_text: str) -> None:
        """Record an unhandled error (the app then closes)."""

    def _fatal_error(self) -> None:
        self.crash_report(traceback.format_exc())
        self._close_messages_no_wait()


def highlighted_index(radio_set: RadioSet) -> int | None:
    """The index of the button under the radio set's cursor (None: none)."""
    index = radio_set._selected
    return index if isinstance(index, int) else None


def highlight(radio_set: RadioSet, index: int) -> None:
    """Put the radio set's cursor on button ``index``."""
    radio_set._selected = index


def prepare_mode(app: App[Any], mode: str) -> bool:
    """Build the screen of ``mode`` now without showing it (Textual builds a mode's screen the
    first time it is switched to, which made that first switch the slowest key). False if it
    was built already."""
    if mode in app._screen_stacks:
        return False
    app._init_mode(mode)
    # _init_mode styled the new screen, but marks as styled only the screens of the mode
    # shown: the first switch to this one parsed and applied the whole stylesheet again
    # (~55 ms of that key). A theme changed later still restyles it when it is shown.
    app._screen_stacks[mode][0]._css_update_count = app._css_update_count
    return True


def prepare_screen(app: App[Any], screen: Screen[Any]) -> bool:
    """Build an installed screen's widgets now without showing it (Textual builds a screen the
    first time it is pushed: the key that first opened the reset dialog composed it, 40-50 ms).
    False if it was built already."""
    if screen.is_running:
        return False
    app._get_screen(screen)
    app._load_screen_css(screen)
    screen._css_update_count = app._css_update_count  # styled now, as prepare_mode's
    return True


def load_default_css(app: App[Any], classes: Iterable[type[DOMNode]]) -> None:
    """Add the ``DEFAULT_CSS`` of these classes to the app's stylesheet and parse it now.
    Textual adds a class's default CSS when its first widget is mounted, and the whole
    stylesheet is then parsed again: 30-70 ms of the key that first opens a dialog."""
    stylesheet = app.stylesheet
    for cls in classes:
        # What DOMNode._get_default_css reads of an instance: its CSS bases.
        stand_in = SimpleNamespace(_node_bases=cls._css_bases(cls))
        for read_from, css, tie_breaker, scope in DOMNode._get_default_css(stand_in):  # type: ignore[arg-type]
            stylesheet.add_source(
                css,
                read_from=read_from,
                is_default_css=True,
                tie_breaker=tie_breaker,
                scope=scope,
            )
    _ = stylesheet.rules_map  # parsed here, not at the first dialog


def widget_classes() -> list[type[DOMNode]]:
    """Every widget class imported so far (screens included), ancestors first."""
    found: list[type[DOMNode]] = []
    todo: list[type[DOMNode]] = [Widget]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def in_a_stack(app: App[Any], screen: Screen[Any]) -> bool:
    """Whether ``screen`` is in the stack of any mode (shown there, or under another)."""
    return screen in stacked_screens(app)


def stacked_screens(app: App[Any]) -> list[Screen[Any]]:
    """Every screen in the stack of any mode: the one shown, those under it, and the other
    modes' (built, out of sight)."""
    return [screen for stack in app._screen_stacks.values() for screen in stack]


def mode_screen(app: App[Any], mode: str) -> Screen[Any] | None:
    """The screen a switch to ``mode`` shows (the top of its stack), None if not built yet."""
    stack = app._screen_stacks.get(mode)
    return stack[-1] if stack else None


def lay_out_unseen(screen: Screen[Any]) -> None:
    """Lay a screen out of sight out at the terminal's size now if a layout of it was asked
    for (its widgets get their sizes and scrollbars; nothing is painted), as Textual would once
    the screen is shown: the key that shows it then finds the layout done."""
    if not screen.is_current and screen._layout_required:
        screen._refresh_layout(screen.app.size)
        screen._layout_required = False  # as Textual does after a layout: it is done


def render_unseen(screen: Screen[Any], widgets: Iterable[Widget]) -> bool:
    """Draw these widgets of a screen out of sight, as the compositor would once the screen is
    shown: their lines are then cached, and the key that shows the screen only puts them
    together. If a layout of the screen was asked for, it is laid out instead and nothing is
    drawn: False (a layout can ask for another, a scrollbar shown or hidden: call again a
    moment later). Nothing for a screen shown."""
    if screen.is_current:
        return True
    if screen._layout_required:
        lay_out_unseen(screen)
        return False
    for widget in widgets:
        size = widget.region.size
        if size:
            widget.render_lines(size.region)
    return True


def free_strips_at_once() -> None:
    """Make a rendered line (a :class:`~textual.strip.Strip`) freed when it is dropped, not at
    the garbage collector's next full pass. ``Strip.divide`` at the strip's own length caches
    ``[self]`` in the strip, a reference cycle: nearly every line the compositor cut became
    cyclic garbage (3,459 of the 3,650 strips of one full collection, with their segments and
    caches: 72,000 objects), and the full collections that freed them took 60-300 ms of the
    interface, key presses included (bench/README.md, ninth session). Called once, at start."""
    divide = Strip.divide
    if getattr(divide, "frees_at_once", False):
        return

    def divide_without_cycle(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cuts = [cut for cut in cuts if cut <= self.cell_length]
        if cuts == [self.cell_length]:
            return [self]  # what Textual returns then, without keeping it in the strip
        return divide(self, cuts)

    divide_without_cycle.frees_at_once = True  # type: ignore[attr-defined]
    Strip.divide = divide_without_cycle  # type: ignore[method-assign]


class SteadyScrollbars(ScrollView):
    """A scroll view whose scroll bars are drawn again only when its sizes change. Textual's
    ``ScrollView._size_updated`` compares the virtual size the layout gives (the region's)
    with the view's own (its content's), which always differ: every layout of a screen, each
    mode switch among them, drew the scroll bars of every such view anew (40 lines of the
    alert table's, 40 of the schema tree's; bench/README.md, sixteenth session)."""

    _sizes_seen: tuple[Size, Size, Size, Size] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        seen = (size, virtual_size, container_size, self.virtual_size)
        if seen == self._sizes_seen:
            return False  # as the first call with these sizes left it
        self._sizes_seen = seen
        return super()._size_updated(size, virtual_size, container_size, layout)


class SteadyBackground(Screen[ScreenResultType]):
    """A screen that keeps the lines of its own background when it is repainted whole with
    the same look. Textual repaints a screen whole when it is left and when it is shown again
    (a mode switch, a dialog closed), and empties its cache of lines each time: its 45 blank
    lines were drawn anew at every switch (bench/README.md, sixteenth session). The lines
    are kept only while the screen's size, background and theme are those they were drawn
    with, and never for a screen with a border or padding (lines that depend on its size);
    the repaint still covers the whole terminal."""

    _lines_look: tuple[object, ...] | None = None

    def _set_dirty(self, *regions: Region) -> None:
        if regions:
            super()._set_dirty(*regions)
            return
        look = (self.size, self.background_colors, self.app.theme, self.styles.gutter)
        cache = self._styles_cache
        steady = look == self._lines_look and not self.styles.gutter
        kept = dict(cache._cache) if steady else {}
        self._lines_look = look
        super()._set_dirty()
        if kept:
            cache._cache.update(kept)
            cache._dirty_lines.clear()


class SteadyFocus(Widget):
    """A widget whose look changes with the focus only on the lines its own ``on_focus`` and
    ``on_blur`` redraw (a row cursor's line). Textual redraws a widget whole when it gains or
    loses the focus (``Widget._on_focus``, ``_on_blur``), again when the styles of its
    component classes change with it, and redraws its scroll bars, whose colours the
    stylesheet sets again unchanged (a scroll view's ``layout`` rule never equals itself, so
    each restyle counts as a change): ``/`` drew the 40 lines of the alert table and the 40
    of its scroll bar, and Escape them again (bench/README.md, seventeenth session). Here the
    focus moves as Textual moves it (``has_focus``, the restyle, the message to the parent)
    and those whole redraws are left out, unless the focus changed more of the widget's look
    than :attr:`FOCUS_COMPONENTS` (its styles, another component's, a scroll bar's colours).

    Put it after the widget's Textual base (``class T(ScrollView, SteadyFocus)``): Textual's
    CSS follows the first base."""

    FOCUS_COMPONENTS: ClassVar[frozenset[str]] = frozenset()
    """The component classes whose change with the focus the subclass redraws itself."""

    _focus_moving = False

    def _on_focus(self, event: events.Focus) -> None:
        self._move_focus(event, True)

    def _on_blur(self, event: events.Blur) -> None:
        self._move_focus(event, False)

    def focus(self, scroll_visible: bool = True) -> Self:
        self._focus_moving = True  # Textual's focus() redraws the widget whole, for nothing
        try:
            return super().focus(scroll_visible)
        finally:
            self._focus_moving = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if self._focus_moving and not (regions or layout or recompose):
            return self  # a whole redraw asked by the restyle: _move_focus decides
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _move_focus(self, event: events.Focus | events.Blur, focused: bool) -> None:
        event.prevent_default()  # Textual's Widget._on_focus / _on_blur: done here instead
        bars = self._bars_shown()
        before = self._focus_look(bars)
        self._focus_moving = True
        for bar in bars:
            bar.refresh = _no_refresh  # type: ignore[method-assign,assignment]
        try:
            self.has_focus = focused  # the restyle (the :focus rules)
        finally:
            self._focus_moving = False
            for bar in bars:
                del bar.refresh
        if self._focus_look(bars) != before:
            self.refresh()
            for bar in bars:
                bar.refresh()
        if self.parent is not None:
            moved = events.DescendantFocus if focused else events.DescendantBlur
            self.parent.post_message(moved(self))

    def _bars_shown(self) -> list[Widget]:
        bars: list[Widget] = []
        if self.show_vertical_scrollbar:
            bars.append(self.vertical_scrollbar)
        if self.show_horizontal_scrollbar:
            bars.append(self.horizontal_scrollbar)
        return bars

    def _focus_look(self, bars: Sequence[Widget]) -> tuple[object, ...]:
        """What the focus may change of the widget's look, but the components it redraws."""
        styles = self.styles
        own = (
            styles.background,
            styles.color,
            styles.text_style,
            styles.tint,
            styles.background_tint,
            styles.opacity,
            styles.border,
            styles.outline,
            styles.padding,
        )
        components = tuple(
            (name, component.get_rules())
            for name, component in sorted(self._component_styles.items())
            if name not in self.FOCUS_COMPONENTS
        )
        scrollbars = (
            (
                styles.scrollbar_color,
                styles.scrollbar_color_hover,
                styles.scrollbar_color_active,
                styles.scrollbar_background,
                styles.scrollbar_background_hover,
                styles.scrollbar_background_active,
                styles.scrollbar_corner_color,
            )
            if bars
            else ()
        )
        return own, components, scrollbars


def _no_refresh(*_regions: Region, **_how: bool) -> None:
    """A scroll bar's refresh while the focus moves (the colours set again, unchanged)."""


def hide_toast_rack(screen: Screen[Any]) -> None:
    """Hide the screen's toast rack now if no notification is up, as Textual does the first
    time the screen is shown (``App._refresh_notifications``): then, the rack's display set for
    the first time laid the whole screen out again, 27-43 ms of the first key that showed a
    prepared screen (bench/README.md, ninth session)."""
    if screen.app._notifications:
        return
    try:
        screen.get_child_by_id("textual-toastrack").display = False
    except NoMatches:
        pass


def note_input(app: App[Any], note: Callable[[Message], None]) -> None:
    """Call ``note`` with each message the driver sends the app (keys, clicks, resizes), on
    the driver's input thread, before it joins the app's queue: a key waits there behind
    what is queued ahead of it, and the app can make those wait instead (``FinkApp``'s
    ``KEY_FIRST``). Nothing without a driver."""
    driver = getattr(app, "_driver", None)
    if driver is None:
        return
    send = driver.send_message

    def noted(message: Message) -> None:
        note(message)
        send(message)

    driver.send_message = noted


class _WakingEvent(threading.Event):
    """An event that, once set, also writes a byte to a pipe a selector waits on."""

    def __init__(self, wake: int) -> None:
        super().__init__()
        self.wake = wake

    def set(self) -> None:
        super().set()
        try:
            os.write(self.wake, b"x")
        except OSError:
            pass  # the driver closed: nobody waits on it


class QuietInputDriver(LinuxDriver):
    """Textual's Linux driver with an input thread that sleeps until a key comes. Textual's
    wakes ten times a second to see whether an escape key's wait is over, keys or not: 0.3-0.5 %
    of a core, a fifth to a quarter of the idle app's (bench/README.md, twentieth session).
    This one waits on the terminal and on a pipe its exit event writes to (``disable_input``
    sets it, then joins the thread), with no timeout unless the parser waits for the rest of
    an escape sequence, and then exactly until that wait ends (a lone Esc is delivered after
    ``ESCDELAY``, not up to a tenth of a second later)."""

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self.exit_event: _WakingEvent = _WakingEvent(self._wake_write)

    def run_input_thread(self) -> None:
        """Read the terminal and hand its keys, clicks and reports to the app (Textual's own
        loop, waiting as long as nothing is due)."""
        selector = selectors.SelectSelector()  # as Textual's: macOS polls a tty badly
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def read(timeout: float | None, final: bool = False) -> None:
            for key, _mask in selector.select(timeout):
                if key.fd == self._wake_read:
                    os.read(self._wake_read, 64)
                    continue
                data = decode(os.read(self.fileno, 1024 * 4), final=final)
                for event in parser.feed(data) if data else ():
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                due = parser._timeout_time
                read(None if due is None else max(0.0, due - get_time()))
            selector.unregister(self.fileno)
            read(0.1, final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def close(self) -> None:
        super().close()
        self.exit_event.wake = -1  # a descriptor number closed now may be another file's later
        for fd in (self._wake_read, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass


def quiet_input(driver: type[Driver]) -> type[Driver]:
    """:class:`QuietInputDriver` in place of Textual's Linux driver; any other as it is."""
    return QuietInputDriver if driver is LinuxDriver else driver
