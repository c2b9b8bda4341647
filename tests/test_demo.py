"""The demo: `fink-tui demo --broker-only` as a subprocess, read with the project's own
headless commands; and the demo app itself under run_test, quit cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import fastavro

from fink_tui.app import FinkApp
from fink_tui.core.remote import ProcessSource
from fink_tui.core.survey import CUTOUT_FIELDS, cutout_bytes, light_curve, schema_survey
from fink_tui.demo.broker import EmbeddedBroker
from fink_tui.demo.run import TOPICS, DemoStream, demo_settings
from fink_tui.widgets.cutout import cutout_array


def tansu_processes() -> set[int]:
    """PIDs of running tansu brokers."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"tansu" in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                pass
    return found


def broker_only_demo(seed: int) -> subprocess.Popen[str]:
    """`fink-tui demo --broker-only` started as a person would, its output read by the test."""
    return subprocess.Popen(
        [sys.executable, "-m", "fink_tui", "demo", "--broker-only", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_stopped(brokers: set[int]) -> None:
    """The demo's brokers are gone within 10 s."""
    deadline = time.monotonic() + 10
    while tansu_processes() & brokers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tansu_processes() & brokers, "the demo left its broker running"


def test_broker_only_demo_serves_both_surveys(tmp_path: Path) -> None:
    """Alerts of both surveys decode with `fink-tui poll`; their light curves and cutouts
    parse; the malformed messages are reported; SIGTERM leaves no process behind."""
    before = tansu_processes()
    demo = broker_only_demo(seed=5)
    try:
        assert demo.stdout is not None
        lines = [demo.stdout.readline() for _ in range(3)]
        bootstrap = lines[0].split()[-1]
        group = lines[1].split()[-1]
        assert bootstrap.startswith("127.0.0.1:") and group == "fink_tui_demo"
        ours = tansu_processes() - before
        assert ours, "the demo broker is not running"
        topics = ",".join(t.name for t in TOPICS)
        saved = tmp_path / "alerts"
        poll = subprocess.run(
            [
                sys.executable,
                "-m",
                "fink_tui",
                "poll",
                "--json",
                "--idle",
                "3",
                "--servers",
                bootstrap,
                "--group-id",
                "demo_test",
                "--topics",
                topics,
                "--save",
                str(saved),
                "-X",
                "session.timeout.ms=2000",
                "-X",
                "max.poll.interval.ms=2000",
                "-X",
                "heartbeat.interval.ms=500",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert poll.returncode == 0, poll.stderr
        docs = [json.loads(line) for line in poll.stdout.splitlines()]
        assert {d["survey"] for d in docs} == {"ztf", "lsst"}
        assert len(docs) > 20
        assert "cannot decode" in poll.stderr and "Traceback" not in poll.stderr
        files = sorted(saved.glob("*.avro"))
        # One file per alert read; a loaded machine can make the group rebalance and poll
        # print again what it had not committed yet (at least once): counted once.
        assert len(files) == len({(d["topic"], d["partition"], d["offset"]) for d in docs})
        surveys = set()
        for path in files[:: max(1, len(files) // 12)]:
            with path.open("rb") as fh:
                reader = fastavro.reader(fh)
                record = next(iter(reader))
                survey = schema_survey(reader.writer_schema)
            surveys.add(survey)
            assert light_curve(record, survey)
            for name in CUTOUT_FIELDS:
                data = cutout_bytes(record, name)
                assert data is not None
                assert cutout_array(data).shape in ((63, 63), (30, 30))
        assert surveys == {"ztf", "lsst"}
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(20)
    assert demo.returncode == 128 + signal.SIGTERM
    assert_stopped(ours)


def test_broker_only_demo_exits_130_on_ctrl_c() -> None:
    """Ctrl-C ends `fink-tui demo --broker-only` as it ends any program its user interrupts:
    status 130, no traceback, and its broker stopped."""
    before = tansu_processes()
    demo = broker_only_demo(seed=3)
    try:
        assert demo.stdout is not None
        assert demo.stdout.readline().startswith("bootstrap: 127.0.0.1:")
        ours = tansu_processes() - before
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
    assert demo.returncode == 130 and "Traceback" not in err
    assert_stopped(ours)


async def test_demo_app_runs_and_quits_cleanly(isolated_env: Path) -> None:
    """What `make demo` opens, without a terminal: alerts of both surveys arrive, the lag
    screen fills, a decode failure is listed, and q quits with nothing left running."""
    with EmbeddedBroker() as broker:
        broker.create_topics({t.name: t.partitions for t in TOPICS})
        stream = DemoStream(broker.bootstrap, seed=11, exposure_seconds=2.0)
        stream.setup()
        stream.start()
        settings = demo_settings(broker.bootstrap)
        source = ProcessSource(settings, lag_interval=1.0)
        app = FinkApp(settings, source)
        try:
            async with app.run_test(size=(140, 40)) as pilot:
                for _ in range(400):
                    surveys = {a.summary.survey for a in app.state.alerts}
                    if surveys == {"ztf", "lsst"} and app.state.lag and app.state.failures:
                        break
                    await pilot.pause(0.05)
                assert surveys == {"ztf", "lsst"}
                assert app.state.lag is not None and app.state.failure_count >= 1
                lag = app.state.lag
                committed = [p.committed for t in lag.topics for p in t.partitions]
                assert any(c is not None for c in committed)
                await pilot.press("q")
            assert source.process is not None and source.process.poll() is not None
        finally:
            stream.stop()
        assert not stream.is_alive()
        assert stream.produced > 0 and stream.malformed >= 1
    # Nothing written to the user's folders: saving and exporting are the user's choice.
    assert not any(p.is_file() for p in isolated_env.rglob("*"))
