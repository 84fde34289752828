"""How close tap-afas comes to the raw limit of reading Profit_Transactions, and its memory.

Starts ``afas-sandbox serve`` in its own process (built once into a cached database file under
the temp dir, shared with sandbox_throughput.py), then measures, in the same run:
- ``tap-afas``: a subprocess syncing only Profit_Transactions from scratch (no state), its
  stdout read and its RECORD messages counted; records/s over the process's wall time
  (interpreter start and discovery included; the fixed cost is shown on its own line);
- the raw limit: a plain ``requests`` loop in this process fetching the same pages (the tap's
  page size for the connector, ordered on its replication key then key fields, the same
  ``lo <= R < hi`` window, skip/take continuation) and writing one
  ``json.dumps({"type": "RECORD", ...})`` line per row to /dev/null.
Prints both (median of ``--repeat`` runs) and their ratio, then the tap's peak memory (max RSS
of the tap process, via GNU ``/usr/bin/time``) at each of ``--memory-rows``: it should stay flat
as the data grows.

With ``--latency-ms`` (AFAS-like: ``--latency-ms 250 --per-row-ms 0.03``) a second sandbox charges
that per request and per row (and per skipped row, where the sandbox supports it), and the run
compares, in the same run, median of ``--repeat``:
- ``tap-afas`` with ``max_parallel_requests`` = ``--parallel``;
- a sequential skip/take loop (what a plain client writes, ordered so it is exact);
- one ``skip=-1&take=-1`` request (the PyPI client afas-connector's default), with its memory;
- the ideal: pages x latency / parallel calls (the floor for ``--parallel`` calls in flight);
- ``tap-afas`` reading the same rows as a full-table stream (no replication key, ``EntryNo``
  first in the key), in parallel ranges of its first key.

    .venv/bin/python benchmarks/tap_throughput.py --rows 100000 --repeat 3
    .venv/bin/python benchmarks/tap_throughput.py --rows 20000 --repeat 1 --memory-rows 20000 200000
    .venv/bin/python benchmarks/tap_throughput.py --rows 300000 --repeat 3 --memory-rows \
        --latency-ms 250 --per-row-ms 0.03 --parallel 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import requests

import afas_profit
import tap_afas
from afas_sandbox.datasets import load_dataset
from afas_sandbox.store import load_or_build_template
from tap_afas.streams import GetConnectorStream
from tap_afas.tap import TapAFAS

CONNECTOR = "Profit_Transactions"
FULL_TABLE_KEYS = ["EntryNo", "UnitId", "SeqNo"]  # an integer first key with many values
CACHE_DIR = Path(tempfile.gettempdir()) / "afas-sandbox-bench"
ZONE = ZoneInfo("Europe/Amsterdam")  # the tap's default 'timezone'
EARLIEST = "1900-01-01T00:00:00"  # the tap's window start without state or start_date
RECORD_MARK = b'{"type":"RECORD"'
CHUNK = 1 << 20
TIME = Path("/usr/bin/time")  # GNU time, for the tap's own peak RSS


@dataclass(frozen=True)
class Plan:
    """What the tap asks for, read from the tap itself (its discovered stream)."""

    stream: str
    take: int
    order: tuple[str, ...]
    replication_key: str


@dataclass(frozen=True)
class TapRun:
    records: int
    seconds: float
    max_rss_mib: float


def build_dataset(rows: int) -> Path:
    db = CACHE_DIR / f"demo-{rows}.sqlite3"
    started = time.perf_counter()
    load_or_build_template(load_dataset("demo"), seed=1, rows=rows, db_path=db)
    print(f"dataset ready in {time.perf_counter() - started:.1f}s ({rows:,} transactions)")
    return db


def start_server(
    rows: int, db: Path, latency: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    url_file = CACHE_DIR / f"url-{os.getpid()}.txt"
    url_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "afas_sandbox", "serve", "--port", "0", "--rows", str(rows)]
    command += ["--db", str(db), "--url-file", str(url_file), *(latency or [])]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not url_file.exists() or not url_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("afas-sandbox serve did not start")
        time.sleep(0.1)
    url = url_file.read_text().strip()
    url_file.unlink()
    return process, url


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def tap_config(base_url: str, parallel: int | None = None) -> dict[str, object]:
    token = next(t for t in load_dataset("demo").tokens if t.name == "full")
    config: dict[str, object] = {"api_url": base_url, "token": token.xml, "connectors": [CONNECTOR]}
    if parallel is not None:
        config["max_parallel_requests"] = parallel
    return config


def tap_plan(config: dict[str, object]) -> Plan:
    tap = TapAFAS(config=config, parse_env_config=False)
    (stream,) = tap.streams.values()
    key = stream.replication_key
    if not isinstance(stream, GetConnectorStream) or not key:
        raise SystemExit(f"{CONNECTOR} is expected to be an incremental GetConnectorStream")
    # A plain client pages with AFAS's guided page size (the tap shares it among its requests).
    take = stream.settings.page_size_for(len(stream.connector.fields))
    return Plan(stream.name, take, (key, *(stream.primary_keys or ())), key)


def tap_command() -> list[str]:
    script = Path(sys.executable).with_name("tap-afas")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tap_afas"]


def compile_tap() -> None:
    """The tap's own modules compiled to bytecode, as ``pip install`` leaves an installed tap
    (an editable install, or PYTHONDONTWRITEBYTECODE, would compile them in every timed run)."""
    packages = [str(Path(m.__file__).parent) for m in (tap_afas, afas_profit) if m.__file__]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)


def run_tap(arguments: list[str], work: Path) -> TapRun:
    """Run tap-afas, count the RECORD lines it writes and take its peak RSS.

    The peak comes from GNU time (``%M``): a child spawned straight from this process would
    report this process's own peak (Linux keeps the pre-exec high-water mark of a vforked child
    in its ``ru_maxrss``), and this process holds the dataset and the raw loop's pages.
    """
    log, rss_file = work / "tap.log", work / "tap.maxrss"
    command = [*tap_command(), *arguments]
    if TIME.exists():
        command = [str(TIME), "-f", "%M", "-o", str(rss_file), *command]
    started = time.perf_counter()
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        assert process.stdout is not None
        records, tail = 0, b""
        while chunk := process.stdout.read(CHUNK):
            data = tail + chunk
            records += data.count(RECORD_MARK)
            tail = data[-(len(RECORD_MARK) - 1) :]  # a mark split across two chunks
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.stderr.write(log.read_text(encoding="utf-8", errors="replace")[-3000:])
        raise SystemExit(f"tap-afas exited with {process.returncode}")
    # Without GNU time, wait4's figure is an upper bound: it includes this process's peak.
    kib = int(rss_file.read_text().split()[-1]) if TIME.exists() else usage.ru_maxrss
    return TapRun(records, seconds, kib / 1024)


def tap_counting(config_file: Path, work: Path, runs: list[TapRun]) -> Callable[[], int]:
    """One tap run with ``config_file`` (kept in ``runs``), its records counted."""

    def once() -> int:
        run = run_tap(["--config", str(config_file)], work)
        runs.append(run)
        return run.records

    return once


def raw_loop(base_url: str, header: str, plan: Plan) -> int:
    """The same pages as the tap, as plain requests + json, one RECORD line per row."""
    hi = datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M:%S")
    session = requests.Session()
    session.headers["Authorization"] = header
    params: dict[str, str | int] = {
        "orderbyfieldids": ",".join(plan.order),
        "filterfieldids": f"{plan.replication_key},{plan.replication_key}",
        "filtervalues": f"{EARLIEST},{hi}",
        "operatortypes": "2,5",
    }
    with open(os.devnull, "w", encoding="utf-8") as out:
        url = f"{base_url}/connectors/{CONNECTOR}"
        return write_pages(session, url, params, plan.stream, plan.take, out)


def write_pages(
    session: requests.Session,
    url: str,
    params: dict[str, str | int],
    stream: str,
    take: int,
    out: TextIO,
) -> int:
    """Skip/take pages of ``url`` with ``params`` until a shorter one, as a plain client pages;
    one ``json.dumps`` RECORD line per row to ``out``. Returns the rows read."""
    skip, total = 0, 0
    while True:
        response = session.get(url, params={**params, "skip": skip, "take": take}, timeout=300)
        response.raise_for_status()
        rows = json.loads(response.content)["rows"]
        for row in rows:
            out.write(json.dumps({"type": "RECORD", "stream": stream, "record": row}))
            out.write("\n")
        total += len(rows)
        if len(rows) < take:
            return total
        skip += take


def measure(loop: Callable[[], int], repeat: int) -> tuple[int, list[float]]:
    rates, records = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        records = loop()
        rates.append(records / (time.perf_counter() - started))
    return records, rates


def row(name: str, records: int, rates: list[float]) -> str:
    runs = ", ".join(f"{r:,.0f}" for r in rates)
    return f"{name:<30} {records:>9,} {statistics.median(rates):>12,.0f}   ({runs})"


def throughput(rows: int, repeat: int, work: Path) -> None:
    process, base_url = start_server(rows, build_dataset(rows))
    try:
        config = tap_config(base_url)
        config_file = work / "config.json"
        config_file.write_text(json.dumps(config), encoding="utf-8")
        plan = tap_plan(config)
        header = next(t for t in load_dataset("demo").tokens if t.name == "full").header
        print(
            f"\n{CONNECTOR}: {rows:,} rows, {plan.take:,} rows per page, "
            f"ordered by {','.join(plan.order)}"
        )
        print(f"{'loop':<30} {'records':>9} {'median rec/s':>12}   (runs)")
        raw_records, raw_rates = measure(lambda: raw_loop(base_url, header, plan), repeat)
        print(row("raw requests+json loop", raw_records, raw_rates))
        tap_runs: list[TapRun] = []

        def tap_once() -> int:
            run = run_tap(["--config", str(config_file)], work)
            tap_runs.append(run)
            return run.records

        tap_records, tap_rates = measure(tap_once, repeat)
        print(row("tap-afas (subprocess, wall)", tap_records, tap_rates))
        fixed = run_tap(["--config", str(config_file), "--discover"], work).seconds
        raw, tap = statistics.median(raw_rates), statistics.median(tap_rates)
        print(f"ratio tap / raw: {tap / raw:.2f}   (raw is {raw / tap:.1f}x the tap)")
        sync = statistics.median(r.seconds for r in tap_runs) - fixed
        peak = max(r.max_rss_mib for r in tap_runs)
        print(
            f"tap fixed cost (tap-afas --discover): {fixed:.2f}s; without it the tap does "
            f"{tap_records / sync:,.0f} rec/s; tap max RSS {peak:.0f} MiB"
        )
        if tap_records != raw_records:
            print(
                f"WARNING: tap emitted {tap_records:,} records, the raw loop read {raw_records:,}"
            )
    finally:
        stop_server(process)


def single_request(base_url: str, header: str, plan: Plan) -> int:
    """Everything in one ``skip=-1&take=-1`` request, one RECORD line per row."""
    session = requests.Session()
    session.headers["Authorization"] = header
    params = {"skip": -1, "take": -1, "orderbyfieldids": ",".join(plan.order)}
    response = session.get(f"{base_url}/connectors/{CONNECTOR}", params=params, timeout=900)
    response.raise_for_status()
    rows = json.loads(response.content)["rows"]
    with open(os.devnull, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({"type": "RECORD", "stream": plan.stream, "record": row}) + "\n")
    return len(rows)


def seconds_of(loop: Callable[[], int], repeat: int) -> tuple[int, float, list[float]]:
    times, records = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        records = loop()
        times.append(time.perf_counter() - started)
    return records, statistics.median(times), times


def latency_run(rows: int, repeat: int, work: Path, latency: list[str], parallel: int) -> None:
    """Tap vs a sequential loop vs one skip=-1 request vs the ideal, under AFAS-like latency."""
    process, base_url = start_server(rows, build_dataset(rows), latency)
    try:
        config = tap_config(base_url, parallel)
        config_file = work / "config-latency.json"
        config_file.write_text(json.dumps(config), encoding="utf-8")
        plan = tap_plan(config)
        header = next(t for t in load_dataset("demo").tokens if t.name == "full").header
        latency_ms = float(latency[latency.index("--latency-ms") + 1])
        pages = rows // plan.take + 1
        ideal = pages * latency_ms / 1000 / parallel
        print(
            f"\n{CONNECTOR}: {rows:,} rows under {' '.join(latency)}; {plan.take:,} rows per "
            f"page ({pages} pages); tap max_parallel_requests={parallel}"
        )
        print(f"{'way':<34} {'records':>9} {'median s':>9}   (runs)   ratio to tap")
        results: list[tuple[str, int, float, list[float]]] = []
        tap_runs: list[TapRun] = []
        tap_once = tap_counting(config_file, work, tap_runs)
        results.append(("tap-afas (subprocess, wall)", *seconds_of(tap_once, repeat)))
        results.append(
            (
                "sequential skip/take loop",
                *seconds_of(lambda: raw_loop(base_url, header, plan), repeat),
            )
        )
        single_rss: list[float] = []

        def single_once() -> int:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            count = single_request(base_url, header, plan)
            single_rss.append((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
            return count

        results.append(("one skip=-1&take=-1 request", *seconds_of(single_once, repeat)))
        # The same rows as a full-table stream (no replication key; EntryNo first in the key):
        # read in parallel ranges of its first key (afas_profit.key_ranges).
        full_file = work / "config-full-table.json"
        full_config = {
            **config,
            "replication_keys": {CONNECTOR: None},
            "primary_keys": {CONNECTOR: FULL_TABLE_KEYS},
        }
        full_file.write_text(json.dumps(full_config), encoding="utf-8")
        full_runs: list[TapRun] = []
        full_once = tap_counting(full_file, work, full_runs)
        results.append(("tap-afas full-table (key ranges)", *seconds_of(full_once, repeat)))
        tap_seconds = results[0][2]
        for name, records, median, runs in results:
            shown = ", ".join(f"{r:.1f}" for r in runs)
            print(
                f"{name:<34} {records:>9,} {median:>9.1f}   ({shown})   {median / tap_seconds:.2f}x"
            )
        print(f"{'ideal: pages x latency / parallel':<34} {'':>9} {ideal:>9.1f}")
        peak = max(r.max_rss_mib for r in tap_runs)
        print(
            f"tap max RSS {peak:.0f} MiB; the single request grew this process by "
            f"{max(single_rss):.0f} MiB"
        )
        print(
            f"tap speed-up over the sequential loop: {results[1][2] / tap_seconds:.1f}x; over "
            f"the single request: {results[2][2] / tap_seconds:.1f}x"
        )
        print(
            f"full-table read: {results[1][2] / results[3][2]:.1f}x the sequential loop's "
            f"speed; max RSS {max(r.max_rss_mib for r in full_runs):.0f} MiB"
        )
    finally:
        stop_server(process)


def memory(sizes: list[int], work: Path) -> None:
    results: list[tuple[int, TapRun]] = []
    for rows in sizes:
        process, base_url = start_server(rows, build_dataset(rows))
        try:
            config_file = work / f"config-{rows}.json"
            config_file.write_text(json.dumps(tap_config(base_url)), encoding="utf-8")
            results.append((rows, run_tap(["--config", str(config_file)], work)))
        finally:
            stop_server(process)
    print("\ntap-afas peak memory (max RSS of the tap process, GNU time %M)")
    print(f"{'rows':>9} {'records':>9} {'max RSS MiB':>12} {'seconds':>8} {'rec/s':>9}")
    for rows, run in results:
        print(
            f"{rows:>9,} {run.records:>9,} {run.max_rss_mib:>12.1f} {run.seconds:>8.1f} "
            f"{run.records / run.seconds:>9,.0f}"
        )
    if len(results) > 1:
        (small, a), (large, b) = results[0], results[-1]
        print(
            f"max RSS x{b.max_rss_mib / a.max_rss_mib:.2f} for x{large / small:.0f} the rows "
            f"({b.max_rss_mib - a.max_rss_mib:+.1f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the throughput run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--memory-rows",
        type=int,
        nargs="*",
        default=[20_000, 200_000],
        help="data sizes for the memory comparison (none: skip it)",
    )
    parser.add_argument("--latency-ms", type=float, help="run the latency comparison too")
    parser.add_argument("--per-row-ms", type=float, default=0.0)
    parser.add_argument("--per-skipped-row-ms", type=float, default=None)
    parser.add_argument("--parallel", type=int, default=5, help="tap max_parallel_requests")
    parser.add_argument("--skip-zero-latency", action="store_true")
    args = parser.parse_args()
    CACHE_DIR.mkdir(exist_ok=True)
    compile_tap()
    with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
        work = Path(tmp)
        if args.repeat > 0 and not args.skip_zero_latency:
            throughput(args.rows, args.repeat, work)
        if args.latency_ms is not None:
            latency = ["--latency-ms", str(args.latency_ms), "--per-row-ms", str(args.per_row_ms)]
            if args.per_skipped_row_ms is not None:
                latency += ["--per-skipped-row-ms", str(args.per_skipped_row_ms)]
            latency_run(args.rows, max(args.repeat, 1), work, latency, args.parallel)
        if args.memory_rows:
            memory(args.memory_rows, work)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(benchmark process itself: max RSS {own:.0f} MiB)")


if __name__ == "__main__":
    main()
