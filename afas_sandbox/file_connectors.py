"""The sandbox's file connectors: FileConnector, ImageConnector, ReportConnector, and the
SubjectConnector for the demo files (afas-rest-api.md section 8).

- ``GET /fileconnector/{fileGuid}/{name}``: the name must be the original with ``_`` sent as
  ``_5f``. The sandbox reads ``_hh`` as the character with hex code ``hh`` (so ``_5f`` is
  ``_``) and refuses a ``_`` that starts no such escape: a name sent with a bare ``_`` does not
  match, as on AFAS. A wrong GUID or name is a 404.
- ``GET /SubjectConnector/{subjectId}/{fileId}``: the demo files (``demo_files``) of that
  dossier item; other ids fall through to the dataset's own attachments.
- ``GET /ImageConnector/{id}?format=0|1|2``: original, thumbnail (5 %) or medium (30 %).
- ``GET /reportconnector/{guid}`` with optional compact filters: a PDF naming the filters;
  a report with an initial screen answers 500, an unknown GUID 404.

Answers are ``{"filename","mimetype","filedata"}`` (images and reports
``{"filedata","mimetype"}``, filedata first). An answer above ``STREAM_FROM_BYTES`` is made
while it is sent: the file's bytes are generated and Base64-encoded piece by piece, so a
50 MB file (``--file-mb 50``) never sits in memory, as bytes or as Base64.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from urllib.parse import parse_qsl

from afas_sandbox.datasets.demo.files import (
    StoredFile,
    file_chunks,
    find_file,
    find_image,
    find_report,
    report_bytes,
)
from afas_sandbox.filters import FilterSyntaxError, parse_compact
from afas_sandbox.inputs import check_number
from afas_sandbox.responses import SimResponse, afas_error, not_found
from afas_sandbox.store import Store

# The first path segment of each file connector (lower case) and its name in fault scripts.
FILE_CONNECTORS = {
    "subjectconnector": "SubjectConnector",
    "fileconnector": "FileConnector",
    "imageconnector": "ImageConnector",
    "reportconnector": "ReportConnector",
}
DEFAULT_FILE_MB = 1.0
MAX_FILE_MB = 4096.0
STREAM_FROM_BYTES = 1 << 20
PRE_SCREEN_MESSAGE = (
    "Dit rapport heeft een voorscherm en kan niet via de ReportConnector worden uitgevoerd."
)
_HEX = frozenset("0123456789abcdefABCDEF")


def check_file_mb(value: object) -> float:
    """The size of the large demo file in MB (``--file-mb``); ``SandboxInputError`` if wrong."""
    return check_number("file_mb", value, low=0.0, high=MAX_FILE_MB)


class FileConnectors:
    """The file connectors of one sandbox; ``file_mb`` sizes the large demo file."""

    def __init__(self, file_mb: float = DEFAULT_FILE_MB) -> None:
        self.large_bytes = int(file_mb * (1 << 20))

    def handle(self, head: str, rest: list[str], query: str, store: Store) -> SimResponse:
        """A GET on FileConnector, ImageConnector or ReportConnector (``head`` lower case)."""
        if head == "fileconnector" and len(rest) >= 2:
            return self._file(rest[0], "/".join(rest[1:]), store)
        if head == "imageconnector" and len(rest) == 1:
            return self._image(rest[0], query, store)
        if head == "reportconnector" and len(rest) == 1:
            return self._report(rest[0], query)
        return not_found()

    def subject_file(self, store: Store, subject_id: int, file_id: str) -> SimResponse | None:
        """A demo file of dossier item ``subject_id``, or None when ``file_id`` is none."""
        with store.transaction() as conn:
            stored = _demo_file(conn, file_id, self.large_bytes, subject_id)
        return None if stored is None else file_answer(stored, named=True)

    def _file(self, file_id: str, sent_name: str, store: Store) -> SimResponse:
        name = decode_file_name(sent_name.replace("%2F", "/").replace("%2f", "/"))
        with store.transaction() as conn:
            stored = _demo_file(conn, file_id, self.large_bytes, None)
        if stored is None or name is None or name != stored.file_name:
            return not_found()
        return file_answer(stored, named=True)

    def _image(self, image_text: str, query: str, store: Store) -> SimResponse:
        params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
        format_text = params.get("format", "0") or "0"
        if format_text not in ("0", "1", "2"):
            return afas_error("An unexpected error has occurred.")
        if not image_text.isascii() or not image_text.isdigit() or len(image_text) > 9:
            return not_found()
        with store.transaction() as conn:
            stored = find_image(conn, int(image_text), int(format_text))
        return not_found() if stored is None else file_answer(stored, named=False)

    def _report(self, report_id: str, query: str) -> SimResponse:
        report = find_report(report_id)
        if report is None:
            return not_found()
        if report.pre_screen:
            return afas_error(PRE_SCREEN_MESSAGE)
        params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
        ids, values, ops = (
            params.get("filterfieldids"),
            params.get("filtervalues"),
            params.get("operatortypes"),
        )
        try:
            parse_compact(ids, values, ops)
        except FilterSyntaxError:
            return afas_error("An unexpected error has occurred.")
        shown = "" if not ids else f"{ids} {ops} {values}"
        data = report_bytes(report, shown)
        stored = StoredFile(report.report_id, report.name, "application/pdf", len(data))
        return _answer(stored, iter([data]), named=False)


def _demo_file(
    conn: sqlite3.Connection, file_id: str, large_bytes: int, subject_id: int | None
) -> StoredFile | None:
    try:
        return find_file(conn, file_id, large_bytes, subject_id)
    except sqlite3.OperationalError:  # a dataset without demo files
        return None


def decode_file_name(sent: str) -> str | None:
    """The name a FileConnector URL carries: ``_hh`` is the character with hex code ``hh``;
    None when a ``_`` starts no such escape (AFAS then finds no file)."""
    out: list[str] = []
    i = 0
    while i < len(sent):
        ch = sent[i]
        if ch != "_":
            out.append(ch)
            i += 1
            continue
        code = sent[i + 1 : i + 3]
        if len(code) != 2 or not set(code) <= _HEX:
            return None
        out.append(chr(int(code, 16)))
        i += 3
    return "".join(out)


def file_answer(stored: StoredFile, *, named: bool) -> SimResponse:
    """The JSON answer for a demo file or image, its bytes made from the stored description."""
    return _answer(stored, file_chunks(stored), named=named)


def _answer(stored: StoredFile, chunks: Iterator[bytes], *, named: bool) -> SimResponse:
    mime = json.dumps(stored.mime_type, ensure_ascii=False)
    if named:
        name = json.dumps(stored.file_name, ensure_ascii=False)
        head = f'{{"filename":{name},"mimetype":{mime},"filedata":"'.encode()
        tail = b'"}'
    else:
        head = b'{"filedata":"'
        tail = f'","mimetype":{mime}}}'.encode()
    length = len(head) + 4 * -(-stored.size_bytes // 3) + len(tail)
    if stored.size_bytes < STREAM_FROM_BYTES:
        body = head + base64.b64encode(b"".join(chunks)) + tail
        return SimResponse(status=200, body=body)

    def produce() -> Iterator[bytes]:
        yield head
        for piece in chunks:
            yield base64.b64encode(piece)
        yield tail

    return SimResponse(status=200, chunks=produce, headers=[("Content-Length", str(length))])
