"""Singer messages for a target's input, written as text, and a plugin's output read back.

- ``record_message`` / ``state_message`` / ``schema_message`` (explicit properties) and
  ``stream_messages`` (SCHEMA + RECORDs; the properties given, or ``inferred_properties``:
  the union of the JSON types the records use, so a test can send a value of the "wrong" type
  without singer-sdk refusing it first).
- ``singer_text`` / ``singer_bytes``: messages as JSON lines, ``Decimal`` values as JSON
  *numbers* carrying every digit (msgspec, ``decimal_format="number"``); ``str`` items are
  ready-made lines (for numbers spelled a particular way, e.g. ``1e-5``, or broken JSON) and,
  in ``singer_bytes``, ``bytes`` items raw lines (e.g. not UTF-8).
- ``parse_messages`` (a tap's stdout, numbers as ``Decimal``) and ``json_lines`` (a target's
  stdout: one STATE value a line).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

Message = dict[str, Any]
Line = Message | str  # a message, or a ready-made JSON line

DELETED_AT = "_sdc_deleted_at"  # Singer's mark of a deleted record
# Property specs for ``schema_message``.
INTEGER: dict[str, Any] = {"type": "integer"}
NULLABLE_INTEGER: dict[str, Any] = {"type": ["integer", "null"]}
NUMBER: dict[str, Any] = {"type": ["number", "null"]}
STRING: dict[str, Any] = {"type": ["string", "null"]}
DATE: dict[str, Any] = {"type": ["string", "null"], "format": "date"}
TIME: dict[str, Any] = {"type": ["string", "null"], "format": "time"}
DATE_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_TYPE_ORDER = ["object", "array", "string", "integer", "number", "boolean"]


def record_message(stream: str, record: Mapping[str, Any]) -> Message:
    return {"type": "RECORD", "stream": stream, "record": dict(record)}


def state_message(value: Mapping[str, Any]) -> Message:
    return {"type": "STATE", "value": dict(value)}


def schema_message(
    stream: str, properties: Mapping[str, Mapping[str, Any]], keys: Sequence[str] = ()
) -> Message:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": {k: dict(v) for k, v in properties.items()}},
        "key_properties": list(keys),
    }


def _json_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, (float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"no JSON type for {value!r}")


def inferred_properties(
    records: Iterable[Mapping[str, Any]], formats: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Properties whose types are the union of the types the records use (all nullable)."""
    types: dict[str, set[str]] = {}
    for record in records:
        for name, value in record.items():
            kind = _json_type(value)
            types.setdefault(name, set())
            if kind is not None:
                types[name].add(kind)
    properties: dict[str, dict[str, Any]] = {}
    for name, kinds in types.items():
        chosen = sorted(kinds or {"string"}, key=_TYPE_ORDER.index)
        if "integer" in chosen and "number" in chosen:
            chosen.remove("integer")
        spec: dict[str, Any] = {"type": [*chosen, "null"]}
        if "array" in chosen:
            spec["items"] = {}
        if formats and name in formats:
            spec["format"] = formats[name]
        properties[name] = spec
    return properties


def stream_messages(
    stream: str,
    records: Sequence[Mapping[str, Any]],
    keys: Sequence[str] = (),
    *,
    properties: Mapping[str, Mapping[str, Any]] | None = None,
    formats: Mapping[str, str] | None = None,
) -> list[Message]:
    """SCHEMA (``properties``, else inferred from the records) then one RECORD per record."""
    if properties is None:
        properties = inferred_properties(records, formats)
    return [
        schema_message(stream, properties, keys),
        *(record_message(stream, r) for r in records),
    ]


def _encoded(line: Line | bytes) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8")
    return _ENCODER.encode(line)


def singer_bytes(lines: Iterable[Line | bytes]) -> bytes:
    """The lines as a target reads them (``bytes`` items are written as they are)."""
    return b"".join(_encoded(line) + b"\n" for line in lines)


def singer_text(lines: Iterable[Line]) -> str:
    return singer_bytes(lines).decode("utf-8")


def parse_messages(text: str) -> list[Message]:
    """Singer messages from a tap's stdout (numbers as ``Decimal``, exact)."""
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


def json_lines(text: str) -> list[Any]:
    """One JSON value a non-empty line (the STATE values a target writes to stdout)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
