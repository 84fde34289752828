"""Target layer: exactly once under every fault the sandbox can play, then a re-run.

The matrix: fault {500 with an AFAS body, 500 without one, 502, 503 (retry_after 0), 504,
reset, truncate, slow beyond ``request_timeout``} x phase {before, after} x action {insert
(KnPerson, MatchPer 7, lookup by e-mail), update (PUT), upsert (lookup by number; the fault
hits its POST of new numbers, or as "upsert-put" its PUT of existing ones), delete (free table
rows)} x batch size {1, 20}. The fault hits the first write of that method once; the same
input then runs again with the same ledger (and reject file). Afterwards every record is in
the sandbox as asked exactly once, or was reported ``outcome_unknown`` and is there at most
once. Inserts without a lookup meet every "after" fault too: at most one row,
``outcome_unknown`` when in doubt, and never a second POST in the re-run.

The contract (AFAS): a 500 with an AFAS error body and a 503 leave no trace of the write
(rolled back); 502/504, a 500 without an AFAS body, reset, truncate and slow answers may come
after AFAS committed it. Totals over the matrix are printed by the last test (``-s``/``-rA``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.singer_messages import stream_messages
from tests.support.target_runs import run_target, target_config
from tests.target.exactly_once import (
    Tally,
    Verdict,
    judge_inserts,
    line_count,
    people_insert_mapping,
    person,
    posts_with,
    rows_per_value,
    unknown_values,
    wait_until_idle,
)

STREAM = "matrix"
REQUEST_TIMEOUT_SECONDS = 1.0
SLOW_SECONDS = 1.6  # beyond REQUEST_TIMEOUT_SECONDS: the client gives up first
RECORDS_PER_BATCH_SIZE = {1: 3, 20: 25}  # 25 records in batches of 20: two requests

FAULTS: dict[str, dict[str, Any]] = {
    "500-afas-body": {"kind": "status", "status": 500},
    "500-no-afas-body": {"kind": "status", "status": 500, "body": "html"},
    "502": {"kind": "status", "status": 502},
    "503": {"kind": "status", "status": 503, "retry_after": 0},
    "504": {"kind": "status", "status": 504},
    "reset": {"kind": "reset"},
    "truncate": {"kind": "truncate"},
    "slow": {"kind": "slow", "delay_seconds": SLOW_SECONDS},
}
PHASES = ("before", "after")
BATCH_SIZES = tuple(RECORDS_PER_BATCH_SIZE)


@dataclass(frozen=True)
class Action:
    """One action of the matrix: its mapping, the write it faults, its records and its check."""

    name: str
    connector: str
    method: str
    mapping: dict[str, Any]
    prop: str  # the record property that identifies a record (in the reject file too)
    records: Callable[[SandboxReader, int, str], list[dict[str, Any]]]
    judge: Callable[[SandboxReader, list[dict[str, Any]], dict[str, Any], set[str]], Verdict]
    snapshot: Callable[[SandboxReader], dict[str, Any]]


def _no_snapshot(reader: SandboxReader) -> dict[str, Any]:
    return {}


def _person_count(reader: SandboxReader) -> dict[str, Any]:
    return {"persons": len(reader.all_rows("Profit_Persons"))}


# -- insert: KnPerson, always a new person, one unique e-mail per record


def _insert_records(reader: SandboxReader, count: int, tag: str) -> list[dict[str, Any]]:
    return [person(f"eo.{tag}.{i}@matrix.test", f"Matrix {tag} {i}") for i in range(count)]


def _judge_inserts(
    reader: SandboxReader, records: list[dict[str, Any]], before: dict[str, Any], unknown: set[str]
) -> Verdict:
    verdict = Verdict()
    found = rows_per_value(reader, "Profit_Persons", "Email")
    judge_inserts([r["Email"] for r in records], found, unknown, verdict)
    return verdict


# -- update: existing persons get a new last name (PUT)


def _update_records(reader: SandboxReader, count: int, tag: str) -> list[dict[str, Any]]:
    numbers = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))[:count]
    return [{"PersonId": n, "LastName": f"Bijgewerkt {tag} {i}"} for i, n in enumerate(numbers)]


def _judge_by_number(
    reader: SandboxReader, records: list[dict[str, Any]], before: dict[str, Any], unknown: set[str]
) -> Verdict:
    """Update / upsert: one row per number holding the new last name."""
    verdict = Verdict()
    rows = reader.by_key("Profit_Persons", "PersonId")
    for record in records:
        number, wanted = record["PersonId"], record["LastName"]
        found = rows.get(number, [])
        if len(found) > 1:
            verdict.count("doubled", number, f"{len(found)} rows")
        elif number in unknown:
            verdict.count("outcome_unknown", number, f"{len(found)} rows")
        elif found and found[0]["LastName"] == wanted:
            verdict.count("once", number, "new value")
        else:
            now = found[0]["LastName"] if found else "no row"
            verdict.count("lost", number, f"LastName {now!r}, wanted {wanted!r}")
    if "persons" in before:
        expected = before["persons"]
        actual = len(reader.all_rows("Profit_Persons"))
        if actual != expected:
            verdict.problems.append(f"Profit_Persons has {actual} rows, had {expected}")
            verdict.doubled += max(actual - expected, 0)
            verdict.lost += max(expected - actual, 0)
    return verdict


# -- upsert: half new numbers, half existing ones, looked up in Profit_Persons


def _upsert_records(reader: SandboxReader, count: int, tag: str) -> list[dict[str, Any]]:
    existing = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))
    new = [f"99{i:04d}" for i in range((count + 1) // 2)]
    numbers = [*new, *existing[-(count - len(new)) :]] if count > len(new) else new
    return [{"PersonId": n, "LastName": f"Upsert {tag} {i}"} for i, n in enumerate(numbers)]


# -- delete: rows of the free table KnCustomK01


def _delete_records(reader: SandboxReader, count: int, tag: str) -> list[dict[str, Any]]:
    numbers = sorted(int(r["SqNo"]) for r in reader.all_rows("Profit_FreeTable_K01"))
    assert len(numbers) >= count, "the demo free table has enough rows to delete"
    return [{"SqNo": n} for n in numbers[:count]]


def _judge_deletes(
    reader: SandboxReader, records: list[dict[str, Any]], before: dict[str, Any], unknown: set[str]
) -> Verdict:
    verdict = Verdict()
    left = rows_per_value(reader, "Profit_FreeTable_K01", "SqNo")
    for record in records:
        number = str(record["SqNo"])
        if number in unknown:
            verdict.count("outcome_unknown", number, f"{left.get(number, 0)} rows")
        elif left.get(number, 0) == 0:
            verdict.count("once", number, "gone")
        else:
            verdict.count("lost", number, "still there")
    return verdict


PEOPLE_BY_NUMBER = {
    "connector": "KnPerson",
    "keys": ["BcCo"],
    "fields": {"BcCo": "PersonId", "LaNm": "LastName"},
}
ACTIONS = {
    "insert": Action(
        "insert", "KnPerson", "POST", people_insert_mapping(lookup=True), "Email",
        _insert_records, _judge_inserts, _no_snapshot,
    ),
    "update": Action(
        "update", "KnPerson", "PUT", {**PEOPLE_BY_NUMBER, "action": "update"}, "PersonId",
        _update_records, _judge_by_number, _person_count,
    ),
    "upsert": Action(
        "upsert", "KnPerson", "POST",
        {**PEOPLE_BY_NUMBER, "action": "upsert",
         "lookup": {"connector": "Profit_Persons", "field": "PersonId"}},
        "PersonId", _upsert_records, _judge_by_number, _no_snapshot,
    ),
    "upsert-put": Action(
        "upsert-put", "KnPerson", "PUT",
        {**PEOPLE_BY_NUMBER, "action": "upsert",
         "lookup": {"connector": "Profit_Persons", "field": "PersonId"}},
        "PersonId", _upsert_records, _judge_by_number, _no_snapshot,
    ),
    "delete": Action(
        "delete", "KnCustomK01", "DELETE",
        {"connector": "KnCustomK01", "action": "delete", "keys": ["SqNo"],
         "fields": {"SqNo": "SqNo"}},
        "SqNo", _delete_records, _judge_deletes, _no_snapshot,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def tally() -> Tally:
    return Tally()


@dataclass
class TwoRuns:
    """The first run and the re-run of one case: errors and where the re-run's rejects start."""

    first_error: str
    second_error: str
    rejects_after_first: int

    @property
    def error(self) -> str:
        parts = [f"run {n}: {e}" for n, e in ((1, self.first_error), (2, self.second_error)) if e]
        return "; ".join(parts)


