"""The headless commands against the real broker, and each error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fastavro
import pytest
from confluent_kafka.admin import AdminClient

from fink_tui.cli import main
from fink_tui.core.lag import fetch_lag
from fink_tui.demo.broker import EmbeddedBroker, free_port
from tests.helpers import (
    FAST_GROUP,
    LSST_ALERTS,
    ZTF_ALERTS,
    produce,
    unique,
    wire_messages,
)

FAST = [arg for key, value in FAST_GROUP for arg in ("-X", f"{key}={value}")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def stream(broker: EmbeddedBroker) -> dict[str, str]:
    """A ZTF topic (3 partitions, one empty), an LSST topic, and a fresh group."""
    ztf, lsst = unique("fink_cli_sn_ztf"), unique("fink_cli_sso_lsst")
    broker.create_topics({ztf: 3, lsst: 1})
    z = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, ztf, z[:6], partition=0)
    produce(broker.bootstrap, ztf, z[6:10], partition=1)
    produce(broker.bootstrap, lsst, list(wire_messages(LSST_ALERTS))[:2], partition=0)
    return {"servers": broker.bootstrap, "group": unique("g"), "ztf": ztf, "lsst": lsst}


def base(s: dict[str, str], *topics: str) -> list[str]:
    return [
        "--servers",
        s["servers"],
        "--group-id",
        s["group"],
        "--topics",
        ",".join(topics or (s["ztf"], s["lsst"])),
        "--maxtimeout",
        "5",
        *FAST,
    ]


def test_lag_table_and_json(capsys, stream) -> None:  # type: ignore[no-untyped-def]
    """The fink_consumer --display_statistics layout; --json; empty partitions on request."""
    code, out, _ = run(capsys, "lag", *base(stream))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Topic", "[Partition]", "Committed", "Lag"]
    assert f"{stream['ztf']} [0]" in out and f"{stream['ztf']} [2]" not in out
    total = next(line for line in lines if line.startswith(f"Total for {stream['ztf']}"))
    assert total.split()[-2:] == ["0", "10"]
    _, out, _ = run(capsys, "lag", "--all-partitions", *base(stream))
    assert f"{stream['ztf']} [2]" in out
    code, out, _ = run(capsys, "lag", "--json", *base(stream))
    doc = json.loads(out)
    assert doc["group"] == stream["group"]
    assert [t["lag"] for t in doc["topics"]] == [10, 2]
    assert doc["topics"][0]["partitions"][0] == {
        "partition": 0,
        "committed": None,
        "low": 0,
        "high": 6,
        "lag": 6,
    }


def test_reset_dry_run_then_apply(capsys, stream) -> None:  # type: ignore[no-untyped-def]
    """--dry-run prints the plan and moves nothing; without it the broker holds the plan."""
    code, out, _ = run(capsys, "reset", "--to", "latest", "--dry-run", *base(stream))
    assert code == 0 and "dry run" in out and "-> " not in out
    assert f"{stream['ztf']} [0]" in out
    admin = AdminClient({"bootstrap.servers": stream["servers"]})
    topics = [stream["ztf"], stream["lsst"]]
    assert fetch_lag(admin, stream["group"], topics, 5).lag == 12
    code, out, _ = run(capsys, "reset", "--to", "latest", *base(stream))
    assert code == 0 and "applied" in out
    assert fetch_lag(admin, stream["group"], topics, 5).lag == 0
    code, out, _ = run(
        capsys, "reset", "--to", "2", "--topic", stream["ztf"], "--partition", "0", *base(stream)
    )
    assert code == 0
    snap = fetch_lag(admin, stream["group"], topics, 5)
    assert snap.partition(stream["ztf"], 0).committed == 2  # type: ignore[union-attr]
    assert snap.partition(stream["ztf"], 1).committed == 4  # type: ignore[union-attr]
    code, out, _ = run(capsys, "reset", "--shift", "-1", "--topic", stream["lsst"], *base(stream))
    assert code == 0
    snap = fetch_lag(admin, stream["group"], topics, 5)
    assert snap.partition(stream["lsst"], 0).committed == 1  # type: ignore[union-attr]


def test_reset_bad_target_and_scope(capsys, stream) -> None:  # type: ignore[no-untyped-def]
    """Bad --to, --partition without --topic, unknown partition: one line, exit 2."""
    code, _, err = run(capsys, "reset", "--to", "soon", *base(stream))
    assert code == 2 and "ISO-8601" in err and err.count("\n") == 1
    code, _, err = run(capsys, "reset", "--to", "earliest", "--partition", "1", *base(stream))
    assert code == 2 and "--partition needs --topic" in err
    code, _, err = run(
        capsys,
        "reset",
        "--to",
        "earliest",
        "--topic",
        stream["ztf"],
        "--partition",
        "7",
        *base(stream),
    )
    assert code == 2 and "no partition 7" in err


def test_topics_livestream_first(capsys, stream, broker) -> None:  # type: ignore[no-untyped-def]
    """fink_* topics come first; internal topics are hidden."""
    other = unique("zz_other")
    broker.create_topics({other: 1})
    code, out, _ = run(capsys, "topics", "--servers", stream["servers"])
    names = [line.split("\t")[0] for line in out.splitlines()]
    assert code == 0 and stream["ztf"] in names and other in names
    assert names.index(stream["ztf"]) < names.index(other)
    assert not any(n.startswith("__") for n in names)


def test_poll_saves_and_commits(capsys, stream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--limit N prints N alerts, saves them as Avro with their schema, writes each distinct
    schema once, and commits: the lag drops by N."""
    saved, schemas = tmp_path / "alerts", tmp_path / "schemas"
    code, out, err = run(
        capsys,
        "poll",
        "--limit",
        "7",
        "--save",
        str(saved),
        "--dump-schema",
        str(schemas),
        *base(stream, stream["ztf"]),
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 7 and all(stream["ztf"] in line for line in lines)
    assert lines[0].startswith("2026-03-")
    files = sorted(saved.glob("*.avro"))
    assert len(files) == 7
    with files[0].open("rb") as fh:
        records = list(fastavro.reader(fh))
    assert records[0]["objectId"].startswith("ZTF") and records[0]["prv_candidates"] is not None
    assert len(list(schemas.glob("*.avsc"))) == 1
    admin = AdminClient({"bootstrap.servers": stream["servers"]})
    assert fetch_lag(admin, stream["group"], [stream["ztf"]], 5).lag == 3
    code, out, _ = run(capsys, "poll", "--json", "--limit", "3", *base(stream, stream["ztf"]))
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 3 and all(d["survey"] == "ztf" for d in docs)
    assert fetch_lag(admin, stream["group"], [stream["ztf"]], 5).lag == 0


def test_poll_reports_bad_messages_and_goes_on(capsys, stream, broker) -> None:  # type: ignore[no-untyped-def]
    """A malformed message is listed on stderr with topic/partition/offset; the rest print."""
    topic = unique("fink_cli_bad_ztf")
    broker.create_topics({topic: 1})
    z = list(wire_messages(ZTF_ALERTS))
    produce(broker.bootstrap, topic, [z[0], (z[1][0], z[1][1][:50]), z[2]], partition=0)
    code, out, err = run(capsys, "poll", "--limit", "2", "--idle", "3", *base(stream, topic))
    assert code == 0 and len(out.splitlines()) == 2
    assert f"{topic} [0] offset 1: cannot decode" in err
    assert "Traceback" not in err


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fink_tui", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_unreachable_servers_one_line_no_traceback() -> None:
    """Nothing listening: one line on stderr within maxtimeout, exit 1, password hidden."""
    port = free_port()
    result = cli(
        "lag",
        "--servers",
        f"127.0.0.1:{port}",
        "--group-id",
        "g",
        "--topics",
        "t",
        "--username",
        "me",
        "--maxtimeout",
        "2",
        env={"FINK_TUI_PASSWORD": "pa55-w0rd-xyz"},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("fink-tui: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and "pa55-w0rd-xyz" not in result.stderr


def test_unknown_topic_and_missing_settings(capsys, stream) -> None:  # type: ignore[no-untyped-def]
    """An unknown topic, no topics, and no servers each give one clear line."""
    code, _, err = run(
        capsys,
        "lag",
        "--servers",
        stream["servers"],
        "--group-id",
        "g",
        "--topics",
        "fink_nope_ztf",
    )
    assert code == 1 and "unknown topic: fink_nope_ztf" in err
    code, _, err = run(capsys, "lag", "--servers", stream["servers"], "--group-id", "g")
    assert code == 2 and "no topics set" in err
    code, _, err = run(capsys, "topics")
    assert code == 1 and "no Kafka servers" in err


def test_bad_option_and_help() -> None:
    """Bad options exit 2 with usage; --help lists the subcommands; --version works."""
    result = cli("lag", "--nope")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = cli("--help")
    for name in ("lag", "reset", "topics", "poll", "demo"):
        assert name in result.stdout
    assert cli("--version").stdout.startswith("fink-tui ")


def test_options_before_the_subcommand_are_kept(capsys, stream) -> None:  # type: ignore[no-untyped-def]
    """`fink-tui --servers X lag` is the same as `fink-tui lag --servers X`."""
    code, out, _ = run(capsys, *base(stream), "lag", "--json")
    assert code == 0 and json.loads(out)["group"] == stream["group"]


def test_bad_librdkafka_setting_and_broken_pipe(stream) -> None:  # type: ignore[no-untyped-def]
    """A malformed -X value is one line; a reader that goes away (| head) is no traceback."""
    result = cli(
        "lag",
        "--servers",
        stream["servers"],
        "--group-id",
        "g",
        "--topics",
        stream["ztf"],
        "-X",
        "session.timeout.ms=abc",
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "bad Kafka setting" in result.stderr
    shell = subprocess.run(
        f"{sys.executable} -m fink_tui poll --limit 6 --servers {stream['servers']} "
        f"--group-id {unique('g')} --topics {stream['ztf']} {' '.join(FAST)} | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in shell.stderr
