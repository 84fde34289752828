"""Connector definitions: the contract the sandbox serves, as plain frozen data.

A dataset describes its GetConnectors (views over SQLite tables) and UpdateConnectors (nested
objects with AFAS field metadata) with these classes. They render themselves as AFAS metainfo
JSON, with AFAS's own spellings: ``decimalsFieldId`` on GetConnector fields, ``decimalFieldId``
and ``notzero`` on UpdateConnector fields (afas-rest-api.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DataType = Literal["string", "int", "decimal", "date", "boolean", "blob"]

# controlType codes seen in AFAS metainfo: 1 plain text, 5 key/code field,
# and for dataType "date": 4 date, 7 time, 8 date-time (afas-rest-api.md section 4).
CONTROL_TEXT = 1
CONTROL_DATE = 4
CONTROL_CODE = 5
CONTROL_TIME = 7
CONTROL_DATETIME = 8


@dataclass(frozen=True, slots=True)
class GetField:
    """One GetConnector field: its output id, AFAS metadata and the SQL that stores it."""

    id: str
    field_id: str
    data_type: DataType
    label: str
    column: str
    length: int = 0
    control_type: int = CONTROL_TEXT
    decimals: int = 0
    decimals_field_id: str = ""

    def metainfo(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fieldId": self.field_id,
            "dataType": self.data_type,
            "label": self.label,
            "length": self.length,
            "controlType": self.control_type,
            "decimals": self.decimals,
            "decimalsFieldId": self.decimals_field_id,
        }


@dataclass(frozen=True, slots=True)
class GetConnectorDef:
    """A GetConnector: a named view (``source`` is a SQL FROM clause) with typed output fields.

    ``entity`` names the table whose rows the world-mover inserts, updates and deletes when a test
    asks to change this connector's data; ``None`` for connectors that cannot change.
    """

    id: str
    description: str
    source: str
    fields: tuple[GetField, ...]
    entity: str | None = None

    def field(self, field_id: str) -> GetField | None:
        for f in self.fields:
            if f.id.lower() == field_id.lower():
                return f
        return None

    def metainfo(self) -> dict[str, Any]:
        return {
            "name": self.id,
            "description": self.description,
            "fields": [f.metainfo() for f in self.fields],
        }


@dataclass(frozen=True, slots=True)
class UpdateField:
    """One UpdateConnector field with the metadata AFAS validates against."""

    field_id: str
    data_type: DataType
    label: str
    primary_key: bool = False
    mandatory: bool = False
    length: int = 0
    decimals: int = 0
    decimal_field_id: str = ""
    notzero: bool = False
    control_type: int = CONTROL_TEXT
    values: tuple[tuple[str, str], ...] | None = None

    def metainfo(self) -> dict[str, Any]:
        return {
            "fieldId": self.field_id,
            "primaryKey": self.primary_key,
            "dataType": self.data_type,
            "label": self.label,
            "mandatory": self.mandatory,
            "length": self.length,
            "decimals": self.decimals,
            "decimalFieldId": self.decimal_field_id,
            "notzero": self.notzero,
            "controlType": self.control_type,
            "values": (
                None
                if self.values is None
                else [{"id": code, "description": text} for code, text in self.values]
            ),
        }


@dataclass(frozen=True, slots=True)
class UpdateObjectDef:
    """An UpdateConnector object (the root or a nested one) with its fields and sub-objects."""

    name: str
    fields: tuple[UpdateField, ...]
    objects: tuple[UpdateObjectDef, ...] = ()
    description: str = ""

    def field(self, field_id: str) -> UpdateField | None:
        for f in self.fields:
            if f.field_id == field_id:
                return f
        return None

    def object(self, name: str) -> UpdateObjectDef | None:
        for o in self.objects:
            if o.name == name:
                return o
        return None

    @property
    def key_fields(self) -> tuple[UpdateField, ...]:
        return tuple(f for f in self.fields if f.primary_key)

    def metainfo(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fields": [f.metainfo() for f in self.fields],
            "objects": [o.metainfo() for o in self.objects],
        }


@dataclass(frozen=True, slots=True)
class UpdateConnectorDef:
    """An UpdateConnector: the URL id, its root object and the HTTP verbs it accepts."""

    id: str
    description: str
    root: UpdateObjectDef
    verbs: frozenset[str] = field(default_factory=lambda: frozenset({"POST", "PUT", "DELETE"}))

    def metainfo(self) -> dict[str, Any]:
        # The name is the root object's name (AfasEmployee for KnEmployee), which is what a
        # client needs to build the payload's root key.
        return {
            "name": self.root.name,
            "description": self.description,
            "fields": [f.metainfo() for f in self.root.fields],
            "objects": [o.metainfo() for o in self.root.objects],
        }
