"""kill -9 of ``target-duckdb-afas`` while its fast lane loads: nothing acknowledged is lost.

The console script reads a compact input (every RECORD line in the lane's form) of about
200,000 records (ids 1..N, upserted on id; one id in seven written again later with other
values) with a STATE line every 10,000 records, in batches of 5,000 rows. Each seed kills the
script at up to three random moments (each run reads the input from its start, as a rerun
after a crash does), and after each kill the database, opened read-only, must hold:

- every record that came before the last STATE the script wrote (it acknowledged them), with
  that record's values or those of a later record of its id;
- no row with values that were never sent for its id.

Then the whole input runs to its end: exactly N rows, each with its id's last values.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

import duckdb
import pytest

from tests.support.cli import cli_env, console_script, write_json

N = 200_000
STATE_EVERY = 10_000
BATCH_SIZE_ROWS = 5_000
SEEDS = [11, 12, 13, 14]

SCHEMA = (
    '{"type":"SCHEMA","stream":"Boekingen","key_properties":["id"],"schema":{"type":"object",'
    '"properties":{"id":{"type":"integer"},"amount":{"type":["number","null"],"multipleOf":0.01},'
    '"name":{"type":["string","null"]}}}}'
)


@dataclass
class Input:
    path: Path
    # per id: the versions sent, in order, each with the number of records before it
    sent: dict[int, list[tuple[int, tuple[Any, ...]]]]
    states: dict[int, int]  # STATE value "records" -> records sent before it


def values(record_id: int, version: int) -> tuple[Any, ...]:
    return (record_id, Decimal(f"{record_id}.{version:02d}"), f"n{record_id}-v{version}")


def write_input(folder: Path) -> Input:
    """The input file (and what it sends): ids 1..N in order, and after each seventh id the
    id 3,000 before it once more (version 2)."""
    sent: dict[int, list[tuple[int, tuple[Any, ...]]]] = {}
    states: dict[int, int] = {}
    lines = [SCHEMA]
    count = 0

    def record(record_id: int, version: int) -> None:
        nonlocal count
        row = values(record_id, version)
        sent.setdefault(record_id, []).append((count, row))
        lines.append(
            '{"type":"RECORD","stream":"Boekingen","record":'
            f'{{"id":{record_id},"amount":{row[1]},"name":"{row[2]}"}}}}'
        )
        count += 1
        if count % STATE_EVERY == 0:
            lines.append(f'{{"type":"STATE","value":{{"records":{count}}}}}')
            states[count] = count

    for record_id in range(1, N + 1):
        record(record_id, 1)
        if record_id % 7 == 0 and record_id > 3_000:
            record(record_id - 3_000, 2)
    lines.append(f'{{"type":"STATE","value":{{"records":{count}}}}}')
    states[count] = count
    path = folder / "input.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Input(path, sent, states)


class Run:
    """The console script reading the input file, its STATE lines read as they come."""

    def __init__(self, folder: Path, config: Path, source: Path) -> None:
        self.states: list[dict[str, Any]] = []
        self._stdin = source.open("rb")
        self.process = subprocess.Popen(
            [*console_script("target-duckdb-afas"), "--config", str(config)],
            stdin=self._stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            env=cli_env(),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in cast(IO[bytes], self.process.stdout):  # stdout=PIPE
            if line.strip():
                self.states.append(json.loads(line))

    def kill(self) -> None:
        self.process.kill()  # SIGKILL, this process only
        self.finish()

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        cast(IO[bytes], self.process.stdout).close()
        self._stdin.close()
        return code


def rows(database: Path) -> dict[int, tuple[Any, ...]]:
    if not database.exists():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        if not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'Boekingen'"
        ).fetchone()[0]:  # type: ignore[index]
            return {}
        found = con.execute('SELECT id, amount, name FROM "Boekingen"').fetchall()
    finally:
        con.close()
    table: dict[int, tuple[Any, ...]] = {}
    for row in found:
        assert row[0] not in table, f"id {row[0]} twice"
        table[row[0]] = tuple(row)
    return table


def check_after_kill(table: dict[int, tuple[Any, ...]], sent: Input, acknowledged: int) -> None:
    """No row was never sent; every record before ``acknowledged`` records is there, with its
    values or a later record's of its id."""
    for record_id, row in table.items():
        versions = sent.sent.get(record_id)
        assert versions is not None, f"row {row} for an id never sent"
        assert row in [v for _, v in versions], f"row {row}: values never sent"
    for record_id, versions in sent.sent.items():
        before = [i for i, (at, _) in enumerate(versions) if at < acknowledged]
        if not before:
            continue
        assert record_id in table, f"id {record_id} acknowledged by STATE but missing"
        allowed = [v for _, v in versions[before[-1] :]]
        assert table[record_id] in allowed, f"id {record_id}: {table[record_id]} not in {allowed}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_kill_9_while_the_lane_loads_loses_nothing_acknowledged(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sent = write_input(tmp_path)
    database = tmp_path / "warehouse.duckdb"
    config = write_json(
        tmp_path, "config.json", {"path": str(database), "batch_size_rows": BATCH_SIZE_ROWS}
    )
    kills = rng.randint(1, 3)
    for _ in range(kills):
        run = Run(tmp_path, config, sent.path)
        time.sleep(rng.uniform(0.3, 3.0))
        run.kill()
        acknowledged = max((s["records"] for s in run.states), default=0)
        check_after_kill(rows(database), sent, acknowledged)
    run = Run(tmp_path, config, sent.path)
    assert run.finish(timeout=120) == 0
    assert run.states
    assert run.states[-1] == {"records": max(sent.states)}
    table = rows(database)
    assert len(table) == N
    expected = {record_id: versions[-1][1] for record_id, versions in sent.sent.items()}
    assert table == expected
