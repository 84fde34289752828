"""Warehouse layer: feed Singer input to target-duckdb-afas and read back the DuckDB file.

- Singer input is built here (``schema_message``; ``record_message`` and ``state_message`` come
  from tests/plugin_runs.py);
  ``singer_text`` writes them as JSON lines with ``Decimal`` values as JSON *numbers* carrying
  every digit (msgspec, ``decimal_format="number"``), and passes ``str`` items through as
  ready-made lines (for numbers spelled a particular way, e.g. ``1e-5``).
- ``Warehouse`` (fixture ``warehouse``): one database file in ``tmp_path``. ``load`` runs
  ``TargetDuckDB`` in-process on the messages (a new target instance per call, like a new
  ``meltano run``), captures stdout (the STATE lines) and disposes of the target's engine
  afterwards, so that ``query`` / ``column_types`` can open the file read-only.
- ``run_cli``: ``.venv/bin/target-duckdb-afas --config F`` as a subprocess reading stdin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import pytest

from target_duckdb_afas.target import TargetDuckDB
from tests.plugin_runs import keep_signal_handlers, record_message

ROOT = Path(__file__).resolve().parents[2]
TARGET_BIN = ROOT / ".venv" / "bin" / "target-duckdb-afas"

Message = dict[str, Any]
Line = Message | str  # a message, or a ready-made JSON line

# Property specs used throughout.
INTEGER: dict[str, Any] = {"type": "integer"}
NULLABLE_INTEGER: dict[str, Any] = {"type": ["integer", "null"]}
NUMBER: dict[str, Any] = {"type": ["number", "null"]}
STRING: dict[str, Any] = {"type": ["string", "null"]}
DATE: dict[str, Any] = {"type": ["string", "null"], "format": "date"}
TIME: dict[str, Any] = {"type": ["string", "null"], "format": "time"}
DATE_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
DELETED_AT = "_sdc_deleted_at"
UTC = dt.timezone.utc


# --------------------------------------------------------------------------- Singer input


def schema_message(
    stream: str, properties: Mapping[str, Mapping[str, Any]], keys: Sequence[str] = ()
) -> Message:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": {k: dict(v) for k, v in properties.items()}},
        "key_properties": list(keys),
    }


def stream_messages(
    stream: str,
    properties: Mapping[str, Mapping[str, Any]],
    records: Iterable[Mapping[str, Any]],
    keys: Sequence[str] = (),
) -> list[Message]:
    """SCHEMA, then one RECORD per record."""
    return [
        schema_message(stream, properties, keys),
        *(record_message(stream, r) for r in records),
    ]


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def singer_text(lines: Iterable[Line]) -> str:
    return "".join(
        (line if isinstance(line, str) else _ENCODER.encode(line).decode()) + "\n" for line in lines
    )


# --------------------------------------------------------------------------- the warehouse


@dataclass
class LoadRun:
    """What one in-process run wrote to stdout."""

    stdout: str

    @property
    def states(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


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
                target.target_connector.release()
    return LoadRun(out.getvalue())


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


# --------------------------------------------------------------------------- the console script


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_cli(
    tmp_path: Path, config: Mapping[str, Any], lines: Iterable[Line], timeout: float = 60
) -> CliRun:
    """``target-duckdb-afas --config F < input`` with the config file in ``tmp_path``."""
    config_file = tmp_path / "target-config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_DUCKDB_AFAS_")}
    env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(
        [str(TARGET_BIN), "--config", str(config_file)],
        input=singer_text(lines),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)
