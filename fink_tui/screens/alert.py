"""One alert in full: its fields, its light curve and its three cutouts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from fink_tui.core.decode import Alert, RecordError
from fink_tui.core.errors import StreamError
from fink_tui.core.files import alert_file_name, save_alert
from fink_tui.core.survey import CUTOUT_FIELDS, LightCurvePoint, cutout_bytes, light_curve
from fink_tui.screens.links import COPY, LINKS, LinksModal, copy_id
from fink_tui.textual_compat import (
    SteadyBackground,
    in_a_stack,
    prepare_screen,
    render_unseen,
)
from fink_tui.widgets.cutout import CutoutPicture, CutoutView, cutout_lines, prepare_cutout
from fink_tui.widgets.fields_tree import FieldsTree
from fink_tui.widgets.key_bar import KeyBar
from fink_tui.widgets.light_curve import (
    DrawingKey,
    LightCurvePlot,
    legend,
    light_curve_lines,
)

if TYPE_CHECKING:
    from fink_tui.app import FinkApp


LOADING = "decoding the whole alert…"
FETCHING = "reading the alert again (only the newest alerts keep their bytes)…"


def loading(alert: Alert) -> str:
    """What the legend says until the alert is filled in."""
    return LOADING if alert.held else FETCHING


def title_of(alert: Alert) -> Text:
    """The alert's title line: object, position, brightness, time, class, where it sits."""
    s, r = alert.summary, alert.ref
    where = f"{s.ra:.5f} {s.dec:+.5f}" if s.ra is not None and s.dec is not None else ""
    when = s.time.strftime("%Y-%m-%d %H:%M:%S UTC") if s.time else ""
    return Text.assemble(
        (s.object_id or "?", "bold"),
        f"  {where}  {s.brightness} {s.band}  {when}  ",
        ("│", "dim"),
        f"  {s.classification}  ",
        ("│", "dim"),
        (f"  {r.place}  source {s.source_id}", "dim"),
    )


def own(alert: Alert) -> Alert:
    """The screen's own copy of an alert, holding its bytes while it is shown: the model lets
    the bytes of its alert go once newer ones fill its budget (under a second, while a backlog
    pours in), and saving it then must still work. An alert already let go gets its bytes again in
    the copy (:meth:`AlertScreen._load`)."""
    return alert.with_value(alert.value)


def open_alert(app: App[object], alert: Alert) -> None:
    """Show ``alert`` in full, on the app's kept alert screen (made at the first use), or on a
    screen of its own while the kept one is open in another mode (its alert stays there)."""
    if not app.is_screen_installed(SCREEN_NAME):
        screen = AlertScreen(alert)
        app.install_screen(screen, name=SCREEN_NAME)
    else:
        kept = cast(AlertScreen, app.get_screen(SCREEN_NAME))
        screen = AlertScreen(alert) if in_a_stack(app, kept) else kept.show_alert(alert)
    app.push_screen(screen)


def prepare_alert_screen(app: App[Any], alert: Alert) -> bool:
    """Build the kept alert screen out of sight, showing ``alert`` (not read until it is
    opened): the first Enter then only fills and paints it, where composing it took ~35 ms
    of that key (bench/README.md, fourteenth session). False if it is installed already."""
    if app.is_screen_installed(SCREEN_NAME):
        return False
    screen = AlertScreen(alert)
    app.install_screen(screen, name=SCREEN_NAME)
    prepare_screen(app, screen)
    return True


SCREEN_NAME = "alert"
DRAW_UNSEEN_AFTER = 0.05
"""Seconds after the screen is built or left until its blank parts are drawn out of sight
(the screen shown meanwhile painted first)."""
LOAD_AFTER = 0.03
"""Seconds from the screen's first paint until the alert is read."""
DRAW_AGAIN_AFTER = 0.02
"""Seconds until it tries again, after a layout or while a key is being handled."""


