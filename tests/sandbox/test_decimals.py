"""Sandbox contract, decimals end to end: POST exactly, refuse what does not fit, GET exactly.

Layer: afas-sandbox only, over real HTTP with plain ``requests``. Bodies are sent as raw JSON
text, so every number reaches the sandbox spelled as written, and GetConnector answers are read
back as text and with ``Decimal``, so a float's rounding or an exponent would show. Two
sandboxes: the demo fixture (KnCustomK01's Budget is ``decimal`` length 12, 2 decimals) and a
small dataset built here whose Amount field is length 24, 2 decimals, wide enough for
``1234567890123456789.12``, which no demo field holds.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from afas_sandbox.datasets import Dataset
from afas_sandbox.datasets.demo import tokens
from afas_sandbox.model import (
    GetConnectorDef,
    GetField,
    UpdateConnectorDef,
    UpdateField,
    UpdateObjectDef,
)
from afas_sandbox.sandbox import AFASSandbox
from afas_sandbox.server import serve_core
from afas_sandbox.store import Store, build_template
from afas_sandbox.updates.writer import DeleteTarget, Element, WriteContext
from afas_sandbox.world import World
from tests.support.sandbox_reading import RawClient

ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}
LOG_REFERENCE = re.compile(r"[0-9A-F]{32}")
PROJECT_NAME = "U018A40C7A37A5B7A93502E52BF447225"
BUDGET = "U7CAD08037F825575A885C5EDD55A9ABF"

# --------------------------------------------------------------------------- the wide dataset

AMOUNTS_DDL = "CREATE TABLE amounts (id INTEGER PRIMARY KEY, amount TEXT, note TEXT, modified TEXT)"
AMOUNTS_GET = GetConnectorDef(
    id="Test_Amounts",
    description="Bedragen",
    source="amounts a",
    fields=(
        GetField("Id", "U001", "int", "Nummer", "a.id", 9),
        GetField("Amount", "U002", "decimal", "Bedrag", "a.amount", 24, decimals=2),
        GetField("Note", "U003", "string", "Notitie", "a.note", 50),
    ),
)
AMOUNTS_UPDATE = UpdateConnectorDef(
    id="KnTestAmount",
    description="Bedrag",
    root=UpdateObjectDef(
        name="KnTestAmount",
        fields=(
            UpdateField("Id", "int", "Nummer", primary_key=True, length=9),
            UpdateField("Amount", "decimal", "Bedrag", length=24, decimals=2),
            UpdateField("Note", "string", "Notitie", length=50),
        ),
    ),
)


class AmountWriter:
    """Inserts and updates rows of ``amounts``; the key is ``@Id`` (numbered when absent)."""

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        row_id = element.value("Id")
        if row_id is None:
            row_id = ctx.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM amounts").fetchone()[0]
        ctx.conn.execute(
            "INSERT INTO amounts VALUES (?, ?, ?, ?)",
            (row_id, element.value("Amount"), element.value("Note"), ctx.stamp),
        )
        return {"Id": str(row_id)}

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        row_id = element.value("Id")
        ctx.conn.execute(
            "UPDATE amounts SET amount = ? WHERE id = ?", (element.value("Amount"), row_id)
        )
        return {"Id": str(row_id)}

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None:
        raise ctx.reject("bad_action", action="delete", object="KnTestAmount")


def _populate(conn: sqlite3.Connection, *, seed: int, rows: int) -> None:
    _ = conn, seed, rows


def amounts_dataset() -> Dataset:
    return Dataset(
        name="decimals",
        version="1",
        ddl=AMOUNTS_DDL,
        populate=_populate,
        default_rows=0,
        get_connectors=(AMOUNTS_GET,),
        update_connectors=(AMOUNTS_UPDATE,),
        writers={"KnTestAmount": AmountWriter()},
        entities={},
        tokens=tokens(),
        subject_files=lambda conn, sb_id, file_id: None,
        make_faker=lambda seed: None,
    )


@pytest.fixture
def wide() -> Iterator[RawClient]:
    """A full-access client of a sandbox serving only Test_Amounts / KnTestAmount."""
    dataset = amounts_dataset()
    store = Store.copy_of(build_template(dataset, seed=1, rows=0))
    core = AFASSandbox(dataset, store)
    world = World(dataset, store, core.clock, 1)
    sandbox = serve_core(core, world)
    client = RawClient(sandbox, sandbox.tokens.full.header)
    yield client
    client.close()
    sandbox.stop()


# --------------------------------------------------------------------------- helpers


def post_raw(
    client: RawClient, connector: str, body: str, language: str = "nl-nl"
) -> requests.Response:
    """POST ``body`` as it is written (numbers keep their spelling)."""
    return client.session.post(
        f"{client.sandbox.base_url}/connectors/{connector}",
        data=body.encode("utf-8"),
        headers={"Content-Type": "application/json", "Accept-Language": language},
        timeout=30,
    )


def amount_body(*amounts: str, note: str = '"n"') -> str:
    """A KnTestAmount body with one Element per amount, each spelled as given."""
    elements = [f'{{"Fields":{{"Amount":{a},"Note":{note}}}}}' for a in amounts]
    return f'{{"KnTestAmount":{{"Element":[{",".join(elements)}]}}}}'


def rows_text(client: RawClient, connector: str, **params: Any) -> str:
    response = client.get(f"/connectors/{connector}", {"skip": -1, "take": -1, **params})
    assert response.status_code == 200, response.text
    return response.text


def rows_exact(client: RawClient, connector: str, **params: Any) -> list[dict[str, Any]]:
    """Every row, with numbers read as ``Decimal`` (the digits as sent on the wire)."""
    rows: list[dict[str, Any]] = json.loads(
        rows_text(client, connector, **params), parse_float=Decimal
    )["rows"]
    return rows


def assert_afas_error(response: requests.Response, *fragments: str) -> None:
    """A 500 with AFAS's JSON error body whose message holds every fragment."""
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["errorNumber"], int)
    assert LOG_REFERENCE.fullmatch(body["profitLogReference"])
    for fragment in fragments:
        assert fragment in body["externalMessage"], body["externalMessage"]


