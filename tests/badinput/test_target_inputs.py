"""Bad-input layer: every bad config and every bad input line ends ``target-afas`` with one line.

Each case runs the venv's ``target-afas`` console script as a subprocess against one sandbox
shared by the module, with a good person record in the input unless the case changes it. See
tests/badinput/cases.py for what every refusal must look like; here also: no write request
reached the sandbox and its person rows are unchanged. A refusal of the config leaves no file;
a refusal of the input may leave the ledger the target opened at start, but with no row in it.
The control test runs the good config and input to show each refusal comes from its bad value.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.badinput.cases import (
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
from tests.support.recorders import RequestRecorder

STREAM = "people"
PEOPLE = {
    "connector": "KnPerson",
    "action": "insert",
    "keys": ["BcCo"],
    "fields": {"BcCo": "PersonId", "LaNm": "LastName"},
}
SCHEMA = {
    "type": "SCHEMA",
    "stream": STREAM,
    "key_properties": ["PersonId"],
    "schema": {
        "type": "object",
        "properties": {"PersonId": {"type": ["string"]}, "LastName": {"type": ["string", "null"]}},
    },
}
RECORD = {"type": "RECORD", "stream": STREAM, "record": {"PersonId": "961001", "LastName": "Goed"}}
LEDGER = "ledger.sqlite3"
REJECTS = "rejects.jsonl"


def good_config(ctx: Ctx) -> dict[str, Any]:
    return {
        "api_url": ctx.sandbox.base_url,
        "token": ctx.xml,
        "ledger_path": str(ctx.folder / LEDGER),
        "reject_file": str(ctx.folder / REJECTS),
        "mappings": {STREAM: dict(PEOPLE)},
    }


def good_input(ctx: Ctx) -> list[Any]:
    return [SCHEMA, RECORD]


SCRIPT = Script("target-afas", "TARGET_AFAS_LOGLEVEL", good_config, good_input)


def mapping(**changes: Any) -> Patch:
    entry = {**PEOPLE, **changes}
    return Patch({"mappings": {STREAM: {k: v for k, v in entry.items() if v is not DROP}}})


def schema_for(stream: str, **changes: Any) -> dict[str, Any]:
    return {**SCHEMA, "stream": stream, **changes}


def record_for(stream: str, record: Any = None) -> dict[str, Any]:
    return {
        "type": "RECORD",
        "stream": stream,
        "record": RECORD["record"] if record is None else record,
    }


def raw_record(values: str) -> str:
    """A RECORD line of the people stream written by hand (for numbers JSON cannot hold)."""
    return f'{{"type": "RECORD", "stream": "{STREAM}", "record": {{{values}}}}}'


def input_case(case_id: str, expect: str, lines: Any) -> Case:
    return Case(case_id, expect, input=lines, stage="input")


CONFIG_FILES = [
    Case("config-file-missing", "config", config=MISSING),
    Case("config-option-missing", "--config", config=NOT_GIVEN),
    Case("config-not-json", "not JSON", config=Raw(b"{mappings")),
    Case("config-empty-file", "not JSON", config=Raw(b"")),
    Case("config-json-array", "JSON object", config=[]),
    Case("config-json-number", "JSON object", config=42),
    Case("config-not-utf8", "UTF-8", config=Raw(b'{"token": "\xff"}')),
]

TOKENS = [
    Case("token-missing", "token", config=Patch({"token": DROP})),
    Case("token-in-list", "token", config=Patch({"token": [xml]})),
    Case("token-in-dict", "token", config=Patch({"token": {"value": xml}})),
    Case("token-nested", "token", config=Patch({"token": [{"a": [data, b64]}]})),
    Case("token-number", "token", config=Patch({"token": 3.14})),
    Case("token-garbage", "token", config=Patch({"token": "<token>nope</token>"})),
    Case("token-in-list-debug", "token", config=Patch({"token": [xml, data]}), level="DEBUG"),
]

SETTINGS = [
    Case("mappings-missing", "mappings", config=Patch({"mappings": DROP})),
    Case("mappings-empty", "mappings", config=Patch({"mappings": {}})),
    Case("mappings-list", "mappings", config=Patch({"mappings": [PEOPLE]})),
    Case("mapping-text", "mappings", config=Patch({"mappings": {STREAM: "KnPerson"}})),
    Case("mapping-without-connector", "connector", config=mapping(connector=DROP)),
    Case("mapping-connector-number", "connector", config=mapping(connector=5)),
    Case("mapping-action-merge", "action", config=mapping(action="merge")),
    Case("mapping-update-without-keys", "keys", config=mapping(action="update", keys=DROP)),
    Case("mapping-upsert-without-lookup", "lookup", config=mapping(action="upsert")),
    Case(
        "mapping-lookup-two-keys",
        "lookup",
        config=mapping(
            action="upsert",
            keys=["BcCo", "LaNm"],
            lookup={"connector": "Profit_Persons", "field": "PersonId"},
        ),
    ),
    Case("mapping-lookup-text", "lookup", config=mapping(lookup="Profit_Persons")),
    Case("mapping-fields-list", "fields", config=mapping(fields=["BcCo"])),
    Case("mapping-field-number", "fields", config=mapping(fields={"BcCo": 5})),
    Case("mapping-keys-text", "keys", config=mapping(keys="BcCo")),
    # Found when the stream's SCHEMA arrives (the UpdateConnector's metainfo is read then).
    Case(
        "mapping-unknown-afas-field",
        "NoSuchField",
        config=mapping(fields={"NoSuchField": "x"}),
        stage="input",
    ),
    Case("mapping-unknown-connector", "KnNope", config=mapping(connector="KnNope"), stage="input"),
    Case("mapping-diff-only-text", "diff_only", config=mapping(diff_only="yes")),
    Case("dry-run-text", "dry_run", config=Patch({"dry_run": "yes"})),
    Case("on-reject-unknown", "on_reject", config=Patch({"on_reject": "abort"})),
    Case("parallel-zero", "max_parallel_requests", config=Patch({"max_parallel_requests": 0})),
    Case("parallel-nine", "max_parallel_requests", config=Patch({"max_parallel_requests": 9})),
    Case("parallel-text", "max_parallel_requests", config=Patch({"max_parallel_requests": "4"})),
    Case("batch-size-zero", "batch_size", config=Patch({"batch_size": 0})),
    Case("batch-size-negative", "batch_size", config=Patch({"batch_size": -3})),
    Case("batch-size-huge", "batch_size", config=Patch({"batch_size": 10**9})),
    Case("ledger-path-number", "ledger_path", config=Patch({"ledger_path": 7})),
    Case("ledger-path-unwritable", "ledger_path", config=Patch({"ledger_path": under_file})),
    Case("ledger-path-is-a-folder", "ledger_path", config=Patch({"ledger_path": in_folder(".")})),
    Case("reject-file-unwritable", "reject_file", config=Patch({"reject_file": under_file})),
    Case("reject-file-is-a-folder", "reject_file", config=Patch({"reject_file": in_folder(".")})),
    Case("timezone-unknown", "timezone", config=Patch({"timezone": "Europe/Atlantis"})),
    Case("api-url-not-http", "api_url", config=Patch({"api_url": "localhost:8080"})),
    Case("integration-id-crlf", "integration_id", config=Patch({"integration_id": "1\r\n2"})),
]

INPUTS = [
    input_case("input-not-json", "line 1", ["hello"]),
    Case("input-not-json-debug", "line 2", input=[SCHEMA, "hello"], stage="input", level="DEBUG"),
    input_case("input-truncated-json", "line 2", [SCHEMA, '{"type": "RECORD", "stream": "pe']),
    input_case("input-json-array", "line 1", ["[1, 2]"]),
    input_case("input-json-number", "line 1", ["42"]),
    input_case("input-without-type", "line 1", [{"stream": STREAM}]),
    input_case("input-unknown-type", "FOO", [{"type": "FOO", "stream": STREAM}]),
    input_case("input-type-number", "line 1", [{"type": 5}]),
    input_case("input-not-utf8", "UTF-8", Raw(b'{"type": "SCHEMA", "stream": "\xff\xfe"}\n')),
    input_case("input-record-before-schema", "SCHEMA", [RECORD]),
    input_case("input-schema-without-schema", "line 1", [{"type": "SCHEMA", "stream": STREAM}]),
    input_case("input-schema-text", "line 1", [schema_for(STREAM, schema="x")]),
    input_case("input-schema-without-properties", "line 1", [schema_for(STREAM, schema={})]),
    input_case(
        "input-schema-invalid",
        "schema",
        [
            schema_for(
                STREAM, schema={"type": "object", "properties": {"PersonId": {"type": "nonsense"}}}
            ),
            RECORD,
        ],
    ),
    input_case(
        "input-key-properties-text",
        "key_properties",
        [schema_for(STREAM, key_properties="PersonId"), RECORD],
    ),
    input_case("input-record-without-stream", "line 2", [SCHEMA, {"type": "RECORD", "record": {}}]),
    input_case(
        "input-record-text", "line 2", [SCHEMA, {"type": "RECORD", "stream": STREAM, "record": "x"}]
    ),
    input_case(
        "input-record-wrong-type",
        "PersonId",
        [SCHEMA, record_for(STREAM, {"PersonId": 961002, "LastName": "X"})],
    ),
    input_case(
        "input-record-missing-key", "PersonId", [SCHEMA, record_for(STREAM, {"LastName": "X"})]
    ),
    input_case(
        "input-nan",
        "line 2",
        [SCHEMA, raw_record('"PersonId": NaN')],
    ),
    input_case(
        "input-infinity",
        "line 2",
        [
            SCHEMA,
            raw_record('"PersonId": "1", "LastName": -Infinity'),
        ],
    ),
    input_case(
        "input-huge-number",
        "line 2",
        [
            SCHEMA,
            raw_record('"PersonId": "1", "LastName": 1e999'),
        ],
    ),
    input_case(
        "input-stream-with-quote", 'pe"ople', [schema_for('pe"ople'), record_for('pe"ople')]
    ),
    input_case(
        "input-stream-with-newline", "pe\\nople", [schema_for("pe\nople"), record_for("pe\nople")]
    ),
    input_case("input-stream-unmapped", "orders", [schema_for("orders"), record_for("orders")]),
    input_case("input-stream-number", "line 1", [schema_for(5)]),
    input_case("input-state-text", "line 3", [SCHEMA, RECORD, {"type": "STATE", "value": "x"}]),
]

CASES = [*CONFIG_FILES, *TOKENS, *SETTINGS, *INPUTS]
# The runs by case id, Profit_Persons rows before and after them, and what AFAS was sent.
Runs = tuple[dict[str, Run], int, int, RequestRecorder]


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    shared_sandbox: RunningSandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    root = tmp_path_factory.mktemp("target-bad-inputs")
    persons_before = len(shared_sandbox.rows("Profit_Persons"))
    recorder = RequestRecorder(shared_sandbox)
    results = run_cases(SCRIPT, selected_cases(request), shared_sandbox, root)
    return results, persons_before, len(shared_sandbox.rows("Profit_Persons")), recorder


def empty_ledger(run: Run, name: str) -> bool:
    """An input refusal may leave the ledger the target opened at start, if it holds no row."""
    if run.case.stage != "input" or name != LEDGER:
        return False
    db = sqlite3.connect(f"file:{run.folder / LEDGER}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return all(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] == 0 for t in tables)
    finally:
        db.close()


@pytest.mark.parametrize("case", params(CASES))
def test_a_bad_input_is_refused_in_one_line(case: Case, runs: Runs) -> None:
    """(The target records a write in its ledger before sending it: no ledger row, no write.)"""
    check_refused(runs[0][case.id], empty_ledger)


def test_no_refused_run_wrote_to_afas(
    runs: Runs,
) -> None:
    results, persons_before, persons_after, recorder = runs
    assert results, "no case ran"
    assert recorder.writes == [], "a refused run sent a write to AFAS"
    assert persons_after == persons_before


def test_the_good_config_and_input_write_the_person(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The control: without its bad value, a case's run writes the person (so refusals are real)."""
    before = len(afas_sandbox.rows("Profit_Persons"))
    run = run_case(SCRIPT, Case("control", ""), afas_sandbox, tmp_path)
    assert run.returncode == 0, run
    assert "ERROR" not in run.stderr
    assert len(afas_sandbox.rows("Profit_Persons")) == before + 1
