"""The fink-tui dashboard: three modes (feed, lag, schema) over one stream worker."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from fink_tui.config import Directories, Settings, search_directories
from fink_tui.core.decode import SchemaError, SchemaInfo, load_schema_file
from fink_tui.core.events import (
    AUTH_FAILED,
    ERROR,
    UNREACHABLE,
    ApplyReset,
    Command,
    CommandFailed,
    ConnectionChanged,
    Event,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    ResetPlanned,
    SchemaForced,
)
from fink_tui.core.files import write_private
from fink_tui.core.worker import StreamWorker
from fink_tui.messages import StreamEventPosted
from fink_tui.model import StreamState
from fink_tui.screens.base import DashboardScreen
from fink_tui.screens.feed import FeedScreen
from fink_tui.screens.lag import LagScreen
from fink_tui.screens.schema import SchemaScreen

# textual-image asks the terminal about graphics when first imported; once Textual owns the
# terminal the answer would arrive as key presses. So it is imported here, before the app runs.
from fink_tui.widgets import cutout as _cutout  # noqa: F401,E402

REFRESH_SECONDS = 0.25
"""How often the shown screen is redrawn from the model (updates are coalesced to this)."""


class FinkApp(App[int]):
    """Live alerts, lag and schemas of a Fink Livestream consumer group."""

    TITLE = "fink-tui"
    MODES = {"feed": FeedScreen, "lag": LagScreen, "schema": SchemaScreen}
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
            "question_mark", "toggle_help", "Keys", tooltip="Show or hide every key", id="app.help"
        ),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]
    """Keys that work on every screen."""

    def __init__(
        self,
        settings: Settings,
        *,
        start_worker: bool = True,
        mode: str = "feed",
        forced: SchemaInfo | None = None,
        directories: Directories | None = None,
        clock: Callable[[], float] = time.time,
        worker_options: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.directories = directories or search_directories()
        self.state = StreamState(clock=clock)
        self.start_worker = start_worker
        self.initial_mode = mode
        self.forced = forced
        self.worker_options = worker_options or {}
        self.worker: StreamWorker | None = None
        self.errors: list[str] = []
        """Errors shown during the run, printed on stderr when the app ends."""
        # Events posted by the worker and not handled yet (message_queue_size misses those
        # still on their way to the queue): the worker slows down when they pile up.
        self._pending = 0
        self._pending_lock = threading.Lock()
        if forced is not None:
            self.state.forced = forced

    def on_mount(self) -> None:
        self.switch_mode(self.initial_mode)
        if self.start_worker:
            self.worker = StreamWorker(
                self.settings,
                self._post_event,
                backlog=self.pending_events,
                forced=self.forced,
                **self.worker_options,  # type: ignore[arg-type]
            )
            self.worker.start()
        self.set_interval(REFRESH_SECONDS, self.refresh_views)

    def on_unmount(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def _post_event(self, event: Event) -> bool:
        """The worker's sink (its thread): post_message is thread-safe, and says False once
        the app is closing, so the worker does not store offsets of alerts never shown."""
        counted = not isinstance(event, LagUpdated)  # a newer one may replace it: not counted
        if counted:
            with self._pending_lock:
                self._pending += 1
        return self.post_message(StreamEventPosted(event))

    def pending_events(self) -> int:
        """Events posted by the worker and not yet handled."""
        return self._pending

    def send_command(self, command: Command) -> None:
        """Hand a command to the worker."""
        if self.worker is None:
            self.notify("not connected to a broker", severity="warning", markup=False)
            return
        self.worker.send(command)

    def report_error(self, text: str) -> None:
        """Show an error now and print it on stderr when the app ends."""
        text = self.settings.redact(text)
        self.errors.append(text)
        self.notify(text, title="Error", severity="error", timeout=8, markup=False)

    def on_stream_event_posted(self, message: StreamEventPosted) -> None:
        event = message.event
        if not isinstance(event, LagUpdated):
            with self._pending_lock:
                self._pending -= 1
        self.state.apply(event)
        if isinstance(event, ResetPlanned):
            self._confirm(event)
        elif isinstance(event, OffsetsReset):
            moved = len(event.plan.changes)
            self.notify(
                f"{moved} partition(s) of {event.plan.scope} now at {event.plan.target.describe()}",
                title="Offsets reset",
                markup=False,
            )
            self.refresh_views()
        elif isinstance(event, CommandFailed):
            self.report_error(f"{event.command}: {event.reason}")
        elif isinstance(event, ConnectionChanged) and event.state in (
            AUTH_FAILED,
            UNREACHABLE,
            ERROR,
        ):
            self.report_error(f"{event.state}: {event.detail}")
        elif isinstance(event, PauseChanged):
            self.screen.refresh_bindings()
        elif isinstance(event, SchemaForced):
            where = ", ".join(sorted(event.topics)) if event.topics else "every topic"
            text = (
                f"{where}: decoding with {event.schema.name} ({event.schema.fingerprint})"
                if event.schema
                else "decoding with the schemas in the message keys"
            )
            self.notify(text, title="Schema", markup=False)

    def _confirm(self, event: ResetPlanned) -> None:
        from fink_tui.screens.confirm_reset import ConfirmResetModal

        def decided(apply: bool | None) -> None:
            if apply:
                self.send_command(ApplyReset(event.plan))
            else:
                self.notify("nothing changed", title="Reset cancelled", markup=False)

        self.push_screen(ConfirmResetModal(event.plan), decided)

    def refresh_views(self) -> None:
        """Redraw the shown dashboard screen (a few times a second), also under a dialog."""
        self.state.tick()
        for screen in reversed(self.screen_stack):
            if isinstance(screen, DashboardScreen):
                with self.batch_update():
                    screen.redraw(self.state)
                return
            if not screen.is_modal:
                return

    def _fatal_error(self) -> None:
        # Textual's own report prints every local variable of the traceback, and locals can
        # hold credentials. Instead: one line for the person, the traceback in a file.
        import traceback

        text = self.settings.redact(traceback.format_exc())
        where = self.directories.data / "crash.log"
        try:
            write_private(where, text)
            details = f"details in {where}"
        except OSError:
            details = "no crash log could be written"
        last = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        self.errors.append(f"internal error: {last} ({details})")
        self._close_messages_no_wait()

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
        ):
            yield SystemCommand(f"Go to {mode}", f"Show {text}", lambda m=mode: self.switch_mode(m))
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(
                    binding.description,
                    binding.tooltip or binding.description,
                    lambda b=binding: self.run_action(b.action, screen),
                )


def run_app(settings: Settings) -> int:
    """Open the dashboard; errors seen during the run are printed on stderr at the end."""
    forced = None
    if settings.schema_path:
        try:
            forced = load_schema_file(settings.schema_path)
        except SchemaError as exc:
            print(f"fink-tui: {exc}", file=sys.stderr)
            return 2
    if not settings.topics:
        print(
            "fink-tui: no topics set: pass --topics T1,T2 or list them in your fink-client "
            "credentials (see `fink-tui topics`)",
            file=sys.stderr,
        )
        return 2
    settings.kafka_config()  # raises a clear ConfigError before the screen opens
    app = FinkApp(settings, forced=forced)
    app.run()
    return finish(app)


def finish(app: FinkApp) -> int:
    """Print the errors of the run on stderr; the exit status says whether it went well."""
    for line in dict.fromkeys(app.errors):
        print(f"fink-tui: {line}", file=sys.stderr)
    if app.return_code:
        return app.return_code
    return 1 if any(e.startswith((AUTH_FAILED, UNREACHABLE, ERROR)) for e in app.errors) else 0
