"""The loader's input reader: ``CheckedSingerReader`` with the fast lane (``lane.py``) in front.

RECORD lines the lane takes go to their sink as they are; every other line (and every line
when no lane is attached) is parsed and handled by singer-sdk as before, in input order.
"""

from __future__ import annotations

import io
import typing as t
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from typing_extensions import override

from tap_afas.singer_input import CheckedSingerReader, Message
from target_duckdb_afas.lane import FastLane

BLOCK_BYTES = 1 << 20


class LaneReader(CheckedSingerReader):
    def __init__(self) -> None:
        super().__init__()
        self.lane: FastLane | None = None
        self.settle: Callable[[], None] | None = None  # the background load's (background.py)

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[Message], None]],
    ) -> Counter[str]:
        counts = super().process_lines(file_input, callbacks)
        if self.lane is not None and self.lane.taken:
            counts["RECORD"] += self.lane.taken
        return counts

    @override
    def take(self, raw: str | bytes) -> bool:
        if self.lane is None:
            return False
        if isinstance(raw, str):
            try:
                raw = raw.encode("utf-8")
            except UnicodeEncodeError:  # the SDK's path says what is wrong with it
                return False
        return self.lane.take(raw, self.line_number)

    @override
    def _lines(self, source: Iterable[str | bytes]) -> Iterator[str]:
        """Binary input read in blocks (``BLOCK_BYTES``), so that the lane takes runs of lines
        in one call; every other line is handled as ``CheckedSingerReader`` does. (Text input,
        such as a file opened as text, is read line by line: a byte that is not UTF-8 is then
        reported at its line.)"""
        read = getattr(source, "read1", None) or getattr(source, "read", None)
        if self.lane is None or read is None or isinstance(source, io.TextIOBase):
            yield from super()._lines(source)
            return
        rest = b""
        while True:
            try:
                chunk = read(BLOCK_BYTES)
            except UnicodeDecodeError:  # a text file that is not UTF-8
                raise self._not_utf8(self.line_number + 1) from None
            if not chunk:
                break
            if isinstance(chunk, str):  # a text source of another kind: UTF-8, lone surrogates
                chunk = chunk.encode("utf-8", "surrogatepass")  # stay invalid (refused per line)
            data = rest + chunk if rest else chunk
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield from self._block(data[:cut] if rest else data)
        if rest:
            yield from self._block(rest)

    def _block(self, data: bytes) -> Iterator[str]:
        """The lines of ``data`` (whole lines, but for the input's last) the lane does not
        take, as text."""
        assert self.lane is not None
        lane, pos, size = self.lane, 0, len(data)
        while pos < size:
            end, taken = lane.run(data, pos, self.line_number + 1)
            if taken:
                self.line_number += taken
                pos = end
                continue
            end = max(end, data.find(b"\n", pos) + 1 or size)  # a refused run: line by line
            while pos < end:
                stop = data.find(b"\n", pos, end) + 1 or end
                raw = data[pos:stop]
                pos = stop
                self.line_number += 1
                if lane.take(raw, self.line_number):
                    continue
                line = self._text(raw)
                if line is not None:
                    yield line

    @override
    def deserialize_json(self, line: str) -> Any:
        message = super().deserialize_json(line)
        kind = message["type"]
        if kind not in ("RECORD", "STATE") and self.settle is not None:
            # The SDK may drain every sink (and write STATE), or change a table, while it
            # handles the line: the load running in the background settles first.
            self.settle()
        if kind == "SCHEMA" and self.lane is not None:
            self.lane.forget()
        return message
