"""``DuckDBSink``: a batch goes to a JSON lines file, then into its table in one transaction."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from singer_sdk.sinks.core import BaseJSONSchemaValidator
from singer_sdk.sql import SQLSink
from typing_extensions import override

from target_duckdb_afas.connector import DuckDBConnector
from target_duckdb_afas.rows import column_kinds, encode_rows
from target_duckdb_afas.validation import CompiledValidator

DELETED_AT = "_sdc_deleted_at"


class DuckDBSink(SQLSink[DuckDBConnector]):
    """Upserts on the stream's key properties (appends without them), hard deletes on request."""

    connector_class = DuckDBConnector

    @property
    @override
    def database_name(self) -> str | None:
        return self.connector.catalog_name

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """The _sdc columns with ``add_record_metadata``, and also whenever deletes can arrive
        (``hard_delete``, or a stream schema declaring ``_sdc_deleted_at``): without them a
        delete would land as a row of nulls that nothing tells apart."""
        return bool(
            self.config.get("add_record_metadata")
            or self.config.get("hard_delete")
            or DELETED_AT in self.schema.get("properties", {})
        )

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        if not self.validate_schema:
            return None
        return CompiledValidator(self.schema, check_formats=self.validate_field_string_format)

    @override
    def clean_up(self) -> None:
        super().clean_up()
        self.connector.release()

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        records: list[dict[str, Any]] = context["records"]
        if not records:
            return
        _, schema_name, table_name = self.connector.parse_full_table_name(self.full_table_name)
        column_types = self.connector.column_types(schema_name or "main", table_name)
        keys = [] if self.config.get("load_method") == "append-only" else self.key_properties
        hard_delete = bool(self.config.get("hard_delete")) and DELETED_AT in column_types
        # Column names conformed once per batch, not per record (the SDK's conform_record
        # would run its regular expressions for every property of every record).
        sources = {self.conform_name(name, "column"): name for name in self.schema["properties"]}
        rows = encode_rows(
            records,
            {column: sources.get(column) for column in column_types},
            column_kinds(column_types),
            self.stream_name,
        )
        with tempfile.TemporaryDirectory(prefix="target-duckdb-afas-") as workdir:
            file = Path(workdir) / "batch.jsonl"
            with file.open("wb") as out:
                out.writelines(rows)
            self.connector.load_json_lines(
                table=str(self.full_table_name),
                file=file,
                column_types=column_types,
                keys=keys,
                hard_delete_column=DELETED_AT if hard_delete and keys else None,
            )
