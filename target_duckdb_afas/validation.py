"""Record validation with fastjsonschema (compiled once per schema; the SDK's suggested swap).

The SDK's default validator (jsonschema) costs about twice the rest of a load per record; the
same checks compiled by fastjsonschema cost a fraction. Formats are checked only when the SDK
asks for it (``validate_field_string_format``), as with its default validator.

``multipleOf`` is left to the load: fastjsonschema divides by it as a float, which fails on the
``Decimal`` values records carry (and would misjudge 1.15 against 0.01). The load keeps the
places it declares exactly (a DECIMAL(38, places) column; a value with more places stops the
load, see rows.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fastjsonschema
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator


class CompiledValidator(BaseJSONSchemaValidator):
    def __init__(self, schema: dict[str, Any], *, check_formats: bool) -> None:
        super().__init__(schema)
        try:
            self._check = fastjsonschema.compile(
                without_multiple_of(schema), use_formats=check_formats
            )
        except fastjsonschema.JsonSchemaDefinitionException as error:
            raise InvalidJSONSchema(f"Schema Validation Error: {error}") from error

    def validate(self, record: dict[str, Any]) -> None:
        try:
            self._check(record)
        except fastjsonschema.JsonSchemaValueException as error:
            raise InvalidRecord(
                f"Record Message Validation Error: {error.message}", record
            ) from error


def without_multiple_of(schema: Any) -> Any:
    """A copy of ``schema`` without ``multipleOf`` keywords, at any depth (a property named
    ``multipleOf`` has a schema, not a number, as its value and stays)."""
    if isinstance(schema, Mapping):
        return {
            k: without_multiple_of(v)
            for k, v in schema.items()
            if k != "multipleOf" or isinstance(v, Mapping)
        }
    if isinstance(schema, list):
        return [without_multiple_of(item) for item in schema]
    return schema
