"""What every dashboard screen shares: the status line, and redrawing from the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.css.query import NoMatches
from textual.screen import Screen

from fink_tui.model import StreamState
from fink_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from fink_tui.app import FinkApp


class DashboardScreen(Screen[None]):
    """A screen drawn from the app's :class:`StreamState`."""

    @property
    def fink(self) -> FinkApp:
        """The app, typed."""
        return cast("FinkApp", self.app)

    def on_screen_resume(self) -> None:
        self.redraw(self.fink.state)

    def redraw(self, state: StreamState) -> None:
        """Redraw now if the screen's widgets are there (a mode being switched to may still
        be composing: the next refresh tick draws it)."""
        try:
            self.update_view(state)
        except NoMatches:
            pass

    def update_view(self, state: StreamState) -> None:
        """Redraw from the model (called a few times a second while shown)."""
        bars = self.query(StatusBar)
        if bars:
            bars.first().show(state, self.fink.settings.group_id)
