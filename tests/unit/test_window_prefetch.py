"""Unit layer: ``WindowReader.prefetch`` (a stream that syncs next asks for its first page early)
against the sandbox over real HTTP, with the data, truth and request log of
``tests.unit.test_profit_window``: the first page only is asked for until the rows are, it is
not asked for twice, the rows are the same exact sequence, and a prefetched reader that never
reads stops when closed.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from afas_profit.client import ProfitClient, RetryPolicy
from afas_profit.cursor import SeenRows
from afas_profit.errors import AFASRequestError
from afas_profit.window import Progress, WindowReader
from afas_sandbox import RunningSandbox
from tests.support.waiting import wait_until
from tests.unit.test_profit_window import (
    CONNECTOR,
    HI,
    LO,
    Page,
    PageLog,
    assert_exact,
    bursty,
    client_for,
    expected,
    place,
    reader_threads,
    window_reader,
)

Factory = Any
SETTLE_SECONDS = 0.4  # ten times the sandbox latency below: time for any other request to go


@pytest.fixture
def sandbox(afas_sandbox_factory: Factory) -> RunningSandbox:
    box: RunningSandbox = afas_sandbox_factory()
    box.latency.fixed_ms = 40
    return box


@pytest.fixture
def client(sandbox: RunningSandbox) -> Any:
    c = client_for(sandbox)
    yield c
    c.close()


def wait_for_pages(log: PageLog, count: int) -> list[Page]:
    wait_until(lambda: len(log.snapshot()) >= count)
    return log.snapshot()


def asked_twice(pages: list[Page]) -> list[tuple[tuple[str, str], ...]]:
    asked = Counter(tuple(sorted(p.params.items())) for p in pages)
    return [params for params, n in asked.items() if n > 1]


# Read from a checkpoint (what the tap prefetches) and as a first sync (whose end probe and
# undated-rows page would otherwise leave with the first page).
FROM = {
    "checkpoint": lambda: Progress(LO, SeenRows(), empty_pending=False),
    "first-sync": lambda: None,
}


@pytest.mark.parametrize("start", list(FROM), ids=list(FROM))
@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_prefetch_asks_for_the_first_page_only_until_the_rows_are_asked_for(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int, start: str
) -> None:
    truth = expected(sandbox, place(sandbox, bursty()))
    log = PageLog(sandbox)
    reader = window_reader(client, take=20, parallel=parallel, progress=FROM[start]())
    assert reader.prefetch() is True
    assert len(wait_for_pages(log, 1)) == 1
    time.sleep(SETTLE_SECONDS)
    (first,) = log.snapshot()
    assert not first.probe
    assert (first.params["take"], first.params["skip"]) == ("20", "0"), "the window's first page"
    assert len(reader_threads()) == 1, "one worker reads the prefetched page"
    assert reader.prefetch() is False, "asked again: nothing more is sent"
    assert len(log.snapshot()) == 1

    emitted = list(reader.rows())
    assert_exact(emitted, truth)
    pages = log.snapshot()
    assert len(pages) > 3, "precondition: the window holds several pages"
    assert asked_twice(pages) == [], "a page was asked for twice"
    assert reader_threads() == []


def test_a_prefetched_reader_that_is_closed_stops_without_reading_on(
    sandbox: RunningSandbox, client: ProfitClient
) -> None:
    place(sandbox, bursty())
    log = PageLog(sandbox)
    reader = window_reader(client, take=20, parallel=4, progress=FROM["checkpoint"]())
    assert reader.prefetch() is True
    wait_for_pages(log, 1)
    assert len(reader_threads()) == 1
    reader.close()
    assert reader_threads() == []
    time.sleep(SETTLE_SECONDS)
    assert len(log.snapshot()) == 1


@pytest.mark.parametrize(("parallel", "lo"), [(1, LO), (4, HI)], ids=["one-worker", "empty-window"])
def test_nothing_is_prefetched_with_one_worker_or_an_empty_window(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int, lo: Any
) -> None:
    truth = expected(sandbox, place(sandbox, bursty()), lo=lo)
    log = PageLog(sandbox)
    reader = WindowReader(client, CONNECTOR, "Mutatiedatum", ("UnitId", "EntryNo", "SeqNo"),
                          lo=lo, hi=HI, take=20, parallel=parallel)  # fmt: skip
    assert reader.prefetch() is False
    time.sleep(SETTLE_SECONDS)
    assert log.snapshot() == []
    assert reader_threads() == []
    assert_exact(list(reader.rows()), truth)


def test_a_prefetched_first_page_that_fails_is_raised_by_the_rows(
    sandbox: RunningSandbox,
) -> None:
    place(sandbox, bursty())
    message = "Veld 'Mutatiedatum' bestaat niet."
    sandbox.faults.add(status=500, connector=CONNECTOR, external_message=message)
    client = client_for(sandbox, retry=RetryPolicy(max_tries=2, base_wait_seconds=0.0))
    reader = window_reader(client, take=20, parallel=4, progress=FROM["checkpoint"]())
    assert reader.prefetch() is True  # the failure waits for the rows, where it is raised
    with pytest.raises(AFASRequestError, match=message):
        list(reader.rows())
    client.close()
    assert reader_threads() == []
