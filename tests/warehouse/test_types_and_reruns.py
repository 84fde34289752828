"""target-duckdb-afas: decimal places from the stream's schema, and what a rerun costs.

A number property that declares its places (``multipleOf``, as tap-afas does from AFAS's
metainfo) gets a DECIMAL(38, places) column; ``decimal_scale`` is the fallback. A rerun into
existing tables reflects each table once: the SQL it runs is counted (an SQLAlchemy event on
every engine) and must not grow with the number of columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from afas_profit.metainfo import parse_get_connector
from afas_profit.schema_mapping import schema_from_metainfo
from target_duckdb_afas.rows import DecimalOutOfRangeError
from tests.support.singer_messages import (
    DATE_TIME,
    INTEGER,
    NUMBER,
    STRING,
    Line,
    schema_message,
    stream_messages,
)
from tests.support.warehouse_runs import Warehouse


def places(multiple: Any) -> dict[str, Any]:
    return {"type": ["number", "null"], "multipleOf": multiple}


def line(stream: str, row_id: int, **numbers: str) -> str:
    """A RECORD line with each number written exactly as given."""
    values = "".join(f',"{name}":{text}' for name, text in numbers.items())
    return f'{{"type":"RECORD","stream":"{stream}","record":{{"id":{row_id}{values}}}}}'


# --------------------------------------------------------------------------- declared places


def test_each_number_column_gets_the_places_its_schema_declares(warehouse: Warehouse) -> None:
    properties = {
        "id": INTEGER,
        "cents": places(Decimal("0.01")),
        "mills": places(0.001),
        "quarters": places(Decimal("0.25")),
        "fives": places(5),
        "tiny": places(Decimal("1E-7")),
        "optional": {"anyOf": [{"type": "null"}, {"type": "number", "multipleOf": 0.1}]},
        "undeclared": NUMBER,
    }
    warehouse.load(
        [
            schema_message("Amounts", properties, ["id"]),
            line(
                "Amounts",
                1,
                cents="12.34",
                mills="-0.005",
                quarters="0.75",
                fives="15",
                tiny="0.0000001",
                optional="0.5",
                undeclared="1.23456",
            ),
        ],
        decimal_scale=6,
    )

    assert warehouse.column_types("Amounts") == {
        "id": "BIGINT",
        "cents": "DECIMAL(38,2)",
        "mills": "DECIMAL(38,3)",
        "quarters": "DECIMAL(38,2)",
        "fives": "DECIMAL(38,0)",
        "tiny": "DECIMAL(38,7)",
        "optional": "DECIMAL(38,1)",
        "undeclared": "DECIMAL(38,6)",
    }
    assert warehouse.query(
        "SELECT cents, mills, quarters, fives, tiny, optional, undeclared FROM amounts"
    ) == [
        (
            Decimal("12.34"),
            Decimal("-0.005"),
            Decimal("0.75"),
            Decimal("15"),
            Decimal("1E-7"),
            Decimal("0.5"),
            Decimal("1.23456"),
        )
    ]


def test_tap_afas_schemas_type_afas_decimals_with_their_places(warehouse: Warehouse) -> None:
    """The tap's mapping (metainfo ``decimals``) end to end: 2 places → DECIMAL(38,2)."""
    connector = parse_get_connector(
        "Profit_Transactions",
        {
            "fields": [
                {"id": "EntryNo", "dataType": "int", "label": "Nr", "decimals": 0},
                {"id": "AmountDebit", "dataType": "decimal", "label": "Debet", "decimals": 2},
                {"id": "Rate", "dataType": "decimal", "label": "Koers", "decimals": 6},
                {"id": "Quantity", "dataType": "decimal", "label": "Aantal", "decimals": 0},
            ]
        },
    )
    schema = schema_from_metainfo(connector)
    record = {
        "EntryNo": 1,
        "AmountDebit": Decimal("1234.50"),
        "Rate": Decimal("1.123456"),
        "Quantity": Decimal("2.5"),
    }
    warehouse.load(
        stream_messages(
            "profit_transactions", [record], ["EntryNo"], properties=schema["properties"]
        )
    )

    assert warehouse.column_types("profit_transactions") == {
        "EntryNo": "BIGINT",
        "AmountDebit": "DECIMAL(38,2)",
        "Rate": "DECIMAL(38,6)",
        "Quantity": "DECIMAL(38,10)",  # 0 declared places: decimal_scale
    }
    assert warehouse.query('SELECT "AmountDebit", "Rate", "Quantity" FROM profit_transactions') == [
        (Decimal("1234.50"), Decimal("1.123456"), Decimal("2.5"))
    ]


CENTS = schema_message("Amounts", {"id": INTEGER, "amount": places(Decimal("0.01"))}, ["id"])


@pytest.mark.parametrize("validate", [True, False], ids=["validated", "not-validated"])
def test_more_places_than_declared_stops_the_load(warehouse: Warehouse, validate: bool) -> None:
    warehouse.load([CENTS, line("Amounts", 1, amount="1.5")])
    lines: list[Line] = [
        CENTS,
        line("Amounts", 2, amount="2.50"),
        line("Amounts", 3, amount="3.00000"),  # trailing zeros are not places
        line("Amounts", 4, amount="1.005"),
    ]

    with pytest.raises(DecimalOutOfRangeError) as raised:
        warehouse.load(lines, validate_records=validate)

    message = str(raised.value)
    assert message.startswith(
        "stream 'Amounts', column 'amount': 1.005 has 3 decimal places but the column keeps 2, "
        "the places the stream's schema declares (multipleOf 0.01)"
    )
    assert "declared_decimal_places" in message
    assert warehouse.query("SELECT id, amount FROM amounts") == [(1, Decimal("1.50"))]