def _run(config: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    """One in-process run; an error is returned as text (the case goes on to count records)."""
    try:
        run_target(config, messages)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return ""


def _write_twice(
    sandbox: RunningSandbox,
    recorder: RequestRecorder,
    tmp_path: Path,
    mapping: dict[str, Any],
    records: list[dict[str, Any]],
    batch_size: int,
) -> TwoRuns:
    config = target_config(
        sandbox,
        tmp_path,
        {STREAM: mapping},
        batch_size=batch_size,
        request_timeout=REQUEST_TIMEOUT_SECONDS,
        on_reject="continue",
    )
    messages = stream_messages(STREAM, records)
    first = _run(config, messages)
    wait_until_idle(recorder)
    rejects = line_count(tmp_path / "rejects.jsonl")
    second = _run(config, messages)
    wait_until_idle(recorder)
    return TwoRuns(first, second, rejects)


@pytest.mark.parametrize("batch_size", BATCH_SIZES, ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_fault_then_rerun_writes_every_record_exactly_once(
    afas_sandbox: RunningSandbox,
    recorder: RequestRecorder,
    reader: SandboxReader,
    tmp_path: Path,
    tally: Tally,
    action: str,
    fault: str,
    phase: str,
    batch_size: int,
) -> None:
    case = ACTIONS[action]
    tag = f"{action}-{fault}-{phase}-{batch_size}"
    records = case.records(reader, RECORDS_PER_BATCH_SIZE[batch_size], tag)
    before = case.snapshot(reader)
    planted = afas_sandbox.faults.add(
        **FAULTS[fault], phase=phase, method=case.method, connector=case.connector, times=1
    )

    runs = _write_twice(afas_sandbox, recorder, tmp_path, case.mapping, records, batch_size)

    rejects = tmp_path / "rejects.jsonl"
    unknown_at_end = unknown_values(rejects, case.prop, skip_lines=runs.rejects_after_first)
    verdict = case.judge(reader, records, before, unknown_at_end)
    tally.add(tag, verdict, runs.error)
    assert (verdict.ok, runs.error, planted.hits) == (True, "", 1), f"{verdict}; {runs.error}"


@pytest.mark.parametrize("batch_size", BATCH_SIZES, ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("fault", list(FAULTS))
def test_insert_without_lookup_after_fault_is_never_posted_twice(
    afas_sandbox: RunningSandbox,
    recorder: RequestRecorder,
    reader: SandboxReader,
    tmp_path: Path,
    tally: Tally,
    fault: str,
    batch_size: int,
) -> None:
    """No lookup: what may have landed is ``outcome_unknown`` and never sent again."""
    tag = f"insert-no-lookup-{fault}-after-{batch_size}"
    records = _insert_records(reader, RECORDS_PER_BATCH_SIZE[batch_size], tag)
    planted = afas_sandbox.faults.add(
        **FAULTS[fault], phase="after", method="POST", connector="KnPerson", times=1
    )
    mapping = people_insert_mapping(lookup=False)

    runs = _write_twice(afas_sandbox, recorder, tmp_path, mapping, records, batch_size)

    rejects = tmp_path / "rejects.jsonl"
    unknown_first = unknown_values(rejects, "Email")
    unknown_at_end = unknown_values(rejects, "Email", skip_lines=runs.rejects_after_first)
    verdict = Verdict()
    judge_inserts(
        [r["Email"] for r in records],
        rows_per_value(reader, "Profit_Persons", "Email"),
        unknown_first | unknown_at_end,
        verdict,
    )
    resent = {e: posts_with(recorder, "KnPerson", e) for e in sorted(unknown_first)}
    twice = {e: n for e, n in resent.items() if n > 1}
    for email, posts in twice.items():
        verdict.problems.append(f"outcome_unknown {email} POSTed {posts} times")
    not_reported_again = sorted(unknown_first - unknown_at_end)
    for email in not_reported_again:
        verdict.problems.append(f"{email}: outcome_unknown, but not reported so by the re-run")
    tally.add(tag, verdict, runs.error)
    assert (verdict.ok, runs.error, planted.hits) == (True, "", 1), f"{verdict}; {runs.error}"


def test_matrix_totals(tally: Tally) -> None:
    """Print the counts over every case that ran in this module; none doubled, lost or resent."""
    print()
    print(tally.report("fault matrix"))
    failing = sorted(case for case, verdict in tally.cases.items() if not verdict.ok)
    assert failing == [], tally.report("fault matrix")
