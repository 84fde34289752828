"""Decode an AFAS file answer while it streams in, so a file never has to fit in memory.

The file connectors answer one JSON object, ``{"filename": ..., "mimetype": ...,
"filedata": "<Base64>"}`` (afas-rest-api.md section 8), in any key order, possibly with
other keys, whitespace, and JSON escapes inside the strings (``\\/`` for ``/``, ``\\u002B``,
escaped line breaks between Base64 lines). ``FileDocumentDecoder.feed`` takes the body in chunks
of any size, splits anywhere (inside a key, inside an escape); the Base64 of ``filedata`` is
decoded as it arrives and handed to ``write`` in pieces, so memory stays flat whatever the
file's size. Everything else in the object is small and read whole (at most
``MAX_TEXT_VALUE_BYTES`` per value).

How it reads: a small state machine walks the object envelope byte by byte; inside the
``filedata`` string it jumps from one quote or backslash to the next with ``bytes.find``, so
the Base64 body is passed on in slices. ``close`` checks that the object ended and returns a
``FileDocument`` (name, MIME type, size and SHA-256 of the decoded bytes). A body that breaks off
or is not such an object raises ``FileBodyError``; a ``limit`` on the decoded size raises
``FileTooLargeError`` as soon as it is passed.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_TEXT_VALUE_BYTES = 1 << 16  # a file name or MIME type; far more than AFAS ever sends
DATA_KEY = "filedata"
_WHITESPACE = b" \t\r\n"
_BACKSLASH = 0x5C
_QUOTE = 0x22
_BASE64_BLOCK = 4
_MAX_ESCAPE = 6  # \uXXXX


class FileBodyError(ValueError):
    """The answer is not a complete AFAS file document (broken off, or another shape)."""


class FileTooLargeError(Exception):
    """The decoded file is larger than the limit given to the decoder."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class FileDocument:
    """What a file answer held, besides the bytes themselves."""

    filename: str | None
    mimetype: str | None
    size: int
    sha256: str


class _State(Enum):
    START = "start"
    KEY_OR_END = "key or end"
    KEY = "key"
    COLON = "colon"
    VALUE = "value"
    TEXT = "text value"
    OTHER = "other value"
    DATA = "filedata"
    AFTER_VALUE = "after value"
    DONE = "done"


