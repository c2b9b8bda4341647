"""Fink's Data Transfer topics: what ``finkctl transfer`` (fink-client's ``fink_datatransfer``)
reads.

A Data Transfer job streams its alerts on a topic ``ftransfer_<survey>_<date>_<id>`` (a
cross-match job: ``fxmatch_…``). Unlike the Livestream, its messages do not carry their schema:
fink-client reads it once from the key of the first message of the companion topic
``<topic>_schema``, and decodes every value with it. fink-tui does the same, then gives each
message of the topic that key, so the rest of the decoding (schema parsed once per key, the
Rust reader, the decoding processes) is the Livestream's.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

DATA_TRANSFER_PREFIXES = ("ftransfer_", "fxmatch_")
SCHEMA_SUFFIX = "_schema"


class TopicKind(enum.Enum):
    """What a topic is to a Fink user; the value is the label ``fink-tui topics`` prints."""

    LIVESTREAM = "Livestream"
    DATA_TRANSFER = "Data Transfer"
    SCHEMA = "Data Transfer schema"
    OTHER = "other"


def topic_kind(name: str) -> TopicKind:
    """Livestream (``fink_*``), Data Transfer (``ftransfer_*``, ``fxmatch_*``), the schema
    topic of a Data Transfer topic, or something else."""
    if name.startswith(DATA_TRANSFER_PREFIXES):
        return TopicKind.SCHEMA if name.endswith(SCHEMA_SUFFIX) else TopicKind.DATA_TRANSFER
    if name.startswith("fink_"):
        return TopicKind.LIVESTREAM
    return TopicKind.OTHER


def is_data_transfer(name: str) -> bool:
    """Whether ``name`` is a Data Transfer topic (not its schema topic)."""
    return topic_kind(name) is TopicKind.DATA_TRANSFER


def schema_topic(name: str) -> str:
    """The topic whose first message's key is the schema of ``name``'s alerts."""
    return f"{name}{SCHEMA_SUFFIX}"


def fetch_schema_keys(
    make_consumer: Callable[[], Consumer],
    partitions: Mapping[str, Iterable[int]],
    topics: Iterable[str],
    timeout: float,
) -> dict[str, bytes | str]:
    """For each Data Transfer topic of ``topics``: the key of the first message of its schema
    topic, or why there is none. ``partitions`` maps the broker's topics to their partition
    ids (metadata). One consumer that joins no group reads them all at once."""
    wanted = [t for t in topics if is_data_transfer(t)]
    result: dict[str, bytes | str] = {}
    assign = []
    for topic in wanted:
        companion = schema_topic(topic)
        if companion not in partitions:
            result[topic] = (
                f"no schema topic {companion} on this broker: its alerts cannot be decoded"
            )
            continue
        assign += [TopicPartition(companion, p, OFFSET_BEGINNING) for p in partitions[companion]]
    if not assign:
        return result
    by_companion = {schema_topic(t): t for t in wanted if t not in result}
    consumer = make_consumer()
    try:
        consumer.assign(assign)
        deadline = time.monotonic() + timeout
        while len(result) < len(wanted) and time.monotonic() < deadline:
            for msg in consumer.consume(len(assign), timeout=0.2):
                owner = by_companion.get(str(msg.topic()))
                if msg.error() is not None or owner is None or owner in result:
                    continue
                key = msg.key()
                result[owner] = (
                    key
                    if isinstance(key, bytes) and key
                    else f"the first message of {msg.topic()} has no key (no schema)"
                )
    except KafkaException as exc:
        for topic in wanted:
            result.setdefault(topic, f"cannot read {schema_topic(topic)}: {exc}")
    finally:
        consumer.close()
    for topic in wanted:
        result.setdefault(
            topic, f"{schema_topic(topic)} is empty (the job has not written its schema yet)"
        )
    return result


def attach_schema_keys(messages: Iterable[Message], keys: Mapping[str, bytes]) -> None:
    """Give each message of a Data Transfer topic its topic's schema as key, as the
    Livestream's messages have it."""
    for msg in messages:
        key = keys.get(str(msg.topic()))
        if key is not None and msg.error() is None:
            msg.set_key(key)
