"""GetConnector reads: filters, ordering and skip/take paging compiled to one SQLite query.

SQLite renders each row as compact JSON itself (``json_object``), so a 1000-row page costs a few
milliseconds and the sandbox never limits a benchmark. Behaviour reproduced from
afas-rest-api.md sections 3.2-3.5 and 9:
- skip/take default to 0/100 and are echoed; ``skip=-1`` returns every row; ``take=-1`` with any
  other skip is a 500; a non-numeric or < -1 skip counts as 0; ``take=0`` returns one row;
- without ``orderbyfieldids`` the order differs between calls (a random rotation), and rows that
  tie on the requested order come back in a random order too, as a database gives them;
- timestamps are compared as stored (sub-second) and shown rounded to the second with a false
  ``Z``; strings compare case-insensitively, as SQL Server's default collation does;
- decimals are stored as text with their exact digits: shown as JSON numbers with those digits
  (``json(column)``, never a float's rounding or exponent), sorted and compared by value with
  the ``AFAS_DECIMAL`` collation (store.py);
- a number AFAS could not read as its integer type (skip/take, int filter values beyond 64 bits)
  is treated as AFAS treats text there, never passed on to SQLite.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from afas_sandbox.filters import Condition, Filter
from afas_sandbox.model import CONTROL_DATETIME, CONTROL_TIME, GetConnectorDef, GetField
from afas_sandbox.store import DECIMAL_COLLATION

DEFAULT_TAKE = 100
_LARGE_PRIME = 2147483647
INT32_MAX = 2**31 - 1  # skip and take are Int32 on AFAS
INT64_MAX = 2**63 - 1  # SQLite's INTEGER
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_DATE_VALUE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
_TIME_VALUE = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")
_TRUE = {"true", "1", "-1", "ja", "yes"}
_FALSE = {"false", "0", "nee", "no"}


class QueryError(ValueError):
    """The request cannot be answered; ``message`` is what AFAS would say in a 500."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldNotFoundError(QueryError):
    def __init__(self, field_id: str) -> None:
        super().__init__(f"Connector field '{field_id}' not found")


@dataclass(frozen=True, slots=True)
class Paging:
    skip: int
    take: int
    echo_skip: int
    echo_take: int
    all_rows: bool


def parse_paging(skip_text: str | None, take_text: str | None) -> Paging:
    """Apply AFAS's skip/take rules; raises QueryError for the documented invalid combination."""
    skip = _int_or(skip_text, 0)
    if skip < -1:
        skip = 0
    take = _int_or(take_text, DEFAULT_TAKE)
    if skip == -1:
        return Paging(skip=0, take=-1, echo_skip=-1, echo_take=take, all_rows=True)
    if take < 0:
        raise QueryError("An unexpected error has occurred.")
    return Paging(skip=skip, take=max(take, 1), echo_skip=skip, echo_take=take, all_rows=False)


def _int_or(text: str | None, default: int) -> int:
    """An Int32 parameter; anything else (text, a fraction, a number beyond 32 bits) is
    ``default``, as for a parameter AFAS cannot read."""
    value = None if text is None else whole_number(text.strip(), INT32_MAX)
    return default if value is None else value


def whole_number(text: str, limit: int) -> int | None:
    """``text`` as an integer from ``-limit - 1`` to ``limit``, or ``None`` (digits are checked
    before ``int()``, which refuses thousands of digits with an error of its own)."""
    if not _WHOLE_NUMBER.fullmatch(text) or len(text.lstrip("+-").lstrip("0")) > len(str(limit)):
        return None
    value = int(text)
    return value if -limit - 1 <= value <= limit else None


def output_expression(field: GetField) -> str:
    """The SQL that renders one field's stored value the way AFAS shows it."""
    column = field.column
    if field.data_type == "boolean":
        return (
            f"CASE WHEN {column} IS NULL THEN NULL "
            f"WHEN {column} THEN json('true') ELSE json('false') END"
        )
    if field.data_type == "date" and field.control_type == CONTROL_DATETIME:
        # Stored with microseconds, shown rounded (half up) to the second with AFAS's false
        # 'Z'; only values at .5 or later need date arithmetic (a minute or day may roll over).
        return (
            f"CASE WHEN substr({column}, 21, 1) >= '5' "
            f"THEN strftime('%Y-%m-%dT%H:%M:%SZ', {column}, '+0.5 seconds') "
            f"ELSE substr({column}, 1, 19) || 'Z' END"
        )
    if field.data_type == "date":
        return f"substr({column}, 1, 19) || 'Z'"
    if field.data_type == "decimal":
        # The stored text is a JSON number with every digit; json() puts it in as it is.
        return f"json({column})"
    return column


