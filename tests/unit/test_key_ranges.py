"""Unit layer: ``afas_profit.key_ranges.KeyRangeReader`` against the sandbox over real HTTP.

The data are the demo transactions (``Profit_Transactions``: integer fields ``UnitId``,
``EntryNo`` and ``SeqNo``, together unique; ``ROWS`` of them) and the demo persons
(``Profit_Persons``: a string key ``PersonId``). The truth is every row the sandbox returns with
``skip=-1&take=-1``, filtered and sorted by the key fields here, in Python; or, where the reader
must behave as the sequential loop, that loop's own rows and requests (``keyset_loop``).
Requests are observed inside the sandbox (``tests.support.recorders.RequestRecorder``, wrapped by
``PageKeys``); the reader's worker threads are the threads it started (``started_threads``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from afas_profit.client import ProfitClient, RetryPolicy
from afas_profit.cursor import KeysetCursor
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import AFASRequestError, AFASServerError
from afas_profit.filters import Condition, Op
from afas_profit.key_ranges import KeyRangeReader
from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder, Seen
from tests.support.sandbox_reading import SandboxReader

Row = dict[str, Any]
Key = tuple[Any, ...]
Factory = Callable[..., RunningSandbox]

CONNECTOR = "Profit_Transactions"
ROWS = 20_000  # transaction lines: EntryNo 10001-13547 in units 1 (10,301), 2 and 3
WIDE = ("EntryNo", "UnitId", "SeqNo")  # a first key with thousands of values
UNITS = ("UnitId", "EntryNo", "SeqNo")  # a first key with three values: ranges of one value
KEY_ORDERS = [WIDE, UNITS]
KEY_IDS = ["entry-first", "unit-first"]
PERSONS = "Profit_Persons"  # 600 rows, PersonId a string ("100001"): no ranges
PIECE = 0.85  # a range holds about this many pages


def entry(op: Op, value: int) -> Condition:
    return Condition("EntryNo", op, str(value))


def unit(value: int) -> Condition:
    return Condition("UnitId", Op.EQUAL, str(value))


# --------------------------------------------------------------------------- the sandbox's truth


def key_of(row: Row, keys: Sequence[str]) -> Key:
    return tuple(row[k] for k in keys)


COMPARE: dict[Op, Callable[[int, int], bool]] = {
    Op.EQUAL: lambda a, b: a == b,
    Op.NOT_EQUAL: lambda a, b: a != b,
    Op.AT_LEAST: lambda a, b: a >= b,
    Op.LESS: lambda a, b: a < b,
}


def expected(
    sandbox: RunningSandbox, keys: Sequence[str], extra: Sequence[Condition] = ()
) -> list[Row]:
    """Every transaction matching ``extra`` (integer fields), sorted by ``keys``: one
    ``skip=-1&take=-1`` request with plain ``requests``, filtered and sorted here."""
    with SandboxReader(sandbox) as reader:
        rows = reader.all_rows(CONNECTOR)
    assert len(rows) >= ROWS, "precondition: the sandbox's transactions"
    kept = [
        row for row in rows if all(COMPARE[c.op](int(row[c.field_id]), int(c.value)) for c in extra)
    ]
    return sorted(kept, key=lambda r: tuple(int(r[k]) for k in keys))


def assert_exact(
    emitted: list[Row], truth: list[Row], keys: Sequence[str], where: str = ""
) -> None:
    """Every row once (the message names the keys that differ), in key order, as AFAS sent it."""
    got, want = Counter(key_of(r, keys) for r in emitted), Counter(key_of(r, keys) for r in truth)
    doubled = sorted(k for k, n in got.items() if n > 1)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert (doubled, missing, extra) == ([], [], []), f"doubled, missing, not asked for {where}"
    assert [key_of(r, keys) for r in emitted] == [key_of(r, keys) for r in truth], f"order {where}"
    assert emitted == truth, f"row contents {where}"


def keyset_loop(
    client: ProfitClient,
    connector: str,
    keys: Sequence[str],
    *,
    take: int,
    extra: Sequence[Condition] = (),
) -> list[Row]:
    """The sequential loop: one ``KeysetCursor``, one request per page."""
    cursor = KeysetCursor(keys, take=take, extra=extra)
    rows: list[Row] = []
    while not cursor.done:
        rows.extend(cursor.accept(client.get_rows(connector, cursor.request())))
    return rows


# --------------------------------------------------------------------------- observing requests


@dataclass
class Sent:
    """One GetConnector request the sandbox answered: its query and the keys it returned."""

    params: dict[str, str]
    status: int
    keys: list[Key]

    @property
    def probe(self) -> bool:
        """The request for the largest first-key value: one row, ordered descending."""
        return self.params.get("take") == "1" and self.params.get("orderbyfieldids", "")[:1] == "-"

    @property
    def skip(self) -> int:
        return int(self.params.get("skip", "0"))

    def bounded_above(self, key: str) -> bool:
        """Every OR-group of the filter has ``key < value``."""
        groups = self.groups()
        return bool(groups) and all(any(c[:2] == (key, int(Op.LESS)) for c in g) for g in groups)

    def groups(self) -> list[set[tuple[str, int, str]]]:
        """The filter's OR-groups, each a set of (field, operator, value)."""
        if "filterjson" in self.params:
            document = json.loads(self.params["filterjson"])
            return [
                {(f["@FieldId"], int(f["@OperatorType"]), f["#text"]) for f in g["Field"]}
                for g in document["Filters"]["Filter"]
            ]
        if "filterfieldids" not in self.params:
            return []
        parts = [
            [g.split(",") for g in self.params[name].split(";")]
            for name in ("filterfieldids", "operatortypes", "filtervalues")
        ]
        return [
            {(f, int(o), v) for f, o, v in zip(*group, strict=True)}
            for group in zip(*parts, strict=True)
        ]


