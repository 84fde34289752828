"""Check an UpdateConnector element against ``/metainfo/update/{id}`` before anything is sent.

Finds every problem, not only the first: unknown fields and objects, mandatory fields missing
on insert (or cleared with ``""``), wrong types, strings over their length, values outside a
code table, zero in a ``notzero`` field. A record with problems is rejected without a request.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from afas_profit.update_metainfo import UpdateField, UpdateObject

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2})?")


def validate_element(meta: UpdateObject, element: Any, action: str, path: str = "") -> list[str]:
    """Problems with one element (empty when it is valid) for ``action`` on ``meta``."""
    where = f"{path}{meta.name}"
    if not isinstance(element, dict):
        return [f"{where}: the element is not an object"]
    problems: list[str] = []
    fields = element.get("Fields") or {}
    element_action = str(fields.get("@Action") or action)
    values: dict[str, Any] = {}
    for name, value in element.items():
        if name in ("Fields", "Objects"):
            continue
        spec = meta.field(name[1:]) if name.startswith("@") else None
        if spec is None:
            problems.append(f"{where}: {name} is not a field of {meta.name}")
            continue
        values[spec.field_id] = value
    for name, value in fields.items():
        if name == "@Action":
            continue
        if meta.field(name) is None:
            problems.append(f"{where}: {name} is not a field of {meta.name}")
            continue
        values[name] = value
    for name, value in values.items():
        spec = meta.field(name)
        assert spec is not None
        problems.extend(f"{where}: {p}" for p in _value_problems(spec, value))
    for spec in meta.fields:
        missing = spec.field_id not in values and element_action == "insert"
        cleared = values.get(spec.field_id) == ""
        if spec.mandatory and (missing or cleared):
            problems.append(f"{where}: {spec.field_id} ({spec.label}) is mandatory")
    for group in _objects(element.get("Objects")):
        for name, container in group.items():
            sub = meta.object(name)
            if sub is None:
                problems.append(f"{where}: {name} is not an object of {meta.name}")
                continue
            raw = container.get("Element") if isinstance(container, dict) else None
            items = raw if isinstance(raw, list) else [raw]
            for item in items:
                problems.extend(validate_element(sub, item, element_action, f"{where}."))
    return problems


def _objects(objects: Any) -> list[dict[str, Any]]:
    if objects is None:
        return []
    if isinstance(objects, dict):
        return [objects]
    return [o for o in objects if isinstance(o, dict)]


def _value_problems(spec: UpdateField, value: Any) -> list[str]:
    name = f"{spec.field_id} ({spec.label})"
    if value == "":
        return []
    kind = spec.data_type
    if kind in ("int", "long") and not (isinstance(value, int) and not isinstance(value, bool)):
        return [f"{name}: {value!r} is not an integer"]
    if kind == "decimal" and not _is_number(value):
        return [f"{name}: {value!r} is not a number"]
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{name}: {value!r} is not true or false"]
    if kind == "date" and not (
        isinstance(value, str) and (_DATE.fullmatch(value) or _TIME.fullmatch(value))
    ):
        return [f"{name}: {value!r} is not a date"]
    if kind == "blob" and not _is_base64(value):
        return [f"{name}: the file is not base64"]
    problems = []
    if kind == "string" and spec.length and len(str(value)) > spec.length:
        problems.append(f"{name}: {len(str(value))} characters, at most {spec.length} allowed")
    if spec.values is not None and _code(value) not in spec.values:
        allowed = ", ".join(spec.values[:12]) + (" …" if len(spec.values) > 12 else "")
        problems.append(f"{name}: {value!r} is not in its code table ({allowed})")
    if (
        spec.notzero
        and kind in ("int", "long", "decimal")
        and _is_number(value)
        and Decimal(str(value)) == 0
    ):
        problems.append(f"{name}: may not be zero")
    return problems


def _code(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        Decimal(str(value))
    except InvalidOperation:
        return False
    return True


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
