"""Poison messages through the real broker (issue 13): ``fink-tui poll`` shows every good alert,
lists every bad message with its offset, exits 0 and commits to the end of the topic."""

from __future__ import annotations

import random
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from fink_tui.cli import main
from fink_tui.core.decode import AlertDecoder, DecodeFailure, MessageRef
from fink_tui.core.wire import avro_long
from tests.helpers import FAST_GROUP, ZTF_ALERTS, produce, unique, wire_messages

FAST = [arg for key, value in FAST_GROUP for arg in ("-X", f"{key}={value}")]
GOOD = 500
BAD = 500


def hostile_messages(count: int) -> list[tuple[bytes | None, bytes]]:
    """``count`` messages that must not decode, of every kind the fuzzing found, the same each
    run: the issue's reproductions (a key of 5,000 digits, a key nested 5,000 deep, 5,000
    recursive nodes that crashed fastavro, 2**62 nulls that ate 3 GB), no key, empty values,
    truncated, bit-flipped and random values, keys that are not JSON or not a schema, a
    decimal too long to convert."""
    rng = random.Random(13)
    ztf = wire_messages(ZTF_ALERTS)
    node = (
        b'{"type":"record","name":"node","fields":[{"name":"v","type":"int"},'
        b'{"name":"next","type":["null","node"]}]}'
    )
    nulls = (
        b'{"type":"record","name":"r","fields":[{"name":"a","type":'
        b'{"type":"array","items":"null"}}]}'
    )
    decimal = (
        b'{"type":"record","name":"d","fields":[{"name":"x","type":'
        b'{"type":"bytes","logicalType":"decimal","precision":1000000,"scale":2}}]}'
    )

    def flipped(value: bytes) -> bytes:
        data = bytearray(value)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(min(len(data), 2048))] ^= 1 << rng.randrange(8)
        return bytes(data)

    makers = [
        lambda key, value: (b"1" * 5000, value),
        lambda key, value: (b"[" * 5000 + b"]" * 5000, value),
        lambda key, value: (node, b"\x02\x02" * 5000 + b"\x02\x00"),
        lambda key, value: (nulls, avro_long(2**62) + b"\x00"),
        lambda key, value: (None, value),
        lambda key, value: (key, b""),
        lambda key, value: (key, value[: rng.randrange(len(value))]),
        lambda key, value: (key, flipped(value)),
        lambda key, value: (key, rng.randbytes(rng.randrange(1, 200))),
        lambda key, value: (rng.randbytes(rng.randrange(1, 100)), value),
        lambda key, value: (b'{"type": "record", "name": 3}', value),
        lambda key, value: (b'{"type":"record","name":"\xff","fields":[]}', value),
        lambda key, value: (decimal, avro_long(50_000) + b"\x7f" * 50_000),
    ]
    decoder = AlertDecoder()
    messages: list[tuple[bytes | None, bytes]] = []
    while len(messages) < count:
        key, value = ztf[rng.randrange(len(ztf))]
        bad = makers[len(messages) % len(makers)](key, value)
        # A bit flip can land where it changes nothing: keep only what really fails.
        if isinstance(decoder.decode(MessageRef("t", 0, 0), *bad), DecodeFailure):
            messages.append(bad)
    return messages


@pytest.mark.broker
def test_poll_goes_past_500_poison_messages(
    capsys: pytest.CaptureFixture[str], broker: Any
) -> None:
    """500 hostile messages between 500 good ZTF alerts (bad at even offsets, good at odd):
    every good alert printed, every bad one listed on stderr with its offset, exit 0, and the
    group committed at the end of the topic."""
    topic, group = unique("fink_hostile_ztf"), unique("g_hostile")
    broker.create_topics({topic: 1})
    ztf = wire_messages(ZTF_ALERTS)
    bad = hostile_messages(BAD)
    good = [ztf[n % len(ztf)] for n in range(GOOD)]
    produce(
        broker.bootstrap,
        topic,
        [message for pair in zip(bad, good, strict=True) for message in pair],
        partition=0,
    )
    argv = ["poll", "--limit", str(GOOD), "--servers", broker.bootstrap, "--group-id", group]
    code = main([*argv, "--topics", topic, "--maxtimeout", "5", *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    assert len(lines) == GOOD and all(topic in line for line in lines)
    listed = [line for line in err.splitlines() if ": cannot decode: " in line]
    assert len(listed) == BAD
    for offset in range(0, 2 * BAD, 2):
        assert f"{topic} [0] offset {offset}: cannot decode: " in listed[offset // 2]
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    try:
        [committed] = reader.committed([TopicPartition(topic, 0)], timeout=10)
        _, high = reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        reader.close()
    assert committed.offset == high == GOOD + BAD


@pytest.mark.broker
async def test_app_goes_past_500_poison_messages(broker: Any) -> None:
    """The same 500 hostile and 500 good messages through the dashboard: every good alert
    reaches the model, every bad one is listed with its offset on the schema screen, the keys
    still work, and the group is committed at the end of the topic."""
    from fink_tui.app import FinkApp
    from fink_tui.core.remote import ProcessSource
    from tests.helpers import settings_for

    topic, group = unique("fink_hostile_app_ztf"), unique("g_hostile_app")
    broker.create_topics({topic: 1})
    ztf = wire_messages(ZTF_ALERTS)
    bad = hostile_messages(BAD)
    good = [ztf[n % len(ztf)] for n in range(GOOD)]
    pairs = [message for pair in zip(bad, good, strict=True) for message in pair]
    produce(broker.bootstrap, topic, pairs, partition=0)
    settings = settings_for(broker.bootstrap, group, [topic])
    app = FinkApp(settings, ProcessSource(settings, lag_interval=0.5))
    async with app.run_test(size=(140, 40)) as pilot:
        for _ in range(1200):
            lag = app.state.lag
            if app.state.alert_count >= GOOD and lag is not None and lag.lag == 0:
                break
            await pilot.pause(0.05)
        assert app.state.alert_count == GOOD and app.state.failure_count == BAD
        offsets = sorted(f.ref.offset for f in app.state.failures)
        assert offsets == list(range(0, 2 * BAD, 2))
        await pilot.press("3")
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        assert app.screen.query_one("#failures").row_count == BAD
        await pilot.press("1")
        await pilot.pause()
        assert type(app.screen).__name__ == "FeedScreen"
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    try:
        [committed] = reader.committed([TopicPartition(topic, 0)], timeout=10)
    finally:
        reader.close()
    assert committed.offset == GOOD + BAD
