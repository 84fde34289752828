"""The loader's input reader: ``CheckedSingerReader`` with the fast lane (``lane.py``) in front.

RECORD lines the lane takes go to their sink as they are; every other line (and every line
when no lane is attached) is parsed and handled by singer-sdk as before, in input order.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from collections.abc import Callable
from typing import Any

from typing_extensions import override

from tap_afas.singer_input import CheckedSingerReader, Message
from target_duckdb_afas.lane import FastLane


class LaneReader(CheckedSingerReader):
    def __init__(self) -> None:
        super().__init__()
        self.lane: FastLane | None = None

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
    def deserialize_json(self, line: str) -> Any:
        message = super().deserialize_json(line)
        if message["type"] == "SCHEMA" and self.lane is not None:
            self.lane.forget()
        return message
