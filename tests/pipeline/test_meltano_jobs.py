"""Pipeline layer: the jobs and schedules of meltano.yml, run for real against a sandbox.

- ``afas-to-files`` (tap-afas -> target-jsonl): one file per stream with every sandbox row.
- ``file-to-afas`` (tap-jsonl -> target-afas, the reverse job): records edited in that file go
  back into the sandbox through the ``people`` mapping (KnPerson upsert, ``diff_only``).
- ``afas-deletes-to-warehouse`` (tap-afas--deletes -> target-duckdb, the daily deletes run):
  key comparison finds rows gone from a full-table connector without a deleted-records log
  (Profit_Subject_Attachments, whose rows go when their subject is deleted) and the warehouse
  drops them.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.conftest import (
    Pipeline,
    Row,
    SandboxTruth,
    Table,
    assert_same_rows,
    assert_warehouse_equals_sandbox,
    canonical_rows,
    read_warehouse,
    stream_name,
)
from tests.support.clock import wait_for_next_second

pytestmark = pytest.mark.pipeline

JOBS = {
    "afas-to-warehouse": ["tap-afas target-duckdb"],
    "afas-to-postgres": ["tap-afas target-postgres"],
    "afas-to-files": ["tap-afas target-jsonl"],
    "afas-deletes-to-warehouse": ["tap-afas--deletes target-duckdb"],
    "afas-deletes-to-postgres": ["tap-afas--deletes target-postgres"],
    "file-to-afas": ["tap-jsonl target-afas"],
}
SCHEDULES = {
    "afas-warehouse-incremental": ("afas-to-warehouse", "*/15 * * * *"),
    "afas-postgres-incremental": ("afas-to-postgres", "*/15 * * * *"),
    "afas-warehouse-deletes": ("afas-deletes-to-warehouse", "30 2 * * *"),
    "afas-postgres-deletes": ("afas-deletes-to-postgres", "45 2 * * *"),
    "file-to-afas-daily": ("file-to-afas", "@daily"),
}


def _json_out(text: str) -> Any:
    """The JSON document in meltano's output (log lines go to stderr, mixed in here)."""
    start = min(i for i in (text.find("{"), text.find("[")) if i >= 0)
    decoded, _ = json.JSONDecoder().raw_decode(text[start:])
    return decoded


def test_jobs_and_schedules_are_what_meltano_sees(pipeline: Pipeline) -> None:
    jobs = _json_out(pipeline.meltano("job", "list", "--format=json").output)["jobs"]
    assert {j["job_name"]: j["tasks"] for j in jobs} == JOBS
    listed = pipeline.meltano("schedule", "list", "--format=json").output
    schedules = _json_out(listed)["schedules"]["job"]
    assert {s["name"]: (s["job"]["name"], s["interval"]) for s in schedules} == SCHEDULES


def _file_rows(path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line, parse_float=Decimal)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_files_job_writes_every_row_and_the_reverse_job_writes_edits_back(
    pipeline: Pipeline,
) -> None:
    truth = SandboxTruth(pipeline.sandbox).snapshot()
    pipeline.run("afas-to-files")
    folder = pipeline.workdir / "files"
    for connector, (fields, expected) in truth.items():
        path = folder / f"{stream_name(connector)}.jsonl"
        if not expected:
            continue  # target-jsonl writes a file on the first record only
        records = _file_rows(path)
        # the file is what the tap emitted: the same converted values, as JSON
        table = Table(path.name, {f.id: "json" for f in fields}, [_tagged(r) for r in records])
        assert_same_rows(path.name, expected, canonical_rows(table, fields, table.rows))

    # The reverse job: two persons edited in the file (five lines kept) go back into AFAS.
    people = folder / "profit_persons.jsonl"
    records = _file_rows(people)[:5]
    records[0]["LastName"] = "Terug-Geschreven"
    records[1]["Email"] = "reverse.etl@example.nl"
    people.write_text("".join(json.dumps(r, default=str) + "\n" for r in records), encoding="utf-8")
    run = pipeline.run("file-to-afas")
    assert "Summary people: updated 2, unchanged 3" in run.output
    rows = {r["PersonId"]: r for r in pipeline.sandbox.rows("Profit_Persons")}
    assert rows[records[0]["PersonId"]]["LastName"] == "Terug-Geschreven"
    assert rows[records[1]["PersonId"]]["Email"] == "reverse.etl@example.nl"
    rejects = pipeline.workdir / "rejects.jsonl"
    assert not rejects.exists() or not rejects.read_text(encoding="utf-8").strip()


def _tagged(record: dict[str, Any]) -> Row:
    """A JSONL record in the typed form ``canon_warehouse`` reads (datetimes, dates and
    decimals tagged, as a database driver returns them)."""
    out: Row = {}
    for key, value in record.items():
        if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
            out[key] = {"datetime": value}
        elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            out[key] = {"date": value}
        elif isinstance(value, Decimal):
            out[key] = {"decimal": str(value)}
        else:
            out[key] = value
    return out


def test_daily_deletes_job_drops_rows_gone_from_a_full_table_connector(
    pipeline: Pipeline,
) -> None:
    sandbox = pipeline.sandbox
    truth = SandboxTruth(sandbox)
    pipeline.run("afas-deletes-to-warehouse")  # loads everything, records the key sets
    snapshots = sorted(p.name for p in (pipeline.workdir / "key-snapshots").iterdir())
    assert snapshots == ["profit_administrations.sqlite3", "profit_subject_attachments.sqlite3"]

    attachments = len(sandbox.rows("Profit_Subject_Attachments"))
    deleted_subjects: list[str] = []
    for _ in range(40):  # subjects are picked at random; stop once an attachment went with one
        deleted_subjects += sandbox.mutate("Profit_Subjects", deletes=3).deleted
        if len(sandbox.rows("Profit_Subject_Attachments")) < attachments:
            break
    gone = attachments - len(sandbox.rows("Profit_Subject_Attachments"))
    assert gone > 0, "no subject with an attachment was deleted"
    wait_for_next_second()

    pipeline.run("afas-deletes-to-warehouse")
    warehouse = read_warehouse("duckdb", str(pipeline.duckdb_path))
    assert_warehouse_equals_sandbox(warehouse, truth.snapshot())
    table = warehouse.tables["profit_subject_attachments"]
    assert len(table.rows) == attachments - gone
    subject_ids = {str(r["SubjectId"]) for r in warehouse.tables["profit_subjects"].rows}
    assert not subject_ids & set(deleted_subjects)