def sort_expression(field: GetField) -> str:
    """The SQL that orders and compares one field's stored values: decimals by value."""
    if field.data_type == "decimal":
        return f"{field.column} COLLATE {DECIMAL_COLLATION}"
    return field.column


def order_expressions(field: GetField) -> tuple[str, ...]:
    """What ``ORDER BY`` sorts one field on: ``sort_expression``, for a decimal first by its
    value as a float. Rounding to a float keeps the order of values (a < b gives float(a) <=
    float(b)), so the exact collation, a Python call per comparison, only settles the floats
    that tie, and ordering a large table on a decimal stays fast (a text that is no number,
    never written by the sandbox, counts as 0 for the float)."""
    if field.data_type == "decimal":
        return (f"CAST({field.column} AS REAL)", sort_expression(field))
    return (sort_expression(field),)


def row_json_expression(connector: GetConnectorDef) -> str:
    parts = ", ".join(f"'{f.id}', {output_expression(f)}" for f in connector.fields)
    return f"json_object({parts})"


def _rowid(connector: GetConnectorDef) -> str:
    return f"{connector.source.split()[1]}.rowid"


def rowid_range_sql(connector: GetConnectorDef) -> str:
    """The query for (lowest, highest) rowid of the connector's main table."""
    table = connector.source.split()[0]
    return f"SELECT coalesce(min(rowid), 0), coalesce(max(rowid), 0) FROM {table}"


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    sql: str
    params: tuple[Any, ...]


def compile_page(
    connector: GetConnectorDef,
    where: Filter,
    order: list[tuple[str, bool]],
    paging: Paging,
    rng: random.Random,
    rowid_range: tuple[int, int] = (0, 0),
) -> CompiledQuery:
    """Build the SELECT that returns one page as JSON strings, one per row.

    SQLite filters, orders, skips and takes on row ids and sort keys alone, then builds JSON for
    the page's rows only: a sort computes its result columns for every row it sorts, so JSON in
    the sorting query would cost the whole table for each page. ``rowid_range`` (lowest,
    highest rowid of the connector's main table) is where an unordered read starts its rotation.
    """
    where_sql, where_params = compile_filter(connector, where)
    rowid = _rowid(connector)
    if order:
        # Ties on the requested order come back in a different order on every call. The last
        # term is unique per row, so the page's rows are put in the same order again below.
        terms = _order_terms(connector, order, rowid)
        salt = rng.randrange(1, _LARGE_PRIME)
        ranked = f"SELECT {rowid} AS rid FROM {connector.source} WHERE {where_sql} ORDER BY {terms}"
        ranked_params: tuple[Any, ...] = (*where_params, salt)
        again, again_params = terms, (salt,)
    else:
        # No order asked: a rotation at a random row, so paging without order misses and
        # doubles rows, as AFAS warns (section 3.4), while each page stays cheap.
        pivot = rng.randint(*rowid_range)
        ranked = (
            f"SELECT rid FROM (SELECT {rowid} AS rid FROM {connector.source} "
            f"WHERE ({where_sql}) AND {rowid} >= ? ORDER BY {rowid}) "
            f"UNION ALL "
            f"SELECT rid FROM (SELECT {rowid} AS rid FROM {connector.source} "
            f"WHERE ({where_sql}) AND {rowid} < ? ORDER BY {rowid})"
        )
        ranked_params = (*where_params, pivot, *where_params, pivot)
        again, again_params = f"{rowid} < ?, {rowid}", (pivot,)
    select = f"SELECT {row_json_expression(connector)} AS j"
    if paging.all_rows:
        # Every row gets its JSON anyway: one query, sorted as the pages would be.
        sql = f"{select} FROM {connector.source} WHERE {where_sql} ORDER BY {again}"
        return CompiledQuery(sql, (*where_params, *again_params))
    sql = (
        f"{select} FROM ({ranked} LIMIT ? OFFSET ?) AS page CROSS JOIN {connector.source} "
        f"WHERE {rowid} = page.rid ORDER BY {again}"
    )
    return CompiledQuery(sql, (*ranked_params, paging.take, paging.skip, *again_params))


def _order_terms(connector: GetConnectorDef, order: list[tuple[str, bool]], rowid: str) -> str:
    """``ORDER BY`` terms for ``orderbyfieldids``, ending in a per-call shuffle of ties."""
    terms = []
    for field_id, descending in order:
        field = connector.field(field_id)
        if field is None:
            raise FieldNotFoundError(field_id)
        for term in order_expressions(field):
            terms.append(f"{term} DESC" if descending else term)
    terms.append(f"(({rowid} * ?) % {_LARGE_PRIME})")
    return ", ".join(terms)


