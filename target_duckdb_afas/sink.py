"""``DuckDBSink``: a batch goes to a JSON lines file, then into its table in one transaction.

Records without a key (decided for the upsert load methods, ``upsert`` and ``overwrite``): a
record whose key property is null or missing cannot be matched to a row, and an upsert would
treat all such records as one key, keeping only the last. So a batch holding one is refused
before anything of it is written: the load stops with one line naming the stream, its key
properties and how many records lack a key, and what to do (choose never-empty fields as the
tap's ``primary_keys`` for that connector, or load with ``load_method: append-only``). With
``append-only`` no key matching happens, so such records are appended as they are.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from singer_sdk.sinks.core import BaseJSONSchemaValidator
from singer_sdk.sql import SQLSink
from typing_extensions import override

from target_duckdb_afas.connector import DuckDBConnector
from target_duckdb_afas.rows import column_kinds, encode_rows
from target_duckdb_afas.validation import CompiledValidator

DELETED_AT = "_sdc_deleted_at"


class NullKeyError(ValueError):
    """Records whose key properties are null or missing, in a batch that upserts on them."""


def refuse_null_keys(
    records: Sequence[Mapping[str, Any]], key_properties: Sequence[str], stream: str
) -> None:
    """Raise ``NullKeyError`` when any record has no value for a key property."""
    missing = sum(1 for r in records if any(r.get(k) is None for k in key_properties))
    if not missing:
        return
    names = ", ".join(repr(k) for k in key_properties)
    which = (
        f"key property {names}"
        if len(key_properties) == 1
        else f"at least one of the key properties {names}"
    )
    count = f"{missing} record has" if missing == 1 else f"{missing} records have"
    raise NullKeyError(
        f"stream {stream!r}: {count} no value (null or missing) for {which}, so they cannot "
        "be upserted and nothing of this batch was loaded; set the tap's primary_keys for "
        "this connector to fields that are never empty, or set load_method to append-only "
        "to keep every record as a new row"
    )


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

    @functools.cached_property
    def key_sources(self) -> list[str]:
        """The key properties as the records name them (``key_properties`` are conformed)."""
        sources = {self.conform_name(name, "column"): name for name in self.schema["properties"]}
        return [sources.get(key, key) for key in self.key_properties]

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        if not self.validate_schema:
            return None
        return CompiledValidator(self.schema, check_formats=self.validate_field_string_format)

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """A missing key property becomes null: the batch check refuses it with its count (or
        ``append-only`` keeps it), where the SDK would stop at the first one with a message
        that says nothing of what to do."""
        for key in self.key_sources:
            record.setdefault(key, None)
        return record

    @override
    def clean_up(self) -> None:
        super().clean_up()
        self.connector.release()

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        records: list[dict[str, Any]] = context["records"]
        if not records:
            return
        keys = [] if self.config.get("load_method") == "append-only" else self.key_properties
        if keys:
            refuse_null_keys(records, self.key_sources, self.stream_name)
        _, schema_name, table_name = self.connector.parse_full_table_name(self.full_table_name)
        column_types = self.connector.column_types(schema_name or "main", table_name)
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
