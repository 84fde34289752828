"""target-duckdb-afas: what lands in the DuckDB file, with which column types.

Every test loads Singer messages (mostly in-process, two through the console script) into a
database file in ``tmp_path`` and reads the file back with the ``duckdb`` module: row values
and the types in information_schema.columns. (Names, schemas and migrations from earlier
versions: test_names.py; declared decimal places and reruns: test_types_and_reruns.py.)
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError, InvalidRecord

import target_duckdb_afas
from target_duckdb_afas.rows import DecimalOutOfRangeError
from target_duckdb_afas.sink import NullKeyError
from tests.support.singer_messages import (
    DATE,
    DATE_TIME,
    DELETED_AT,
    INTEGER,
    NULLABLE_INTEGER,
    NUMBER,
    STRING,
    TIME,
    Line,
    record_message,
    schema_message,
    state_message,
    stream_messages,
)
from tests.support.warehouse_runs import UTC, Warehouse, load, run_duckdb_cli


def amount_line(stream: str, row_id: int, number_text: str) -> str:
    """A RECORD line with ``amount`` written exactly as ``number_text`` (a JSON number)."""
    return (
        f'{{"type":"RECORD","stream":"{stream}","record":{{"id":{row_id},"amount":{number_text}}}}}'
    )


AMOUNTS = schema_message("Amounts", {"id": INTEGER, "amount": NUMBER}, ["id"])


# --------------------------------------------------------------------------- warnings


def test_a_load_raises_no_warnings_from_the_loader(warehouse: Warehouse) -> None:
    """The suite runs with ``filterwarnings = error``: the loader must not warn."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warehouse.load(
            stream_messages("Things", [{"id": 1}], properties={"id": INTEGER, "name": STRING})
        )
    package = str(Path(target_duckdb_afas.__file__).parent)
    from_loader = [
        f"{Path(w.filename).name}:{w.lineno}: {w.category.__name__}: {w.message}"
        for w in caught
        if w.filename.startswith(package)
    ]
    assert sorted(set(from_loader)) == []
    assert warehouse.query("SELECT id FROM things") == [(1,)]


# --------------------------------------------------------------------------- column types


def test_each_json_schema_kind_gets_its_column_type(warehouse: Warehouse) -> None:
    properties: dict[str, dict[str, Any]] = {
        "Id": INTEGER,
        "Amount": {"type": "number"},
        "NullableAmount": NUMBER,
        "AnyOfAmount": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "Count": NULLABLE_INTEGER,
        "Day": DATE,
        "Clock": TIME,
        "Moment": DATE_TIME,
        "Flag": {"type": "boolean"},
        "NullableFlag": {"type": ["boolean", "null"]},
        "Label": {"type": "string"},
        "NullableLabel": STRING,
        "Details": {"type": ["object", "null"], "properties": {"a": INTEGER}},
        "Tags": {"type": ["array", "null"], "items": {"type": "string"}},
    }
    record = {
        "Id": 1,
        "Amount": Decimal("1.25"),
        "NullableAmount": None,
        "AnyOfAmount": Decimal("-2.5"),
        "Count": 7,
        "Day": "2024-02-29",
        "Clock": "23:59:58",
        "Moment": "2024-02-29T12:00:00Z",
        "Flag": True,
        "NullableFlag": None,
        "Label": "x",
        "NullableLabel": None,
        "Details": {"a": 1},
        "Tags": ["p", "q"],
    }
    warehouse.load(stream_messages("Kinds", [record], ["Id"], properties=properties))

    assert warehouse.column_types("Kinds") == {
        "Id": "BIGINT",
        "Amount": "DECIMAL(38,10)",
        "NullableAmount": "DECIMAL(38,10)",
        "AnyOfAmount": "DECIMAL(38,10)",
        "Count": "BIGINT",
        "Day": "DATE",
        "Clock": "TIME",
        "Moment": "TIMESTAMP WITH TIME ZONE",
        "Flag": "BOOLEAN",
        "NullableFlag": "BOOLEAN",
        "Label": "VARCHAR",
        "NullableLabel": "VARCHAR",
        "Details": "VARCHAR",
        "Tags": "VARCHAR",
    }
    assert warehouse.query("SELECT * FROM kinds") == [
        (
            1,
            Decimal("1.25"),
            None,
            Decimal("-2.5"),
            7,
            dt.date(2024, 2, 29),
            dt.time(23, 59, 58),
            dt.datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
            True,
            None,
            "x",
            None,
            '{"a":1}',
            '["p","q"]',
        )
    ]


