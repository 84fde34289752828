"""GetConnector query parameters: filters, ordering and paging, within AFAS's URL limit.

A filter is a list of OR-groups of AND-ed ``Condition``s. It is sent in the compact form
(``filterfieldids`` / ``filtervalues`` / ``operatortypes``, ``,`` = AND, ``;`` = OR) unless a
value or field id contains ``,`` or ``;``, which the compact form cannot escape: then
``filterjson`` (afas-rest-api.md section 3.2). The query string may be at most 2049 characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import urlencode

from afas_profit.errors import AFASConfigError

MAX_QUERY_CHARS = 2049


class Op(IntEnum):
    """AFAS operator numbers (afas-rest-api.md section 3.2)."""

    EQUAL = 1
    AT_LEAST = 2
    AT_MOST = 3
    GREATER = 4
    LESS = 5
    CONTAINS = 6
    NOT_EQUAL = 7
    EMPTY = 8
    NOT_EMPTY = 9
    STARTS_WITH = 10
    NOT_CONTAINS = 11
    NOT_STARTS_WITH = 12
    ENDS_WITH = 13
    NOT_ENDS_WITH = 14
    QUICK = 15


OPERATOR_NAMES = {
    "=": Op.EQUAL,
    ">=": Op.AT_LEAST,
    "<=": Op.AT_MOST,
    ">": Op.GREATER,
    "<": Op.LESS,
    "contains": Op.CONTAINS,
    "!=": Op.NOT_EQUAL,
    "<>": Op.NOT_EQUAL,
    "empty": Op.EMPTY,
    "not_empty": Op.NOT_EMPTY,
    "starts_with": Op.STARTS_WITH,
    "not_contains": Op.NOT_CONTAINS,
    "not_starts_with": Op.NOT_STARTS_WITH,
    "ends_with": Op.ENDS_WITH,
    "not_ends_with": Op.NOT_ENDS_WITH,
}


@dataclass(frozen=True, slots=True)
class Condition:
    field_id: str
    op: Op
    value: str = ""


Filter = Sequence[Sequence[Condition]]


def and_all(base: Filter, extra: Sequence[Condition]) -> list[list[Condition]]:
    """Add conditions to every OR-group (``(A or B) and C`` = ``(A and C) or (B and C)``)."""
    if not base:
        return [list(extra)] if extra else []
    return [[*group, *extra] for group in base]


def filter_params(where: Filter) -> dict[str, str]:
    """The query parameters for a filter (compact form when possible)."""
    groups = [list(g) for g in where if g]
    if not groups:
        return {}
    needs_json = any(
        any(ch in text for ch in ",;") for g in groups for c in g for text in (c.field_id, c.value)
    )
    if needs_json:
        document = {
            "Filters": {
                "Filter": [
                    {
                        "@FilterId": f"Filter {i}",
                        "Field": [
                            {
                                "@FieldId": c.field_id,
                                "@OperatorType": str(int(c.op)),
                                "#text": c.value,
                            }
                            for c in g
                        ],
                    }
                    for i, g in enumerate(groups, start=1)
                ]
            }
        }
        return {"filterjson": json.dumps(document, separators=(",", ":"), ensure_ascii=False)}
    return {
        "filterfieldids": ";".join(",".join(c.field_id for c in g) for g in groups),
        "filtervalues": ";".join(",".join(c.value for c in g) for g in groups),
        "operatortypes": ";".join(",".join(str(int(c.op)) for c in g) for g in groups),
    }


def order_param(fields: Sequence[str]) -> dict[str, str]:
    return {"orderbyfieldids": ",".join(fields)} if fields else {}


def query_length(params: dict[str, str | int]) -> int:
    """Characters of the encoded query string, counting the leading ``?``."""
    return len(urlencode(params)) + 1


def parse_filter_setting(connector: str, value: object) -> list[Condition]:
    """A user's extra filter: a list of ``{"field", "operator", "value"}`` (AND-ed)."""
    if not isinstance(value, list):
        raise AFASConfigError(
            f"Setting 'filters' for {connector!r} must be a list of "
            '{"field": ..., "operator": ..., "value": ...} objects.'
        )
    conditions = []
    for item in value:
        if not isinstance(item, dict) or "field" not in item or "operator" not in item:
            raise AFASConfigError(
                f"Setting 'filters' for {connector!r}: every filter needs 'field' and "
                f"'operator' (got {item!r})."
            )
        operator = item["operator"]
        op = OPERATOR_NAMES.get(str(operator).lower()) if not isinstance(operator, int) else None
        if op is None:
            try:
                op = Op(int(operator))
            except (TypeError, ValueError):
                raise AFASConfigError(
                    f"Setting 'filters' for {connector!r}: operator {operator!r} is not one of "
                    f"{', '.join(OPERATOR_NAMES)} or an AFAS operator number 1-15."
                ) from None
        conditions.append(Condition(str(item["field"]), op, str(item.get("value", ""))))
    return conditions
