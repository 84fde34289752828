"""GetConnector metainfo → JSON Schema, through one table of AFAS data types.

Dates become ``format: date``, times ``format: time`` and datetimes ``format: date-time``
(controlType 4 / 7 / 8, afas-rest-api.md section 4); decimals are numbers (records carry them as
``Decimal``, so money keeps every digit) with the places metainfo declares as the annotation
``x-sql-datatype-properties: {"scale": 2}`` (``decimals: 2``; singer-sdk keeps this key in
catalogs, SQL targets that do not know it ignore it, target-duckdb-afas types the column
``DECIMAL(38, 2)`` from it). Not ``multipleOf``: validators that read numbers as floats
(singer-sdk's own test harness, many non-SDK targets) cannot divide by 0.01 exactly and refuse
good values. A decimal field that declares 0 places gets none: loaders then use their own
default scale. Blobs are base64 strings. Every field is nullable: AFAS sends ``null`` for empty
values.
"""

from __future__ import annotations

from typing import Any

from afas_profit.metainfo import GetConnectorInfo, GetField

SQL_TYPE_PROPERTIES = "x-sql-datatype-properties"  # singer-sdk's annotation, kept in catalogs

DELETED_AT = "_sdc_deleted_at"

TYPE_TABLE: dict[str, dict[str, Any]] = {
    "string": {"type": ["string", "null"]},
    "int": {"type": ["integer", "null"]},
    "long": {"type": ["integer", "null"]},
    "decimal": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "blob": {"type": ["string", "null"], "contentEncoding": "base64"},
    "date": {"type": ["string", "null"], "format": "date-time"},
}


def field_schema(field: GetField) -> dict[str, Any]:
    schema = dict(TYPE_TABLE.get(field.data_type, TYPE_TABLE["string"]))
    if field.is_date:
        schema["format"] = "date"
    elif field.is_time:
        schema["format"] = "time"
    if field.data_type == "decimal" and field.decimals > 0:
        schema[SQL_TYPE_PROPERTIES] = {"scale": field.decimals}
    schema["description"] = field.label
    return schema


def schema_from_metainfo(
    connector: GetConnectorInfo, *, with_deletes: bool = False
) -> dict[str, Any]:
    """The JSON Schema of a GetConnector's records."""
    properties = {f.id: field_schema(f) for f in connector.fields}
    if with_deletes:
        properties[DELETED_AT] = {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the row was deleted in AFAS (null for rows that exist).",
        }
    return {"type": "object", "properties": properties}
