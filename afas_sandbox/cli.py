"""``afas-sandbox``: serve a local AFAS Profit environment, or build its data file once.

Every refused input ends in one line ``afas-sandbox: ERROR: <what is wrong; what to do>`` on
stderr and exit code 1, or 2 for a malformed command line; nothing is started or written
before all inputs are checked. ``--debug`` adds the traceback to unexpected errors.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from afas_sandbox import dbfile
from afas_sandbox.costs import (
    DEFAULT_MAX_PARALLEL,
    MAX_PARALLEL_LIMIT,
    LatencyModel,
    check_max_parallel,
)
from afas_sandbox.datasets import DATASET_NAMES, load_dataset
from afas_sandbox.faults import read_faults_file
from afas_sandbox.file_connectors import DEFAULT_FILE_MB, MAX_FILE_MB, check_file_mb
from afas_sandbox.inputs import (
    MAX_LATENCY_MS,
    MAX_PORT,
    MAX_ROWS,
    SandboxInputError,
    check_latency_ms,
    check_port,
    check_rows,
)
from afas_sandbox.quirks import CHOICES as QUIRK_CHOICES
from afas_sandbox.quirks import parse_assignments
from afas_sandbox.server import DEFAULT_HOST, RunningSandbox, start_sandbox

PROG = "afas-sandbox"
LOG_FORMAT = f"{PROG}: %(levelname)s: %(message)s"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DB_HELP = (
    "keep the generated data in this SQLite file and reuse it. A sandbox file found there is "
    "served as it is: its dataset, seed and rows apply unless you give --dataset, --seed or "
    "--rows. If those differ from the file's, the sandbox refuses (exit 1) unless you add "
    "--rebuild. A file that afas-sandbox did not write is never changed or deleted."
)

log = logging.getLogger("afas_sandbox")
T = TypeVar("T")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ERROR line (exit 2) instead of usage plus error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: ERROR: {message}; see '{self.prog} --help'\n")


def _port(text: str) -> int:
    return _converted(lambda: check_port(int(text)), f"a port from 0 to {MAX_PORT}", text)


def _rows(text: str) -> int:
    return _converted(lambda: check_rows(int(text)), f"a number from 0 to {MAX_ROWS}", text)


def _milliseconds(text: str) -> float:
    return _converted(
        lambda: check_latency_ms("milliseconds", float(text)),
        f"milliseconds from 0 to {MAX_LATENCY_MS:g}",
        text,
    )


def _max_parallel(text: str) -> int:
    return _converted(
        lambda: check_max_parallel(int(text)), f"a number from 0 to {MAX_PARALLEL_LIMIT}", text
    )


def _file_mb(text: str) -> float:
    return _converted(
        lambda: check_file_mb(float(text)), f"megabytes from 0 to {MAX_FILE_MB:g}", text
    )


def _seed(text: str) -> int:
    return _converted(lambda: int(text), "a whole number", text)


def _converted(convert: Callable[[], T], expected: str, text: str) -> T:
    """``convert()``, or the argparse error "'<text>' is not <expected>"."""
    try:
        return convert()
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {expected}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="A local AFAS Profit REST environment with demo data.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = sub.add_parser("serve", help="serve the REST API until interrupted")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default loopback)")
    serve.add_argument("--port", type=_port, default=8765, help="port 0-65535; 0 picks a free one")
    _data_options(serve)
    serve.add_argument(
        "--latency-ms", type=_milliseconds, default=0.0, help="fixed latency per request"
    )
    serve.add_argument(
        "--per-row-ms", type=_milliseconds, default=0.0, help="extra latency per row returned"
    )
    serve.add_argument(
        "--per-skipped-row-ms",
        type=_milliseconds,
        default=0.0,
        help="extra latency per row a page skips (skip=n pays for n rows, as big skips are slow)",
    )
    serve.add_argument(
        "--max-parallel",
        type=_max_parallel,
        default=DEFAULT_MAX_PARALLEL,
        help=(
            "requests of one token in flight at once; one more gets AFAS's 503 with "
            f"retry_after 1 (default {DEFAULT_MAX_PARALLEL}, as AFAS; 0 = no limit)"
        ),
    )
    serve.add_argument("--faults", type=Path, help="YAML or JSON list of scripted faults")
    serve.add_argument("--url-file", type=Path, help="write the base URL here once listening")
    serve.add_argument(
        "--file-mb",
        type=_file_mb,
        default=DEFAULT_FILE_MB,
        help=(
            "size in MB of the large demo file behind the file connectors, made while it is "
            f"sent (default {DEFAULT_FILE_MB:g}; e.g. 50 to measure a big download)"
        ),
    )
    serve.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="choose behaviour AFAS leaves undocumented, e.g. put_status=200 (repeatable; "
        f"quirks: {', '.join(QUIRK_CHOICES)}; see afas_sandbox/quirks.py)",
    )
    build = sub.add_parser("build", help="generate the dataset into --db PATH and exit")
    _data_options(build, db_required=True)
    return parser


def _data_options(parser: argparse.ArgumentParser, *, db_required: bool = False) -> None:
    parser.add_argument(
        "--dataset", choices=DATASET_NAMES, help="demo (default) or empty; see --db"
    )
    parser.add_argument(
        "--seed", type=_seed, help="data is the same for the same seed (default 1; see --db)"
    )
    parser.add_argument(
        "--rows",
        type=_rows,
        help=(
            f"rows of the large connector Profit_Transactions, 0-{MAX_ROWS} (default 20000 "
            "for demo; see --db)"
        ),
    )
    parser.add_argument("--db", type=Path, required=db_required, help=DB_HELP)
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="replace the sandbox file at --db when it was built with other parameters",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(debug=args.debug)
    try:
        return _build(args) if args.command == "build" else _serve(args)
    except SandboxInputError as exc:
        log.error("%s", exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            log.exception("unexpected error")
        else:
            log.error(
                "unexpected error: %s: %s; run again with --debug for the traceback",
                type(exc).__name__,
                exc,
            )
    return EXIT_ERROR


class _CLIHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in stubs
    """The command line's one handler: ``afas-sandbox: LEVEL: message`` on stderr."""


