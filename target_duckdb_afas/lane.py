"""The fast lane: RECORD lines that singer-sdk's per-record path would not change go to DuckDB
as they came.

singer-sdk handles a record in about 10 µs of Python (a copy, stream maps, validation, date
parsing, metadata, tallies); DuckDB reads the same record from a JSON lines file in under 1 µs.
So a line is loaded as it is when that path would give the same row:

- the stream is mapped as it is (no stream maps, no flattening), and every property of its
  schema is one the lane knows exactly (``record_check.py``; singer-sdk's ``_sdc`` columns are
  computed by the load);
- the line is ``{"type":"RECORD","stream":"<name>",...`` and passes the stream's typed decode;
  its batch then passes the checks made as it is written (``lane_file.py``: number places, key
  spelling) and read (DuckDB: the text form of dates and date-times).

The reader (``reader.py``) offers the input in blocks: the lines that follow each other and
start like one stream's are decoded in one call and written to the stream's batch file; a full
batch loads in the background while the next is read (``background.py``). Anything else, and
any line the decode refuses, takes singer-sdk's path, in input order: the lane only ever skips
work, never decides. A batch holding such a record is loaded by that path (each lane line
validated and its dates parsed as the SDK does), and so is a lane batch a check or DuckDB
refuses (a key written twice, an integer beyond BIGINT, a number with more places than its
column keeps): that path then loads it or raises its usual error for its input line. The typed
decode is stricter than JSON Schema (``1.0`` is an integer there), never looser, so a record
the lane takes is one the SDK would have taken too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.mapper import SameRecordTransform

from target_duckdb_afas.record_check import RecordCheck


class Lane(Protocol):
    """What the lane needs of a stream's sink (``DuckDBSink``)."""

    at_input_line: Callable[[int, dict[str, Any], Callable[[], None]], None]
    background: bool

    @property
    def record_check(self) -> RecordCheck | None: ...

    @property
    def room(self) -> int: ...

    def take_lines(self, text: bytes, first: int, count: int) -> bool: ...


class LaneTarget(Protocol):
    """What the lane needs of the target (singer-sdk's public ``Target`` API)."""

    mapper: Any

    def get_sink(self, stream_name: str) -> Any: ...

    def drain_one(self, sink: Any) -> None: ...

    def _handle_max_record_age(self) -> None: ...  # private in singer-sdk (see target.py)


@dataclass(frozen=True)
class Route:
    """Where a stream's lines go: their start, the check's decodes, the sink."""

    start: bytes
    decode: Callable[[bytes], Any]
    decode_lines: Callable[[bytes], Any]
    sink: Lane

    @functools.cached_property
    def other_line(self) -> re.Pattern[bytes]:
        """Finds the end of a line followed by one that does not start like this route's."""
        return re.compile(b"\n(?!" + re.escape(self.start) + b")")


class FastLane:
    """Routes RECORD lines to their stream's sink when the stream and the lines qualify.

    The reader offers whole blocks of input (``run``): the lines that follow each other and
    start like one stream's are decoded in one call and handed over as they are; a run with a
    line the decode refuses, and every other line, is offered line by line (``take``).
    """

    PREFIX = b'{"type":"RECORD","stream":"'

    def __init__(
        self,
        target: LaneTarget,
        *,
        at_line: Callable[[int, dict[str, Any], Callable[[], None]], None],
    ) -> None:
        self._target = target
        self._at_line = at_line  # the reader's: handle a line read earlier, errors explained
        self._routes: dict[bytes, Route | None] = {}
        self._last: Route | None = None  # the route of the last line taken
        self.taken = 0  # lines taken (RECORD messages the SDK's reader did not count)

    def forget(self) -> None:
        """Work the routes out again (at a SCHEMA message: sinks and tables may change)."""
        self._routes.clear()
        self._last = None

    def run(self, data: bytes, pos: int, first: int) -> tuple[int, int]:
        """From ``pos`` in ``data`` (whole lines; ``first`` the input line number there), the
        lines that start like one stream's lines: where they end, and how many were taken
        (all of them when all pass the decode, else none). ``(pos, 0)``: the line at ``pos``
        starts otherwise."""
        route = self._route_at(data, pos)
        if route is None:
            return pos, 0
        found = route.other_line.search(data, pos)
        end = len(data) if found is None else found.start() + 1
        text = data[pos:end]
        count = text.count(b"\n") + (not text.endswith(b"\n"))
        try:
            values = route.decode_lines(text)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return end, 0
        if len(values) != count:  # a line holding two values, or one over two lines
            return end, 0
        self._last = route
        self._give(route, text, first, count)
        # As singer-sdk after each record: when records have waited longer than its maximum
        # age (5 minutes), every sink is drained and STATE written. Here after a run of lines,
        # which holds no STATE message: the STATE written is the one the SDK would write
        # after any record of the run.
        self._target._handle_max_record_age()
        return end, count

    def take(self, line: bytes, number: int) -> bool:
        """Whether ``line`` (input line ``number``) went to its sink as it is (else the SDK's
        path handles it)."""
        route = self._route_at(line, 0)
        if route is None:
            return False
        try:
            route.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return False
        self._last = route
        self._give(route, line, number, 1)
        self._target._handle_max_record_age()
        return True

    def _give(self, route: Route, text: bytes, first: int, count: int) -> None:
        """Hand ``count`` lines to the route's sink, draining it each time it is full."""
        sink = route.sink
        self.taken += count
        while count > sink.room:  # the batch fills within the text: cut at its last line
            room = sink.room
            cut = 0
            for _ in range(room):
                cut = text.index(b"\n", cut) + 1
            sink.take_lines(text[:cut], first, room)
            self._drain(sink)
            text, first, count = text[cut:], first + room, count - room
        if sink.take_lines(text, first, count):
            self._drain(sink)

    def _drain(self, sink: Lane) -> None:
        """Drain a full sink, its lines loaded beside the reading (``background.py``)."""
        sink.background = True
        try:
            self._target.drain_one(sink)
        finally:
            sink.background = False

    def _route_at(self, data: bytes, pos: int) -> Route | None:
        route = self._last
        if route is not None and data.startswith(route.start, pos):
            return route
        if not data.startswith(self.PREFIX, pos):
            return None
        start = pos + len(self.PREFIX)
        name = data[start : data.find(b'"', start)]
        try:
            return self._routes[name]
        except KeyError:
            route = self._routes[name] = self._route(name)
            return route

    def _route(self, name: bytes) -> Route | None:
        try:
            stream = name.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\\" in stream:  # an escape in the name: the SDK reads it
            return None
        maps = self._target.mapper.stream_maps.get(stream) or []
        if (
            len(maps) != 1
            or type(maps[0]) is not SameRecordTransform
            or maps[0].stream_alias != stream
            or maps[0].flattening_enabled
        ):
            return None
        try:
            sink = self._target.get_sink(stream)
        except RecordsWithoutSchemaException:
            return None
        check = getattr(sink, "record_check", None)
        if check is None:
            return None
        sink.at_input_line = self._at_line
        return Route(self.PREFIX + name + b'",', check.decode, check.decode_lines, sink)
