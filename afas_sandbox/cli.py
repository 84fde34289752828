"""``afas-sandbox``: serve a local AFAS Profit environment, or build its data file once."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

from afas_sandbox.datasets import DATASET_NAMES, load_dataset
from afas_sandbox.faults import LatencyModel
from afas_sandbox.server import DEFAULT_HOST, start_sandbox
from afas_sandbox.store import load_or_build_template


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="afas-sandbox", description="A local AFAS Profit REST environment with demo data."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the REST API until interrupted")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    _data_options(serve)
    serve.add_argument("--latency-ms", type=float, default=0.0, help="fixed latency per request")
    serve.add_argument("--per-row-ms", type=float, default=0.0, help="extra latency per row")
    serve.add_argument("--faults", type=Path, help="YAML or JSON list of scripted faults")
    serve.add_argument("--url-file", type=Path, help="write the base URL here once listening")
    build = sub.add_parser("build", help="generate the dataset into --db PATH and exit")
    _data_options(build)
    return parser


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=DATASET_NAMES, default="demo")
    parser.add_argument("--seed", type=int, default=1, help="data is the same for the same seed")
    parser.add_argument(
        "--rows", type=int, help="rows of the large connector (Profit_Transactions)"
    )
    parser.add_argument("--db", type=Path, help="keep the generated data in this file and reuse it")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "build":
        if args.db is None:
            print("afas-sandbox build: --db PATH is required", file=sys.stderr)
            return 2
        dataset = load_dataset(args.dataset)
        rows = dataset.default_rows if args.rows is None else args.rows
        started = time.monotonic()
        load_or_build_template(dataset, seed=args.seed, rows=rows, db_path=args.db)
        print(
            f"built {args.dataset} (seed {args.seed}, {rows} rows) into {args.db} "
            f"in {time.monotonic() - started:.1f}s"
        )
        return 0
    try:
        running = start_sandbox(
            args.dataset,
            seed=args.seed,
            rows=args.rows,
            host=args.host,
            port=args.port,
            db_path=args.db,
            latency=LatencyModel(args.latency_ms, args.per_row_ms),
            faults_file=args.faults,
        )
    except (OSError, ValueError) as exc:
        print(f"afas-sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    print(f"afas-sandbox: serving dataset '{args.dataset}' (seed {args.seed})")
    print(f"  base URL: {running.base_url}")
    for token in running.core.dataset.tokens:
        print(f"  token {token.name:<14} (App Connector '{token.app.name}'): {token.xml}")
    print(f"  admin:    {running.admin_url} (loopback clients only)")
    print("Press Ctrl+C to stop.", flush=True)
    if args.url_file is not None:
        args.url_file.write_text(running.base_url + "\n", encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    running.stop()
    return 0