def _configure_logging(*, debug: bool) -> None:
    for old in [h for h in log.handlers if isinstance(h, _CLIHandler)]:
        log.removeHandler(old)
    handler = _CLIHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False


def _build(args: argparse.Namespace) -> int:
    found = dbfile.inspect(args.db)
    name, seed, rows = dbfile.choose(found, args.dataset, args.seed, args.rows)
    dataset = load_dataset(name)
    size = dataset.default_rows if rows is None else rows
    started = time.monotonic()
    dbfile.load_or_build(dataset, seed=seed, rows=size, path=args.db, rebuild=args.rebuild)
    print(
        f"{args.db} holds dataset '{name}' with seed {seed} and {size} rows "
        f"({time.monotonic() - started:.1f}s)"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    _check_url_file(args)
    quirks = parse_assignments(args.quirk)
    if args.faults is not None:
        read_faults_file(args.faults)  # refuse a bad file before anything is built
    running = start_sandbox(
        args.dataset,
        seed=args.seed,
        rows=args.rows,
        host=args.host,
        port=args.port,
        db_path=args.db,
        latency=LatencyModel(args.latency_ms, args.per_row_ms, args.per_skipped_row_ms),
        max_parallel=args.max_parallel,
        faults_file=args.faults,
        rebuild=args.rebuild,
        quirks=quirks,
        file_mb=args.file_mb,
    )
    try:
        _announce(running)
        if args.url_file is not None:
            try:
                args.url_file.write_text(running.base_url + "\n", encoding="utf-8")
            except OSError as exc:
                raise SandboxInputError(
                    f"--url-file {args.url_file} cannot be written ({exc.strerror}); "
                    "choose another path"
                ) from None
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        running.stop()
    return 0


def _check_url_file(args: argparse.Namespace) -> None:
    url_file: Path | None = args.url_file
    if url_file is None:
        return
    if url_file.is_dir():
        raise SandboxInputError(f"--url-file {url_file} is a folder; give the path of a file")
    if not url_file.parent.is_dir():
        raise SandboxInputError(
            f"--url-file {url_file}: the folder {url_file.parent} does not exist; create it "
            "or choose another path"
        )
    for flag, other in (("--db", args.db), ("--faults", args.faults)):
        if other is not None and other.resolve() == url_file.resolve():
            raise SandboxInputError(
                f"--url-file {url_file} is the {flag} file; give the URL its own file"
            )


def _announce(running: RunningSandbox) -> None:
    core = running.core
    print(
        f"{PROG}: serving dataset '{core.dataset.name}' (seed {running.seed}, {running.size} rows)"
    )
    print(f"  base URL: {running.base_url}")
    for token in core.dataset.tokens:
        print(f"  token {token.name:<14} (App Connector '{token.app.name}'): {token.xml}")
    print(f"  admin:    {running.admin_url} (loopback clients only)")
    if not running.root_url.startswith(("http://127.", "http://[::1]")):
        log.warning(
            "listening on %s: anyone who can reach it may read the demo data with the tokens above",
            running.root_url,
        )
    print("Press Ctrl+C to stop.", flush=True)
