"""target-duckdb-afas loads a full lane batch while it reads the next (background.py): STATE is
written only when every row before it is committed, and a batch DuckDB refuses in the
background is loaded by singer-sdk's path before any later batch of its stream."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from target_duckdb_afas.connector import DuckDBConnector
from target_duckdb_afas.rows import DecimalOutOfRangeError
from target_duckdb_afas.target import TargetDuckDB
from tests.support.plugin_runs import keep_signal_handlers
from tests.support.singer_messages import schema_message, singer_bytes, state_message
from tests.support.warehouse_runs import Warehouse

SCHEMA = schema_message(
    "Boekingen",
    {
        "Id": {"type": "integer"},
        "Versie": {"type": "integer"},
        "Bedrag": {"type": ["number", "null"], "multipleOf": 0.01},
    },
    ["Id"],
)

OTHER_SCHEMA = schema_message("Log", {"N": {"type": "integer"}}, ["N"])


def record(n: int, version: int) -> dict[str, Any]:
    return {"type": "RECORD", "stream": "Boekingen", "record": _values(n, version)}


def _values(n: int, version: int) -> dict[str, Any]:
    return {"Id": n, "Versie": version, "Bedrag": float(f"{n}.{version:02d}")}


@pytest.mark.parametrize(("every", "batch", "other"), [(500, 300, False), (300, 300, True)])
def test_every_state_is_written_after_the_rows_before_it_are_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int, batch: int, other: bool
) -> None:
    """STATE after every ``every`` records, batches of ``batch`` lines loaded in the
    background, and a maximum record age of 0 (every run of lines drains every sink and writes
    STATE, as a load of more than 5 minutes does): when each STATE line is written, the table
    already holds every record before it. (With ``every == batch`` each run fills a batch
    exactly, and with ``other`` a record of another stream that takes singer-sdk's path, and
    that a stream map filters out, follows each STATE: its drain finds every sink empty while
    that batch may still load.)"""
    total = 6000
    lines: list[Any] = [SCHEMA, OTHER_SCHEMA]
    for n in range(1, total + 1):
        lines.append(record(n, 1))
        if n % every == 0:
            lines.append(state_message({"upto": n}))
            if other:  # '{"type": "RECORD", ...': not the lane's
                lines.append(json.dumps({"type": "RECORD", "stream": "Log", "record": {"N": n}}))
    monkeypatch.setattr(TargetDuckDB, "_MAX_RECORD_AGE_IN_MINUTES", 0.0)
    path = tmp_path / "w.duckdb"
    target = TargetDuckDB(
        config={
            "path": str(path),
            "batch_size_rows": batch,
            # The other stream's records are all filtered out: its drain has nothing to load.
            "stream_maps": {"Log": {"__filter__": "N < 0"}},
        },
        parse_env_config=False,
        validate_config=True,
    )
    committed: list[tuple[int, int]] = []  # (STATE's upto, rows committed when it was written)
    original = TargetDuckDB._write_state_message

    def write(self: TargetDuckDB, state: dict[str, Any]) -> None:
        connector = cast(DuckDBConnector, self.target_connector)
        with connector._connect() as conn:  # what any other session sees: committed rows
            rows = conn.exec_driver_sql('SELECT count(*) FROM main."Boekingen"').scalar()
        committed.append((int(state.get("upto", 0)), int(rows or 0)))
        original(self, state)

    monkeypatch.setattr(TargetDuckDB, "_write_state_message", write)
    out = io.StringIO()
    with keep_signal_handlers(), contextlib.redirect_stdout(out):
        try:
            target.listen(file_input=io.BytesIO(singer_bytes(lines)))  # type: ignore[arg-type]  # the console script reads bytes
        finally:
            target.target_connector.release()  # type: ignore[attr-defined]
    assert target.message_reader.lane.taken == total  # type: ignore[attr-defined]
    assert len(committed) >= total // every  # a STATE at least after each run
    for upto, rows in committed:
        assert rows >= upto, f"STATE up to {upto} written with {rows} rows committed"
    assert committed[-1] == (total, total)
    assert [json.loads(s) for s in out.getvalue().splitlines()][-1] == {"upto": total}


def test_a_batch_refused_in_the_background_lands_before_the_next_batch_of_its_stream(
    tmp_path: Path,
) -> None:
    """Batches of 50 lines; the second batch holds a record with a key written twice (DuckDB
    refuses the batch as it is; singer-sdk's path keeps the last value), and every later batch
    updates the same ids again: each id ends with its last version, so the refused batch was
    loaded before the ones after it, never after."""
    lines: list[Any] = [SCHEMA]
    for version in range(1, 6):
        for n in range(1, 101):
            if version == 1 and n == 60:  # in the second batch of 50 lines
                lines.append(
                    '{"type":"RECORD","stream":"Boekingen","record":'
                    '{"Id":60,"Versie":0,"Versie":1,"Bedrag":60.01}}'
                )
            else:
                lines.append(record(n, version))
        lines.append(state_message({"versie": version}))
    warehouse = Warehouse(tmp_path / "w.duckdb")
    run = warehouse.load(lines, batch_size_rows=50)
    rows = warehouse.query('SELECT "Id", "Versie", "Bedrag" FROM "Boekingen" ORDER BY "Id"')
    assert rows == [(n, 5, Decimal(f"{n}.05")) for n in range(1, 101)]
    assert run.states[-1] == {"versie": 5}


def test_an_error_in_a_background_batch_stops_the_run_before_its_state(tmp_path: Path) -> None:
    """A value with more integer digits than its column holds, in a batch loaded in the
    background: the run stops with the loader's error for that value, and no STATE after it
    is written."""
    lines: list[Any] = [SCHEMA, *(record(n, 1) for n in range(1, 101))]
    lines.append(
        '{"type":"RECORD","stream":"Boekingen","record":'
        '{"Id":101,"Versie":1,"Bedrag":123456789012345678901234567890123456789.5}}'
    )
    lines += [record(n, 1) for n in range(102, 301)]
    lines.append(state_message({"upto": 300}))
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with pytest.raises(DecimalOutOfRangeError, match="integer digits") as raised:
        warehouse.load(lines, batch_size_rows=50)
    assert "Bedrag" in str(raised.value)
    assert warehouse.query('SELECT count(*) FROM "Boekingen" WHERE "Id" > 100') == [(0,)]


def test_record_messages_as_records_interleave_with_background_batches(tmp_path: Path) -> None:
    """Records the lane leaves to singer-sdk (spaced lines) between lane batches loading in
    the background: every record lands, each id with its last version."""
    lines: list[Any] = [SCHEMA]
    for version in range(1, 4):
        for n in range(1, 201):
            message = record(n, version)
            if n % 7 == 0:
                lines.append(json.dumps(message))  # '{"type": "RECORD", ...': the SDK's path
            else:
                lines.append(message)
    lines.append(state_message({"done": True}))
    warehouse = Warehouse(tmp_path / "w.duckdb")
    run = warehouse.load(lines, batch_size_rows=30)
    rows = warehouse.query('SELECT "Id", "Versie" FROM "Boekingen" ORDER BY "Id"')
    assert rows == [(n, 3) for n in range(1, 201)]
    assert run.states == [{"done": True}]
