"""Test helpers: the real Fink alerts of ../shared/fink-data in Fink's wire format, a producer
that suits the test broker, and settings for a fast group join on it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import fastavro
from confluent_kafka import Producer

from fink_tui.config import Settings
from fink_tui.core.decode import Alert, AlertDecoder, MessageRef
from fink_tui.core.wire import encode
from fink_tui.demo.broker import FAST_JOIN, producer_config

E = TypeVar("E")

FINK_DATA = Path(
    os.environ.get("FINK_DATA", Path(__file__).resolve().parents[2] / "shared" / "fink-data")
)
ZTF_ALERTS = FINK_DATA / "ztf" / "ztf-alerts.avro"
LSST_ALERTS = FINK_DATA / "lsst" / "lsst-alerts.avro"
OLD_ZTF_ALERT = FINK_DATA / "ztf" / "fink-broker-sample-alert-1.avro"
ZTF_SCHEMA_JSON = next((FINK_DATA / "ztf").glob("avro_schema_ftransfer_ztf_*.json"), FINK_DATA)
SCHEMA_25 = FINK_DATA / "schemas" / "distribution_schema_fink_ztf_2.5_3.5.3.avsc"

FAST_GROUP = FAST_JOIN


@cache
def read_alerts(path: Path) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """The writer schema and the records of an Avro container file."""
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        records = tuple(reader)
        return reader.writer_schema, records


@cache
def wire_messages(path: Path) -> tuple[tuple[bytes, bytes], ...]:
    """The alerts of ``path`` as Fink sends them: (schema JSON key, schemaless Avro value)."""
    schema, records = read_alerts(path)
    return tuple(encode(record, schema) for record in records)


def decoded_ztf(topic: str, start: int, n: int) -> list[Alert]:
    """``n`` real ZTF alerts decoded as the stream would, at offsets ``start``.. of partition 0
    of ``topic`` (the file's alerts cycled)."""
    decoder, messages = AlertDecoder(), wire_messages(ZTF_ALERTS)
    alerts = []
    for offset in range(start, start + n):
        alert = decoder.decode(MessageRef(topic, 0, offset), *messages[offset % len(messages)])
        assert isinstance(alert, Alert)
        alerts.append(alert)
    return alerts


def producer(bootstrap: str) -> Producer:
    """A producer whose watermarks the test broker gets right (one record per batch)."""
    return Producer(producer_config(bootstrap))


def produce(
    bootstrap: str,
    topic: str,
    messages: list[tuple[bytes | None, bytes]],
    partition: int | None = None,
    timestamp_ms: int | None = None,
) -> None:
    """Produce and wait for every delivery."""
    p = producer(bootstrap)
    errors: list[str] = []

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for key, value in messages:
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": report}
        if partition is not None:
            kwargs["partition"] = partition
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        p.produce(topic, **kwargs)
        p.poll(0)
    assert p.flush(30) == 0
    assert not errors, errors


def settings_for(bootstrap: str, group: str, topics: list[str], **more: Any) -> Settings:
    """Settings for the test broker, with a fast group join."""
    return Settings(
        servers=bootstrap,
        group_id=group,
        topics=tuple(topics),
        maxtimeout=5.0,
        kafka=FAST_GROUP,
        **more,
    )


def wait_until(predicate: Any, timeout: float = 20.0, every: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet waited for, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[-1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return bool(fields) and fields[0] != "Z"


def all_ended(pids: set[int]) -> bool:
    """Whether none of ``pids`` runs any more."""
    return not any(map(running, pids))


def descendants(pid: int) -> set[int]:
    """The running processes ``pid`` started, and the ones they started (read from each
    process's parent in /proc: a session of its own does not hide a child)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:  # ended meanwhile
            continue
        if fields and fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        children = {child for child, parent in parents.items() if parent == current}
        found |= children
        todo += children
    return found


def unique(prefix: str) -> str:
    """A fresh name for a topic or group, so tests sharing a broker do not meet."""
    unique.n += 1  # type: ignore[attr-defined]
    return f"{prefix}_{os.getpid()}_{unique.n}"  # type: ignore[attr-defined]


unique.n = 0  # type: ignore[attr-defined]


def events_of(app: Any, kind: type[E]) -> list[E]:
    """The events of ``kind`` that ``app`` handles from now on, in order (its
    ``handle_event`` wrapped)."""
    seen: list[E] = []
    handle = app.handle_event

    def record(event: Any) -> None:
        if isinstance(event, kind):
            seen.append(event)
        handle(event)

    app.handle_event = record
    return seen


@contextmanager
def style_walks(widget: Any) -> Iterator[list[int]]:
    """While inside, ``counter[0]`` counts how often ``widget``'s style is worked out (Textual's
    ``DOMNode.rich_style``, which walks the widget's ancestors)."""
    from textual.dom import DOMNode

    walk = DOMNode.rich_style.fget
    assert walk is not None
    counter = [0]

    def counted(node: DOMNode) -> object:
        counter[0] += node is widget
        return walk(node)

    original = DOMNode.rich_style
    DOMNode.rich_style = property(counted)  # type: ignore[method-assign,assignment]
    try:
        yield counter
    finally:
        DOMNode.rich_style = original  # type: ignore[method-assign]
