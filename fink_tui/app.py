"""The fink-tui dashboard: three modes (feed, lag, schema) over one stream worker."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import assert_never

from textual import events
from textual.app import ScreenStackError, SystemCommand, UnknownModeError
from textual.binding import Binding
from textual.driver import Driver
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import AwaitMount

from fink_tui import textual_compat
from fink_tui.config import Directories, Settings, search_directories
from fink_tui.core.decode import Alert
from fink_tui.core.events import (
    AlertBytes,
    AlertsReceived,
    AlertsShown,
    ApplyReset,
    CarryPaths,
    Command,
    CommandFailed,
    ConnectionChanged,
    Event,
    GroupShared,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    ResetPlanned,
    SchemaForced,
    SetPaused,
)
from fink_tui.core.files import write_private
from fink_tui.core.memory import FullCollections, give_back, steady_heap
from fink_tui.core.query import Query, compile_query
from fink_tui.core.remote import ProcessSource
from fink_tui.core.source import StreamSource
from fink_tui.core.terminal import BELL, desktop_notification, hung_up, terminal_fd
from fink_tui.messages import StreamEventPosted
from fink_tui.model import OFFLINE_ALERT_BYTES, StreamState
from fink_tui.screens.base import DashboardScreen
from fink_tui.screens.feed import FeedScreen
from fink_tui.screens.lag import LagScreen
from fink_tui.screens.objects import ObjectsScreen
from fink_tui.screens.schema import SchemaScreen
from fink_tui.textual_compat import (
    QuietCrashApp,
    free_strips_at_once,
    load_default_css,
    mode_screen,
    note_input,
    prepare_mode,
    prepare_screen,
    quiet_input,
    stacked_screens,
    widget_classes,
)

REFRESH_SECONDS = 0.25
"""How often the shown screen is redrawn from the model (updates are coalesced to this)."""
QUIET_REFRESH = 2.0
"""How often it is redrawn once nothing moves: no alert, no key, no news from the stream (lag
refreshes aside) and no new terminal size for :data:`SLOW_AFTER` seconds, and the screens out
of sight caught up. What changes then changes by the second (rates, ages; a lag refresh on the
lag screen is drawn when it comes); the next alert, key or news brings the quicker pace back
at once. Every two seconds, as htop's and btop's defaults: on this kind of machine a redraw's
cost is mostly that of waking the interpreter (caches cold after each sleep), ~6 ms of the UI
thread for the status line and the rates' sparklines in the minute after a burst. The app
after 20,000 alerts, 10 s on each of lag/schema/feed, two interleaved rounds: 2.8-3.4 % of a
core at four ticks a second skipping three (the UI thread 1.6-2.1 %), 1.7-2.3 % with this and
the lag screen left alone out of sight (0.4-0.7 %) (bench/README.md, twenty-first session)."""
SLOW_AFTER = 2.0
"""Seconds without an alert, a key, news from the stream or a resize before the quiet pace."""
PREPARE_AFTER = 0.6
"""Seconds after start before the other screens are built, out of sight."""
MAKE_WAY = 0.15
"""Seconds the source holds off after a key or a click, so that the screen it changes is drawn
without the stream's threads taking the interpreter in turns: while alerts poured in, a mode
switch took up to 180 ms to show, under 90 ms with this (bench/README.md). Keys held down
or a wheel turning keep asking: the source still reads about once a second then."""
CATCH_UP_AFTER = 1.0
"""Seconds without a new alert and without a key after which the screens out of sight are
brought up to date, one a tick (see :meth:`FinkApp._catch_up_out_of_sight`)."""
INTERACTIONS = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
KEY_FIRST = 0.1
"""Seconds after a key or a click during which the stream's events wait, and the timer
redraws nothing: the key's own work and its paint come first. A batch of alerts costs the
interface ~10 ms, and one or two were handled between a key and its paint, in the queue
ahead of it or behind it (bench/README.md, fourteenth session)."""
DEFER_MOST = 0.5
"""Seconds an event waits for keys at most (keys held down, a wheel turning), and the timer's
redraw too."""
KEY_WAITS = (AlertsReceived, AlertBytes, LagUpdated)
"""The events that wait for a key (the others, answers to what the person asked, wait only
behind these, to keep the order)."""
NOTIFY_EVERY = 5.0
"""Seconds between two desktop notifications: matches meanwhile are told together."""


class FinkApp(QuietCrashApp):
    """Live alerts, lag and schemas of a Fink Livestream consumer group, from a given source."""

    TITLE = "fink-tui"
    CSS_PATH = [
        # Absolute: Textual reads a relative path next to the module of the app's class,
        # and a subclass (tests/app_child.py) lives elsewhere.
        str(Path(__file__).parent / "screens" / f"{name}.tcss")
        for name in (
            "feed",
            "alert",
            "schema",
            "force_schema",
            "reset_offsets",
            "confirm_reset",
            "objects",
        )
    ]
    """Every screen's CSS, read once at start: a screen's own CSS_PATH is read when it is
    first shown, and re-parses and re-applies the app's whole stylesheet then (~100 ms)."""
    MODES = {
        "feed": FeedScreen,
        "lag": LagScreen,
        "schema": SchemaScreen,
        "objects": ObjectsScreen,
    }
    BINDINGS = [
        Binding("1", "switch_mode('feed')", "Feed", tooltip="Live alerts", id="app.feed"),
        Binding(
            "2", "switch_mode('lag')", "Lag", tooltip="Committed offsets and lag", id="app.lag"
        ),
        Binding(
            "3",
            "switch_mode('schema')",
            "Schema",
            tooltip="Schemas and decode failures",
            id="app.schema",
        ),
        Binding(
            "4",
            "switch_mode('objects')",
            "Objects",
            tooltip="Alerts grouped by object",
            id="app.objects",
        ),
        Binding(
            "question_mark", "toggle_help", "Keys", tooltip="Show or hide every key", id="app.help"
        ),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]
    """Keys that work on every screen."""

    def __init__(
        self,
        settings: Settings,
        source: StreamSource,
        *,
        mode: str = "feed",
        directories: Directories | None = None,
        clock: Callable[[], float] = time.time,
        show_empty_partitions: bool = False,
        live: bool = True,
        notify_when: Query | None = None,
    ) -> None:
        super().__init__()
        free_strips_at_once()
        self.settings = settings
        self.source = source
        """Where events come from and commands go (Kafka, or a replay)."""
        self.directories = directories or search_directories()
        self.state = StreamState(clock=clock)
        self.initial_mode = mode
        self.show_empty_partitions = show_empty_partitions
        """Whether the lag table starts with its empty partitions shown."""
        self.live = live
        """False when the app renders a recorded snapshot (an export): no rates then."""
        self.errors: list[str] = []
        """Errors shown during the run, printed on stderr when the app ends."""
        self.troubled = False
        """Whether the stream was left in trouble (auth, unreachable, error) at the end."""
        self._ui_thread: int | None = None
        self._terminal: int | None = None
        """The terminal's descriptor, watched for a hang-up (None: headless, or no terminal)."""
        self._held_batches: list[AlertsReceived | AlertBytes] = []
        """Batches that arrived after the person paused: shown (and committed) on resume."""
        self._waiting: list[Event] = []
        """Events that came while a key was being handled, in order (see :data:`KEY_FIRST`)."""
        self._waiting_since = 0.0
        self._keys_sent = 0
        """Keys and clicks the terminal sent (counted on the driver's input thread)."""
        self._keys_handled = 0
        """Of those, the ones the app has handled (the others wait in its queue)."""
        self._key_sent_at = 0.0
        self._drain_timer: Timer | None = None
        self._steady_at = 0.0
        """When the timer last redrew the screen."""
        self._alert_screen_asked = False
        self._carried: dict[str, tuple[str, ...]] = {}
        self._carrying: tuple[str, ...] = ()
        self.state.set_notify(notify_when)
        self._announced_at = -NOTIFY_EVERY
        self.collections = FullCollections()
        """The garbage collector's full passes, kept off the keys."""
        self._alerts_at = 0.0
        """When the last alerts came (``time.monotonic``)."""
        self._moved_at = 0.0
        """When the last alert, key or news from the stream (lag refreshes aside) came."""
        self._quick_timer: Timer | None = None
        self._quiet_timer: Timer | None = None
        """Ticking at the quiet pace (:data:`QUIET_REFRESH`) while set; see :meth:`_pace`."""

    def get_driver_class(self) -> type[Driver]:
        return quiet_input(super().get_driver_class())

    async def on_mount(self) -> None:
        self._ui_thread = threading.get_ident()
        note_input(self, self._input_sent)
        self.collections.take_over()
        if not self.is_headless:
            self._terminal = terminal_fd()
            steady_heap()  # this process waits for its decoding processes: keep its heap lean
        # The first screen is composed before any event comes: a toast raised before its
        # toast rack was there was never shown (the forced schema's, now and then).
        await self.switch_mode(self.initial_mode)
        if self.state.notify is not None:  # its paths come with the very first alerts
            self.carry_paths("notify", self.state.notify.paths)
        self.source.start(self._post_event)
        # The quick pace; paused while the quiet one ticks (see _pace). Not a timer set anew at
        # each tick: that cost Textual an inspect.signature of its callback each time.
        self._quick_timer = self.set_interval(REFRESH_SECONDS, self._tick)
        self.set_timer(PREPARE_AFTER, self._prepare_modes)

    def delay_update(self, delay: float = 0.05) -> None:
        """Paint at once. Textual holds the screen for a moment after a mode switch, to mask a
        screen being built; ours are built ahead (:meth:`_prepare_modes`) and drawn before the
        switch (:meth:`switch_mode`). Held, the switch's paint was computed and thrown away,
        and the screen painted again when the hold ended: 27-105 ms of a mode switch's key
        spent on a paint nobody saw (bench/README.md, tenth session)."""

    def switch_mode(self, mode: str) -> AwaitMount:
        """Switch to ``mode`` with its screen brought up to date first: it is laid out and
        painted once, with what the model holds now."""
        target = mode_screen(self, mode)
        if isinstance(target, DashboardScreen) and target not in self.screen_stack:
            target.redraw(self.state)
        return super().switch_mode(mode)

    def _prepare_modes(self) -> None:
        """Build the other screens, one per call, while the person reads the first one; then
        set what was built so far aside from the garbage collector. Nothing once the app is
        closing: a mode built while Textual closed every mode's screens stopped the closing
        (RuntimeError, the garbage collector left as the app had set it)."""
        if not self.is_running:
            return
        for mode in self.MODES:
            if prepare_mode(self, mode):
                self.set_timer(PREPARE_AFTER / 2, self._prepare_modes)
                return
        lag = mode_screen(self, "lag")
        if (
            isinstance(lag, LagScreen)
            and not self.settings.read_only
            and prepare_screen(self, lag.reset_dialog())
        ):
            self.set_timer(PREPARE_AFTER / 2, self._prepare_modes)
            return
        # The alert screen's module, imported now rather than at the first Enter (~40 ms); the
        # dialogs' and the alert screen's widgets are styled by rules parsed now, not at the
        # key that first shows them.
        importlib.import_module("fink_tui.screens.alert")
        load_default_css(self, widget_classes())
        # The modules, screens and widgets built at start live as long as the app: a full
        # collection walked them all (~180,000 objects), 40-105 ms of a key now and then.
        gc.freeze()

    def on_unmount(self) -> None:
        self.source.stop()
        self.collections.hand_back()

    def _input_sent(self, message: Message) -> None:
        """On the driver's input thread: a key or a click is on its way to the queue, where
        the stream's events queued ahead of it will wait for it (:data:`KEY_FIRST`)."""
        if isinstance(message, INTERACTIONS):
            self._key_sent_at = time.monotonic()
            self._keys_sent += 1

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, INTERACTIONS) and not event.is_forwarded:
            self._keys_handled = min(self._keys_handled + 1, self._keys_sent)
            self._moved()
            self.source.make_way(MAKE_WAY)
            self.collections.interaction()
        elif isinstance(event, events.Resize):
            self._moved()  # the tables' columns follow the new width at the quick pace
        await super().on_event(event)

    def key_first(self) -> bool:
        """Whether a key or a click is queued or being painted: the stream's events and the
        timer's redraw wait (:data:`KEY_FIRST`). A key sent but never handled (the app was
        closing) is let go after :data:`DEFER_MOST`."""
        now = time.monotonic()
        if self._keys_handled != self._keys_sent and now - self._key_sent_at >= DEFER_MOST:
            self._keys_handled = self._keys_sent  # one never came through (the app closing)
        painting = now - self.collections.last_key < KEY_FIRST  # (the last key handled)
        return self._keys_handled != self._keys_sent or painting

    def _post_event(self, event: Event) -> bool:
        """The source's sink. From another thread the event is posted (post_message is
        thread-safe, and says False once the app is closing, so the source does not commit
        alerts never shown); on the app's own thread (a replay) it is handled at once."""
        if threading.get_ident() == self._ui_thread:
            self.handle_event(event)
            return True
        return self.post_message(StreamEventPosted(event))

    @property
    def group_label(self) -> str:
        """The group as the status line names it."""
        group = self.settings.group_id
        return f"{group} (read-only)" if group and self.settings.read_only else group

    def send_command(self, command: Command) -> None:
        """Hand a command to the source."""
        self.source.send(command)

    def carry_paths(self, reader: str, paths: tuple[str, ...]) -> None:
        """The Avro paths ``reader`` (the feed's filter, notifications) queries: the source
        reads those of every reader along with each alert's summary."""
        self._carried[reader] = paths
        wanted = tuple(dict.fromkeys(p for ps in self._carried.values() for p in ps))
        if wanted != self._carrying:
            self._carrying = wanted
            self.send_command(CarryPaths(wanted))

    def report_error(self, text: str) -> None:
        """Show an error now and print it on stderr when the app ends."""
        text = self.settings.redact(text)
        self.errors.append(text)
        self.notify(text, title="Error", severity="error", timeout=8, markup=False)

    def on_stream_event_posted(self, message: StreamEventPosted) -> None:
        event = message.event
        if not isinstance(event, LagUpdated | AlertBytes):
            self._moved()
        if not self._waiting and not (isinstance(event, KEY_WAITS) and self.key_first()):
            self.handle_event(event)
            return
        if not self._waiting:
            self._waiting_since = time.monotonic()
        self._waiting.append(event)  # after the key, in the order they came
        if self._drain_timer is None:
            self._drain_timer = self.set_timer(KEY_FIRST, self._handle_waiting)

    def _handle_waiting(self) -> None:
        """Handle the events that waited for a key, once it is painted (or they waited
        :data:`DEFER_MOST`)."""
        self._drain_timer = None
        if self.key_first() and time.monotonic() - self._waiting_since < DEFER_MOST:
            self._drain_timer = self.set_timer(KEY_FIRST, self._handle_waiting)
            return
        waiting, self._waiting = self._waiting, []
        for event in waiting:
            self.handle_event(event)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume, shown at once: what arrives until the source has stopped is held
        (not shown, not committed) and shown on resume."""
        if paused == self.state.paused:
            return
        self.state.apply(PauseChanged(paused))
        self.send_command(SetPaused(paused))
        self._release_held()
        self.screen.refresh_bindings()
        self.refresh_views()

    def _release_held(self) -> None:
        if not self.state.paused:
            held, self._held_batches = self._held_batches, []
            for batch in held:
                self.handle_event(batch)

    def handle_event(self, event: Event) -> None:
        """Fold a source event into the model, and tell the person what they must know."""
        if isinstance(event, AlertsReceived | AlertBytes) and self.state.paused:
            self._held_batches.append(event)
            return
        self.state.apply(event)
        match event:
            case AlertsReceived(offsets=offsets, epoch=epoch):
                self._alerts_at = time.monotonic()
                if not self._alert_screen_asked and self.state.alerts:
                    self._alert_screen_asked = True
                    self.call_later(self._prepare_alert_screen)
                # In the model the screens draw from: now the source may commit them.
                if offsets:
                    self.source.send(AlertsShown(offsets, epoch))
                if self.state.new_matches:
                    self._announce()
            case ResetPlanned():
                self._confirm(event)
            case OffsetsReset(plan=plan):
                self.notify(
                    f"{len(plan.changes)} partition(s) of {plan.scope} now at "
                    f"{plan.target.describe()}",
                    title="Offsets reset",
                    markup=False,
                )
                self.refresh_views()
            case CommandFailed(command=command, reason=reason):
                self.report_error(f"{command}: {reason}")
            case ConnectionChanged(state=state, detail=detail):
                self.troubled = state.is_problem
                if state.is_problem:
                    self.report_error(f"{state.value}: {detail}")
            case PauseChanged():
                self._release_held()  # a pause and resume quicker than the source's answers
                self.screen.refresh_bindings()
                self.refresh_views()
            case SchemaForced(schema=schema, topics=topics):
                where = ", ".join(sorted(topics)) if topics else "every topic"
                text = (
                    f"{where}: decoding with {schema.name} ({schema.fingerprint})"
                    if schema
                    else "decoding with the schemas in the message keys"
                )
                self.notify(text, title="Schema", markup=False)
                self.screen.refresh_bindings()  # unforce applies now
            case GroupShared(group=group, others=others):
                if others:
                    self.notify(
                        f"{len(others)} other member(s) in group {group}: {', '.join(others)}. "
                        "They split the partitions with this app, so each sees part of the "
                        "alerts; --read-only reads without joining the group.",
                        title="The group is shared",
                        severity="warning",
                        timeout=20,
                        markup=False,
                    )
            case LagUpdated():
                if self._quiet and isinstance(self._shown_dashboard(), LagScreen):
                    self.refresh_views()  # now, not at the next tick of the quiet pace
            case AlertBytes():
                pass
            case _:
                assert_never(event)

    def _confirm(self, event: ResetPlanned) -> None:
        from fink_tui.screens.confirm_reset import ConfirmResetModal

        def decided(apply: bool | None) -> None:
            if apply:
                self.send_command(ApplyReset(event.plan))
            else:
                self.notify("nothing changed", title="Reset cancelled", markup=False)

        self.push_screen(ConfirmResetModal(event.plan), decided)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._terminal is not None and hung_up(self._terminal):
            self.exit(return_code=1)  # as a SIGHUP would, once the alerts shown are committed
            return
        if not self.key_first() or now - self._steady_at >= DEFER_MOST:
            self._steady_at = now  # (a key being painted: this redraw would delay it)
            self.refresh_views(steady=True)
        if self.state.new_matches:
            self._announce()
        caught_up = not self.collections.tick() and self._catch_up_out_of_sight()
        give_back()  # what passing alerts freed (at most every 2 s)
        quiet = caught_up and now - self._moved_at >= SLOW_AFTER
        if quiet != self._quiet:
            self._pace(quiet)

    def _pace(self, quiet: bool) -> None:
        """Tick at the quiet pace or the quick one: the quick timer is paused while a quiet
        one ticks, so that the idle app's interpreter is not woken four times a second for
        nothing. On this kind of machine a wake-up is what costs: 0.3 ms of CPU for a thread
        woken from a 0.1 s sleep doing nothing else, 0.03 ms from a 1 ms one (cold caches
        after each sleep)."""
        quick = self._quick_timer
        if quick is None:
            return  # not mounted yet
        if self._quiet_timer is not None:
            self._quiet_timer.stop()
            self._quiet_timer = None
        if quiet:
            quick.pause()
            # Anew each time, its first tick QUIET_REFRESH from now (a paused one, resumed,
            # would tick at once for the tick it was waiting for when paused).
            self._quiet_timer = self.set_interval(QUIET_REFRESH, self._tick)
        else:
            quick.resume()  # a tick at once: what moved is drawn now

    @property
    def _quiet(self) -> bool:
        """Whether the screen is redrawn at the quiet pace."""
        return self._quiet_timer is not None

    def _moved(self) -> None:
        """An alert, a key, news from the stream or a new terminal size: the screen is redrawn
        at the quick pace again (the next redraw within :data:`REFRESH_SECONDS`)."""
        self._moved_at = time.monotonic()
        if self._quiet:
            self._pace(quiet=False)

    def _prepare_alert_screen(self) -> None:
        """Build the alert screen out of sight once there is an alert to build it for (once,
        while the first alerts come: not in a quiet moment, where it cost the idle app)."""
        if self.state.alerts and self.is_running:
            from fink_tui.screens.alert import prepare_alert_screen

            prepare_alert_screen(self, self.state.alerts[-1])

    def _catch_up_out_of_sight(self) -> bool:
        """When no alert and no key came for :data:`CATCH_UP_AFTER` seconds, redraw one screen
        out of sight (another mode's, or the feed under an alert) whose part of the model
        changed since: the key that shows it then only lays it out and paints it. After a
        backlog was read the first `2` took ~120 ms, most of it filling the lag screen (its
        new topics' sparklines, then a second layout), the first `3` ~140-180 ms (the schema
        tree built, a second layout). While alerts pour in nothing is redrawn out of sight:
        that slowed the ingest by a quarter (bench/README.md, ninth session). True when every
        screen out of sight is caught up."""
        quiet_since = max(self._alerts_at, self.collections.last_key)
        if time.monotonic() - quiet_since < CATCH_UP_AFTER:
            return False
        try:
            shown = self.screen
        except (ScreenStackError, UnknownModeError):
            return False  # no screen left: the app is closing
        for screen in stacked_screens(self):
            if (
                screen is not shown
                and isinstance(screen, DashboardScreen)
                and screen.catch_up(self.state)
            ):
                return False
        return True

    def _announce(self) -> None:
        """Bell, desktop notification and a toast for the new matches (at most one every
        NOTIFY_EVERY seconds; the matches meanwhile are told in the next)."""
        now = time.monotonic()
        if now - self._announced_at < NOTIFY_EVERY:
            return
        self._announced_at = now
        new, self.state.new_matches = self.state.new_matches, []
        text = describe_match(new[-1])
        if len(new) > 1:
            text = f"{len(new)} alerts matched; newest: {text}"
        textual_compat.write_to_terminal(
            self, BELL + desktop_notification("fink-tui", text, os.environ)
        )
        self.notify(text, title="Notification", markup=False)

    def set_notification(self, query: Query | None) -> None:
        """Notify when an alert where ``query`` holds arrives (None: stop notifying)."""
        self.state.set_notify(query)
        self.carry_paths("notify", query.paths if query is not None else ())
        self.screen.refresh_bindings()
        what = f"when {query.text}" if query is not None else "off"
        self.notify(f"notifications {what}", title="Notify", markup=False)

    def ask_notification(self) -> None:
        """Ask for the notification query (the command palette's "Notify me when…")."""
        from fink_tui.screens.matches import NotifyModal

        def chosen(text: str | None) -> None:
            if text is not None:
                self.set_notification(compile_query(text) if text else None)

        current = self.state.notify.text if self.state.notify is not None else ""
        self.push_screen(NotifyModal(current), chosen)

    def show_matches(self) -> None:
        """The screen of the night's matches."""
        from fink_tui.screens.matches import MatchesScreen

        self.push_screen(MatchesScreen())

    def apply_saved_filter(self, text: str) -> None:
        """Filter the feed with a saved filter (config.toml's [filters])."""
        self.switch_mode("feed")

        def apply() -> None:
            if isinstance(self.screen, FeedScreen):
                self.screen.set_filter(text)

        self.call_after_refresh(apply)

    def refresh_views(self, steady: bool = False) -> None:
        """Redraw the shown dashboard screen, also under a dialog: now, or (``steady``, the
        timer's few times a second) at the pace each part of the screen keeps."""
        self.state.tick()
        screen = self._shown_dashboard()
        if screen is not None:
            with self.batch_update():
                screen.redraw(self.state, steady)

    def _shown_dashboard(self) -> DashboardScreen | None:
        """The dashboard screen in sight, also under a dialog."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, DashboardScreen):
                return screen
            if not screen.is_modal:
                return None
        return None

    def crash_report(self, traceback_text: str) -> None:
        # Textual's own report prints every local variable of the traceback, and locals can
        # hold credentials. Instead: one line for the person, the traceback in a file.
        text = self.settings.redact(traceback_text)
        where = self.directories.data / "crash.log"
        try:
            write_private(where, text)
            details = f"details in {where}"
        except OSError:
            details = "no crash log could be written"
        last = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        self.errors.append(f"internal error: {last} ({details})")
        self.troubled = True

    def action_toggle_help(self) -> None:
        """Show or hide the panel listing every key."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, text in (
            ("feed", "live alerts"),
            ("lag", "committed offsets and lag"),
            ("schema", "schemas and decode failures"),
            ("objects", "alerts grouped by object"),
        ):
            yield SystemCommand(f"Go to {mode}", f"Show {text}", lambda m=mode: self.switch_mode(m))
        yield SystemCommand(
            "Notify me when…",
            "Bell, desktop notification and a marked row when an alert matches a query",
            self.ask_notification,
        )
        yield SystemCommand(
            "Matches", "The alerts that matched the notification", self.show_matches
        )
        for name, query in self.settings.filters:
            yield SystemCommand(
                f"Filter: {name}", query, lambda q=query: self.apply_saved_filter(q)
            )
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(
                    binding.description,
                    binding.tooltip or binding.description,
                    lambda b=binding: self.run_action(b.action, screen),
                )


def describe_match(alert: Alert) -> str:
    """One line about a matching alert: object, class, brightness, band, topic."""
    s = alert.summary
    parts = [s.object_id or f"offset {alert.ref.offset}", s.classification, s.brightness, s.band]
    return " ".join(p for p in parts if p) + f" on {alert.ref.topic}"


def run_app(settings: Settings, source: ProcessSource, notify_when: Query | None = None) -> int:
    """Open the dashboard on ``source`` (prepared by the command line, its settings checked);
    errors seen during the run are printed on stderr at the end."""
    app = FinkApp(settings, source, notify_when=notify_when)
    app.run()
    return finish(app)


def run_offline(paths: list[str]) -> int:
    """Open saved alerts (files or folders of .avro) with no broker."""
    from fink_tui.core.offline import FileSource

    # A bad path is a UsageError, before the screen; the reading rate of files means nothing.
    app = FinkApp(Settings(), FileSource(paths), live=False)
    app.state.max_bytes = OFFLINE_ALERT_BYTES
    app.run()
    return finish(app)


def finish(app: FinkApp) -> int:
    """Print the errors of the run on stderr; the exit status says whether it went well."""
    try:
        for line in dict.fromkeys(app.errors):
            print(f"fink-tui: {line}", file=sys.stderr)
    except OSError:  # the terminal hung up: there is no one to tell
        pass
    if app.return_code:
        return app.return_code
    return 1 if app.troubled else 0
