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
    read_alerts,
    unique,
    wait_until,
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
    # fink_consumer --display_statistics' columns first, then the time lag, lost, status
    assert lines[0].split() == [
        "Topic",
        "[Partition]",
        "Committed",
        "Lag",
        "Time",
        "lag",
        "Lost",
        "Status",
    ]
    assert f"{stream['ztf']} [0]" in out and f"{stream['ztf']} [2]" not in out
    total = next(line for line in lines if line.startswith(f"Total for {stream['ztf']}"))
    assert total.split()[3:5] == ["0", "10"]
    _, out, _ = run(capsys, "lag", "--all-partitions", *base(stream))
    assert f"{stream['ztf']} [2]" in out
    code, out, _ = run(capsys, "lag", "--json", *base(stream))
    doc = json.loads(out)
    assert doc["group"] == stream["group"]
    assert [t["lag"] for t in doc["topics"]] == [10, 2]
    part = doc["topics"][0]["partitions"][0]
    assert {k: part[k] for k in ("partition", "committed", "low", "high", "lag")} == {
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
    [schema_file] = schemas.glob("*.avsc")
    assert schema_file.name.startswith(f"{stream['ztf']}_schemavsn-4.02_")  # topic, version
    assert err.splitlines()[-1] == f"fink-tui: saved 7 alerts to {saved}, 1 schema to {schemas}"
    admin = AdminClient({"bootstrap.servers": stream["servers"]})
    assert fetch_lag(admin, stream["group"], [stream["ztf"]], 5).lag == 3
    code, out, _ = run(capsys, "poll", "--json", "--limit", "3", *base(stream, stream["ztf"]))
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 3 and all(d["survey"] == "ztf" for d in docs)
    for d in docs:  # the object's pages, as the portals build them (core/links.py)
        assert d["links"]["portal"] == f"https://ztf.fink-portal.org/{d['object_id']}"
        assert d["links"]["tns"].startswith(f"https://www.wis-tns.org/search?ra={d['ra']:.6f}&")
        assert d["links"]["simbad"].endswith("&Radius=5&Radius.unit=arcsec")
    assert fetch_lag(admin, stream["group"], [stream["ztf"]], 5).lag == 0


def _great_circle_ref(ra: float, dec: float, ra0: float, dec0: float) -> float:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    here, there = SkyCoord(ra * u.deg, dec * u.deg), SkyCoord(ra0 * u.deg, dec0 * u.deg)
    return float(here.separation(there).deg)


def _where_references() -> list[tuple[str, list[str]]]:
    """Queries and, per query, the ids of the alerts that match it, computed here from the
    files' records with fastavro (ZTF objectId, LSST diaSourceId), in the order produced."""
    ztf, lsst = read_alerts(ZTF_ALERTS)[1], read_alerts(LSST_ALERTS)[1]

    def ids(ztf_test: object, lsst_test: object) -> list[str]:
        return [r["objectId"] for r in ztf if ztf_test(r)] + [  # type: ignore[operator]
            str(r["diaSource"]["diaObjectId"] or r["diaSource"]["ssObjectId"])
            for r in lsst
            if lsst_test(r)  # type: ignore[operator]
        ]

    never = lambda _r: False  # noqa: E731
    return [
        ("candidate.magpsf < 18", ids(lambda r: r["candidate"]["magpsf"] < 18, never)),
        (
            "class = 'SN candidate' AND mag < 19 AND dec > -30",
            ids(
                lambda r: (
                    r["finkclass"] == "SN candidate"
                    and r["candidate"]["magpsf"] < 19
                    and r["candidate"]["dec"] > -30
                ),
                never,
            ),
        ),
        (
            "diaSource.psfFlux > 5000 OR band IN ('g', 'r')",
            ids(
                lambda r: r["candidate"]["fid"] in (1, 2),
                lambda r: r["diaSource"]["psfFlux"] > 5000,
            ),
        ),
        (
            "DISTANCE(ra, dec, 239.06, -20.18) < 0.1",
            ids(
                lambda r: (
                    _great_circle_ref(r["candidate"]["ra"], r["candidate"]["dec"], 239.06, -20.18)
                    < 0.1
                ),
                never,
            ),
        ),
        (
            "diaObject.nDiaSources > 330 OR objectId LIKE 'ZTF25%'",
            ids(
                lambda r: r["objectId"].startswith("ZTF25"),
                lambda r: (
                    (r["diaObject"] or {}).get("nDiaSources") is not None
                    and r["diaObject"]["nDiaSources"] > 330
                ),
            ),
        ),
        ("candidate.magpsf IS NULL", ids(never, lambda _r: True)),
    ]


@pytest.mark.parametrize("workers", ["1", "0"])
def test_poll_where_counts_match_fastavro(capsys, broker, workers: str) -> None:  # type: ignore[no-untyped-def]
    """poll --where prints exactly the alerts a reference computed from the same files with
    fastavro selects, on ZTF and LSST alerts in one topic, with paths read by the decoding
    processes (--workers 1) or here (--workers 0); each run reads and commits everything."""
    topic = unique("fink_cli_where_ztf")
    broker.create_topics({topic: 1})
    produce(
        broker.bootstrap,
        topic,
        [*wire_messages(ZTF_ALERTS), *wire_messages(LSST_ALERTS)],
        partition=0,
    )
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for text, expected in _where_references():
        group = unique("g")
        s = {"servers": broker.bootstrap, "group": group}
        argv = ["poll", "--json", "--idle", "1.5", "--workers", workers, "--where", text]
        code, out, err = run(capsys, *argv, *base(s, topic))
        assert code == 0, err
        got = [json.loads(line)["object_id"] for line in out.splitlines()]
        assert got == expected, text
        assert f"{len(expected)} alert" in err.splitlines()[-1]
        assert f"matched --where, {38 - len(expected)} did not" in err
        assert fetch_lag(admin, group, [topic], 5).lag == 0


def test_poll_where_limit_commits_up_to_the_last_match(capsys, broker) -> None:  # type: ignore[no-untyped-def]
    """--limit N with --where stops after N matches and commits no further than the Nth:
    the next poll starts right after it."""
    topic = unique("fink_cli_where_limit_ztf")
    broker.create_topics({topic: 1})
    produce(broker.bootstrap, topic, list(wire_messages(ZTF_ALERTS)), partition=0)
    records = read_alerts(ZTF_ALERTS)[1]
    bright = [i for i, r in enumerate(records) if r["candidate"]["magpsf"] < 18]
    s = {"servers": broker.bootstrap, "group": unique("g")}
    where = ["--where", "candidate.magpsf < 18"]
    code, out, err = run(capsys, "poll", "--json", "--limit", "2", *where, *base(s, topic))
    assert code == 0, err
    assert [json.loads(line)["offset"] for line in out.splitlines()] == bright[:2]
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert fetch_lag(admin, s["group"], [topic], 5).lag == len(records) - bright[1] - 1
    code, out, err = run(capsys, "poll", "--json", "--limit", "1", *where, *base(s, topic))
    assert [json.loads(line)["offset"] for line in out.splitlines()] == bright[2:3]


def test_poll_where_takes_a_saved_filter(capsys, broker) -> None:  # type: ignore[no-untyped-def]
    """--where NAME uses config.toml's [filters] NAME."""
    from fink_tui.config import search_directories

    config = search_directories().config / "config.toml"
    config.write_text(
        '[filters]\nbright = "candidate.magpsf < 18"\ntypo = "candidat.magpsf < 18"\n'
    )
    topic = unique("fink_cli_where_saved_ztf")
    broker.create_topics({topic: 1})
    produce(broker.bootstrap, topic, list(wire_messages(ZTF_ALERTS)), partition=0)
    bright = sum(r["candidate"]["magpsf"] < 18 for r in read_alerts(ZTF_ALERTS)[1])
    s = {"servers": broker.bootstrap, "group": unique("g")}
    argv = ["poll", "--json", "--idle", "1.5", "--where", "bright", *base(s, topic)]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert len(out.splitlines()) == bright
    s["group"] = unique("g")
    argv = ["poll", "--json", "--idle", "1.5", "--where", "typo", *base(s, topic)]
    code, out, err = run(capsys, *argv)
    assert code == 0 and not out
    assert "0 alerts matched --where, 31 did not (no alert's schema has candidat.magpsf)" in err


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


def test_poll_idle_counts_from_the_assignment(capsys, stream) -> None:  # type: ignore[no-untyped-def]
    """A group join slower than --idle (this broker takes half the session timeout, 3 s here)
    still prints the alerts: idle time counts from the partition assignment."""
    slow_join = ["-X", "session.timeout.ms=6000", "-X", "max.poll.interval.ms=6000"]
    argv = ["poll", "--idle", "1.5", *base(stream, stream["lsst"]), *slow_join]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert len(out.splitlines()) == 2


def test_poll_commits_at_once_when_read_to_the_end(stream) -> None:  # type: ignore[no-untyped-def]
    """With librdkafka's auto-commit an hour away, a poll that has printed every alert and
    waits for more has already committed them: read to the end, it commits at once."""
    hour = ["-X", "auto.commit.interval.ms=3600000"]
    poll = subprocess.Popen(
        [sys.executable, "-m", "fink_tui", "poll", "--idle", "120", *base(stream), *hour],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    admin = AdminClient({"bootstrap.servers": stream["servers"]})

    def committed() -> dict[tuple[str, int], int | None]:
        snapshot = fetch_lag(admin, stream["group"], [stream["ztf"], stream["lsst"]], 5)
        return {(t.topic, p.partition): p.committed for t in snapshot.topics for p in t.partitions}

    end = {(stream["ztf"], 0): 6, (stream["ztf"], 1): 4, (stream["ztf"], 2): None}
    end[(stream["lsst"], 0)] = 2
    try:
        assert wait_until(lambda: committed() == end, timeout=40)
        assert poll.poll() is None  # still polling: not the commit of its close()
    finally:
        poll.terminate()
        out, _ = poll.communicate(timeout=20)
    assert len(out.splitlines()) == 12


def test_poll_goes_on_when_an_alert_cannot_be_saved(  # type: ignore[no-untyped-def]
    capsys, stream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert whose whole record does not decode is listed (topic, partition, offset), leaves
    no file, and the others are saved; the summary counts both."""
    from fink_tui.core.decode import Alert

    whole = Alert.record

    def record(self: Alert) -> dict[str, object]:
        if self.ref.offset == 1:
            raise ValueError("bad bytes in prv_candidates\nsecond line")
        return whole(self)

    monkeypatch.setattr(Alert, "record", record)
    saved = tmp_path / "alerts"
    code, out, err = run(
        capsys, "poll", "--limit", "2", "--save", str(saved), *base(stream, stream["lsst"])
    )
    assert code == 0, err
    assert len(out.splitlines()) == 2
    assert err.splitlines() == [
        f"fink-tui: {stream['lsst']} [0] offset 1: not saved: bad bytes in prv_candidates",
        f"fink-tui: saved 1 alert to {saved} (1 could not be saved, listed above)",
    ]
    assert len(list(saved.iterdir())) == 1  # no half file, no temporary left


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
    assert code == 2 and "not set: topics" in err
    code, _, err = run(capsys, "topics")
    assert code == 2 and "not set: Kafka servers" in err and "fink_client_register" in err


def test_bad_option_and_help() -> None:
    """Bad options exit 2 with one line; --help lists the subcommands; --version works."""
    result = cli("lag", "--nope")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == ("fink-tui: unrecognized arguments: --nope (see `fink-tui --help`)\n")
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
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "librdkafka refuses session.timeout.ms" in result.stderr
    shell = subprocess.run(
        f"{sys.executable} -m fink_tui poll --limit 6 --servers {stream['servers']} "
        f"--group-id {unique('g')} --topics {stream['ztf']} {' '.join(FAST)} | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in shell.stderr


# --- Malformed configuration and flags: one line naming the culprit, exit 2, under a second ---

OK = ["--servers", "127.0.0.1:9", "--group-id", "g", "--topics", "fink_t_ztf"]
"""Complete settings (nothing listens there: a case that got past the checks would hang)."""
DEEP_JSON = "[" * 100_000 + "]" * 100_000

BAD_FLAGS: list[tuple[list[str], str]] = [
    (["lag", "--maxtimeout", "-1"], "--maxtimeout: expected a number of seconds from 0.1 to 3600"),
    (["lag", "--maxtimeout", "0"], "--maxtimeout: expected a number of seconds"),
    (["lag", "--maxtimeout", "0.01"], "--maxtimeout: expected a number of seconds"),
    (["lag", "--maxtimeout", "nan"], "--maxtimeout: expected a number of seconds"),
    (["lag", "--maxtimeout", "inf"], "--maxtimeout: expected a number of seconds"),
    (["lag", "--maxtimeout=-inf"], "--maxtimeout: expected a number of seconds"),
    (["lag", "--maxtimeout", "1e12"], "got '1e12'"),
    (["lag", "--maxtimeout", "3601"], "--maxtimeout: expected a number of seconds"),
    (["lag", "--maxtimeout", "ten"], "got 'ten'"),
    (["lag", "--maxtimeout", ""], "--maxtimeout: expected a number of seconds"),
    (["poll", "--limit", "-5"], "argument --limit: expected a whole number, 0 or more"),
    (["poll", "--where", "mag < 1x"], "--where 'mag < 1x': column 7: expected a number, got '1x'"),
    (
        ["poll", "--where", "class = SN'"],
        "--where \"class = SN'\": column 11: this 'string' is not",
    ),
    (["poll", "--limit", "1.5"], "argument --limit: expected a whole number"),
    (["poll", "--limit", "lots"], "argument --limit: expected a whole number"),
    (["poll", "--limit", "9" * 5000], "argument --limit: expected a whole number"),
    (["poll", "--idle", "-1"], "argument --idle: expected a number of seconds, 0 or more"),
    (["poll", "--idle", "nan"], "argument --idle: expected a number of seconds"),
    (["poll", "--idle", "inf"], "argument --idle: expected a number of seconds"),
    (["poll", "--idle", "soon"], "argument --idle: expected a number of seconds"),
    (["lag", "-X", "abc"], "argument -X: expected KEY=VALUE, got 'abc'"),
    (["lag", "-X", "=1"], "argument -X: expected KEY=VALUE, got '=...'"),
    (["lag", "-X", ""], "argument -X: expected KEY=VALUE"),
    (["lag", "-X", "session.timeout.ms=abc"], "-X: librdkafka refuses session.timeout.ms"),
    (["lag", "-X", "no.such.property=1"], "No such configuration property"),
    (["lag", "-X", "auto.offset.reset=bogus"], "-X: librdkafka refuses auto.offset.reset"),
    (["lag", "-X", "fetch.max.bytes=1000"], "librdkafka refuses these settings"),
    (["lag", "--servers", "5"], "--servers: expected Kafka servers as host:port"),
    (
        ["lag", "--servers", ""],
        "--servers: expected Kafka servers as host:port[,host:port...], got nothing",
    ),
    (["lag", "--servers", "host:0"], "--servers: expected a port between 1 and 65535"),
    (["lag", "--servers", "host:99999"], "--servers: expected a port between 1 and 65535"),
    (["lag", "--servers", "host:abc"], "--servers: expected Kafka servers as host:port"),
    (["lag", "--servers", "a:1,,b:2"], "--servers: expected Kafka servers as host:port"),
    (["lag", "--servers", "bad host:1"], "--servers: expected Kafka servers as host:port"),
    (["lag", "--topics", ","], "--topics: expected topic names (a list, or T1,T2), got nothing"),
    (["lag", "--topics", "a b"], "--topics: expected topic names of letters, digits and ._-"),
    (["lag", "--topics", "t" * 250], "--topics: expected topic names"),
    (["lag", "--topics", "fink_é_ztf"], "--topics: expected topic names"),
    (["lag", "--group-id", ""], "--group-id: expected a consumer group name, got nothing"),
    (["lag", "--group-id", "g\x01"], "--group-id: expected a consumer group name"),
    (["lag", "--username", "jos\udce9"], "--username: expected a user name in UTF-8"),
    (["lag", "--survey", "hst"], "argument --survey: invalid choice: 'hst'"),
    (["lag", "--config", "/nonexistent/creds.yml"], "--config /nonexistent/creds.yml: no such"),
    (["lag", "--config", "/dev/null"], "/dev/null: not a regular file"),
    (["lag", "--config", "~no_such_user_x/c.yml"], "no such user's home folder (~)"),
    (["lag", "--export", "~no_such_user_x/lag.svg"], "no such user's home folder (~)"),
    (["lag", "--nope"], "unrecognized arguments: --nope"),
    (["lag", "--export", "lag.png"], "--export lag.png: the lag screen is exported as SVG only"),
    (["lag", "--export", "lag"], "exported as SVG only: name the file *.svg (got no suffix)"),
    (["lag", "--export", "/nonexistent/dir/lag.svg"], "no folder /nonexistent/dir: create it"),
    (["reset", "--to", "earliest", "--partition", "-1"], "argument --partition: expected a whole"),
    (["reset", "--to", "earliest", "--shift", "abc"], "argument --shift: expected a whole"),
    (["reset", "--to", "earliest", "--shift", "1e99"], "argument --shift: expected a whole"),
    (["reset", "--to", "earliest", "--partition", "99999999999"], "argument --partition"),
    (["reset", "--to", "soon"], "ISO-8601"),
    (["demo", "--rate", "-1"], "argument --rate: expected a number over 0, up to 100"),
    (["demo", "--rate", "nan"], "argument --rate: expected a number over 0"),
    (["demo", "--rate", "1e9"], "argument --rate: expected a number over 0"),
    (["demo", "--duration", "-1"], "argument --duration: expected a number of seconds"),
    (["demo", "--seed", "-1"], "argument --seed: expected a whole number from 0 to 4294967295"),
]


def _run_bad(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, float]:
    import time

    started = time.monotonic()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert out == ""
    return code, err, elapsed


def _assert_one_clear_line(code: int, err: str, elapsed: float, fragment: str) -> None:
    assert code == 2, err
    assert fragment in err, err
    assert err.startswith("fink-tui") and err.count("\n") == 1, err
    assert "Traceback" not in err and elapsed < 1.0


@pytest.mark.parametrize(
    ("argv", "fragment"), BAD_FLAGS, ids=[" ".join(a)[:40] for a, _ in BAD_FLAGS]
)
def test_bad_flag_is_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    """Each malformed flag: one line naming it and what is expected, exit 2, no connection."""
    flag = argv[1] if argv[0] != "demo" else ""
    given = {flag} if flag.startswith("--") else set()
    rest = [a for i, a in enumerate(OK) if OK[i - (i % 2)] not in given]
    extra = rest if argv[0] != "demo" else []
    _assert_one_clear_line(*_run_bad(capsys, [*argv, *extra]), fragment)


LATIN1 = "username: josé\ngroupid: g\nservers: 127.0.0.1:9\n".encode("latin-1")
BAD_CREDENTIALS: list[tuple[str, bytes, str]] = [
    ("latin-1 username", LATIN1, "not UTF-8 text (byte 0xe9 on line 1): save it as UTF-8"),
    ("binary", bytes(range(256)) * 4, "a binary file, expected a fink-client credentials file"),
    ("latin-1, no NUL", b"\xff\xfe\xfa" * 10, "not UTF-8 text"),
    (
        "topics: 17",
        b"topics: 17\n",
        "topics: expected topic names (a list, or T1,T2), got the number 17",
    ),
    ("servers: 5", b"servers: 5\n", "servers: expected Kafka servers as host:port"),
    ("servers list", b"servers: [a, b]\n", "servers: expected Kafka servers as host:port"),
    ("servers date", b"servers: 2020-01-01\n", "servers: expected Kafka servers as host:port"),
    ("groupid list", b"groupid: [x]\n", "groupid: expected a consumer group name, got a list"),
    ("groupid bool", b"groupid: yes\n", "groupid: expected a consumer group name, got the boolean"),
    ("group_id float", b"group_id: 1.5\n", "group_id: expected a consumer group name"),
    ("maxtimeout -1", b"maxtimeout: -1\n", "maxtimeout: expected a number of seconds from 0.1"),
    ("maxtimeout nan", b"maxtimeout: .nan\n", "maxtimeout: expected a number of seconds"),
    ("maxtimeout inf", b"maxtimeout: .inf\n", "maxtimeout: expected a number of seconds"),
    ("maxtimeout 1e12", b"maxtimeout: 1e12\n", "maxtimeout: expected a number of seconds"),
    ("maxtimeout bool", b"maxtimeout: yes\n", "maxtimeout: expected a number of seconds"),
    ("maxtimeout text", b"maxtimeout: ten\n", "maxtimeout: expected a number of seconds"),
    (
        "password number",
        b"password: 123456\n",
        "password: expected the password as text, got a number",
    ),
    ("password list", b"password: [a]\n", "password: expected the password as text, got a list"),
    ("password binary", b"password: !!binary aGk=\n", "password: expected the password as text"),
    ("topics mapping", b"topics: {a: 1}\n", "topics: expected topic names"),
    ("mytopics bad name", b"mytopics: ['a b']\n", "mytopics: expected topic names of letters"),
    ("topics nested list", b"topics: [[a]]\n", "topics: expected each topic name as text"),
    ("username control", b'username: "a\\u0007b"\n', "username: expected a user name"),
    ("broken YAML", b"username: [unclosed\n", "not valid YAML at line"),
    ("a list", b"- a\n- b\n", "expected a mapping of fink-client keys"),
    ("a scalar", b"hello\n", "expected a mapping of fink-client keys"),
    ("empty", b"", "empty, expected fink-client's keys"),
    ("deep YAML", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    ("huge", b"# " + b"x" * 2_000_000 + b"\n", "over 1000 kB"),
]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(c, f) for _, c, f in BAD_CREDENTIALS],
    ids=[name for name, _, _ in BAD_CREDENTIALS],
)
def test_bad_credentials_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, fragment: str
) -> None:
    """Each malformed fink-client credentials file: one line naming the file and key."""
    path = tmp_path / "creds.yml"
    path.write_bytes(content)
    code, err, elapsed = _run_bad(capsys, ["lag", "--config", str(path)])
    _assert_one_clear_line(code, err, elapsed, fragment)
    assert str(path) in err


BAD_OWN_FILE: list[tuple[str, str, str]] = [
    ("maxtimeout text", 'maxtimeout = "abc"', "config.toml: maxtimeout: expected a number of"),
    ("maxtimeout nan", "maxtimeout = nan", "config.toml: maxtimeout: expected a number of"),
    ("maxtimeout inf", "maxtimeout = inf", "config.toml: maxtimeout: expected a number of"),
    ("maxtimeout huge", "maxtimeout = 1e12", "config.toml: maxtimeout: expected a number of"),
    ("kafka number", "kafka = 5", "config.toml: kafka: expected librdkafka settings (a table)"),
    ("kafka unknown", '[kafka]\n"no.such" = 1', "config.toml: kafka: librdkafka refuses no.such"),
    ("kafka nested", "[kafka]\nx = [1, 2]", "config.toml: kafka x: expected text, a number"),
    ("kafka nan", '[kafka]\n"fetch.wait.max.ms" = nan', "expected a finite number"),
    ("survey table", "lsst = 5", "config.toml: lsst: expected a table of settings ([lsst])"),
    ("unknown key", 'colour = "red"', "config.toml: unknown setting 'colour'"),
    ("topics number", "topics = 17", "config.toml: topics: expected topic names"),
    ("servers number", "servers = 5", "config.toml: servers: expected Kafka servers"),
    ("servers blank", 'servers = ""', "config.toml: servers: expected Kafka servers"),
    ("broken TOML", "group_id = ", "config.toml: not valid TOML"),
    ("survey unknown", 'survey = "hst"', "config.toml: survey: unknown survey 'hst'"),
    ("per-survey bad", "[ztf]\nmaxtimeout = -3", "config.toml [ztf]: maxtimeout: expected"),
    ("latin-1", 'group_id = "jos\xe9"', "config.toml: not UTF-8 text"),
    ("deep", "a = " + "[" * 5000 + "]" * 5000, "config.toml: not valid TOML"),
]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [(t, f) for _, t, f in BAD_OWN_FILE],
    ids=[name for name, _, _ in BAD_OWN_FILE],
)
def test_bad_own_config_is_one_line(
    capsys: pytest.CaptureFixture[str], isolated_env: Path, text: str, fragment: str
) -> None:
    """Each malformed config.toml: one line naming the file and the key."""
    path = isolated_env / "config_dir" / "config.toml"
    path.write_bytes(text.encode("latin-1"))
    _assert_one_clear_line(*_run_bad(capsys, ["lag", *OK]), fragment)


BAD_ENV: list[tuple[str, str, str]] = [
    ("FINK_TUI_MAXTIMEOUT", "abc", "FINK_TUI_MAXTIMEOUT: expected a number of seconds"),
    ("FINK_TUI_MAXTIMEOUT", "-1", "FINK_TUI_MAXTIMEOUT: expected a number of seconds"),
    ("FINK_TUI_SURVEY", "hst", "FINK_TUI_SURVEY: unknown survey 'hst'"),
    ("FINK_TUI_SERVERS", "5", "FINK_TUI_SERVERS: expected Kafka servers as host:port"),
    ("FINK_TUI_TOPICS", "a b", "FINK_TUI_TOPICS: expected topic names of letters"),
    ("FINK_TUI_PASSWORD", "pw\x1b[31m", "FINK_TUI_PASSWORD: expected the password as text"),
    ("FINK_TUI_SCHEMA", "/nonexistent.avsc", "schema file /nonexistent.avsc: no such file"),
]


@pytest.mark.parametrize(
    ("name", "value", "fragment"), BAD_ENV, ids=[f"{n}={v}" for n, v, _ in BAD_ENV]
)
def test_bad_environment_is_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    fragment: str,
) -> None:
    """Each malformed environment variable: one line naming the variable."""
    monkeypatch.setenv(name, value)
    code, err, elapsed = _run_bad(capsys, ["poll", *OK])
    _assert_one_clear_line(code, err, elapsed, fragment)
    assert "pw\x1b" not in err


BAD_SCHEMA: list[tuple[str, bytes, str]] = [
    ("binary", bytes(range(256)), "not UTF-8 text"),
    ("not JSON", b"{nope", "not JSON"),
    ("deep JSON", DEEP_JSON.encode(), "nest"),
    ("a list", b"[1, 2]", "a schema must be a JSON object"),
]


@pytest.mark.parametrize(
    ("content", "fragment"), [(c, f) for _, c, f in BAD_SCHEMA], ids=[n for n, _, _ in BAD_SCHEMA]
)
@pytest.mark.parametrize("command", [["poll"], []], ids=["poll", "app"])
def test_bad_schema_file_is_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: list[str],
    content: bytes,
    fragment: str,
) -> None:
    """A bad --schema file is one line naming it, for poll and before the app opens."""
    path = tmp_path / "s.avsc"
    path.write_bytes(content)
    code, err, elapsed = _run_bad(capsys, [*command, "--schema", str(path), *OK])
    _assert_one_clear_line(code, err, elapsed, fragment)
    assert str(path) in err


def test_export_refuses_a_folder_and_a_file_in_the_way(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--export naming a folder, or under a file, is refused; no folder is created."""
    tmp_path = tmp_path / "here"
    tmp_path.mkdir()
    (tmp_path / "x.svg").mkdir()
    (tmp_path / "file").write_text("")
    code, err, elapsed = _run_bad(capsys, ["lag", "--export", str(tmp_path / "x.svg"), *OK])
    _assert_one_clear_line(code, err, elapsed, "is a folder")
    code, err, elapsed = _run_bad(
        capsys, ["lag", "--export", str(tmp_path / "file" / "lag.svg"), *OK]
    )
    _assert_one_clear_line(code, err, elapsed, "no folder")
    code, err, elapsed = _run_bad(capsys, ["poll", "--save", str(tmp_path / "file"), *OK])
    _assert_one_clear_line(code, err, elapsed, "cannot create this folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "x.svg"]


def test_no_credentials_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    """With nothing configured, the app and `topics` print the same complete message before
    anything starts: what is missing, fink-client's registration, fink-tui's flags, the demo."""
    for argv in ([], ["topics"]):
        code, err, elapsed = _run_bad(capsys, argv)
        assert code == 2 and elapsed < 1.0 and "Traceback" not in err
        assert err.startswith("fink-tui: not set: Kafka servers")
        assert "fink_client_register -survey ztf -username USERNAME -group_id GROUP_ID" in err
        assert (
            "fink-tui --survey ztf --servers HOST:PORT --group-id GROUP_ID --topics TOPIC1,TOPIC2"
            in err
        )
        assert "finkctl auth register -survey ztf" in err
        assert "make demo" in err


def test_a_dashboard_that_never_opens_leaves_no_stream_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dashboard's stream process starts before the settings are checked; when a check
    then fails (here --last without --read-only), it is stopped with the command: one line
    on stderr, exit 2, no process left behind."""
    from fink_tui.core import pool

    started: list[subprocess.Popen[bytes]] = []
    real = pool.start_stream_process

    def recorded() -> subprocess.Popen[bytes] | None:
        process = real()
        assert process is not None
        started.append(process)
        return process

    monkeypatch.setattr(pool, "start_stream_process", recorded)
    argv = ["--servers", "127.0.0.1:9", "--group-id", "g", "--topics", "t", "--last", "5"]
    assert main(argv) == 2
    assert "--last N needs --read-only" in capsys.readouterr().err
    assert len(started) == 1 and started[0].poll() is not None
