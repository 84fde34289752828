"""Tap layer: full-table syncs emit every sandbox row exactly once, at any page size.

A full-table stream pages by key (``key >= last``) and skips the rows of the last key it already
emitted. The tap converts dates in the records it emits; that must not make it re-emit rows.
Connectors with date fields are forced full-table with ``replication_keys: {id: null}`` and their
records compared with an incremental sync's; connectors without date fields are full-table anyway
and compared with the sandbox's rows converted in the test
(``tests.support.sandbox_reading.expected_record``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.support.records import key_of, multiset
from tests.support.sandbox_reading import SandboxReader
from tests.support.tap_runs import TapRun, run_tap, tap_config

TRANSACTION_ROWS = 300  # the sandbox's transaction lines; persons are 600 in every demo size
PAGE_SIZES = [1, 7, 100]
WITH_DATES = ["Profit_Transactions", "Profit_Persons"]
WITHOUT_DATES = ["Profit_Administrations", "Profit_Subject_Attachments"]


@pytest.fixture
def sandbox(afas_sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return afas_sandbox_factory(rows=TRANSACTION_ROWS)


@pytest.fixture
def reader(sandbox: RunningSandbox) -> SandboxReader:
    return SandboxReader(sandbox)


def _sync(sandbox: RunningSandbox, connector: str, **settings: Any) -> tuple[TapRun, list[str]]:
    """Sync one connector; its records and their keys (as ``key_of`` writes them)."""
    run = run_tap(tap_config(sandbox, connectors=[connector], **settings))
    stream = connector.lower()
    key_fields = run.schemas[stream]["key_properties"]
    assert key_fields, f"{connector} has no key fields, so it is not read by key"
    return run, [key_of(r, key_fields) for r in run.records(stream)]


def _sandbox_keys(reader: SandboxReader, connector: str, key_fields: list[str]) -> Counter[str]:
    return Counter(key_of(row, key_fields) for row in reader.all_rows(connector))


def _assert_each_key_once(keys: list[str], expected: Counter[str]) -> None:
    got, total = Counter(keys), sum(expected.values())
    assert len(keys) == total, f"{len(keys)} records for {total} rows"
    assert {
        "repeated": sorted(k for k, n in got.items() if n > 1),
        "missing": sorted((expected - got).elements()),
        "unexpected": sorted((got - expected).elements()),
    } == {"repeated": [], "missing": [], "unexpected": []}


@pytest.mark.parametrize("page_size", PAGE_SIZES, ids=[f"page{p}" for p in PAGE_SIZES])
@pytest.mark.parametrize("connector", WITH_DATES)
def test_full_table_sync_of_a_connector_with_dates_emits_each_row_once(
    sandbox: RunningSandbox, reader: SandboxReader, connector: str, page_size: int
) -> None:
    full, keys = _sync(sandbox, connector, page_size=page_size, replication_keys={connector: None})
    stream = connector.lower()
    assert full.schemas[stream].get("bookmark_properties") in (None, [])
    key_fields = full.schemas[stream]["key_properties"]
    _assert_each_key_once(keys, _sandbox_keys(reader, connector, key_fields))

    incremental, _ = _sync(sandbox, connector)
    assert incremental.schemas[stream]["bookmark_properties"], "not an incremental sync"
    assert multiset(full.records(stream)) == multiset(incremental.records(stream))
    assert multiset(full.records(stream)) == multiset(reader.expected(connector))


@pytest.mark.parametrize("page_size", PAGE_SIZES, ids=[f"page{p}" for p in PAGE_SIZES])
@pytest.mark.parametrize("connector", WITHOUT_DATES)
def test_full_table_sync_of_a_connector_without_dates_emits_each_row_once(
    sandbox: RunningSandbox, reader: SandboxReader, connector: str, page_size: int
) -> None:
    assert all(f["dataType"] != "date" for f in reader.fields(connector))
    run, keys = _sync(sandbox, connector, page_size=page_size)
    stream = connector.lower()
    key_fields = run.schemas[stream]["key_properties"]
    _assert_each_key_once(keys, _sandbox_keys(reader, connector, key_fields))
    assert multiset(run.records(stream)) == multiset(reader.expected(connector))


@pytest.mark.parametrize("parallel", [1, 2, 5], ids=lambda p: f"parallel{p}")
@pytest.mark.parametrize("page_size", [7, 40], ids=lambda p: f"page{p}")
@pytest.mark.parametrize(
    "keys", [["EntryNo", "UnitId", "SeqNo"], ["UnitId", "EntryNo", "SeqNo"]], ids=["wide", "few"]
)
def test_full_table_read_in_key_ranges_emits_each_row_once_in_key_order(
    sandbox: RunningSandbox, reader: SandboxReader, keys: list[str], page_size: int, parallel: int
) -> None:
    """An integer first key is read in parallel ranges (afas_profit.key_ranges): a wide one
    (EntryNo) in many ranges, one with three values (UnitId) in ranges of one value; every row
    once, in key order, the same records as one request at a time."""
    connector, stream = "Profit_Transactions", "profit_transactions"
    settings: dict[str, Any] = {
        "replication_keys": {connector: None},
        "primary_keys": {connector: keys},
        "page_size": page_size,
        "max_parallel_requests": parallel,
    }
    run, got = _sync(sandbox, connector, **settings)
    assert run.schemas[stream]["key_properties"] == keys
    _assert_each_key_once(got, _sandbox_keys(reader, connector, keys))
    order = [tuple(r[k] for k in keys) for r in run.records(stream)]
    assert order == sorted(order), "not in key order"
    assert multiset(run.records(stream)) == multiset(reader.expected(connector))
