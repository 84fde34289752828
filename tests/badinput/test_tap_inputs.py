"""Bad-input layer: every bad config, catalog and state file ends ``tap-afas`` with one line.

Each case runs the venv's ``tap-afas`` console script as a subprocess against one sandbox
shared by the module (nothing here changes it). See tests/badinput/cases.py for what every
refusal must look like. The control test runs the same good config to show that each case is
refused because of its one bad value.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.badinput.cases import (
    A_FOLDER,
    DROP,
    MISSING,
    NOT_GIVEN,
    Case,
    Ctx,
    Patch,
    Raw,
    Run,
    Script,
    b64,
    check_refused,
    data,
    in_folder,
    params,
    run_case,
    run_cases,
    selected_cases,
    under_file,
    xml,
)

STREAM = "profit_persons"
LO = "2026-01-01T00:00:00"


def good_config(ctx: Ctx) -> dict[str, Any]:
    return {"api_url": ctx.sandbox.base_url, "token": ctx.xml, "connectors": ["Profit_Persons"]}


SCRIPT = Script("tap-afas", "TAP_AFAS_LOGLEVEL", good_config)


def bookmark(**values: Any) -> dict[str, Any]:
    return {"bookmarks": {STREAM: {"replication_key": "ModifiedDate", **values}}}


def progress(**values: Any) -> dict[str, Any]:
    return bookmark(afas_progress={"lo": LO, "seen": {}, **values})


def catalog_with(entry: Any) -> dict[str, Any]:
    return {"streams": [entry]}


GOOD_ENTRY: dict[str, Any] = {
    "tap_stream_id": STREAM,
    "stream": STREAM,
    "schema": {"type": "object", "properties": {}},
    "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
}

CONFIG_FILES = [
    Case("config-file-missing", "config", config=MISSING),
    Case("config-option-missing", "--config", config=NOT_GIVEN),
    Case("config-option-missing-discover", "token", config=NOT_GIVEN, args=("--discover",)),
    Case("config-not-json", "not JSON", config=Raw(b'{"token": ')),
    Case("config-empty-file", "not JSON", config=Raw(b"")),
    Case("config-json-array", "JSON object", config=[]),
    Case("config-json-string", "JSON object", config="token"),
    Case("config-json-null", "JSON object", config=Raw(b"null")),
    Case("config-not-utf8", "UTF-8", config=Raw(b'{"token": "\xff\xfe"}')),
    Case("config-is-a-folder", "config", config=A_FOLDER),
]

TOKENS = [
    Case("token-missing", "token", config=Patch({"token": DROP})),
    Case("token-empty", "token", config=Patch({"token": ""})),
    Case("token-blank", "token", config=Patch({"token": "   "})),
    Case("token-in-list", "token", config=Patch({"token": [xml]})),
    Case("token-in-dict", "token", config=Patch({"token": {"value": xml}})),
    Case("token-nested", "token", config=Patch({"token": {"a": [{"b": [xml, data]}]}})),
    Case("token-data-in-list", "token", config=Patch({"token": [data]})),
    Case("token-base64-in-dict", "token", config=Patch({"token": {"b64": b64}})),
    Case("token-number", "token", config=Patch({"token": 1234567890123})),
    Case("token-bool", "token", config=Patch({"token": True})),
    Case("token-null", "token", config=Patch({"token": None})),
    Case("token-garbage", "token", config=Patch({"token": "not-a-token"})),
    Case(
        "token-xml-truncated",
        "token",
        config=Patch({"token": lambda c: c.xml[:-10]}),
    ),
    Case("token-data-too-short", "token", config=Patch({"token": lambda c: c.data[:60]})),
    Case("token-in-list-debug", "token", config=Patch({"token": [xml]}), level="DEBUG"),
    Case("token-in-dict-debug", "token", config=Patch({"token": {"v": b64}}), level="DEBUG"),
]

ENVIRONMENT = [
    Case("api-url-not-http", "api_url", config=Patch({"api_url": "ftp://example.com/x"})),
    Case("api-url-number", "api_url", config=Patch({"api_url": 8080})),
    Case(
        "no-environment",
        "environment_id",
        config=Patch({"api_url": DROP}),
    ),
    Case(
        "environment-id-letters",
        "environment_id",
        config=Patch({"api_url": DROP, "environment_id": "abcde"}),
    ),
    Case(
        "environment-type-unknown",
        "environment_type",
        config=Patch({"api_url": DROP, "environment_id": "12345", "environment_type": "staging"}),
    ),
    Case("environment-type-number", "environment_type", config=Patch({"environment_type": 1})),
    Case("integration-id-crlf", "integration_id", config=Patch({"integration_id": "1_2\r\nX: y"})),
    Case("integration-id-lf", "integration_id", config=Patch({"integration_id": "12345\n"})),
    Case("integration-id-non-ascii", "integration_id", config=Patch({"integration_id": "集成"})),
    Case("integration-id-list", "integration_id", config=Patch({"integration_id": ["1"]})),
    Case("accept-language-unknown", "accept_language", config=Patch({"accept_language": "xx"})),
    Case("request-timeout-zero", "request_timeout", config=Patch({"request_timeout": 0})),
    Case("request-timeout-negative", "request_timeout", config=Patch({"request_timeout": -5})),
    Case("request-timeout-text", "request_timeout", config=Patch({"request_timeout": "30"})),
    Case("request-timeout-huge", "request_timeout", config=Patch({"request_timeout": 10**12})),
]

SETTINGS = [
    Case("page-size-zero", "page_size", config=Patch({"page_size": 0})),
    Case(
        "page-size-zero-discover", "page_size", config=Patch({"page_size": 0}), args=("--discover",)
    ),
    Case(
        "page-size-negative-discover",
        "page_size",
        config=Patch({"page_size": -1}),
        args=("--discover",),
    ),
    Case("page-size-huge", "page_size", config=Patch({"page_size": 10**9})),
    Case(
        "page-size-huge-discover",
        "page_size",
        config=Patch({"page_size": 10**12}),
        args=("--discover",),
    ),
    Case("page-size-text", "page_size", config=Patch({"page_size": "100"})),
    Case("page-size-fraction", "page_size", config=Patch({"page_size": 100.5})),
    Case("timezone-unknown", "timezone", config=Patch({"timezone": "Mars/Olympus_Mons"})),
    Case("timezone-number", "timezone", config=Patch({"timezone": 1})),
    Case("timezone-path", "timezone", config=Patch({"timezone": "../../etc/passwd"})),
    Case("timezone-long", "timezone", config=Patch({"timezone": "A" * 300})),
    Case("start-date-words", "start_date", config=Patch({"start_date": "yesterday"})),
    Case("start-date-number", "start_date", config=Patch({"start_date": 2024})),
    Case("start-date-month-13", "start_date", config=Patch({"start_date": "2024-13-01T00:00:00Z"})),
    Case("start-date-year-1", "start_date", config=Patch({"start_date": "0001-01-01T00:00:00Z"})),
    Case("connectors-text", "connectors", config=Patch({"connectors": "Profit_Persons"})),
    Case("connectors-numbers", "connectors", config=Patch({"connectors": [1, 2]})),
    Case("connectors-empty-name", "connectors", config=Patch({"connectors": [""]})),
    Case("connectors-unknown", "Profit_Nope", config=Patch({"connectors": ["Profit_Nope"]})),
    Case(
        "connectors-unknown-discover",
        "Profit_Nope",
        config=Patch({"connectors": ["Profit_Nope"]}),
        args=("--discover",),
    ),
    Case(
        "exclude-connectors-text", "exclude_connectors", config=Patch({"exclude_connectors": "x"})
    ),
    Case("replication-keys-list", "replication_keys", config=Patch({"replication_keys": ["x"]})),
    Case(
        "replication-keys-number",
        "replication_keys",
        config=Patch({"replication_keys": {"Profit_Persons": 5}}),
    ),
    Case(
        "replication-keys-unknown-connector",
        "Profit_Nope",
        config=Patch({"replication_keys": {"Profit_Nope": "ModifiedDate"}}),
    ),
    Case(
        "replication-keys-unknown-field",
        "NoSuchField",
        config=Patch({"replication_keys": {"Profit_Persons": "NoSuchField"}}),
    ),
    Case(
        "primary-keys-text",
        "primary_keys",
        config=Patch({"primary_keys": {"Profit_Persons": "PersonId"}}),
    ),
    Case(
        "primary-keys-unknown-field",
        "NoSuchField",
        config=Patch({"primary_keys": {"Profit_Persons": ["NoSuchField"]}}),
    ),
    Case(
        "primary-keys-unknown-connector",
        "Profit_Nope",
        config=Patch({"primary_keys": {"Profit_Nope": ["Id"]}}),
    ),
    Case(
        "filters-not-a-list",
        "filters",
        config=Patch({"filters": {"Profit_Persons": {"field": "PersonId"}}}),
    ),
    Case(
        "filters-without-operator",
        "operator",
        config=Patch({"filters": {"Profit_Persons": [{"field": "PersonId"}]}}),
    ),
    Case(
        "filters-unknown-operator",
        "operator",
        config=Patch(
            {"filters": {"Profit_Persons": [{"field": "PersonId", "operator": "~~", "value": 1}]}}
        ),
    ),
    Case(
        "filters-operator-99",
        "operator",
        config=Patch(
            {"filters": {"Profit_Persons": [{"field": "PersonId", "operator": 99, "value": 1}]}}
        ),
    ),
    Case(
        "filters-unknown-field",
        "NoSuchField",
        config=Patch(
            {"filters": {"Profit_Persons": [{"field": "NoSuchField", "operator": "=", "value": 1}]}}
        ),
    ),
    Case(
        "filters-unknown-connector",
        "Profit_Nope",
        config=Patch({"filters": {"Profit_Nope": [{"field": "x", "operator": "=", "value": 1}]}}),
    ),
    Case(
        "deleted-records-log-text",
        "deleted_records_log",
        config=Patch({"deleted_records_log": "Profit_Deleted_Records"}),
    ),
    Case(
        "deleted-records-log-without-entities",
        "deleted_records_log",
        config=Patch({"deleted_records_log": {"connector": "Profit_Deleted_Records"}}),
    ),
    Case(
        "key-comparison-without-connectors",
        "key_comparison_deletes",
        config=Patch({"key_comparison_deletes": {"snapshot_dir": "snapshots"}}),
    ),
    Case(
        "key-comparison-connectors-text",
        "key_comparison_deletes",
        config=Patch({"key_comparison_deletes": {"connectors": "Profit_Persons"}}),
    ),
    Case(
        "key-comparison-snapshot-dir-unwritable",
        "snapshot_dir",
        config=Patch(
            {
                "key_comparison_deletes": {
                    "connectors": ["Profit_Persons"],
                    "snapshot_dir": under_file,
                }
            }
        ),
    ),
    Case(
        "key-comparison-snapshot-dir-is-a-file",
        "snapshot_dir",
        config=Patch(
            {
                "key_comparison_deletes": {
                    "connectors": ["Profit_Persons"],
                    "snapshot_dir": in_folder("blocker.txt"),
                }
            }
        ),
    ),
    Case("stream-maps-text", "stream_maps", config=Patch({"stream_maps": "none"})),
    Case(
        "flattening-enabled-text", "flattening_enabled", config=Patch({"flattening_enabled": "yes"})
    ),
]

CATALOGS = [
    Case("catalog-file-missing", "--catalog", catalog=MISSING),
    Case("catalog-not-json", "--catalog", catalog=Raw(b"{streams")),
    Case("catalog-not-utf8", "--catalog", catalog=Raw(b"\xff\xfe\x00")),
    Case("catalog-json-array", "--catalog", catalog=[]),
    Case("catalog-without-streams", "streams", catalog={}),
    Case("catalog-streams-object", "streams", catalog={"streams": {STREAM: GOOD_ENTRY}}),
    Case("catalog-stream-text", "streams", catalog=catalog_with(STREAM)),
    Case(
        "catalog-stream-without-id",
        "tap_stream_id",
        catalog=catalog_with({k: v for k, v in GOOD_ENTRY.items() if k != "tap_stream_id"}),
    ),
    Case("catalog-schema-text", "schema", catalog=catalog_with({**GOOD_ENTRY, "schema": "x"})),
    Case(
        "catalog-metadata-object", "metadata", catalog=catalog_with({**GOOD_ENTRY, "metadata": {}})
    ),
    Case(
        "catalog-metadata-breadcrumb-text",
        "breadcrumb",
        catalog=catalog_with(
            {**GOOD_ENTRY, "metadata": [{"breadcrumb": "properties", "metadata": {}}]}
        ),
    ),
    Case(
        "catalog-key-properties-text",
        "key_properties",
        catalog=catalog_with({**GOOD_ENTRY, "key_properties": "PersonId"}),
    ),
]

STATES = [
    Case("state-file-missing", "--state", state=MISSING),
    Case("state-not-json", "--state", state=Raw(b"{bookmarks")),
    Case("state-not-json-debug", "--state", state=Raw(b"{bookmarks"), level="DEBUG"),
    Case("state-progress-lo-number-debug", "afas_progress", state=progress(lo=1), level="DEBUG"),
    Case("state-not-utf8", "--state", state=Raw(b'{"bookmarks": "\xff"}')),
    Case("state-json-array", "--state", state=[]),
    Case("state-json-text", "--state", state="bookmarks"),
    Case("state-bookmarks-list", "bookmarks", state={"bookmarks": []}),
    Case("state-bookmark-text", "bookmarks", state={"bookmarks": {STREAM: "x"}}),
    Case("state-progress-text", "afas_progress", state=bookmark(afas_progress="x")),
    Case("state-progress-lo-words", "afas_progress", state=progress(lo="not a date")),
    Case("state-progress-lo-number", "afas_progress", state=progress(lo=20260101)),
    Case("state-progress-lo-missing", "afas_progress", state=bookmark(afas_progress={"seen": {}})),
    Case("state-progress-seen-list", "afas_progress", state=progress(seen=[])),
    Case(
        "state-progress-seen-count-text",
        "afas_progress",
        state=progress(seen={"2026-01-01T00:00:00": {"abc": "many"}}),
    ),
    Case(
        "state-progress-seen-count-negative",
        "afas_progress",
        state=progress(seen={"2026-01-01T00:00:00": {"abc": -1}}),
    ),
    Case(
        "state-progress-empty-pending-text",
        "afas_progress",
        state=progress(empty_pending="yes"),
    ),
    Case(
        "state-replication-key-value-words",
        "replication_key_value",
        state=bookmark(replication_key_value="yesterday"),
    ),
    Case(
        "state-replication-key-value-object",
        "replication_key_value",
        state=bookmark(replication_key_value={"at": 1}),
    ),
    Case(
        "state-deletes-progress-text",
        "afas_deletes_progress",
        state=bookmark(afas_deletes_progress=[1]),
    ),
]

CASES = [*CONFIG_FILES, *TOKENS, *ENVIRONMENT, *SETTINGS, *CATALOGS, *STATES]


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    shared_sandbox: RunningSandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("tap-bad-inputs")
    return run_cases(SCRIPT, selected_cases(request), shared_sandbox, root)


@pytest.mark.parametrize("case", params(CASES))
def test_a_bad_input_is_refused_in_one_line(case: Case, runs: dict[str, Run]) -> None:
    check_refused(runs[case.id])


def test_the_good_config_syncs(afas_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """The control: without its bad value, a case's config syncs (so each refusal is real)."""
    run = run_case(SCRIPT, Case("control", ""), afas_sandbox, tmp_path)
    assert run.returncode == 0, run
    assert '"type":"RECORD"' in run.stdout.replace(" ", "")
    assert "ERROR" not in run.stderr


def test_key_snapshots_are_readable_by_their_owner_only(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The key sets a run keeps for delete detection are customer data: mode 0600."""
    comparison = {"connectors": ["Profit_Persons"], "snapshot_dir": "snapshots"}
    case = Case("snapshots", "", config=Patch({"key_comparison_deletes": comparison}))
    run = run_case(SCRIPT, case, afas_sandbox, tmp_path)
    assert run.returncode == 0, run
    files = list((tmp_path / "snapshots").iterdir())
    assert [f.name for f in files] == ["profit_persons.sqlite3"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "snapshots").stat().st_mode) == 0o700
