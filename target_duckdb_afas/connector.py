"""DuckDB through duckdb-engine: the JSON Schema → column type table and the batch load."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector
from singer_sdk.sql.connector import FullyQualifiedName, JSONSchemaToSQL

from target_duckdb_afas.rows import ROW_NUMBER

DECIMAL_PRECISION = 38  # DuckDB's widest DECIMAL
DEFAULT_DECIMAL_SCALE = 10


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    """A DuckDB identifier, always quoted (keywords, case and dots stay harmless)."""
    return '"' + name.replace('"', '""') + '"'


class DuckDBConnector(SQLConnector):
    """One DuckDB database file; tables evolve by ADD COLUMN and ALTER COLUMN TYPE."""

    allow_column_add = True
    allow_column_alter = True
    allow_merge_upsert = True
    allow_overwrite = True
    allow_temp_tables = False  # the batch load stages in its own temporary table

    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        path = str(config["path"])
        if path != ":memory:":
            file = Path(path).expanduser()
            file.parent.mkdir(parents=True, exist_ok=True)
            path = str(file)
        return f"duckdb:///{path}"

    @functools.cached_property
    def jsonschema_to_sql(self) -> JSONSchemaToSQL:
        """JSON numbers → DECIMAL(38, decimal_scale), integers → BIGINT, date-times → TIMESTAMP.

        Date-times are stored as UTC (``TIMESTAMP`` without a zone, see rows.py), dates as
        ``DATE`` and times as ``TIME`` (the SDK's defaults).
        """
        to_sql = JSONSchemaToSQL(max_varchar_length=None)
        scale = int(self.config.get("decimal_scale", DEFAULT_DECIMAL_SCALE))
        to_sql.register_type_handler("number", lambda _: sa.types.DECIMAL(DECIMAL_PRECISION, scale))
        to_sql.register_type_handler("integer", sa.types.BIGINT)
        to_sql.register_format_handler("date-time", sa.types.TIMESTAMP)
        return to_sql

    def schema_exists(self, schema_name: str) -> bool:
        """(duckdb-engine lists schemas as ``<database>.<schema>``, which the SDK misses.)"""
        query = sa.text(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :schema "
            "AND catalog_name = current_database()"
        )
        with self._connect() as conn:
            return bool(conn.execute(query, {"schema": schema_name}).scalar())

    def create_engine(self) -> sa.Engine:
        """duckdb-engine's PostgreSQL word list misses DuckDB keywords (``at``, ``by``, ``glob``,
        ...): every reserved DuckDB keyword is added so generated DDL quotes such columns."""
        engine = super().create_engine()
        with engine.connect() as conn:
            words = conn.exec_driver_sql(
                "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
            ).scalars()
            preparer = engine.dialect.identifier_preparer
            # A new set for this engine's preparer (|= would grow the class-wide PostgreSQL set).
            preparer.reserved_words = set(preparer.reserved_words) | {str(w) for w in words}
        return engine

    def release(self) -> None:
        """Close the pooled connections, so the file's lock is free for other processes."""
        self._engine.dispose()

    @functools.cached_property
    def catalog_name(self) -> str:
        """The database's own name (DuckDB names it after the file: ``afas.duckdb`` → ``afas``).

        Tables are addressed as catalog.schema.table, because a schema named like the file
        (``afas`` in ``afas.duckdb``) is otherwise an ambiguous reference.
        """
        with self._connect() as conn:
            return str(conn.exec_driver_sql("SELECT current_database()").scalar())

    def merge_sql_types(
        self, sql_types: Sequence[sa.types.TypeEngine[Any]]
    ) -> sa.types.TypeEngine[Any]:
        """An integer column that receives numbers becomes DECIMAL (the SDK keeps BIGINT)."""
        decimals = [
            t
            for t in sql_types
            if isinstance(t, sa.types.Numeric) and not isinstance(t, sa.types.Float)
        ]
        integers = [t for t in sql_types if isinstance(t, sa.types.Integer)]
        if decimals and integers and len(decimals) + len(integers) == len(sql_types):
            return decimals[0]
        return super().merge_sql_types(sql_types)

    @staticmethod
    def get_column_alter_ddl(
        table_name: str | FullyQualifiedName,
        column_name: str,
        column_type: sa.types.TypeEngine[Any],
    ) -> sa.DDL:
        """DuckDB's ``ALTER COLUMN ... TYPE`` (the SDK's default syntax is not DuckDB's)."""
        return sa.DDL(  # type: ignore[no-untyped-call]
            "ALTER TABLE %(table)s ALTER COLUMN %(column)s TYPE %(type)s",
            {"table": str(table_name), "column": quote(column_name), "type": str(column_type)},
        )

    def create_empty_table(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, Any],
        primary_keys: Sequence[str] | None = None,
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,
    ) -> None:
        """A table addressed as catalog.schema.table, without PRIMARY KEY constraints.

        (A DuckDB key constraint makes an integer key a serial column and costs an index
        update per row; the batch load's delete-then-insert per key keeps keys unique.)
        """
        if as_temp_table:  # the SDK's answer: not supported
            super().create_empty_table(full_table_name, schema, as_temp_table=True)
        _ = primary_keys, partition_keys
        database, schema_name, table_name = self.parse_full_table_name(full_table_name)
        qualified_schema = ".".join(part for part in (database, schema_name) if part) or None
        columns = [
            sa.Column(name, self.to_sql_type(property_schema))
            for name, property_schema in schema["properties"].items()
        ]
        sa.Table(table_name, sa.MetaData(schema=qualified_schema), *columns).create(self._engine)

    def column_types(self, schema_name: str, table_name: str) -> dict[str, str]:
        """The table's columns in order, with DuckDB's own type names."""
        query = sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = :schema "
            "AND table_name = :table ORDER BY ordinal_position"
        )
        with self._connect() as conn:
            rows = conn.execute(query, {"schema": schema_name, "table": table_name}).all()
        return {str(name): str(data_type) for name, data_type in rows}

    def load_json_lines(
        self,
        *,
        table: str,
        file: Path,
        column_types: dict[str, str],
        keys: Sequence[str],
        hard_delete_column: str | None,
    ) -> None:
        """Load one batch file into ``table`` in one transaction.

        With ``keys``, rows with the same key are replaced (the batch's last record per key
        wins) and, with ``hard_delete_column``, a record whose deletion time is set removes
        its key instead of landing. Without keys the rows are appended.
        """
        stage = quote("_afas_stage")
        columns = ", ".join(quote(c) for c in column_types)
        spec = ", ".join(
            f"{_literal(name)}: {_literal(sql_type)}"
            for name, sql_type in {ROW_NUMBER: "BIGINT", **column_types}.items()
        )
        read = (
            f"SELECT * FROM read_json({_literal(str(file))}, format = 'newline_delimited', "
            f"columns = {{{spec}}})"
        )
        statements = [f"CREATE OR REPLACE TEMP TABLE {stage} AS {read}"]
        if keys:
            match = " AND ".join(
                f"{table}.{quote(k)} IS NOT DISTINCT FROM {stage}.{quote(k)}" for k in keys
            )
            latest = (
                f"SELECT * FROM {stage} QUALIFY row_number() OVER "
                f"(PARTITION BY {', '.join(quote(k) for k in keys)} "
                f"ORDER BY {quote(ROW_NUMBER)} DESC) = 1"
            )
            kept = f"WHERE {quote(hard_delete_column)} IS NULL" if hard_delete_column else ""
            statements += [
                f"DELETE FROM {table} USING {stage} WHERE {match}",
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ({latest}) {kept}",
            ]
        else:
            statements.append(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "
                f"ORDER BY {quote(ROW_NUMBER)}"
            )
        statements.append(f"DROP TABLE {stage}")
        with self._connect() as conn, conn.begin():
            for statement in statements:
                conn.exec_driver_sql(statement)
