"""Reading Avro paths of alerts (``candidate.magpsf``, ``diaSource.snr``) with a reader schema
projected on just those paths: one alert (:func:`path_values`, kept on it by
:func:`carry_paths`) or a batch of one schema (:class:`PathBatches`, with the Rust reader where
it gives fastavro's values exactly). The query language (``core/query.py``) reads its paths
through these; so does a decoding process, which therefore needs neither Lark nor the query's
grammar (~4 MB and a parser built in each process)."""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import fastavro
from fastavro._read_py import schemaless_reader as python_schemaless_reader

from fink_tui.core.decode import Alert, SchemaInfo
from fink_tui.core.survey import projection

_PROJECTIONS: OrderedDict[tuple[int, tuple[str, ...]], tuple[SchemaInfo, Any]] = OrderedDict()
PROJECTIONS_SIZE = 128


def _record_of(avro_type: Any, named: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a record type, a named reference to one, or a union of null and one."""
    if isinstance(avro_type, str):
        return _record_of(named.get(avro_type), named) if avro_type in named else None
    if isinstance(avro_type, list):
        records = [r for t in avro_type if (r := _record_of(t, named)) is not None]
        return records[0] if len(records) == 1 else None
    if isinstance(avro_type, dict) and avro_type.get("type") in ("record", "error"):
        return avro_type
    return None


def _named_records(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Every named record of ``schema`` by its name (and full name)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("type") in ("record", "error") and isinstance(node.get("name"), str):
                name, space = node["name"], node.get("namespace")
                found.setdefault(name, node)
                if space:
                    found.setdefault(f"{space}.{name}", node)
            stack.extend(v for k, v in node.items() if k in ("type", "fields", "items", "values"))
    return found


def schema_paths(schema: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """The ``keep`` selection (as :func:`~fink_tui.core.survey.projection` takes it) of those
    ``paths`` that ``schema`` has; a path it lacks is left out (its value is NULL)."""
    named = _named_records(schema, {})
    keep: dict[str, Any] = {}
    for path in paths:
        record: dict[str, Any] | None = schema
        parts = path.split(".")
        target = keep
        for depth, part in enumerate(parts):
            fields = {f.get("name"): f for f in (record or {}).get("fields", ())}
            if part not in fields:
                break
            if depth == len(parts) - 1:
                target[part] = None
                break
            record = _record_of(fields[part]["type"], named)
            if record is None:
                break
            existing = target.get(part, {})
            if existing is None:  # the whole field is read already
                break
            target = target.setdefault(part, existing)
    return _prune(keep)


def _prune(keep: dict[str, Any]) -> dict[str, Any]:
    """Drop selections that ended up empty (a path that stopped half way)."""
    pruned: dict[str, Any] = {}
    for name, sub in keep.items():
        if sub is None:
            pruned[name] = None
        elif inner := _prune(sub):
            pruned[name] = inner
    return pruned


def _reader_for(info: SchemaInfo, paths: tuple[str, ...]) -> Any:
    """The parsed reader schema of ``paths`` for ``info`` (None: the schema has none of them)."""
    key = (id(info), paths)
    entry = _PROJECTIONS.get(key)
    if entry is not None and entry[0] is info:
        _PROJECTIONS.move_to_end(key)
        return entry[1]
    keep = schema_paths(info.schema, paths)
    reader = fastavro.parse_schema(projection(info.schema, keep)) if keep else None
    _PROJECTIONS[key] = (info, reader)
    if len(_PROJECTIONS) > PROJECTIONS_SIZE:
        _PROJECTIONS.popitem(last=False)
    return reader


def _walk(record: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def path_values(info: SchemaInfo, value: bytes, paths: tuple[str, ...]) -> dict[str, Any]:
    """The values of Avro ``paths`` in one alert's raw ``value`` (None where the schema lacks
    the path, or where the value does not decode), read with a reader schema of just those
    paths; nothing is read when the schema has none of them. Never raises."""
    found: dict[str, Any] = dict.fromkeys(paths)
    try:
        reader = _reader_for(info, paths)
        if reader is None:
            return found
        writer = info.parsed if info.read_parsed is None else info.read_parsed
        read = python_schemaless_reader if info.recursive else fastavro.schemaless_reader
        record = read(io.BytesIO(value), writer, reader)
    except Exception:  # a value whose summary decoded may still hold bad bytes elsewhere
        return found
    for path in paths:
        found[path] = _walk(record, path)
    return found


class PathBatches:
    """Reads the same Avro paths of many values of one schema at once (a decoding process's
    batch): with the Rust reader (``core/fastread.py``) once its first values gave exactly
    fastavro's values, bit for bit; else, and for paths it cannot read exactly (deeper than a
    record in a record, logical types, containers), with fastavro one value at a time."""

    def __init__(self) -> None:
        self._plans: OrderedDict[tuple[int, tuple[str, ...]], tuple[SchemaInfo, Any, bool]] = (
            OrderedDict()
        )
        self.fast_reads = 0
        """Values whose paths the Rust reader read (for tests and measurements)."""

    def read(
        self, info: SchemaInfo, values: list[bytes], paths: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        """Per value, what :func:`path_values` gives. Never raises."""
        try:
            return self._read(info, values, paths)
        except Exception:  # a last resort: the fast path must never cost a value
            return [path_values(info, value, paths) for value in values]

    def _read(
        self, info: SchemaInfo, values: list[bytes], paths: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        from fink_tui.core.fastread import VERIFY_COUNT, column_plan, read_columns, same_values

        key = (id(info), paths)
        entry = self._plans.get(key)
        if entry is None or entry[0] is not info:
            keep = schema_paths(info.schema, paths)
            entry = (info, column_plan(info, keep) if keep else None, False)
            self._plans[key] = entry
            if len(self._plans) > PROJECTIONS_SIZE:
                self._plans.popitem(last=False)
        _, plan, verified = entry
        if plan is None or not values:
            return [path_values(info, value, paths) for value in values]
        head = values if verified else values[:VERIFY_COUNT]
        try:
            records = read_columns(plan, info, head)
        except Exception:  # a value it refuses: fastavro names nothing, it gives NULLs
            return [path_values(info, value, paths) for value in values]
        fast = [{path: _walk(record, path) for path in paths} for record in records]
        if not verified:
            slow = [path_values(info, value, paths) for value in head]
            same = all(same_values(a, b) for a, b in zip(fast, slow, strict=True))
            self._plans[key] = (info, plan if same else None, same)
            rest = values[len(head) :]
            return slow + (self._read(info, rest, paths) if rest else [])
        self.fast_reads += len(values)
        return fast


def carry_paths(alert: Alert, paths: tuple[str, ...]) -> dict[str, Any]:
    """The values of ``paths`` in ``alert``, read once and kept on it (:attr:`Alert.fields`)."""
    fields = alert.fields
    if fields is not None and all(p in fields for p in paths):
        return fields
    missing = tuple(p for p in paths if fields is None or p not in fields)
    value = alert.value  # once: the model may let it go meanwhile (this runs off its thread)
    if value is None:  # released (an older alert): what is not known reads as null
        return {**dict.fromkeys(missing), **(fields or {})}
    read = path_values(alert.schema, value, missing)
    alert.fields = read if fields is None else {**fields, **read}
    return alert.fields
