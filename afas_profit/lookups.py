"""Batched key look-ups through a GetConnector: which rows hold one of many values.

The target uses them to tell an insert from an update (``upsert``), to compare values
(``diff_only``) and to verify whether a write of unknown outcome landed. Values are asked for in
OR-groups, as many per request as fit in AFAS's URL limit; AFAS compares case-insensitively, so
each value is asked for once, whatever its spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from afas_profit.client import ProfitClient
from afas_profit.cursor import PageRequest
from afas_profit.filters import Condition, Op, filter_params, query_length

LOOKUP_QUERY_BUDGET = 1900  # characters, under AFAS's 2049 with room for order/paging


def lookup(
    client: ProfitClient,
    connector: str,
    field: str,
    values: Iterable[str],
    extra: Sequence[Condition] = (),
) -> dict[str, list[dict[str, Any]]]:
    """Rows of ``connector`` whose ``field`` equals one of ``values``, by casefolded value."""
    found: dict[str, list[dict[str, Any]]] = {}
    distinct = sorted({str(v).casefold(): str(v) for v in values}.values())
    for chunk in _chunks(field, distinct, extra):
        where = [[Condition(field, Op.EQUAL, v), *extra] for v in chunk]
        # All matches of a bounded set of keys in one request: paging with skip could miss
        # or repeat rows that tie on the lookup field.
        rows = client.get_rows(connector, PageRequest(where, (field,), skip=-1, take=-1))
        for row in rows:
            found.setdefault(str(row.get(field)).casefold(), []).append(row)
    return found


def _chunks(field: str, values: list[str], extra: Sequence[Condition]) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in values:
        trial = [*chunk, value]
        where = [[Condition(field, Op.EQUAL, v), *extra] for v in trial]
        if chunk and query_length(dict(filter_params(where))) > LOOKUP_QUERY_BUDGET:
            yield chunk
            chunk = [value]
        else:
            chunk = trial
    if chunk:
        yield chunk
