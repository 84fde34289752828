"""A batch of records → newline-delimited JSON that DuckDB reads into typed columns exactly.

The batch is encoded by one msgspec call: decimals as strings (DuckDB casts VARCHAR → DECIMAL
exactly, never through DOUBLE), date-times as ISO text with their offset (the loader's sessions
run in UTC, so text without an offset is UTC), dates and times as ISO text. Per record, Python
only adds the row number; the rest is per column:

- DECIMAL columns: DuckDB would round a value with more places than the column keeps, so each
  such column is scanned first (its values as one JSON array, searched for a longer fraction or
  an exponent), and only a column with such a candidate is checked value by value: a value with
  more places than the column keeps (trailing zeros are not places) stops the load with an
  error instead of being rounded.
- Too many integer digits, an integer beyond BIGINT or a non-number make DuckDB refuse the
  batch; ``explain_refusal`` then finds the value and says what to do.
- Object and array properties become JSON text (numbers in them keep every digit).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

_EXACT = decimal.Context(prec=1000)  # normalize() without rounding any real-world number
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
ROW_NUMBER = "_afas_row"  # the order of a record within its batch (last one wins per key)
_ROWS = msgspec.json.Encoder(decimal_format="string")
_NUMBERS = msgspec.json.Encoder(decimal_format="number")  # numbers stay numbers in JSON text


class DecimalOutOfRangeError(ValueError):
    """A value its column (DECIMAL(precision, scale), or BIGINT) cannot hold exactly (or at all)."""


@dataclass(frozen=True, slots=True)
class DecimalColumn:
    precision: int
    scale: int
    declared: int | None = None  # the places the property's schema declares (types.py)


def column_kinds(
    column_types: Mapping[str, str], declared: Mapping[str, int | None] | None = None
) -> dict[str, str | DecimalColumn]:
    """DuckDB column types → the columns whose values need checks (DECIMAL and BIGINT)."""
    kinds: dict[str, str | DecimalColumn] = {}
    for name, sql_type in column_types.items():
        upper = sql_type.upper()
        if upper.startswith("DECIMAL"):
            precision, _, scale = upper[upper.index("(") + 1 : upper.index(")")].partition(",")
            places = (declared or {}).get(name)
            kinds[name] = DecimalColumn(int(precision), int(scale), places)
        elif upper == "BIGINT":
            kinds[name] = "bigint"
    return kinds


def _bigint(value: Any, where: str) -> None:
    if isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX:
        raise DecimalOutOfRangeError(
            f"{where}: {value} does not fit the column's BIGINT (64-bit integers, up to "
            f"{BIGINT_MAX}); declare the property as a number in the tap's schema (a DECIMAL "
            "column), or fix the value at its source"
        )


def decimal_text(value: Any, column: DecimalColumn, where: str) -> str:
    """``value`` as plain decimal text, when ``column`` holds it exactly (else an error)."""
    try:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise DecimalOutOfRangeError(f"{where}: {value!r} is not a number") from None
    if isinstance(value, bool) or not number.is_finite():
        raise DecimalOutOfRangeError(f"{where}: {value!r} is not a finite number")
    _, digits, exponent = number.normalize(_EXACT).as_tuple()  # trailing zeros are not places
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    places = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    declared = column.declared == column.scale
    if places > column.scale:
        multiple = decimal.Decimal(1).scaleb(-column.scale)
        remedy = (
            f"the places the stream's schema declares (multipleOf {multiple}); fix the value "
            "at its source, or set the loader's declared_decimal_places to false (number "
            "columns then keep decimal_scale places) and run again"
            if declared
            else "raise the loader's decimal_scale setting and run again (the column is widened)"
        )
        raise DecimalOutOfRangeError(
            f"{where}: {number} has {places} decimal places but the column keeps {column.scale}, "
            + remedy
        )
    if integer_digits > column.precision - column.scale:
        remedy = (
            "fix the value at its source"
            if declared
            else "lower the loader's decimal_scale setting (a new table)"
        )
        raise DecimalOutOfRangeError(
            f"{where}: {number} has {integer_digits} integer digits but the column holds "
            f"{column.precision - column.scale}; {remedy}"
        )
    return format(number, "f")


def _candidates(values: list[Any], scale: int) -> bool:
    """Whether any value may have more than ``scale`` places (or is no plain number)."""
    text = _NUMBERS.encode(values)[1:-1]  # the array's brackets
    return re.search(rb'\.\d{%d}|[eE"{\[]' % (scale + 1), text) is not None


def json_lines(
    records: Sequence[dict[str, Any]],
    kinds: Mapping[str, str | DecimalColumn],
    json_properties: Collection[str],
    stream: str,
) -> bytes:
    """The batch as JSON lines, each with its row number under ``ROW_NUMBER``.

    Checks the places of DECIMAL columns (``DecimalOutOfRangeError``) and turns object and array
    properties into JSON text; both change ``records`` in place.
    """
    for name, kind in kinds.items():
        if not isinstance(kind, DecimalColumn):
            continue
        if _candidates([r.get(name) for r in records], kind.scale):
            where = f"stream {stream!r}, column {name!r}"
            for record in records:
                value = record.get(name)
                if value is not None:
                    record[name] = decimal_text(value, kind, where)
    for name in json_properties:
        for record in records:
            value = record.get(name)
            if isinstance(value, (dict, list)):
                record[name] = _NUMBERS.encode(value).decode()
    for number, record in enumerate(records):
        record[ROW_NUMBER] = number
    return _ROWS.encode_lines(records)


def explain_refusal(
    records: Sequence[Mapping[str, Any]], kinds: Mapping[str, str | DecimalColumn], stream: str
) -> None:
    """Raise ``DecimalOutOfRangeError`` for the first value a DECIMAL or BIGINT column cannot
    hold (after DuckDB refused the batch); return when there is none."""
    for name, kind in kinds.items():
        where = f"stream {stream!r}, column {name!r}"
        for record in records:
            value = record.get(name)
            if value is None:
                continue
            if isinstance(kind, DecimalColumn):
                decimal_text(value, kind, where)
            else:
                _bigint(value, where)
