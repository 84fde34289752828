"""DuckDB through duckdb-engine: column types, one reflection per table, and the batch load.

Each table is reflected with one ``information_schema.columns`` query when its stream's sink
is set up (and one per batch load), never per column: SQLAlchemy's ``get_columns`` costs tens
of milliseconds on DuckDB, and the SDK's ``prepare_table`` calls it twice for every column.
Every session runs in UTC, so ``TIMESTAMP WITH TIME ZONE`` values written without an offset
are UTC.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector
from singer_sdk.sql.connector import FullyQualifiedName, JSONSchemaToSQL
from typing_extensions import override

from target_duckdb_afas.background import BackgroundLoads
from target_duckdb_afas.record_check import TEXT_FORMS, LaneBatch
from target_duckdb_afas.rows import ROW_NUMBER
from target_duckdb_afas.types import (
    DECIMAL_PRECISION,
    declared_places,
    normalized,
    widened,
)

DEFAULT_DECIMAL_SCALE = 10
MAIN = "main"  # DuckDB's default schema: found by unqualified table names
IN_MEMORY = ":memory:"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    """A DuckDB identifier, always quoted (keywords, case and dots stay harmless)."""
    return '"' + name.replace('"', '""') + '"'


def legacy_column_name(name: str) -> str:
    """How loader versions before the original-names convention named a property's column
    (singer-sdk's default ``conform_name``: lower snake case, leading digit as a letter)."""
    text = re.sub(r"[^a-zA-Z0-9_\-\.\s]", "", name).lower().strip()
    text = text.replace(".", "_").replace("-", "_").replace(" ", "_")
    if text[:1].isdigit():
        text = "abcdefghij"[int(text[0])] + text[1:]
    return text


class DuckDBConnector(SQLConnector):
    """One DuckDB database file; tables evolve by ADD COLUMN, RENAME COLUMN and ALTER TYPE."""

    allow_column_add = True
    allow_column_alter = True
    allow_merge_upsert = True
    allow_overwrite = True
    allow_temp_tables = False  # the batch load stages in its own temporary table

    def __init__(self, config: dict[str, Any] | None = None, sqlalchemy_url: str | None = None):
        super().__init__(config, sqlalchemy_url)
        self.prepared_tables: set[str] = set()  # tables set up in this run (overwrite: once)
        self.adopted_legacy_schema = False
        # One load beside the reading (background.py); not for :memory: (one database a thread).
        self.loads = BackgroundLoads(enabled=str((config or {}).get("path")) != IN_MEMORY)

    @override
    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        path = str(config["path"])
        if path != IN_MEMORY:
            file = Path(path).expanduser()
            file.parent.mkdir(parents=True, exist_ok=True)
            path = str(file)
        return f"duckdb:///{path}"

    @functools.cached_property
    @override
    def jsonschema_to_sql(self) -> JSONSchemaToSQL:
        """Numbers → DECIMAL(38, places), integers → BIGINT, date-times → TIMESTAMPTZ.

        The places are those the property's schema declares (its scale annotation or
        ``multipleOf``, see types.py) while ``declared_decimal_places`` is on, else
        ``decimal_scale``. Dates are ``DATE`` and times ``TIME`` (the SDK's defaults).
        """
        to_sql = JSONSchemaToSQL(max_varchar_length=None)
        scale = int(self.config.get("decimal_scale", DEFAULT_DECIMAL_SCALE))
        use_declared = bool(self.config.get("declared_decimal_places", True))

        def number(schema: dict[str, Any]) -> sa.types.TypeEngine[Any]:
            places = declared_places(schema) if use_declared else None
            return sa.types.DECIMAL(DECIMAL_PRECISION, scale if places is None else places)

        to_sql.register_type_handler("number", number)
        to_sql.register_type_handler("integer", sa.types.BIGINT)
        to_sql.register_format_handler("date-time", lambda _: sa.types.TIMESTAMP(timezone=True))
        return to_sql

    def type_name(self, sql_type: sa.types.TypeEngine[Any]) -> str:
        """A SQLAlchemy type as information_schema spells it."""
        return normalized(sql_type.compile(dialect=self._engine.dialect))

    @override
    def schema_exists(self, schema_name: str) -> bool:
        """(duckdb-engine lists schemas as ``<database>.<schema>``, which the SDK misses.)"""
        query = sa.text(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :schema "
            "AND catalog_name = current_database()"
        )
        with self._connect() as conn:
            return bool(conn.execute(query, {"schema": schema_name}).scalar())

    @override
    def create_engine(self) -> sa.Engine:
        """Sessions in UTC; and duckdb-engine's PostgreSQL word list misses DuckDB keywords
        (``at``, ``by``, ``glob``, ...): every reserved DuckDB keyword is added so generated
        DDL quotes such columns."""
        engine = super().create_engine()
        sa.event.listen(engine, "connect", _in_utc)
        with engine.connect() as conn:
            words = conn.exec_driver_sql(
                "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
            ).scalars()
            preparer = engine.dialect.identifier_preparer
            # A new set for this engine's preparer (|= would grow the class-wide PostgreSQL set).
            preparer.reserved_words = set(preparer.reserved_words) | {str(w) for w in words}
        return engine

    def release(self) -> None:
        """Close the pooled connections, so the file's lock is free for other processes (once
        a load running in the background ended)."""
        self.loads.wait()
        self._engine.dispose()

    @functools.cached_property
    def catalog_name(self) -> str:
        """The database's own name: DuckDB names it after the file (``afas.duckdb`` → ``afas``)."""
        with self._connect() as conn:
            return str(conn.exec_driver_sql("SELECT current_database()").scalar())

    def table_columns(self, schema_name: str | None, table_name: str) -> dict[str, str]:
        """The table's columns in order with their DuckDB types; ``{}`` when there is no such
        table. (One query; names match case-insensitively, as DuckDB resolves them.)"""
        query = sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND lower(table_schema) = lower(:schema) "
            "AND lower(table_name) = lower(:table) ORDER BY ordinal_position"
        )
        with self._connect() as conn:
            rows = conn.execute(query, {"schema": schema_name or MAIN, "table": table_name}).all()
        return {str(name): str(data_type) for name, data_type in rows}

    @override
    def column_exists(self, full_table_name: str | FullyQualifiedName, column_name: str) -> bool:
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        columns = self.table_columns(schema_name, table_name)
        return column_name.casefold() in {c.casefold() for c in columns}

    @override
    def prepare_table(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, Any],
        primary_keys: Sequence[str],
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,
    ) -> None:
        """Create the table, or adapt it to the schema from one reflection of its columns.

        With ``load_method: overwrite`` the table is dropped and created anew the first time
        this run prepares it. A column another loader version named differently (lower case,
        or snake case: ``legacy_column_name``) is renamed to the property's name.
        """
        if as_temp_table:
            raise NotImplementedError("Temporary tables are not supported.")
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        first_time = str(full_table_name) not in self.prepared_tables
        self.prepared_tables.add(str(full_table_name))
        existing = self.table_columns(schema_name, table_name)
        if existing and first_time and self.config.get("load_method") == "overwrite":
            self.execute([f"DROP TABLE {full_table_name}"])
            existing = {}
        if not existing:
            self.logger.info("Creating empty table %s", full_table_name)
            self.create_empty_table(full_table_name, schema, primary_keys, partition_keys)
            return
        wanted = {name: self.to_sql_type(spec) for name, spec in schema["properties"].items()}
        self.adapt_columns(full_table_name, existing, wanted)

    @override
    def prepare_column(
        self,
        full_table_name: str | FullyQualifiedName,
        column_name: str,
        sql_type: sa.types.TypeEngine[Any],
    ) -> None:
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        existing = self.table_columns(schema_name, table_name)
        self.adapt_columns(full_table_name, existing, {column_name: sql_type})

    def adapt_columns(
        self,
        full_table_name: str | FullyQualifiedName,
        existing: Mapping[str, str],
        wanted: Mapping[str, sa.types.TypeEngine[Any]],
    ) -> None:
        """ADD, RENAME and ALTER what ``wanted`` (column → type) needs, as one transaction."""
        table = str(full_table_name)
        by_name = {c.casefold(): c for c in existing}
        claimed = {name.casefold() for name in wanted}
        statements = []
        for name, sql_type in wanted.items():
            wanted_type = self.type_name(sql_type)
            current = by_name.get(name.casefold())
            legacy = legacy_column_name(name)
            if current is None and legacy.casefold() not in claimed:
                current = by_name.pop(legacy.casefold(), None)
            if current is None:
                statements.append(f"ALTER TABLE {table} ADD COLUMN {quote(name)} {wanted_type}")
                continue
            if current != name:
                statements.append(
                    f"ALTER TABLE {table} RENAME COLUMN {quote(current)} TO {quote(name)}"
                )
            new_type = widened(normalized(existing[current]), wanted_type)
            if new_type is not None:
                statements.append(f"ALTER TABLE {table} ALTER COLUMN {quote(name)} TYPE {new_type}")
        self.execute(statements)

    def adopt_legacy_schema(self, legacy_schema: str) -> tuple[list[str], list[str]]:
        """Move the tables of ``legacy_schema`` (named like the database, where earlier versions
        loaded) into ``main`` in one transaction, then drop that schema if it is empty.

        Once per run. A table ``main`` already has stays where it is. Returns the tables moved
        and the tables (or views) left in the old schema.
        """
        if self.adopted_legacy_schema:
            return [], []
        self.adopted_legacy_schema = True
        query = sa.text(
            "SELECT table_name, table_type = 'BASE TABLE' AND lower(table_name) NOT IN ("
            "  SELECT lower(table_name) FROM information_schema.tables"
            "  WHERE table_catalog = current_database() AND table_schema = 'main') "
            "FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = :schema ORDER BY table_name"
        )
        with self._connect() as conn:
            rows = conn.execute(query, {"schema": legacy_schema}).all()
        moved = [str(name) for name, movable in rows if movable]
        left = [str(name) for name, movable in rows if not movable]
        catalog = quote(self.catalog_name)
        statements = []
        for table in moved:
            old = f"{catalog}.{quote(legacy_schema)}.{quote(table)}"
            statements += [
                f"CREATE TABLE {catalog}.{MAIN}.{quote(table)} AS SELECT * FROM {old}",
                f"DROP TABLE {old}",
            ]
        if rows and not left:
            # (unqualified: DuckDB finds "afas"."afas" ambiguous even here)
            statements.append(f"DROP SCHEMA {quote(legacy_schema)}")
        self.execute(statements)
        return moved, left

    @override
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
        if as_temp_table:
            raise NotImplementedError("Temporary tables are not supported.")
        _ = primary_keys, partition_keys
        columns = ", ".join(
            f"{quote(name)} {self.type_name(self.to_sql_type(spec))}"
            for name, spec in schema["properties"].items()
        )
        self.execute([f"CREATE TABLE {full_table_name} ({columns})"])

    def execute(self, statements: Sequence[str]) -> None:
        """Run the statements in one transaction, sent to DuckDB at once."""
        if not statements:
            return
        with self._connect() as conn, conn.begin():
            conn.exec_driver_sql(";\n".join(statements))

    def load_json_lines(
        self,
        *,
        table: str,
        file: Path,
        column_types: Mapping[str, str],
        keys: Sequence[str],
        hard_delete_column: str | None,
        lane: LaneBatch | None = None,
    ) -> None:
        """Load one batch file into ``table`` in one transaction.

        ``column_types`` maps each column (named like its property, the key in the file) to
        its type. With ``keys``, rows with the same key are replaced (the batch's last
        record per key wins) and, with ``hard_delete_column``, a record whose deletion time is
        set removes its key instead of landing. Without keys the rows are appended.

        The file holds the rows with their row number (``ROW_NUMBER``), or, with ``lane``, the
        lane's Singer RECORD lines (the rows in file order under ``record``), whose checks
        (``LaneBatch``) fail the load when a value breaks them.
        """
        stage = quote("_afas_stage")
        if lane is None:
            spec = ", ".join(
                f"{_literal(name)}: {_literal(sql_type)}"
                for name, sql_type in {ROW_NUMBER: "BIGINT", **column_types}.items()
            )
            order = quote(ROW_NUMBER)
            read = (
                f"SELECT * FROM read_json({_literal(str(file))}, format = 'newline_delimited', "
                f"columns = {{{spec}}})"
            )
        else:
            order = "rowid"  # the stage keeps the file's order (preserve_insertion_order)
            read = _lane_read(file, column_types, lane)
        columns = ", ".join(quote(column) for column in column_types)
        with self._connect() as conn, conn.begin():
            conn.exec_driver_sql(f"CREATE OR REPLACE TEMP TABLE {stage} AS {read}")
            if keys:
                listed = ", ".join(quote(k) for k in keys)
                match = " AND ".join(
                    f"{table}.{quote(k)} IS NOT DISTINCT FROM {stage}.{quote(k)}" for k in keys
                )
                # Keys the batch holds more than once keep its last record; a batch without
                # such keys (the common case) skips that window (a third of the load).
                twice = conn.exec_driver_sql(
                    f"SELECT count(*) - count(DISTINCT ({listed})) FROM {stage}"
                ).scalar()
                latest = (
                    f"(SELECT * FROM {stage} QUALIFY row_number() OVER "
                    f"(PARTITION BY {listed} ORDER BY {order} DESC) = 1)"
                    if twice
                    else stage
                )
                kept = f"WHERE {quote(hard_delete_column)} IS NULL" if hard_delete_column else ""
                statements = [
                    f"DELETE FROM {table} USING {stage} WHERE {match}",
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {latest} {kept}",
                ]
            else:
                statements = [
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "
                    f"ORDER BY {order}"
                ]
            statements.append(f"DROP TABLE {stage}")
            conn.exec_driver_sql(";\n".join(statements))