# --------------------------------------------------------------------------- exact round trips


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        pytest.param("1234567890123456789.12", "1234567890123456789.12", id="19-digits"),
        pytest.param('"1234567890123456789.12"', "1234567890123456789.12", id="as-text"),
        pytest.param("-0.01", "-0.01", id="negative-cent"),
        pytest.param("0.10", "0.10", id="trailing-zero"),
        pytest.param("1.500", "1.50", id="zeros-beyond-places"),
        pytest.param("42", "42.00", id="integer"),
        pytest.param("0", "0.00", id="zero"),
        pytest.param("-0.00", "0.00", id="negative-zero"),
        pytest.param("9" * 22 + ".99", "9" * 22 + ".99", id="max-length"),
        pytest.param("-" + "9" * 22 + ".99", "-" + "9" * 22 + ".99", id="min-length"),
        pytest.param("1E+21", "1" + "0" * 21 + ".00", id="exponent"),
        pytest.param("5e-2", "0.05", id="small-exponent"),
    ],
)
def test_a_decimal_comes_back_with_exactly_its_digits(
    wide: RawClient, sent: str, shown: str
) -> None:
    response = post_raw(wide, "KnTestAmount", amount_body(sent))
    assert response.status_code == 201, response.text
    row_id = response.json()["results"]["KnTestAmount"][0]["Id"]

    text = rows_text(wide, "Test_Amounts")
    assert f'"Amount":{shown},' in text  # a JSON number with these digits, no exponent
    (row,) = rows_exact(wide, "Test_Amounts")
    assert row == {"Id": int(row_id), "Amount": Decimal(shown), "Note": "n"}


def test_the_demo_budget_keeps_its_largest_value_exactly(api: RawClient) -> None:
    body = {
        "KnCustomK01": {
            "Element": {"Fields": {PROJECT_NAME: "Grootste budget", BUDGET: "__BUDGET__"}}
        }
    }
    text = json.dumps(body).replace('"__BUDGET__"', "9999999999.99")
    response = post_raw(api, "KnCustomK01", text)
    assert response.status_code == 201, response.text
    sq_no = int(response.json()["results"]["KnCustomK01"]["SqNo"])

    rows = rows_exact(api, "Profit_FreeTable_K01")
    assert [r["Budget"] for r in rows if r["SqNo"] == sq_no] == [Decimal("9999999999.99")]
    assert '"Budget":9999999999.99,' in rows_text(api, "Profit_FreeTable_K01")


# --------------------------------------------------------------------------- refusals


DIGITS = ("maximaal 22 cijfers voor de komma", "at most 22 digits before the decimal point")
PLACES = ("heeft meer dan 2 decimalen", "has more than 2 decimals")
NOT_A_NUMBER = ("is geen geldige getal", "is not a valid number")


