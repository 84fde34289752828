"""The target's Singer reader: hands every STATE message on as soon as it is safe to.

singer-sdk emits a target's STATE only when it drains all sinks, which happens at the end of the
input (or after minutes). A crash before that makes a resumed tap send everything again. This
reader calls ``after_state`` after each STATE message is taken in; the target then drains its
sinks (every record before the STATE gets an outcome) and so emits that STATE.
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
    ``after_state()`` after every STATE message."""

    def __init__(self, after_state: Callable[[], None]) -> None:
        super().__init__()
        self.after_state = after_state

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, t.Any]], None]],
    ) -> Counter[str]:
        on_state = callbacks[SingerMessageType.STATE]

        def state_then_flush(message: dict[str, t.Any]) -> None:
            on_state(message)
            self.after_state()

        return super().process_lines(
            file_input, {**callbacks, SingerMessageType.STATE: state_then_flush}
        )
