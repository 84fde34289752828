"""Sandbox contract, GetConnector read layer: skip/take paging, ordering and row format.

Pins afas-rest-api.md sections 3.3-3.5, 5 and 9 and the brief: skip/take defaults 0/100 and
echoes, skip=-1 for all rows, the skip=n&take=-1 500, take=0 giving one row, bad skips counting
as 0, orderbyfieldids (with '-' for descending) giving a total order that pages cleanly, an
unstable order without it, and rows with every field (null when empty), AFAS date strings and
JSON numbers/booleans. Expected orders are computed in Python from all rows (skip=-1&take=-1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox
from afas_sandbox.pytest_plugin import FIXTURE_ROWS
from tests.support.sandbox_reading import RawClient

Row = dict[str, Any]
ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
GET_CONNECTORS = [
    "Profit_Administrations",
    "Profit_Persons",
    "Profit_Organisations",
    "Profit_Employees",
    "Profit_Debtors",
    "Profit_Subjects",
    "Profit_Subject_Attachments",
    "Profit_Transactions",
    "Profit_FreeTable_K01",
    "Profit_Deleted_Records",
]
KEYS = {
    "Profit_Persons": ("PersonId",),
    "Profit_Organisations": ("OrganisationId",),
    "Profit_Employees": ("EmployeeId",),
    "Profit_Transactions": ("UnitId", "EntryNo", "SeqNo"),
}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@pytest.fixture(scope="module")
def all_rows(client: RawClient) -> Callable[[str], list[Row]]:
    """All rows of a connector (skip=-1&take=-1, no order), fetched once per module."""
    cache: dict[str, list[Row]] = {}

    def fetch(connector: str) -> list[Row]:
        if connector not in cache:
            cache[connector] = client.all_rows(connector)
        return cache[connector]

    return fetch


def _page(client: RawClient, connector: str, params: dict[str, Any] | str) -> dict[str, Any]:
    response = client.get(f"/connectors/{connector}", params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"skip", "take", "rows"}
    return body


def _key(connector: str, row: Row) -> tuple[Any, ...]:
    return tuple(row[k] for k in KEYS[connector])


def _assert_unexpected_error(response: requests.Response) -> None:
    assert response.status_code == 500, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["externalMessage"] == "Er is een onverwachte fout opgetreden."  # Dutch default
    assert body["errorNumber"] == -2147180999
    assert re.fullmatch(r"[0-9A-F]{32}", body["profitLogReference"])


def _metainfo(client: RawClient, connector: str) -> list[dict[str, Any]]:
    response = client.get(f"/metainfo/get/{connector}")
    assert response.status_code == 200
    fields: list[dict[str, Any]] = response.json()["fields"]
    return fields


def _sort_value(value: Any) -> tuple[int, Any]:
    """SQL ordering of one value: NULL lowest, strings case-insensitive (ASCII)."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.translate(_ASCII_LOWER))
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def _field_sort_key(name: str) -> Callable[[Row], tuple[int, Any]]:
    def key(row: Row) -> tuple[int, Any]:
        return _sort_value(row[name])

    return key


def _python_order(rows: list[Row], spec: str) -> list[Row]:
    result = list(rows)
    for part in reversed(spec.split(",")):
        descending = part.startswith("-")
        name = part.lstrip("-")
        result.sort(key=_field_sort_key(name), reverse=descending)
    return result


def _assert_compact_text(text: str) -> None:
    """No whitespace outside JSON string values."""
    in_string = False
    escaped = False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        else:
            assert not char.isspace(), f"whitespace at {i}: {text[max(0, i - 40) : i + 40]!r}"


# --- skip/take defaults and echoes ----------------------------------------------------------


@pytest.mark.parametrize("connector", ["Profit_Transactions", "Profit_Persons"])
def test_defaults_are_skip_0_take_100(
    client: RawClient, all_rows: Callable[[str], list[Row]], connector: str
) -> None:
    assert len(all_rows(connector)) > 100
    body = _page(client, connector, {})
    assert body["skip"] == 0
    assert body["take"] == 100
    assert len(body["rows"]) == 100


def test_demo_fixture_sizes(all_rows: Callable[[str], list[Row]]) -> None:
    assert len(all_rows("Profit_Persons")) == 600
    assert len(all_rows("Profit_Transactions")) == FIXTURE_ROWS


