"""Tap layer: the file streams (``files``, ``images``, ``reports``) against the sandbox.

The truth is the sandbox's own answer to the same file URL, fetched with plain ``requests`` and
Base64-decoded here. Checked: every listed file lands in the directory with the sandbox's bytes
and a record; a second sync downloads and emits nothing; names from AFAS cannot leave the
directory or overwrite each other; a 404 is one WARNING and is retried by the next sync; a
cut-off answer is fetched again; a lost manifest means downloading again; ``inline`` refuses,
never truncates, a file over its limit; downloads run in parallel within
``max_parallel_requests``; fsspec URLs (``memory://``) work like folders.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fsspec  # type: ignore[import-untyped]  # fsspec ships no type information
import pytest

from afas_sandbox import RunningSandbox
from afas_sandbox.datasets.demo.files import DEMO_FILES, DEMO_REPORTS, DemoFile, add_file
from afas_sandbox.sandbox import SimRequest
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.tap_runs import TapRun, discovery_error, run_tap, tap_config

LISTING = "Profit_Subject_Files"
MANIFEST = ".tap-afas/file_connector_files.manifest.json"


def files_config(sandbox: RunningSandbox, directory: Path | str, **files: Any) -> dict[str, Any]:
    return tap_config(
        sandbox,
        connectors=["Profit_Administrations"],
        files={"directory": str(directory), **files},
    )


def only_file_connector(sandbox: RunningSandbox, directory: Path | str, **extra: Any) -> Any:
    """Config for the FileConnector stream over the dated demo listing alone."""
    return {**files_config(sandbox, directory, connector=None, file_connector=LISTING), **extra}


def sandbox_bytes(reader: SandboxReader, path: str) -> bytes:
    """What the sandbox answers for a file URL, decoded here."""
    response = reader.session.get(reader.sandbox.base_url + path, timeout=30)
    assert response.status_code == 200, (path, response.status_code)
    return base64.b64decode(json.loads(response.content)["filedata"], validate=True)


def fc_path(demo: DemoFile) -> str:
    return f"/fileconnector/{demo.file_id}/" + quote(demo.file_name.replace("_", "_5f"), safe="")


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def file_requests(recorder: RequestRecorder, head: str) -> int:
    return sum(1 for s in recorder.seen if s.path.lower().split("/")[2:3] == [head.lower()])


def warnings(run: TapRun) -> list[str]:
    return [line for line in run.log.splitlines() if line.startswith("WARNING")]


# --------------------------------------------------------------------------- subject_files


def test_every_listed_attachment_is_downloaded_once(
    afas_sandbox: RunningSandbox,
    reader: SandboxReader,
    recorder: RequestRecorder,
    tmp_path: Path,
) -> None:
    root = tmp_path / "files"
    config = files_config(afas_sandbox, root)
    run = run_tap(config)
    listing = reader.all_rows("Profit_Subject_Attachments")
    records = run.records("subject_files")
    assert len(records) == len(listing) == 150
    by_key = {(r["subject_id"], r["file_id"]): r for r in records}
    assert len(by_key) == len(records)
    for row in listing:
        record = by_key[(row["subject_id"], row["file_id"])]
        truth = sandbox_bytes(reader, f"/SubjectConnector/{row['subject_id']}/{row['file_id']}")
        written = (root / record["path"]).read_bytes()
        assert written == truth
        assert record["sha256"] == hashlib.sha256(truth).hexdigest()
        assert record["size"] == len(truth)
        assert record["file_name"] == row["file_name"]
        assert record["path"] == (
            f"subject_files/{row['subject_id']}/{row['file_id']}-{row['file_name']}"
        )
        assert record["mime_type"] in ("application/pdf", "text/plain", "image/png")
    assert run.schemas["subject_files"]["key_properties"] == ["subject_id", "file_id"]
    assert files_under(root) == {r["path"] for r in records} | {
        ".tap-afas/subject_files.manifest.json"
    }
    token = afas_sandbox.tokens.full
    assert token.data not in run.log
    assert token.header not in run.log

    before = file_requests(recorder, "SubjectConnector")
    again = run_tap(config, run.state)
    assert again.records("subject_files") == []
    assert file_requests(recorder, "SubjectConnector") == before
    assert "subject_files: 0 files downloaded" in again.log


def test_names_from_afas_stay_inside_the_directory(
    afas_sandbox: RunningSandbox, reader: SandboxReader, tmp_path: Path
) -> None:
    root = tmp_path / "inside" / "files"
    run = run_tap(files_config(afas_sandbox, root, connector=LISTING, file_connector=LISTING))
    assert files_under(tmp_path) == {f"inside/files/{p}" for p in files_under(root)}
    for stream in ("subject_files", "file_connector_files"):
        records = run.records(stream)
        assert sorted(r["file_id"] for r in records) == sorted(f.file_id for f in DEMO_FILES)
        for record in records:
            demo = next(f for f in DEMO_FILES if f.file_id == record["file_id"])
            assert record["file_name"] == demo.file_name  # the original, as AFAS has it
            assert (root / record["path"]).resolve().is_relative_to(root.resolve())
            assert (root / record["path"]).read_bytes() == sandbox_bytes(reader, fc_path(demo))
    paths = {r["file_name"]: r["path"] for r in run.records("subject_files")}
    assert paths["../../etc/passwd"].endswith("-.._.._etc_passwd")
    assert paths["cafe\u0301 menu.txt"].endswith("-caf\u00e9 menu.txt")
    notes = [r for r in run.records("subject_files") if r["file_name"] == "notitie.txt"]
    assert len(notes) == 2
    assert len({r["path"] for r in notes}) == 2
    assert len({(root / r["path"]).read_bytes() for r in notes}) == 2


# --------------------------------------------------------------------------- incremental


def test_a_dated_listing_is_incremental_on_its_modified_date(
    afas_sandbox: RunningSandbox, recorder: RequestRecorder, tmp_path: Path
) -> None:
    config = only_file_connector(afas_sandbox, tmp_path)
    first = run_tap(config)
    records = first.records("file_connector_files")
    assert len(records) == len(DEMO_FILES)
    assert [r["modified"] for r in records] == sorted(r["modified"] for r in records)
    bookmark = first.state["bookmarks"]["file_connector_files"]
    assert bookmark["replication_key"] == "modified"
    assert bookmark["replication_key_value"] == "2025-07-01T05:30:00+00:00"
    assert not any("unsorted" in line for line in warnings(first))

    new = DemoFile("0123456789ABCDEF0123456789ABCDEF", 9, "nieuw_bestand.txt", "text/plain", 99,
                   "2025-08-01T10:00:00.000000")  # fmt: skip
    with afas_sandbox.store.transaction() as conn:
        add_file(conn, new)
    seen = len(recorder.seen)
    second = run_tap(config, first.state)
    assert [r["file_id"] for r in second.records("file_connector_files")] == [new.file_id]
    assert second.records("file_connector_files")[0]["modified"] == "2025-08-01T08:00:00+00:00"
    listing = [s for s in recorder.seen[seen:] if s.connector == LISTING]
    assert listing
    assert all("LastModified" in s.params.get("filterfieldids", "") for s in listing)
    assert all("2025-07-01T07:29:59" in s.params["filtervalues"] for s in listing)


def test_a_lost_manifest_means_downloading_again(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = only_file_connector(afas_sandbox, tmp_path)
    first = run_tap(config)
    (tmp_path / MANIFEST).unlink()
    again = run_tap(config, first.state)
    assert "no manifest of earlier downloads" in again.log
    before = {r["file_id"]: r["sha256"] for r in first.records("file_connector_files")}
    after = {r["file_id"]: r["sha256"] for r in again.records("file_connector_files")}
    assert after == before
    assert run_tap(config, again.state).records("file_connector_files") == []


# --------------------------------------------------------------------------- failures


def test_a_404_warns_goes_on_and_is_retried_next_sync(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = only_file_connector(afas_sandbox, tmp_path)
    afas_sandbox.faults.add(status=404, connector="FileConnector", times=1)
    first = run_tap(config)
    downloaded = {r["file_id"] for r in first.records("file_connector_files")}
    assert len(downloaded) == len(DEMO_FILES) - 1
    missing = next(f for f in DEMO_FILES if f.file_id not in downloaded)
    (line,) = [w for w in warnings(first) if "404" in w]
    assert f"file {missing.file_name!r} (GUID {missing.file_id})" in line
    assert line.endswith("It is tried again on the next sync.")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert list(manifest["pending"]) == [missing.file_id]

    second = run_tap(config, first.state)
    assert [r["file_id"] for r in second.records("file_connector_files")] == [missing.file_id]
    assert json.loads((tmp_path / MANIFEST).read_text())["pending"] == {}
    assert warnings(second) == []
    bookmark = second.state["bookmarks"]["file_connector_files"]["replication_key_value"]
    assert bookmark == first.state["bookmarks"]["file_connector_files"]["replication_key_value"]


def test_a_cut_off_answer_is_fetched_again(
    afas_sandbox: RunningSandbox, reader: SandboxReader, tmp_path: Path
) -> None:
    afas_sandbox.faults.add(kind="truncate", connector="FileConnector", times=1)
    run = run_tap(only_file_connector(afas_sandbox, tmp_path))
    for record in run.records("file_connector_files"):
        demo = next(f for f in DEMO_FILES if f.file_id == record["file_id"])
        assert (tmp_path / record["path"]).read_bytes() == sandbox_bytes(reader, fc_path(demo))
    assert len(run.records("file_connector_files")) == len(DEMO_FILES)
    (retry,) = [w for w in warnings(run) if "attempt 1 of" in w]
    assert "the answer broke off" in retry
    assert list((tmp_path / ".tap-afas" / "partial").iterdir()) == []


def test_an_error_that_is_not_a_404_stops_the_sync(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    report = next(r for r in DEMO_REPORTS if r.pre_screen)
    config = files_config(afas_sandbox, tmp_path, connector=None)
    config["reports"] = [{"id": report.report_id}]
    run = run_tap(config, expect_error=True)
    assert "voorscherm" in run.error_text
    assert f"report '{report.report_id}'" in run.error_text


# --------------------------------------------------------------------------- where files go


def test_a_folder_that_cannot_be_made_is_one_clear_error(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = only_file_connector(afas_sandbox, blocker / "files")
    assert not (blocker / "files").exists()
    run = run_tap(config, expect_error=True)
    assert run.error_text.startswith("AFASConfigError: Setting 'files.directory' is ")
    assert "cannot be created or written" in run.error_text


def test_an_fsspec_url_works_like_a_folder(
    afas_sandbox: RunningSandbox, reader: SandboxReader
) -> None:
    location = f"memory://tap-afas-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    try:
        config = only_file_connector(afas_sandbox, location)
        run = run_tap(config)
        for record in run.records("file_connector_files"):
            demo = next(f for f in DEMO_FILES if f.file_id == record["file_id"])
            with fs.open(f"{location}/{record['path']}", "rb") as handle:
                assert handle.read() == sandbox_bytes(reader, fc_path(demo))
        assert fs.exists(f"{location}/{MANIFEST}")
        assert run_tap(config, run.state).records("file_connector_files") == []
    finally:
        fs.rm(location.removeprefix("memory://"), recursive=True)


def test_inline_content_has_a_limit_and_is_never_cut(
    afas_sandbox: RunningSandbox, reader: SandboxReader
) -> None:
    config = tap_config(
        afas_sandbox,
        connectors=["Profit_Administrations"],
        files={
            "inline": True,
            "max_inline_bytes": 100_000,
            "connector": None,
            "file_connector": LISTING,
        },
    )
    run = run_tap(config)
    records = run.records("file_connector_files")
    small = [f for f in DEMO_FILES if f.size_bytes is not None and f.size_bytes <= 100_000]
    assert sorted(r["file_id"] for r in records) == sorted(f.file_id for f in small)
    for record in records:
        demo = next(f for f in DEMO_FILES if f.file_id == record["file_id"])
        assert base64.b64decode(record["content_base64"]) == sandbox_bytes(reader, fc_path(demo))
        assert record["path"] is None
    refused = [w for w in warnings(run) if "max_inline_bytes" in w]
    big = [f for f in DEMO_FILES if f not in small]
    assert len(refused) == len(big) == 3
    for demo in big:
        assert any(f"file {demo.file_name!r}" in w and "never truncated" in w for w in refused)
    state = run.state["bookmarks"]["file_connector_files"]["afas_files"]
    assert sorted(state["files"]) == sorted(f.file_id for f in small)
    again = run_tap(config, run.state)
    assert again.records("file_connector_files") == []
    assert len([w for w in warnings(again) if "max_inline_bytes" in w]) == 3


# --------------------------------------------------------------------------- parallel


def test_downloads_run_in_parallel_within_the_limit(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    core = afas_sandbox.core
    original = core.handle
    lock = threading.Lock()
    now = {"in_flight": 0, "most": 0}

    def slow_files(request: SimRequest) -> Any:
        if "/fileconnector/" not in request.path.lower():
            return original(request)
        with lock:
            now["in_flight"] += 1
            now["most"] = max(now["most"], now["in_flight"])
        try:
            time.sleep(0.1)
            return original(request)
        finally:
            with lock:
                now["in_flight"] -= 1

    core.handle = slow_files  # type: ignore[method-assign]
    run = run_tap(only_file_connector(afas_sandbox, tmp_path, max_parallel_requests=3))
    assert len(run.records("file_connector_files")) == len(DEMO_FILES)
    assert now["most"] == 3


# --------------------------------------------------------------------------- images, reports


def test_images_and_reports(afas_sandbox: RunningSandbox, tmp_path: Path) -> None:
    report = DEMO_REPORTS[0]
    config = files_config(
        afas_sandbox,
        tmp_path,
        connector=None,
    )
    config["images"] = {"connector": "Profit_Images", "format": "medium"}
    config["reports"] = [
        {"id": report.report_id, "name": "uren 2025", "filters": [
            {"field": "Jaar", "operator": "=", "value": "2025"}]},
    ]  # fmt: skip
    run = run_tap(config)
    images = run.records("images")
    assert sorted((r["image_id"], r["format"]) for r in images) == [
        (101, "medium"),
        (102, "medium"),
        (103, "medium"),
    ]
    assert {r["path"] for r in images} == {
        "images/101-medium.png",
        "images/102-medium.jpg",
        "images/103-medium.jpg",
    }
    (saved,) = run.records("reports")
    assert saved["report_name"] == "uren 2025"
    assert saved["filters"] == "filterfieldids=Jaar&filtervalues=2025&operatortypes=1"
    assert saved["path"].startswith("reports/uren 2025/")
    assert saved["path"].endswith(f"-{saved['sha256'][:12]}.pdf")
    assert b"filters: Jaar 1 2025" in (tmp_path / saved["path"]).read_bytes()
    again = run_tap(config, run.state)
    assert again.records("reports") == []
    assert again.records("images") == []
    assert "reports: 0 files downloaded, 1 unchanged" in again.log


# --------------------------------------------------------------------------- settings


@pytest.fixture
def refused(afas_sandbox: RunningSandbox) -> Callable[..., str]:
    def message(**settings: Any) -> str:
        return discovery_error(
            tap_config(afas_sandbox, connectors=["Profit_Administrations"], **settings)
        )

    return message


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"files": {"connector": None}}, "needs 'directory'"),
        ({"files": {"directory": "x", "diretory": "y"}}, "unknown key 'diretory'"),
        ({"images": {"connector": "Profit_Images"}}, "need the 'files' setting"),
        ({"files": {"directory": "x", "connector": "Profit_Nope"}}, "'Profit_Nope', which this"),
        (
            {"files": {"directory": "x", "fields": {"file_id": "Nope"}}},
            "'files.fields.file_id' is 'Nope', not a field",
        ),
        (
            {"files": {"directory": "x", "file_connector": LISTING,
                       "file_connector_fields": {"modified": "FileName"}}},
            "not a date-time field",
        ),
        ({"files": {"directory": "x"}, "images": {"fields": {}}}, "needs 'connector'"),
        ({"files": {"directory": "nope://x"}}, "which fsspec cannot open"),
        ({"files": {"directory": "s3://bucket/x"}}, "pip install s3fs"),
    ],
    ids=[
        "no-directory",
        "typo",
        "images-without-files",
        "unknown-listing",
        "wrong-field",
        "modified-not-a-date",
        "images-without-connector",
        "unknown-protocol",
        "missing-fsspec-package",
    ],
)  # fmt: skip
def test_settings_are_checked(
    refused: Callable[..., str], settings: dict[str, Any], says: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert says in refused(**settings)
