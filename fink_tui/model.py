"""What the dashboard knows about the stream, built from the worker's events.

A plain object with no Textual import: the app applies events to it, the screens read it.
Every collection is bounded, so memory stays flat however long the app runs.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, assert_never

from fink_tui.core.decode import Alert, DecodeFailure, MessageRef, SchemaInfo
from fink_tui.core.events import (
    AlertBytes,
    AlertsReceived,
    CommandFailed,
    Connection,
    ConnectionChanged,
    Event,
    GroupShared,
    LagUpdated,
    OffsetsReset,
    PauseChanged,
    ResetPlanned,
    SchemaForced,
)
from fink_tui.core.lag import LagSnapshot
from fink_tui.core.query import Query
from fink_tui.core.survey import shared

MAX_ALERTS = 2000
"""Alerts the feed keeps (its rows), whatever their size."""
MAX_ALERT_BYTES = 12 * 1024 * 1024
"""Raw bytes held: those of the newest alerts (a ZTF alert weighs ~50 kB: ~250 of them; an LSST
one up to 300 kB: 40 or more). Older alerts let their bytes go and keep their summary, so the
feed keeps its 2,000 rows; so do the alerts held elsewhere — each object's latest alert (the
latest alerts of 3,000 LSST objects held 750 MB; the book follows 20,000), the notification's
matches. An alert that let its bytes go is fetched again from the source to be opened or saved,
and a query on an Avro path it did not carry reads nothing there. So the app's memory does not
grow with the stream, however many objects it sees (bench/README.md: 32 MB, with the feed's
rows cut to what fitted — 640 ZTF alerts, 110 LSST —, peaked 20 MB higher)."""
OFFLINE_ALERT_BYTES = 32 * 1024 * 1024
"""Raw bytes held by ``fink-tui open``: a saved file is read again whole to open one of its
alerts, and its alerts carry no query fields, so more of them keep their bytes."""
MAX_FAILURES = 500
MAX_MATCHES = 1000
"""Alerts kept that matched the notification query (the newest)."""
FAILURE_VALUES = 20
"""The newest failures keep their raw value (to be saved for a bug report); older ones keep
only their key."""
MAX_FAILURE_VALUE_BYTES = 8 * 1024 * 1024
"""At most this many bytes of failed values are kept (an LSST alert weighs up to 300 kB)."""
MAX_SCHEMAS = 64
RATE_BUCKETS = 60
"""Seconds of alert-rate history kept per topic."""
LAG_HISTORY = 120
"""Lag snapshots kept per topic."""
MAX_OBJECTS = 20_000
"""Objects followed; the one seen least recently goes first."""


class Section(enum.Enum):
    """A part of the model that a view draws; each has its own revision."""

    ALERTS = "alerts"
    """The kept alerts."""
    RATES = "rates"
    """Alert rates per topic (they change as time passes, too)."""
    LAG = "lag"
    """The lag snapshot and its history."""
    LAG_ROWS = "lag_rows"
    """What the lag screen lays out: its rows (topics, partitions, the empty ones), the lines
    over and under the table (expired alerts, the group's members), the sparklines' topics.
    Unlike :attr:`LAG`, not every refresh: most only change figures and the time."""
    SCHEMAS = "schemas"
    """Schemas seen, the forced schema."""
    FAILURES = "failures"
    """Decode failures."""
    STATUS = "status"
    """Connection, pause, counts."""
    MATCHES = "matches"
    """Alerts that matched the notification query."""


@dataclass
class SchemaSeen:
    """A schema met on the stream: where, since when, how often."""

    info: SchemaInfo
    first_seen: float
    topics: set[str] = field(default_factory=set)
    alerts: int = 0
    versions: tuple[tuple[str, str], ...] = ()
    """Version fields of the first alert decoded with it (schemavsn, fink versions)."""


class RateCounter:
    """Alerts per second of one topic over the last minute, in one-second buckets.

    The rate is the mean over the whole minute (or the time since the topic's first alert, if
    shorter), the current second included: alerts come in bursts, one per exposure every
    ~30 s, and a rate over a few complete seconds read 0.0 between two bursts, and 0.0 during
    the second a burst arrived.
    """

    def __init__(self, now: float) -> None:
        self.start = int(now)
        self.born = self.start
        """The second of the first alert: before a minute has passed, the rate is over the
        seconds since then."""
        self.buckets: deque[int] = deque([0], maxlen=RATE_BUCKETS)

    def add(self, count: int, now: float) -> None:
        """Count ``count`` alerts at ``now``."""
        self.roll(now)
        self.buckets[-1] += count

    def roll(self, now: float) -> bool:
        """Open empty buckets up to the second of ``now``; True if what is shown changed
        (a bucket opened while some alerts were still in the window)."""
        second = int(now)
        current = self.start + len(self.buckets) - 1
        if current >= second:
            return False
        changed = any(self.buckets)
        if second - current > RATE_BUCKETS:
            self.buckets.clear()
            self.buckets.append(0)
            self.start = second
            return changed
        while current < second:
            self.buckets.append(0)
            current += 1
        self.start = second - len(self.buckets) + 1
        return changed

    def per_second(self, window: int = RATE_BUCKETS) -> float:
        """Mean rate over the last ``window`` seconds, the current one included."""
        current = self.start + len(self.buckets) - 1
        seconds = min(window, current - self.born + 1)
        return sum(list(self.buckets)[-seconds:]) / seconds


class StreamState:
    """The dashboard's model of the stream."""

    def __init__(
        self,
        max_alerts: int = MAX_ALERTS,
        clock: Callable[[], float] = time.time,
        max_bytes: int = MAX_ALERT_BYTES,
    ) -> None:
        self.clock = clock
        self.max_bytes = max_bytes
        self.kept_bytes = 0
        self.alerts: deque[Alert] = deque(maxlen=max_alerts)
        """Newest last; the table shows them newest first."""
        self._holding: deque[Alert] = deque()
        """The feed's alerts that still hold their bytes (the newest), oldest first."""
        self.failures: deque[DecodeFailure] = deque(maxlen=MAX_FAILURES)
        """Newest last; the newest :data:`FAILURE_VALUES` (within
        :data:`MAX_FAILURE_VALUE_BYTES`) keep their raw value, the others only their key."""
        self.failure_value_bytes = 0
        self._valued = 0
        """How many failures, at the newest end, hold their value."""
        self.failure_count = 0
        self.alert_count = 0
        self.schemas: dict[str, SchemaSeen] = {}
        self.forced: SchemaInfo | None = None
        self.forced_topics: frozenset[str] | None = None
        self.rates: dict[str, RateCounter] = {}
        self.lag: LagSnapshot | None = None
        self.lag_history: dict[str, deque[int]] = {}
        self.lag_times: dict[str, deque[float]] = {}
        """When each point of ``lag_history`` was taken (the sparklines' time axis)."""
        self._lag_rows: object = None
        self.objects = ObjectBook(clock)
        """The alerts grouped by object, since the app started."""
        self.connection = ConnectionChanged(Connection.CONNECTING)
        self.paused = False
        self.notify: Query | None = None
        """The notification query (``--notify``): alerts where it holds are kept as matches."""
        self.matches: deque[Alert] = deque(maxlen=MAX_MATCHES)
        """The alerts that matched, newest last."""
        self.match_count = 0
        self.matched: set[MessageRef] = set()
        """Where the kept matches sit (the feed marks their rows)."""
        self.new_matches: list[Alert] = []
        """Matches not yet announced (the app rings for them and empties the list)."""
        self.group_others: tuple[str, ...] = ()
        """Other members of the group, as last seen (they split the partitions)."""
        self.revisions = dict.fromkeys(Section, 0)
        """Bumped per section on every change, so a view redraws only what changed."""

    def revision(self, *sections: Section) -> tuple[int, ...]:
        """The revisions of ``sections``: a view that drew them compares this next time."""
        return tuple(self.revisions[s] for s in sections)

    def _changed(self, *sections: Section) -> None:
        for section in sections:
            self.revisions[section] += 1

    def apply(self, event: Event) -> None:
        """Fold one source event into the state."""
        self.objects.begin()
        match event:
            case AlertsReceived():
                self._add(event)
                self._changed(Section.ALERTS, Section.RATES, Section.SCHEMAS, Section.STATUS)
                if event.failures:
                    self._changed(Section.FAILURES)
            case AlertBytes(values=values):
                self._attach(values)
            case LagUpdated(snapshot=snapshot) | OffsetsReset(snapshot=snapshot):
                self._set_lag(snapshot)
                self._changed(Section.LAG)
            case ConnectionChanged():
                self.connection = event
                self._changed(Section.STATUS)
            case SchemaForced(schema=schema, topics=topics):
                self.forced = schema
                self.forced_topics = topics
                self._changed(Section.SCHEMAS, Section.STATUS)
            case PauseChanged(paused=paused):
                self.paused = paused
                self._changed(Section.STATUS)
            case GroupShared(others=others):
                self.group_others = others
                self._changed(Section.STATUS)
            case ResetPlanned() | CommandFailed():
                pass  # the app shows these; the model keeps nothing of them
            case _:
                assert_never(event)

    def _add(self, event: AlertsReceived) -> None:
        now = event.received_at
        per_topic: dict[str, int] = {}
        for alert in event.alerts:
            if len(self.alerts) == self.alerts.maxlen:
                self._drop_oldest()
            self.alerts.append(alert)
            if alert.held:
                self._holding.append(alert)
                self.kept_bytes += len(alert.value or b"")
            per_topic[alert.ref.topic] = per_topic.get(alert.ref.topic, 0) + 1
            self._saw_schema(alert, now)
            self.objects.add(alert, now)
        if self.notify is not None:  # before any bytes go: a path it reads may need them
            self._match(event.alerts)
        self._within_budget()
        for failure in event.failures:
            self._add_failure(failure)
            per_topic.setdefault(failure.ref.topic, 0)
        self.alert_count += len(event.alerts)
        self.failure_count += len(event.failures)
        for topic, count in per_topic.items():
            self.rates.setdefault(topic, RateCounter(now)).add(count, now)

    def _attach(self, values: tuple[tuple[MessageRef, bytes], ...]) -> None:
        """Bytes of alerts that came without them, oldest first: they join the newest held,
        within the budget (an alert gone from the feed meanwhile takes none)."""
        waiting = {alert.ref: alert for alert in self.alerts if alert.value is None}
        for ref, value in values:
            alert = waiting.get(ref)
            if alert is not None:
                alert.value = value
                self._holding.append(alert)
                self.kept_bytes += len(value)
        self._within_budget()

    def _within_budget(self) -> None:
        """The oldest held alerts let their bytes go until the rest fit :attr:`max_bytes` (the
        newest keeps its own whatever it weighs)."""
        while self.kept_bytes > self.max_bytes and len(self._holding) > 1:
            self._let_go(self._holding.popleft())

    def _drop_oldest(self) -> None:
        """The oldest alert leaves the feed (an object or the matches may still show it: they
        fetch its bytes again to open it)."""
        alert = self.alerts.popleft()
        if self._holding and self._holding[0] is alert:
            self._let_go(self._holding.popleft())

    def _let_go(self, alert: Alert) -> None:
        """An alert no longer among the newest lets its bytes go, wherever it is shown."""
        self.kept_bytes -= len(alert.value or b"")
        alert.release()

    def _match(self, alerts: tuple[Alert, ...]) -> None:
        assert self.notify is not None
        found = [alert for alert in alerts if self.notify.matches(alert)]
        if not found:
            return
        for alert in found:
            if len(self.matches) == self.matches.maxlen:
                self.matched.discard(self.matches[0].ref)
            self.matches.append(alert)
            self.matched.add(alert.ref)
        self.match_count += len(found)
        self.new_matches.extend(found)
        self._changed(Section.MATCHES)

    def set_notify(self, query: Query | None) -> None:
        """Notify on ``query`` from the next alerts on (None: stop); the matches so far stay."""
        self.notify = query
        self._changed(Section.MATCHES)

    def _add_failure(self, failure: DecodeFailure) -> None:
        """Keep the failure; its value only while it is among the newest within the budget."""
        if len(self.failures) == self.failures.maxlen and self.failures[0].value is not None:
            self._forget_value(0)
        if failure.value is not None and len(failure.value) <= MAX_FAILURE_VALUE_BYTES:
            self.failures.append(failure)
            self.failure_value_bytes += len(failure.value)
            self._valued += 1
        else:  # older values go too: those kept are always the newest ones
            while self._valued:
                self._forget_value(len(self.failures) - self._valued)
            self.failures.append(replace(failure, value=None))
        while self._valued > FAILURE_VALUES or self.failure_value_bytes > MAX_FAILURE_VALUE_BYTES:
            self._forget_value(len(self.failures) - self._valued)

    def _forget_value(self, index: int) -> None:
        kept = self.failures[index]
        assert kept.value is not None
        self.failure_value_bytes -= len(kept.value)
        self._valued -= 1
        self.failures[index] = replace(kept, value=None)

    def _saw_schema(self, alert: Alert, now: float) -> None:
        seen = self.schemas.get(alert.schema.fingerprint)
        if seen is None:
            if len(self.schemas) >= MAX_SCHEMAS:
                oldest = min(self.schemas.values(), key=lambda s: s.first_seen)
                del self.schemas[oldest.info.fingerprint]
            seen = SchemaSeen(alert.schema, now, versions=alert.summary.versions)
            self.schemas[alert.schema.fingerprint] = seen
        seen.topics.add(alert.ref.topic)
        seen.alerts += 1

    def _set_lag(self, snapshot: LagSnapshot) -> None:
        self.lag = snapshot
        for topic in snapshot.topics:
            if topic.error:
                continue
            history = self.lag_history.setdefault(topic.topic, deque(maxlen=LAG_HISTORY))
            history.append(topic.lag)
            times = self.lag_times.setdefault(topic.topic, deque(maxlen=LAG_HISTORY))
            times.append(snapshot.taken_at)
        rows = (
            tuple(
                (t.topic, t.error, tuple((p.partition, p.empty) for p in t.partitions))
                for t in snapshot.topics
            ),
            snapshot.lost > 0,
            snapshot.group_info,
            tuple(self.lag_history),
        )
        if rows != self._lag_rows:
            self._lag_rows = rows
            self._changed(Section.LAG_ROWS)

    def tick(self) -> None:
        """Let time pass for the rate counters (so a quiet topic's rate falls to zero)."""
        now = self.clock()
        if any([counter.roll(now) for counter in self.rates.values()]):
            self._changed(Section.RATES, Section.STATUS)

    @property
    def rate(self) -> float:
        """Alerts per second over all topics."""
        return sum(c.per_second() for c in self.rates.values())


@dataclass(slots=True)
class TrackedObject:
    """One object (ZTF objectId, LSST diaObjectId or ssObjectId) and its alerts so far."""

    object_id: str
    kind: str
    """``objectId``, ``diaObjectId`` or ``ssObjectId``."""
    survey: str
    first_seen: datetime
    """Observation time of its earliest alert (the receiving time if an alert has none)."""
    last_seen: datetime
    """Observation time of its latest alert."""
    latest: Alert
    """Its latest alert (by observation time)."""
    new: bool
    """First seen since the app started: its first alert was published on the stream after
    that (the Kafka timestamp; the observation time when there is none), so objects caught up
    from a backlog are not new, and live ones are whatever Fink's processing delay."""
    alerts: int = 1
    """Alerts received since the app started."""
    change: float | None = None
    """Latest magnitude (ZTF) or flux (LSST) minus the previous one in the same band."""
    topics: tuple[str, ...] = ()
    """The topics its alerts came on (a tuple, one copy shared by the objects of the same topics:
    a set weighs 216 bytes, and the book follows 20,000 objects)."""
    updates: int = 0
    """Bumped on every alert, so a table redraws only the objects that changed."""
    bands: tuple[Any, ...] = ()
    """Per band, the time and brightness of its latest alert, one after the other: ``(band,
    time, value, band, ...)`` (a dict and a tuple per band weighed ~230 bytes; see
    :meth:`in_band`)."""

    def in_band(self, band: str) -> tuple[datetime, float] | None:
        """The time and brightness of the latest alert in ``band``, if any."""
        bands = self.bands
        for i in range(0, len(bands), 3):
            if bands[i] == band:
                return bands[i + 1], bands[i + 2]
        return None

    def set_band(self, band: str, when: datetime, value: float) -> None:
        """Record the latest alert in ``band``."""
        bands = self.bands
        for i in range(0, len(bands), 3):
            if bands[i] == band:
                self.bands = (*bands[:i], band, when, value, *bands[i + 3 :])
                return
        self.bands = (*bands, band, when, value)

    @property
    def brightness(self) -> float | None:
        """The latest alert's magnitude or flux."""
        s = self.latest.summary
        return s.mag if s.mag is not None else s.flux


def _brightness(alert: Alert) -> float | None:
    s = alert.summary
    return s.mag if s.mag is not None else s.flux


class ObjectBook:
    """The stream's alerts grouped by object, updated alert by alert at little cost (a dict
    lookup and a few fields), bounded to :data:`MAX_OBJECTS`. Iterates most recently updated
    first."""

    def __init__(
        self, started: float | Callable[[], float], max_objects: int = MAX_OBJECTS
    ) -> None:
        self._clock = started if callable(started) else None
        self.started_at = 0.0 if callable(started) else started
        self.started = datetime.fromtimestamp(self.started_at, tz=UTC)
        """Objects first published (or observed) after this are marked new."""
        self.max_objects = max_objects
        self._objects: dict[tuple[str, str], TrackedObject] = {}
        """By (survey, id), least recently updated first (dicts keep insertion order)."""

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, survey: str, object_id: str) -> TrackedObject | None:
        """The object with that id, if followed."""
        return self._objects.get((survey, object_id))

    def recent(self, limit: int) -> list[TrackedObject]:
        """At most ``limit`` objects, the most recently updated first."""
        out: list[TrackedObject] = []
        for obj in reversed(self._objects.values()):
            out.append(obj)
            if len(out) >= limit:
                break
        return out

    def begin(self) -> None:
        """Take the start time from the clock, once (the model's first event: the app's
        start; not at construction, when a test's clock may not be ready)."""
        if self._clock is not None:
            self.started_at = self._clock()
            self.started = datetime.fromtimestamp(self.started_at, tz=UTC)
            self._clock = None

    def add(self, alert: Alert, received_at: float) -> None:
        """Count one alert for its object."""
        self.begin()
        s = alert.summary
        if not s.object_id:
            return
        key = (s.survey, s.object_id)
        when = s.time or datetime.fromtimestamp(received_at, tz=UTC)
        value = _brightness(alert)
        stamp = alert.ref.timestamp_ms
        new = stamp / 1000 > self.started_at if stamp is not None else when > self.started
        obj = self._objects.pop(key, None)
        if obj is None:
            obj = TrackedObject(s.object_id, s.object_kind, s.survey, when, when, alert, new)
            if len(self._objects) >= self.max_objects:
                del self._objects[next(iter(self._objects))]
        else:
            obj.alerts += 1
            obj.new = obj.new and new
            if when < obj.first_seen:
                obj.first_seen = when
        self._objects[key] = obj  # now the most recently updated
        obj.updates += 1
        if alert.ref.topic not in obj.topics:
            obj.topics = shared((*obj.topics, alert.ref.topic))
        previous = obj.in_band(s.band)
        if value is not None and (previous is None or when >= previous[0]):
            obj.set_band(s.band, when, value)
        if when >= obj.last_seen:
            obj.last_seen = when
            obj.latest = alert
            obj.change = None
            if value is not None and previous is not None and when > previous[0]:
                obj.change = value - previous[1]