@dataclass
class PageKeys:
    """The GetConnector requests to ``connector`` a ``RequestRecorder`` on the sandbox sees;
    ``after`` runs once the sandbox has answered one (in the sandbox's thread)."""

    sandbox: RunningSandbox
    keys: Sequence[str] = WIDE
    connector: str = CONNECTOR
    after: Callable[[Sent], None] | None = None
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    recorder: RequestRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = RequestRecorder(self.sandbox, after=self._answered)

    def _answered(self, request: Seen) -> None:
        if (request.connector or "").lower() != self.connector.lower():
            return
        rows = request.response_json["rows"] if request.status == 200 else []
        sent = Sent(request.params, request.status, [key_of(r, self.keys) for r in rows])
        with self.lock:
            self.sent.append(sent)
        if self.after is not None:
            self.after(sent)

    def snapshot(self) -> list[Sent]:
        with self.lock:
            return list(self.sent)


def assert_no_skip(requests: list[Sent]) -> None:
    skips = sorted({r.skip for r in requests})
    assert skips == [0], f"a request skipped rows: skip values {skips}"


def assert_extra_in_every_request(requests: list[Sent], extra: Sequence[Condition]) -> None:
    wanted = {(c.field_id, int(c.op), c.value) for c in extra}
    for request in requests:
        groups = request.groups() or [set()]
        lost = [sorted(wanted - g) for g in groups if not wanted <= g]
        assert not lost, f"conditions {lost} left out of {request.params}"


# --------------------------------------------------------------------------- the reader


def client_for(sandbox: RunningSandbox, **options: Any) -> ProfitClient:
    environment = ProfitEnvironment.from_config(
        {"api_url": sandbox.base_url, "token": sandbox.tokens.full.xml}
    )
    return ProfitClient(environment, **options)


def started_threads(before: Collection[threading.Thread]) -> list[threading.Thread]:
    """Threads alive now that were not before, besides the sandbox's own (``afas-sandbox``)."""
    return [
        t
        for t in threading.enumerate()
        if t not in before and not t.name.startswith("afas-sandbox")
    ]


@pytest.fixture
def sandbox(afas_sandbox_factory: Factory) -> RunningSandbox:
    return afas_sandbox_factory(rows=ROWS)


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[ProfitClient]:
    c = client_for(sandbox)
    yield c
    c.close()


# --------------------------------------------------------------------------- 1: exact, in order


@dataclass(frozen=True)
class Case:
    take: int
    extra: tuple[Condition, ...]


CASES = {
    # ~530 rows, ~80 pages of 7 (three units in every EntryNo)
    "take7-entry-range": Case(7, (entry(Op.AT_LEAST, 10100), entry(Op.LESS, 10160))),
    # ~1,700 rows of one unit: with the unit first, one first-key value in all
    "take50-one-unit": Case(50, (unit(2), entry(Op.LESS, 10600))),
    # ~6,100 rows
    "take100-entry-below": Case(100, (entry(Op.LESS, 10700),)),
    # the whole table, 21 pages
    "take1000-everything": Case(1000, ()),
}


