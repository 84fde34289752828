"""target-duckdb-afas: table, column and schema names, and files an earlier version wrote.

Names are kept as the tap sends them (target-postgres's convention, so one set of dbt models
serves both warehouses); a schema named like the database file is the file's ``main``. Every
check reads the file over a plain ``duckdb`` connection, as a user's client would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from target_duckdb_afas.sink import NameClashError
from tests.support.singer_messages import DATE, DATE_TIME, INTEGER, NUMBER, STRING, stream_messages
from tests.support.warehouse_runs import UTC, Warehouse

EMPLOYEES = {"EmployeeId": STRING, "FirstName": STRING, "Birth Date": DATE}


def employees(first_name: str, employee: str = "E1") -> list[dict[str, Any]]:
    return stream_messages(
        "Profit_Employees",
        [{"EmployeeId": employee, "FirstName": first_name, "Birth Date": "1990-01-02"}],
        ["EmployeeId"],
        properties=EMPLOYEES,
    )


def test_names_are_kept_as_the_tap_sends_them(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "missing" / "folder" / "warehouse.duckdb")
    warehouse.load(employees("Ann"), default_target_schema="afas")
    warehouse.load(employees("Anna"), default_target_schema="afas")

    assert warehouse.path.is_file()
    assert warehouse.tables() == {("afas", "Profit_Employees")}
    assert warehouse.column_types("Profit_Employees", "afas") == {
        "EmployeeId": "VARCHAR",
        "FirstName": "VARCHAR",
        "Birth Date": "DATE",
    }
    # Quoted as in PostgreSQL, or not: DuckDB resolves names whatever their case.
    assert warehouse.query(
        'SELECT "EmployeeId", "FirstName", "Birth Date" FROM afas.profit_employees'
    ) == [("E1", "Anna", dt.date(1990, 1, 2))]
    assert warehouse.query('SELECT employeeid, firstname FROM afas."Profit_Employees"') == [
        ("E1", "Anna")
    ]


@pytest.mark.parametrize(
    ("file_name", "schema_setting"),
    [
        ("afas.duckdb", "afas"),
        ("afas.duckdb", "AFAS"),
        ("warehouse.duckdb", "main"),
        ("w.duckdb", None),
    ],
    ids=["schema-named-like-the-file", "same-in-other-case", "main", "no-schema-setting"],
)
def test_schema_dot_table_and_the_bare_table_name_work_from_a_plain_connection(
    tmp_path: Path, file_name: str, schema_setting: str | None
) -> None:
    """meltano.yml's settings: ``path: output/afas.duckdb``, ``default_target_schema: afas``.

    DuckDB names the file's catalog ``afas``, so a schema ``afas`` would make ``afas.<table>``
    ambiguous (catalog or schema): the tables go to ``main``, where ``afas.<table>``,
    ``main.<table>`` and the bare table name all find them.
    """
    warehouse = Warehouse(tmp_path / file_name)
    settings = {} if schema_setting is None else {"default_target_schema": schema_setting}
    warehouse.load(employees("Ann"), **settings)
    warehouse.load(employees("Anna"), **settings)

    assert warehouse.tables() == {("main", "Profit_Employees")}
    catalog = Path(file_name).stem
    expected = [("E1", "Anna", dt.date(1990, 1, 2))]
    for name in (
        "profit_employees",
        "main.profit_employees",
        f"{catalog}.profit_employees",
        f"{catalog}.main.profit_employees",
    ):
        assert warehouse.query(f"SELECT * FROM {name}") == expected, name


@pytest.mark.parametrize("name", ["Order", "Select", "At", "By", "Map"])
def test_property_names_that_are_sql_keywords(warehouse: Warehouse, name: str) -> None:
    """SQL keywords as column names (``at``, ``by``, ``map``: DuckDB keywords that the
    PostgreSQL-derived dialect of duckdb-engine does not quote)."""
    properties = {"id": INTEGER, name: STRING}
    warehouse.load(stream_messages("Words", [{"id": 1, name: "a"}], ["id"], properties=properties))
    warehouse.load(stream_messages("Words", [{"id": 1, name: "b"}], ["id"], properties=properties))

    assert warehouse.column_types("Words") == {"id": "BIGINT", name: "VARCHAR"}
    assert warehouse.query(f'SELECT id, "{name}" FROM words') == [(1, "b")]


def test_properties_differing_only_in_case_are_refused(warehouse: Warehouse) -> None:
    properties = {"Id": INTEGER, "ID": STRING, "name": STRING}
    with pytest.raises(NameClashError) as raised:
        warehouse.load(
            stream_messages("Things", [{"Id": 1, "ID": "a"}], ["Id"], properties=properties)
        )

    message = str(raised.value)
    assert "stream 'Things': properties 'Id' and 'ID' differ only in case" in message
    assert "stream map" in message
    assert warehouse.tables() == set()


# --------------------------------------------------------------------------- earlier versions


def _legacy_file(path: Path) -> None:
    """What target-duckdb-afas wrote before this version, for meltano.yml's settings: schema
    ``afas`` in ``afas.duckdb``, lower snake case columns, naive UTC TIMESTAMP, DECIMAL(38,10)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA afas.afas")
        con.execute(
            "CREATE TABLE afas.afas.profit_employees (employeeid VARCHAR, firstname VARCHAR, "
            "birth_date DATE, salary DECIMAL(38,10), changed TIMESTAMP)"
        )
        con.execute(
            "INSERT INTO afas.afas.profit_employees VALUES "
            "('E1', 'Ann', '1990-01-02', 1000.5, '2024-03-31 08:00:00'), "
            "('E2', 'Bob', '1980-05-06', 2000.25, '2024-03-31 09:00:00')"
        )
        con.execute("CREATE TABLE afas.afas.profit_debtors (debtorid VARCHAR)")
        con.execute("INSERT INTO afas.afas.profit_debtors VALUES ('D1')")
    finally:
        con.close()


