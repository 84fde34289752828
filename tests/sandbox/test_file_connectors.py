"""Sandbox layer: the file connectors (afas-rest-api.md section 8) over real HTTP, with plain
``requests`` (never ``afas_profit``).

FileConnector: the original name with ``_`` as ``_5f`` (a bare ``_`` finds nothing), 404 for a
wrong GUID or name. SubjectConnector: the demo files of their dossier item, the dataset's own
attachments as before. ImageConnector: three formats, ``{"filedata","mimetype"}``.
ReportConnector: filters reach the report; a report with an initial screen is a 500.
The large demo file is made while it is sent (``--file-mb``), with its Content-Length.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests

from afas_sandbox import RunningSandbox, start_sandbox
from afas_sandbox.cli import build_parser, main
from afas_sandbox.datasets.demo.files import (
    DEMO_FILES,
    DEMO_IMAGES,
    DEMO_REPORTS,
    LARGE_FILE_ID,
    StoredFile,
    file_chunks,
)
from afas_sandbox.inputs import SandboxInputError
from afas_sandbox.sandbox import SimRequest
from tests.support.sandbox_reading import RawClient

SMALL = [f for f in DEMO_FILES if f.size_bytes is not None]


def _fc(file_id: str, name: str) -> str:
    return f"/fileconnector/{file_id}/" + quote(name.replace("_", "_5f"), safe="")


def _expected(file_id: str, name: str, mime: str, size: int) -> bytes:
    return b"".join(file_chunks(StoredFile(file_id, name, mime, size)))


def _data(response: requests.Response) -> bytes:
    assert response.status_code == 200, response.text[:200]
    return base64.b64decode(response.json()["filedata"], validate=True)


@pytest.mark.parametrize("demo", SMALL, ids=[f.file_name for f in SMALL])
def test_file_connector_serves_each_demo_file_by_its_original_name(
    client: RawClient, demo: Any
) -> None:
    response = client.get(_fc(demo.file_id, demo.file_name))
    assert list(response.json()) == ["filename", "mimetype", "filedata"]
    assert response.json()["filename"] == demo.file_name
    assert response.json()["mimetype"] == demo.mime_type
    data = _data(response)
    assert len(data) == demo.size_bytes
    assert data == _expected(demo.file_id, demo.file_name, demo.mime_type, demo.size_bytes)
    by_subject = client.get(f"/SubjectConnector/{demo.sb_id}/{demo.file_id}")
    assert by_subject.content == response.content


@pytest.mark.parametrize(
    "path",
    [
        f"/fileconnector/{DEMO_FILES[1].file_id}/Offerte_2026_v2.pdf",  # bare _
        f"/fileconnector/{DEMO_FILES[1].file_id}/offerte_5f2026_5fv2.pdf",  # other case
        f"/fileconnector/{DEMO_FILES[1].file_id}/Offerte_5f2026_5fv2.pd",
        "/fileconnector/00000000000000000000000000000000/Offerte_5f2026_5fv2.pdf",
        f"/fileconnector/{DEMO_FILES[4].file_id}/caf%C3%A9%20menu.txt",  # composed, not as stored
        f"/fileconnector/{DEMO_FILES[1].file_id}",
        f"/SubjectConnector/99/{DEMO_FILES[1].file_id}",  # another dossier item
        "/ImageConnector/999",
        "/ImageConnector/abc",
        "/reportconnector/00000000000000000000000000000000",
    ],
    ids=[
        "bare-underscore",
        "other-case",
        "other-name",
        "unknown-guid",
        "composed-accent",
        "no-name",
        "other-subject",
        "unknown-image",
        "image-not-a-number",
        "unknown-report",
    ],
)
def test_what_does_not_exist_is_a_404(client: RawClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "404" in response.text


def test_the_dataset_attachments_are_still_served(client: RawClient) -> None:
    row = client.all_rows("Profit_Subject_Attachments")[0]
    response = client.get(f"/SubjectConnector/{row['subject_id']}/{row['file_id']}")
    assert response.json()["filename"] == row["file_name"]
    assert _data(response)


def test_listings_have_a_modified_date(client: RawClient) -> None:
    files = client.all_rows("Profit_Subject_Files", orderbyfieldids="FileId")
    assert sorted(r["FileId"] for r in files) == sorted(f.file_id for f in DEMO_FILES)
    assert {r["FileName"] for r in files} >= {"../../etc/passwd", "CON", "Offerte_2026_v2.pdf"}
    assert all(r["LastModified"].endswith("Z") for r in files)
    meta = client.get("/metainfo/get/Profit_Subject_Files").json()
    assert meta["fields"][-1]["id"] == "LastModified"
    assert meta["fields"][-1]["controlType"] == 8
    images = client.all_rows("Profit_Images")
    assert sorted(r["ImageId"] for r in images) == [i[0] for i in DEMO_IMAGES]


@pytest.mark.parametrize(("image_format", "share"), [(0, 1.0), (1, 0.05), (2, 0.3)])
def test_image_connector_formats(client: RawClient, image_format: int, share: float) -> None:
    image_id, _, mime, size, _ = DEMO_IMAGES[1]
    response = client.get(f"/ImageConnector/{image_id}", {"format": image_format})
    assert list(response.json()) == ["filedata", "mimetype"]
    assert response.json()["mimetype"] == mime
    assert len(_data(response)) == int(size * share)


def test_image_connector_without_format_is_the_original(client: RawClient) -> None:
    image_id, _, _, size, _ = DEMO_IMAGES[0]
    assert len(_data(client.get(f"/ImageConnector/{image_id}"))) == size
    wrong = client.get(f"/ImageConnector/{image_id}", {"format": 7})
    assert wrong.status_code == 500
    assert wrong.json()["externalMessage"] == "An unexpected error has occurred."


def test_report_connector_runs_with_its_filters(client: RawClient) -> None:
    report = DEMO_REPORTS[0]
    plain = client.get(f"/reportconnector/{report.report_id}")
    assert list(plain.json()) == ["filedata", "mimetype"]
    assert plain.json()["mimetype"] == "application/pdf"
    assert b"filters: (none)" in _data(plain)
    filtered = client.get(
        f"/reportconnector/{report.report_id}",
        {"filterfieldids": "Jaar,Maand", "filtervalues": "2025,3", "operatortypes": "1,2"},
    )
    assert b"filters: Jaar,Maand 1,2 2025,3" in _data(filtered)
    lopsided = client.get(
        f"/reportconnector/{report.report_id}",
        {"filterfieldids": "Jaar,Maand", "filtervalues": "2025", "operatortypes": "1"},
    )
    assert lopsided.status_code == 500


def test_a_report_with_an_initial_screen_cannot_run(client: RawClient) -> None:
    report = next(r for r in DEMO_REPORTS if r.pre_screen)
    response = client.get(f"/reportconnector/{report.report_id}")
    assert response.status_code == 500
    assert "voorscherm" in response.json()["externalMessage"]
    assert len(response.json()["profitLogReference"]) == 32


def test_the_large_file_is_made_while_it_is_sent(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory(file_mb=3)
    large = next(f for f in DEMO_FILES if f.file_id == LARGE_FILE_ID)
    core = sandbox.core.handle(
        SimRequest(
            "GET",
            f"/ProfitRestServices/SubjectConnector/{large.sb_id}/{large.file_id}",
            headers={"Authorization": sandbox.tokens.full.header},
        )
    )
    assert core.body == b""
    assert core.chunks is not None
    raw = RawClient(sandbox, sandbox.tokens.full.header)
    response = raw.get(_fc(large.file_id, large.file_name), stream=True)
    body = response.content
    raw.close()
    assert int(response.headers["Content-Length"]) == len(body)
    document = json.loads(body)
    data = base64.b64decode(document["filedata"])
    assert len(data) == 3 << 20
    expected = hashlib.sha256()
    for piece in file_chunks(StoredFile(large.file_id, large.file_name, large.mime_type, 3 << 20)):
        expected.update(piece)
    assert hashlib.sha256(data).hexdigest() == expected.hexdigest()
    assert data.startswith(b"PK\x03\x04")


def test_faults_can_aim_at_a_file_connector(afas_sandbox: RunningSandbox, api: RawClient) -> None:
    afas_sandbox.faults.add(status=503, connector="FileConnector", times=1)
    demo = DEMO_FILES[0]
    assert api.get(_fc(demo.file_id, demo.file_name)).status_code == 503
    assert api.get(_fc(demo.file_id, demo.file_name)).status_code == 200
    assert api.get("/connectors/Profit_Images").status_code == 200


def test_file_mb_is_checked() -> None:
    assert build_parser().parse_args(["serve", "--file-mb", "50"]).file_mb == 50.0
    assert build_parser().parse_args(["serve"]).file_mb == 1.0
    with pytest.raises(SandboxInputError, match=r"file_mb must be from 0 to 4096, got -1"):
        start_sandbox(file_mb=-1)


@pytest.mark.parametrize("value", ["abc", "-1", "5000", "nan"])
def test_file_mb_flag_refuses_nonsense(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--file-mb", value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"argument --file-mb: {value!r} is not megabytes from 0 to 4096" in err
