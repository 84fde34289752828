"""``BackgroundLoads``: a full batch of lane lines is loaded into DuckDB while the next one is
read.

DuckDB works without Python's lock, and the lane's reading is mostly msgspec and regular
expressions over whole blocks, so the two share the machine's cores (a third less time at a
million records on two cores). At most one load runs: two batches are held, the one loading
and the one filling. Whatever else touches the database or reports what is loaded first
settles it (``settle``: wait, raise its error, run what it left to do): every other batch
load, a SCHEMA, ACTIVATE_VERSION or BATCH message, the drain of every sink that ends with the
STATE message (at the end of the input, and when records reach singer-sdk's maximum age), and
releasing the database. So STATE never names rows that are not committed, and batches of a
stream are loaded in input order.

A batch DuckDB refuses as it is must take singer-sdk's path in the reading thread (its errors
name input lines the reader knows): the load hands that work back (``then``), and ``settle``
runs it before anything else.

With an in-memory database (``:memory:``) each thread would see a database of its own, so
loads run where they are started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Then = Callable[[], None]  # work a background load leaves to the reading thread


class BackgroundLoads:
    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._then: Then | None = None

    def start(self, load: Callable[[], Then | None]) -> None:
        """Run ``load`` beside the reading once the load before it settled; what it returns
        runs at the next ``settle``."""
        self.settle()
        if not self.enabled:
            then = load()
            if then is not None:
                then()
            return

        def run() -> None:
            try:
                self._then = load()
            except BaseException as error:  # raised in the reading thread by settle()
                self._error = error

        # Not a daemon: a run that stops on an error ends once the load has (the interpreter
        # must not tear DuckDB down under it).
        self._thread = threading.Thread(target=run, name="target-duckdb-afas-load")
        self._thread.start()

    def settle(self) -> None:
        """Wait for the load running, raise its error, then run what it left to do."""
        self.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._then is not None:
            then, self._then = self._then, None
            then()

    def wait(self) -> None:
        """Wait for the load running (its error and leftover work stay for ``settle``)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
