"""Tap layer: the hard cases of incremental reading, against the sandbox over real HTTP.

Thousands of rows in one shown second, data changing while a sync runs, a tap killed with
``kill -9`` and resumed from its last STATE, and the daylight-saving changes of
Europe/Amsterdam (rows written with the sandbox's ManualClock; the tap's own clock passed in,
``tap_clock``).
"""

from __future__ import annotations

import random
import signal
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from afas_sandbox import ManualClock, MutationResult, RunningSandbox
from tests.support.clock import clock_ahead, clock_behind
from tests.support.recorders import RequestRecorder, Seen
from tests.support.records import canon, duplicates, key_of, multiset
from tests.support.sandbox_reading import AMSTERDAM, SandboxReader
from tests.support.singer_messages import Message, parse_messages
from tests.support.tap_runs import TapRun, read_until_killed, run_tap, start_tap_cli, tap_config

PERSON_KEY = ("PersonId",)
TRANSACTION_KEY = ("UnitId", "EntryNo", "SeqNo")
KEYS = {"Profit_Persons": PERSON_KEY, "Profit_Transactions": TRANSACTION_KEY}


def _keys(records: list[dict[str, Any]], connector: str) -> list[str]:
    return [key_of(r, KEYS[connector]) for r in records]


def test_thousands_of_rows_in_one_second_are_each_emitted_once(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory(rows=3500)
    reader = SandboxReader(sandbox)
    config = tap_config(sandbox, page_size=100)
    first = run_tap(config, clock=clock_behind())
    assert len(first.records("profit_transactions")) == 3500
    changed = sandbox.mutate("Profit_Transactions", updates=3000, same_second=True)
    assert len(set(changed.updated)) == 3000
    shown = Counter(r["Mutatiedatum"] for r in reader.all_rows("Profit_Transactions"))
    assert shown.most_common(1)[0][1] == 3000, "precondition: the updates all show one second"
    second = run_tap(config, first.state, clock=clock_ahead())
    records = second.records("profit_transactions")
    keys = _keys(records, "Profit_Transactions")
    assert duplicates(keys) == []
    assert set(keys) == set(changed.updated)
    now = {key_of(r, TRANSACTION_KEY): r for r in reader.expected("Profit_Transactions")}
    assert multiset(records) == multiset([now[k] for k in changed.updated])
    reader.close()


def test_more_than_a_page_of_rows_with_one_stamp_are_each_emitted_once(
    afas_sandbox_factory: Callable[..., RunningSandbox],
    tap_clock: ManualClock,
) -> None:
    # 20 rows stored at exactly one stamp (x.2 s, shown x) and a page size of 7: the cursor
    # must read that stored second whole once and never emit a row twice.
    stamp = datetime(2026, 11, 5, 9, 30, 0, 200000, tzinfo=timezone.utc)
    sandbox = afas_sandbox_factory(clock=ManualClock(stamp))
    written = sandbox.mutate("Profit_Persons", inserts=20).inserted
    reader = SandboxReader(sandbox)
    start = (stamp - timedelta(seconds=10)).replace(microsecond=0)
    config = tap_config(
        sandbox,
        connectors=["Profit_Persons"],
        page_size=7,
        start_date=start.isoformat().replace("+00:00", "Z"),
    )
    tap_clock.set(stamp + timedelta(minutes=5))
    run = run_tap(config, clock=tap_clock.now)
    keys = [r["PersonId"] for r in run.records("profit_persons")]
    assert duplicates(keys) == []
    assert sorted(keys) == sorted(written)
    now = {r["PersonId"]: r for r in reader.expected("Profit_Persons")}
    assert multiset(run.records("profit_persons")) == multiset([now[k] for k in written])
    reader.close()


class _MutateDuringSync:
    """After chosen GetConnector pages, change Persons and Transactions (server side)."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.enabled = True
        self.pages: Counter[str] = Counter()
        self.results: dict[str, list[MutationResult]] = {c: [] for c in KEYS}
        self.plan = {
            ("Profit_Persons", 1): [("Profit_Persons", 3, 25, 2)],
            ("Profit_Transactions", 2): [("Profit_Transactions", 2, 60, 2)],
            ("Profit_Transactions", 4): [
                ("Profit_Transactions", 1, 60, 1),
                ("Profit_Persons", 1, 10, 1),
            ],
            ("Profit_Transactions", 6): [("Profit_Transactions", 2, 60, 2)],
        }

    def __call__(self, request: Seen) -> None:
        connector = request.connector
        if not self.enabled or connector is None or request.status != 200:
            return
        self.pages[connector] += 1
        for target, inserts, updates, deletes in self.plan.get(
            (connector, self.pages[connector]), []
        ):
            self.results[target].append(
                self.sandbox.mutate(target, inserts=inserts, updates=updates, deletes=deletes)
            )

    def touched(self, connector: str) -> set[str]:
        return {k for r in self.results[connector] for k in (*r.inserted, *r.updated, *r.deleted)}


def test_rows_changing_during_a_sync_are_complete_over_two_runs(
    afas_sandbox: RunningSandbox, reader: SandboxReader
) -> None:
    before = {c: {key_of(r, k): r for r in reader.expected(c)} for c, k in KEYS.items()}
    mutator = _MutateDuringSync(afas_sandbox)
    RequestRecorder(afas_sandbox, after=mutator)
    afas_sandbox.latency.fixed_ms = 30
    config = tap_config(afas_sandbox, page_size=200, connectors=list(KEYS))
    first = run_tap(config)
    mutator.enabled = False
    assert sum(len(v) for v in mutator.results.values()) == 5, "mutations ran during the sync"
    second = run_tap(config, first.state, clock=clock_ahead())
    after = {c: {key_of(r, k): r for r in reader.expected(c)} for c, k in KEYS.items()}

    for connector in KEYS:
        r1 = first.records(connector.lower())
        r2 = second.records(connector.lower())
        k1, k2 = _keys(r1, connector), _keys(r2, connector)
        assert duplicates(k1) == [], (connector, "first run")
        assert duplicates(k2) == [], (connector, "second run")
        touched = mutator.touched(connector)
        assert touched
        emitted = {canon(r) for r in r1 + r2}
        missing = [k for k, row in after[connector].items() if canon(row) not in emitted]
        assert missing == [], (connector, "latest version never emitted", missing[:5])
        unchanged = set(before[connector]) - touched
        counts = Counter(k1)
        assert all(counts[k] == 1 for k in unchanged), connector
        first_by_key = {key_of(r, KEYS[connector]): r for r in r1}
        assert all(canon(first_by_key[k]) == canon(before[connector][k]) for k in unchanged)
        assert set(k2) <= touched, (connector, "the second run re-emitted unchanged rows")


def test_resume_after_kill_emits_every_row_exactly_once(
    afas_sandbox: RunningSandbox, reader: SandboxReader, tmp_path: Any
) -> None:
    afas_sandbox.latency.fixed_ms = 60
    config = tap_config(afas_sandbox, page_size=70, connectors=list(KEYS))
    process = start_tap_cli(tmp_path, config)
    transactions = 0

    def after_500_transactions(line: str) -> bool:
        nonlocal transactions
        if line.startswith('{"type":"RECORD","stream":"profit_transactions"'):
            transactions += 1
        return line.startswith('{"type":"STATE"') and transactions >= 500

    read = read_until_killed(process, after_500_transactions)
    assert read.killed, "no STATE after 500 transaction records was seen while the tap ran"
    assert process.returncode == -signal.SIGKILL
    before = read.kept()
    state = before[-1]["value"]
    assert before[-1]["type"] == "STATE"
    resumed = run_tap(config, state)
    partial = TapRun(before)
    for connector, key_fields in KEYS.items():
        records = partial.records(connector.lower()) + resumed.records(connector.lower())
        keys = [key_of(r, key_fields) for r in records]
        assert duplicates(keys) == [], connector
        assert multiset(records) == multiset(reader.expected(connector)), connector
    # It really resumed mid-stream: part of the transactions came from each run.
    assert partial.records("profit_transactions")
    assert resumed.records("profit_transactions")
    assert resumed.records("profit_persons") == []


# --------------------------------------------------------------------------- daylight saving


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


def _first_occurrence_utc(instant: datetime) -> str:
    """What a shown (local, ambiguous) wall time means per the docs: its first occurrence."""
    wall = instant.astimezone(AMSTERDAM).replace(tzinfo=None)
    return wall.replace(tzinfo=AMSTERDAM, fold=0).astimezone(timezone.utc).isoformat()


def test_datetimes_around_dst_changes_are_the_true_utc_instant(
    afas_sandbox_factory: Callable[..., RunningSandbox],
    tap_clock: ManualClock,
) -> None:
    clock = ManualClock(_at(2026, 3, 29, 0, 0, 0))
    sandbox = afas_sandbox_factory(clock=clock)
    written: dict[str, datetime] = {}
    instants = [
        _at(2026, 3, 29, 0, 59, 59),  # 01:59:59 CET, just before the spring gap
        _at(2026, 3, 29, 1, 0, 0),  # 03:00:00 CEST
        _at(2026, 3, 29, 1, 30, 0),  # 03:30:00 CEST
        _at(2026, 10, 25, 0, 30, 0),  # 02:30:00 CEST (first pass of the repeated hour)
        _at(2026, 10, 25, 0, 59, 59),  # 02:59:59 CEST
        _at(2026, 10, 25, 2, 0, 0),  # 03:00:00 CET, after the repeated hour
    ]
    repeated = [
        _at(2026, 10, 25, 1, 0, 0),  # 02:00:00 CET (second pass): shown like 00:00Z
        _at(2026, 10, 25, 1, 30, 0),  # 02:30:00 CET (second pass): shown like 00:30Z
    ]
    for instant in instants + repeated:
        clock.set(instant)
        (key,) = sandbox.mutate("Profit_Persons", inserts=1).inserted
        written[key] = instant
    tap_clock.set(_at(2026, 11, 1, 0, 0, 0))
    run = run_tap(tap_config(sandbox, connectors=["Profit_Persons"]), clock=tap_clock.now)
    records = {r["PersonId"]: r for r in run.records("profit_persons")}
    shown = {r["PersonId"]: r["ModifiedDate"] for r in sandbox.rows("Profit_Persons")}
    for key, instant in written.items():
        record = records[key]
        expected = _first_occurrence_utc(instant) if instant in repeated else instant.isoformat()
        assert record["ModifiedDate"] == expected, (key, shown[key], record["ModifiedDate"])
        assert record["CreateDate"] == expected, key
    # The documented reading of the repeated hour, spelled out.
    by_instant = {v: records[k]["ModifiedDate"] for k, v in written.items()}
    assert by_instant[_at(2026, 10, 25, 1, 30, 0)] == "2026-10-25T00:30:00+00:00"
    assert by_instant[_at(2026, 10, 25, 0, 30, 0)] == "2026-10-25T00:30:00+00:00"
    assert by_instant[_at(2026, 3, 29, 1, 0, 0)] == "2026-03-29T01:00:00+00:00"


def test_sync_starting_inside_the_repeated_hour_loses_no_later_rows(
    afas_sandbox_factory: Callable[..., RunningSandbox],
    tap_clock: ManualClock,
) -> None:
    clock = ManualClock(_at(2026, 10, 25, 0, 10, 0))
    sandbox = afas_sandbox_factory(clock=clock)
    reader = SandboxReader(sandbox)
    config = tap_config(sandbox, connectors=["Profit_Persons"])

    (early,) = sandbox.mutate("Profit_Persons", inserts=1).inserted  # 02:10 CEST
    tap_clock.set(_at(2026, 10, 25, 0, 15, 0))  # the sync starts at 02:15 CEST (first pass)
    first = run_tap(config, clock=tap_clock.now)
    assert first.state is not None
    lo = first.state["bookmarks"]["profit_persons"]["afas_progress"]["lo"]
    assert lo.startswith("2026-10-25T"), f"the tap's clock was not frozen: lo={lo}"
    assert lo <= "2026-10-25T02:00:00", "the bound fell inside the repeated hour"

    clock.set(_at(2026, 10, 25, 1, 5, 0))  # 02:05 CET: a wall time before the first sync's
    (later,) = sandbox.mutate("Profit_Persons", inserts=1).inserted
    updated = sandbox.mutate("Profit_Persons", updates=1).updated[0]
    clock.set(_at(2026, 10, 25, 1, 40, 0))  # 02:40 CET
    (last,) = sandbox.mutate("Profit_Persons", inserts=1).inserted

    tap_clock.set(_at(2026, 10, 25, 2, 30, 0))  # 03:30 CET
    second = run_tap(config, first.state, clock=tap_clock.now)
    now = {r["PersonId"]: r for r in reader.expected("Profit_Persons")}
    emitted = {canon(r) for r in first.records("profit_persons") + second.records("profit_persons")}
    for key in (early, later, updated, last):
        assert canon(now[key]) in emitted, key
    second_keys = {r["PersonId"] for r in second.records("profit_persons")}
    assert {later, updated, last} <= second_keys
    reader.close()


def after_records(count: int) -> Callable[[str], bool]:
    """True from the ``count``-th RECORD line on."""
    seen = 0

    def enough(line: str) -> bool:
        nonlocal seen
        seen += line.startswith('{"type":"RECORD"')
        return seen >= count

    return enough


@pytest.mark.parametrize("seed", range(4), ids=lambda s: f"seed{s}")
def test_kill_9_at_random_moments_then_resume_emits_every_row_exactly_once(
    afas_sandbox: RunningSandbox, reader: SandboxReader, tmp_path: Any, seed: int
) -> None:
    """Up to four kill -9s at random moments of one sync (after a random number of records
    read, mostly between two STATEs: the records after the last STATE read are lost with the
    process), each run resumed from the last STATE it wrote, then a run to the end: every row
    exactly once, with parallel pieces on (max_parallel_requests 4) and a first sync's early
    probe and undated rows' page in flight when the first run dies."""
    rng = random.Random(seed)
    afas_sandbox.latency.fixed_ms = 20
    config = tap_config(afas_sandbox, page_size=70, connectors=list(KEYS))
    total = sum(len(reader.expected(c)) for c in KEYS)
    committed: list[Message] = []
    state: dict[str, Any] | None = None
    kills = 0
    for _ in range(4):
        process = start_tap_cli(tmp_path, config, state=state)
        read = read_until_killed(process, after_records(rng.randint(1, total // 2)))
        if not read.killed:  # the rest was smaller than the kill point: it ran to the end
            committed += parse_messages("".join(read.lines))
            break
        kills += 1
        kept = read.kept()
        committed += kept
        if kept:
            state = kept[-1]["value"]
    else:
        final = run_tap(config, state)
        committed += final.messages
    assert kills >= 2, "the sync was not killed at least twice"
    run = TapRun(committed)
    for connector, key_fields in KEYS.items():
        emitted = run.records(connector.lower())
        assert duplicates([key_of(r, key_fields) for r in emitted]) == [], connector
        assert multiset(emitted) == multiset(reader.expected(connector)), connector
