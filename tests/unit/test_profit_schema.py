"""Unit layer: ``afas_profit.schema_mapping`` (GetConnector metainfo → JSON Schema)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from singer_sdk.singerlib import Schema

from afas_profit.metainfo import parse_get_connector
from afas_profit.schema_mapping import DELETED_AT, field_schema, schema_from_metainfo


def _metainfo_field(
    field_id: str, data_type: str, control: int = 1, label: str | None = None
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": field_id,
        "fieldId": "U001",
        "dataType": data_type,
        "length": 0,
        "controlType": control,
        "decimals": 0,
    }
    if label is not None:
        raw["label"] = label
    return raw


@pytest.mark.parametrize(
    ("data_type", "control", "expected"),
    [
        ("string", 1, {"type": ["string", "null"]}),
        ("string", 5, {"type": ["string", "null"]}),
        ("int", 1, {"type": ["integer", "null"]}),
        ("long", 1, {"type": ["integer", "null"]}),
        ("decimal", 1, {"type": ["number", "null"]}),
        ("boolean", 1, {"type": ["boolean", "null"]}),
        ("blob", 1, {"type": ["string", "null"], "contentEncoding": "base64"}),
        ("date", 4, {"type": ["string", "null"], "format": "date"}),
        ("date", 7, {"type": ["string", "null"], "format": "time"}),
        ("date", 8, {"type": ["string", "null"], "format": "date-time"}),
        ("date", 0, {"type": ["string", "null"], "format": "date-time"}),
        ("somethingnew", 1, {"type": ["string", "null"]}),
    ],
    ids=[
        "string",
        "string-code",
        "int",
        "long",
        "decimal",
        "boolean",
        "blob",
        "date-control-4",
        "time-control-7",
        "datetime-control-8",
        "date-unknown-control",
        "unknown-type-as-string",
    ],
)
def test_field_schema_per_data_type(data_type: str, control: int, expected: dict[str, Any]) -> None:
    connector = parse_get_connector(
        "C", {"fields": [_metainfo_field("F", data_type, control, "Het veld")]}
    )
    assert field_schema(connector.fields[0]) == {**expected, "description": "Het veld"}


def test_schema_from_metainfo_is_nullable_labelled_and_validates_rows() -> None:
    connector = parse_get_connector(
        "Profit_Persons",
        {
            "name": "Profit_Persons",
            "fields": [
                _metainfo_field("PersonId", "string", 5, "Nummer"),
                _metainfo_field("HouseNumber", "int", 1, "Huisnummer"),
                _metainfo_field("Balance", "decimal", 1, "Saldo"),
                _metainfo_field("Nieuwsbrief", "boolean", 1, "Nieuwsbrief"),
                _metainfo_field("Pasfoto", "blob", 1, "Pasfoto"),
                _metainfo_field("BirthDate", "date", 4, "Geboortedatum"),
                _metainfo_field("StartTime", "date", 7, "Begintijd"),
                _metainfo_field("ModifiedDate", "date", 8, "Gewijzigd op"),
                _metainfo_field("NoLabel", "string", 1),
            ],
        },
    )
    schema = schema_from_metainfo(connector)
    properties = schema["properties"]
    assert schema["type"] == "object"
    assert list(properties) == [f.id for f in connector.fields]
    assert DELETED_AT not in properties
    for field in connector.fields:
        assert "null" in properties[field.id]["type"]
        assert properties[field.id]["description"] == field.label
    assert properties["NoLabel"]["description"] == "NoLabel"
    jsonschema.validate(dict.fromkeys(properties), schema)
    jsonschema.validate(
        {
            "PersonId": "000001005",
            "HouseNumber": 12,
            "Balance": 10.25,
            "Nieuwsbrief": True,
            "Pasfoto": "iVBORw0KGgo=",
            "BirthDate": "1980-05-17",
            "StartTime": "08:30:00",
            "ModifiedDate": "2026-07-01T10:34:56+00:00",
            "NoLabel": "x",
        },
        schema,
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"HouseNumber": "twelve"}, schema)


@pytest.mark.parametrize(
    ("data_type", "decimals", "places"),
    [
        ("decimal", 2, 2),
        ("decimal", 6, 6),
        ("decimal", 0, None),
        ("int", 2, None),
    ],
    ids=["decimal-2", "decimal-6", "decimal-0-undeclared", "int-ignores-decimals"],
)
def test_decimal_fields_declare_their_places_as_an_annotation(
    data_type: str, decimals: int, places: int | None
) -> None:
    """metainfo ``decimals`` → ``x-sql-datatype-properties: {"scale": n}`` (warehouse loaders read
    it as the column's scale; singer-sdk's catalog keeps it); no ``multipleOf``, so a validator
    reading numbers as floats accepts every value."""
    raw = {**_metainfo_field("Amount", data_type, 1, "Bedrag"), "decimals": decimals}
    schema = schema_from_metainfo(parse_get_connector("C", {"fields": [raw]}))
    prop = schema["properties"]["Amount"]
    assert prop.get("x-sql-datatype-properties") == (None if places is None else {"scale": places})
    assert Schema.from_dict(prop).to_dict() == prop, "singer-sdk's catalog keeps it"
    assert "multipleOf" not in prop
    values = (1234.56, 0.07, 7, Decimal("0.07"), 19.99) if data_type == "decimal" else (7,)
    for value in values:
        jsonschema.validate({"Amount": value}, schema)


def test_with_deletes_adds_the_deleted_at_column() -> None:
    connector = parse_get_connector("C", {"fields": [_metainfo_field("Id", "int", 1, "Id")]})
    schema = schema_from_metainfo(connector, with_deletes=True)
    assert list(schema["properties"]) == ["Id", DELETED_AT]
    deleted = schema["properties"][DELETED_AT]
    assert deleted["type"] == ["string", "null"]
    assert deleted["format"] == "date-time"