def test_decimal_scale_sets_the_places_of_number_columns(warehouse: Warehouse) -> None:
    warehouse.load(
        [AMOUNTS, amount_line("Amounts", 1, "1234.5"), amount_line("Amounts", 2, "-0.01")],
        decimal_scale=2,
    )
    assert warehouse.column_types("Amounts") == {"id": "BIGINT", "amount": "DECIMAL(38,2)"}
    assert warehouse.query("SELECT id, amount::VARCHAR FROM amounts ORDER BY id") == [
        (1, "1234.50"),
        (2, "-0.01"),
    ]


# --------------------------------------------------------------------------- decimals


@pytest.mark.parametrize(
    "number_text",
    [
        "12345678901234567890.1234567891",
        "-0.0000000001",
        "0.1",
        "1e-5",
        "1E+3",
        "-123",
        "0",
        "9999999999999999999999999999.9999999999",  # 38 digits: the widest DECIMAL(38, 10)
        "-9999999999999999999999999999.9999999999",
    ],
)
def test_decimals_round_trip_exactly(warehouse: Warehouse, number_text: str) -> None:
    warehouse.load([AMOUNTS, amount_line("Amounts", 1, number_text)])
    [(amount,)] = warehouse.query("SELECT amount FROM amounts")
    assert isinstance(amount, Decimal)
    assert amount == Decimal(number_text)


def test_trailing_zeros_beyond_the_scale_are_accepted(warehouse: Warehouse) -> None:
    warehouse.load(
        [
            AMOUNTS,
            amount_line("Amounts", 1, "1.500000000000000"),
            amount_line("Amounts", 2, "2.000000000000000000000000000000000000000000000"),
            amount_line("Amounts", 3, "100.0000000000000"),
        ]
    )
    assert warehouse.query("SELECT id, amount FROM amounts ORDER BY id") == [
        (1, Decimal("1.5")),
        (2, Decimal("2")),
        (3, Decimal("100")),
    ]


@pytest.mark.parametrize(
    ("number_text", "settings", "problem"),
    [
        ("0.12345678901", {}, "has 11 decimal places but the column keeps 10"),
        ("1e-11", {}, "has 11 decimal places but the column keeps 10"),
        ("1.005", {"decimal_scale": 2}, "has 3 decimal places but the column keeps 2"),
        (
            "12345678901234567890123456789",
            {},
            "has 29 integer digits but the column holds 28",
        ),
    ],
)
def test_a_decimal_the_column_cannot_hold_stops_the_load(
    warehouse: Warehouse, number_text: str, settings: dict[str, Any], problem: str
) -> None:
    warehouse.load([AMOUNTS, amount_line("Amounts", 1, "1.5")], **settings)
    lines: list[Line] = [
        AMOUNTS,
        amount_line("Amounts", 2, "2.5"),
        amount_line("Amounts", 3, number_text),
    ]

    with pytest.raises(DecimalOutOfRangeError) as raised:
        warehouse.load(lines, **settings)

    message = str(raised.value)
    assert "stream 'Amounts', column 'amount'" in message
    assert problem in message
    assert "decimal_scale" in message
    assert "\n" not in message
    # Nothing of the failing batch landed (not even the valid record before it).
    assert warehouse.query("SELECT id, amount FROM amounts") == [(1, Decimal("1.5"))]


def test_a_record_against_its_schema_stops_the_load_unless_validation_is_off(
    warehouse: Warehouse,
) -> None:
    bad = [AMOUNTS, amount_line("Amounts", 1, "1.5"), amount_line("Amounts", 2, '"lots"')]

    with pytest.raises(InvalidRecord, match=r"amount must be number"):
        warehouse.load(bad)
    assert warehouse.query("SELECT count(*) FROM amounts") == [(0,)]

    # With validation off the value reaches DuckDB, which refuses the batch: still no silent
    # loss, and nothing of the batch lands.
    with pytest.raises(DecimalOutOfRangeError, match=r"column .amount.: .lots. is not a number"):
        warehouse.load(bad, validate_records=False)
    assert warehouse.query("SELECT count(*) FROM amounts") == [(0,)]


