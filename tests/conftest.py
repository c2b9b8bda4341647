"""Shared fixtures: a real tansu broker on a loopback port, and a clean environment."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension

from fink_tui.demo.broker import EmbeddedBroker
from tests.helpers import FINK_DATA


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """A real Kafka-protocol broker (tansu, in memory) for the whole test session."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No developer config, credentials, theme or export folder leaks into a test."""
    for name in ("FINKCLIENT_DIR", "CONFIG_DIR", "DATA_DIR", "EXPORT_DIR"):
        (tmp_path / name.lower()).mkdir()
        monkeypatch.setenv(f"FINK_TUI_{name}", str(tmp_path / name.lower()))
    for name in (
        "SERVERS",
        "GROUP_ID",
        "TOPICS",
        "USERNAME",
        "PASSWORD",
        "SURVEY",
        "MAXTIMEOUT",
        "SCHEMA",
    ):
        monkeypatch.delenv(f"FINK_TUI_{name}", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    return tmp_path


@pytest.fixture(autouse=True)
def collectable() -> Iterator[None]:
    """What a test's app set aside from the garbage collector (gc.freeze, once its screens are
    built) is given back after the test: kept, the apps of a whole run piled up (1.5 million
    objects, 700 MB), with librdkafka clients whose threads kept the process busy, so that
    Textual's Pilot, which waits for an idle process, waited a second at every key."""
    yield
    gc.unfreeze()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not FINK_DATA.is_dir():
        raise pytest.UsageError(f"the real Fink alerts are missing: {FINK_DATA}")


def _snapshot_dirname(cls: type, *, test_location: object) -> str:
    """Keep the SVG snapshots in the top-level snapshots/ folder."""
    return str(SNAPSHOT_DIR / test_location.basename)  # type: ignore[attr-defined]


SNAPSHOT_DIR = Path(__file__).resolve().parents[1] / "snapshots"
SVGImageExtension.dirname = classmethod(_snapshot_dirname)  # type: ignore[method-assign,assignment]
