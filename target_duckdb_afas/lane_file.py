"""``LaneFile``: a batch of lane lines, written to a file and checked as it grows.

Lines are kept in memory only until a chunk of ``CHUNK_BYTES`` is full; each chunk is checked
(``RecordCheck.more_places``, ``key_counts``) and written, so a batch of 200,000 lines costs a
chunk of memory, not the batch. ``close`` gives what DuckDB checks of the file as it loads it
(``LaneBatch``), or ``None`` when a number has more places than its column keeps (or a number
key is written otherwise than as the check looks for it); ``lines``
reads the batch back when it must take singer-sdk's path after all.
"""

from __future__ import annotations

import array
import datetime as dt
import os
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from target_duckdb_afas.record_check import LaneBatch, RecordCheck

CHUNK_BYTES = 1 << 20


class LaneFile:
    def __init__(self, check: RecordCheck) -> None:
        self._check = check
        # The batch's start, as singer-sdk's batch_start_time (_sdc_batched_at and friends).
        self.started = dt.datetime.now(tz=dt.timezone.utc)
        descriptor, name = tempfile.mkstemp(prefix="target-duckdb-afas-", suffix=".jsonl")
        self.path = Path(name)
        self._file = os.fdopen(descriptor, "wb")
        # Removed by remove(), or when dropped (a run that stopped with a batch held).
        self._discard = weakref.finalize(self, _discard, self._file, self.path)
        self._chunk: list[bytes] = []
        self._size = 0
        self._counts: Counter[str] = Counter()
        self._more_places = False
        self._ranges = array.array("Q")  # the lines' numbers in the input: first, count, ...
        self.lines_held = 0

    def add(self, text: bytes, first: int, count: int) -> None:
        """Add ``count`` whole lines ``text``, input lines ``first`` on."""
        if not text.endswith(b"\n"):  # the input's last line
            text += b"\n"
        self._chunk.append(text)
        self._size += len(text)
        ranges = self._ranges
        if ranges and ranges[-2] + ranges[-1] == first:
            ranges[-1] += count
        else:
            ranges.extend((first, count))
        self.lines_held += count
        if self._size >= CHUNK_BYTES:
            self._write()

    def _write(self) -> None:
        text = self._chunk[0] if len(self._chunk) == 1 else b"".join(self._chunk)
        self._chunk, self._size = [], 0
        if not self._more_places:
            self._more_places = self._check.more_places(text)
            self._counts.update(self._check.key_counts(text))
        self._file.write(text)

    def close(self) -> LaneBatch | None:
        """Write the rest; the checks DuckDB makes as it loads the file, or ``None`` when a
        number has more places than its column keeps (or an exponent)."""
        self._write()
        self._file.close()
        if self._more_places:
            return None
        if any(self._counts[name] != self.lines_held for name in self._check.decimals):
            return None
        return LaneBatch(self._check.texts, self._metadata())

    def _metadata(self) -> dict[str, str | None]:
        """The _sdc columns' values for the batch (see record_check.METADATA): the envelope's
        for _sdc_extracted_at and _sdc_table_version, else the batch's start (singer-sdk takes
        the time of each record for _sdc_received_at and _sdc_sequence: here that of the
        batch's first line) and the sync's."""
        started = self.started.isoformat()
        values: dict[str, str | None] = {
            "_sdc_extracted_at": None,
            "_sdc_table_version": None,
            "_sdc_received_at": started,
            "_sdc_batched_at": started,
            "_sdc_sequence": str(round(self.started.timestamp() * 1000)),
            "_sdc_sync_started_at": str(self._check.sync_started_at),
        }
        return {name: values[name] for name in self._check.metadata}

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """The lines with their input line numbers, read back from the file (after
        ``close``)."""
        ranges = self._ranges
        numbers = (
            number
            for at in range(0, len(ranges), 2)
            for number in range(ranges[at], ranges[at] + ranges[at + 1])
        )
        with self.path.open("rb") as file:
            yield from zip(numbers, file, strict=True)

    def remove(self) -> None:
        self._discard()


def _discard(file: BinaryIO, path: Path) -> None:
    file.close()
    path.unlink(missing_ok=True)
