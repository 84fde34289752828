"""Unit layer: ``KeyRangeReader.prefetch`` (a full-table stream that syncs next asks for its
first page early) against the sandbox over real HTTP, with the data, truth and request log of
``tests.unit.test_key_ranges``: the first page only until the rows are asked for, not asked for
twice, the same rows in key order; a prefetched reader that is closed unread waits for that
request and sends nothing more; a failed first page is raised by the rows.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from afas_profit.client import ProfitClient, RetryPolicy
from afas_profit.errors import AFASRequestError
from afas_profit.key_ranges import KeyRangeReader
from afas_sandbox import RunningSandbox
from tests.support.waiting import wait_until
from tests.unit.test_key_ranges import (
    CONNECTOR,
    ROWS,
    WIDE,
    Factory,
    PageKeys,
    Sent,
    assert_exact,
    client_for,
    expected,
    started_threads,
)

SETTLE_SECONDS = 0.4  # ten times the sandbox latency below: time for any other request to go


@pytest.fixture
def sandbox(afas_sandbox_factory: Factory) -> RunningSandbox:
    box: RunningSandbox = afas_sandbox_factory(rows=ROWS)
    box.latency.fixed_ms = 40
    return box


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[ProfitClient]:
    c = client_for(sandbox)
    yield c
    c.close()


def wait_for(log: PageKeys, count: int) -> list[Sent]:
    wait_until(lambda: len(log.snapshot()) >= count)
    return log.snapshot()


def reader(client: ProfitClient, parallel: int) -> KeyRangeReader:
    return KeyRangeReader(
        client, CONNECTOR, WIDE, take=1000, parallel=parallel, integer_first_key=True
    )


@pytest.mark.parametrize("parallel", [1, 4], ids=lambda p: f"parallel{p}")
def test_prefetch_asks_for_the_first_page_only_until_the_rows_are_asked_for(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    truth = expected(sandbox, WIDE)
    log = PageKeys(sandbox, WIDE)
    before = set(threading.enumerate())
    table = reader(client, parallel)
    assert table.prefetch() is True
    assert len(wait_for(log, 1)) == 1
    time.sleep(SETTLE_SECONDS)
    (first,) = log.snapshot()
    assert (first.params["take"], first.params["skip"]) == ("1000", "0")
    assert first.keys == [tuple(r[k] for k in WIDE) for r in truth[:1000]], "the first page"
    assert table.prefetch() is False, "asked again: nothing more is sent"
    assert len(log.snapshot()) == 1

    assert_exact(list(table.rows()), truth, WIDE)
    sent = log.snapshot()
    asked = Counter(tuple(sorted(s.params.items())) for s in sent)
    assert [p for p, n in asked.items() if n > 1] == [], "a page was asked for twice"
    assert len(sent) == table.requests
    assert started_threads(before) == []


def test_a_prefetched_reader_that_is_closed_sends_nothing_more(
    sandbox: RunningSandbox, client: ProfitClient
) -> None:
    log = PageKeys(sandbox, WIDE)
    before = set(threading.enumerate())
    table = reader(client, 4)
    assert table.prefetch() is True
    table.close()  # the request under way ends first
    assert started_threads(before) == []
    time.sleep(SETTLE_SECONDS)
    assert len(log.snapshot()) == 1


def test_a_prefetched_first_page_that_fails_is_raised_by_the_rows(
    sandbox: RunningSandbox,
) -> None:
    message = "Veld 'EntryNo' bestaat niet."
    sandbox.faults.add(status=500, connector=CONNECTOR, external_message=message)
    client = client_for(sandbox, retry=RetryPolicy(max_tries=2, base_wait_seconds=0.0))
    before = set(threading.enumerate())
    table = reader(client, 4)
    assert table.prefetch() is True  # the failure waits for the rows, where it is raised
    with pytest.raises(AFASRequestError, match=message):
        list(table.rows())
    client.close()
    assert started_threads(before) == []
