"""An incremental sync of every demo GetConnector under AFAS-like latency: tap-afas against a
plain sequential loop, in the same run.

The everyday sync of a scheduled pipeline reads a few changed rows from each of many
connectors: its time is mostly the connectors' request latency, one after another. This
starts ``afas-sandbox serve`` with latency (``--latency-ms``, ``--per-row-ms``; the demo
dataset with ``--rows`` transactions, the database cached as for tap_throughput.py), runs one
full sync of every connector to get the state, changes ``--changes`` rows of each changeable
connector (the sandbox's ``/_sandbox/mutate``), then measures, median of ``--repeat``:
- ``tap-afas --config --state`` (a subprocess, wall time: interpreter start and discovery of
  every connector included), its RECORD lines counted;
- a plain sequential loop in this process that knows every connector's plan already (no
  discovery): for each connector in the tap's order, skip/take pages of the rows with the
  modified-date field from the tap's checkpoint up to now (every row for a connector
  without one), ordered so it is exact, one RECORD line per row to /dev/null.

    .venv/bin/python benchmarks/incremental_sync.py --latency-ms 250 --per-row-ms 0.03
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from tap_throughput import (
    CACHE_DIR,
    ZONE,
    build_dataset,
    compile_tap,
    run_tap,
    start_server,
    stop_server,
    tap_command,
    write_pages,
)

from afas_sandbox.datasets import load_dataset
from tap_afas.streams import GetConnectorStream
from tap_afas.tap import TapAFAS

CHANGED = ("Profit_Persons", "Profit_Organisations", "Profit_Debtors", "Profit_Transactions")


@dataclass(frozen=True)
class ConnectorPlan:
    """What the loop asks of one connector (read from the tap's discovered stream)."""

    connector: str
    stream: str
    take: int
    order: tuple[str, ...]
    replication_key: str | None


def plans(config: dict[str, Any]) -> list[ConnectorPlan]:
    tap = TapAFAS(config=config, parse_env_config=False)
    found = []
    for stream in tap.streams.values():
        if not isinstance(stream, GetConnectorStream):
            continue
        key = stream.replication_key
        order = (*([key] if key else []), *(stream.primary_keys or ()))
        take = stream.settings.page_size_for(len(stream.connector.fields))
        found.append(ConnectorPlan(stream.connector.id, stream.name, take, order, key))
    return found


def final_state(command: list[str]) -> dict[str, Any]:
    """The last STATE of a full sync run by ``command``."""
    output = subprocess.run(command, capture_output=True, check=True, text=True).stdout
    states = [
        json.loads(line) for line in output.splitlines() if line.startswith('{"type":"STATE"')
    ]
    value: dict[str, Any] = states[-1]["value"]
    return value


def mutate(base_url: str, changes: int) -> None:
    admin = base_url.rsplit("/ProfitRestServices", 1)[0] + "/_sandbox/mutate"
    for connector in CHANGED:
        body = {"connector": connector, "inserts": changes // 10, "updates": changes}
        requests.post(admin, json=body, timeout=60).raise_for_status()


def sequential_loop(
    base_url: str, header: str, connectors: list[ConnectorPlan], state: dict[str, Any]
) -> int:
    """Each connector after the other: the rows from its checkpoint on, page after page."""
    hi = datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M:%S")
    bookmarks = state.get("bookmarks", {})
    session = requests.Session()
    session.headers["Authorization"] = header
    total = 0
    with open(os.devnull, "w", encoding="utf-8") as out:
        for plan in connectors:
            params: dict[str, str | int] = {"orderbyfieldids": ",".join(plan.order)}
            if plan.replication_key:
                lo = bookmarks.get(plan.stream, {}).get("afas_progress", {}).get("lo")
                params["filterfieldids"] = f"{plan.replication_key},{plan.replication_key}"
                params["filtervalues"] = f"{lo or '1900-01-01T00:00:00'},{hi}"
                params["operatortypes"] = "2,5"
            url = f"{base_url}/connectors/{plan.connector}"
            total += write_pages(session, url, params, plan.stream, plan.take, out)
    return total


def timed(once: Callable[[], int], repeat: int) -> tuple[int, list[float]]:
    seconds, records = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        records = once()
        seconds.append(time.perf_counter() - started)
    return records, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="demo transactions")
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--per-row-ms", type=float, default=0.03)
    parser.add_argument("--parallel", type=int, default=4, help="tap max_parallel_requests")
    parser.add_argument("--changes", type=int, default=100, help="rows updated per connector")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    CACHE_DIR.mkdir(exist_ok=True)
    compile_tap()
    latency = ["--latency-ms", str(args.latency_ms), "--per-row-ms", str(args.per_row_ms)]
    process, base_url = start_server(args.rows, build_dataset(args.rows), latency)
    try:
        token = next(t for t in load_dataset("demo").tokens if t.name == "full")
        config = {"api_url": base_url, "token": token.xml, "max_parallel_requests": args.parallel}
        with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
            work = Path(tmp)
            config_file, state_file = work / "config.json", work / "state.json"
            config_file.write_text(json.dumps(config), encoding="utf-8")
            state = final_state([*tap_command(), "--config", str(config_file)])
            state_file.write_text(json.dumps(state), encoding="utf-8")
            mutate(base_url, args.changes)
            connectors = plans(config)
            arguments = ["--config", str(config_file), "--state", str(state_file)]
            tap_records, tap_seconds = timed(lambda: run_tap(arguments, work).records, args.repeat)
            loop_records, loop_seconds = timed(
                lambda: sequential_loop(base_url, token.header, connectors, state), args.repeat
            )
    finally:
        stop_server(process)
    tap, loop = statistics.median(tap_seconds), statistics.median(loop_seconds)
    print(
        f"\nincremental sync of {len(connectors)} GetConnectors after {args.changes} updates of "
        f"{len(CHANGED)}, under {' '.join(latency)}; tap max_parallel_requests={args.parallel}"
    )
    print(f"{'way':<44} {'records':>8} {'median s':>9}   (runs)")
    for name, records, runs in (
        ("tap-afas --state (subprocess, wall)", tap_records, tap_seconds),
        ("sequential loop (plan known, no discovery)", loop_records, loop_seconds),
    ):
        shown = ", ".join(f"{s:.2f}" for s in runs)
        print(f"{name:<44} {records:>8,} {statistics.median(runs):>9.2f}   ({shown})")
    print(f"tap speed-up over the sequential loop: {loop / tap:.2f}x")


if __name__ == "__main__":
    main()
