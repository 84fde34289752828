"""Print what landed in the demo's DuckDB warehouse (run with the target-duckdb venv's Python).

demo_warehouse.py DB_FILE            tables, row counts and a few rows
demo_warehouse.py DB_FILE --since T  rows loaded after T (the incremental load)
"""

from __future__ import annotations

import sys

import duckdb


def main(path: str, since: str | None) -> None:
    db = duckdb.connect(path, read_only=True)
    # target-duckdb-afas loads schema "afas" into main when the file is afas.duckdb
    found = db.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'profit_persons'"
    ).fetchone()
    schema = found[0] if found else "afas"
    tables = [
        row[0]
        for row in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "ORDER BY table_name",
            [schema],
        ).fetchall()
    ]
    for table in tables:
        count = db.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()
        print(f"   afas.{table:<32} {count[0] if count else 0:>7} rows")
    if since is None:
        types = db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = 'profit_transactions' AND lower(column_name) "
            "IN ('entrydate', 'amountdebit', 'mutatiedatum') ORDER BY column_name",
            [schema],
        ).fetchall()
        print(
            "\n   afas.profit_transactions column types:", ", ".join(f"{c} {t}" for c, t in types)
        )
        print("\n   afas.profit_persons, first 3 rows:")
        rows = db.execute(
            "SELECT personid, firstname, lastname, city, modifieddate "
            f"FROM {schema}.profit_persons ORDER BY personid LIMIT 3"
        ).fetchall()
    else:
        print(f"\n   afas.profit_persons rows loaded after {since}:")
        rows = db.execute(
            "SELECT personid, firstname, lastname, city, modifieddate "
            f"FROM {schema}.profit_persons WHERE _sdc_batched_at > ? ORDER BY personid",
            [since],
        ).fetchall()
    for row in rows:
        print("     ", row)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--since" else None)
