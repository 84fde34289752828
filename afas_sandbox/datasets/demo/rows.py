"""Small SQL helpers the demo writers and world share: next keys, row updates, random picks."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from afas_sandbox.updates.writer import Element

# The deleted-records log names tables as Profit's "Wijzigingen" data collections do.
ENTITY_PERSON = "Persoon"
ENTITY_ORGANISATION = "Organisatie"
ENTITY_CONTACT = "Contact"
ENTITY_EMPLOYEE = "Medewerker"
ENTITY_DEBTOR = "Debiteur"
ENTITY_SUBJECT = "Dossieritem"
ENTITY_ENTRY_LINE = "Financiele mutatie"
ENTITY_CUSTOM_K01 = "Vrije tabel K01"


def next_int(conn: sqlite3.Connection, sql: str, start: int) -> int:
    """One more than the query's maximum, or ``start`` for an empty table."""
    value = conn.execute(sql).fetchone()[0]
    return start if value is None else int(value) + 1


def columns_of(element: Element, mapping: dict[str, str]) -> dict[str, Any]:
    """The element's fields (and keys) that map to columns, ``None`` for explicit clears."""
    return {
        column: element.value(field_id)
        for field_id, column in mapping.items()
        if element.has(field_id)
    }


def update_row(
    conn: sqlite3.Connection,
    table: str,
    where: dict[str, Any],
    values: dict[str, Any],
    stamp: str,
) -> int:
    """Write ``values`` and a fresh ``modified`` stamp; returns the number of rows changed."""
    assignments = {**values, "modified": stamp}
    set_sql = ", ".join(f"{column} = ?" for column in assignments)
    where_sql = " AND ".join(f"{column} = ?" for column in where)
    cursor = conn.execute(
        f"UPDATE {table} SET {set_sql} WHERE {where_sql}",
        (*assignments.values(), *where.values()),
    )
    return cursor.rowcount


def insert_row(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))


def exists(conn: sqlite3.Connection, table: str, column: str, value: Any) -> bool:
    row = conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (value,)).fetchone()
    return row is not None


def random_key(
    conn: sqlite3.Connection, rng: random.Random, table: str, column: str, where: str = "1"
) -> Any:
    """A random row's ``column`` (``None`` when no row qualifies)."""
    count = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    if not count:
        return None
    row = conn.execute(
        f"SELECT {column} FROM {table} WHERE {where} ORDER BY rowid LIMIT 1 OFFSET ?",
        (rng.randrange(count),),
    ).fetchone()
    return row[0]


SMALL_TABLE_ROWS = 200_000


def random_rowids(
    conn: sqlite3.Connection, rng: random.Random, table: str, count: int, where: str = "1"
) -> list[int]:
    """Up to ``count`` distinct random rowids of rows that satisfy ``where``."""
    total = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    if total <= SMALL_TABLE_ROWS or count * 4 >= total:
        rowids = [r for (r,) in conn.execute(f"SELECT rowid FROM {table} WHERE {where}")]
        return rng.sample(rowids, min(count, len(rowids)))
    # Large table: draw rowids until enough existing, qualifying rows are found.
    highest = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0]
    chosen: dict[int, None] = {}
    while len(chosen) < count:
        candidate = rng.randint(1, highest)
        if candidate in chosen:
            continue
        hit = conn.execute(
            f"SELECT 1 FROM {table} WHERE rowid = ? AND ({where})", (candidate,)
        ).fetchone()
        if hit is not None:
            chosen[candidate] = None
    return list(chosen)
