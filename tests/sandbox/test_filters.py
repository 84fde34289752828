"""Sandbox contract, GetConnector filter layer: compact triple, filterjson, operators 1-15.

Pins afas-rest-api.md sections 3.2 and 9 and the brief's filter decisions. Every expected
result is computed in Python from all rows (fetched with skip=-1&take=-1, no filter): strings
compare case-insensitively (ASCII), NULL only matches operator 8, a '%' in the value makes it
a LIKE pattern used as-is, '_' is literal, LIKE operators on ints compare the digits as text.
Also: AND/OR groups, filterjson (lists or single objects), date value formats, errors for
unknown fields and mismatched shapes, and the 2049-character query-string limit (404).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.sandbox_reading import RawClient

Row = dict[str, Any]
ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}
KEYS = {
    "Profit_Persons": ("PersonId",),
    "Profit_Employees": ("EmployeeId",),
    "Profit_Transactions": ("UnitId", "EntryNo", "SeqNo"),
}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


@dataclass
class Data:
    """All rows and field metadata of the connectors under test, fetched once."""

    rows: dict[str, list[Row]]
    fields: dict[str, dict[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def data(client: RawClient) -> Data:
    rows: dict[str, list[Row]] = {}
    fields: dict[str, dict[str, dict[str, Any]]] = {}
    for connector in KEYS:
        rows[connector] = client.all_rows(connector)
        meta = client.get(f"/metainfo/get/{connector}")
        assert meta.status_code == 200
        fields[connector] = {f["id"]: f for f in meta.json()["fields"]}
    return Data(rows, fields)


# --- the Python reference implementation ----------------------------------------------------


def _fold(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _like(text: str, pattern: str) -> bool:
    """SQL LIKE with '%' as the only wildcard ('_' is literal), ASCII case-insensitive."""
    regex = ".*".join(re.escape(part) for part in _fold(pattern).split("%"))
    return re.fullmatch(regex, _fold(text), re.S) is not None


def _date_text(raw: str, control_type: int) -> str:
    raw = raw.strip()
    if control_type == 7 and re.fullmatch(r"\d\d:\d\d(:\d\d)?", raw):
        raw = "1900-01-01T" + raw
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?)?", raw)
    assert match, raw
    day, hh, mm, ss = match.groups()
    return f"{day}T{hh or '00'}:{mm or '00'}:{ss or '00'}"


def _coerce(raw: str, field: dict[str, Any]) -> Any:
    data_type = field["dataType"]
    if data_type == "int":
        return int(raw)
    if data_type == "decimal":
        return float(raw)
    if data_type == "boolean":
        assert raw.lower() in _TRUE | _FALSE
        return raw.lower() in _TRUE
    if data_type == "date":
        return _date_text(raw, field["controlType"])
    return _fold(raw)


def _comparable(value: Any, field: dict[str, Any]) -> Any:
    data_type = field["dataType"]
    if data_type == "date":
        assert value.endswith("Z")
        return value[:-1]
    if data_type in ("string", "blob"):
        return _fold(value)
    return value


def _pattern(op: int, raw: str) -> tuple[str, bool]:
    """The LIKE pattern and negation of a LIKE-style operator."""
    if "%" in raw:
        return raw, op in (7, 11, 12, 14)
    if op in (6, 11, 15):
        return f"%{raw}%", op == 11
    if op in (10, 12):
        return f"{raw}%", op == 12
    return f"%{raw}", op == 14


def _matches(value: Any, op: int, raw: str, field: dict[str, Any]) -> bool:
    if op == 8:
        return value is None or value == ""
    if op == 9:
        return not (value is None or value == "")
    if value is None:
        return False  # SQL three-valued logic: NULL only matches "is empty"
    if op in (6, 10, 11, 12, 13, 14, 15) or (op in (1, 7) and "%" in raw):
        pattern, negate = _pattern(op, raw)
        text = value if isinstance(value, str) else str(value)
        return _like(text, pattern) != negate
    left, right = _comparable(value, field), _coerce(raw, field)
    if op == 1:
        return bool(left == right)
    if op == 7:
        return bool(left != right)
    if op == 2:
        return bool(left >= right)
    if op == 3:
        return bool(left <= right)
    if op == 4:
        return bool(left > right)
    assert op == 5
    return bool(left < right)


Condition = tuple[str, int, str]  # field id, operator, value


def _expected(data: Data, connector: str, groups: list[list[Condition]]) -> list[tuple[Any, ...]]:
    fields = data.fields[connector]
    return sorted(
        _key(connector, row)
        for row in data.rows[connector]
        if any(
            all(_matches(row[f], op, value, fields[f]) for f, op, value in group)
            for group in groups
        )
    )


def _key(connector: str, row: Row) -> tuple[Any, ...]:
    return tuple(row[k] for k in KEYS[connector])


def _compact(groups: list[list[Condition]]) -> dict[str, str]:
    return {
        "filterfieldids": ";".join(",".join(c[0] for c in g) for g in groups),
        "filtervalues": ";".join(",".join(c[2] for c in g) for g in groups),
        "operatortypes": ";".join(",".join(str(c[1]) for c in g) for g in groups),
    }


def _filterjson(groups: list[list[Condition]]) -> dict[str, str]:
    document = {
        "Filters": {
            "Filter": [
                {
                    "@FilterId": f"Filter {i + 1}",
                    "Field": [
                        {"@FieldId": f, "@OperatorType": str(op), "#text": value}
                        for f, op, value in group
                    ],
                }
                for i, group in enumerate(groups)
            ]
        }
    }
    return {"filterjson": json.dumps(document)}


def _fetch(client: RawClient, connector: str, params: dict[str, str]) -> list[tuple[Any, ...]]:
    response = client.get(f"/connectors/{connector}", {"skip": -1, "take": -1, **params})
    assert response.status_code == 200, response.text
    return sorted(_key(connector, row) for row in response.json()["rows"])


def _assert_error(response: requests.Response, message: str | None = None) -> None:
    assert response.status_code == 500, response.text[:300]
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["externalMessage"], str)
    assert body["externalMessage"]
    assert type(body["errorNumber"]) is int
    assert re.fullmatch(r"[0-9A-F]{32}", body["profitLogReference"])
    if message is not None:
        assert body["externalMessage"] == message


def _assert_not_near_boundary(data: Data, connector: str, field_id: str, raw: str) -> None:
    """Datetime fields are stored with microseconds; keep Python's view exact by choosing
    boundaries that no displayed value lies within a second of."""
    field = data.fields[connector][field_id]
    if field["controlType"] != 8:
        return
    boundary = datetime.fromisoformat(_date_text(raw, 8))
    for row in data.rows[connector]:
        if row[field_id] is not None:
            shown = datetime.fromisoformat(row[field_id][:-1])
            assert abs(shown - boundary) > timedelta(seconds=1), (row[field_id], raw)


# --- every operator against Python filtering ------------------------------------------------

P, T, E = "Profit_Persons", "Profit_Transactions", "Profit_Employees"
OPERATOR_CASES: list[tuple[str, str, int, str]] = [
    # 1 equal
    (P, "LastName", 1, "DEKKER"),
    (P, "Prefix", 1, "Van Der"),
    (P, "City", 1, "düsseldorf"),
    (P, "Gender", 1, "v"),
    (P, "HouseNumber", 1, "140"),
    (P, "BirthDate", 1, "1966-05-28"),
    (P, "Nieuwsbrief", 1, "true"),
    (P, "Nieuwsbrief", 1, "0"),
    (T, "AmountDebit", 1, "1387.39"),
    (T, "UnitId", 1, "2"),
    (T, "JournalId", 1, "70"),
    (T, "EntryDate", 1, "2021-01-01"),
    (E, "Blocked", 1, "true"),
    (E, "Blocked", 1, "false"),
    (E, "HoursPerWeek", 1, "40"),
    (E, "FunctionCode", 1, "dev"),
    (E, "StartTime", 1, "09:00"),
    # 2 >=
    (P, "LastName", 2, "m"),
    (P, "HouseNumber", 2, "100"),
    (P, "BirthDate", 2, "1980-01-01"),
    (P, "ModifiedDate", 2, "2025-01-01T12:30:15"),
    (T, "Year", 2, "2024"),
    (T, "AmountDebit", 2, "1000"),
    (T, "EntryDate", 2, "2025-01-01"),
    (E, "HoursPerWeek", 2, "36"),
    (E, "StartTime", 2, "08:30"),
    (E, "Gewijzigd_op", 2, "2025-06-01T12:00"),
    # 3 <=
    (P, "LastName", 3, "de"),
    (P, "HouseNumber", 3, "20"),
    (P, "BirthDate", 3, "1975-06-30T00:00"),
    (T, "AmountDebit", 3, "86.4"),
    (E, "Salary", 3, "3000"),
    (E, "HoursPerWeek", 3, "24.0"),
    (E, "EmploymentEnd", 3, "2024-12-31T00:00"),
    # 4 >
    (P, "LastName", 4, "Zeeman"),
    (P, "HouseNumber", 4, "200"),
    (P, "BirthDate", 4, "1990-12-31T00:00:00"),
    (T, "AmountDebit", 4, "1276.13"),
    (E, "Salary", 4, "5000.50"),
    (E, "EmploymentEnd", 4, "2025-06-01"),
    # 5 <
    (P, "LastName", 5, "B"),
    (P, "HouseNumber", 5, "10"),
    (P, "BirthDate", 5, "1970-01-01"),
    (T, "AmountDebit", 5, "100.5"),
    (T, "Period", 5, "4"),
    (T, "EntryDate", 5, "2021-06-30T00:00"),
    (E, "HoursPerWeek", 5, "32.5"),
    (E, "StartTime", 5, "08:00:00"),
    (E, "Gewijzigd_op", 5, "2024-01-01"),
    # 6 contains
    (P, "City", 6, "DAM"),
    (P, "Email", 6, "YAHOO"),
    (P, "HouseNumber", 6, "12"),
    (T, "Description", 6, "factuur"),
    # 7 not equal
    (P, "Prefix", 7, "van"),
    (P, "Email", 7, "dana.dekker@yahoo.com"),
    (P, "HouseNumber", 7, "140"),
    (P, "Nieuwsbrief", 7, "true"),
    (P, "BirthDate", 7, "1966-05-28"),
    (T, "UnitId", 7, "1"),
    (T, "AmountDebit", 7, "1387.39"),
    (E, "Blocked", 7, "1"),
    (E, "FunctionCode", 7, "CON"),
    # 8 is empty
    (P, "Prefix", 8, ""),
    (P, "Email", 8, ""),
    (P, "HouseNumberAdd", 8, ""),
    (P, "Lidnummer", 8, ""),
    (P, "Nieuwsbrief", 8, ""),
    (T, "AmountCredit", 8, ""),
    (T, "DocumentDate", 8, ""),
    (E, "EmploymentEnd", 8, ""),
    # 9 is not empty
    (P, "Prefix", 9, ""),
    (P, "Email", 9, ""),
    (P, "Nieuwsbrief", 9, ""),
    (P, "Phone", 9, ""),
    (T, "AmountCredit", 9, ""),
    (E, "EmploymentEnd", 9, ""),
    # 10 starts with
    (P, "LastName", 10, "VAN"),
    (P, "Email", 10, "dana"),
    (P, "PersonId", 10, "1001"),
    (P, "HouseNumber", 10, "1"),
    (T, "Description", 10, "bank"),
    (E, "DepartmentCode", 10, "oe-f"),
    # 11 does not contain
    (P, "Email", 11, "gmail"),
    (P, "City", 11, "a"),
    (T, "Description", 11, "memoriaal"),
    # 12 does not start with
    (P, "LastName", 12, "de"),
    (P, "ZipCode", 12, "1"),
    (T, "Description", 12, "verkoop"),
    (E, "FunctionCode", 12, "m"),
    # 13 ends with
    (P, "Email", 13, ".COM"),
    (P, "LastName", 13, "man"),
    (P, "HouseNumber", 13, "5"),
    (T, "Description", 13, "0001"),
    (T, "EntryNo", 13, "7"),
    (E, "DepartmentCode", 13, "ICT"),
    # 14 does not end with
    (P, "Email", 14, "gmail.com"),
    (P, "City", 14, "en"),
    (T, "Description", 14, "0002"),
    (E, "DepartmentCode", 14, "-ict"),
    # 15 quick filter (approximated as contains)
    (P, "City", 15, "burg"),
    (P, "LastName", 15, "JONG"),
    (T, "Description", 15, "Salaris"),
]


@pytest.mark.parametrize(
    ("connector", "field_id", "op", "value"),
    OPERATOR_CASES,
    ids=[f"{c[0][7:]}-{c[1]}-op{c[2]}-{c[3] or 'empty'}" for c in OPERATOR_CASES],
)
def test_operator_matches_python_filtering(
    client: RawClient, data: Data, connector: str, field_id: str, op: int, value: str
) -> None:
    _assert_not_near_boundary(data, connector, field_id, value)
    groups = [[(field_id, op, value)]]
    expected = _expected(data, connector, groups)
    assert 0 < len(expected) < len(data.rows[connector]), "case does not discriminate"
    assert _fetch(client, connector, _compact(groups)) == expected


def test_every_operator_is_covered() -> None:
    assert {case[2] for case in OPERATOR_CASES} == set(range(1, 16))


def test_quick_filter_equals_contains(client: RawClient) -> None:
    for value in ("burg", "DAM", "e"):
        contains = _fetch(client, P, _compact([[("City", 6, value)]]))
        quick = _fetch(client, P, _compact([[("City", 15, value)]]))
        assert quick == contains


def test_null_only_matches_is_empty(client: RawClient, data: Data) -> None:
    """A row with NULL Prefix is in no result except operator 8."""
    null_ids = {r["PersonId"] for r in data.rows[P] if r["Prefix"] is None}
    assert null_ids
    for op, value in [(1, "x"), (2, ""), (3, "zzz"), (5, "zzz"), (6, "a"), (7, "van")]:
        keys = {k[0] for k in _fetch(client, P, _compact([[("Prefix", op, value)]]))}
        assert not keys & null_ids, op
    for op, value in [(10, "v"), (11, "zzz"), (12, "zzz"), (13, "n"), (14, "zzz"), (9, "")]:
        keys = {k[0] for k in _fetch(client, P, _compact([[("Prefix", op, value)]]))}
        assert not keys & null_ids, op
    empty = {k[0] for k in _fetch(client, P, _compact([[("Prefix", 8, "")]]))}
    assert empty == null_ids


# --- AND / OR groups and filterjson ---------------------------------------------------------

COMBINATIONS: list[tuple[str, list[list[Condition]]]] = [
    (P, [[("Gender", 1, "V"), ("Prefix", 9, "")], [("LastName", 10, "Z")]]),
    (
        P,
        [
            [("Nieuwsbrief", 1, "true"), ("HouseNumber", 3, "50"), ("Email", 13, "gmail.com")],
            [("Prefix", 1, "van der"), ("BirthDate", 5, "1970-01-01")],
            [("City", 6, "burg")],
        ],
    ),
    (P, [[("Gender", 1, "O")], [("Gender", 1, "X")]]),
    (P, [[("Prefix", 8, ""), ("Gender", 1, "m"), ("City", 14, "en")]]),
    (T, [[("UnitId", 1, "1"), ("JournalId", 1, "20")], [("AmountDebit", 4, "5000")]]),
    (T, [[("Year", 1, "2023"), ("Period", 3, "3"), ("AccountKind", 1, "2")]]),
    (E, [[("Blocked", 1, "false"), ("HoursPerWeek", 2, "36")], [("EmploymentEnd", 9, "")]]),
]


@pytest.mark.parametrize(("connector", "groups"), COMBINATIONS)
def test_and_or_groups_match_python(
    client: RawClient, data: Data, connector: str, groups: list[list[Condition]]
) -> None:
    expected = _expected(data, connector, groups)
    assert 0 < len(expected) < len(data.rows[connector])
    assert _fetch(client, connector, _compact(groups)) == expected


def test_or_is_the_union_and_and_the_intersection(client: RawClient) -> None:
    a = ("Gender", 1, "V")
    b = ("Prefix", 9, "")
    c = ("LastName", 10, "Z")

    def keys(groups: list[list[Condition]]) -> set[tuple[Any, ...]]:
        return set(_fetch(client, P, _compact(groups)))

    ka, kb, kc = keys([[a]]), keys([[b]]), keys([[c]])
    assert keys([[a, b]]) == ka & kb
    assert keys([[a], [c]]) == ka | kc
    assert keys([[a, b], [c]]) == (ka & kb) | kc
    assert (ka & kb) | kc != ka & (kb | kc)  # grouping matters for this data
    assert keys([[a, b], [c]]) != ka & (kb | kc)


@pytest.mark.parametrize(("connector", "groups"), COMBINATIONS)
def test_filterjson_equals_compact_form(
    client: RawClient, connector: str, groups: list[list[Condition]]
) -> None:
    compact = _fetch(client, connector, _compact(groups))
    assert compact
    assert _fetch(client, connector, _filterjson(groups)) == compact


def test_filterjson_with_single_objects(client: RawClient, data: Data) -> None:
    expected = _expected(data, P, [[("Gender", 1, "V")]])
    field = {"@FieldId": "Gender", "@OperatorType": "1", "#text": "V"}
    variants = [
        {"Filters": {"Filter": {"@FilterId": "f1", "Field": field}}},
        {"Filters": {"Filter": [{"@FilterId": "f1", "Field": field}]}},
        {"Filters": {"Filter": {"@FilterId": "f1", "Field": [field]}}},
    ]
    for document in variants:
        assert _fetch(client, P, {"filterjson": json.dumps(document)}) == expected, document
    two = {
        "Filters": {
            "Filter": {
                "@FilterId": "f1",
                "Field": [field, {"@FieldId": "Prefix", "@OperatorType": "8", "#text": ""}],
            }
        }
    }
    expected_two = _expected(data, P, [[("Gender", 1, "V"), ("Prefix", 8, "")]])
    assert _fetch(client, P, {"filterjson": json.dumps(two)}) == expected_two


def test_filterjson_empty_operator_without_text(client: RawClient, data: Data) -> None:
    document = {"Filters": {"Filter": [{"Field": [{"@FieldId": "Prefix", "@OperatorType": "8"}]}]}}
    expected = _expected(data, P, [[("Prefix", 8, "")]])
    assert _fetch(client, P, {"filterjson": json.dumps(document)}) == expected


def test_filterjson_value_with_separators(client: RawClient, data: Data) -> None:
    """filterjson carries values with ',' that the compact form cannot."""
    targets = [r["LastName"] for r in data.rows[P] if r["LastName"] and "," in r["LastName"]]
    assert targets, "the demo data has last names with a comma"
    for value in targets[:2]:
        document = {
            "Filters": {
                "Filter": [
                    {"Field": [{"@FieldId": "LastName", "@OperatorType": "1", "#text": value}]}
                ]
            }
        }
        expected = _expected(data, P, [[("LastName", 1, value)]])
        assert expected
        assert _fetch(client, P, {"filterjson": json.dumps(document)}) == expected


# --- wildcards ------------------------------------------------------------------------------

WILDCARD_CASES: list[tuple[str, int, str, str]] = [
    # (field, op, value with '%', how a sandbox that wraps the value would read it)
    ("LastName", 6, "van%", "%van%%"),
    ("LastName", 13, "de%", "%de%"),
    ("City", 10, "%berg", "%berg%"),
    ("Email", 11, "gmail%", "%gmail%%"),
    ("Prefix", 1, "van%", "="),
    ("Prefix", 7, "van%", "<>"),
    ("City", 1, "%dam", "="),
    ("LastName", 12, "%n", "%n%"),
    ("LastName", 14, "s%", "%s%"),
]


@pytest.mark.parametrize(("field_id", "op", "value", "other"), WILDCARD_CASES)
def test_value_with_percent_is_used_as_like_pattern(
    client: RawClient, data: Data, field_id: str, op: int, value: str, other: str
) -> None:
    groups = [[(field_id, op, value)]]
    expected = _expected(data, P, groups)
    assert expected
    assert _fetch(client, P, _compact(groups)) == expected
    # The case discriminates: reading the value another way gives another answer.
    if other in ("=", "<>"):
        literal = [
            _key(P, r)
            for r in data.rows[P]
            if r[field_id] is not None and (_fold(r[field_id]) == _fold(value)) == (other == "=")
        ]
        assert sorted(literal) != expected
    else:
        negate = op in (11, 12, 14)
        wrapped = [
            _key(P, r)
            for r in data.rows[P]
            if r[field_id] is not None and _like(r[field_id], other) != negate
        ]
        assert sorted(wrapped) != expected


@pytest.mark.parametrize(
    ("field_id", "op", "value"),
    [("Email", 10, "d_n"), ("Email", 6, "_"), ("LastName", 1, "De_ker"), ("Email", 13, "_com")],
)
def test_underscore_is_literal(
    client: RawClient, data: Data, field_id: str, op: int, value: str
) -> None:
    groups = [[(field_id, op, value)]]
    expected = _expected(data, P, groups)
    as_wildcard = re.compile(
        {1: "{}", 6: ".*{}.*", 10: "{}.*", 13: ".*{}"}[op].format(
            re.escape(value.lower()).replace("_", ".")
        )
    )
    wildcard_hits = [
        r for r in data.rows[P] if r[field_id] and as_wildcard.fullmatch(_fold(r[field_id]))
    ]
    assert len(wildcard_hits) > len(expected)  # '_' as a wildcard would match more
    assert _fetch(client, P, _compact(groups)) == expected


# --- operators 8/9: the value slot ----------------------------------------------------------


@pytest.mark.parametrize("value", ["", "[is leeg]", "whatever"])
@pytest.mark.parametrize("op", [8, 9])
def test_empty_operators_ignore_the_value(
    client: RawClient, data: Data, op: int, value: str
) -> None:
    expected = _expected(data, P, [[("Prefix", op, "")]])
    assert 0 < len(expected) < len(data.rows[P])
    assert _fetch(client, P, _compact([[("Prefix", op, value)]])) == expected
    combined = [[("Prefix", op, value), ("Gender", 1, "V")]]
    expected_combined = _expected(data, P, [[("Prefix", op, ""), ("Gender", 1, "V")]])
    assert _fetch(client, P, _compact(combined)) == expected_combined


def test_empty_operator_with_empty_filtervalues_parameter(client: RawClient, data: Data) -> None:
    expected = _expected(data, P, [[("Email", 8, "")]])
    params = {"filterfieldids": "Email", "filtervalues": "", "operatortypes": "8"}
    assert _fetch(client, P, params) == expected
    with_slot = {"filterfieldids": "Email,Gender", "filtervalues": ",V", "operatortypes": "8,1"}
    assert _fetch(client, P, with_slot) == _expected(
        data, P, [[("Email", 8, ""), ("Gender", 1, "V")]]
    )
    leeg = {
        "filterfieldids": "Email;Prefix",
        "filtervalues": "[is leeg];[is leeg]",
        "operatortypes": "8;8",
    }
    assert _fetch(client, P, leeg) == _expected(data, P, [[("Email", 8, "")], [("Prefix", 8, "")]])


# --- date values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connector", "field_id", "op", "formats"),
    [
        (P, "BirthDate", 2, ["1980-01-01", "1980-01-01T00:00", "1980-01-01T00:00:00"]),
        (P, "BirthDate", 1, ["1966-05-28", "1966-05-28T00:00", "1966-05-28T00:00:00"]),
        (T, "EntryDate", 5, ["2022-03-15", "2022-03-15T00:00", "2022-03-15T00:00:00"]),
        (P, "ModifiedDate", 4, ["2025-01-01", "2025-01-01T00:00", "2025-01-01T00:00:00"]),
        (E, "Gewijzigd_op", 3, ["2025-06-01T12:00", "2025-06-01T12:00:00"]),
    ],
)
def test_date_values_without_z_in_three_formats(
    client: RawClient, data: Data, connector: str, field_id: str, op: int, formats: list[str]
) -> None:
    _assert_not_near_boundary(data, connector, field_id, formats[0])
    expected = _expected(data, connector, [[(field_id, op, formats[0])]])
    assert 0 < len(expected) < len(data.rows[connector])
    for value in formats:
        assert _fetch(client, connector, _compact([[(field_id, op, value)]])) == expected, value


@pytest.mark.parametrize(
    ("field_id", "value"),
    [
        ("BirthDate", "1980-01-01T00:00:00Z"),
        ("ModifiedDate", "2025-01-01T00:00:00Z"),
        ("BirthDate", "1980-01-01Z"),
    ],
)
def test_date_value_with_z_is_500(client: RawClient, field_id: str, value: str) -> None:
    response = client.get(
        "/connectors/Profit_Persons",
        {"filterfieldids": field_id, "filtervalues": value, "operatortypes": "2"},
    )
    _assert_error(response)


# --- errors ---------------------------------------------------------------------------------

NOT_FOUND = "Connectorveld 'Nope' niet gevonden"  # the environment's language: Dutch


@pytest.mark.parametrize(
    "params",
    [
        {"filterfieldids": "Nope", "filtervalues": "1", "operatortypes": "1"},
        {"filterfieldids": "Gender,Nope", "filtervalues": "V,1", "operatortypes": "1,1"},
        {"filterfieldids": "Gender;Nope", "filtervalues": "V;1", "operatortypes": "1;8"},
        {
            "filterjson": json.dumps(
                {"Filters": {"Filter": [{"Field": [{"@FieldId": "Nope", "@OperatorType": "1"}]}]}}
            )
        },
        {"orderbyfieldids": "Nope"},
        {"orderbyfieldids": "-Nope"},
        {"orderbyfieldids": "PersonId,Nope"},
    ],
    ids=["filter", "filter-and", "filter-or", "filterjson", "order", "order-desc", "order-2nd"],
)
def test_unknown_field_is_500_field_not_found(client: RawClient, params: dict[str, str]) -> None:
    _assert_error(client.get("/connectors/Profit_Persons", params), NOT_FOUND)


@pytest.mark.parametrize(
    "params",
    [
        {"filterfieldids": "Gender,City", "filtervalues": "V", "operatortypes": "1,1"},
        {"filterfieldids": "Gender", "filtervalues": "V", "operatortypes": "1,1"},
        {"filterfieldids": "Gender;City", "filtervalues": "V,Lille", "operatortypes": "1;1"},
        {"filterfieldids": "Gender,City", "filtervalues": "V;Lille", "operatortypes": "1,1"},
        {"filterfieldids": "Gender,City", "filtervalues": "V,Lille", "operatortypes": "1;1"},
        {"filterfieldids": "Gender;City;Prefix", "filtervalues": "V;X", "operatortypes": "1;1;8"},
        {"filterfieldids": "Gender", "filtervalues": "V"},
    ],
    ids=[
        "values-short",
        "ops-long",
        "values-and-vs-or",
        "values-or-vs-and",
        "ops-or-vs-and",
        "values-group-missing",
        "no-operatortypes",
    ],
)
def test_mismatched_shapes_are_500(client: RawClient, params: dict[str, str]) -> None:
    _assert_error(client.get("/connectors/Profit_Persons", params))


def test_matching_shapes_are_accepted(client: RawClient) -> None:
    """Positive control for the shape tests: the same filters with matching shapes work."""
    for params in (
        {"filterfieldids": "Gender,City", "filtervalues": "V,Lille", "operatortypes": "1,1"},
        {"filterfieldids": "Gender;City", "filtervalues": "V;Lille", "operatortypes": "1;1"},
    ):
        assert client.get("/connectors/Profit_Persons", params).status_code == 200


# --- URL length -----------------------------------------------------------------------------


def _long_query(data: Data, length: int, suffix: str = "") -> tuple[str, set[str]]:
    """A valid query string of exactly ``length`` chars: OR groups on PersonId, then suffix."""
    ids = sorted(r["PersonId"] for r in data.rows[P])
    chosen: list[str] = []

    def build(values: list[str], pad: int) -> str:
        all_values = [*values, "X" * pad]
        n = len(all_values)
        return (
            "filterfieldids="
            + ";".join(["PersonId"] * n)
            + "&filtervalues="
            + ";".join(all_values)
            + "&operatortypes="
            + ";".join(["1"] * n)
            + suffix
        )

    for person_id in ids:
        if len(build([*chosen, person_id], 1)) > length:
            break
        chosen.append(person_id)
    pad = 1
    while len(build(chosen, pad)) < length:
        pad += 1
    query = build(chosen, pad)
    assert len(query) == length
    return query, set(chosen)


def _get_query(client: RawClient, query: str) -> requests.Response:
    url = f"{client.sandbox.base_url}/connectors/Profit_Persons?{query}"
    response = client.session.get(url, timeout=30)
    assert response.request.url is not None
    assert response.request.url.endswith("?" + query)  # sent as built, not re-encoded
    return response


def test_query_string_of_exactly_2048_chars_is_accepted(client: RawClient, data: Data) -> None:
    """2048 characters after the '?' (2049 counting it) is the longest allowed."""
    query, chosen = _long_query(data, 2048, suffix="&skip=-1")
    response = _get_query(client, query)
    assert response.status_code == 200, response.text[:200]
    assert {r["PersonId"] for r in response.json()["rows"]} == chosen
    assert len(chosen) > 50


@pytest.mark.parametrize("length", [2049, 2050, 4000])
def test_query_string_over_2049_chars_is_404(client: RawClient, data: Data, length: int) -> None:
    query, _ = _long_query(data, length, suffix="&skip=-1")
    response = _get_query(client, query)
    assert response.status_code == 404


def test_long_filterjson_over_the_limit_is_404(client: RawClient) -> None:
    fields = [
        {"@FieldId": "PersonId", "@OperatorType": "1", "#text": str(100001 + i)} for i in range(60)
    ]
    document = {
        "Filters": {"Filter": [{"@FilterId": f"f{i}", "Field": f} for i, f in enumerate(fields)]}
    }
    response = client.get("/connectors/Profit_Persons", {"filterjson": json.dumps(document)})
    assert response.request.url is not None
    assert len(response.request.url.split("?", 1)[1]) + 1 > 2049
    assert response.status_code == 404