# --------------------------------------------------------------------------- dates and times


def test_date_times_land_as_utc_instants_dates_and_times_as_given(warehouse: Warehouse) -> None:
    """Date-times are TIMESTAMP WITH TIME ZONE: the instant, whatever offset the text had (text
    without one is UTC); a client sees them in its session's zone, never shifted."""
    properties = {"id": INTEGER, "moment": DATE_TIME, "day": DATE, "clock": TIME}
    records: list[dict[str, Any]] = [
        {"id": 1, "moment": "2024-03-31T00:30:00+01:00", "day": "2024-03-31", "clock": "00:30:00"},
        {"id": 2, "moment": "2024-03-31T02:30:00Z", "day": "2024-02-29", "clock": "23:59:59.5"},
        {"id": 3, "moment": "2024-03-31T02:30:00", "day": "1999-12-31", "clock": "12:00:00"},
        {"id": 4, "moment": "2024-10-27T02:30:00.123456-05:30", "day": None, "clock": None},
        {"id": 5, "moment": None, "day": "2024-01-01", "clock": "00:00:00"},
    ]
    warehouse.load(stream_messages("Moments", records, ["id"], properties=properties))

    rows = warehouse.query("SELECT id, moment, day, clock FROM moments ORDER BY id")
    assert rows == [
        (1, dt.datetime(2024, 3, 30, 23, 30, tzinfo=UTC), dt.date(2024, 3, 31), dt.time(0, 30)),
        (
            2,
            dt.datetime(2024, 3, 31, 2, 30, tzinfo=UTC),
            dt.date(2024, 2, 29),
            dt.time(23, 59, 59, 500000),
        ),
        (3, dt.datetime(2024, 3, 31, 2, 30, tzinfo=UTC), dt.date(1999, 12, 31), dt.time(12, 0)),
        (4, dt.datetime(2024, 10, 27, 8, 0, 0, 123456, tzinfo=UTC), None, None),
        (5, None, dt.date(2024, 1, 1), dt.time(0, 0)),
    ]
    assert all(moment.tzinfo is not None for _, moment, _, _ in rows if moment is not None)
    # A client in another zone sees the same instants, shown in its zone.
    shown = warehouse.query(
        "SET TimeZone = 'Europe/Amsterdam'; "
        "SELECT strftime(moment, '%Y-%m-%d %H:%M %z') FROM moments WHERE id IN (1, 2) ORDER BY id"
    )
    assert shown == [("2024-03-31 00:30 +01",), ("2024-03-31 04:30 +02",)]


# --------------------------------------------------------------------------- many batches


