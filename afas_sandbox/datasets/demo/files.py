"""Demo files behind the file connectors: the files, images and reports, and their bytes.

Tables ``demo_files`` (files attached to dossier items, fetched by SubjectConnector or
FileConnector) and ``demo_images`` (ImageConnector), listed by the GetConnectors
``Profit_Subject_Files`` and ``Profit_Images`` with a modified date (``LastModified``,
``Laatst_gewijzigd``: names the other demo connectors do not use). The names try what names
from AFAS can do: spaces, ``_`` (the FileConnector wants it as ``_5f``), accents and
non-Latin scripts, a decomposed accent, a Windows device name, a name that tries ``../``, two
files of one name on one dossier item, an empty file.

Bytes are never stored: ``file_chunks`` makes them from the file id, the same every time, in
pieces. One file (``size_bytes`` NULL) takes its size from the sandbox's ``--file-mb``, so a
50 MB download costs the sandbox no 50 MB of memory. Reports are fixed GUIDs
(``DEMO_REPORTS``); their content depends on the filters sent.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from afas_sandbox.model import CONTROL_CODE, CONTROL_DATETIME, GetConnectorDef, GetField

CHUNK_BYTES = 3 << 16  # a multiple of 3, so each piece is whole Base64
LARGE_FILE_ID = "5E1F0A7D3C2B4A6F8E9D0C1B2A3F4E5D"

DDL = """
CREATE TABLE demo_files (
    file_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    sb_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size_bytes INTEGER,
    modified TEXT NOT NULL
);
CREATE TABLE demo_images (
    image_id INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    modified TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class DemoFile:
    file_id: str
    sb_id: int
    file_name: str
    mime_type: str
    size_bytes: int | None  # None: the large file, as large as --file-mb says
    modified: str


@dataclass(frozen=True, slots=True)
class DemoReport:
    report_id: str
    name: str
    pre_screen: bool = False  # AFAS cannot run a report with an initial screen over REST


def _guid(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()[:32].upper()


DEMO_FILES = (
    DemoFile(_guid("jaaroverzicht"), 1, "Jaaroverzicht 2025.pdf", "application/pdf", 180_000,
             "2025-01-15T09:12:44.120000"),
    DemoFile(_guid("offerte"), 1, "Offerte_2026_v2.pdf", "application/pdf", 40_000,
             "2025-02-03T14:01:09.500000"),
    DemoFile(_guid("maerz"), 2, "Überweisung März \u2013 €.txt", "text/plain", 2_000,
             "2025-02-20T11:30:00.000000"),
    DemoFile(_guid("japanese"), 2, "請求書 2025.txt", "text/plain", 1_500,
             "2025-03-01T08:00:01.000000"),
    DemoFile(_guid("cafe"), 3, "cafe\u0301 menu.txt", "text/plain", 900,
             "2025-03-10T16:45:30.250000"),
    DemoFile(_guid("passwd"), 3, "../../etc/passwd", "text/plain", 700,
             "2025-04-01T10:00:00.000000"),
    DemoFile(_guid("con"), 4, "CON", "text/plain", 300, "2025-04-02T10:00:00.000000"),
    DemoFile(_guid("note-a"), 5, "notitie.txt", "text/plain", 1_200,
             "2025-05-05T09:00:00.000000"),
    DemoFile(_guid("note-b"), 5, "notitie.txt", "text/plain", 1_300,
             "2025-05-05T09:00:00.400000"),
    DemoFile(_guid("empty"), 6, "leeg.txt", "text/plain", 0, "2025-06-01T12:00:00.000000"),
    DemoFile(_guid("scan"), 7, "scan_paspoort.png", "image/png", 250_000,
             "2025-06-15T13:14:15.000000"),
    DemoFile(LARGE_FILE_ID, 8, "Archief scans_2019-2024.zip", "application/zip", None,
             "2025-07-01T07:30:00.000000"),
)  # fmt: skip

DEMO_IMAGES = (
    (101, "Logo Demo Holding", "image/png", 24_000, "2025-01-10T10:00:00.000000"),
    (102, "Pasfoto medewerker 1001", "image/jpeg", 60_000, "2025-03-12T09:30:00.000000"),
    (103, "Artikelfoto bureaustoel", "image/jpeg", 120_000, "2025-05-20T15:45:10.000000"),
)

DEMO_REPORTS = (
    DemoReport("3F2504E04F8941D39A0C0305E82C3301", "Maandrapportage uren"),
    DemoReport("7C9E6679742540DE944BE07FC1F90AE7", "Verzuimoverzicht"),
    DemoReport("9B2D1F3E5A6C4B7D8E0F1A2B3C4D5E6F", "Loonstrook met voorscherm", pre_screen=True),
)
IMAGE_SCALE = {0: 1.0, 1: 0.05, 2: 0.3}  # format: original, thumbnail, medium


SUBJECT_FILES = GetConnectorDef(
    id="Profit_Subject_Files",
    description="Bestanden bij dossieritems",
    source="demo_files df",
    fields=(
        GetField("SubjectId", "U001", "int", "Dossieritem", "df.sb_id", 9, CONTROL_CODE),
        GetField("FileId", "U002", "string", "Bestand-GUID", "df.file_id", 32),
        GetField("FileName", "U003", "string", "Bestandsnaam", "df.file_name", 255),
        GetField("MimeType", "U004", "string", "Type", "df.mime_type", 100),
        GetField("LastModified", "U005", "date", "Gewijzigd", "df.modified", 0, CONTROL_DATETIME),
    ),
)
IMAGES = GetConnectorDef(
    id="Profit_Images",
    description="Afbeeldingen",
    source="demo_images di",
    fields=(
        GetField("ImageId", "U001", "int", "Afbeelding", "di.image_id", 9, CONTROL_CODE),
        GetField("Description", "U002", "string", "Omschrijving", "di.description", 255),
        GetField(
            "Laatst_gewijzigd", "U003", "date", "Gewijzigd", "di.modified", 0, CONTROL_DATETIME
        ),
    ),
)
GET_CONNECTORS = (SUBJECT_FILES, IMAGES)


def populate(conn: sqlite3.Connection) -> None:
    """Put the demo files and images in (their bytes are made when asked for)."""
    for item in DEMO_FILES:
        add_file(conn, item)
    conn.executemany("INSERT INTO demo_images VALUES (?, ?, ?, ?, ?)", DEMO_IMAGES)


def add_file(conn: sqlite3.Connection, item: DemoFile) -> None:
    """One more file (tests add files between syncs)."""
    conn.execute(
        "INSERT INTO demo_files VALUES (?, ?, ?, ?, ?, ?)",
        (item.file_id, item.sb_id, item.file_name, item.mime_type, item.size_bytes, item.modified),
    )


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file as the file connectors serve it: name, type and how many bytes."""

    key: str  # what its bytes are made from
    file_name: str
    mime_type: str
    size_bytes: int


def find_file(
    conn: sqlite3.Connection, file_id: str, large_bytes: int, sb_id: int | None = None
) -> StoredFile | None:
    """The demo file with this id (and on this dossier item, when given)."""
    row = conn.execute(
        "SELECT file_id, sb_id, file_name, mime_type, size_bytes FROM demo_files WHERE file_id = ?",
        (file_id,),
    ).fetchone()
    if row is None or (sb_id is not None and int(row[1]) != sb_id):
        return None
    size = large_bytes if row[4] is None else int(row[4])
    return StoredFile(str(row[0]).upper(), str(row[2]), str(row[3]), size)


def find_image(conn: sqlite3.Connection, image_id: int, image_format: int) -> StoredFile | None:
    row = conn.execute(
        "SELECT description, mime_type, size_bytes FROM demo_images WHERE image_id = ?",
        (image_id,),
    ).fetchone()
    if row is None:
        return None
    size = max(1, int(int(row[2]) * IMAGE_SCALE[image_format]))
    return StoredFile(f"image-{image_id}-{image_format}", str(row[0]), str(row[1]), size)


def find_report(report_id: str) -> DemoReport | None:
    for report in DEMO_REPORTS:
        if report.report_id.lower() == report_id.lower():
            return report
    return None


def report_bytes(report: DemoReport, filters: str) -> bytes:
    """A small PDF-like document: the report's name and the filters it ran with."""
    lines = [
        "%PDF-1.4",
        f"% {report.name}",
        f"% filters: {filters or '(none)'}",
        *(f"% regel {n}: {report.name} {n * 37 % 101}" for n in range(1, 41)),
        "%%EOF",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


_HEADERS = {
    "application/pdf": b"%PDF-1.4\n",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "application/zip": b"PK\x03\x04",
}


def file_chunks(stored: StoredFile, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file's bytes in pieces of ``chunk_bytes`` (the last may be shorter); the same
    bytes for the same file every time: text lines for text, seeded random bytes otherwise."""
    remaining = stored.size_bytes
    if stored.mime_type.startswith("text/"):
        source: Iterator[bytes] = _text_bytes(stored)
    else:
        source = _binary_bytes(stored)
    pending = bytearray()
    while remaining > 0:
        take = min(chunk_bytes, remaining)
        while len(pending) < take:
            pending += next(source)
        piece = bytes(pending[:take])
        del pending[:take]
        remaining -= take
        yield piece


def _text_bytes(stored: StoredFile) -> Iterator[bytes]:
    number = 0
    while True:
        number += 1
        yield f"regel {number}: {stored.file_name} ({stored.key[:8]})\n".encode()


def _binary_bytes(stored: StoredFile) -> Iterator[bytes]:
    yield _HEADERS.get(stored.mime_type, b"")
    rng = random.Random(stored.key)
    while True:
        yield rng.randbytes(CHUNK_BYTES)