def test_declared_places_off_widens_the_column_and_the_value_loads(warehouse: Warehouse) -> None:
    warehouse.load([CENTS, line("Amounts", 1, amount="1.5")])
    warehouse.load([CENTS, line("Amounts", 2, amount="1.005")], declared_decimal_places=False)

    assert warehouse.column_types("Amounts")["amount"] == "DECIMAL(38,10)"
    assert warehouse.query("SELECT id, amount FROM amounts ORDER BY id") == [
        (1, Decimal("1.5")),
        (2, Decimal("1.005")),
    ]
    # Back on: the wider column is kept (a column is never narrowed).
    warehouse.load([CENTS, line("Amounts", 3, amount="3.25")])
    assert warehouse.column_types("Amounts")["amount"] == "DECIMAL(38,10)"


def test_a_column_widens_when_the_declared_places_grow(warehouse: Warehouse) -> None:
    warehouse.load([CENTS, line("Amounts", 1, amount="1.5")])
    mills = schema_message("Amounts", {"id": INTEGER, "amount": places(Decimal("0.001"))}, ["id"])
    warehouse.load([mills, line("Amounts", 2, amount="0.125")])

    assert warehouse.column_types("Amounts")["amount"] == "DECIMAL(38,3)"
    assert warehouse.query("SELECT id, amount FROM amounts ORDER BY id") == [
        (1, Decimal("1.5")),
        (2, Decimal("0.125")),
    ]


# --------------------------------------------------------------------------- reruns


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any SQLAlchemy engine sends while the test runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def wide_stream(columns: int, first_id: int) -> list[dict[str, Any]]:
    """``columns`` properties of every kind (a Profit_Transactions-like row, repeated)."""
    kinds = [STRING, places(Decimal("0.01")), DATE_TIME, INTEGER]
    properties: dict[str, Any] = {"Id": INTEGER}
    properties.update({f"Field{n:03d}": kinds[n % 4] for n in range(1, columns)})
    values = ["x", Decimal("1.25"), "2024-01-01T00:00:00Z", 7]
    records = [
        {"Id": first_id + r, **{f"Field{n:03d}": values[n % 4] for n in range(1, columns)}}
        for r in range(12)
    ]
    return stream_messages("Wide", records, ["Id"], properties=properties)


def run_statements(warehouse: Warehouse, sent: list[str], columns: int) -> list[str]:
    """The statements of a second run (new records) into the table of a first run."""
    warehouse.load(wide_stream(columns, 1), default_target_schema="afas")
    sent.clear()
    warehouse.load(wide_stream(columns, 100), default_target_schema="afas")
    return list(sent)


def test_a_rerun_reflects_each_table_once_whatever_its_width(
    tmp_path: Any, statements: list[str]
) -> None:
    narrow = run_statements(Warehouse(tmp_path / "narrow.duckdb"), statements, 5)
    wide = run_statements(Warehouse(tmp_path / "wide.duckdb"), statements, 100)

    reflections = [s for s in wide if "information_schema.columns" in s]
    assert len(reflections) == 2  # the sink's setup, and its one batch
    assert not [s for s in wide if "pg_catalog" in s]  # no SQLAlchemy reflection
    assert not [s for s in wide if s.startswith("ALTER")]  # the table already fits
    assert len(wide) == len(narrow)
    assert Warehouse(tmp_path / "wide.duckdb").query("SELECT count(*) FROM afas.wide") == [(24,)]


# --------------------------------------------------------------------------- full-table versions


def version_run(stream: str, ids: list[int], version: int) -> list[Line]:
    """A full-table sync as taps send it: records tagged with the table version, then
    ACTIVATE_VERSION for it."""
    return [
        schema_message(stream, {"id": INTEGER, "name": STRING}, ["id"]),
        *(
            {
                "type": "RECORD",
                "stream": stream,
                "record": {"id": i, "name": f"v{version}"},
                "version": version,
            }
            for i in ids
        ),
        {"type": "ACTIVATE_VERSION", "stream": stream, "version": version},
    ]


@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard-delete", "soft-delete"])
def test_activate_version_retires_the_rows_a_full_sync_no_longer_sent(
    warehouse: Warehouse, hard_delete: bool
) -> None:
    settings = {"add_record_metadata": True, "hard_delete": hard_delete}
    warehouse.load(version_run("Things", [1, 2, 3], 1), **settings)
    warehouse.load(version_run("Things", [1, 2], 2), **settings)

    rows = warehouse.query(
        "SELECT id, name, _sdc_table_version, _sdc_deleted_at IS NOT NULL FROM things ORDER BY id"
    )
    kept = [(1, "v2", 2, False), (2, "v2", 2, False)]
    assert rows == (kept if hard_delete else [*kept, (3, "v1", 1, True)])
    types = warehouse.column_types("Things")
    assert types["_sdc_table_version"] == "BIGINT"
    assert types["_sdc_deleted_at"] == "TIMESTAMP WITH TIME ZONE"
