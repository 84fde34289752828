"""UpdateConnector payloads built from records: pure functions over plain dicts.

A mapping says which record properties become which AFAS fields of which object:
``{"fields": {AFAS field id: record property}, "constants": {...}, "defaults": {...},
"objects": {SubObject: {...}}}``; a sub-object takes the parent record's properties, or with
``"from": property`` an object (one element) or an array (one element per item, e.g. FiEntries
lines). Without ``fields`` every record property named like a field of the object is taken.

The element puts primary-key fields as ``@Field`` attributes and everything else in
``Fields`` (afas-rest-api.md section 6.2). Values are coerced to what AFAS accepts: dates as
``YYYY-MM-DD``, date-times as local ``YYYY-MM-DDTHH:MM:SS``, decimals as exact strings,
booleans as JSON booleans; ``""`` clears a field; ``None`` is left out (or clears, with
``null_means_clear``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.errors import AFASConfigError
from afas_profit.update_metainfo import UpdateField, UpdateObject

CONTROL_DATETIME = 8
CONTROL_TIME = 7
_INT = re.compile(r"[+-]?\d+")


class PayloadError(ValueError):
    """A record value that cannot become the AFAS field's type; the record is rejected."""


@dataclass(frozen=True)
class ObjectMapping:
    """How one AFAS object (root or nested) is filled from a record."""

    name: str
    fields: Mapping[str, str] | None = None
    constants: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    objects: tuple[ObjectMapping, ...] = ()
    source: str | None = None
    action: str | None = None

    @classmethod
    def from_setting(cls, name: str, value: Mapping[str, Any], where: str) -> ObjectMapping:
        fields = value.get("fields")
        if fields is not None and not isinstance(fields, dict):
            raise AFASConfigError(f"{where}: 'fields' must map AFAS field ids to properties.")
        objects = value.get("objects") or {}
        if not isinstance(objects, dict):
            raise AFASConfigError(f"{where}: 'objects' must map object names to mappings.")
        action = value.get("action")
        if action is not None and action not in ("insert", "update", "delete"):
            raise AFASConfigError(f"{where}: action {action!r} is not insert, update or delete.")
        return cls(
            name=name,
            fields=dict(fields) if fields is not None else None,
            constants=dict(value.get("constants") or {}),
            defaults=dict(value.get("defaults") or {}),
            objects=tuple(
                cls.from_setting(sub, spec, f"{where}.objects.{sub}")
                for sub, spec in objects.items()
            ),
            source=value.get("from"),
            action=action,
        )

    def check_against(self, meta: UpdateObject, where: str) -> None:
        """Refuse a mapping that names fields or objects the UpdateConnector does not have."""
        named = [*(self.fields or {}), *self.constants, *self.defaults]
        unknown = [f for f in named if meta.field(f) is None]
        if unknown:
            raise AFASConfigError(
                f"{where}: {', '.join(unknown)} not a field of {meta.name}; its fields are "
                f"{', '.join(f.field_id for f in meta.fields)}."
            )
        for sub in self.objects:
            sub_meta = meta.object(sub.name)
            if sub_meta is None:
                raise AFASConfigError(
                    f"{where}: {sub.name!r} is not an object of {meta.name}; its objects are "
                    f"{', '.join(o.name for o in meta.objects) or '(none)'}."
                )
            sub.check_against(sub_meta, f"{where}.objects.{sub.name}")


def build_element(
    meta: UpdateObject,
    mapping: ObjectMapping,
    record: Mapping[str, Any],
    *,
    zone: ZoneInfo,
    null_means_clear: bool = False,
) -> dict[str, Any]:
    """One AFAS ``Element`` for a record (raises PayloadError for a value of the wrong type)."""
    attributes: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for afas_field, value in _values(meta, mapping, record, null_means_clear).items():
        spec = meta.field(afas_field)
        assert spec is not None, "mappings are checked against metainfo"
        coerced = coerce(spec, value, zone)
        if spec.primary_key:
            attributes[f"@{afas_field}"] = coerced
        else:
            fields[afas_field] = coerced
    if mapping.action:
        fields["@Action"] = mapping.action
    element: dict[str, Any] = dict(attributes)
    if fields:
        element["Fields"] = fields
    objects = []
    for sub in mapping.objects:
        sub_meta = meta.object(sub.name)
        assert sub_meta is not None, "mappings are checked against metainfo"
        items, many = _sub_records(sub, record)
        built = [
            build_element(sub_meta, sub, item, zone=zone, null_means_clear=null_means_clear)
            for item in items
        ]
        built = [b for b in built if b]
        if built:
            objects.append({sub.name: {"Element": built if many else built[0]}})
    if objects:
        element["Objects"] = objects
    return element


def _sub_records(
    mapping: ObjectMapping, record: Mapping[str, Any]
) -> tuple[list[Mapping[str, Any]], bool]:
    """The records a sub-object is built from, and whether they came from an array."""
    if mapping.source is None:
        return [record], False
    value = record.get(mapping.source)
    if value is None:
        return [], False
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise PayloadError(f"property {mapping.source!r} is not an object or array") from None
    if isinstance(value, dict):
        return [value], False
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value, True
    raise PayloadError(f"property {mapping.source!r} is not an object or an array of objects")


def _values(
    meta: UpdateObject, mapping: ObjectMapping, record: Mapping[str, Any], null_means_clear: bool
) -> dict[str, Any]:
    if mapping.fields is None:
        pairs = {f.field_id: f.field_id for f in meta.fields if f.field_id in record}
    else:
        pairs = dict(mapping.fields)
    values: dict[str, Any] = {}
    for afas_field, prop in pairs.items():
        if prop not in record:
            continue
        value = record[prop]
        if value is None:
            if null_means_clear:
                values[afas_field] = ""
            continue
        values[afas_field] = value
    for afas_field, value in mapping.defaults.items():
        values.setdefault(afas_field, value)
    values.update(mapping.constants)
    return values


def coerce(spec: UpdateField, value: Any, zone: ZoneInfo) -> Any:
    """A record value in the form AFAS accepts for this field."""
    if value == "" or value is None:
        return ""
    kind = spec.data_type
    try:
        if kind in ("int", "long"):
            return _int(value)
        if kind == "decimal":
            return _decimal(value)
        if kind == "boolean":
            return _bool(value)
        if kind == "date":
            return _date(spec, value, zone)
    except (ValueError, TypeError, InvalidOperation):
        raise PayloadError(
            f"{spec.field_id} ({spec.label}): {str(value)[:40]!r} is not a valid {kind}"
        ) from None
    if isinstance(value, (dict, list)):
        raise PayloadError(f"{spec.field_id} ({spec.label}): expected a single value")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, str) else value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value)
    raise ValueError("not an integer")


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("boolean")
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError("not finite")
    return format(number, "f")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "ja"):
        return True
    if text in ("false", "0", "no", "nee"):
        return False
    raise ValueError("not a boolean")


def _date(spec: UpdateField, value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value.isoformat()
    else:
        text = str(value).strip()
        if spec.control_type == CONTROL_TIME and len(text) <= 8:
            return text
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    if spec.control_type == CONTROL_DATETIME:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if spec.control_type == CONTROL_TIME:
        return moment.strftime("%H:%M:%S")
    return moment.date().isoformat()


def payload(root: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    """The request body: one element as an object, several as an array."""
    return {root: {"Element": elements[0] if len(elements) == 1 else elements}}