@pytest.mark.parametrize(
    ("skip", "take"),
    [(0, 10), (5, 7), (100, 100), (590, 50), (0, 1000), (599, 1), (600, 10), (1000, 10)],
)
def test_explicit_skip_take_are_echoed_and_applied(
    client: RawClient, all_rows: Callable[[str], list[Row]], skip: int, take: int
) -> None:
    ordered = sorted(all_rows("Profit_Persons"), key=lambda r: r["PersonId"])
    body = _page(
        client, "Profit_Persons", {"skip": skip, "take": take, "orderbyfieldids": "PersonId"}
    )
    assert body["skip"] == skip
    assert body["take"] == take
    assert body["rows"] == ordered[skip : skip + take]


def _ordered_paging(
    client: RawClient, connector: str, order: str, take: int
) -> tuple[list[Row], int]:
    rows: list[Row] = []
    skip = 0
    calls = 0
    while True:
        body = _page(client, connector, {"skip": skip, "take": take, "orderbyfieldids": order})
        calls += 1
        assert body["skip"] == skip
        assert body["take"] == take
        rows.extend(body["rows"])
        if len(body["rows"]) < take:
            return rows, calls
        skip += take
        assert calls < 10_000


@pytest.mark.parametrize("take", [-1, 5, 0, None])
def test_skip_minus_one_returns_all_rows(client: RawClient, take: int | None) -> None:
    params: dict[str, Any] = {"skip": -1}
    if take is not None:
        params["take"] = take
    body = _page(client, "Profit_Persons", params)
    assert body["skip"] == -1
    paged, _ = _ordered_paging(client, "Profit_Persons", "PersonId", 100)
    keys = {r["PersonId"] for r in paged}
    assert len(body["rows"]) == len(keys)
    assert {r["PersonId"] for r in body["rows"]} == keys


def test_skip_minus_one_take_minus_one_returns_every_transaction(client: RawClient) -> None:
    body = _page(client, "Profit_Transactions", {"skip": -1, "take": -1})
    assert body["skip"] == -1
    paged, _ = _ordered_paging(client, "Profit_Transactions", "UnitId,EntryNo,SeqNo", 500)
    keys = {_key("Profit_Transactions", r) for r in paged}
    assert len(body["rows"]) == len(keys) > 100
    assert {_key("Profit_Transactions", r) for r in body["rows"]} == keys


@pytest.mark.parametrize("params", ["skip=2&take=-1", "skip=0&take=-1", "take=-1"])
def test_take_minus_one_without_skip_minus_one_is_500(client: RawClient, params: str) -> None:
    _assert_unexpected_error(client.get("/connectors/Profit_Persons", params))


def test_take_zero_returns_exactly_one_row(client: RawClient) -> None:
    body = _page(client, "Profit_Persons", {"skip": 0, "take": 0})
    assert body["take"] == 0
    assert len(body["rows"]) == 1
    body = _page(client, "Profit_Persons", {"skip": 3, "take": 0, "orderbyfieldids": "PersonId"})
    second = _page(client, "Profit_Persons", {"skip": 3, "take": 1, "orderbyfieldids": "PersonId"})
    assert body["rows"] == second["rows"]


@pytest.mark.parametrize("skip", ["abc", "", "-5", "-2", "x1"])
def test_bad_skip_behaves_as_zero(client: RawClient, skip: str) -> None:
    order = {"orderbyfieldids": "PersonId", "take": 5}
    expected = _page(client, "Profit_Persons", {**order, "skip": 0})
    body = _page(client, "Profit_Persons", {**order, "skip": skip})
    assert body["skip"] == 0
    assert body["take"] == 5
    assert body["rows"] == expected["rows"]


# --- ordering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connector", "order", "take"),
    [
        ("Profit_Organisations", "OrganisationId", 1),
        ("Profit_Organisations", "OrganisationId", 7),
        ("Profit_Organisations", "OrganisationId", 149),
        ("Profit_Organisations", "OrganisationId", 150),
        ("Profit_Organisations", "-OrganisationId", 1000),
        ("Profit_Persons", "PersonId", 100),
        ("Profit_Persons", "-PersonId", 37),
        ("Profit_Employees", "EmployeeId", 11),
    ],
)
def test_ordered_paging_returns_every_row_once_in_order(
    client: RawClient,
    all_rows: Callable[[str], list[Row]],
    connector: str,
    order: str,
    take: int,
) -> None:
    everything = all_rows(connector)
    key = KEYS[connector][0]
    expected = sorted((r[key] for r in everything), reverse=order.startswith("-"))
    assert len(set(expected)) == len(expected)
    paged, calls = _ordered_paging(client, connector, order, take)
    assert [r[key] for r in paged] == expected
    assert calls == len(expected) // take + 1