@pytest.mark.parametrize("keys", [["id"], []], ids=["upsert", "append"])
def test_every_record_lands_across_many_batches(warehouse: Warehouse, keys: list[str]) -> None:
    """2,500 records in batches of 300: no row is lost, least of all a batch's first."""
    total = 2500
    properties = {"id": INTEGER, "booked": DATE_TIME, "amount": NUMBER, "day": DATE}
    lines: list[Any] = [schema_message("Transactions", properties, keys)]
    for i in range(1, total + 1):
        record = {
            "id": i,
            "booked": f"2024-01-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:00+01:00",
            "amount": Decimal(f"{i}.{i % 100:02d}"),
            "day": f"2023-12-{i % 31 + 1:02d}",
        }
        lines.append(record_message("Transactions", record))
        if i % 1000 == 0:
            lines.append(state_message({"bookmarks": {"Transactions": {"id": i}}}))
    lines.append(state_message({"bookmarks": {"Transactions": {"id": total}}}))

    run = warehouse.load(lines, batch_size_rows=300)

    expected_amounts = sum(Decimal(f"{i}.{i % 100:02d}") for i in range(1, total + 1))
    assert warehouse.query(
        "SELECT count(*), count(DISTINCT id), sum(id), sum(amount) FROM transactions"
    ) == [(total, total, total * (total + 1) // 2, expected_amounts)]
    ids = {row[0] for row in warehouse.query("SELECT id FROM transactions")}
    assert ids == set(range(1, total + 1))
    # The first record of each batch, with all its values.
    firsts = list(range(1, total + 1, 300))
    rows = warehouse.query(
        "SELECT id, booked, amount, day FROM transactions WHERE id IN "
        f"({', '.join(map(str, firsts))}) ORDER BY id"
    )
    assert rows == [
        (
            i,
            dt.datetime(2024, 1, i % 28 + 1, i % 24, i % 60, tzinfo=UTC) - dt.timedelta(hours=1),
            Decimal(f"{i}.{i % 100:02d}"),
            dt.date(2023, 12, i % 31 + 1),
        )
        for i in firsts
    ]
    assert run.states[-1] == {"bookmarks": {"Transactions": {"id": total}}}


# --------------------------------------------------------------------------- upserts


PEOPLE = {"id": INTEGER, "name": STRING, "score": NUMBER}


def test_a_second_run_updates_and_inserts_without_duplicates(warehouse: Warehouse) -> None:
    first = [
        {"id": 1, "name": "Ann", "score": Decimal("1.1")},
        {"id": 2, "name": "Bob", "score": Decimal("2.2")},
        {"id": 3, "name": "Cas", "score": Decimal("3.3")},
    ]
    warehouse.load(stream_messages("People", first, ["id"], properties=PEOPLE))
    second = [
        {"id": 2, "name": "Bobby", "score": None},
        {"id": 4, "name": "Dee", "score": Decimal("4.4")},
    ]
    warehouse.load(stream_messages("People", second, ["id"], properties=PEOPLE))

    assert warehouse.query("SELECT id, name, score FROM people ORDER BY id") == [
        (1, "Ann", Decimal("1.1")),
        (2, "Bobby", None),
        (3, "Cas", Decimal("3.3")),
        (4, "Dee", Decimal("4.4")),
    ]


@pytest.mark.parametrize("batch_size_rows", [100, 2], ids=["one-batch", "across-batches"])
def test_the_last_record_per_key_wins(warehouse: Warehouse, batch_size_rows: int) -> None:
    records = [
        {"id": 1, "name": "first", "score": Decimal("1")},
        {"id": 2, "name": "only", "score": Decimal("2")},
        {"id": 1, "name": "second", "score": Decimal("11")},
        {"id": 1, "name": "third", "score": Decimal("111")},
    ]
    warehouse.load(
        stream_messages("People", records, ["id"], properties=PEOPLE),
        batch_size_rows=batch_size_rows,
    )
    assert warehouse.query("SELECT id, name, score FROM people ORDER BY id") == [
        (1, "third", Decimal("111")),
        (2, "only", Decimal("2")),
    ]


LINES = {"order": INTEGER, "line": INTEGER, "product": STRING}


def test_composite_keys_match_on_every_key_column(warehouse: Warehouse) -> None:
    first = [
        {"order": 1, "line": 1, "product": "a"},
        {"order": 1, "line": 2, "product": "b"},
        {"order": 2, "line": 1, "product": "c"},
    ]
    warehouse.load(stream_messages("OrderLines", first, ["order", "line"], properties=LINES))
    second = [
        {"order": 1, "line": 2, "product": "B"},
        {"order": 2, "line": 2, "product": "d"},
        {"order": 2, "line": 2, "product": "D"},
    ]
    warehouse.load(stream_messages("OrderLines", second, ["order", "line"], properties=LINES))

    assert warehouse.query('SELECT "order", line, product FROM orderlines ORDER BY ALL') == [
        (1, 1, "a"),
        (1, 2, "B"),
        (2, 1, "c"),
        (2, 2, "D"),
    ]


PERSONS = {"PersonId": STRING, "name": STRING}
PAIRS = {"a": NULLABLE_INTEGER, "b": STRING, "value": STRING}


def test_records_with_a_null_key_are_refused_and_nothing_of_their_batch_lands(
    warehouse: Warehouse,
) -> None:
    warehouse.load(
        stream_messages(
            "Persons", [{"PersonId": "1", "name": "a"}], ["PersonId"], properties=PERSONS
        )
    )
    batch: list[dict[str, Any]] = [
        {"PersonId": "2", "name": "fine"},
        {"PersonId": None, "name": "x"},
        {"PersonId": "1", "name": "changed"},
        {"PersonId": None, "name": "y"},
    ]

    with pytest.raises(NullKeyError) as raised:
        warehouse.load(stream_messages("Persons", batch, ["PersonId"], properties=PERSONS))

    message = str(raised.value)
    assert "\n" not in message
    assert "stream 'Persons'" in message
    assert "2 records have no value (null or missing) for key property 'PersonId'" in message
    assert "nothing of this batch was loaded" in message
    assert "primary_keys" in message
    assert "append-only" in message
    assert warehouse.query('SELECT "PersonId", name FROM persons') == [("1", "a")]


def test_non_null_keys_still_upsert_after_a_refused_batch(warehouse: Warehouse) -> None:
    warehouse.load(
        stream_messages(
            "Persons", [{"PersonId": "1", "name": "a"}], ["PersonId"], properties=PERSONS
        )
    )
    with pytest.raises(NullKeyError):
        warehouse.load(
            stream_messages("Persons", [{"PersonId": None}], ["PersonId"], properties=PERSONS)
        )

    fixed = [{"PersonId": "1", "name": "a2"}, {"PersonId": "2", "name": "b"}]
    warehouse.load(stream_messages("Persons", fixed, ["PersonId"], properties=PERSONS))

    assert warehouse.query('SELECT "PersonId", name FROM persons ORDER BY ALL') == [
        ("1", "a2"),
        ("2", "b"),
    ]


def test_a_record_without_its_key_property_is_refused(warehouse: Warehouse) -> None:
    warehouse.load(
        stream_messages(
            "Persons", [{"PersonId": "1", "name": "a"}], ["PersonId"], properties=PERSONS
        )
    )
    batch = [{"PersonId": "3", "name": "c"}, {"name": "no key"}]

    with pytest.raises(
        NullKeyError,
        match=r"1 record has no value \(null or missing\) for key "
        r"property 'PersonId'",
    ):
        warehouse.load(stream_messages("Persons", batch, ["PersonId"], properties=PERSONS))

    assert warehouse.query('SELECT "PersonId", name FROM persons') == [("1", "a")]


def test_a_composite_key_with_one_null_part_is_refused(warehouse: Warehouse) -> None:
    first: list[dict[str, Any]] = [{"a": 1, "b": "k", "value": "x"}]
    warehouse.load(stream_messages("Pairs", first, ["a", "b"], properties=PAIRS))
    batch: list[dict[str, Any]] = [
        {"a": 1, "b": "k", "value": "x2"},
        {"a": 1, "b": None, "value": "y"},
    ]

    with pytest.raises(NullKeyError) as raised:
        warehouse.load(stream_messages("Pairs", batch, ["a", "b"], properties=PAIRS))

    assert (
        "stream 'Pairs': 1 record has no value (null or missing) for at least one of the key "
        "properties 'a', 'b'" in str(raised.value)
    )
    assert warehouse.query("SELECT a, b, value FROM pairs") == [(1, "k", "x")]


def test_append_only_keeps_records_with_null_or_missing_keys(warehouse: Warehouse) -> None:
    batch: list[dict[str, Any]] = [
        {"PersonId": None, "name": "a"},
        {"PersonId": None, "name": "b"},
        {"name": "c"},
    ]
    warehouse.load(
        stream_messages("Persons", batch, ["PersonId"], properties=PERSONS),
        load_method="append-only",
    )

    assert warehouse.query('SELECT "PersonId", name FROM persons ORDER BY name') == [
        (None, "a"),
        (None, "b"),
        (None, "c"),
    ]


# --------------------------------------------------------------------------- deletes, load methods


ITEMS = {"id": INTEGER, "name": STRING, DELETED_AT: DATE_TIME}


def tombstone(row_id: int, at: str = "2024-05-01T10:00:00+02:00") -> dict[str, Any]:
    return {"id": row_id, "name": None, DELETED_AT: at}


def test_hard_delete_removes_the_rows_of_deleted_records(warehouse: Warehouse) -> None:
    """The deployed settings (meltano.yml): hard_delete with add_record_metadata."""
    settings = {"hard_delete": True, "add_record_metadata": True}
    first = [{"id": i, "name": f"n{i}"} for i in (1, 2, 3)]
    warehouse.load(stream_messages("Items", first, ["id"], properties=ITEMS), **settings)
    second = [
        tombstone(2),
        tombstone(9),  # a key that is not there
        {"id": 4, "name": "n4"},
        {"id": 5, "name": "n5"},
        tombstone(5),  # deleted later in the same batch
        tombstone(6),
        {"id": 6, "name": "n6"},  # back again later in the same batch
    ]
    warehouse.load(stream_messages("Items", second, ["id"], properties=ITEMS), **settings)

    assert warehouse.query(f"SELECT id, name, {DELETED_AT} FROM items ORDER BY id") == [
        (1, "n1", None),
        (3, "n3", None),
        (4, "n4", None),
        (6, "n6", None),
    ]


def test_without_hard_delete_deleted_records_land_as_tombstones(warehouse: Warehouse) -> None:
    first = [{"id": i, "name": f"n{i}"} for i in (1, 2)]
    warehouse.load(
        stream_messages("Items", first, ["id"], properties=ITEMS), add_record_metadata=True
    )
    warehouse.load(
        stream_messages("Items", [tombstone(2)], ["id"], properties=ITEMS), add_record_metadata=True
    )

    assert warehouse.column_types("Items")[DELETED_AT] == "TIMESTAMP WITH TIME ZONE"
    assert warehouse.query(f"SELECT id, name, {DELETED_AT} FROM items ORDER BY id") == [
        (1, "n1", None),
        (2, None, dt.datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
    ]


def test_hard_delete_without_record_metadata_removes_the_row(warehouse: Warehouse) -> None:
    """``hard_delete: true`` alone: a record with ``_sdc_deleted_at`` set deletes its key.

    (singer-sdk removes the ``_sdc_*`` properties from schema and records unless
    ``add_record_metadata`` is on; the sink then finds no ``_sdc_deleted_at`` column.)
    """
    first = [{"id": i, "name": f"n{i}"} for i in (1, 2, 3)]
    warehouse.load(stream_messages("Items", first, ["id"], properties=ITEMS), hard_delete=True)
    warehouse.load(
        stream_messages("Items", [tombstone(2)], ["id"], properties=ITEMS), hard_delete=True
    )

    assert warehouse.query("SELECT id, name FROM items ORDER BY id") == [(1, "n1"), (3, "n3")]


def test_append_only_appends_even_with_keys(warehouse: Warehouse) -> None:
    warehouse.load(
        stream_messages(
            "People", [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}], ["id"], properties=PEOPLE
        ),
        load_method="append-only",
    )
    warehouse.load(
        stream_messages("People", [{"id": 1, "name": "c"}], ["id"], properties=PEOPLE),
        load_method="append-only",
    )
    assert warehouse.query("SELECT id, name FROM people ORDER BY name") == [
        (1, "a"),
        (1, "b"),
        (1, "c"),
    ]


def test_streams_without_keys_are_appended(warehouse: Warehouse) -> None:
    warehouse.load(
        stream_messages(
            "Events", [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}], properties=PEOPLE
        )
    )
    warehouse.load(stream_messages("Events", [{"id": 1, "name": "a"}], properties=PEOPLE))
    assert warehouse.query("SELECT id, name FROM events ORDER BY name") == [
        (1, "a"),
        (1, "a"),
        (1, "b"),
    ]


def test_overwrite_empties_the_table_once_per_run(warehouse: Warehouse) -> None:
    warehouse.load(
        stream_messages(
            "People", [{"id": i, "name": "old"} for i in range(5)], ["id"], properties=PEOPLE
        )
    )

    wider = {**PEOPLE, "note": STRING}
    lines = [
        *stream_messages(
            "People", [{"id": i, "name": "new"} for i in range(3, 8)], ["id"], properties=PEOPLE
        ),
        # a changed schema mid-run (a new sink): the rows of this run stay
        *stream_messages(
            "People", [{"id": 8, "name": "new", "note": "late"}], ["id"], properties=wider
        ),
        record_message("People", {"id": 3, "name": "newer", "note": None}),
    ]
    warehouse.load(lines, load_method="overwrite", batch_size_rows=2)

    assert warehouse.query("SELECT id, name, note FROM people ORDER BY id") == [
        (3, "newer", None),
        (4, "new", None),
        (5, "new", None),
        (6, "new", None),
        (7, "new", None),
        (8, "new", "late"),
    ]


# --------------------------------------------------------------------------- schema evolution


def test_a_new_property_adds_a_column(warehouse: Warehouse) -> None:
    base = {"id": INTEGER, "name": STRING}
    warehouse.load(stream_messages("People", [{"id": 1, "name": "a"}], ["id"], properties=base))
    wider = {**base, "Joined": DATE, "Balance": NUMBER}
    lines = [
        *stream_messages("People", [{"id": 2, "name": "b"}], ["id"], properties=base),
        *stream_messages(
            "People",
            [{"id": 3, "name": "c", "Joined": "2024-01-31", "Balance": Decimal("0.5")}],
            ["id"],
            properties=wider,
        ),
    ]
    warehouse.load(lines)

    assert warehouse.column_types("People") == {
        "id": "BIGINT",
        "name": "VARCHAR",
        "Joined": "DATE",
        "Balance": "DECIMAL(38,10)",
    }
    assert warehouse.query("SELECT id, name, joined, balance FROM people ORDER BY id") == [
        (1, "a", None, None),
        (2, "b", None, None),
        (3, "c", dt.date(2024, 1, 31), Decimal("0.5")),
    ]


def test_an_integer_property_that_becomes_a_number_widens_its_column(
    warehouse: Warehouse,
) -> None:
    """The connector allows ALTER COLUMN TYPE: BIGINT must become the DECIMAL of numbers.

    (singer-sdk's ``merge_sql_types`` ranks DECIMAL, whose python type is not float, below
    BIGINT, so the column is kept and the load fails on the first fraction.)
    """
    warehouse.load(
        stream_messages(
            "Stock",
            [{"id": 1, "qty": 5}],
            ["id"],
            properties={"id": INTEGER, "qty": NULLABLE_INTEGER},
        )
    )
    warehouse.load(
        stream_messages(
            "Stock",
            [{"id": 2, "qty": Decimal("5.25")}],
            ["id"],
            properties={"id": INTEGER, "qty": NUMBER},
        )
    )

    assert warehouse.column_types("Stock")["qty"] == "DECIMAL(38,10)"
    assert warehouse.query("SELECT id, qty FROM stock ORDER BY id") == [
        (1, Decimal("5")),
        (2, Decimal("5.25")),
    ]


# --------------------------------------------------------------------------- objects and arrays


def test_objects_and_arrays_are_stored_as_json_text(warehouse: Warehouse) -> None:
    properties = {
        "id": INTEGER,
        "details": {"type": ["object", "null"]},
        "tags": {"type": ["array", "null"], "items": {}},
    }
    details = {"name": "Zoë", "n": 3, "ok": True, "none": None, "nested": {"list": [1, "two"]}}
    tags = [1, "two", None, {"k": "v"}, [False]]
    warehouse.load(
        stream_messages(
            "Docs",
            [{"id": 1, "details": details, "tags": tags}, {"id": 2, "details": None, "tags": []}],
            ["id"],
            properties=properties,
        )
    )

    assert warehouse.column_types("Docs") == {
        "id": "BIGINT",
        "details": "VARCHAR",
        "tags": "VARCHAR",
    }
    rows = warehouse.query("SELECT id, details, tags FROM docs ORDER BY id")
    assert [(i, d if d is None else json.loads(d), json.loads(t)) for i, d, t in rows] == [
        (1, details, tags),
        (2, None, []),
    ]


def test_numbers_inside_objects_and_arrays_stay_json_numbers(warehouse: Warehouse) -> None:
    properties = {
        "id": INTEGER,
        "details": {"type": ["object", "null"]},
        "tags": {"type": ["array", "null"], "items": {}},
    }
    lines: list[Line] = [
        schema_message("Docs", properties, ["id"]),
        '{"type":"RECORD","stream":"Docs","record":{"id":1,"details":{"price":1.5},'
        '"tags":[0.25,2]}}',
    ]
    warehouse.load(lines)

    [(details, tags)] = warehouse.query("SELECT details, tags FROM docs")
    assert json.loads(details, parse_float=Decimal) == {"price": Decimal("1.5")}
    assert json.loads(tags, parse_float=Decimal) == [Decimal("0.25"), 2]


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({}, "'path' is a required property"),
        ({"decimal_scale": 38}, "38 is greater than the maximum of 37 in config['decimal_scale']"),
        ({"load_method": "merge"}, "'merge' is not one of"),
    ],
    ids=["missing-path", "scale-too-large", "unknown-load-method"],
)
def test_a_bad_config_is_refused(tmp_path: Path, config: dict[str, Any], error: str) -> None:
    if config:
        config = {"path": str(tmp_path / "w.duckdb"), **config}
    with pytest.raises(ConfigValidationError) as raised:
        load(config, [])
    assert any(error in message for message in raised.value.errors)
    assert not (tmp_path / "w.duckdb").exists()


