"""The targets' Singer input reader: a bad line is refused with its line number, in one line.

``CheckedSingerReader`` (used by target-afas and target-duckdb-afas) reads the input as UTF-8
and parses each line once, as singer-sdk's own reader does (fractions as ``Decimal``), but
refuses what the SDK would crash on or pass along: bytes that are not UTF-8, a line that is not
JSON or holds NaN/Infinity, and a message whose envelope breaks the Singer spec (unknown type, a
stream name that is not a usable identifier, a SCHEMA without properties, a RECORD or STATE
that is no object, key_properties that are no list of names). Those raise ``SingerInputError``
(an ``InvalidInputLine``). Errors the SDK raises while handling a line (a RECORD before its
SCHEMA, a record against its schema, a missing key property, a SCHEMA that is no valid JSON
Schema) keep their type, so in-process callers see what singer-sdk documents, and carry a
one-line explanation with the line number and the stream (``input_explanation``) that the
console scripts print. Messages quote at most a value, never a whole record. Blank lines are
skipped.
"""

from __future__ import annotations

import json
import os
import re
import sys
import typing as t
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import msgspec
import singer_sdk
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from singer_sdk.exceptions import (
    InvalidJSONSchema,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from tap_afas.input_files import type_word

SDK_FOLDER = os.path.dirname(singer_sdk.__file__) + os.sep
MESSAGE_TYPES = tuple(m.value for m in SingerMessageType)
STREAM_MESSAGES = ("SCHEMA", "RECORD", "ACTIVATE_VERSION", "BATCH")
MAX_QUOTED_CHARS = 200
CHECK_OUTPUT = "Check what writes this target's input (the tap, or the file piped in)."
_UNUSABLE_IN_NAMES = re.compile(r'["\x00-\x1f\x7f]')
_INPUT_ERRORS = (
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
    InvalidInputLine,
    InvalidJSONSchema,
    SchemaError,
)

Message = dict[str, Any]
# Lines are parsed by msgspec (fractions as Decimal, as the SDK does); the standard library only
# words the errors and reads integers beyond 64 bits.
MESSAGE_DECODER = msgspec.json.Decoder(float_hook=Decimal)


EXPLANATION = "singer_input_explanation"  # set on an SDK error raised while handling a line


class SingerInputError(InvalidInputLine):
    """A line of the target's input is not a usable Singer message (the message says why)."""


def input_explanation(error: BaseException) -> str | None:
    """The one-line explanation the reader attached to an error raised at an input line."""
    text = getattr(error, EXPLANATION, None)
    return text if isinstance(text, str) else None


class CheckedSingerReader(SingerReader):
    """singer-sdk's reader with the checks above; subclasses may wrap ``process_lines``."""

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self.key_properties: dict[str, list[str]] = {}

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[Message], None]],
    ) -> Counter[str]:
        source: Iterable[str | bytes] = sys.stdin.buffer if file_input is None else file_input
        checked = {kind: self._at_line(callback) for kind, callback in callbacks.items()}
        return super().process_lines(self._lines(source), checked)  # type: ignore[arg-type]  # an iterator of lines is all the SDK reads

    def _lines(self, source: Iterable[str | bytes]) -> Iterator[str]:
        lines = iter(source)
        take = self.take
        try:
            for raw in lines:
                self.line_number += 1
                if take(raw):
                    continue
                line = self._text(raw)
                if line is not None:
                    yield line
        except UnicodeDecodeError:  # a text file that is not UTF-8
            raise self._not_utf8(self.line_number + 1) from None

    def _text(self, raw: str | bytes) -> str | None:
        """Input line ``self.line_number`` as text (``None``: blank); not UTF-8: refused."""
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise self._not_utf8(self.line_number) from None
        else:
            line = raw
            if not line.isascii() and not _encodes(line):
                raise self._not_utf8(self.line_number)
        return line if line.strip() else None

    def take(self, raw: str | bytes) -> bool:  # a hook for subclasses
        """Whether a subclass handled the line ``raw`` itself (it is not parsed then)."""
        return False

    @staticmethod
    def _not_utf8(number: int) -> SingerInputError:
        return SingerInputError(
            f"Input line {number} is not UTF-8 text: Singer messages are UTF-8 JSON. {CHECK_OUTPUT}"
        )

    @override
    def deserialize_json(self, line: str) -> Message:
        n = self.line_number
        try:
            message = MESSAGE_DECODER.decode(line)
        except msgspec.DecodeError:
            message = self._slow_decode(line, n)
        problem = _envelope_problem(message)
        if problem is not None:
            raise SingerInputError(f"Input line {n} {problem}. {CHECK_OUTPUT}")
        if message["type"] == "SCHEMA":
            self.key_properties[message["stream"]] = list(message.get("key_properties") or [])
        return t.cast("Message", message)

    @staticmethod
    def _slow_decode(line: str, n: int) -> Any:
        """The standard library's parser: what msgspec refused (an integer beyond 64 bits) or
        the words for why the line is no JSON."""
        try:
            return json.loads(line, parse_float=Decimal, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise SingerInputError(
                f"Input line {n} is not JSON ({error.msg}: column {error.colno}): every line "
                f"must be one Singer message, a JSON object. {CHECK_OUTPUT}"
            ) from None
        except ValueError as error:
            raise SingerInputError(
                f"Input line {n} holds {error}: a tap must send a number or null. {CHECK_OUTPUT}"
            ) from None

    def at_line(self, number: int, message: Message, handle: Callable[[], None]) -> None:
        """Run ``handle`` for ``message``, read earlier at input line ``number``, its errors
        explained as if raised while that line was read."""
        current = self.line_number
        self.line_number = number
        try:
            self._at_line(lambda _message: handle())(message)
        finally:
            self.line_number = current

    def _at_line(self, callback: Callable[[Message], None]) -> Callable[[Message], None]:
        def handle(message: Message) -> None:
            try:
                callback(message)
            except _INPUT_ERRORS as error:
                setattr(error, EXPLANATION, self._explain(error, message))
                raise
            except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
                if _raised_in_sdk(error):
                    detail = _quoted(str(error)).rstrip(".")
                    setattr(
                        error,
                        EXPLANATION,
                        f"Input line {self.line_number} ({message['type']} of stream "
                        f"{message.get('stream')!r}) cannot be used: {detail}. {CHECK_OUTPUT}",
                    )
                raise

        return handle

    def _explain(self, error: Exception, message: Message) -> str:
        n = self.line_number
        stream = message.get("stream")
        if isinstance(error, RecordsWithoutSchemaException):
            return (
                f"Input line {n}: a RECORD of stream {stream!r} came before the stream's SCHEMA "
                f"message; a tap sends each stream's SCHEMA first. {CHECK_OUTPUT}"
            )
        if isinstance(error, MissingKeyPropertiesError):
            keys = self.key_properties.get(str(stream), [])
            missing = [k for k in keys if k not in message.get("record", {})] or keys
            return (
                f"Input line {n}: a record of stream {stream!r} has no {', '.join(missing)}, "
                f"a key property of the stream's SCHEMA: every record must carry its key "
                f"properties. {CHECK_OUTPUT}"
            )
        if isinstance(error, InvalidRecord):
            return (
                f"Input line {n}: a record of stream {stream!r} does not match the stream's "
                f"SCHEMA: {_record_problem(error)}. Fix the value at its source, or the SCHEMA "
                "the tap sends."
            )
        if isinstance(error, (InvalidJSONSchema, SchemaError)):
            detail = (getattr(error, "message", None) or str(error)).splitlines()[0]
            detail = detail.removeprefix("Schema Validation Error: ")
            return (
                f"Input line {n}: the schema of stream {stream!r} is not a valid JSON Schema "
                f"({_quoted(str(detail))}). Fix the tap's schema for that stream."
            )
        return f"Input line {n} is not a valid {message.get('type')} message. {CHECK_OUTPUT}"


def _encodes(line: str) -> bool:
    """False for text with lone surrogates (bytes that were not UTF-8, escaped on read)."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name}, which is not a JSON number")


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _envelope_problem(message: Any) -> str | None:
    """Why ``message`` breaks the Singer message spec (completing "Input line N ..."), or None."""
    if not isinstance(message, dict):
        return f"is {type_word(message)}, not a Singer message (a JSON object with a 'type')"
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        shown = "no 'type'" if kind is None else f"message type {_quoted(repr(kind))}"
        return f"has {shown}; Singer messages are {', '.join(MESSAGE_TYPES)}"
    if kind in STREAM_MESSAGES:
        stream = message.get("stream")
        if not isinstance(stream, str) or not stream:
            return f"is a {kind} message without a stream name (a non-empty string)"
        if _UNUSABLE_IN_NAMES.search(stream):
            return (
                f"names stream {_quoted(repr(stream))}, with a quote or control character: "
                "tables and mappings are named after streams, so rename it in the tap (for "
                "example with stream_maps)"
            )
    if kind == "SCHEMA":
        schema = message.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            return "is a SCHEMA message whose 'schema' is no JSON Schema object with 'properties'"
        for key in ("key_properties", "bookmark_properties"):
            if message.get(key) is not None and not _names(message[key]):
                return f"is a SCHEMA message whose {key!r} is no list of property names"
    if kind == "RECORD" and not isinstance(message.get("record"), dict):
        return "is a RECORD message whose 'record' is no JSON object"
    if kind == "STATE" and not isinstance(message.get("value"), dict):
        return "is a STATE message whose 'value' is no JSON object"
    if kind == "ACTIVATE_VERSION" and type(message.get("version")) is not int:
        return "is an ACTIVATE_VERSION message whose 'version' is no integer"
    return None


def _record_problem(error: InvalidRecord) -> str:
    cause = error.__cause__
    path = [p for p in getattr(cause, "path", None) or () if p != "data"]
    text = str(getattr(cause, "message", None) or error.error_message)
    text = text.removeprefix("Record Message Validation Error: ")
    if path and not text.startswith("data."):
        text = f"property {'.'.join(str(p) for p in path)!r}: {text}"
    return _quoted(text)


def _raised_in_sdk(error: BaseException) -> bool:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(SDK_FOLDER)


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"