def compile_filter(connector: GetConnectorDef, where: Filter) -> tuple[str, list[Any]]:
    """Compile OR-groups of AND-ed conditions to a SQL boolean expression."""
    if not where:
        return "1", []
    params: list[Any] = []
    groups = []
    for group in where:
        terms = []
        for condition in group:
            field = connector.field(condition.field_id)
            if field is None:
                raise FieldNotFoundError(condition.field_id)
            term, term_params = _condition_sql(field, condition)
            terms.append(term)
            params.extend(term_params)
        groups.append("(" + " AND ".join(terms) + ")")
    return "(" + " OR ".join(groups) + ")", params


def _condition_sql(field: GetField, condition: Condition) -> tuple[str, list[Any]]:
    """One condition. NULL matches only 'is empty' (8), as in SQL's three-valued logic."""
    column, op, raw = field.column, condition.operator, condition.value or ""
    if op == 8:
        return _empty_sql(field), []
    if op == 9:
        return f"NOT {_empty_sql(field)}", []
    text_column = column if field.data_type in ("string", "blob") else f"CAST({column} AS TEXT)"
    if op in (6, 15):
        return _like(text_column, raw, "%{}%", negate=False)
    if op == 11:
        return _like(text_column, raw, "%{}%", negate=True)
    if op in (10, 12):
        return _like(text_column, raw, "{}%", negate=op == 12)
    if op in (13, 14):
        return _like(text_column, raw, "%{}", negate=op == 14)
    if op in (1, 7) and "%" in raw:
        # A wildcard with equal / not equal acts as LIKE / NOT LIKE (AFAS XML filter docs).
        return _like(text_column, raw, "{}", negate=op == 7)
    value = coerce_filter_value(field, raw)
    symbol = {1: "=", 2: ">=", 3: "<=", 4: ">", 5: "<", 7: "<>"}[op]
    return f"{sort_expression(field)} {symbol} ?", [value]


def _empty_sql(field: GetField) -> str:
    if field.data_type in ("string", "blob"):
        return f"({field.column} IS NULL OR {field.column} = '')"
    return f"({field.column} IS NULL)"


def _like(column: str, raw: str, pattern: str, *, negate: bool) -> tuple[str, list[Any]]:
    escaped = raw.replace("\\", "\\\\").replace("_", "\\_")
    # A value that already holds '%' is used as the pattern, as client libraries expect.
    value = escaped if "%" in raw else pattern.format(escaped)
    keyword = "NOT LIKE" if negate else "LIKE"
    return f"{column} {keyword} ? ESCAPE '\\'", [value]


def coerce_filter_value(field: GetField, raw: str) -> Any:
    """Turn a filter value into the stored representation of the field's type."""
    text = raw.strip()
    if field.data_type == "int":
        # A value beyond 64 bits fails AFAS's conversion as text does (and SQLite's binding).
        value = whole_number(text, INT64_MAX)
        if value is None:
            raise QueryError("An unexpected error has occurred.")
        return value
    if field.data_type == "decimal":
        return _decimal_filter_value(text)
    if field.data_type == "boolean":
        if text.lower() in _TRUE:
            return 1
        if text.lower() in _FALSE:
            return 0
        raise QueryError("An unexpected error has occurred.")
    if field.data_type == "date":
        return _date_value(field, text)
    return raw


def _decimal_filter_value(text: str) -> str:
    """A finite number, as text for the ``AFAS_DECIMAL`` collation (exponent form is fine there
    and keeps ``1e999999999`` short)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise QueryError("An unexpected error has occurred.") from None
    if not number.is_finite():
        raise QueryError("An unexpected error has occurred.")
    return str(number)


def _date_value(field: GetField, text: str) -> str:
    # AFAS prints a 'Z' but refuses it in filter values (afas-rest-api.md section 3.2).
    if field.control_type == CONTROL_TIME:
        time_match = _TIME_VALUE.fullmatch(text)
        if time_match:
            hh, mm, ss = time_match.groups()
            return f"1900-01-01T{hh}:{mm}:{ss or '00'}"
    match = _DATE_VALUE.fullmatch(text)
    if match is None:
        raise QueryError("An unexpected error has occurred.")
    day, hh, mm, ss = match.groups()
    return f"{day}T{hh or '00'}:{mm or '00'}:{ss or '00'}"


def parse_order(text: str | None) -> list[tuple[str, bool]]:
    """``orderbyfieldids=A,-B`` → [("A", False), ("B", True)]."""
    if not text:
        return []
    order = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        order.append((name[1:], True) if name.startswith("-") else (name, False))
    return order
