"""target-duckdb-afas run by a test: in-process on a database file, or as a command.

- ``Warehouse`` (fixture ``warehouse`` in tests/warehouse): one database file. ``load`` runs
  ``TargetDuckDB`` in-process on the messages (a new target instance per call, like a new
  ``meltano run``), captures stdout (the STATE lines) and disposes of the target's engine
  afterwards, so that ``query`` / ``column_types`` can open the file read-only.
- ``run_duckdb_cli``: ``.venv/bin/target-duckdb-afas --config F`` as a subprocess reading stdin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import duckdb

from target_duckdb_afas.connector import DuckDBConnector
from target_duckdb_afas.target import TargetDuckDB
from tests.support.cli import CliRun, console_script, run_cli, write_json
from tests.support.plugin_runs import keep_signal_handlers
from tests.support.singer_messages import Line, json_lines, singer_text

UTC = dt.timezone.utc


@dataclass
class LoadRun:
    """What one in-process run wrote to stdout."""

    stdout: str

    @property
    def states(self) -> list[Any]:
        return json_lines(self.stdout)


def load(config: Mapping[str, Any], lines: Iterable[Line]) -> LoadRun:
    """``TargetDuckDB`` in-process; its engine is disposed of even when the run fails."""
    out = io.StringIO()
    text = singer_text(lines)
    target: TargetDuckDB | None = None
    with keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            target = TargetDuckDB(config=dict(config), parse_env_config=False, validate_config=True)
            target.listen(file_input=io.StringIO(text))
        finally:
            # The engine's pooled connection keeps the file open in this process; a
            # read-only connection (other configuration) could not open it meanwhile.
            # (The sinks release it at a normal end; this covers failed runs.)
            if target is not None:
                cast(DuckDBConnector, target.target_connector).release()
    return LoadRun(out.getvalue())


@dataclass
class Warehouse:
    path: Path
    settings: dict[str, Any] = field(default_factory=dict)

    def config(self, **settings: Any) -> dict[str, Any]:
        return {"path": str(self.path), **self.settings, **settings}

    def load(self, lines: Iterable[Line], **settings: Any) -> LoadRun:
        """One run of a new ``TargetDuckDB`` on ``lines`` (errors propagate)."""
        return load(self.config(**settings), lines)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` over a plain read-only ``duckdb`` connection to the file (the
        session's zone is the machine's, as for any client)."""
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()

    def column_types(self, table: str, schema: str = "main") -> dict[str, str]:
        """``column_name -> data_type`` from information_schema.columns, in column order (names
        compared exactly, so this also checks their case)."""
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        )
        return {str(name): str(data_type) for name, data_type in rows}

    def tables(self) -> set[tuple[str, str]]:
        rows = self.query("SELECT schema_name, table_name FROM duckdb_tables()")
        return {(str(s), str(t)) for s, t in rows}


def run_duckdb_cli(
    tmp_path: Path, config: Mapping[str, Any], lines: Iterable[Line], timeout: float = 60
) -> CliRun:
    """``target-duckdb-afas --config F < input`` with the config file in ``tmp_path``."""
    config_file = write_json(tmp_path, "target-config.json", dict(config))
    return run_cli(
        [*console_script("target-duckdb-afas"), "--config", str(config_file)],
        cwd=tmp_path,
        stdin=singer_text(lines),
        timeout=timeout,
    )
