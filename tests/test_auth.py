"""Passwords against a real SCRAM-SHA-512 peer (tests/scram_gate.py in front of tansu)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from fink_tui.config import Settings
from fink_tui.core.events import Connection, ConnectionChanged, Event
from fink_tui.core.worker import StreamWorker
from fink_tui.demo.broker import EmbeddedBroker
from tests.helpers import FAST_GROUP, wait_until
from tests.scram_gate import ScramGate

USER, PASSWORD = "astro", "right-horse-battery"
WRONG = "wr0ng-pa55word-zz"


@pytest.fixture(scope="module")
def secured() -> Iterator[str]:
    """The bootstrap address of a broker that wants SCRAM-SHA-512 credentials."""
    gate = ScramGate({USER: PASSWORD}).start()
    broker = EmbeddedBroker(advertise=f"127.0.0.1:{gate.port}")
    try:  # stopped even if the setup below fails: no broker left behind
        broker.start()
        gate.backend_port = broker.port
        admin = AdminClient(
            {
                "bootstrap.servers": f"127.0.0.1:{gate.port}",
                "security.protocol": "sasl_plaintext",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": USER,
                "sasl.password": PASSWORD,
            }
        )
        admin.create_topics([NewTopic("fink_auth_ztf", 1, 1)])["fink_auth_ztf"].result(10)
        yield f"127.0.0.1:{gate.port}"
    finally:
        broker.stop()
        gate.stop()


def cli(*argv: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FINK_TUI_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "fink_tui", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_right_password_lists_topics(secured: str) -> None:
    """Username + password: SASL/SCRAM-SHA-512 as fink-client's library does, and it works."""
    result = cli(
        "topics", "--servers", secured, "--username", USER, "--maxtimeout", "5", password=PASSWORD
    )
    assert result.returncode == 0, result.stderr
    assert "fink_auth_ztf" in result.stdout


def test_wrong_password_is_one_clear_line(secured: str) -> None:
    """A wrong password: 'authentication failed' at once, exit 1, and the password unsaid."""
    result = cli(
        "lag",
        "--servers",
        secured,
        "--username",
        USER,
        "--group-id",
        "g",
        "--topics",
        "fink_auth_ztf",
        "--maxtimeout",
        "20",
        password=WRONG,
    )
    assert result.returncode == 1
    assert "authentication failed" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert WRONG not in result.stderr and WRONG not in result.stdout


def test_worker_reports_authentication_failure(secured: str) -> None:
    """The worker's connection state says so, with the reason and without the password."""
    events: list[Event] = []
    settings = Settings(
        servers=secured,
        group_id="g",
        topics=("fink_auth_ztf",),
        username=USER,
        password=WRONG,
        kafka=FAST_GROUP,
    )
    worker = StreamWorker(settings, events.append)
    worker.start()
    try:
        assert wait_until(
            lambda: any(
                isinstance(e, ConnectionChanged) and e.state == Connection.AUTH_FAILED
                for e in events
            )
        )
    finally:
        worker.stop()
    states = [e for e in events if isinstance(e, ConnectionChanged)]
    assert Connection.CONNECTED not in [e.state for e in states]
    failed = next(e for e in states if e.state == Connection.AUTH_FAILED)
    assert "SCRAM-SHA-512" in failed.detail and WRONG not in failed.detail
