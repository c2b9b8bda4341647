"""Everything fink-tui writes to disk: saved alerts, schema dumps, failed messages, lag tables.

One module that the headless commands and the screens both call. Every file is written
atomically (a temporary file in the same folder, then a rename), so a kill or a full disk
leaves either the old file or the new one, never half of one; files that can hold a
credential (crash logs) are written readable by their owner only.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import fastavro

from fink_tui.core.decode import Alert, DecodeFailure, SchemaInfo
from fink_tui.core.errors import UsageError
from fink_tui.core.lag import LagSnapshot

PRIVATE = 0o600
"""Mode of files that may hold a credential (crash logs)."""
SHARED = 0o644
"""Mode of data files (alerts, schemas, exports)."""


def safe_name(text: str, fallback: str = "alert") -> str:
    """``text`` with anything but letters, digits and ``_.+-`` replaced, usable as a file name."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text) or fallback


def ensure_dir(path: str | Path) -> Path:
    """Make a folder (and its parents), with a clear error if it cannot be made."""
    try:
        folder = Path(path).expanduser()
    except RuntimeError as exc:  # an unknown ~user
        raise UsageError(f"{path}: {exc}") from exc
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot create this folder ({exc.strerror})") from exc
    return folder


def write_atomic(path: Path, data: bytes, mode: int = SHARED) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: all or nothing."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: Path, text: str, mode: int = SHARED) -> Path:
    """:func:`write_atomic` for text (UTF-8)."""
    return write_atomic(path, text.encode("utf-8"), mode)


def alert_file_name(alert: Alert) -> str:
    """``<objectId>_<sourceId>_<topic>.avro``: the same alert on two topics is two files."""
    s = alert.summary
    topic = safe_name(alert.ref.topic)
    if s.object_id:
        return f"{safe_name(s.object_id)}_{safe_name(s.source_id)}_{topic}.avro"
    return f"{topic}_{alert.ref.partition}_{alert.ref.offset}.avro"


def save_alert(alert: Alert, folder: Path) -> Path:
    """Write the alert as an Avro container file carrying its schema (atomically)."""
    buffer = io.BytesIO()
    fastavro.writer(buffer, alert.schema.parsed, [alert.record()])
    return write_atomic(folder / alert_file_name(alert), buffer.getvalue())


SCHEMA_VERSION_FIELDS = {"schemavsn": "schemavsn-", "lsst_schema_version": ""}
"""The alert fields that say which version of the alert schema a message carries, and how a
file name shows them (LSST's value names itself: ``lsst.v10_0``)."""


def schema_file_name(
    schema: SchemaInfo, topic: str | None = None, versions: tuple[tuple[str, str], ...] = ()
) -> str:
    """``<topic>_<schema version>_<fingerprint>.avsc``, from the topic the schema came on and
    the alert's schema version field: ``fink_kn_ztf_schemavsn-4.02_0123456789abcdef.avsc``,
    ``fink_sn_like_lsst_lsst.v10_0_0123456789abcdef.avsc``; ``<record name>_<fingerprint>.avsc``
    for a schema met on no topic (a forced one)."""
    if topic is None:
        return f"{safe_name(schema.name)}_{schema.fingerprint}.avsc"
    parts = [safe_name(topic, "topic")]
    parts += [
        safe_name(SCHEMA_VERSION_FIELDS[k] + v) for k, v in versions if k in SCHEMA_VERSION_FIELDS
    ]
    return "_".join([*parts, schema.fingerprint]) + ".avsc"


def dump_schema(
    schema: SchemaInfo,
    folder: Path,
    topic: str | None = None,
    versions: tuple[tuple[str, str], ...] = (),
) -> Path:
    """Write a schema as JSON, named by :func:`schema_file_name`; an existing complete file
    is kept (it has the same content)."""
    path = folder / schema_file_name(schema, topic, versions)
    text = json.dumps(schema.schema, indent=2)
    if not (path.exists() and path.stat().st_size == len(text.encode("utf-8"))):
        write_text_atomic(path, text)
    return path


def dump_failure(failure: DecodeFailure, folder: Path) -> list[Path]:
    """Write a failed message's key and value (what a bug report needs), as they arrived."""
    r = failure.ref
    stem = f"{safe_name(r.topic)}_{r.partition}_{r.offset}"
    paths = []
    if failure.key is not None:
        paths.append(write_atomic(folder / f"{stem}_key.json", failure.key))
    if failure.value is not None:
        paths.append(write_atomic(folder / f"{stem}_value.avro", failure.value))
    return paths


def export_stem(snapshot: LagSnapshot) -> str:
    """``lag_<group>_<UTC time>``, safe as a file name."""
    when = datetime.fromtimestamp(snapshot.taken_at, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"lag_{safe_name(snapshot.group, 'group')}_{when}"


def write_table_files(snapshot: LagSnapshot, folder: Path, stem: str) -> list[Path]:
    """The CSV and JSON forms of the lag table (same figures as ``fink-tui lag --json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = io.StringIO(newline="")
    csv.writer(rows).writerows(snapshot.to_csv_rows())
    return [
        write_text_atomic(folder / f"{stem}.csv", rows.getvalue()),
        write_text_atomic(folder / f"{stem}.json", snapshot.to_json() + "\n"),
    ]


def write_private(path: Path, text: str) -> Path:
    """Write a file only its owner can read (it may quote a credential), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text, PRIVATE)
