"""Unit layer: ``afas_profit.filters`` (GetConnector filter parameters, afas-rest-api.md 3.2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from afas_profit.errors import AFASConfigError
from afas_profit.filters import (
    MAX_QUERY_CHARS,
    OPERATOR_NAMES,
    Condition,
    Filter,
    Op,
    and_all,
    filter_params,
    order_param,
    parse_filter_setting,
    query_length,
)

A = Condition("EmploymentEndDate", Op.LESS, "2020-03-22T00:00:00")
B = Condition("EmailForDigitalDocuments", Op.NOT_EQUAL, "P")
C = Condition("EmailForDigitalDocuments", Op.EMPTY, "")
D = Condition("AdminId", Op.EQUAL, "1")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ([], {}),
        ([[]], {}),
        (
            [[D]],
            {"filterfieldids": "AdminId", "filtervalues": "1", "operatortypes": "1"},
        ),
        (
            [[A, B]],
            {
                "filterfieldids": "EmploymentEndDate,EmailForDigitalDocuments",
                "filtervalues": "2020-03-22T00:00:00,P",
                "operatortypes": "5,7",
            },
        ),
        (
            [[D], [D]],
            {"filterfieldids": "AdminId;AdminId", "filtervalues": "1;1", "operatortypes": "1;1"},
        ),
        (
            [[A, B], [C]],
            {
                "filterfieldids": (
                    "EmploymentEndDate,EmailForDigitalDocuments;EmailForDigitalDocuments"
                ),
                "filtervalues": "2020-03-22T00:00:00,P;",
                "operatortypes": "5,7;8",
            },
        ),
        (
            [[], [D], []],
            {"filterfieldids": "AdminId", "filtervalues": "1", "operatortypes": "1"},
        ),
    ],
    ids=[
        "no-filter",
        "only-empty-group",
        "one-condition",
        "and-group",
        "or-of-two",
        "documented-mixed-example",
        "empty-groups-dropped",
    ],
)
def test_compact_filter_params(where: Filter, expected: dict[str, str]) -> None:
    assert filter_params(where) == expected


def _json_filter(params: dict[str, str]) -> list[list[tuple[str, str, str]]]:
    assert set(params) == {"filterjson"}
    document: Any = json.loads(params["filterjson"])
    groups = document["Filters"]["Filter"]
    assert [g["@FilterId"] for g in groups] == [f"Filter {i}" for i in range(1, len(groups) + 1)]
    return [
        [(f["@FieldId"], f["@OperatorType"], f["#text"]) for f in group["Field"]]
        for group in groups
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            [[Condition("Name", Op.CONTAINS, "Jansen, P.")]],
            [[("Name", "6", "Jansen, P.")]],
        ),
        (
            [[D, Condition("Remark", Op.EQUAL, "a;b")], [Condition("City", Op.STARTS_WITH, "X")]],
            [[("AdminId", "1", "1"), ("Remark", "1", "a;b")], [("City", "10", "X")]],
        ),
        (
            [[Condition("Odd,Field", Op.NOT_EMPTY)]],
            [[("Odd,Field", "9", "")]],
        ),
        (
            [[Condition("Name", Op.EQUAL, "Café; Ünïcode")]],
            [[("Name", "1", "Café; Ünïcode")]],
        ),
    ],
    ids=["comma-in-value", "semicolon-in-value-or-groups", "comma-in-field-id", "non-ascii"],
)
def test_json_fallback_when_a_separator_cannot_be_escaped(
    where: Filter, expected: list[list[tuple[str, str, str]]]
) -> None:
    assert _json_filter(filter_params(where)) == expected


@pytest.mark.parametrize(
    ("op", "number"),
    [
        (Op.EQUAL, 1),
        (Op.AT_LEAST, 2),
        (Op.AT_MOST, 3),
        (Op.GREATER, 4),
        (Op.LESS, 5),
        (Op.CONTAINS, 6),
        (Op.NOT_EQUAL, 7),
        (Op.EMPTY, 8),
        (Op.NOT_EMPTY, 9),
        (Op.STARTS_WITH, 10),
        (Op.NOT_CONTAINS, 11),
        (Op.NOT_STARTS_WITH, 12),
        (Op.ENDS_WITH, 13),
        (Op.NOT_ENDS_WITH, 14),
        (Op.QUICK, 15),
    ],
    ids=lambda v: str(v.name) if isinstance(v, Op) else str(v),
)
def test_operator_numbers_match_afas(op: Op, number: int) -> None:
    assert int(op) == number
    assert filter_params([[Condition("F", op, "v")]])["operatortypes"] == str(number)


X = Condition("X", Op.EQUAL, "x")
Y = Condition("Y", Op.EQUAL, "y")
Z = Condition("Z", Op.GREATER, "z")
W = Condition("W", Op.LESS, "w")


@pytest.mark.parametrize(
    ("base", "extra", "expected"),
    [
        ([], [], []),
        ([], [Z], [[Z]]),
        ([], [Z, W], [[Z, W]]),
        ([[X]], [], [[X]]),
        ([[X]], [Z], [[X, Z]]),
        ([[X], [Y]], [Z], [[X, Z], [Y, Z]]),
        ([[X, Y], [Y]], [Z, W], [[X, Y, Z, W], [Y, Z, W]]),
    ],
    ids=[
        "nothing",
        "extra-only",
        "two-extra",
        "base-only",
        "one-group",
        "distributes-over-or",
        "and-groups-keep-order",
    ],
)
def test_and_all(base: Filter, extra: list[Condition], expected: list[list[Condition]]) -> None:
    assert and_all(base, extra) == expected


def test_and_all_does_not_modify_its_input() -> None:
    base = [[X], [Y]]
    and_all(base, [Z])
    assert base == [[X], [Y]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 1),
        ({"a": "b"}, len("?a=b")),
        ({"skip": 0, "take": 100}, len("?skip=0&take=100")),
        ({"f": "a b,c;d"}, len("?f=a+b%2Cc%3Bd")),
    ],
    ids=["empty", "one", "ints", "encoded"],
)
def test_query_length_counts_the_question_mark(params: dict[str, str | int], expected: int) -> None:
    assert query_length(params) == expected


def test_max_query_chars_is_afas_limit() -> None:
    assert MAX_QUERY_CHARS == 2049


@pytest.mark.parametrize(
    ("fields", "expected"),
    [([], {}), (["A"], {"orderbyfieldids": "A"}), (["A", "B"], {"orderbyfieldids": "A,B"})],
    ids=["none", "one", "two"],
)
def test_order_param(fields: list[str], expected: dict[str, str]) -> None:
    assert order_param(fields) == expected


@pytest.mark.parametrize(
    ("operator", "op"),
    [
        ("=", Op.EQUAL),
        (">=", Op.AT_LEAST),
        ("<=", Op.AT_MOST),
        (">", Op.GREATER),
        ("<", Op.LESS),
        ("contains", Op.CONTAINS),
        ("CONTAINS", Op.CONTAINS),
        ("!=", Op.NOT_EQUAL),
        ("<>", Op.NOT_EQUAL),
        ("empty", Op.EMPTY),
        ("not_empty", Op.NOT_EMPTY),
        ("starts_with", Op.STARTS_WITH),
        ("not_contains", Op.NOT_CONTAINS),
        ("not_starts_with", Op.NOT_STARTS_WITH),
        ("ends_with", Op.ENDS_WITH),
        ("not_ends_with", Op.NOT_ENDS_WITH),
        (1, Op.EQUAL),
        (15, Op.QUICK),
        ("4", Op.GREATER),
        ("12", Op.NOT_STARTS_WITH),
    ],
    ids=lambda v: str(v.name) if isinstance(v, Op) else repr(v),
)
def test_parse_filter_setting_accepts_names_and_numbers(operator: object, op: Op) -> None:
    conditions = parse_filter_setting(
        "Profit_Persons", [{"field": "City", "operator": operator, "value": "Ede"}]
    )
    assert conditions == [Condition("City", op, "Ede")]


def test_parse_filter_setting_keeps_order_and_stringifies_values() -> None:
    conditions = parse_filter_setting(
        "Profit_Transactions",
        [
            {"field": "UnitId", "operator": "=", "value": 1},
            {"field": "Remark", "operator": "empty"},
            {"field": "Amount", "operator": ">", "value": "10.5"},
        ],
    )
    assert conditions == [
        Condition("UnitId", Op.EQUAL, "1"),
        Condition("Remark", Op.EMPTY, ""),
        Condition("Amount", Op.GREATER, "10.5"),
    ]
    assert parse_filter_setting("Profit_Transactions", []) == []


@pytest.mark.parametrize(
    "value",
    [
        {"field": "City", "operator": "="},
        "City = Ede",
        None,
        [{"operator": "="}],
        [{"field": "City"}],
        ["City"],
        [{"field": "City", "operator": "like", "value": "x"}],
        [{"field": "City", "operator": 0}],
        [{"field": "City", "operator": 16}],
        [{"field": "City", "operator": "16"}],
        [{"field": "City", "operator": ""}],
        [{"field": "City", "operator": None}],
    ],
    ids=[
        "object-not-list",
        "string",
        "null",
        "no-field",
        "no-operator",
        "item-not-object",
        "unknown-name",
        "number-0",
        "number-16",
        "string-16",
        "empty-operator",
        "null-operator",
    ],
)
def test_parse_filter_setting_rejects_bad_input_naming_the_connector(value: object) -> None:
    with pytest.raises(AFASConfigError) as caught:
        parse_filter_setting("Profit_Special_K99", value)
    assert "Profit_Special_K99" in str(caught.value)
    assert "filters" in str(caught.value)


def test_operator_names_cover_every_compare_operator() -> None:
    assert set(OPERATOR_NAMES.values()) == set(Op) - {Op.QUICK}
    compact = filter_params([parse_filter_setting("c", [{"field": "F", "operator": ">="}])])
    assert compact == {"filterfieldids": "F", "filtervalues": "", "operatortypes": "2"}
