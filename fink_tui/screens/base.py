"""What every dashboard screen shares: the status line, and redrawing from the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events
from textual.css.query import NoMatches
from textual.screen import Screen

from fink_tui.model import Section, StreamState
from fink_tui.textual_compat import hide_toast_rack
from fink_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from fink_tui.app import FinkApp

TABLE_PACE = 0.5
"""Seconds between two redraws of a table that changes with every batch (the alerts, the
schemas' counts) by the refresh timer: fast enough to read, leaving the UI free for keys."""


class DashboardScreen(Screen[None]):
    """A screen drawn from the app's :class:`StreamState`, part by part, each part only when
    the sections of the model it shows have changed since it was drawn."""

    def __init__(self) -> None:
        super().__init__()
        self._drawn: dict[str, object] = {}
        self._theme_drawn: str | None = None
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

    def redraw(self, state: StreamState, steady: bool = False) -> None:
        """Redraw now if the screen's widgets are there (a mode being switched to may still
        be composing: the next refresh tick draws it). ``steady``: a timer's redraw, which a
        part that changes faster than anyone reads may skip."""
        self.steady = steady
        try:
            self.update_view(state)
        except NoMatches:
            self._drawn.clear()  # drawn in part: all again next time

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
