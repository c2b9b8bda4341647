"""How a group's lag is going: a Burrow-style status per partition, and drain rate and ETA
per topic (pure: no broker).

Burrow (LinkedIn's lag monitor) judges a partition on a window of its recent commits, with
no thresholds. Here the window is the last :data:`WINDOW` lag refreshes, each a
:class:`Sample` (time, committed offset, lag); its rules, in Burrow's order:

1. OK if the lag was zero anywhere in the window (or is now);
2. REWIND if the committed offset moved backwards between two refreshes (a reset);
3. STOP if the committed offset did not move over the whole window and nobody consumes
   the partition (the group has no member owning it, or nothing was ever committed);
4. STALL if the committed offset did not move over the whole window while a consumer is
   there (or none is known: a broker that does not report members);
5. WARN if the committed offset moved but the lag never fell;
6. OK otherwise.

Burrow tells 3 from 4 by the time of the last commit; a lag snapshot has no commit times, so
the group's members stand in for them. Rules 3–5 need :data:`MIN_SAMPLES` refreshes; before
that a partition with lag is OK, and the window says how full it is. ERR means the partition
could not be read at all.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW = 10
"""Refreshes a status is judged on (Burrow's default ``intervals``)."""
MIN_SAMPLES = 3
"""Refreshes needed before a partition with lag can be found WARN, STALL or STOP."""
DRAIN_WINDOW = 120.0
"""Seconds of history the drain rate is measured over ("the last minutes")."""


class Status(enum.Enum):
    """A partition's (or topic's: its worst partition's) state; the value is its label."""

    OK = "OK"
    WARN = "WARN"
    REWIND = "REWIND"
    STALL = "STALL"
    STOP = "STOP"
    ERR = "ERR"

    @property
    def severity(self) -> int:
        """Higher is worse: OK < WARN < REWIND < STALL < STOP < ERR."""
        return list(Status).index(self)

    @property
    def meaning(self) -> str:
        """What the status says, in a few words (the legend)."""
        return STATUS_MEANING[self]


STATUS_MEANING = {
    Status.OK: "reading",
    Status.WARN: "lag not falling",
    Status.REWIND: "offset moved back",
    Status.STALL: "commits stuck",
    Status.STOP: "nobody reading",
    Status.ERR: "unreadable",
}


def worst(statuses: Sequence[Status]) -> Status:
    """The worst of ``statuses`` (OK for none)."""
    return max(statuses, key=lambda s: s.severity, default=Status.OK)


@dataclass(frozen=True, slots=True)
class Sample:
    """One partition at one lag refresh."""

    taken_at: float
    committed: int | None
    lag: int


def partition_status(samples: Sequence[Sample], owned: bool | None = None) -> Status:
    """Burrow's rules on a window of samples, oldest first.

    ``owned``: whether a member of the group owns the partition now (None: not known, e.g.
    the broker does not report members).
    """
    if not samples or any(s.lag == 0 for s in samples):
        return Status.OK
    offsets = [s.committed for s in samples]
    known = [o for o in offsets if o is not None]
    if any(b < a for a, b in zip(known, known[1:], strict=False)):
        return Status.REWIND
    if len(samples) < MIN_SAMPLES:
        return Status.OK
    if all(o == offsets[0] for o in offsets):
        if offsets[0] is None or owned is False:
            return Status.STOP
        return Status.STALL
    lags = [s.lag for s in samples]
    if all(b >= a for a, b in zip(lags, lags[1:], strict=False)):
        return Status.WARN
    return Status.OK


class Trend(enum.Enum):
    """Where a topic's lag is heading; the value is the text shown."""

    CAUGHT_UP = "caught up"
    DRAINING = "draining"
    STEADY = "steady"
    GROWING = "growing"
    STUCK = "stuck"
    UNKNOWN = "measuring"


@dataclass(frozen=True, slots=True)
class Drain:
    """A topic's drain over the last minutes: lag falling at ``rate`` alerts/s, caught up
    in ``eta`` seconds at that pace."""

    trend: Trend
    rate: float | None = None
    """Alerts per second the lag falls by (negative: it grows); None: not measured yet."""
    eta: float | None = None
    """Seconds to catch up at that rate (only while draining)."""

    def text(self) -> str:
        """``"ETA 3m 20s"``, ``"growing"``, ``"stuck"``, ``"caught up"``…"""
        if self.trend is Trend.DRAINING and self.eta is not None:
            return f"ETA {format_duration(self.eta)}"
        return self.trend.value


def topic_drain(history: Sequence[tuple[float, int, int]]) -> Drain:
    """The drain of a topic from its history of (time, total lag, total committed), oldest
    first: "stuck" when its last refreshes committed nothing; otherwise the slope of the lag
    (least squares) over the last :data:`DRAIN_WINDOW` seconds, and the time to zero at it."""
    if not history:
        return Drain(Trend.UNKNOWN)
    end, lag, committed = history[-1]
    if lag == 0:
        return Drain(Trend.CAUGHT_UP, 0.0, 0.0)
    recent = [h for h in history if h[0] >= end - DRAIN_WINDOW]
    if len(recent) < 2 or end <= recent[0][0]:
        return Drain(Trend.UNKNOWN)
    rate = -_slope([(t, float(lag_)) for t, lag_, _ in recent])
    if all(c == committed for _, _, c in recent[-MIN_SAMPLES:]):
        return Drain(Trend.STUCK, rate)
    if rate > 0:
        return Drain(Trend.DRAINING, rate, lag / rate)
    return Drain(Trend.STEADY if rate == 0 else Trend.GROWING, rate)


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def format_duration(seconds: float) -> str:
    """A short duration: ``"42s"``, ``"3m 20s"``, ``"5h 07m"``, ``"2d 04h"``."""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def time_lag_text(seconds: float | None, lag: int) -> str:
    """The time lag of a row: "caught up" at zero lag, "-" when unknown."""
    if lag == 0:
        return "caught up"
    if seconds is None:
        return "-"
    return format_duration(seconds)
