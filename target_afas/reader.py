"""The target's Singer reader: hands every STATE message on as soon as it is safe to.

singer-sdk emits a target's STATE only when it drains all sinks, which happens at the end of the
input (or after minutes). A crash before that makes a resumed tap send everything again. This
reader calls ``after_state(records)`` after each STATE message is taken in, with the number of
records read since the last STATE that was handed on; when ``after_state`` says it drained the
sinks (every record before the STATE got an outcome, and the SDK emitted that STATE), the count
starts again.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from collections.abc import Callable

from singer_sdk.io_base import SingerMessageType
from typing_extensions import override

from tap_afas.singer_input import CheckedSingerReader


class StateFlushingReader(CheckedSingerReader):
    """A ``CheckedSingerReader`` (bad lines refused with their number) that calls
    ``after_state(records)`` after every STATE message."""

    def __init__(self, after_state: Callable[[int], bool]) -> None:
        super().__init__()
        self.after_state = after_state
        self.records = 0

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, t.Any]], None]],
    ) -> Counter[str]:
        on_state = callbacks[SingerMessageType.STATE]
        on_record = callbacks[SingerMessageType.RECORD]

        def counted(message: dict[str, t.Any]) -> None:
            on_record(message)
            self.records += 1

        def state_then_flush(message: dict[str, t.Any]) -> None:
            on_state(message)
            if self.after_state(self.records):
                self.records = 0

        return super().process_lines(
            file_input,
            {
                **callbacks,
                SingerMessageType.RECORD: counted,
                SingerMessageType.STATE: state_then_flush,
            },
        )
