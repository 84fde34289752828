"""Contract tests of what a request costs in time: a fixed latency per request, a latency per
row returned and per row skipped, and parallel requests that overlap their delays.

Layer: afas-sandbox only, over real HTTP on loopback with plain ``requests``. Timings are lower
bounds, except where the point is that a cost is *not* charged; there the bound is far above
what the request costs without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from afas_sandbox import LatencyModel, RunningSandbox
from afas_sandbox.inputs import MAX_DELAY_SECONDS, SandboxInputError
from tests.support.sandbox_reading import RawClient

PERSONS = "/connectors/Profit_Persons"
TRANSACTIONS = "/connectors/Profit_Transactions"
BY_KEY = "UnitId,EntryNo,SeqNo"


def timed(api: RawClient, path: str, params: dict[str, Any]) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = api.get(path, params)
    return time.perf_counter() - started, response


@pytest.fixture
def costly(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> Iterator[Callable[..., RawClient]]:
    """A full-access client of a fresh sandbox with the given ``LatencyModel`` values."""
    clients: list[RawClient] = []

    def make(**latency: float) -> RawClient:
        sandbox = afas_sandbox_factory(latency=LatencyModel(**latency))
        client = RawClient(sandbox, sandbox.tokens.full.header)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_parallel_requests_overlap_their_latency(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory(latency=LatencyModel(fixed_ms=200))
    headers = {"Authorization": sandbox.tokens.full.header}
    start = threading.Barrier(4)
    elapsed: list[float] = []

    def call() -> None:
        start.wait()
        began = time.perf_counter()
        response = requests.get(sandbox.base_url + PERSONS, headers=headers, timeout=30)
        assert response.status_code == 200
        elapsed.append(time.perf_counter() - began)

    began = time.perf_counter()
    callers = [threading.Thread(target=call) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    wall = time.perf_counter() - began
    assert len(elapsed) == 4
    assert min(elapsed) >= 0.2
    assert wall < 0.6  # one after the other would take 0.8 s at least


def test_a_skip_pays_for_every_row_it_skips(costly: Callable[..., RawClient]) -> None:
    api = costly(per_skipped_row_ms=1)
    elapsed, response = timed(
        api, TRANSACTIONS, {"skip": 600, "take": 1, "orderbyfieldids": BY_KEY}
    )
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 1
    assert elapsed >= 0.6
    elapsed, response = timed(api, TRANSACTIONS, {"skip": 0, "take": 1, "orderbyfieldids": BY_KEY})
    assert response.status_code == 200
    assert elapsed < 0.3  # skip=0 skips nothing (the 600-row skip above cost 0.6 s)


def test_skip_minus_one_pays_per_row_returned_and_skips_nothing(
    costly: Callable[..., RawClient],
) -> None:
    api = costly(per_row_ms=1, per_skipped_row_ms=1000)
    elapsed, response = timed(api, PERSONS, {"skip": -1, "take": -1})
    assert response.status_code == 200
    rows = len(response.json()["rows"])
    assert rows > 100
    assert elapsed >= rows * 0.001
    assert elapsed < rows * 0.001 + 0.9  # one skipped row would cost a whole second


def test_every_cost_adds_up(costly: Callable[..., RawClient]) -> None:
    api = costly(fixed_ms=100, per_row_ms=1, per_skipped_row_ms=2)
    elapsed, response = timed(
        api, TRANSACTIONS, {"skip": 200, "take": 300, "orderbyfieldids": BY_KEY}
    )
    assert len(response.json()["rows"]) == 300
    assert elapsed >= 0.1 + 300 * 0.001 + 200 * 0.002


def test_admin_sets_the_cost_per_skipped_row(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    response = requests.put(
        afas_sandbox.admin_url + "/latency", json={"per_skipped_row_ms": 2}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"fixed_ms": 0.0, "per_row_ms": 0.0, "per_skipped_row_ms": 2.0}
    assert afas_sandbox.latency.per_skipped_row_ms == 2
    elapsed, page = timed(api, TRANSACTIONS, {"skip": 300, "take": 1, "orderbyfieldids": BY_KEY})
    assert page.status_code == 200
    assert elapsed >= 0.6


def test_a_delay_never_exceeds_the_longest_the_sandbox_waits() -> None:
    model = LatencyModel(fixed_ms=10, per_row_ms=1, per_skipped_row_ms=2)
    assert model.seconds(3, 4) == pytest.approx((10 + 3 + 8) / 1000)
    assert model.seconds(0, 2**31 - 1) == MAX_DELAY_SECONDS


@pytest.mark.parametrize("value", [-1, float("nan"), "2", True, 600_001])
def test_a_wrong_cost_per_skipped_row_is_refused(value: object) -> None:
    with pytest.raises(SandboxInputError, match="per_skipped_row_ms") as refused:
        LatencyModel(per_skipped_row_ms=value)  # type: ignore[arg-type]
    assert refused.value.field == "per_skipped_row_ms"