@pytest.mark.parametrize(
    ("sent", "messages"),
    [
        pytest.param("9" * 23 + ".99", DIGITS, id="one-digit-more"),
        pytest.param("0.001", PLACES, id="too-many-places"),
        pytest.param("1.2345", PLACES, id="four-places"),
        pytest.param("12345678901234567890123456789", DIGITS, id="29-digits"),
        pytest.param("1234567890123456789012345678901234567890.5", DIGITS, id="40-digits"),
        pytest.param("1" * 5000, DIGITS, id="5000-digits"),
        pytest.param("1e999999999", DIGITS, id="huge-exponent"),
        pytest.param("1e-999999999", PLACES, id="tiny-exponent"),
        pytest.param("NaN", NOT_A_NUMBER, id="nan"),
        pytest.param("Infinity", NOT_A_NUMBER, id="infinity"),
        pytest.param("-Infinity", NOT_A_NUMBER, id="minus-infinity"),
    ],
)
def test_a_decimal_that_does_not_fit_is_refused_with_the_afas_body(
    wide: RawClient, sent: str, messages: tuple[str, str]
) -> None:
    post_raw(wide, "KnTestAmount", amount_body("1.00"))
    body = amount_body("2.00", sent)
    dutch, english = messages

    assert_afas_error(post_raw(wide, "KnTestAmount", body), dutch, "'Bedrag' (Amount)")
    assert_afas_error(post_raw(wide, "KnTestAmount", body, "en-us"), english, "(Amount)")
    # The whole body is refused: not even its valid element landed.
    assert [r["Amount"] for r in rows_exact(wide, "Test_Amounts")] == [Decimal("1.00")]


