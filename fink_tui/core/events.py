"""What the stream worker tells its owner (events) and what it can be told (commands).

Plain dataclasses with no Textual in sight: the app wraps events in its own messages, the
headless commands and the tests read them directly.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from fink_tui.core.decode import Alert, DecodeFailure, MessageRef, SchemaInfo
from fink_tui.core.lag import LagSnapshot
from fink_tui.core.reset import ResetPlan, ResetTarget

# --- events (worker -> owner) -------------------------------------------------------------


class Connection(enum.Enum):
    """Where the link to the broker stands; the value is the text the status line shows."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "authentication failed"
    UNREACHABLE = "unreachable"
    ERROR = "error"
    STOPPED = "stopped"
    OFFLINE = "offline"
    """No broker: the alerts come from saved files (``fink-tui open``)."""

    @property
    def is_problem(self) -> bool:
        """A state the person must hear about (and that makes the exit status non-zero)."""
        return self in (Connection.AUTH_FAILED, Connection.UNREACHABLE, Connection.ERROR)


Offsets = tuple[tuple[str, int, int], ...]
"""(topic, partition, next offset to read) per partition: what a commit would write."""


@dataclass(frozen=True)
class AlertsReceived:
    """One poll cycle's worth of messages: decoded alerts and failures, in offset order.

    ``offsets`` are stored for commit only once the owner answers :class:`AlertsShown` with
    them (at least once: never committed while merely queued); ``epoch`` tells a batch read
    before a reset from one read after it.
    """

    alerts: tuple[Alert, ...]
    failures: tuple[DecodeFailure, ...]
    received_at: float = field(default_factory=time.time)
    offsets: Offsets = ()
    epoch: int = 0


@dataclass(frozen=True)
class AlertBytes:
    """The raw bytes of alerts received without them, oldest first: a stream process
    (``core/remote.py``) sends the newest ones after their alerts, once the stream pauses or
    every second while a backlog pours in. Alerts no longer in the feed take none."""

    values: tuple[tuple[MessageRef, bytes], ...]


@dataclass(frozen=True)
class LagUpdated:
    """A fresh lag snapshot of the group."""

    snapshot: LagSnapshot


@dataclass(frozen=True)
class ConnectionChanged:
    """The worker's link to the broker changed state; ``detail`` says why."""

    state: Connection
    detail: str = ""


@dataclass(frozen=True)
class ResetPlanned:
    """A reset plan is ready to be shown for confirmation."""

    plan: ResetPlan


@dataclass(frozen=True)
class OffsetsReset:
    """A plan was applied; ``snapshot`` is read back from the broker afterwards."""

    plan: ResetPlan
    snapshot: LagSnapshot


@dataclass(frozen=True)
class CommandFailed:
    """A command could not be carried out (bad reset scope, broker refusal, bad schema)."""

    command: str
    reason: str


@dataclass(frozen=True)
class SchemaForced:
    """The forced schema changed (None: back to the schemas in the message keys)."""

    schema: SchemaInfo | None
    topics: frozenset[str] | None = None
    """The topics it applies to (None: all)."""


@dataclass(frozen=True)
class PauseChanged:
    """Consumption was paused or resumed."""

    paused: bool


@dataclass(frozen=True)
class GroupShared:
    """Who else is in the group, seen after joining it: they split the partitions with the
    app (an empty ``others``: nobody)."""

    group: str
    others: tuple[str, ...]
    """Each other member's client id (and host)."""


Event = (
    AlertsReceived
    | AlertBytes
    | LagUpdated
    | ConnectionChanged
    | ResetPlanned
    | OffsetsReset
    | CommandFailed
    | SchemaForced
    | PauseChanged
    | GroupShared
)

# --- commands (owner -> worker) -----------------------------------------------------------


@dataclass(frozen=True)
class AlertsShown:
    """The owner holds these alerts now (they are in what the screens draw): commit them."""

    offsets: Offsets
    epoch: int


@dataclass(frozen=True)
class PlanReset:
    """Make a plan for moving ``topic``/``partition`` (None: all) to ``target``."""

    target: ResetTarget
    topic: str | None = None
    partition: int | None = None


@dataclass(frozen=True)
class ApplyReset:
    """Apply a plan (after the user confirmed it)."""

    plan: ResetPlan


@dataclass(frozen=True)
class SetPaused:
    """Pause or resume fetching (the group membership is kept)."""

    paused: bool


@dataclass(frozen=True)
class ForceSchema:
    """Decode with this schema instead of the keys' (None: stop forcing)."""

    schema: SchemaInfo | None
    topics: frozenset[str] | None = None
    """Only on these topics (None: on all)."""


@dataclass(frozen=True)
class RefreshLag:
    """Take a lag snapshot now."""


@dataclass(frozen=True)
class CarryPaths:
    """Read these Avro paths of each alert along with its summary, from the next batch on
    (a query reads them: see ``core/query.py``); () reads none."""

    paths: tuple[str, ...]


Command = AlertsShown | PlanReset | ApplyReset | SetPaused | ForceSchema | RefreshLag | CarryPaths
