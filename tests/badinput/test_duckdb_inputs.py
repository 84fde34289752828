"""Bad-input layer: every bad config and input ends ``target-duckdb-afas`` with one line.

Each case runs the venv's ``target-duckdb-afas`` console script as a subprocess, with a good
record in the input unless the case changes it. See tests/badinput/cases.py for what every
refusal must look like. A refused config leaves no database file; a refused input may leave
the file with the stream's table, but no row in any table. The control test loads the good
config and input, to show that each refusal comes from its one bad value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
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
    check_refused,
    in_folder,
    params,
    run_case,
    run_cases,
    selected_cases,
    under_file,
)

DATABASE = "warehouse.duckdb"
STREAM = "amounts"
PROPERTIES = {
    "id": {"type": "integer"},
    "amount": {"type": ["number", "null"]},
    "booked": {"type": ["string", "null"], "format": "date-time"},
    "name": {"type": ["string", "null"]},
}
SCHEMA = {
    "type": "SCHEMA",
    "stream": STREAM,
    "key_properties": ["id"],
    "schema": {"type": "object", "properties": PROPERTIES},
}
GOOD = {"id": 1, "amount": 12.5, "booked": "2026-01-02T03:04:05+00:00", "name": "een"}


def good_config(ctx: Ctx) -> dict[str, Any]:
    return {"path": str(ctx.folder / DATABASE)}


def good_input(ctx: Ctx) -> list[Any]:
    return [SCHEMA, record(**GOOD)]


SCRIPT = Script("target-duckdb-afas", "TARGET_DUCKDB_AFAS_LOGLEVEL", good_config, good_input)


def record(stream: str = STREAM, **values: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": values}


def raw_record(values: str) -> str:
    return f'{{"type": "RECORD", "stream": "{STREAM}", "record": {{{values}}}}}'


def schema_for(stream: str) -> dict[str, Any]:
    return {**SCHEMA, "stream": stream}


def input_case(case_id: str, expect: str, lines: Any) -> Case:
    return Case(case_id, expect, input=lines, stage="input")


CONFIGS = [
    Case("config-file-missing", "config", config=MISSING),
    Case("config-option-missing", "--config", config=NOT_GIVEN),
    Case("config-not-json", "not JSON", config=Raw(b"path: x")),
    Case("config-json-array", "JSON object", config=[{"path": "x.duckdb"}]),
    Case("batch-size-rows-zero", "batch_size_rows", config=Patch({"batch_size_rows": 0})),
    Case("path-missing", "path", config=Patch({"path": DROP})),
    Case("path-number", "path", config=Patch({"path": 5})),
    Case("path-empty", "path", config=Patch({"path": ""})),
    Case("path-unwritable", "path", config=Patch({"path": under_file})),
    Case("path-is-a-folder", "path", config=Patch({"path": in_folder(".")})),
    Case("decimal-scale-38", "decimal_scale", config=Patch({"decimal_scale": 38})),
    Case("decimal-scale-negative", "decimal_scale", config=Patch({"decimal_scale": -1})),
    Case("decimal-scale-text", "decimal_scale", config=Patch({"decimal_scale": "2"})),
    Case("load-method-unknown", "load_method", config=Patch({"load_method": "merge"})),
    Case("hard-delete-text", "hard_delete", config=Patch({"hard_delete": "yes"})),
    Case(
        "default-schema-number", "default_target_schema", config=Patch({"default_target_schema": 1})
    ),
    Case("validate-records-text", "validate_records", config=Patch({"validate_records": "no"})),
]

INPUTS = [
    input_case("input-not-json", "line 1", ["SCHEMA amounts"]),
    input_case("input-not-utf8", "UTF-8", Raw(b'{"type": "RECORD", "stream": "\xe9"}\n')),
    input_case("input-unknown-type", "LOAD", [{"type": "LOAD", "stream": STREAM}]),
    input_case("input-record-before-schema", "SCHEMA", [record(**GOOD)]),
    input_case("input-integer-as-text", "id", [SCHEMA, record(**{**GOOD, "id": "one"})]),
    input_case("input-number-as-text", "amount", [SCHEMA, record(**{**GOOD, "amount": "12,50"})]),
    input_case("input-missing-key", "id", [SCHEMA, record(amount=1)]),
    input_case("input-bigint-overflow", "id", [SCHEMA, record(**{**GOOD, "id": 2**70})]),
    input_case(
        "input-bigint-negative-overflow", "id", [SCHEMA, record(**{**GOOD, "id": -(2**63) - 1})]
    ),
    input_case(
        "input-decimal-places",
        "decimal_scale",
        [SCHEMA, raw_record('"id": 1, "amount": 0.123456789012')],
    ),
    input_case("input-decimal-digits", "amount", [SCHEMA, raw_record('"id": 1, "amount": 1e40')]),
    input_case("input-nan", "line 2", [SCHEMA, raw_record('"id": 1, "amount": NaN')]),
    input_case("input-infinity", "line 2", [SCHEMA, raw_record('"id": 1, "amount": Infinity')]),
    input_case(
        "input-date-time-garbage",
        "booked",
        [SCHEMA, record(**{**GOOD, "booked": "2026-13-45T99:00:00"})],
    ),
    input_case(
        "input-stream-with-quote", "line 1", [schema_for('am"ounts'), record('am"ounts', **GOOD)]
    ),
    input_case(
        "input-stream-with-newline",
        "line 1",
        [schema_for("am\nounts"), record("am\nounts", **GOOD)],
    ),
    input_case("input-stream-empty", "stream", [schema_for(""), record("", **GOOD)]),
    input_case(
        "input-schema-invalid",
        "schema",
        [
            {**SCHEMA, "schema": {"type": "object", "properties": {"id": {"type": "int"}}}},
            record(**GOOD),
        ],
    ),
]

CASES = [*CONFIGS, *INPUTS]


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    shared_sandbox: RunningSandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("duckdb-bad-inputs")
    # The loader talks to no AFAS: the cases only need a sandbox for the token's encodings.
    return run_cases(SCRIPT, selected_cases(request), shared_sandbox, root)


def empty_database(run: Run, name: str) -> bool:
    """An input refusal may leave the database (and its WAL) if no table has a row."""
    if run.case.stage != "input" or not name.startswith(DATABASE):
        return False
    if name != DATABASE:
        return True
    con = duckdb.connect(str(run.folder / DATABASE), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        counts = [
            con.execute(
                f'SELECT count(*) FROM "{s}"."{t.replace(chr(34), chr(34) * 2)}"'
            ).fetchone()
            for s, t in tables
        ]
        return all(c is not None and c[0] == 0 for c in counts)
    finally:
        con.close()


@pytest.mark.parametrize("case", params(CASES))
def test_a_bad_input_is_refused_in_one_line(case: Case, runs: dict[str, Run]) -> None:
    check_refused(runs[case.id], empty_database)


def test_the_good_config_and_input_load_the_row(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The control: without its bad value, a case's run loads the record."""
    run = run_case(SCRIPT, Case("control", ""), afas_sandbox, tmp_path)
    assert run.returncode == 0, run
    con = duckdb.connect(str(tmp_path / DATABASE), read_only=True)
    try:
        assert con.execute(f"SELECT id, name FROM {STREAM}").fetchall() == [(1, "een")]
    finally:
        con.close()
