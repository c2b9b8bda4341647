"""Where two Avro schemas differ: fields added, removed, or of another type, by path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One difference; ``path`` is dotted (``candidate.magpsf``)."""

    kind: str
    """``added`` (only in the new schema), ``removed`` (only in the old) or ``changed``."""
    path: str
    old: str = ""
    new: str = ""


def type_name(avro_type: Any) -> str:
    """A short readable form of an Avro type: ``long``, ``null|string``, ``array<record X>``."""
    if isinstance(avro_type, str):
        return avro_type
    if isinstance(avro_type, list):
        return "|".join(type_name(t) for t in avro_type)
    if isinstance(avro_type, dict):
        kind = avro_type.get("type")
        if kind == "array":
            return f"array<{type_name(avro_type.get('items'))}>"
        if kind == "map":
            return f"map<{type_name(avro_type.get('values'))}>"
        if kind in ("record", "enum", "fixed"):
            return f"{kind} {avro_type.get('name', '')}".strip()
        if avro_type.get("logicalType"):
            return f"{kind}:{avro_type['logicalType']}"
        return type_name(kind)
    return str(avro_type)


def records_in(avro_type: Any) -> list[dict[str, Any]]:
    """The record definitions directly inside a field type (through unions and arrays)."""
    if isinstance(avro_type, list):
        return [r for t in avro_type for r in records_in(t)]
    if isinstance(avro_type, dict):
        if avro_type.get("type") == "record":
            return [avro_type]
        if avro_type.get("type") == "array":
            return records_in(avro_type.get("items"))
        if avro_type.get("type") == "map":
            return records_in(avro_type.get("values"))
    return []


def flatten(schema: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every field path of a record schema with its type name."""
    out: dict[str, str] = {}
    for field in schema.get("fields", ()):
        path = f"{prefix}{field['name']}"
        out[path] = type_name(field["type"])
        for record in records_in(field["type"]):
            out.update(flatten(record, path + "."))
    return out


def schema_diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """What changes from ``old`` to ``new``, in field order."""
    a, b = flatten(old), flatten(new)
    changes = [FieldChange("removed", p, a[p]) for p in a if p not in b]
    changes += [FieldChange("added", p, "", b[p]) for p in b if p not in a]
    changes += [FieldChange("changed", p, a[p], b[p]) for p in a if p in b and a[p] != b[p]]
    return changes