def _lane_read(file: Path, column_types: Mapping[str, str], lane: LaneBatch) -> str:
    """The rows of a file of lane lines, a date or date-time read as text and cast only when
    it has the form the lane loads (else the load fails), the _sdc columns computed
    (``LaneBatch.metadata``). (The envelope's first keys are read too: DuckDB reads such
    lines four times faster when they are among the columns.)"""
    fields = ", ".join(
        f"{quote(name)} {'VARCHAR' if name in lane.texts else kind}"
        for name, kind in column_types.items()
        if name not in lane.metadata
    )
    picked = []
    for name, kind in column_types.items():
        if name in lane.metadata:
            value = _metadata_value(name, lane.metadata[name])
        else:
            value = f"record.{quote(name)}"
            if name in lane.texts:
                value = _in_form(value, lane.texts[name])
        picked.append(f"CAST({value} AS {kind}) AS {quote(name)}")
    envelope = "'type': 'VARCHAR', 'stream': 'VARCHAR', "
    if lane.metadata:
        envelope += "'version': 'BIGINT', 'time_extracted': 'VARCHAR', "
    return (
        f"SELECT {', '.join(picked)} FROM read_json({_literal(str(file))}, "
        f"format = 'newline_delimited', columns = {{{envelope}"
        f"'record': {_literal(f'STRUCT({fields})')}}})"
    )


def _in_form(value: str, form: str) -> str:
    """``value`` (text) when it is NULL or has ``form``, else an error that fails the load."""
    return (
        f"CASE WHEN {value} IS NULL OR regexp_full_match({value}, {_literal(form)}) "
        f"THEN {value} ELSE error('a text in another form') END"
    )


def _metadata_value(name: str, value: str | None) -> str:
    """An _sdc column's value: the envelope's (``value`` None), else ``value`` for the batch."""
    if value is not None:
        return _literal(value)
    if name == "_sdc_table_version":
        return quote("version")
    return _in_form(quote("time_extracted"), TEXT_FORMS["date-time"])


def _in_utc(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("SET TimeZone = 'UTC'")
