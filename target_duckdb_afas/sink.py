"""``DuckDBSink``: a batch goes to a JSON lines file, then into its table in one transaction.

Names: tables, columns and schemas are named exactly as the tap names streams and properties
(``AmountDebit`` stays ``AmountDebit``), as target-postgres does; a schema named like the
database file's catalog (``afas`` in ``afas.duckdb``) is the file's ``main`` schema instead,
because DuckDB cannot tell ``afas.<table>`` (catalog) from ``afas.<table>`` (schema). The tables
an earlier version loaded into such a schema move to ``main`` at the first run that is set up
for it (one transaction); the emptied schema is dropped.

Records without a key (decided for the upsert load methods, ``upsert`` and ``overwrite``): a
record whose key property is null or missing cannot be matched to a row, and an upsert would
treat all such records as one key, keeping only the last. So a batch holding one is refused
before anything of it is written: the load stops with one line naming the stream, its key
properties and how many records lack a key, and what to do (choose never-empty fields as the
tap's ``primary_keys`` for that connector, or load with ``load_method: append-only``). With
``append-only`` no key matching happens, so such records are appended as they are.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from singer_sdk.sql import SQLSink
from typing_extensions import override

from tap_afas.singer_input import MESSAGE_DECODER
from target_duckdb_afas.background import Then
from target_duckdb_afas.connector import MAIN, DuckDBConnector
from target_duckdb_afas.lane_file import LaneFile
from target_duckdb_afas.record_check import DELETED_AT, LaneBatch, RecordCheck
from target_duckdb_afas.rows import column_kinds, explain_refusal, json_lines
from target_duckdb_afas.types import declared_places
from target_duckdb_afas.validation import CompiledValidator

AtLine = Callable[[int, dict[str, Any], Callable[[], None]], None]


def _here(number: int, message: dict[str, Any], handle: Callable[[], None]) -> None:
    handle()


LANE_BATCH_ROWS = 200_000  # lines of a lane batch (on disk as it grows) unless batch_size_rows


class NullKeyError(ValueError):
    """Records whose key properties are null or missing, in a batch that upserts on them."""


class NameClashError(ValueError):
    """Properties of one stream whose names differ only in case (one DuckDB column)."""


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


def _kinds_of(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    for option in schema.get("anyOf", ()):
        kinds |= _kinds_of(option)
    return kinds


class DuckDBSink(SQLSink[DuckDBConnector]):
    """Upserts on the stream's key properties (appends without them), hard deletes on request."""

    connector_class = DuckDBConnector

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lane_file: LaneFile | None = None  # the batch's lane lines (they come first)
        # From the first record the SDK handled on: records, and lane lines with their number.
        self._after: list[dict[str, Any] | tuple[int, bytes]] = []
        # How the lane has the SDK's path handle a line it took after all (see _records).
        self.at_input_line: AtLine = _here
        self.background = False  # set by the lane: a full batch loads beside the reading
        self._held = 0  # lines and records in the batch
        self._untallied = 0  # lane lines not yet in the SDK's tallies and record_count metric

    @override
    def conform_name(self, name: str, object_type: str | None = None) -> str:
        """Names as the tap sends them (quoted in SQL), like target-postgres."""
        return name

    @property
    @override
    def database_name(self) -> str | None:
        return self.connector.catalog_name

    @property
    def configured_schema_name(self) -> str | None:
        """The schema the settings (or the stream name) ask for."""
        return super().schema_name

    @property
    @override
    def schema_name(self) -> str | None:
        """The configured schema, except that one named like the database is ``main`` (and
        so is none: tables are always addressed as catalog.schema.table)."""
        name = self.configured_schema_name
        if name is None or name.casefold() == self.connector.catalog_name.casefold():
            return MAIN
        return name

    @functools.cached_property
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
    def declared_places(self) -> dict[str, int | None]:
        """Per property, the decimal places its schema declares (for error messages)."""
        if not self.config.get("declared_decimal_places", True):
            return {}
        return {name: declared_places(spec) for name, spec in self.schema["properties"].items()}

    @functools.cached_property
    def json_properties(self) -> list[str]:
        """Properties whose values may be objects or arrays (stored as JSON text)."""
        return [
            name
            for name, spec in self.schema["properties"].items()
            if not _kinds_of(spec) - {"null"} or _kinds_of(spec) & {"object", "array"}
        ]

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        if not self.validate_schema:
            return None
        return CompiledValidator(self.schema, check_formats=self.validate_field_string_format)

    @override
    def setup(self) -> None:
        """Refuse names DuckDB cannot tell apart, adopt the table an earlier version left in a
        schema named like the database, then create or adapt the table (the SDK's setup)."""
        by_column: dict[str, list[str]] = defaultdict(list)
        for name in self.schema["properties"]:
            by_column[name.casefold()].append(name)
        clashes = [names for names in by_column.values() if len(names) > 1]
        if clashes:
            shown = "; ".join(" and ".join(repr(n) for n in names) for names in clashes)
            raise NameClashError(
                f"stream {self.stream_name!r}: properties {shown} differ only in case, and "
                "DuckDB column names ignore case; rename one of them with a stream map "
                "(stream_maps setting) or in the tap"
            )
        legacy = self.configured_schema_name
        if legacy is not None and self.schema_name != legacy:
            moved, left = self.connector.adopt_legacy_schema(legacy)
            if moved:
                self.logger.info(
                    "Moved tables %s from schema %r (named like the database file, so "
                    "%s.<table> was ambiguous) to %r",
                    ", ".join(moved),
                    legacy,
                    legacy,
                    MAIN,
                )
            if left:
                self.logger.warning(
                    "Schema %r (named like the database file) still holds %s, which %r "
                    "holds as well or which are views: until they are dropped or moved, "
                    "address tables as %s.main.<table> or by their bare name",
                    legacy,
                    ", ".join(left),
                    MAIN,
                    legacy,
                )
        super().setup()

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """A missing key property becomes null: the batch check refuses it with its count (or
        ``append-only`` keeps it), where the SDK would stop at the first one with a message
        that says nothing of what to do."""
        for key in self.record_keys:
            record.setdefault(key, None)
        return record

    @functools.cached_property
    def record_keys(self) -> list[str]:
        """The key properties (``key_properties`` conforms them anew at every call)."""
        return list(self.key_properties)

    @override
    def clean_up(self) -> None:
        super().clean_up()
        self.connector.release()

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """A record the SDK handled follows the batch's lane lines (input order is kept)."""
        self._after.append(record)
        self._held += 1

    def take_lines(self, text: bytes, first: int, count: int) -> bool:
        """Hold ``count`` whole lines ``text`` (input lines ``first`` on), RECORD lines of this
        stream the lane checked (``lane.py``), to be loaded as they are; ``True`` when the
        batch is full (``batch_size_rows``, else ``LANE_BATCH_ROWS``; see ``room``)."""
        if self._after:  # behind a record the SDK handled: loaded with it, as records
            lines = text.split(b"\n")[:count]
            self._after.extend((first + n, line + b"\n") for n, line in enumerate(lines))
        elif self._lane_file is not None:
            self._lane_file.add(text, first, count)
        else:
            assert self.record_check is not None  # the lane routes lines only then
            self._lane_file = LaneFile(self.record_check)
            self._lane_file.add(text, first, count)
        self._untallied += count
        self._held += count
        return self._held >= self._max_rows

    @property
    def room(self) -> int:
        """How many lines the batch takes before it is full."""
        return max(self._max_rows - self._held, 1)

    @property
    @override
    def current_size(self) -> int:
        """The SDK's count, with the lane's lines (tallied when the batch is drained)."""
        return super().current_size + self._untallied

    @functools.cached_property
    def _max_rows(self) -> int:
        return self.batch_size_rows or LANE_BATCH_ROWS

    @functools.cached_property
    def upsert_keys(self) -> list[str]:
        """The key properties rows are matched on (none with ``append-only``)."""
        return [] if self.config.get("load_method") == "append-only" else self.record_keys

    @functools.cached_property
    def record_check(self) -> RecordCheck | None:
        """The typed check of this stream's lines for the lane, or ``None`` when its records
        need singer-sdk's path (format checks, a property the lane does not know exactly)."""
        if self.validate_field_string_format:
            return None
        return RecordCheck.build(
            self.stream_name,
            self.schema,
            self.column_types(),
            self.upsert_keys,
            metadata=self.include_sdc_metadata_properties,
            sync_started_at=self.sync_started_at,
        )

    def column_types(self) -> dict[str, str]:
        """Each property's column type, as the table has it now."""
        _, schema_name, table_name = self.connector.parse_full_table_name(self.full_table_name)
        table = self.connector.table_columns(schema_name, table_name)
        types = {column.casefold(): sql_type for column, sql_type in table.items()}
        return {
            name: types[name.casefold()]
            for name in self.schema["properties"]
            if name.casefold() in types
        }

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        file, after = self._lane_file, self._after
        self._lane_file, self._after, self._held = None, [], 0
        if self._untallied:  # before the SDK's mark_drained counts the batch as written
            self.tally_record_read(self._untallied)
            self.record_counter_metric.increment(self._untallied)
            self._untallied = 0
        loads = self.connector.loads
        if file is None:
            loads.settle()
            if after:
                self._load_records(self._records(after), self.column_types())
            return
        handed = False  # to the background load, which removes the file
        try:
            batch = file.close()
            if not after and batch is not None and self.background:
                loads.start(lambda: self._load_in_background(file, batch))
                handed = True
                return
            loads.settle()
            if not after and batch is not None and self._load_lines(file, batch):
                return
            items = itertools.chain(file.lines(), after)
            self._load_records(self._records(items, file.started), self.column_types())
        finally:
            if not handed:
                file.remove()

    def _load_in_background(self, file: LaneFile, batch: LaneBatch) -> Then | None:
        """Load lane lines as they are (in the background); when DuckDB refuses them, what the
        reading thread then does: load them by singer-sdk's path."""
        try:
            if self._load_lines(file, batch):
                file.remove()
                return None
        except BaseException:
            file.remove()
            raise

        def by_records() -> None:
            try:
                records = self._records(file.lines(), file.started)
                self._load_records(records, self.column_types())
            finally:
                file.remove()

        return by_records

    def _records(
        self,
        items: Iterable[dict[str, Any] | tuple[int, bytes]],
        started: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The batch's records as the SDK's path holds them: a lane line is decoded, given
        its _sdc columns, validated and its dates parsed as the SDK does for a RECORD message
        (``_add_sdc_metadata_to_record`` with the batch's ``started``, ``_validate_and_parse``:
        the private SDK steps used here), with the SDK path's errors for its input line."""
        records: list[dict[str, Any]] = []
        metadata = self.include_sdc_metadata_properties
        context = {"batch_start_time": started} if started is not None else {}
        for item in items:
            if isinstance(item, dict):
                records.append(item)
                continue
            number, line = item
            message: dict[str, Any] = MESSAGE_DECODER.decode(line)
            record: dict[str, Any] = message["record"]

            def handle(record: dict[str, Any] = record, message: dict[str, Any] = message) -> None:
                if metadata:
                    self._add_sdc_metadata_to_record(record, message, context)
                self._validate_and_parse(record)
                records.append(self.preprocess_record(record, {}))

            self.at_input_line(number, message, handle)
        return records

    def _load_lines(self, file: LaneFile, batch: LaneBatch) -> bool:
        """Load the lane's lines as they are; ``False`` when DuckDB refused them (nothing of
        them is loaded then: the caller loads them as records)."""
        assert self.record_check is not None  # a lane file exists only then
        column_types = self.record_check.column_types
        try:
            self.connector.load_json_lines(
                table=str(self.full_table_name),
                file=file.path,
                column_types=column_types,
                keys=self.upsert_keys,
                hard_delete_column=self._hard_delete_column(column_types),
                lane=batch,
            )
        except sa.exc.DBAPIError as error:
            self.logger.info(
                "Loading %d lines of stream %r as records: DuckDB refused them as they are (%s)",
                file.lines_held,
                self.stream_name,
                str(error.orig).splitlines()[0][:200],
            )
            return False
        return True

    def _hard_delete_column(self, column_types: Mapping[str, str]) -> str | None:
        """The column whose value removes a row's key (``hard_delete``, on key upserts)."""
        deletes = self.config.get("hard_delete") and self.upsert_keys
        return DELETED_AT if deletes and DELETED_AT in column_types else None

    def _load_records(self, records: list[dict[str, Any]], column_types: dict[str, str]) -> None:
        keys = self.upsert_keys
        if keys:
            refuse_null_keys(records, keys, self.stream_name)
        kinds = column_kinds(column_types, self.declared_places)
        lines = json_lines(records, kinds, self.json_properties, self.stream_name)
        with tempfile.TemporaryDirectory(prefix="target-duckdb-afas-") as workdir:
            file = Path(workdir) / "batch.jsonl"
            file.write_bytes(lines)
            try:
                self.connector.load_json_lines(
                    table=str(self.full_table_name),
                    file=file,
                    column_types=column_types,
                    keys=keys,
                    hard_delete_column=self._hard_delete_column(column_types),
                )
            except sa.exc.DBAPIError:
                explain_refusal(records, kinds, self.stream_name)  # the value, if it is one
                raise
