"""What running a plugin in-process in a test needs: every log line, and pytest's signal handlers.

singer-sdk installs SIGINT/SIGTERM handlers and configures logging when a plugin starts; tests
that run the tap or a target in-process use these so pytest's own handlers come back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator


class LogCollector(logging.Handler):
    """Keeps every log record (DEBUG and up) as a formatted line: ``LEVEL logger message``."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


@contextlib.contextmanager
def collect_logs() -> Iterator[LogCollector]:
    root = logging.getLogger()
    collector = LogCollector()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)


@contextlib.contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """Put pytest's SIGINT/SIGTERM handlers back after singer-sdk replaced them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
