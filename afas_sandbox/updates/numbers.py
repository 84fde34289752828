"""Numbers in UpdateConnector bodies: read exactly, checked against the field's metainfo.

Every JSON number in a body is read as a ``Decimal`` (never a float), and so are ``NaN`` and
``Infinity``, which Python's JSON reader would otherwise accept as floats; the validator then
refuses what the field cannot hold, with AFAS's 500 error body. A decimal field holds what SQL
Server's ``decimal(length, decimals)`` holds: ``length`` digits in all, ``decimals`` of them
after the point (trailing zeros after the point are not counted: ``1.50`` has one place). The
value is stored as text with exactly ``decimals`` places, the digits SQL Server would keep.
An int field holds at most ``length`` digits and always fits SQLite's 64-bit INTEGER.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

MAX_DECIMAL_DIGITS = 38  # SQL Server's widest decimal: the limit when metainfo gives no length
MAX_INT_DIGITS = 18  # every 18-digit integer fits a 64-bit INTEGER
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def read_body(text: str) -> Any:
    """A request body with its numbers as ``Decimal``; raises ValueError for invalid JSON."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)


@dataclass(frozen=True, slots=True)
class Size:
    """How many digits a finite number has before the point, and after it (trailing zeros
    after the point not counted)."""

    integer_digits: int
    places: int


def size_of(number: Decimal) -> Size:
    """The size of a finite ``number``, from its digits and exponent (nothing is computed with
    them, so ``1e999999999`` costs no more than ``1``)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    if not any(digits):
        return Size(0, 0)
    trailing_zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    places = max(0, -exponent - trailing_zeros)
    return Size(max(0, len(digits) + exponent), places)


def decimal_text(number: Decimal, decimals: int) -> str:
    """``number`` with exactly ``decimals`` places, as plain digits (no exponent, no ``-0``).

    The caller has checked that ``number`` has at most ``decimals`` places, so nothing rounds.
    """
    size = size_of(number)
    exact = Context(prec=size.integer_digits + max(decimals, 0) + 1)
    value = number.quantize(Decimal(1).scaleb(-decimals), context=exact)
    return format(abs(value) if value == 0 else value, "f")
