"""Unit layer: ``afas_profit.files`` (URLs, safe names, listing fields), the streaming decoder
``afas_profit.file_decoder``, and ``ProfitClient.download`` against a sandbox over real HTTP.

Names: whatever AFAS sends, ``relative_path`` gives a path that stays inside the folder it is
joined to (checked by resolving it under a real temporary folder). URLs: the FileConnector wants
``_`` as ``_5f`` and every other special character escaped (afas-rest-api.md section 8).
Decoder: every body is fed split at every position and in chunks of several sizes; the decoded
bytes and SHA-256 must match, whatever the key order, escapes or extra keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from afas_profit.client import ProfitClient, RetryPolicy
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import AFASAuthError, AFASConfigError, AFASNotFoundError, AFASServerError
from afas_profit.file_decoder import (
    FileBodyError,
    FileDocument,
    FileDocumentDecoder,
    FileTooLargeError,
)
from afas_profit.files import (
    MAX_NAME_BYTES,
    ImageFormat,
    afas_file_name,
    file_connector_path,
    image_params,
    image_path,
    listing_fields,
    relative_path,
    report_params,
    report_path,
    safe_file_name,
    subject_file_path,
)
from afas_profit.filters import Condition, Op
from afas_profit.metainfo import parse_get_connector
from afas_sandbox import RunningSandbox
from afas_sandbox.datasets.demo.files import DEMO_FILES

NASTY_NAMES = [
    "../../etc/passwd",
    "..",
    ".",
    "",
    "/etc/shadow",
    "C:\\Windows\\system32\\cmd.exe",
    "\\\\server\\share\\x",
    "..\\..\\boot.ini",
    "a/../../b",
    "\x00",
    "nul\x00.txt",
    "\uff0e\uff0e\uff0fescape",  # full-width dots and solidus
    "\u2024\u2024/x",  # one-dot leaders
    "CON",
    "con.txt",
    "LPT1.log",
    "rapport\u202egnp.exe",
    "x" * 400 + ".pdf",
    "é" * 300,
    "line\nbreak\r.txt",
    " .. ",
    "\ud800.txt",  # a lone surrogate cannot be written as UTF-8
]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Jaaroverzicht 2025.pdf", "Jaaroverzicht 2025.pdf"),
        ("Offerte_2026_v2.pdf", "Offerte_2026_v2.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "file"),
        ("", "file"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com1.log", "_com1.log"),
        ("a\x00b", "a_b"),
        ("\uff0fetc\uff0fpasswd", "_etc_passwd"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),
        ("rapport\u202egnp.exe", "rapport_gnp.exe"),
        ("what?*:<>|.txt", "what______.txt"),
        (".hidden", "hidden"),
        ("trailing. ", "trailing"),
    ],
    ids=[
        "spaces",
        "underscores",
        "dot-dot-slash",
        "dot-dot",
        "empty",
        "device-name",
        "device-with-extension",
        "com-port",
        "nul-byte",
        "full-width-solidus",
        "decomposed-accent",
        "right-to-left-override",
        "windows-reserved-characters",
        "leading-dot",
        "trailing-dot-space",
    ],
)
def test_safe_file_name(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe


def test_a_long_name_is_cut_to_the_byte_limit_keeping_its_extension() -> None:
    assert len(safe_file_name("x" * 400 + ".pdf").encode()) == MAX_NAME_BYTES
    assert safe_file_name("x" * 400 + ".pdf").endswith("x.pdf")
    assert len(safe_file_name("é" * 300).encode()) <= MAX_NAME_BYTES
    assert safe_file_name("é" * 300) == "é" * (MAX_NAME_BYTES // 2)


@pytest.mark.parametrize("name", NASTY_NAMES, ids=range(len(NASTY_NAMES)))
def test_no_name_leaves_the_folder(tmp_path: Path, name: str) -> None:
    root = (tmp_path / "files").resolve()
    relative = relative_path("subject_files", 12, f"ABC-{name}")
    parts = relative.split("/")
    assert len(parts) == 3
    assert all(p not in ("", ".", "..") and "\\" not in p and "\x00" not in p for p in parts)
    target = (root / relative).resolve()
    assert target.parent.parent.parent == root
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"x")  # the name can really be written
    assert target.read_bytes() == b"x"


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("file_id", "name", "path"),
    [
        ("ABC", "Offerte_2026_v2.pdf", "/fileconnector/ABC/Offerte_5f2026_5fv2.pdf"),
        ("ABC", "Jaar overzicht.pdf", "/fileconnector/ABC/Jaar%20overzicht.pdf"),
        ("ABC", "../../etc/passwd", "/fileconnector/ABC/..%2F..%2Fetc%2Fpasswd"),
        ("ABC", "..", "/fileconnector/ABC/%2E%2E"),
        ("ABC", "x_5f.txt", "/fileconnector/ABC/x_5f5f.txt"),
        ("ABC", "café?#%.txt", "/fileconnector/ABC/caf%C3%A9%3F%23%25.txt"),
        ("A/B", "x", "/fileconnector/A%2FB/x"),
    ],
    ids=[
        "underscore-as-5f",
        "space",
        "slashes",
        "only-dots",
        "literal-5f",
        "unicode-and-url-characters",
        "slash-in-guid",
    ],
)
def test_file_connector_path(file_id: str, name: str, path: str) -> None:
    assert file_connector_path(file_id, name) == path


def test_other_file_connector_urls() -> None:
    assert afas_file_name("a_b") == "a_5fb"
    assert subject_file_path(12, "F00D") == "/SubjectConnector/12/F00D"
    assert subject_file_path(12, "..") == "/SubjectConnector/12/%2E%2E"
    assert image_path(101) == "/ImageConnector/101"
    assert image_params(ImageFormat.THUMBNAIL) == {"format": 1}
    assert report_path("3F25") == "/reportconnector/3F25"
    assert report_params([]) == {}
    conditions = [Condition("Jaar", Op.EQUAL, "2025"), Condition("Maand", Op.AT_LEAST, "3")]
    assert report_params(conditions) == {
        "filterfieldids": "Jaar,Maand",
        "filtervalues": "2025,3",
        "operatortypes": "1,2",
    }


# --------------------------------------------------------------------------- listing fields


def _connector(*ids: str) -> Any:
    fields = [
        {"id": i, "fieldId": f"U{n:03d}", "dataType": "string", "label": i, "length": 0}
        for n, i in enumerate(ids, start=1)
    ]
    return parse_get_connector("Listing", {"name": "Listing", "fields": fields})


@pytest.mark.parametrize(
    ("ids", "found"),
    [
        (("attachment_id", "subject_id", "file_id", "file_name"), (1, 2, 3)),
        (("SubjectId", "FileId", "FileName"), (0, 1, 2)),
        (("Dossieritem", "Bestand_GUID", "Bestandsnaam", "Naam"), (0, 1, 2)),
    ],
    ids=["afas-attachments", "english", "dutch"],
)  # fmt: skip
def test_listing_fields_are_detected_by_name(ids: tuple[str, ...], found: tuple[int, ...]) -> None:
    chosen = listing_fields(_connector(*ids), ("subject_id", "file_id", "file_name"), {}, "f")
    assert tuple(chosen.values()) == tuple(ids[i] for i in found)


def test_listing_field_overrides_and_refusals() -> None:
    connector = _connector("Item", "Guid", "Naam", "Other")
    roles = ("subject_id", "file_id", "file_name")
    with pytest.raises(
        AFASConfigError, match=r"no field recognised as subject_id: set 'f.subject_id'"
    ):
        listing_fields(connector, roles, {}, "f")
    chosen = listing_fields(connector, roles, {"subject_id": "Item"}, "f")
    assert chosen == {"subject_id": "Item", "file_id": "Guid", "file_name": "Naam"}
    with pytest.raises(AFASConfigError, match=r"'f.file_id' is 'Nope', not a field .*Other"):
        listing_fields(connector, roles, {"subject_id": "Item", "file_id": "Nope"}, "f")


# --------------------------------------------------------------------------- decoder

RAW = bytes(random.Random(7).randbytes(10_007))
B64 = base64.b64encode(RAW).decode()


def _decode(
    body: bytes, chunk: int | None = None, splits: Iterable[int] = ()
) -> tuple[bytes, FileDocument]:
    out = bytearray()
    decoder = FileDocumentDecoder(out.extend)
    if chunk:
        for i in range(0, len(body), chunk):
            decoder.feed(body[i : i + chunk])
    else:
        last = 0
        for cut in [*splits, len(body)]:
            decoder.feed(body[last:cut])
            last = cut
    return bytes(out), decoder.close()


BODIES = {
    "afas-order": json.dumps(
        {"filename": "a_b.pdf", "mimetype": "application/pdf", "filedata": B64}
    ),
    "filedata-first": json.dumps({"filedata": B64, "mimetype": "image/png"}),
    "escaped-slashes": '{"filename":"x","filedata":"' + B64.replace("/", "\\/") + '"}',
    "unicode-escapes": '{"filedata":"' + B64.replace("+", "\\u002B").replace("/", "\\u002f") + '"}',
    "escaped-line-breaks": (
        '{"filedata":"' + "\\r\\n".join(B64[i : i + 76] for i in range(0, len(B64), 76)) + '"}'
    ),
    "whitespace-and-extra-keys": (
        '\n{ "mimetype" : "text/plain" ,\t"extra": [1, {"a": "}\\""}, null], "n": -1.5e3,'
        ' "ok": true, "filedata" : "' + B64 + '" , "filename": "caf\\u00e9" }\n '
    ),
    "upper-case-keys": json.dumps({"FileName": "x", "FILEDATA": B64}),
}  # fmt: skip


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 4096, None], ids=lambda c: f"chunk-{c}")
def test_decoder_reads_any_body_in_any_chunks(body: str, chunk: int | None) -> None:
    data, document = _decode(body.encode(), chunk)
    assert data == RAW
    assert document.size == len(RAW)
    assert document.sha256 == hashlib.sha256(RAW).hexdigest()


def test_decoder_is_split_at_every_position_of_the_escapes() -> None:
    raw = RAW[:300]
    text = base64.b64encode(raw).decode()
    text = text.replace("/", "\\/").replace("+", "\\u002B")
    text = "\\r\\n".join(text[i : i + 60] for i in range(0, len(text), 60))
    body = ('{"filedata":"' + text + '"}').encode()
    assert b"\\/" in body
    assert b"\\u002B" in body
    for cut in range(1, len(body)):
        data, _ = _decode(body, splits=[cut])
        assert data == raw, cut


def test_decoder_names_and_empty_files() -> None:
    _, document = _decode(BODIES["whitespace-and-extra-keys"].encode(), 3)
    assert (document.filename, document.mimetype) == ("café", "text/plain")
    for body in (b'{"filedata":"","filename":"e"}', b'{"filedata":null,"filename":"e"}'):
        data, document = _decode(body, 1)
        assert (data, document.size, document.filename) == (b"", 0, "e")
        assert document.sha256 == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"ended inside its JSON object \(start\)"),
        (b'{"filedata":"AAAA', r"ended inside its JSON object \(filedata\)"),
        (b'{"filedata":"AAAA"', r"ended inside its JSON object \(after value\)"),
        (b'{"filedata":"AAA"}', r"not a multiple of 4"),
        (b'{"filedata":"AA=A"}', r"padding inside it"),
        (b'{"filedata":"AA==AAAA"}', r"padding"),
        (b'{"filedata":"AA\\"A"}', r"escaped quote"),
        (b'{"filedata":"A*AA"}', r"is not Base64"),
        (b'{"filedata":"AA\\u00e9A"}', r"non-ASCII"),
        (b'{"filedata":"AA\\qA"}', r"malformed JSON escape"),
        (b"[1]", r"'\[' where '\{' belongs"),
        (b'{"filedata":"AAAA"} x', r"goes on after its JSON object"),
        (b'{"filename":"x"}', r"has no 'filedata'"),
        (b'{"filedata":"AAAA","filedata":"AAAA"}', r"'filedata' twice"),
        (b'{"filedata":12}', r"neither a string nor null"),
        (b"<html><body>500</body></html>", r"'<' where '\{' belongs"),
    ],
    ids=[
        "empty",
        "cut-in-data",
        "cut-after-data",
        "short-base64",
        "padding-inside",
        "data-after-padding",
        "escaped-quote",
        "not-base64",
        "non-ascii",
        "bad-escape",
        "array",
        "trailing-garbage",
        "no-filedata",
        "filedata-twice",
        "number-filedata",
        "html",
    ],
)
def test_decoder_refuses_what_is_not_a_complete_file_document(body: bytes, message: str) -> None:
    with pytest.raises(FileBodyError, match=message):
        _decode(body, 2)


def test_decoder_limit_stops_at_once() -> None:
    written: list[int] = []
    decoder = FileDocumentDecoder(lambda b: written.append(len(b)), limit=5_000)
    body = BODIES["afas-order"].encode()
    chunks = [body[i : i + 1024] for i in range(0, len(body), 1024)]

    def feed_all() -> None:
        for chunk in chunks:
            decoder.feed(chunk)

    with pytest.raises(FileTooLargeError, match="larger than 5000 bytes"):
        feed_all()
    assert sum(written) <= 5_000


# --------------------------------------------------------------------------- download


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(afas_sandbox: RunningSandbox, sleeps: list[float]) -> Iterator[ProfitClient]:
    environment = ProfitEnvironment.from_config(
        {"api_url": afas_sandbox.base_url, "token": afas_sandbox.tokens.full.xml}
    )
    client = ProfitClient(environment, retry=RetryPolicy(max_tries=3), sleep=sleeps.append)
    yield client
    client.close()


def _decoded(chunks: Iterable[bytes]) -> tuple[bytes, FileDocument]:
    out = bytearray()
    decoder = FileDocumentDecoder(out.extend)
    for chunk in chunks:
        decoder.feed(chunk)
    return bytes(out), decoder.close()


DEMO = DEMO_FILES[1]  # Offerte_2026_v2.pdf


def test_download_streams_a_file(client: ProfitClient, sleeps: list[float]) -> None:
    data, document = client.download(
        file_connector_path(DEMO.file_id, DEMO.file_name), "FileConnector", _decoded
    )
    assert document.filename == DEMO.file_name
    assert len(data) == DEMO.size_bytes == document.size
    assert data.startswith(b"%PDF-1.4")
    assert sleeps == []


def test_download_404_is_not_found(client: ProfitClient, sleeps: list[float]) -> None:
    with pytest.raises(AFASNotFoundError, match=r"^x: AFAS answered 404: the file does not exist"):
        client.download(file_connector_path(DEMO.file_id, "wrong.pdf"), "x", _decoded)
    assert sleeps == []


def test_download_retries_a_cut_off_body_and_a_503(
    afas_sandbox: RunningSandbox, client: ProfitClient, sleeps: list[float]
) -> None:
    afas_sandbox.faults.add(kind="truncate", connector="FileConnector", times=1)
    afas_sandbox.faults.add(status=503, connector="FileConnector", times=1, retry_after=2)
    data, document = client.download(
        file_connector_path(DEMO.file_id, DEMO.file_name), "FileConnector", _decoded
    )
    assert document.size == DEMO.size_bytes == len(data)
    assert sorted(sleeps) == [1.0, 2.0]


def test_download_gives_up_after_its_tries_and_stops_at_auth_errors(
    afas_sandbox: RunningSandbox, client: ProfitClient, sleeps: list[float]
) -> None:
    path = file_connector_path(DEMO.file_id, DEMO.file_name)
    afas_sandbox.faults.add(kind="truncate", connector="FileConnector")
    with pytest.raises(AFASServerError, match=r"failed after 3 attempts: the answer broke off"):
        client.download(path, "FileConnector", _decoded)
    afas_sandbox.faults.clear()
    afas_sandbox.faults.add(status=401, connector="FileConnector")
    with pytest.raises(AFASAuthError, match="refused the token"):
        client.download(path, "FileConnector", _decoded)
    assert len(sleeps) == 2


def test_download_retries_an_answer_that_is_no_file_document(
    afas_sandbox: RunningSandbox, client: ProfitClient, sleeps: list[float]
) -> None:
    calls: list[int] = []

    def picky(chunks: Iterable[bytes]) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise FileBodyError("not what was expected")
        return sum(len(c) for c in chunks)

    size = client.download(file_connector_path(DEMO.file_id, DEMO.file_name), "x", picky)
    assert size > DEMO.size_bytes
    assert len(calls) == 2
    assert sleeps == [1.0]


def test_download_never_shows_the_token(
    afas_sandbox: RunningSandbox, client: ProfitClient, caplog: pytest.LogCaptureFixture
) -> None:
    afas_sandbox.faults.add(status=500, connector="FileConnector", body="html")
    with pytest.raises(AFASServerError) as raised:
        client.download(file_connector_path(DEMO.file_id, DEMO.file_name), "x", _decoded)
    token = afas_sandbox.tokens.full
    for secret in (token.xml, token.data, token.header):
        assert secret not in str(raised.value)
        assert secret not in caplog.text
