"""The fast lane: RECORD lines that singer-sdk's per-record path would not change go to DuckDB
as they came, checked by one typed msgspec decode.

singer-sdk handles a record in about 10 µs of Python (a copy, stream maps, validation, date
parsing, metadata, tallies); DuckDB reads the same record from a JSON lines file in under 1 µs.
So a line is loaded as it is when that path would give the same row:

- the stream is mapped as it is (no stream maps, no flattening) and gets no ``_sdc`` columns;
- every property of its schema is one the lane knows exactly (``RecordCheck``): a plain type
  (``integer``, ``number``, ``string``, ``boolean``, with or without ``null``) in the column this
  loader makes of it, ``maxLength``/``minLength``, ``multipleOf`` (the column's places), dates
  and date-times in their canonical ISO form, and no format checks asked for
  (``validate_field_string_format``);
- the line is ``{"type":"RECORD","stream":"<name>",...`` and its record passes the typed decode:
  each value of the JSON type its schema allows (an integer is no float, a string no number,
  true no 1), each required and key property present and set, each number written plainly with
  no more places than its DECIMAL column keeps (trailing zeros are no places), each date or
  date-time in ``YYYY-MM-DD`` / ``YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]`` form.

Anything else, and any line the decode refuses, takes singer-sdk's path, in input order: the
lane only ever skips work, never decides. A batch holding such a record is loaded as before
(each lane line decoded as the SDK would), and so is a lane batch DuckDB refuses (a key
written twice, an integer beyond BIGINT, a date that is no calendar day): that path then loads
it or raises its usual error. The typed decode is stricter than JSON Schema (``1.0`` is an
integer there), never looser, so a record the lane takes is one the SDK would have taken too.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import msgspec
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.mapper import SameRecordTransform

from target_duckdb_afas.types import TIMESTAMPTZ, decimal_scale

ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "$comment",
        "readOnly",
        "writeOnly",
        "deprecated",
        "x-sql-datatype-properties",
        "multipleOf",
    }
)  # keywords that check nothing (multipleOf: the DECIMAL column's places, checked below); not
# "default": the validator fills it in
TOP_LEVEL = frozenset(
    {"type", "properties", "required", "additionalProperties", "$schema", "title", "description"}
)
# The text of a date or date-time the lane loads as it is: a value the decode took as a date
# or date-time (a real day and time, as singer-sdk would parse it) in the form every parser
# reads alike; DuckDB checks the form as it reads the batch (a value in another form, such as
# "2021-01-01t10:00:00z", sends the batch the SDK's way).
TEXT_FORMS = {
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "date-time": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?",
}

# After a key and its colon: a number with a digit other than 0 beyond the first %d places, or
# with an exponent.
MORE_PLACES = rb":\s*-?(?:[0-9]+\.[0-9]{%d}[0-9]*[1-9]|[0-9.]+[eE])"


@dataclass(frozen=True)
class LaneBatch:
    """What DuckDB checks as it loads a file of lane lines (``LaneFile.close``)."""

    texts: Mapping[str, str]  # property → the form its text must have


class RecordCheck:
    """The typed decode of one stream's RECORD lines; ``build`` gives ``None`` when a property
    is not one the lane knows exactly.

    The decode checks the JSON types, required and key properties (and that every number
    property is there, null or not), lengths; the rest is checked per batch, where it costs
    nothing per line: a number must have no more places than its DECIMAL column keeps (a
    regular expression over the batch's text finds any value with more, or with an exponent,
    by its key as written: ``"AmountDebit":1.255``), and a date or date-time must be in
    ``TEXT_FORMS`` (DuckDB checks it as it reads the batch). So that no value escapes the
    places check, each number key must appear as written once per line (``key_counts``):
    unknown properties and envelope keys are refused by the decode, and a key cannot appear
    unescaped inside a string, so it can appear nowhere else.
    """

    def __init__(
        self,
        envelope: type,
        column_types: Mapping[str, str],
        texts: Mapping[str, str],
        decimals: Mapping[str, int],
    ) -> None:
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(envelope)
        # Decode a line (or whole lines): raise msgspec.ValidationError (or DecodeError) when
        # the lane may not take it (the batch checks follow in LaneFile).
        self.decode: Callable[[bytes], Any] = decoder.decode
        self.decode_lines: Callable[[bytes], Any] = decoder.decode_lines
        self.column_types = dict(column_types)  # the table's, when the check was built
        self.texts = dict(texts)
        self.decimals = dict(decimals)  # number property → its column's places
        self._keys = {name: json.dumps(name, ensure_ascii=False).encode() for name in decimals}
        self._places = (
            re.compile(
                b"|".join(
                    re.escape(self._keys[name])
                    + rb":\s*-?(?:[0-9]+\.[0-9]{%d}[0-9]*[1-9]|[0-9.]+[eE])" % scale
                    for name, scale in decimals.items()
                )
            )
            if decimals
            else None
        )

    @classmethod
    def build(
        cls,
        stream: str,
        schema: Mapping[str, Any],
        column_types: Mapping[str, str],
        keys: Sequence[str],
    ) -> RecordCheck | None:
        """The check for ``stream``'s records, whose table has ``column_types`` (by property);
        ``keys`` must be present and set."""
        if set(schema) - TOP_LEVEL or schema.get("type", "object") not in ("object", ["object"]):
            return None
        if schema.get("additionalProperties", True) not in (True, False):
            return None
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            return None
        required = set(schema.get("required") or ()) | set(keys)
        if required - set(properties):  # the validator refuses every record then
            return None
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        texts: dict[str, str] = {}
        decimals: dict[str, int] = {}
        for n, (name, spec) in enumerate(properties.items()):
            if name.startswith("_sdc_") or name not in column_types:
                return None
            typed = _value_type(spec, column_types[name], nullable=name not in keys)
            if typed is None:
                return None
            value_type, check = typed
            if isinstance(check, int):
                decimals[name] = check
            elif check is not None:
                texts[name] = check
            field = f"f{n}"
            rename[field] = name
            present = name in required or isinstance(check, int)  # a number: see key_counts
            fields.append((field, value_type) if present else (field, value_type, None))
        fields.sort(key=len)  # required fields (no default) first, as a Struct needs
        # gc=False: no cycles, and a block of thousands of them sets off no collection.
        record = msgspec.defstruct(
            "Record", fields, rename=rename, forbid_unknown_fields=True, gc=False
        )
        envelope = msgspec.defstruct(
            "Envelope",
            [
                ("type", Literal["RECORD"]),
                ("stream", Literal[stream]),
                ("record", record),
                ("version", int | None, None),
                ("time_extracted", str | None, None),
            ],
            forbid_unknown_fields=True,
            gc=False,
        )
        return cls(envelope, {n: column_types[n] for n in properties}, texts, decimals)

    def more_places(self, text: bytes) -> bool:
        """Whether whole lines ``text`` hold a number with more places than its column keeps,
        or with an exponent (the SDK's path loads their batch then)."""
        return self._places is not None and self._places.search(text) is not None

    def key_counts(self, text: bytes) -> dict[str, int]:
        """Per number property, how often whole lines ``text`` write its key as
        ``"<key>":``. Each line the decode took has each number property once, so a count
        below the number of lines means a key written otherwise (an escape, a space before
        the colon), which the places check would miss: the batch then takes the SDK's path."""
        return {name: text.count(key + b":") for name, key in self._keys.items()}


def _value_type(
    spec: Any, column_type: str, *, nullable: bool
) -> tuple[Any, int | str | None] | None:
    """The msgspec type that accepts exactly the values of ``spec`` the lane may load into a
    ``column_type`` column, with what the batch checks: the column's places (a number) or the
    text's form (a date or date-time); ``None``: not known."""
    if not isinstance(spec, Mapping):
        return None
    if set(spec) - ANNOTATIONS - {"type", "format", "maxLength", "minLength"}:
        return None
    kinds = spec.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list):
        return None
    allowed = set(kinds)
    may_be_null = "null" in allowed and nullable
    allowed.discard("null")
    text_format = spec.get("format")
    if ("maxLength" in spec or "minLength" in spec or text_format) and allowed != {"string"}:
        return None
    value: Any
    check: int | str | None = None
    if allowed == {"integer"} and column_type == "BIGINT":
        value = int
    elif (
        allowed in ({"number"}, {"integer", "number"})
        and (scale := decimal_scale(column_type)) is not None
    ):
        value, check = int | float, scale
    elif allowed == {"boolean"} and column_type == "BOOLEAN":
        value = bool
    elif allowed == {"string"}:
        if text_format is None and column_type == "VARCHAR":
            lengths = {"max_length": spec.get("maxLength"), "min_length": spec.get("minLength")}
            given = {k: v for k, v in lengths.items() if v is not None}
            if any(not isinstance(v, int) or isinstance(v, bool) for v in given.values()):
                return None
            value = Annotated[str, msgspec.Meta(**given)] if given else str
        elif text_format == "date" and column_type == "DATE":
            value, check = dt.date, TEXT_FORMS[text_format]
        elif text_format == "date-time" and column_type in (TIMESTAMPTZ, "TIMESTAMP"):
            value, check = dt.datetime, TEXT_FORMS[text_format]
        else:
            return None
    else:
        return None
    return (value | None if may_be_null else value), check


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

    def _handle_max_record_age(self) -> None: ...  # the one private SDK method the lane calls


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
        self._target._handle_max_record_age()  # as the SDK after a record (see _give)
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
        """Hand ``count`` lines to the route's sink, draining it each time it is full.

        Then, as singer-sdk does after each record, every sink is drained and STATE written
        when records have waited longer than its maximum age (5 minutes): here after a run of
        lines, which holds no STATE message, so the STATE written is the one the SDK would
        write after any of its records."""
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
