"""Textual messages that carry the stream worker's events into the app."""

from __future__ import annotations

from textual.message import Message

from fink_tui.core.events import Event, LagUpdated


class StreamEventPosted(Message):
    """One event from the stream worker, posted from its thread with ``post_message``."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # A newer lag snapshot makes a queued older one pointless; alerts are never dropped.
        return (
            isinstance(message, StreamEventPosted)
            and isinstance(self.event, LagUpdated)
            and isinstance(message.event, LagUpdated)
        )