class AlertScreen(SteadyBackground[None]):
    """The detail of an alert opened from the feed."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", tooltip="Back to the feed", id="alert.back"),
        Binding(
            "s",
            "save_alert",
            "Save .avro",
            tooltip="Save the alert with its schema",
            id="alert.save",
        ),
        COPY,
        LINKS,
    ]
    """Keys of the alert view."""

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = own(alert)
        self.record: dict[str, Any] | None = None
        """The whole alert, once decoded (off the UI thread)."""
        self._legend: str | Text = loading(self.alert)
        """What the legend says."""
        self._theme_drawn = ""

    def compose(self) -> ComposeResult:
        yield Static(title_of(self.alert), id="title")
        # Every part is there from the start, sized by the CSS: filling them once the alert
        # is read changes no layout (mounting them then cost ~7 layouts and 300-500 ms of the
        # UI thread for each alert opened).
        with Horizontal(id="body"):
            yield FieldsTree(None, id="fields")
            with Vertical():
                yield Static(self._legend, id="legend")
                yield LightCurvePlot(None, self.alert.summary.survey, id="curve")
                with Horizontal(id="cutouts"):
                    for name in CUTOUT_FIELDS:
                        yield CutoutView(id=f"cutout-{name.removeprefix('cutout').lower()}")
        yield KeyBar()

    def show_alert(self, alert: Alert) -> AlertScreen:
        """The screen again, for ``alert``: it is kept (installed) between alerts, since
        building its widgets took most of the time to open it (:func:`open_alert`)."""
        self.alert, self.record = own(alert), None
        if self.is_mounted:
            self.query_one("#title", Static).update(title_of(alert), layout=False)
            self._blank()
            self.call_after_refresh(self._load_soon)
        return self

    def _blank(self) -> None:
        """Show nothing of an alert yet: no fields, curve or cutouts, the legend saying it is
        being read. Parts blank already are left as they are, with the lines they drew."""
        self.query_one("#fields", FieldsTree).clear()
        if self._legend != (waiting := loading(self.alert)):
            self.query_one("#legend", Static).update(waiting, layout=False)
            self._legend = waiting
        self.query_one("#curve", LightCurvePlot).show(None, self.alert.summary.survey)
        for view in self.query(CutoutView):
            view.show(None)

    def _draw_unseen(self, tries: int = 5) -> None:
        """Draw the blank parts out of sight (laid out first if need be), so that the Enter
        that shows the screen paints its title and little else: drawing the empty fields,
        curve and three cutouts was half of that key's ~37 ms of the interface
        (bench/README.md, fifteenth session). Put off while a key is being handled; nothing
        once shown."""
        if not (self.app.is_running and self.is_attached and tries) or in_a_stack(self.app, self):
            return
        if cast("FinkApp", self.app).key_first():
            self.set_timer(DRAW_AGAIN_AFTER, lambda: self._draw_unseen(tries))
        elif not render_unseen(self, self.query("#body *").results(Widget)):  # laid out
            self.set_timer(DRAW_AGAIN_AFTER, lambda: self._draw_unseen(tries - 1))

    def on_mount(self) -> None:
        # Decoding an LSST alert in full and reading its FITS cutouts takes tens of ms: the
        # screen shows at once, and fills when a thread has done the work (started once the
        # screen is drawn, so that it does not compete with the drawing for the GIL, and its
        # parts have their sizes: the thread draws the curve and the cutouts for them).
        # Built ahead, out of sight (prepare_alert_screen): read once it is opened.
        if in_a_stack(self.app, self):
            self.call_after_refresh(self._load_soon)
        else:  # styled as it was mounted: no restyle when first shown, unless the theme changed
            self._theme_drawn = self.app.theme
            self.set_timer(DRAW_UNSEEN_AFTER, self._draw_unseen)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # As for the dashboard screens: no restyle of every widget unless the theme changed.
        if self.app.theme == self._theme_drawn:
            event.refresh_styles = False
        self._theme_drawn = self.app.theme

    def on_screen_suspend(self) -> None:
        # The feed keeps the raw bytes only: a decoded LSST alert weighs megabytes.
        self.alert.forget_record()
        self.record = None
        # Left (not covered by a dialog, nor another mode's), and kept for the next alert (a
        # second screen, opened while this one was open in another mode, is being removed).
        if not in_a_stack(self.app, self) and self.app.is_screen_installed(self):
            self._blank()  # drawn out of sight once the screen the key showed is painted
            self.set_timer(DRAW_UNSEEN_AFTER, self._draw_unseen)

    def _load_soon(self) -> None:
        """Start reading the alert :data:`LOAD_AFTER` seconds after the screen was painted:
        started at once, the thread took the interpreter from the one that writes the paint to
        the terminal, and the screen showed up to 50 ms later (bench/README.md, fifteenth
        session)."""
        self.set_timer(LOAD_AFTER, self._start_load)

    def _start_load(self) -> None:
        if not in_a_stack(self.app, self):
            return  # left meanwhile
        curve = self.query_one("#curve", LightCurvePlot)
        sizes = [view.size for view in self.query(CutoutView)]
        self._load(self.alert, curve.drawing_key(), sizes)

    @work(thread=True, exclusive=True)
    def _load(self, alert: Alert, curve_key: DrawingKey, sizes: list[Size]) -> None:
        survey = alert.summary.survey
        if not alert.held:  # an older alert (an object's, a match): its bytes from the source
            try:
                alert.value = cast("FinkApp", self.app).source.fetch_value(alert.ref)
            except StreamError as exc:
                self.app.call_from_thread(self._failed, alert, f"cannot read it again: {exc}")
                return
        try:
            record = alert.record()
        except RecordError as exc:
            self.app.call_from_thread(self._failed, alert, str(exc))
            return
        points = light_curve(record, survey)
        curve = (curve_key, light_curve_lines(points, survey, curve_key))
        cutouts = []
        for name, size in zip(CUTOUT_FIELDS, sizes, strict=True):
            picture = prepare_cutout(name.removeprefix("cutout"), cutout_bytes(record, name))
            cutouts.append((picture, (size, cutout_lines(picture, size))))
        self.app.call_from_thread(self._fill, alert, record, points, curve, cutouts)

    def _fill(
        self,
        alert: Alert,
        record: dict[str, Any],
        points: list[LightCurvePoint],
        curve: tuple[DrawingKey, list[Strip]],
        cutouts: list[tuple[CutoutPicture, tuple[Size, list[Strip]]]],
    ) -> None:
        if alert is not self.alert or not in_a_stack(self.app, self):  # left meanwhile
            alert.forget_record()
            return
        self.record = record
        survey = self.alert.summary.survey
        self.query_one("#fields", FieldsTree).show(record)
        self._legend = legend(points, survey)
        self.query_one("#legend", Static).update(self._legend, layout=False)
        self.query_one("#curve", LightCurvePlot).show(points, survey, curve)
        for view, (picture, lines) in zip(self.query(CutoutView), cutouts, strict=True):
            view.show(picture, lines)

    def _failed(self, alert: Alert, reason: str) -> None:
        if alert is not self.alert or not in_a_stack(self.app, self):
            return
        self._legend = Text(reason, style="bold red")
        self.query_one("#legend", Static).update(self._legend, layout=False)
        cast("FinkApp", self.app).report_error(reason)

    def action_copy_id(self) -> None:
        """Copy the alert's object id (OSC 52)."""
        copy_id(self.app, self.alert.summary)

    def action_links(self) -> None:
        """The alert's pages: Fink portal, TNS, SIMBAD."""
        self.app.push_screen(LinksModal(self.alert.summary))

    def action_save_alert(self) -> None:
        """Save the alert as an Avro file carrying its schema, in the data folder (once: the
        file of an alert is named after it, and a second save would write the same bytes)."""
        app = cast("FinkApp", self.app)
        folder = app.directories.data / "alerts"
        existing = folder / alert_file_name(self.alert)
        if existing.is_file():
            self.notify(str(existing), title="Already saved", markup=False)
            return
        if not self.alert.held:  # its bytes are being read again (see _load)
            self.notify(
                "the alert is still being read again: save once it shows",
                title="Not yet",
                severity="warning",
                markup=False,
            )
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = save_alert(self.alert, folder)
        except (OSError, RecordError) as exc:
            app.report_error(f"cannot save the alert: {exc}")
            return
        self.notify(str(path), title="Alert saved", markup=False)