# --------------------------------------------------------------------------- the console script


def test_the_console_script_loads_stdin_and_emits_the_state(tmp_path: Path) -> None:
    database = tmp_path / "out" / "warehouse.duckdb"
    lines = [
        *stream_messages(
            "Amounts",
            [
                {"id": 1, "amount": Decimal("0.1"), "booked": "2024-03-31T00:30:00+01:00"},
                {"id": 2, "amount": Decimal("12345678901234567890.1234567891"), "booked": None},
            ],
            ["id"],
            properties={"id": INTEGER, "amount": NUMBER, "booked": DATE_TIME},
        ),
        state_message({"bookmarks": {"Amounts": {"replication_key_value": 2}}}),
    ]
    run = run_duckdb_cli(tmp_path, {"path": str(database), "default_target_schema": "afas"}, lines)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"bookmarks": {"Amounts": {"replication_key_value": 2}}}]
    assert Warehouse(database).query("SELECT id, amount, booked FROM afas.amounts ORDER BY id") == [
        (1, Decimal("0.1"), dt.datetime(2024, 3, 30, 23, 30, tzinfo=UTC)),
        (2, Decimal("12345678901234567890.1234567891"), None),
    ]


def test_the_console_script_fails_on_a_decimal_with_too_many_places(tmp_path: Path) -> None:
    database = tmp_path / "afas.duckdb"
    lines: list[Line] = [
        AMOUNTS,
        amount_line("Amounts", 1, "1.5"),
        amount_line("Amounts", 2, "0.12345678901"),
        state_message({"bookmarks": {"Amounts": {"replication_key_value": 2}}}),
    ]
    run = run_duckdb_cli(tmp_path, {"path": str(database)}, lines)

    assert run.returncode != 0
    assert "stream 'Amounts', column 'amount'" in run.stderr
    assert "decimal_scale" in run.stderr
    assert "0.12345678901 has 11 decimal places" in run.stderr
    assert "Traceback" not in run.stderr  # one clear line, not a dump
    assert run.states == []  # the state of records that did not land is not passed on
    assert Warehouse(database).query("SELECT count(*) FROM amounts") == [(0,)]


def test_the_console_script_refuses_null_keys_with_one_error_line(tmp_path: Path) -> None:
    database = tmp_path / "afas.duckdb"
    lines: list[Line] = [
        *stream_messages(
            "Persons",
            [{"PersonId": None, "name": "a"}, {"PersonId": None, "name": "b"}],
            ["PersonId"],
            properties=PERSONS,
        ),
        state_message({"bookmarks": {"Persons": {"replication_key_value": 2}}}),
    ]
    run = run_duckdb_cli(tmp_path, {"path": str(database)}, lines)

    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, run.stderr
    assert "stream 'Persons': 2 records have no value" in errors[0]
    assert "key property 'PersonId'" in errors[0]
    assert "Traceback" not in run.stderr
    assert run.states == []
    assert Warehouse(database).query("SELECT count(*) FROM persons") == [(0,)]
