"""``TargetDuckDB``: the embedded DuckDB warehouse of the AFAS pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from singer_sdk import typing as th
from singer_sdk.sql import SQLTarget
from typing_extensions import override

from afas_profit.errors import AFASConfigError
from tap_afas.console import ConsoleChecks, run_console
from tap_afas.input_files import unwritable_reason
from target_duckdb_afas.background import BackgroundLoads
from target_duckdb_afas.connector import DEFAULT_DECIMAL_SCALE, IN_MEMORY, DuckDBConnector
from target_duckdb_afas.lane import FastLane
from target_duckdb_afas.reader import LaneReader
from target_duckdb_afas.rows import DecimalOutOfRangeError
from target_duckdb_afas.sink import DuckDBSink, NameClashError, NullKeyError
from target_duckdb_afas.types import DECIMAL_PRECISION


class TargetDuckDB(SQLTarget):
    """Singer target for one DuckDB database file, with exact column types."""

    name = "target-duckdb-afas"
    package_name = "tap-afas"
    default_sink_class = DuckDBSink
    max_parallelism = 1  # one DuckDB file has one writer
    message_reader_class = LaneReader
    config_jsonschema = th.PropertiesList(
        th.Property(
            "path",
            th.StringType(min_length=1),
            required=True,
            title="Database file",
            description="Path of the DuckDB database file (created with its folder when "
            "missing), or :memory:.",
        ),
        th.Property(
            "decimal_scale",
            th.IntegerType(minimum=0, maximum=DECIMAL_PRECISION - 1),
            default=DEFAULT_DECIMAL_SCALE,
            title="Decimal places",
            description=f"Places kept by DECIMAL({DECIMAL_PRECISION}, scale) columns for JSON "
            "numbers whose schema declares none (see declared_decimal_places). A value with "
            "more places (or more integer digits than the rest) stops the load with an error "
            "instead of being rounded.",
        ),
        th.Property(
            "declared_decimal_places",
            th.BooleanType,
            default=True,
            title="Declared decimal places",
            description=f"Type a number column DECIMAL({DECIMAL_PRECISION}, p) with the places p "
            "its schema declares (x-sql-datatype-properties scale, as tap-afas states AFAS's "
            "decimals, or multipleOf: 0.01 is 2). Off: every number column keeps decimal_scale "
            "places.",
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            title="Target schema",
            description="Schema that receives one table per stream (default: main). One named "
            "like the database file (afas in afas.duckdb) is the file's main schema, where "
            "afas.<table>, main.<table> and <table> all find the tables (DuckDB could not "
            "tell a schema afas from the file's catalog afas).",
        ),
        th.Property(
            "load_method",
            th.StringType(allowed_values=["upsert", "append-only", "overwrite"]),
            default="upsert",
            title="Load method",
            description="upsert: a record replaces the row with its key properties (streams "
            "without keys are appended); append-only: every record is a new row; overwrite: "
            "each table is emptied at its stream's first batch of the run, then upserted.",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType(minimum=1),
            title="Batch Size Rows",
            description="Maximum number of rows in each batch (at least 1). Default: 10,000 "
            "records, and 200,000 lines for batches of RECORD lines loaded as they came (the "
            "fast lane, see the README).",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.message_reader, LaneReader):
            self.message_reader.lane = FastLane(self, at_line=self.message_reader.at_line)
            self.message_reader.settle = self.loads.settle

    @property
    def loads(self) -> BackgroundLoads:
        """The batch load running beside the reading (one connector serves every sink)."""
        connector = self.target_connector
        assert isinstance(connector, DuckDBConnector)
        return connector.loads

    @override
    def process_endofpipe(self) -> None:
        """The load running in the background settles before the last drain, which ends with
        the STATE message."""
        self.loads.settle()
        super().process_endofpipe()

    @override
    def _handle_max_record_age(self) -> None:
        """When records have waited longer than the SDK's maximum age, every sink is drained
        and STATE written: the load running in the background settles first."""
        if self._max_record_age_in_minutes > self._MAX_RECORD_AGE_IN_MINUTES:
            self.loads.settle()
        super()._handle_max_record_age()


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse, before anything is created, a database path that cannot be written."""
    path = str(config["path"])
    if path == IN_MEMORY:
        return
    reason = unwritable_reason(Path(path).expanduser(), folder=False)
    if reason is not None:
        raise AFASConfigError(
            f"Setting 'path' ({path!r}) cannot be the database file: {reason}. Point it at a "
            f"file in a folder this user can write (the folder is created), or use {IN_MEMORY}."
        )


def main() -> None:
    """The ``target-duckdb-afas`` console script: the config is checked before the database is
    opened; every failure, such as a value the warehouse cannot hold exactly, a record against
    its schema, or a record without a key to upsert on, ends with one ERROR line."""
    run_console(
        TargetDuckDB,
        ConsoleChecks(settings=check_settings),
        known=(DecimalOutOfRangeError, NullKeyError, NameClashError),
    )
