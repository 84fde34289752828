"""GetConnector filters: parse the compact triple and ``filterjson`` into OR-groups of conditions.

Compact form: ``filterfieldids``, ``filtervalues`` and ``operatortypes`` are parallel lists where
``,`` separates AND-ed conditions and ``;`` separates OR-groups; the separators must stand at the
same positions in all three (afas-rest-api.md section 3.2). ``filterjson`` holds
``{"Filters": {"Filter": [{"Field": [{"@FieldId", "@OperatorType", "#text"}]}]}}``: fields inside
one Filter are AND-ed, Filters are OR-ed. Numbers in ``filterjson`` are read as ``Decimal``, so a
value keeps every digit it was written with (a float would round ``1234567890123456789.12``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

OPERATORS = range(1, 16)


class FilterSyntaxError(ValueError):
    """The filter parameters do not form a valid filter (AFAS answers with a generic 500)."""


@dataclass(frozen=True, slots=True)
class Condition:
    field_id: str
    operator: int
    value: str | None


Filter = list[list[Condition]]  # OR of AND-groups


def parse_compact(field_ids: str | None, values: str | None, operators: str | None) -> Filter:
    """Parse the compact filter triple; all three absent means no filter."""
    if field_ids is None and values is None and operators is None:
        return []
    if field_ids is None or operators is None:
        raise FilterSyntaxError("filterfieldids and operatortypes must be given together")
    values = values if values is not None else ""
    id_groups = [g.split(",") for g in field_ids.split(";")]
    op_groups = [g.split(",") for g in operators.split(";")]
    value_groups = [g.split(",") for g in values.split(";")]
    if [len(g) for g in id_groups] != [len(g) for g in op_groups]:
        raise FilterSyntaxError("filterfieldids and operatortypes differ in shape")
    if [len(g) for g in id_groups] != [len(g) for g in value_groups]:
        # Operators 8 and 9 need no value, but the slot must still be there; one exception:
        # a single condition with an empty filtervalues.
        if not (values == "" and len(id_groups) == 1 and len(id_groups[0]) == 1):
            raise FilterSyntaxError("filterfieldids and filtervalues differ in shape")
        value_groups = [[""]]
    return [
        [
            Condition(field.strip(), _operator(op), value)
            for field, op, value in zip(ids, ops, vals, strict=True)
        ]
        for ids, ops, vals in zip(id_groups, op_groups, value_groups, strict=True)
    ]


def parse_json(text: str) -> Filter:
    """Parse a ``filterjson`` value (already URL-decoded)."""
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=Decimal)
        filters = _as_list(document["Filters"]["Filter"])
        groups: Filter = []
        for flt in filters:
            group = []
            for field in _as_list(flt["Field"]):
                raw = field.get("#text")
                group.append(
                    Condition(
                        str(field["@FieldId"]),
                        _operator(str(field["@OperatorType"])),
                        None if raw is None else str(raw),
                    )
                )
            groups.append(group)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FilterSyntaxError(f"filterjson is not a valid filter: {exc}") from exc
    return groups


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _operator(text: str) -> int:
    try:
        op = int(text.strip())
    except ValueError as exc:
        raise FilterSyntaxError(f"operator {text!r} is not a number") from exc
    if op not in OPERATORS:
        raise FilterSyntaxError(f"operator {op} is not one of 1-15")
    return op