def test_transactions_composite_key_paging(
    client: RawClient, all_rows: Callable[[str], list[Row]]
) -> None:
    everything = all_rows("Profit_Transactions")
    expected = sorted(_key("Profit_Transactions", r) for r in everything)
    assert len(set(expected)) == len(expected)
    paged, _ = _ordered_paging(client, "Profit_Transactions", "UnitId,EntryNo,SeqNo", 250)
    assert [_key("Profit_Transactions", r) for r in paged] == expected
    # Sorting on the first key field alone does not make pages unique: there are ties.
    assert len({k[0] for k in expected}) < len(expected)


@pytest.mark.parametrize(
    ("connector", "order"),
    [
        ("Profit_Persons", "Prefix,-LastName,PersonId"),
        ("Profit_Persons", "-Prefix,City,-PersonId"),
        ("Profit_Persons", "Nieuwsbrief,-HouseNumber,FirstName,PersonId"),
        ("Profit_Persons", "-BirthDate,Email,PersonId"),
        ("Profit_Employees", "-HoursPerWeek,BirthDate,EmployeeId"),
        ("Profit_Employees", "Blocked,-EmploymentEnd,-Salary,EmployeeId"),
        ("Profit_Transactions", "-AmountDebit,UnitId,EntryNo,SeqNo"),
        ("Profit_Transactions", "JournalId,-Year,-Period,AccountNo,UnitId,-EntryNo,SeqNo"),
    ],
)
def test_multi_field_order_matches_python_sorting(
    client: RawClient, all_rows: Callable[[str], list[Row]], connector: str, order: str
) -> None:
    everything = all_rows(connector)
    expected = _python_order(everything, order)
    body = _page(client, connector, {"skip": -1, "take": -1, "orderbyfieldids": order})
    assert [_key(connector, r) for r in body["rows"]] == [_key(connector, r) for r in expected]
    # The order is not simply the key order (the leading fields matter).
    assert expected != _python_order(everything, ",".join(KEYS[connector]))


def test_string_order_is_case_insensitive(afas_sandbox: RunningSandbox, api: RawClient) -> None:
    """Mixed-case names sort together (SQL Server's default collation), not upper case first."""
    names = ["aaa-Sorteer", "AAB-Sorteer", "aac-Sorteer", "AAD-Sorteer"]
    for name in reversed(names):
        body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": name}}}}
        assert api.post("/connectors/KnPerson", body).status_code == 201
    for order, expected in (("LastName", names), ("-LastName", names[::-1])):
        rows = _page(api, "Profit_Persons", {"skip": -1, "orderbyfieldids": order})["rows"]
        ours = [r["LastName"] for r in rows if r["LastName"].endswith("-Sorteer")]
        assert ours == expected
    assert sorted(names) != names  # a case-sensitive order would differ


def test_nulls_sort_first_ascending_and_last_descending(client: RawClient) -> None:
    ascending = _page(client, "Profit_Persons", {"skip": -1, "orderbyfieldids": "Prefix"})
    values = [r["Prefix"] for r in ascending["rows"]]
    nulls = values.count(None)
    assert 0 < nulls < len(values)
    assert values[:nulls] == [None] * nulls
    descending = _page(client, "Profit_Persons", {"skip": -1, "orderbyfieldids": "-Prefix"})
    values = [r["Prefix"] for r in descending["rows"]]
    assert values[-nulls:] == [None] * nulls
    assert None not in values[:-nulls]


# --- no order: unstable ---------------------------------------------------------------------


def test_order_without_orderbyfieldids_changes_between_calls(client: RawClient) -> None:
    """Five full reads without order: with a random order the chance that all five agree is
    at most (1/600)^4 even for a mere random rotation of 600 rows."""
    orders = []
    for _ in range(5):
        rows = _page(client, "Profit_Persons", {"skip": -1, "take": -1})["rows"]
        orders.append(tuple(r["PersonId"] for r in rows))
    assert len({frozenset(o) for o in orders}) == 1  # the same rows every time
    assert len(set(orders)) > 1


