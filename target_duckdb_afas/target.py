"""``TargetDuckDB``: the embedded DuckDB warehouse of the AFAS pipeline."""

from __future__ import annotations

import logging

from singer_sdk import typing as th
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sql import SQLTarget

from afas_profit.errors import run_command
from target_duckdb_afas.connector import DECIMAL_PRECISION, DEFAULT_DECIMAL_SCALE
from target_duckdb_afas.rows import DecimalOutOfRangeError
from target_duckdb_afas.sink import DuckDBSink, NullKeyError


class TargetDuckDB(SQLTarget):
    """Singer target for one DuckDB database file, with exact column types."""

    name = "target-duckdb-afas"
    package_name = "tap-afas"
    default_sink_class = DuckDBSink
    max_parallelism = 1  # one DuckDB file has one writer
    config_jsonschema = th.PropertiesList(
        th.Property(
            "path",
            th.StringType,
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
            "numbers. A value with more places (or more integer digits than the rest) stops "
            "the load with an error instead of being rounded.",
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
    ).to_dict()


def main() -> None:
    """The ``target-duckdb-afas`` console script: a value the warehouse cannot hold exactly, a
    record against its schema, or a record without a key to upsert on ends the run with one
    clear log line (traceback at DEBUG)."""
    run_command(
        TargetDuckDB.cli,
        logging.getLogger(TargetDuckDB.name),
        (DecimalOutOfRangeError, InvalidRecord, NullKeyError),
    )
