"""DuckDB column types: the type a property asks for, and what an existing column becomes.

Types are compared as DuckDB spells them in ``information_schema.columns`` (``DECIMAL(38,2)``,
``TIMESTAMP WITH TIME ZONE``, ``VARCHAR``), so one reflection query per table answers every
column. An existing column is never narrowed: it keeps its type when that type holds the
property's values, and is widened (``ALTER COLUMN ... TYPE``) when it does not:

| existing column             | the property asks for      | the column becomes        |
|-----------------------------|----------------------------|---------------------------|
| the same type, or VARCHAR   | anything                   | unchanged                 |
| an integer type             | DECIMAL(38, p)             | DECIMAL(38, p)            |
| DECIMAL(38, s)              | DECIMAL(38, p), p > s      | DECIMAL(38, p)            |
| DECIMAL(38, s)              | DECIMAL(38, p ≤ s), BIGINT | unchanged                 |
| a narrower integer type     | BIGINT                     | BIGINT                    |
| TIMESTAMP (no zone, UTC)    | TIMESTAMP WITH TIME ZONE   | TIMESTAMP WITH TIME ZONE  |
| TIMESTAMP WITH TIME ZONE    | TIMESTAMP                  | unchanged                 |
| any other pair              |                            | VARCHAR (holds both)      |

(``TIMESTAMP`` columns are what earlier versions of this loader wrote: UTC without a zone. The
loader's sessions run in UTC, so the conversion keeps every instant.)
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from typing import Any

DECIMAL_PRECISION = 38  # DuckDB's widest DECIMAL
SQL_TYPE_PROPERTIES = "x-sql-datatype-properties"  # {"scale": places}: what tap-afas writes
TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
VARCHAR = "VARCHAR"
INTEGER_WIDTHS = {"TINYINT": 1, "SMALLINT": 2, "INTEGER": 4, "BIGINT": 8, "HUGEINT": 16}
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),(\d+)\)$")


def declared_places(property_schema: Mapping[str, Any]) -> int | None:
    """The decimal places a number property's schema declares: the annotation
    ``x-sql-datatype-properties: {"scale": p}`` (tap-afas states AFAS's ``decimals`` so), else
    ``multipleOf``.

    A multiple of 0.01 (or of 0.25) has at most 2 places, a multiple of 5 none. ``None`` when
    the schema declares neither, or no usable number, or more places than a DECIMAL(38, scale)
    column can keep. (In an ``anyOf``, the first option's that has one, as the SDK types a
    column by its first typed option.)
    """
    annotation = property_schema.get(SQL_TYPE_PROPERTIES)
    places = annotation.get("scale") if isinstance(annotation, Mapping) else None
    if isinstance(places, int) and not isinstance(places, bool):
        return places if 0 <= places < DECIMAL_PRECISION else None
    if "multipleOf" not in property_schema:
        for option in property_schema.get("anyOf", ()):
            if isinstance(option, Mapping) and (
                "multipleOf" in option or SQL_TYPE_PROPERTIES in option
            ):
                return declared_places(option)
        return None
    multiple = property_schema.get("multipleOf")
    if isinstance(multiple, bool) or not isinstance(multiple, (int, float, decimal.Decimal)):
        return None
    try:
        number = decimal.Decimal(str(multiple))
    except decimal.InvalidOperation:
        return None
    if not number.is_finite() or number <= 0:
        return None
    exponent = number.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    places = max(0, -exponent)
    return places if places < DECIMAL_PRECISION else None


def normalized(type_name: str) -> str:
    """A type as information_schema spells it (``DECIMAL(38, 2)`` → ``DECIMAL(38,2)``)."""
    text = " ".join(type_name.upper().split()).replace(", ", ",")
    text = text.replace(" WITHOUT TIME ZONE", "")
    if text in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return TIMESTAMPTZ
    if text.startswith(("VARCHAR(", "CHARACTER VARYING", "TEXT", "STRING")):
        return VARCHAR
    return text


def decimal_scale(type_name: str) -> int | None:
    """The scale of a DECIMAL type (``None`` for other types)."""
    match = _DECIMAL.match(type_name)
    return int(match.group(2)) if match else None


def widened(existing: str, wanted: str) -> str | None:
    """The type an existing column must become to hold the wanted type's values, or ``None``
    when it keeps its type (the table in the module docstring). Both are ``normalized``."""
    if existing in (wanted, VARCHAR):
        return None
    existing_scale, wanted_scale = decimal_scale(existing), decimal_scale(wanted)
    if wanted_scale is not None:
        if existing_scale is not None:
            return wanted if wanted_scale > existing_scale else None
        return wanted if existing in INTEGER_WIDTHS else VARCHAR
    if wanted in INTEGER_WIDTHS:
        if existing_scale is not None:
            return None
        if existing in INTEGER_WIDTHS:
            return wanted if INTEGER_WIDTHS[wanted] > INTEGER_WIDTHS[existing] else None
        return VARCHAR
    if wanted == TIMESTAMPTZ and existing == "TIMESTAMP":
        return wanted
    if wanted == "TIMESTAMP" and existing == TIMESTAMPTZ:
        return None
    return VARCHAR