@pytest.mark.parametrize("parallel", [1, 2, 4, 8], ids=lambda p: f"parallel{p}")
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("keys", KEY_ORDERS, ids=KEY_IDS)
def test_every_row_once_and_in_key_order(
    sandbox: RunningSandbox,
    client: ProfitClient,
    keys: tuple[str, ...],
    case: Case,
    parallel: int,
) -> None:
    truth = expected(sandbox, keys, case.extra)
    assert len(truth) > 3 * case.take, "precondition: several pages"
    log = PageKeys(sandbox, keys)
    reader = KeyRangeReader(
        client, CONNECTOR, keys, take=case.take, extra=case.extra, parallel=parallel,
        integer_first_key=True,
    )  # fmt: skip
    emitted = list(reader.rows())
    assert_exact(emitted, truth, keys)
    requests = log.snapshot()
    assert reader.requests == len(requests), "requests counts what the sandbox answered"
    assert_no_skip(requests)
    assert_extra_in_every_request(requests, case.extra)
    assert all(r.status == 200 for r in requests)
    probes = sum(r.probe for r in requests)
    if parallel == 1:
        assert not reader.ranged
        assert probes == 0, "a probe with parallel 1"
    elif len({row[keys[0]] for row in truth}) > 1:  # one first-key value cannot be cut
        assert reader.ranged
        assert probes == 1


# --------------------------------------------------------------------------- 2: when ranges


