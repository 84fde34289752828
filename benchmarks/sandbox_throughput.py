"""How fast the sandbox serves GetConnector pages: it must never be a benchmark's bottleneck.

Starts ``afas-sandbox serve`` in its own process (built once into a cached database file),
then, in this process, a plain ``requests`` loop fetches 1000-row pages of Profit_Transactions:
- ``skip/take``: ordered on the composite key, increasing skip (AFAS's documented paging);
- ``keyset``: ordered on the key with a ``>`` filter on the last key seen (no skip);
- baseline: the same skip/take pages produced by the sandbox core in-process, no HTTP.
Prints rows/s (median of ``--repeat`` runs) and each loop's ratio to the baseline; the target
is at least 100,000 rows/s for the plain skip/take HTTP loop (keyset paging is shown for
comparison: its OR-filter is the costlier query). Then:
- requests/s of a plain ``requests`` loop of small calls, on one kept-alive connection (a
  ``Session``) and with ``Connection: close`` (a new TCP connection per call);
- ms per 1000-row page ordered on ``UnitId`` alone (no unique index: every page sorts the
  table) at the start, middle and end, and on the decimal ``AmountDebit`` in the middle.

    .venv/bin/python benchmarks/sandbox_throughput.py --rows 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from afas_sandbox.datasets import load_dataset
from afas_sandbox.sandbox import AFASSandbox, SimRequest
from afas_sandbox.store import Store, load_or_build_template

PAGE_ROWS = 1000
TARGET_ROWS_PER_SECOND = 100_000
CONNECTOR = "Profit_Transactions"
ORDER = "UnitId,EntryNo,SeqNo"
CACHE_DIR = Path(tempfile.gettempdir()) / "afas-sandbox-bench"
CALLS = 500


def start_server(rows: int, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    url_file = CACHE_DIR / "url.txt"
    url_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "afas_sandbox", "serve", "--port", "0", "--rows", str(rows)]
    command += ["--db", str(db), "--url-file", str(url_file)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not url_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("afas-sandbox serve did not start")
        time.sleep(0.1)
    return process, url_file.read_text().strip()


def http_skip_take(base_url: str, header: str) -> int:
    session = requests.Session()
    session.headers["Authorization"] = header
    skip, total = 0, 0
    while True:
        params = {"skip": skip, "take": PAGE_ROWS, "orderbyfieldids": ORDER}
        response = session.get(f"{base_url}/connectors/{CONNECTOR}", params=params, timeout=60)
        rows = json.loads(response.content)["rows"]
        total += len(rows)
        if len(rows) < PAGE_ROWS:
            return total
        skip += PAGE_ROWS


def http_keyset(base_url: str, header: str) -> int:
    """Key-ordered pages; the filter is on the composite key as (Unit, Entry) slices."""
    session = requests.Session()
    session.headers["Authorization"] = header
    total = 0
    last: tuple[int, int, int] | None = None
    while True:
        params: dict[str, str | int] = {"take": PAGE_ROWS, "orderbyfieldids": ORDER}
        if last is not None:
            u, e, s = last
            params["filterfieldids"] = "UnitId;UnitId,EntryNo;UnitId,EntryNo,SeqNo"
            params["filtervalues"] = f"{u};{u},{e};{u},{e},{s}"
            params["operatortypes"] = "4;1,4;1,1,4"
        response = session.get(f"{base_url}/connectors/{CONNECTOR}", params=params, timeout=60)
        rows = json.loads(response.content)["rows"]
        total += len(rows)
        if len(rows) < PAGE_ROWS:
            return total
        row = rows[-1]
        last = (row["UnitId"], row["EntryNo"], row["SeqNo"])


def requests_per_second(base_url: str, header: str, *, keep_alive: bool) -> float:
    """Small calls (one row) in a plain loop, on one connection or a new one per call."""
    session = requests.Session()
    session.headers["Authorization"] = header
    if not keep_alive:
        session.headers["Connection"] = "close"
    url = f"{base_url}/connectors/Profit_Persons"
    started = time.perf_counter()
    for _ in range(CALLS):
        response = session.get(url, params={"take": 1}, timeout=60)
        response.raise_for_status()
    rate = CALLS / (time.perf_counter() - started)
    session.close()
    return rate


def ordered_page_ms(base_url: str, header: str, order: str, skip: int, repeat: int) -> float:
    """Median time of one 1000-row page at ``skip`` ordered on ``order``."""
    session = requests.Session()
    session.headers["Authorization"] = header
    params = {"skip": skip, "take": PAGE_ROWS, "orderbyfieldids": order}
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = session.get(f"{base_url}/connectors/{CONNECTOR}", params=params, timeout=60)
        response.raise_for_status()
        times.append(time.perf_counter() - started)
    session.close()
    return statistics.median(times) * 1000


def in_process_skip_take(core: AFASSandbox, header: str) -> int:
    skip, total = 0, 0
    while True:
        query = f"skip={skip}&take={PAGE_ROWS}&orderbyfieldids={ORDER}"
        request = SimRequest(
            "GET", f"/ProfitRestServices/connectors/{CONNECTOR}", query, {"Authorization": header}
        )
        count = core.handle(request).rows
        total += count
        if count < PAGE_ROWS:
            return total
        skip += PAGE_ROWS


def measure(name: str, loop: Callable[[], int], repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = loop()
        rates.append(rows / (time.perf_counter() - started))
    median = statistics.median(rates)
    print(
        f"{name:<28} {rows:>9} rows   median {median:>10,.0f} rows/s   (runs: "
        + ", ".join(f"{r:,.0f}" for r in rates)
        + ")"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    CACHE_DIR.mkdir(exist_ok=True)
    db = CACHE_DIR / f"demo-{args.rows}.sqlite3"
    dataset = load_dataset("demo")
    started = time.perf_counter()
    template = load_or_build_template(dataset, seed=1, rows=args.rows, db_path=db)
    print(f"dataset ready in {time.perf_counter() - started:.1f}s ({args.rows:,} transactions)")
    core = AFASSandbox(dataset, Store.copy_of(template))
    header = next(t for t in dataset.tokens if t.name == "full").header
    process, base_url = start_server(args.rows, db)
    try:
        baseline = measure(
            "in-process skip/take (base)", lambda: in_process_skip_take(core, header), args.repeat
        )
        http = measure("HTTP skip/take", lambda: http_skip_take(base_url, header), args.repeat)
        keyset = measure("HTTP keyset", lambda: http_keyset(base_url, header), args.repeat)
        for keep_alive in (True, False):
            rate = requests_per_second(base_url, header, keep_alive=keep_alive)
            name = "kept-alive connection" if keep_alive else "Connection: close"
            print(f"{CALLS} small calls, {name:<22} {rate:>8,.0f} requests/s")
        for order, skip in (
            ("UnitId", 0),
            ("UnitId", args.rows // 2),
            ("UnitId", max(args.rows - PAGE_ROWS, 0)),
            ("AmountDebit", args.rows // 2),
        ):
            ms = ordered_page_ms(base_url, header, order, skip, args.repeat)
            print(f"page of {PAGE_ROWS} ordered on {order:<11} at skip {skip:>9,}: {ms:8.1f} ms")
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"ratio HTTP skip/take / baseline: {http / baseline:.2f}")
    print(f"ratio HTTP keyset    / baseline: {keyset / baseline:.2f}")
    verdict = "OK" if http >= TARGET_ROWS_PER_SECOND else "BELOW TARGET"
    print(f"target {TARGET_ROWS_PER_SECOND:,} rows/s for the plain skip/take loop: {verdict}")


if __name__ == "__main__":
    main()