LEGACY_PROPERTIES = {
    **EMPLOYEES,
    "Salary": {"type": ["number", "null"], "multipleOf": 0.01},
    "Changed": DATE_TIME,
}


def test_a_file_of_an_earlier_version_is_adopted_with_its_rows(tmp_path: Path) -> None:
    """At the first run its tables move to ``main`` (all of them, so ``afas.<table>`` is no
    longer ambiguous) and the emptied schema is dropped; a loaded table's columns get the tap's
    names, the naive UTC TIMESTAMP becomes TIMESTAMPTZ with the same instants, DECIMAL(38,10)
    keeps its places (never narrowed), and the records upsert on the renamed key column."""
    warehouse = Warehouse(tmp_path / "afas.duckdb")
    _legacy_file(warehouse.path)
    record = {
        "EmployeeId": "E2",
        "FirstName": "Bobby",
        "Birth Date": "1980-05-06",
        "Salary": Decimal("2100.50"),
        "Changed": "2024-04-01T12:00:00+02:00",
    }
    warehouse.load(
        stream_messages("profit_employees", [record], ["EmployeeId"], properties=LEGACY_PROPERTIES),
        default_target_schema="afas",
    )

    assert warehouse.tables() == {("main", "profit_employees"), ("main", "profit_debtors")}
    schemas = warehouse.query("SELECT schema_name FROM information_schema.schemata")
    assert ("afas",) not in schemas
    assert warehouse.column_types("profit_employees") == {
        "EmployeeId": "VARCHAR",
        "FirstName": "VARCHAR",
        "Birth Date": "DATE",
        "Salary": "DECIMAL(38,10)",
        "Changed": "TIMESTAMP WITH TIME ZONE",
    }
    assert warehouse.query("SELECT * FROM afas.profit_employees ORDER BY 1") == [
        (
            "E1",
            "Ann",
            dt.date(1990, 1, 2),
            Decimal("1000.5"),
            dt.datetime(2024, 3, 31, 8, tzinfo=UTC),
        ),
        (
            "E2",
            "Bobby",
            dt.date(1980, 5, 6),
            Decimal("2100.5"),
            dt.datetime(2024, 4, 1, 10, tzinfo=UTC),
        ),
    ]
    # A stream not loaded in that run moved as it was, and loads on later.
    assert warehouse.query("SELECT * FROM afas.profit_debtors") == [("D1",)]
    warehouse.load(
        stream_messages(
            "profit_debtors", [{"DebtorId": "D2"}], ["DebtorId"], properties={"DebtorId": STRING}
        ),
        default_target_schema="afas",
    )
    assert warehouse.query("SELECT * FROM profit_debtors ORDER BY 1") == [("D1",), ("D2",)]


def test_a_table_in_both_schemas_is_left_where_it_is(tmp_path: Path) -> None:
    """Should ``main`` already hold a table of the old schema, the loader keeps loading into
    ``main``, moves the other tables, and leaves the old schema with that one table."""
    warehouse = Warehouse(tmp_path / "afas.duckdb")
    _legacy_file(warehouse.path)
    warehouse.load(employees("Cas", "E3"))  # no schema setting: main

    warehouse.load(employees("Dee", "E4"), default_target_schema="afas")

    assert warehouse.query('SELECT "EmployeeId" FROM main.profit_employees ORDER BY 1') == [
        ("E3",),
        ("E4",),
    ]
    assert warehouse.tables() == {
        ("main", "Profit_Employees"),
        ("main", "profit_debtors"),
        ("afas", "profit_employees"),
    }
    assert warehouse.query("SELECT count(*) FROM afas.afas.profit_employees") == [(2,)]


def test_numbers_keep_working_after_a_rename_to_original_case(warehouse: Warehouse) -> None:
    """A lower-case column from an earlier version is renamed, not added a second time."""
    con = duckdb.connect(str(warehouse.path))
    try:
        con.execute("CREATE TABLE amounts (id BIGINT, amountdebit DECIMAL(38,10))")
        con.execute("INSERT INTO amounts VALUES (1, 5.25)")
    finally:
        con.close()

    properties = {"Id": INTEGER, "AmountDebit": NUMBER}
    warehouse.load(
        stream_messages(
            "Amounts", [{"Id": 2, "AmountDebit": Decimal("7.5")}], ["Id"], properties=properties
        )
    )

    assert warehouse.column_types("amounts") == {"Id": "BIGINT", "AmountDebit": "DECIMAL(38,10)"}
    assert warehouse.query('SELECT "Id", "AmountDebit" FROM amounts ORDER BY 1') == [
        (1, Decimal("5.25")),
        (2, Decimal("7.5")),
    ]