def test_ties_on_the_requested_order_come_back_in_varying_order(client: RawClient) -> None:
    orders = []
    for _ in range(5):
        rows = _page(client, "Profit_Persons", {"skip": -1, "orderbyfieldids": "Gender"})["rows"]
        genders = [r["Gender"] for r in rows]
        assert genders == sorted(genders, key=lambda g: _sort_value(g))
        orders.append(tuple(r["PersonId"] for r in rows))
    assert len(set(orders)) > 1


def test_paging_without_order_misses_or_doubles_rows(
    client: RawClient, all_rows: Callable[[str], list[Row]]
) -> None:
    everything = {r["PersonId"] for r in all_rows("Profit_Persons")}
    seen: list[str] = []
    skip = 0
    while True:
        rows = _page(client, "Profit_Persons", {"skip": skip, "take": 100})["rows"]
        seen.extend(r["PersonId"] for r in rows)
        if len(rows) < 100:
            break
        skip += 100
    assert len(seen) == len(everything)  # the pages are full; only their content drifts
    duplicated = len(seen) - len(set(seen))
    missing = len(everything - set(seen))
    assert duplicated > 0
    assert missing > 0


# --- row format -----------------------------------------------------------------------------


@pytest.mark.parametrize("connector", GET_CONNECTORS)
def test_rows_have_every_field_and_typed_values(
    client: RawClient, all_rows: Callable[[str], list[Row]], connector: str
) -> None:
    fields = _metainfo(client, connector)
    ids = {f["id"] for f in fields}
    rows = all_rows(connector)
    if connector != "Profit_Deleted_Records":
        assert rows, connector
    for row in rows:
        assert set(row) == ids
        for field in fields:
            value = row[field["id"]]
            if value is None:
                continue
            data_type = field["dataType"]
            if data_type in ("string", "blob"):
                assert isinstance(value, str), (field["id"], value)
                assert value != "", f"empty string instead of null in {field['id']}"
            elif data_type == "int":
                assert type(value) is int, (field["id"], value)
            elif data_type == "decimal":
                assert type(value) in (int, float), (field["id"], value)
            elif data_type == "boolean":
                assert type(value) is bool, (field["id"], value)
            else:
                assert data_type == "date"
                assert isinstance(value, str)
                assert DATETIME.fullmatch(value), (field["id"], value)
                if field["controlType"] == 4:
                    assert value.endswith("T00:00:00Z"), (field["id"], value)
                if field["controlType"] == 7:
                    assert value.startswith("1900-01-01T"), (field["id"], value)


def test_empty_values_are_null(all_rows: Callable[[str], list[Row]]) -> None:
    persons = all_rows("Profit_Persons")
    assert any(r["Prefix"] is None for r in persons)
    assert any(r["Prefix"] is not None for r in persons)
    transactions = all_rows("Profit_Transactions")
    assert any(r["AmountCredit"] is None for r in transactions)
    employees = all_rows("Profit_Employees")
    assert any(r["EmploymentEnd"] is None for r in employees)


def test_deleted_records_rows_have_every_field(
    afas_sandbox: RunningSandbox, api: RawClient
) -> None:
    result = afas_sandbox.mutate("Profit_Persons", deletes=3)
    assert len(result.deleted) == 3
    fields = _metainfo(api, "Profit_Deleted_Records")
    rows = api.all_rows("Profit_Deleted_Records")
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {f["id"] for f in fields}
        assert type(row["LogId"]) is int
        assert DATETIME.fullmatch(row["Datum_mutatie"])
    assert sorted(r["Sleutel"] for r in rows) == sorted(result.deleted)


@pytest.mark.parametrize(
    "connector", ["Profit_Persons", "Profit_Employees", "Profit_Transactions", "Profit_Debtors"]
)
def test_row_pages_are_compact_json(client: RawClient, connector: str) -> None:
    first = _metainfo(client, connector)[0]["id"]
    response = client.get(f"/connectors/{connector}", {"take": 50, "orderbyfieldids": first})
    assert response.status_code == 200
    assert response.headers.get("Content-Type", "").startswith("application/json")
    text = response.content.decode("utf-8")
    _assert_compact_text(text)
    assert json.loads(text)["rows"]


def test_decimals_are_json_numbers_in_the_raw_body(client: RawClient) -> None:
    response = client.get(
        "/connectors/Profit_Employees", {"take": 5, "orderbyfieldids": "EmployeeId"}
    )
    text = response.content.decode("utf-8")
    assert re.search(r'"Salary":-?\d+(\.\d+)?[,}]', text)
    assert re.search(r'"Blocked":(true|false)[,}]', text)
    assert '"Salary":"' not in text