@pytest.mark.parametrize("sent", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_number_in_a_text_field_is_refused(wide: RawClient, sent: str) -> None:
    response = post_raw(wide, "KnTestAmount", amount_body("1.00", note=sent))
    assert_afas_error(response, "'Notitie' (Note)")
    assert rows_exact(wide, "Test_Amounts") == []


def test_the_reported_value_is_refused_by_the_demo_budget_not_rounded(api: RawClient) -> None:
    """Budget is length 12 with 2 decimals: 1234567890123456789.12 used to land as 1.23e18."""
    before = rows_exact(api, "Profit_FreeTable_K01", orderbyfieldids="SqNo")
    for sent in ("1234567890123456789.12", "99999999999.99", "0.125"):
        text = (
            f'{{"KnCustomK01":{{"Element":{{"Fields":{{"{PROJECT_NAME}":"Te groot",'
            f'"{BUDGET}":{sent}}}}}}}}}'
        )
        assert_afas_error(post_raw(api, "KnCustomK01", text), "'Budget'")
    assert rows_exact(api, "Profit_FreeTable_K01", orderbyfieldids="SqNo") == before


# --------------------------------------------------------------------------- order and filters

ORDERED = [
    "1234567890123456789.13",
    "-0.01",
    "0.10",
    "1234567890123456789.12",
    "0.1",
    "-9999999999999999999999.99",
    "9.5",
    "10",
    "-10",
    "1234567890123456788.99",
    "0",
    "100.01",
    "null",
    "9999999999999999999999.99",
    "-1234567890123456789.12",
]


def _value(row: dict[str, Any]) -> Decimal | None:
    value = row["Amount"]
    return None if value is None else Decimal(value)


def test_ordering_on_a_decimal_follows_python_decimal_sorting(wide: RawClient) -> None:
    response = post_raw(wide, "KnTestAmount", amount_body(*ORDERED))
    assert response.status_code == 201, response.text
    values = [_value(r) for r in rows_exact(wide, "Test_Amounts")]
    assert len(values) == len(ORDERED)
    numbers = sorted(v for v in values if v is not None)

    ascending = [_value(r) for r in rows_exact(wide, "Test_Amounts", orderbyfieldids="Amount")]
    descending = [_value(r) for r in rows_exact(wide, "Test_Amounts", orderbyfieldids="-Amount")]

    assert ascending == [None, *numbers]  # NULL first, as SQL Server and SQLite sort it
    assert descending == [*reversed(numbers), None]


@pytest.mark.parametrize("operator", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("value", ["1234567890123456789.12", "0.1", "0.10", "-0.01", "10"])
def test_filters_on_a_decimal_compare_by_value(wide: RawClient, operator: int, value: str) -> None:
    assert post_raw(wide, "KnTestAmount", amount_body(*ORDERED)).status_code == 201
    every = rows_exact(wide, "Test_Amounts")
    target = Decimal(value)
    compare = {
        1: lambda x: x == target,
        2: lambda x: x >= target,
        3: lambda x: x <= target,
        4: lambda x: x > target,
        5: lambda x: x < target,
        7: lambda x: x != target,
    }[operator]
    expected = sorted(r["Id"] for r in every if r["Amount"] is not None and compare(r["Amount"]))

    compact = {"filterfieldids": "Amount", "filtervalues": value, "operatortypes": operator}
    document = {
        "Filters": {
            "Filter": [
                {"Field": [{"@FieldId": "Amount", "@OperatorType": operator, "#text": "__V__"}]}
            ]
        }
    }
    as_json = {"filterjson": json.dumps(document).replace('"__V__"', value)}  # a JSON number

    for params in (compact, as_json):
        found = sorted(r["Id"] for r in rows_exact(wide, "Test_Amounts", **params))
        assert found == expected, params


@pytest.mark.parametrize(
    ("connector", "field"),
    [
        ("Profit_Debtors", "Balance"),
        ("Profit_Debtors", "CreditLimit"),
        ("Profit_Transactions", "AmountDebit"),
        ("Profit_Employees", "Salary"),
    ],
)
def test_demo_decimals_sort_and_filter_as_python_decimals(
    client: RawClient, connector: str, field: str
) -> None:
    every = rows_exact(client, connector)
    numbers = sorted(r[field] for r in every if r[field] is not None)
    nulls = [None] * (len(every) - len(numbers))
    assert len(numbers) > 10

    ascending = [r[field] for r in rows_exact(client, connector, orderbyfieldids=field)]
    descending = [r[field] for r in rows_exact(client, connector, orderbyfieldids=f"-{field}")]
    assert ascending == [*nulls, *numbers]
    assert descending == [*reversed(numbers), *nulls]

    middle = numbers[len(numbers) // 2]
    params = {"filterfieldids": field, "filtervalues": str(middle), "operatortypes": 2}
    found = rows_exact(client, connector, **params)
    assert len(found) == sum(1 for n in numbers if n >= middle)
    assert all(r[field] >= middle for r in found)


@pytest.mark.parametrize(
    "params",
    [
        {"filterfieldids": "Amount", "filtervalues": "NaN", "operatortypes": 1},
        {"filterfieldids": "Amount", "filtervalues": "Infinity", "operatortypes": 2},
        {"filterfieldids": "Amount", "filtervalues": "twelve", "operatortypes": 2},
        {"filterfieldids": "Id", "filtervalues": "9" * 30, "operatortypes": 1},
        {"filterfieldids": "Id", "filtervalues": "9" * 1900, "operatortypes": 1},
        {
            "filterjson": '{"Filters":{"Filter":{"Field":{"@FieldId":"Amount","@OperatorType":1,'
            '"#text":NaN}}}}'
        },
    ],
    ids=["nan", "infinity", "text", "int-beyond-64-bits", "int-1900-digits", "filterjson-nan"],
)
def test_a_bad_number_in_a_filter_is_a_500_body(wide: RawClient, params: dict[str, Any]) -> None:
    response = wide.get("/connectors/Test_Amounts", params)
    assert_afas_error(response, "Er is een onverwachte fout opgetreden.")  # Dutch by default


@pytest.mark.parametrize("skip_take", [("9" * 30, "5"), ("0", "9" * 30), ("0", "9" * 1900)])
def test_skip_or_take_beyond_32_bits_counts_as_not_given(
    wide: RawClient, skip_take: tuple[str, str]
) -> None:
    """AFAS reads skip and take as Int32; a value it cannot read is treated like text."""
    assert post_raw(wide, "KnTestAmount", amount_body("1", "2", "3")).status_code == 201
    skip, take = skip_take
    response = wide.get("/connectors/Test_Amounts", {"skip": skip, "take": take})
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["skip"], page["take"]) == (0, int(take) if len(take) < 3 else 100)
    assert len(page["rows"]) == 3  # from the first row, at most 100


@pytest.mark.parametrize("subject", ["9" * 30, "%C2%B2"], ids=["beyond-64-bits", "superscript"])
def test_a_subject_id_that_is_no_64_bit_number_is_not_found(api: RawClient, subject: str) -> None:
    response = api.get(f"/SubjectConnector/{subject}/{'A' * 32}")
    assert response.status_code == 404, response.text
