"""What every dashboard screen shares: the status line, and redrawing from the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.css.query import NoMatches
from textual.visual import VisualType
from textual.widgets import Static

from fink_tui.model import Section, StreamState
from fink_tui.textual_compat import SteadyBackground, hide_toast_rack, lay_out_unseen
from fink_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from fink_tui.app import FinkApp

TABLE_PACE = 0.5
"""Seconds between two redraws of a table that changes with every batch (the alerts, the
schemas' counts) by the refresh timer: fast enough to read, leaving the UI free for keys."""


def update_static(static: Static, content: VisualType) -> None:
    """Show ``content`` in a static of automatic height, and lay the screen out again only if
    its height changes: a static's update otherwise lays the whole screen out, and the lag
    screen's lines over the table, redrawn at every lag snapshot, made the first paint of a
    switch to it a second one (35 ms, bench/README.md, tenth session)."""
    before = static.content_size
    static.update(content, layout=False)
    if not before.width or static.get_content_height(before, before, before.width) != before.height:
        static.refresh(layout=True)


class DashboardScreen(SteadyBackground[None]):
    """A screen drawn from the app's :class:`StreamState`, part by part, each part only when
    the sections of the model it shows have changed since it was drawn."""

    DRAWS: ClassVar[tuple[Section, ...]] = tuple(
        s for s in Section if s not in (Section.RATES, Section.STATUS)
    )
    """The sections of the model a change of which brings this screen up to date while it is
    out of sight (:meth:`catch_up`). Not the rates and the status line: they move every second
    or so and cost little to draw when the screen is shown."""

    def __init__(self) -> None:
        super().__init__()
        self._drawn: dict[str, object] = {}
        self._theme_drawn: str | None = None
        self._caught_up: tuple[int, ...] | None = None
        self._laid_out = True
        self.steady = False
        """Whether the redraw under way is a timer's (see :meth:`redraw`)."""

    @property
    def fink(self) -> FinkApp:
        """The app, typed."""
        return cast("FinkApp", self.app)

    def on_mount(self) -> None:
        hide_toast_rack(self)  # now, not at the key that first shows this screen

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles every widget of a screen it shows again, which empties the tables'
        # render caches: a mode switch took hundreds of ms. Styles only change with the theme.
        theme = self.app.theme
        if theme == self._theme_drawn:
            event.refresh_styles = False
        self._theme_drawn = theme
        self.redraw(self.fink.state)

    def on_screen_suspend(self) -> None:
        # Drawn from the model until now: nothing to catch up on yet once out of sight.
        self._caught_up, self._laid_out = self.fink.state.revision(*self.DRAWS), True

    def redraw(self, state: StreamState, steady: bool = False) -> None:
        """Redraw now if the screen's widgets are there (a mode being switched to may still
        be composing: the next refresh tick draws it). ``steady``: a timer's redraw, which a
        part that changes faster than anyone reads may skip."""
        self.steady = steady
        try:
            self.update_view(state)
        except NoMatches:
            self._drawn.clear()  # drawn in part: all again next time

    def catch_up(self, state: StreamState) -> bool:
        """Out of sight: redraw what changed since this screen was last drawn (its tables,
        trees, new rows of sparklines), and at the next call lay it out, so that showing it
        is only its paint. False when nothing it is caught up on (:attr:`DRAWS`) had changed
        and it is laid out."""
        revision = state.revision(*self.DRAWS)
        if revision != self._caught_up:
            self._caught_up, self._laid_out = revision, False
            self.redraw(state)
            return True
        if not self._laid_out:  # a tick later: rows mounted by the redraw are in by now
            self._laid_out = True
            lay_out_unseen(self)
            return True
        return False

    def stale(self, state: StreamState, part: str, *sections: Section, view: object = None) -> bool:
        """Whether ``part`` must be drawn: ``sections`` of the model (or the view's own
        settings, ``view``) changed since it last was. Noted as drawn when True."""
        now = (state.revision(*sections), view)
        if self._drawn.get(part) == now:
            return False
        self._drawn[part] = now
        return True

    def update_view(self, state: StreamState) -> None:
        """Redraw what changed in the model (called a few times a second while shown)."""
        if self.stale(state, "status", Section.STATUS, Section.RATES):
            self.query_one(StatusBar).show(state, self.fink.group_label, rates=self.fink.live)
