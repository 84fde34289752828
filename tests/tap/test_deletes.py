"""Tap layer: deletes as records with ``_sdc_deleted_at`` (deleted-records log and key sets)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from afas_sandbox import RunningSandbox
from tests.support.clock import clock_ahead
from tests.support.tap_runs import run_tap, tap_config

LOG_ENTITIES = {"Profit_Persons": "Persoon", "Profit_Transactions": "Financiele mutatie"}


def _log_config(sandbox: RunningSandbox) -> dict[str, Any]:
    return tap_config(
        sandbox,
        connectors=list(LOG_ENTITIES),
        deleted_records_log={"connector": "Profit_Deleted_Records", "entities": LOG_ENTITIES},
    )


def _deleted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("_sdc_deleted_at")]


def test_log_deletes_are_emitted_once_with_their_keys(afas_sandbox: RunningSandbox) -> None:
    first = run_tap(_log_config(afas_sandbox))
    assert not _deleted(first.records("profit_persons"))
    schema = first.schemas["profit_persons"]["schema"]["properties"]["_sdc_deleted_at"]
    assert schema["format"] == "date-time"

    before = datetime.now(timezone.utc).replace(microsecond=0)
    persons = afas_sandbox.mutate("Profit_Persons", deletes=3)
    lines = afas_sandbox.mutate("Profit_Transactions", deletes=2)
    # The log shows its stamps rounded half up to the second, so the latest it can show:
    latest = (datetime.now(timezone.utc) + timedelta(milliseconds=500)).replace(microsecond=0)
    second = run_tap(_log_config(afas_sandbox), first.state, clock=clock_ahead())

    person_deletes = _deleted(second.records("profit_persons"))
    assert sorted(r["PersonId"] for r in person_deletes) == sorted(persons.deleted)
    for record in person_deletes:
        assert record["LastName"] is None
        deleted_at = datetime.fromisoformat(record["_sdc_deleted_at"])
        assert deleted_at.tzinfo is not None
        assert deleted_at.utcoffset() == timezone.utc.utcoffset(None)
        assert before <= deleted_at <= latest
    line_deletes = _deleted(second.records("profit_transactions"))
    keys = sorted(f"{r['UnitId']},{r['EntryNo']},{r['SeqNo']}" for r in line_deletes)
    assert keys == sorted(lines.deleted)
    assert all(isinstance(r["UnitId"], int) for r in line_deletes)

    third = run_tap(_log_config(afas_sandbox), second.state, clock=clock_ahead())
    assert not _deleted(third.records("profit_persons"))
    assert not _deleted(third.records("profit_transactions"))


def test_log_deletes_come_before_the_rows_of_the_same_window(afas_sandbox: RunningSandbox) -> None:
    first = run_tap(_log_config(afas_sandbox))
    afas_sandbox.mutate("Profit_Persons", deletes=1, inserts=1)
    later = run_tap(_log_config(afas_sandbox), first.state, clock=clock_ahead())
    records = later.records("profit_persons")
    kinds = ["delete" if r.get("_sdc_deleted_at") else "row" for r in records]
    assert kinds == ["delete", "row"]


def test_key_comparison_emits_deletes_for_keys_gone_since_last_run(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = tap_config(
        afas_sandbox,
        connectors=["Profit_Debtors"],
        primary_keys={"Profit_Debtors": ["DebtorId"]},
        key_comparison_deletes={"connectors": ["Profit_Deb*"], "snapshot_dir": str(tmp_path)},
    )
    first = run_tap(config)
    assert not _deleted(first.records("profit_debtors")), "the first run only records keys"
    assert (tmp_path / "profit_debtors.sqlite3").exists()

    gone = afas_sandbox.mutate("Profit_Debtors", deletes=4)
    second = run_tap(config, first.state, clock=clock_ahead())
    deletes = _deleted(second.records("profit_debtors"))
    assert sorted(r["DebtorId"] for r in deletes) == sorted(gone.deleted)
    assert all(r["Name"] is None for r in deletes)

    third = run_tap(config, second.state, clock=clock_ahead())
    assert not _deleted(third.records("profit_debtors"))
