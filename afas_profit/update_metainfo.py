"""``/metainfo/update/{id}`` parsed into a typed tree of objects and fields.

Spellings differ from GetConnector metainfo: ``decimalFieldId`` and ``notzero``; ``values`` is
null or a code table; ``objects`` nest (afas-rest-api.md section 4). The document's ``name`` is
the root object name, which can differ from the connector id (KnEmployee → AfasEmployee).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from afas_profit.errors import AFASRequestError


@dataclass(frozen=True, slots=True)
class UpdateField:
    field_id: str
    data_type: str
    label: str
    primary_key: bool
    mandatory: bool
    length: int
    decimals: int
    notzero: bool
    control_type: int
    values: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class UpdateObject:
    name: str
    fields: tuple[UpdateField, ...]
    objects: tuple[UpdateObject, ...]

    def field(self, field_id: str) -> UpdateField | None:
        for f in self.fields:
            if f.field_id == field_id:
                return f
        return None

    def object(self, name: str) -> UpdateObject | None:
        for o in self.objects:
            if o.name == name:
                return o
        return None


@dataclass(frozen=True, slots=True)
class UpdateConnectorInfo:
    connector_id: str
    root: UpdateObject


def _field(raw: dict[str, Any]) -> UpdateField:
    values = raw.get("values")
    codes = (
        tuple(str(v.get("id")) for v in values if isinstance(v, dict))
        if isinstance(values, list)
        else None
    )
    return UpdateField(
        field_id=str(raw.get("fieldId") or ""),
        data_type=str(raw.get("dataType") or "string"),
        label=str(raw.get("label") or raw.get("fieldId") or ""),
        primary_key=bool(raw.get("primaryKey")),
        mandatory=bool(raw.get("mandatory")),
        length=int(raw.get("length") or 0),
        decimals=int(raw.get("decimals") or 0),
        notzero=bool(raw.get("notzero")),
        control_type=int(raw.get("controlType") or 0),
        values=codes,
    )


def _object(raw: dict[str, Any]) -> UpdateObject:
    fields = raw.get("fields") if isinstance(raw.get("fields"), list) else []
    objects = raw.get("objects") if isinstance(raw.get("objects"), list) else []
    return UpdateObject(
        name=str(raw.get("name") or ""),
        fields=tuple(_field(f) for f in fields or [] if isinstance(f, dict)),
        objects=tuple(_object(o) for o in objects or [] if isinstance(o, dict)),
    )


def parse_update_connector(connector_id: str, document: Any) -> UpdateConnectorInfo:
    if not isinstance(document, dict) or not isinstance(document.get("fields"), list):
        raise AFASRequestError(f"/metainfo/update/{connector_id} has no 'fields' list")
    root = _object(document)
    if not root.name:
        root = UpdateObject(connector_id, root.fields, root.objects)
    return UpdateConnectorInfo(connector_id=connector_id, root=root)