@pytest.mark.parametrize("parallel", [1, 2, 4, 8], ids=lambda p: f"parallel{p}")
def test_ranges_only_in_parallel_and_read_by_that_many_threads(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    take = 500
    truth = expected(sandbox, WIDE)
    sandbox.latency.fixed_ms = 10  # requests overlap when they can
    log = PageKeys(sandbox, WIDE)
    before = set(threading.enumerate())
    reader = KeyRangeReader(
        client, CONNECTOR, WIDE, take=take, parallel=parallel, integer_first_key=True
    )
    emitted: list[Row] = []
    threads = 0
    for row in reader.rows():
        emitted.append(row)
        if len(emitted) % 100 == 0:
            threads = max(threads, len(started_threads(before)))
    assert_exact(emitted, truth, WIDE)
    requests = log.snapshot()
    probes = [r for r in requests if r.probe]
    assert reader.ranged is (parallel > 1)
    assert threads == (parallel if parallel > 1 else 0), "reader threads while rows were read"
    assert started_threads(before) == [], "reader threads left running"
    if parallel == 1:
        assert probes == []
        assert log.recorder.max_in_flight == 1
        assert len(requests) == len(truth) // take + 1, "the sequential loop's requests"
    else:
        assert len(probes) == 1
        (found,) = probes[0].keys
        assert found[0] == truth[-1]["EntryNo"], "the probe found the largest first key"
        assert probes[0].params["orderbyfieldids"].split(",")[0] == "-EntryNo"
        assert log.recorder.max_in_flight == parallel, "the workers' requests overlap"


SEQUENTIAL = {
    "string-first-key": (PERSONS, ("PersonId",), 4, False),
    "integer-first-key-not-said": (CONNECTOR, WIDE, 4, False),
    "parallel1": (CONNECTOR, WIDE, 1, True),
}


@pytest.mark.parametrize(
    ("connector", "keys", "parallel", "integer_first_key"),
    list(SEQUENTIAL.values()),
    ids=list(SEQUENTIAL),
)
def test_without_ranges_the_reader_sends_the_sequential_loops_requests(
    sandbox: RunningSandbox,
    client: ProfitClient,
    connector: str,
    keys: tuple[str, ...],
    parallel: int,
    integer_first_key: bool,
) -> None:
    take = 50
    extra = (entry(Op.LESS, 10400),) if connector == CONNECTOR else ()
    log = PageKeys(sandbox, keys, connector)
    loop = keyset_loop(client, connector, keys, take=take, extra=extra)
    loop_requests = [r.params for r in log.snapshot()]
    assert len(loop_requests) > 10, "precondition: many pages"
    log.sent.clear()
    before = set(threading.enumerate())
    reader = KeyRangeReader(
        client, connector, keys, take=take, extra=extra, parallel=parallel,
        integer_first_key=integer_first_key,
    )  # fmt: skip
    emitted = list(reader.rows())
    assert emitted == loop
    assert len({key_of(r, keys) for r in emitted}) == len(emitted), "a key twice"
    assert [r.params for r in log.snapshot()] == loop_requests
    assert reader.requests == len(loop_requests)
    assert reader.ranged is False
    assert log.recorder.max_in_flight == 1
    assert started_threads(before) == []


@pytest.mark.parametrize("parallel", [1, 4], ids=lambda p: f"parallel{p}")
@pytest.mark.parametrize("keys", KEY_ORDERS, ids=KEY_IDS)
def test_a_table_smaller_than_a_page_is_one_request(
    sandbox: RunningSandbox, client: ProfitClient, keys: tuple[str, ...], parallel: int
) -> None:
    extra = (entry(Op.AT_LEAST, 10100), entry(Op.LESS, 10110))
    truth = expected(sandbox, keys, extra)
    take = len(truth) + 1
    log = PageKeys(sandbox, keys)
    reader = KeyRangeReader(
        client, CONNECTOR, keys, take=take, extra=extra, parallel=parallel, integer_first_key=True
    )
    assert_exact(list(reader.rows()), truth, keys)
    requests = log.snapshot()
    assert len(requests) == 1
    assert reader.requests == 1
    assert reader.ranged is False
    assert requests[0].params["take"] == str(take)
    assert_extra_in_every_request(requests, extra)


# --------------------------------------------------------------------------- 3: requests


@pytest.mark.parametrize("take", [100, 250], ids=lambda t: f"take{t}")
@pytest.mark.parametrize("parallel", [2, 4, 8], ids=lambda p: f"parallel{p}")
def test_requests_are_about_one_per_range_and_a_probe(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int, take: int
) -> None:
    truth = expected(sandbox, WIDE)
    log = PageKeys(sandbox, WIDE)
    reader = KeyRangeReader(
        client, CONNECTOR, WIDE, take=take, parallel=parallel, integer_first_key=True
    )
    assert_exact(list(reader.rows()), truth, WIDE)
    requests = log.snapshot()
    assert reader.ranged
    assert reader.requests == len(requests)
    assert sum(r.probe for r in requests) == 1
    assert_no_skip(requests)
    # About one request per range of PIECE of a page, the probe, the last range, and a second
    # page for the ranges that held more than a page (density varies: a few in a hundred).
    bound = math.ceil(len(truth) / take / PIECE * 1.05) + parallel + 3
    assert len(requests) <= bound, f"{len(requests)} requests; at most {bound}"
    # Every request of a range is bounded by the first key: no request reads the table's rest
    # (besides the first page, the probe, and the last range's).
    unbounded = [r for r in requests if not r.probe and not r.bounded_above("EntryNo")]
    assert len(unbounded) <= 3, f"{len(unbounded)} requests without an upper bound"


# --------------------------------------------------------------------------- 4: changes meanwhile


@pytest.mark.parametrize(
    ("keys", "parallel"),
    [(WIDE, 4), (UNITS, 3)],
    ids=["entry-first-parallel4", "unit-first-parallel3"],
)
def test_rows_changed_during_the_read_are_emitted_once(
    sandbox: RunningSandbox, client: ProfitClient, keys: tuple[str, ...], parallel: int
) -> None:
    before_keys = {key_of(r, UNITS) for r in expected(sandbox, UNITS)}
    deleted: set[Key] = set()
    inserted: set[Key] = set()
    updated: set[Key] = set()
    answered = Counter[str]()

    def parse(keys_text: list[str]) -> set[Key]:
        return {tuple(int(v) for v in k.split(",")) for k in keys_text}

    def change(sent: Sent) -> None:
        answered["pages"] += 1
        if answered["pages"] % 4 == 0:  # while pages are read: updates, inserts, deletes
            result = sandbox.mutate(CONNECTOR, inserts=1, updates=20, deletes=2)
            inserted.update(parse(result.inserted))
            updated.update(parse(result.updated))
            deleted.update(parse(result.deleted))

    PageKeys(sandbox, keys, after=change)
    reader = KeyRangeReader(
        client, CONNECTOR, keys, take=200, parallel=parallel, integer_first_key=True
    )
    emitted = list(reader.rows())
    assert reader.ranged
    assert answered["pages"] >= 40, "precondition: many pages"
    assert deleted, "precondition: rows deleted while read"
    assert inserted, "precondition: rows inserted while read"
    got = Counter(key_of(r, UNITS) for r in emitted)
    assert sorted(k for k, n in got.items() if n > 1) == [], "a row emitted twice"
    throughout = before_keys - deleted
    assert sorted(throughout - set(got)) == [], "rows that were there throughout are missing"
    assert sorted(set(got) - before_keys - inserted) == [], "rows that never were"
    assert updated & set(got), "precondition: updated rows were read"
    order = [tuple(int(v) for v in key_of(r, keys)) for r in emitted]
    assert order == sorted(order), "not in key order"


# --------------------------------------------------------------------------- 5: bounded memory


@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_a_slow_consumer_holds_a_bounded_number_of_pages(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    take = 10
    extra = (entry(Op.LESS, 10080),)
    truth = expected(sandbox, WIDE, extra)
    assert len(truth) > 40 * take, "precondition: many pages"
    log = PageKeys(sandbox, WIDE)
    reader = KeyRangeReader(
        client, CONNECTOR, WIDE, take=take, extra=extra, parallel=parallel, integer_first_key=True
    )
    consumed: set[Key] = set()
    most = 0
    emitted: list[Row] = []
    for n, row in enumerate(reader.rows(), 1):
        emitted.append(row)
        consumed.add(key_of(row, WIDE))
        # A page is held from its request until its last row was emitted (a keyset page
        # repeats the row it continues after, emitted already).
        answered = [p for p in log.snapshot() if not p.probe and not set(p.keys) <= consumed]
        most = max(most, len(answered) + log.recorder.in_flight)
        if n % take == 0:
            time.sleep(0.02)  # the consumer: slower than the sandbox
    assert_exact(emitted, truth, WIDE)
    assert reader.ranged
    # Read or being read, not yet emitted: parallel + 1; and the page being emitted.
    bound = parallel + 2
    assert most <= bound, f"{most} pages held at once; at most {bound}"
    assert most >= parallel + 1, f"precondition: the workers read ahead ({most} pages held)"


# --------------------------------------------------------------------------- 6, 7: stopping


@pytest.mark.parametrize(
    ("message", "error"),
    [("Veld 'EntryNo' bestaat niet.", AFASRequestError), ("Timeout expired", AFASServerError)],
    ids=["refused", "transient-retries-exhausted"],
)
@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_a_fault_in_a_worker_is_raised_in_the_caller_after_a_prefix(
    sandbox: RunningSandbox, parallel: int, message: str, error: type[Exception]
) -> None:
    truth = expected(sandbox, WIDE)
    answered = Counter[str]()

    def break_after_eight(sent: Sent) -> None:
        answered["pages"] += 1
        if answered["pages"] == 8:  # the first page, the probe and 6 of the workers' pages
            sandbox.faults.add(status=500, connector=CONNECTOR, external_message=message)

    log = PageKeys(sandbox, WIDE, after=break_after_eight)
    client = client_for(sandbox, retry=RetryPolicy(max_tries=2, base_wait_seconds=0.0))
    before = set(threading.enumerate())
    emitted: list[Row] = []
    outcome: list[BaseException] = []

    def read() -> None:
        reader = KeyRangeReader(
            client, CONNECTOR, WIDE, take=100, parallel=parallel, integer_first_key=True
        )
        try:
            for row in reader.rows():
                emitted.append(row)
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=read, name="test-caller", daemon=True)
    started = time.monotonic()
    caller.start()
    caller.join(timeout=30)
    assert not caller.is_alive(), "the caller still waits for pages"
    client.close()
    assert time.monotonic() - started < 10
    assert [type(e) for e in outcome] == [error], outcome
    assert message in str(outcome[0])
    assert 100 <= len(emitted) < len(truth), "the first page's rows, not all of them"
    assert emitted == truth[: len(emitted)], "the rows before the error are not a prefix"
    assert sum(r.status == 500 for r in log.snapshot()) >= 1
    assert started_threads(before) == [], "worker threads left running"


@pytest.mark.parametrize(
    ("parallel", "read"),
    [(2, 150), (8, 150), (8, 1000), (4, 30)],
    ids=["parallel2-150rows", "parallel8-150rows", "parallel8-1000rows", "within-the-first-page"],
)
def test_closing_the_rows_early_stops_the_workers(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int, read: int
) -> None:
    take = 100
    truth = expected(sandbox, WIDE)
    log = PageKeys(sandbox, WIDE)
    before = set(threading.enumerate())
    reader = KeyRangeReader(
        client, CONNECTOR, WIDE, take=take, parallel=parallel, integer_first_key=True
    )
    rows = reader.rows()
    assert isinstance(rows, Generator), "rows() is a generator (it can be closed)"
    emitted = [next(rows) for _ in range(read)]
    assert emitted == truth[:read]
    workers = started_threads(before)
    assert len(workers) == (parallel if read > take else 0), "reader threads while reading"
    rows.close()
    assert started_threads(before) == [], "worker threads left running after close"
    assert not any(t.is_alive() for t in workers)
    sent = len(log.snapshot())
    time.sleep(0.05)
    assert len(log.snapshot()) == sent == reader.requests, "requests sent after close"
    assert sent < len(truth) // take, "the whole table was read"