class FileDocumentDecoder:
    """Feed an AFAS file answer in chunks; decoded file bytes go to ``write`` as they come."""

    def __init__(self, write: Callable[[bytes], object], *, limit: int | None = None) -> None:
        self._write = write
        self._limit = limit
        self._state = _State.START
        self._buffer = bytearray()  # the key or small value being read
        self._escaped = False  # the last byte of a key or text value was an escaping backslash
        self._depth = 0  # nesting inside another (skipped) value
        self._in_string = False  # inside a string of a skipped value
        self._key = ""
        self._values: dict[str, Any] = {}
        self._carry = b""  # an escape broken off at the end of a chunk
        self._base64 = b""  # fewer than four Base64 characters not yet decoded
        self._padded = False
        self._seen_data = False
        self._size = 0
        self._hash = hashlib.sha256()

    def feed(self, chunk: bytes) -> None:
        """Read the next piece of the body."""
        i = 0
        n = len(chunk)
        while i < n:
            if self._state is _State.DATA:
                i = self._data(chunk, i)
            else:
                self._envelope(chunk[i])
                i += 1

    def close(self) -> FileDocument:
        """The document, once the whole body was fed; ``FileBodyError`` if it is incomplete."""
        if self._state is not _State.DONE:
            raise FileBodyError(f"the answer ended inside its JSON object ({self._state.value})")
        if not self._seen_data:
            raise FileBodyError(f"the answer has no {DATA_KEY!r}")
        return FileDocument(
            filename=_text(self._values.get("filename")),
            mimetype=_text(self._values.get("mimetype")),
            size=self._size,
            sha256=self._hash.hexdigest(),
        )

    # -- the envelope, byte by byte ----------------------------------------------------------

    def _envelope(self, byte: int) -> None:
        state = self._state
        if state in (_State.KEY, _State.TEXT):
            self._string_byte(byte)
        elif state is _State.OTHER:
            self._other_byte(byte)
        elif byte in _WHITESPACE:
            return
        elif state is _State.START:
            self._expect(byte, b"{", _State.KEY_OR_END)
        elif state is _State.KEY_OR_END:
            if byte == ord("}") and not self._values and not self._seen_data:
                self._state = _State.DONE
            else:
                self._expect(byte, b'"', _State.KEY)
        elif state is _State.COLON:
            self._expect(byte, b":", _State.VALUE)
        elif state is _State.VALUE:
            self._value_start(byte)
        elif state is _State.AFTER_VALUE:
            if byte == ord(","):
                self._state = _State.KEY_OR_END
            else:
                self._expect(byte, b"}", _State.DONE)
        else:
            raise FileBodyError("the answer goes on after its JSON object")

    def _expect(self, byte: int, wanted: bytes, then: _State) -> None:
        if byte != wanted[0]:
            raise FileBodyError(
                f"the answer is not an AFAS file document: {chr(byte)!r} where "
                f"{wanted.decode()!r} belongs ({self._state.value})"
            )
        self._state = then

    def _value_start(self, byte: int) -> None:
        if self._key == DATA_KEY and byte == _QUOTE:
            if self._seen_data:
                raise FileBodyError(f"the answer has {DATA_KEY!r} twice")
            self._seen_data = True
            self._state = _State.DATA
            return
        self._buffer.clear()
        if byte == _QUOTE:
            self._state = _State.TEXT
            return
        self._buffer.append(byte)
        self._state = _State.OTHER
        self._depth = 1 if byte in b"[{" else 0
        self._in_string = False
        if self._depth == 0 and byte not in b"-0123456789tfn":
            raise FileBodyError(f"the answer holds {chr(byte)!r} where a JSON value belongs")

    def _string_byte(self, byte: int) -> None:
        """A byte of a key or a small string value (kept raw, decoded by ``json`` at its end)."""
        if byte == _QUOTE and not self._escaped:
            raw = b'"' + bytes(self._buffer) + b'"'
            self._buffer.clear()
            try:
                text = json.loads(raw)
            except ValueError:
                raise FileBodyError("the answer holds a malformed JSON string") from None
            if self._state is _State.KEY:
                self._key = str(text).lower()
                self._state = _State.COLON
            else:
                self._store(text)
            return
        self._escaped = byte == _BACKSLASH and not self._escaped
        self._buffer.append(byte)
        if len(self._buffer) > MAX_TEXT_VALUE_BYTES:
            raise FileBodyError(
                f"a key or value of the answer is over {MAX_TEXT_VALUE_BYTES} bytes"
            )

    def _other_byte(self, byte: int) -> None:
        """A byte of a number, literal, array or object: kept until the value ends."""
        if self._depth == 0 and (byte in _WHITESPACE or byte in b",}"):
            try:
                value = json.loads(bytes(self._buffer))
            except ValueError:
                raise FileBodyError("the answer holds a malformed JSON value") from None
            self._store(value)
            if byte in b",}":
                self._state = _State.KEY_OR_END if byte == ord(",") else _State.DONE
            return
        self._buffer.append(byte)
        if len(self._buffer) > MAX_TEXT_VALUE_BYTES:
            raise FileBodyError(f"a value of the answer is over {MAX_TEXT_VALUE_BYTES} bytes")
        if self._in_string:
            if byte == _QUOTE and not self._escaped:
                self._in_string = False
            self._escaped = byte == _BACKSLASH and not self._escaped
        elif byte == _QUOTE:
            self._in_string = True
            self._escaped = False
        elif byte in b"[{":
            self._depth += 1
        elif byte in b"]}":
            self._depth -= 1

    def _store(self, value: Any) -> None:
        self._buffer.clear()
        self._escaped = False
        if self._key == DATA_KEY:
            if value is not None:
                raise FileBodyError(f"{DATA_KEY!r} is neither a string nor null")
            self._seen_data = True  # null: an empty file
        self._values[self._key] = value
        self._state = _State.AFTER_VALUE

    # -- filedata, in slices -----------------------------------------------------------------

    def _data(self, chunk: bytes, start: int) -> int:
        """Pass on Base64 from ``chunk[start:]`` up to the closing quote; the index after it."""
        end = chunk.find(b'"', start)
        stop = len(chunk) if end < 0 else end
        piece = self._carry + chunk[start:stop]
        self._carry = b""
        if end < 0:
            piece, self._carry = _split_escape(piece)
        elif _escaped_at(piece, len(piece)):
            raise FileBodyError(f"{DATA_KEY!r} is not Base64: it holds an escaped quote")
        self._base64_text(piece)
        if end < 0:
            return len(chunk)
        if self._base64:
            raise FileBodyError(f"{DATA_KEY!r} is not Base64 (its length is not a multiple of 4)")
        self._state = _State.AFTER_VALUE
        return end + 1

    def _base64_text(self, piece: bytes) -> None:
        if b"\\" in piece:
            piece = _unescape(piece)
        if not piece:
            return
        text = self._base64 + piece
        whole = len(text) - len(text) % _BASE64_BLOCK
        self._base64 = text[whole:]
        if whole:
            self._decode(text[:whole])

    def _decode(self, text: bytes) -> None:
        if self._padded:
            raise FileBodyError(f"{DATA_KEY!r} goes on after its Base64 padding")
        if text.translate(None, _BASE64_ALPHABET):
            raise FileBodyError(f"{DATA_KEY!r} is not Base64")
        body = text.rstrip(b"=")
        if b"=" in body or len(text) - len(body) > 2:
            raise FileBodyError(f"{DATA_KEY!r} has Base64 padding inside it")
        self._padded = len(body) != len(text)
        data = binascii.a2b_base64(text)
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            raise FileTooLargeError(self._limit)
        self._hash.update(data)
        self._write(data)


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _escaped_at(text: bytes, index: int) -> bool:
    """True when the byte at ``index`` follows an odd run of backslashes (it is escaped)."""
    run = 0
    while index - run - 1 >= 0 and text[index - run - 1] == _BACKSLASH:
        run += 1
    return run % 2 == 1


def _split_escape(piece: bytes) -> tuple[bytes, bytes]:
    """``piece`` without an escape broken off at its end, and that broken escape."""
    start = piece.rfind(b"\\", max(0, len(piece) - _MAX_ESCAPE))
    if start < 0 or _escaped_at(piece, start):
        return piece, b""
    tail = piece[start:]
    complete = len(tail) >= 2 and (tail[1:2] != b"u" or len(tail) >= _MAX_ESCAPE)
    return (piece, b"") if complete else (piece[:start], tail)


def _unescape(piece: bytes) -> bytes:
    """JSON escapes resolved (``\\/`` → ``/``); escaped whitespace dropped; Base64 stays ASCII."""
    try:
        text = json.loads(b'"' + piece + b'"')
    except ValueError:
        raise FileBodyError(f"{DATA_KEY!r} holds a malformed JSON escape") from None
    try:
        raw = str(text).encode("ascii")
    except UnicodeEncodeError:
        raise FileBodyError(f"{DATA_KEY!r} is not Base64 (it holds non-ASCII text)") from None
    return raw.translate(None, _WHITESPACE)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
