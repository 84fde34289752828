"""Tap layer: while one stream emits, the streams after it ask for their first page
(``tap_afas.prefetch``), against the sandbox over real HTTP with latency.

An incremental sync of every demo connector (one of them without a checkpoint: its first sync)
is run twice from the same state and the same window end: with ``max_parallel_requests`` 4
(three streams prepared ahead) and with 1 (no prefetch, one request at a time). Both emit the
same records and the same STATE messages, the first with several connectors' requests in
flight at once and never more than four requests. Rows changed after a prepared stream's first
page was read are complete over that sync and the next.
A stream that fails stops the readers of the streams prepared after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from afas_sandbox import ManualClock, RunningSandbox
from tests.support.clock import clock_ahead, clock_behind
from tests.support.recorders import RequestRecorder, Seen
from tests.support.records import canon, duplicates, key_of, multiset
from tests.support.sandbox_reading import SandboxReader
from tests.support.tap_runs import TapRun, run_tap, tap_config

LATENCY_MS = 60


def reader_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "-reader-" in t.name]


def connectors_in_flight_at_once(requests: list[Seen]) -> int:
    """The most GetConnectors that had a GET in flight at the same moment."""
    gets = [r for r in requests if r.method == "GET" and r.connector]
    most = 0
    for request in gets:
        moment = request.started
        busy = {r.connector for r in gets if r.started <= moment < r.finished}
        most = max(most, len(busy))
    return most


def start(request: Seen) -> float:
    return request.started


def records(run: TapRun) -> dict[str, Any]:
    return {name: multiset(rows) for name, rows in run.by_stream.items()}


def first_state(afas_sandbox: RunningSandbox) -> dict[str, Any]:
    first = run_tap(tap_config(afas_sandbox), clock=clock_behind())
    assert first.state is not None
    return first.state


def test_an_incremental_sync_reads_the_next_streams_first_pages_while_one_emits(
    afas_sandbox: RunningSandbox,
) -> None:
    state = first_state(afas_sandbox)
    del state["bookmarks"]["profit_organisations"]  # a first sync for it: not prepared
    afas_sandbox.mutate("Profit_Persons", inserts=3, updates=12, deletes=2)
    afas_sandbox.mutate("Profit_Debtors", updates=5)
    afas_sandbox.mutate("Profit_Transactions", inserts=2, updates=15, deletes=2)
    afas_sandbox.latency.fixed_ms = LATENCY_MS
    end = datetime.now(timezone.utc) + timedelta(seconds=1)  # one window end for both runs

    recorder = RequestRecorder(afas_sandbox)
    prefetched = run_tap(tap_config(afas_sandbox), state, clock=lambda: end)
    parallel_requests = recorder.snapshot()
    most_in_flight = recorder.max_in_flight
    recorder.reset()
    sequential = run_tap(
        tap_config(afas_sandbox, max_parallel_requests=1), state, clock=lambda: end
    )

    assert sum(len(r) for r in prefetched.by_stream.values()) > 30, "precondition: changes"
    assert records(prefetched) == records(sequential)
    assert prefetched.states == sequential.states, "every STATE as with one request at a time"
    assert connectors_in_flight_at_once(recorder.snapshot()) == 1
    assert connectors_in_flight_at_once(parallel_requests) >= 3
    # A full-table stream (with a key) is prepared too: its first page left before
    # Organisations (two streams before it by name, on its first sync, so not prepared itself:
    # it asks when it starts) had an answer.
    gets = [r for r in parallel_requests if r.method == "GET"]
    organisations = min(r.finished for r in gets if r.connector == "Profit_Organisations")
    attachments = min(r.started for r in gets if r.connector == "Profit_Subject_Attachments")
    assert attachments < organisations
    assert most_in_flight <= 4
    assert reader_threads() == []


def test_a_stream_that_fails_stops_the_streams_prepared_after_it(
    afas_sandbox: RunningSandbox,
) -> None:
    state = first_state(afas_sandbox)
    afas_sandbox.latency.fixed_ms = LATENCY_MS
    message = "Veld 'Gewijzigd_op' bestaat niet."
    recorder = RequestRecorder(afas_sandbox)

    def break_employees(tap: Any) -> None:  # after discovery: its metainfo is answered
        afas_sandbox.faults.add(status=500, connector="Profit_Employees", external_message=message)

    run = run_tap(
        tap_config(afas_sandbox),
        state,
        before_sync=break_employees,
        expect_error=True,
        clock=clock_ahead(),
    )

    assert message in run.error_text
    asked = {r.connector for r in recorder.snapshot() if r.connector}
    assert {"Profit_FreeTable_K01", "Profit_Organisations"} <= asked, (
        "precondition: streams after the failing one were prepared"
    )
    assert reader_threads() == [], "prepared readers left running"


MID_SYNC = {"Profit_Persons": ("PersonId",), "Profit_Transactions": ("UnitId", "EntryNo", "SeqNo")}


def test_rows_changing_after_a_prefetched_page_are_complete_over_two_runs(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    """Persons and Transactions are prepared while Debtors emits; once each one's prefetched
    first page is answered, rows of it are inserted, updated and deleted (stamped after the
    sync started, by the sandbox's clock, which the tap reads too). Over that sync and the
    next: no row twice in a sync, every row changed before the sync and not during it once in
    that sync with its values and not again, and every row's latest version emitted."""
    clock = ManualClock(datetime.now(timezone.utc).replace(microsecond=0))
    sandbox = afas_sandbox_factory(clock=clock)
    config = tap_config(sandbox, page_size=50, connectors=["Profit_Debtors", *MID_SYNC])
    state = run_tap(config, clock=clock.now).state
    clock.advance(5)
    before = {c: set(sandbox.mutate(c, updates=150).updated) for c in MID_SYNC}
    sandbox.mutate("Profit_Debtors", updates=150)
    clock.advance(5)  # the next sync starts here
    sandbox.latency.fixed_ms = LATENCY_MS
    touched: dict[str, set[str]] = {c: set() for c in MID_SYNC}
    first_pages: list[float] = []

    def change_after_prefetch(request: Seen) -> None:
        connector = request.connector
        if connector in MID_SYNC and not touched[connector] and request.status == 200:
            first_pages.append(request.finished)
            clock.advance(1)
            result = sandbox.mutate(connector, inserts=5, updates=30, deletes=5)
            touched[connector] = {*result.inserted, *result.updated, *result.deleted}

    recorder = RequestRecorder(sandbox, after=change_after_prefetch)
    first = run_tap(config, state, clock=clock.now)
    debtors_done = max(r.finished for r in recorder.snapshot() if r.connector == "Profit_Debtors")
    recorder.after = None
    clock.advance(5)
    second = run_tap(config, first.state, clock=clock.now)

    assert len(first_pages) == 2
    assert all(t < debtors_done for t in first_pages), "precondition: the pages were prefetched"
    with SandboxReader(sandbox) as reader:
        latest = {c: reader.expected(c) for c in MID_SYNC}
    for connector, key_fields in MID_SYNC.items():
        now = {key_of(r, key_fields): r for r in latest[connector]}
        r1, r2 = first.records(connector.lower()), second.records(connector.lower())
        k1, k2 = [key_of(r, key_fields) for r in r1], [key_of(r, key_fields) for r in r2]
        assert duplicates(k1) == [], connector
        assert duplicates(k2) == [], connector
        assert len(r1) > 2 * 50, "precondition: the window held several pages"
        settled = before[connector] - touched[connector]
        first_by_key = {key_of(r, key_fields): r for r in r1}
        assert all(canon(first_by_key[k]) == canon(now[k]) for k in settled), connector
        assert not settled & set(k2), (connector, "a row changed before the sync came again")
        emitted = {canon(r) for r in r1 + r2}
        changed = [k for k in before[connector] | touched[connector] if k in now]
        assert [k for k in changed if canon(now[k]) not in emitted] == [], connector


PREPARED_FAULTS = {
    "Profit_Employees": {"kind": "reset"},
    "Profit_Organisations": {"kind": "truncate"},
    "Profit_Persons": {"status": 503, "retry_after": 1},
    "Profit_Subjects": {"status": 500, "external_message": "Timeout expired"},
}


def test_faults_on_prepared_first_pages_are_retried_and_the_sync_is_unchanged(
    afas_sandbox: RunningSandbox,
) -> None:
    """A reset, a truncated body, a 503 and a transient 500 on the first request of streams
    prepared while others emit: retried in the background as any request (other streams' requests
    go while one waits to retry), and the sync emits the records and STATE messages of the same
    sync without faults."""
    state = first_state(afas_sandbox)
    afas_sandbox.mutate("Profit_Persons", updates=20)
    afas_sandbox.mutate("Profit_Subjects", updates=20)
    afas_sandbox.latency.fixed_ms = LATENCY_MS
    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    faults: list[Any] = []

    def add_faults(tap: Any) -> None:  # after discovery: its metainfo calls are answered
        for connector, fault in PREPARED_FAULTS.items():
            faults.append(afas_sandbox.faults.add(connector=connector, times=1, **fault))

    recorder = RequestRecorder(afas_sandbox)
    faulted = run_tap(tap_config(afas_sandbox), state, before_sync=add_faults, clock=lambda: end)
    requests = recorder.snapshot()
    clean = run_tap(tap_config(afas_sandbox), state, clock=lambda: end)

    assert [f.hits for f in faults] == [1] * len(PREPARED_FAULTS)
    assert records(faulted) == records(clean)
    assert faulted.states == clean.states
    assert sum(len(r) for r in faulted.by_stream.values()) >= 40, "precondition: changes"
    for connector in PREPARED_FAULTS:  # the sync went on while the request waited to retry
        failed, retried = sorted((r for r in requests if r.connector == connector), key=start)[:2]
        waiting = (failed.finished, retried.started)
        during = [
            r.connector
            for r in requests
            if r.connector not in (None, connector) and waiting[0] <= r.started < waiting[1]
        ]
        assert during, f"nothing else was asked for while {connector}'s first page waited"
    assert reader_threads() == []
