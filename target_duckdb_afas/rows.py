"""Records → newline-delimited JSON rows that DuckDB reads back into typed columns exactly.

Decimals travel as strings (DuckDB casts VARCHAR → DECIMAL without a detour through DOUBLE),
date-times as naive UTC ISO strings for ``TIMESTAMP`` columns, objects and arrays as JSON text.
A decimal with more places than its column keeps, or more integer digits than fit, is refused
with an error instead of being rounded; so is an integer beyond BIGINT's 64 bits.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

_EXACT = decimal.Context(prec=1000)  # normalize() without rounding any real-world number
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
ROW_NUMBER = "_afas_row"  # the order of a record within its batch (last one wins per key)


class DecimalOutOfRangeError(ValueError):
    """A value its column (DECIMAL(precision, scale), or BIGINT) cannot hold exactly (or at all)."""


@dataclass(frozen=True, slots=True)
class DecimalColumn:
    precision: int
    scale: int


def column_kinds(column_types: Mapping[str, str]) -> dict[str, str | DecimalColumn]:
    """DuckDB column types → how each column's values are encoded (only non-trivial kinds)."""
    kinds: dict[str, str | DecimalColumn] = {}
    for name, sql_type in column_types.items():
        upper = sql_type.upper()
        if upper.startswith("DECIMAL"):
            precision, _, scale = upper[upper.index("(") + 1 : upper.index(")")].partition(",")
            kinds[name] = DecimalColumn(int(precision), int(scale))
        elif upper.startswith("TIMESTAMP"):
            kinds[name] = "timestamp"
        elif upper in ("VARCHAR", "JSON"):
            kinds[name] = "text"
        elif upper == "BIGINT":
            kinds[name] = "bigint"
    return kinds


def _bigint(value: Any, where: str) -> Any:
    if isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX:
        raise DecimalOutOfRangeError(
            f"{where}: {value} does not fit the column's BIGINT (64-bit integers, up to "
            f"{BIGINT_MAX}); declare the property as a number in the tap's schema (a DECIMAL "
            "column), or fix the value at its source"
        )
    return value


def _decimal_text(value: Any, column: DecimalColumn, where: str) -> str:
    try:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise DecimalOutOfRangeError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise DecimalOutOfRangeError(f"{where}: {number} is not a finite number")
    _, digits, exponent = number.normalize(_EXACT).as_tuple()  # trailing zeros are not places
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    places = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    if places > column.scale:
        raise DecimalOutOfRangeError(
            f"{where}: {number} has {places} decimal places but the column keeps {column.scale}; "
            "raise the loader's decimal_scale setting and reload the stream"
        )
    if integer_digits > column.precision - column.scale:
        raise DecimalOutOfRangeError(
            f"{where}: {number} has {integer_digits} integer digits but the column holds "
            f"{column.precision - column.scale}; lower the loader's decimal_scale setting"
        )
    return format(number, "f")


def _timestamp_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    return value


_JSON_TEXT = msgspec.json.Encoder(decimal_format="number")  # numbers in objects stay numbers


def _json_text(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return _JSON_TEXT.encode(value).decode()
    return value


def encode_rows(
    records: Iterable[Mapping[str, Any]],
    columns: Mapping[str, str | None],
    kinds: Mapping[str, str | DecimalColumn],
    stream: str,
) -> Iterator[bytes]:
    """One JSON line per record, with the batch row number under ``ROW_NUMBER``.

    ``columns`` maps each table column to the record property it holds (``None``: a column the
    stream's current schema no longer has, written as null).
    """
    pairs = list(columns.items())
    encoder = msgspec.json.Encoder(decimal_format="string")
    for number, record in enumerate(records):
        row: dict[str, Any] = {ROW_NUMBER: number}
        for name, source in pairs:
            value = None if source is None else record.get(source)
            if value is not None:
                kind = kinds.get(name)
                if isinstance(kind, DecimalColumn):
                    value = _decimal_text(value, kind, f"stream {stream!r}, column {name!r}")
                elif kind == "timestamp":
                    value = _timestamp_text(value)
                elif kind == "text":
                    value = _json_text(value)
                elif kind == "bigint":
                    value = _bigint(value, f"stream {stream!r}, column {name!r}")
            row[name] = value
        yield encoder.encode(row) + b"\n"
