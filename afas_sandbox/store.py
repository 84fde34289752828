"""The sandbox's data: one SQLite database behind a lock, built once per dataset and copied.

Every sandbox gets its own in-memory database, copied from a template with SQLite's backup API
(milliseconds for the demo data), so tests never share state. ``--db PATH`` keeps a built
template on disk so large datasets are generated only once.

Decimals are stored as TEXT holding their exact digits (SQLite has no decimal type, and a REAL
keeps 15 of them): every connection made here knows the ``AFAS_DECIMAL`` collation, which
compares such texts by value, so that queries sort and filter decimal columns by number.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from afas_sandbox.datasets import Dataset

FORMAT_VERSION = "1"
DECIMAL_COLLATION = "AFAS_DECIMAL"


def _as_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def compare_decimals(left: str, right: str) -> int:
    """The ``AFAS_DECIMAL`` collation: texts that hold numbers compare by value (``0.10`` equals
    ``0.1``); a text that is no number (never written by the sandbox) sorts after every number."""
    a, b = _as_decimal(left), _as_decimal(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if a is not None or b is not None:
        return -1 if a is not None else 1
    return (left > right) - (left < right)


class Store:
    """A database connection shared by the server's threads; every use holds the lock."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.RLock()

    @classmethod
    def copy_of(cls, template: sqlite3.Connection) -> Store:
        conn = _memory_connection()
        template.backup(conn)
        return cls(conn)

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: everything in it lands, or nothing does."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _memory_connection() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.create_collation(DECIMAL_COLLATION, compare_decimals)
    return conn


def build_template(dataset: Dataset, *, seed: int, rows: int) -> sqlite3.Connection:
    """Generate a dataset into a fresh in-memory database."""
    conn = _memory_connection()
    conn.executescript(dataset.ddl)
    conn.execute("CREATE TABLE sandbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("BEGIN")
    dataset.populate(conn, seed=seed, rows=rows)
    if conn.in_transaction:
        conn.execute("COMMIT")
    conn.executemany("INSERT INTO sandbox_meta VALUES (?, ?)", _meta(dataset, seed, rows).items())
    conn.execute("ANALYZE")
    return conn


def load_or_build_template(
    dataset: Dataset, *, seed: int, rows: int, db_path: Path | None
) -> sqlite3.Connection:
    """Reuse a template saved at ``db_path`` when it was built with the same parameters."""
    if db_path is not None and db_path.exists():
        file_conn = sqlite3.connect(db_path)
        try:
            stored = dict(file_conn.execute("SELECT key, value FROM sandbox_meta").fetchall())
        except sqlite3.DatabaseError:
            stored = {}
        if stored == _meta(dataset, seed, rows):
            conn = _memory_connection()
            file_conn.backup(conn)
            file_conn.close()
            return conn
        file_conn.close()
        db_path.unlink()
    template = build_template(dataset, seed=seed, rows=rows)
    if db_path is not None:
        file_conn = sqlite3.connect(db_path)
        template.backup(file_conn)
        file_conn.close()
    return template


def _meta(dataset: Dataset, seed: int, rows: int) -> dict[str, str]:
    return {
        "format": FORMAT_VERSION,
        "dataset": dataset.name,
        "dataset_version": dataset.version,
        "seed": str(seed),
        "rows": str(rows),
    }
