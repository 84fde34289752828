"""How close target-duckdb-afas comes to DuckDB's own bulk load, and its memory.

Generates a Singer stream shaped like tap-afas's Profit_Transactions (composite key, integers,
strings, two decimals declaring 2 places as ``multipleOf: 0.01``, two dates, a date-time;
deterministic), then measures, in the same run:
- ``target-duckdb-afas`` as a subprocess reading that file on stdin into a fresh database file,
  with ``validate_records`` on (the default) and off; records/s over the process's wall time
  (interpreter start included); its RECORD lines are written as singer-sdk taps write them
  (``{"type":"RECORD","stream":...``), which the loader's fast lane takes;
- the same records with a space after each envelope colon (``{"type": "RECORD", ...``), which
  the fast lane leaves to singer-sdk's per-record path: what the lane saves;
- the floor: DuckDB alone (a subprocess running ``CREATE TABLE ... AS SELECT * FROM
  read_json(...)`` with the loader's column types) on a file of the bare records;
- the loader's fixed cost: one run on a single record (start, imports, engine, table).
Prints the medians of ``--repeat`` runs and their ratios to the floor, by wall time and by CPU
time (user + system of the process; steadier than wall time on a shared machine), then the
peak memory (max RSS via GNU ``/usr/bin/time``) of the loader and of DuckDB alone at each of
``--memory-rows``: the loader holds at most two batches (one loading, one filling), so its
own share stays flat; DuckDB's cache of the table it writes grows with the table in both.

    .venv/bin/python benchmarks/warehouse_throughput.py --rows 100000 --repeat 3
    .venv/bin/python benchmarks/warehouse_throughput.py --rows 20000 --repeat 1 \
        --memory-rows 20000 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TIME = Path("/usr/bin/time")
STREAM = "profit_transactions"
SCHEMA = {
    "type": "object",
    "properties": {
        "UnitId": {"type": ["integer", "null"]},
        "EntryNo": {"type": ["integer", "null"]},
        "SeqNo": {"type": ["integer", "null"]},
        "JournalId": {"type": ["string", "null"]},
        "AccountNo": {"type": ["string", "null"]},
        "Description": {"type": ["string", "null"]},
        "EntryDate": {"type": ["string", "null"], "format": "date"},
        "DocumentDate": {"type": ["string", "null"], "format": "date"},
        "AmountDebit": {"type": ["number", "null"], "multipleOf": 0.01},
        "AmountCredit": {"type": ["number", "null"], "multipleOf": 0.01},
        "Mutatiedatum": {"type": ["string", "null"], "format": "date-time"},
    },
}
KEYS = ["UnitId", "EntryNo", "SeqNo"]
FLOOR_TYPES = {
    "UnitId": "BIGINT",
    "EntryNo": "BIGINT",
    "SeqNo": "BIGINT",
    "JournalId": "VARCHAR",
    "AccountNo": "VARCHAR",
    "Description": "VARCHAR",
    "EntryDate": "DATE",
    "DocumentDate": "DATE",
    "AmountDebit": "DECIMAL(38,2)",
    "AmountCredit": "DECIMAL(38,2)",
    "Mutatiedatum": "TIMESTAMPTZ",
}
FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited', columns="
            + sys.argv[3] + ")", [sys.argv[2]])
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def records(rows: int) -> list[str]:
    rng = random.Random(1)
    start = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
    lines = []
    for n in range(rows):
        day = (start + dt.timedelta(minutes=n)).date().isoformat()
        cents = rng.randint(1, 10_000_000)
        amount = f"{cents // 100}.{cents % 100:02d}"
        stamp = (start + dt.timedelta(seconds=37 * n)).isoformat().replace("+00:00", "Z")
        lines.append(
            f'{{"UnitId":1,"EntryNo":{10000 + n // 2},"SeqNo":{n % 2 + 1},"JournalId":"20",'
            f'"AccountNo":"{1000 + n % 97}","Description":"Boeking {n}","EntryDate":"{day}",'
            f'"DocumentDate":"{day}","AmountDebit":{amount if n % 2 == 0 else "null"},'
            f'"AmountCredit":{amount if n % 2 else "null"},"Mutatiedatum":"{stamp}"}}'
        )
    return lines


def write_inputs(rows: int, work: Path) -> tuple[Path, Path]:
    """The Singer input (and, beside it, ``.spaced.singer``: the SDK path's) and the bare
    records of ``rows`` records."""
    bare = records(rows)
    singer = work / f"input-{rows}.singer"
    with singer.open("w", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": KEYS}
            )
            + "\n"
        )
        for line in bare:
            out.write(f'{{"type":"RECORD","stream":"{STREAM}","record":{line}}}\n')
        out.write('{"type":"STATE","value":{"done":true}}\n')
    spaced = work / f"input-{rows}.spaced.singer"
    spaced.write_bytes(
        singer.read_bytes().replace(b'{"type":"RECORD","stream":', b'{"type": "RECORD", "stream": ')
    )
    plain = work / f"records-{rows}.jsonl"
    plain.write_text("\n".join(bare) + "\n", encoding="utf-8")
    return singer, plain


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_loader(singer: Path, work: Path, validate: bool) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB, 0 without GNU time) of one loader run."""
    database = work / "loader.duckdb"
    database.unlink(missing_ok=True)
    config = work / "config.json"
    config.write_text(
        json.dumps(
            {"path": str(database), "default_target_schema": "afas", "validate_records": validate}
        )
    )
    rss_file = work / "rss.txt"
    prefix = [str(TIME), "-f", "%M", "-o", str(rss_file)] if TIME.exists() else []
    command = [*prefix, str(BIN / "target-duckdb-afas"), "--config", str(config)]
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with singer.open("rb") as stdin:
        subprocess.run(
            command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
    seconds = time.perf_counter() - started
    rss = int(rss_file.read_text().split()[-1]) if prefix else 0
    return seconds, _cpu_seconds() - cpu, rss


def run_floor(plain: Path, work: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB, 0 without GNU time) of DuckDB's own load."""
    database = work / "floor.duckdb"
    database.unlink(missing_ok=True)
    columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in FLOOR_TYPES.items()) + "}"
    rss_file = work / "floor-rss.txt"
    prefix = [str(TIME), "-f", "%M", "-o", str(rss_file)] if TIME.exists() else []
    cpu = _cpu_seconds()
    started = time.perf_counter()
    subprocess.run(
        [*prefix, sys.executable, "-c", FLOOR, str(database), str(plain), columns],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    seconds = time.perf_counter() - started
    rss = int(rss_file.read_text().split()[-1]) if prefix else 0
    return seconds, _cpu_seconds() - cpu, rss


def throughput(rows: int, repeat: int, work: Path) -> None:
    singer, plain = write_inputs(rows, work)
    one, _ = write_inputs(1, work)
    walls: dict[str, list[float]] = {
        "duckdb floor": [],
        "loader": [],
        "loader (no validation)": [],
        "loader, SDK path": [],
        "loader, 1 record": [],
    }
    cpus: dict[str, list[float]] = {name: [] for name in walls}
    for _ in range(repeat):  # interleaved, so machine noise hits all alike
        for name, (wall, cpu) in {
            "duckdb floor": run_floor(plain, work)[:2],
            "loader": run_loader(singer, work, validate=True)[:2],
            "loader (no validation)": run_loader(singer, work, validate=False)[:2],
            "loader, SDK path": run_loader(
                singer.with_suffix(".spaced.singer"), work, validate=True
            )[:2],
            "loader, 1 record": run_loader(one, work, validate=True)[:2],
        }.items():
            walls[name].append(wall)
            cpus[name].append(cpu)
    floor_wall = statistics.median(walls["duckdb floor"])
    floor_cpu = statistics.median(cpus["duckdb floor"])
    print(
        f"{'run':<24} {'records':>9} {'median rec/s':>13} {'vs floor':>9} "
        f"{'CPU s':>7} {'vs floor':>9}   (rec/s of each run)"
    )
    for name in walls:
        count = 1 if name == "loader, 1 record" else rows
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        runs = ", ".join(f"{count / w:,.0f}" for w in walls[name])
        by_wall = floor_wall / wall * count / rows  # this run's rec/s over the floor's
        by_cpu = floor_cpu / cpu * count / rows
        print(
            f"{name:<24} {count:>9,} {count / wall:>13,.0f} {by_wall:>9.2f} "
            f"{cpu:>7.2f} {by_cpu:>9.2f}   ({runs})"
        )
    fixed = statistics.median(cpus["loader, 1 record"])
    per_record = (statistics.median(cpus["loader"]) - fixed) / rows * 1e6
    print(
        f"loader CPU: {fixed:.2f} s fixed (start, imports, engine) + {per_record:.1f} µs per record"
    )


def memory(sizes: list[int], work: Path) -> None:
    if not TIME.exists():
        print("memory: GNU /usr/bin/time not found, skipped")
        return
    print("\npeak memory (max RSS): loader, and DuckDB alone loading the same rows")
    peaks = []
    for rows in sizes:
        singer, plain = write_inputs(rows, work)
        _, _, rss = run_loader(singer, work, validate=True)
        _, _, floor = run_floor(plain, work)
        peaks.append(rss)
        print(
            f"  {rows:>9,} records: {rss / 1024:6.1f} MiB   (DuckDB alone {floor / 1024:6.1f} MiB)"
        )
    if len(peaks) > 1:
        print(f"  x{peaks[-1] / peaks[0]:.2f} memory for x{sizes[-1] / sizes[0]:.0f} records")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[20_000, 200_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warehouse-bench-") as tmp:
        work = Path(tmp)
        throughput(args.rows, args.repeat, work)
        memory(args.memory_rows, work)


if __name__ == "__main__":
    main()
