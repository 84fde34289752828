"""Unit layer: ``afas_profit.cursor`` driven to completion against an in-memory fake GetConnector.

The fake (``FakeGetConnector``) keeps what AFAS hides: every row's modified timestamp is stored
with microseconds but shown rounded half up to the second with a false trailing ``Z``, and filters
on it compare the STORED value (afas-rest-api.md 3.7, 9.2). It reads the query parameters the
cursor sends (compact filter or ``filterjson``, ``orderbyfieldids``, ``skip``/``take``), ANDs
conditions within a group and ORs the groups, orders by the requested fields (stored value for
the replication key, plain values otherwise; ties in insertion order), honours ``skip=-1``
(everything, ``take`` ignored) and refuses ``take=-1`` with another skip, as AFAS does.
"""

from __future__ import annotations

import json
import operator
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from afas_profit.cursor import (
    PRUNE_AFTER,
    Cursor,
    HashedRow,
    IncrementalCursor,
    KeysetCursor,
    PageRequest,
    SeenRows,
    SingleRequestCursor,
    row_hash,
)
from afas_profit.errors import AFASRequestError
from afas_profit.filters import Condition, Op
from afas_profit.times import filter_value, parse_afas_datetime

Row = dict[str, Any]

R = "Mutatiedatum"
LO = datetime(2026, 3, 2, 8, 0, 0)
HI = LO + timedelta(minutes=4)
HALF = timedelta(microseconds=500_000)

COMPARE: dict[int, Callable[[Any, Any], bool]] = {
    1: operator.eq,
    2: operator.ge,
    3: operator.le,
    4: operator.gt,
    5: operator.lt,
    7: operator.ne,
}


def shown(stored: datetime) -> str:
    """How AFAS shows a stored timestamp: rounded half up to the second, with a false Z."""
    return filter_value(stored + HALF) + "Z"


@dataclass
class Stored:
    """One row as the fake stores it: visible values plus the hidden stored timestamp."""

    index: int
    values: dict[str, Any]
    stored: datetime | None = None


@dataclass
class FakeGetConnector:
    """An in-memory GetConnector with AFAS's filter, order and paging semantics."""

    rows: dict[int, Stored]
    replication_key: str | None = None
    case_insensitive: bool = False
    requests: list[dict[str, str | int]] = field(default_factory=list)

    @classmethod
    def of(cls, rows: Iterable[Stored], **options: Any) -> FakeGetConnector:
        return cls({row.index: row for row in rows}, **options)

    def get(self, request: PageRequest) -> list[Row]:
        params = request.params()
        self.requests.append(params)
        skip, take = int(params["skip"]), int(params["take"])
        if take == -1 and skip != -1:
            raise AFASRequestError("500 An unexpected error has occurred.")
        groups = self._filter(params)
        order = str(params["orderbyfieldids"]).split(",") if "orderbyfieldids" in params else []
        matching = [
            row
            for row in self.rows.values()
            if not groups or any(all(self._test(row, *c) for c in group) for group in groups)
        ]
        matching.sort(key=lambda row: ([self._sort_key(row, f) for f in order], row.index))
        if skip != -1:
            matching = matching[skip : skip + take]
        return [self._show(row) for row in matching]

    @staticmethod
    def _filter(params: dict[str, str | int]) -> list[list[tuple[str, int, str]]]:
        if "filterjson" in params:
            document = json.loads(str(params["filterjson"]))
            return [
                [(f["@FieldId"], int(f["@OperatorType"]), f["#text"]) for f in group["Field"]]
                for group in document["Filters"]["Filter"]
            ]
        if "filterfieldids" not in params:
            return []
        parts = [
            [g.split(",") for g in str(params[name]).split(";")]
            for name in ("filterfieldids", "operatortypes", "filtervalues")
        ]
        shapes = {tuple(len(g) for g in p) for p in parts}
        assert len(shapes) == 1, f"filter lists have different shapes: {params}"
        return [
            [(f, int(o), v) for f, o, v in zip(*group, strict=True)]
            for group in zip(*parts, strict=True)
        ]

    def _value(self, row: Stored, name: str) -> Any:
        if name == self.replication_key:
            return row.stored
        if name not in row.values:
            raise AFASRequestError(f"500 Connector field '{name}' not found")
        return row.values[name]

    def _test(self, row: Stored, name: str, op: int, text: str) -> bool:
        value = self._value(row, name)
        if op in (Op.EMPTY, Op.NOT_EMPTY):
            return (value is None or value == "") == (op == Op.EMPTY)
        if value is None:
            return False
        other: Any
        if isinstance(value, datetime):
            other = datetime.fromisoformat(text)
        elif isinstance(value, bool):
            other = text == "true"
        elif isinstance(value, int):
            other = int(text)
        else:
            other = text
            if self.case_insensitive:
                value, other = value.casefold(), other.casefold()
        return COMPARE[op](value, other)

    def _sort_key(self, row: Stored, name: str) -> tuple[Any, ...]:
        value = self._value(row, name)
        if value is None:
            return (0,)
        if self.case_insensitive and isinstance(value, str):
            return (1, value.casefold())
        return (1, value)

    def _show(self, row: Stored) -> Row:
        return {
            name: shown(row.stored) if name == self.replication_key and row.stored else value
            for name, value in row.values.items()
        }


@dataclass
class Run:
    emitted: list[Row]
    snapshots: dict[int, dict[str, Any]]


def change_every_value(row: Row) -> None:
    """What a consumer may do to a row it was given: replace its values in place (the tap's
    ``post_process`` rewrites dates; this rewrites everything, keys included)."""
    for name in row:
        row[name] = f"changed {name}"


def drain(
    cursor: Cursor,
    server: FakeGetConnector,
    *,
    snapshot_at: Iterable[int] = (),
    after_page: Callable[[FakeGetConnector], None] | None = None,
    max_requests: int = 20_000,
    change: str | None = None,
) -> Run:
    """Run a cursor to completion; ``snapshots[k]`` is its JSON checkpoint after k rows.

    ``change="each"``: every yielded row is changed in place right after it is yielded;
    ``change="page"``: every row of the page is changed in place as soon as ``accept`` returns,
    before the first row is taken. ``emitted`` then holds the rows as the server sent them.
    """
    wanted = set(snapshot_at)
    emitted: list[Row] = []
    snapshots: dict[int, dict[str, Any]] = {}
    if 0 in wanted:
        snapshots[0] = json.loads(json.dumps(cursor.checkpoint()))
    for _ in range(max_requests):
        if cursor.done:
            return Run(emitted, snapshots)
        rows = server.get(cursor.request())
        sent = {id(row): dict(row) for row in rows}
        accepted = cursor.accept(rows)
        if change == "page":
            for row in rows:
                change_every_value(row)
        for row in accepted:
            emitted.append(sent[id(row)] if change else row)
            if change == "each":
                change_every_value(row)
            if len(emitted) in wanted:
                snapshots[len(emitted)] = json.loads(json.dumps(cursor.checkpoint()))
        if after_page is not None:
            after_page(server)
    raise AssertionError(f"cursor did not finish within {max_requests} requests")


def incremental(
    *,
    take: int,
    lo: datetime = LO,
    hi: datetime = HI,
    seen: SeenRows | None = None,
    extra: tuple[Condition, ...] = (),
) -> IncrementalCursor:
    return IncrementalCursor(R, ["Id"], lo=lo, hi=hi, take=take, extra=extra, seen=seen)


def resume(progress: dict[str, Any], *, take: int) -> IncrementalCursor:
    return incremental(
        take=take,
        lo=parse_afas_datetime(progress["lo"]),
        seen=SeenRows.from_state(progress["seen"]),
    )


def row_at(
    index: int, stored: datetime | None, *, ident: int | None = None, group: str = "A"
) -> Stored:
    return Stored(
        index,
        {"Id": index if ident is None else ident, R: None, "Name": f"n{index}", "Group": group},
        stored,
    )


def random_table(seed: int, count: int = 320, *, bursts: bool = True) -> list[Stored]:
    """Sparse rows, bursts of every width (within one stored second or across boundaries)
    and rows exactly on the window's edges and on half seconds."""
    rng = random.Random(seed)
    span = (HI - LO).total_seconds()
    sparse = count // 3 if bursts else count
    moments = [LO + timedelta(seconds=rng.uniform(-3, span + 3)) for _ in range(sparse)]
    while len(moments) < count:
        start = LO + timedelta(seconds=rng.randrange(-2, int(span) + 2) + rng.random())
        width = rng.choice([0.0, 0.02, 0.3, 0.6, 0.9, 1.4, 2.5])
        moments.extend(
            start + timedelta(seconds=rng.uniform(0, width)) for _ in range(rng.randint(1, 70))
        )
    tiny = timedelta(microseconds=1)
    moments += [LO, LO - tiny, LO + HALF, LO + HALF - tiny, HI - tiny, HI, HI - HALF, HI + HALF]
    moments += [LO + timedelta(seconds=s) for s in range(1, 6)]
    ids = list(range(1, len(moments) + 1))
    rng.shuffle(ids)
    return [
        row_at(i, moment, ident=ids[i], group=rng.choice("AB")) for i, moment in enumerate(moments)
    ]


def window_ids(table: Iterable[Stored], lo: datetime = LO, hi: datetime = HI) -> Counter[int]:
    return Counter(row.values["Id"] for row in table if row.stored and lo <= row.stored < hi)


def emitted_ids(rows: Iterable[Row]) -> Counter[int]:
    return Counter(row["Id"] for row in rows)


def exactly_once_problems(got: Counter[int], expected: Counter[int]) -> dict[str, list[int]]:
    return {
        "duplicates": sorted(i for i, n in got.items() if n > 1),
        "missing": sorted((expected - got).elements()),
        "unexpected": sorted(set(got) - set(expected)),
    }


def assert_exactly_once(emitted: Iterable[Row], expected: Counter[int]) -> None:
    problems = exactly_once_problems(emitted_ids(emitted), expected)
    assert problems == {"duplicates": [], "missing": [], "unexpected": []}


def assert_no_skip(server: FakeGetConnector) -> None:
    assert {int(p["skip"]) for p in server.requests} <= {0, -1}


SEEDS = [1, 2, 3, 5, 8, 13]
TAKES = [3, 10, 50]


# --- IncrementalCursor: whole runs ----------------------------------------------------------


@pytest.mark.parametrize("take", TAKES, ids=[f"take{t}" for t in TAKES])
@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_incremental_emits_every_window_row_once_in_shown_order(seed: int, take: int) -> None:
    table = random_table(seed)
    server = FakeGetConnector.of(table, replication_key=R)
    run = drain(incremental(take=take), server)
    assert_exactly_once(run.emitted, window_ids(table))
    shown_values = [row[R] for row in run.emitted]
    assert shown_values == sorted(shown_values)
    assert_no_skip(server)
    for params in server.requests:
        assert str(params["orderbyfieldids"]).split(",") == [R, "Id"]
        if int(params["skip"]) == -1:
            assert int(params["take"]) == -1
        else:
            assert int(params["take"]) == take


def _at(second: float) -> datetime:
    return LO + timedelta(seconds=second)


SMALL_CASES: list[tuple[list[float], int]] = [
    ([0.1, 0.2, 1.2, 1.3, 5.0], 3),
    ([0.1, 0.2, 0.6, 1.2, 1.3, 1.4, 9.0], 4),
    ([0.4, 0.49, 0.5, 0.51, 1.0, 1.49, 1.5, 2.0], 2),
    ([0.0] * 9 + [1.0] * 9, 4),
    ([0.0, 239.4, 239.5, 239.999999, 240.0, -0.000001], 2),
    ([0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.45, 1.6, 2.2], 3),
    ([float(s) + 0.5 for s in range(30)], 1),
    ([0.3] * 5 + [0.6] * 5 + [1.3] * 5 + [1.6] * 5, 5),
]
SMALL_IDS = [
    "full-page-reaches-into-next-second-then-dense",
    "page-of-two-shown-seconds-then-dense",
    "half-up-rounding-edges",
    "ties-within-a-stored-instant",
    "window-edges",
    "page-full-within-two-shown-seconds",
    "take-one-half-seconds",
    "bursts-on-both-sides-of-half",
]


@pytest.mark.parametrize(("seconds", "take"), SMALL_CASES, ids=SMALL_IDS)
def test_incremental_small_hand_made_tables(seconds: list[float], take: int) -> None:
    table = [row_at(i, _at(s)) for i, s in enumerate(seconds)]
    server = FakeGetConnector.of(table, replication_key=R)
    run = drain(incremental(take=take), server)
    assert_exactly_once(run.emitted, window_ids(table))
    assert [row[R] for row in run.emitted] == sorted(row[R] for row in run.emitted)
    assert_no_skip(server)


def test_first_request_of_an_incremental_window() -> None:
    request = incremental(take=100, extra=(Condition("Group", Op.EQUAL, "A"),)).request()
    assert request.params() == {
        "skip": 0,
        "take": 100,
        "orderbyfieldids": f"{R},Id",
        "filterfieldids": f"{R},{R},Group",
        "filtervalues": "2026-03-02T08:00:00,2026-03-02T08:04:00,A",
        "operatortypes": "2,5,1",
    }


@pytest.mark.parametrize("seed", SEEDS[:3], ids=[f"seed{s}" for s in SEEDS[:3]])
def test_incremental_honours_extra_filters(seed: int) -> None:
    table = random_table(seed)
    server = FakeGetConnector.of(table, replication_key=R)
    run = drain(incremental(take=10, extra=(Condition("Group", Op.EQUAL, "B"),)), server)
    expected = window_ids(row for row in table if row.values["Group"] == "B")
    assert_exactly_once(run.emitted, expected)


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(HI, HI), (HI, LO)],
    ids=["empty-window", "inverted-window"],
)
def test_empty_window_sends_no_request(lo: datetime, hi: datetime) -> None:
    server = FakeGetConnector.of(random_table(1), replication_key=R)
    run = drain(incremental(take=10, lo=lo, hi=hi), server)
    assert run.emitted == []
    assert server.requests == []


@pytest.mark.parametrize(
    ("burst", "offset"),
    [(3000, 0.0), (3000, 0.7), (1200, 0.25)],
    ids=["3000-rows-in-one-stored-second", "3000-rows-across-a-half-second", "1200-rows"],
)
def test_thousands_of_rows_in_one_stored_second_complete_with_a_small_take(
    burst: int, offset: float
) -> None:
    rng = random.Random(burst)
    second = LO + timedelta(seconds=30 + offset)
    table = [row_at(i, _at(rng.uniform(0, 240))) for i in range(200)]
    table += [
        row_at(200 + i, second + timedelta(microseconds=rng.randrange(0, 300_000)))
        for i in range(burst)
    ]
    server = FakeGetConnector.of(table, replication_key=R)
    run = drain(incremental(take=50), server, max_requests=500)
    assert_exactly_once(run.emitted, window_ids(table))
    assert any(int(p["skip"]) == -1 for p in server.requests), "dense mode never used"
    assert_no_skip(server)
    assert len(server.requests) < 100


# --- IncrementalCursor: resuming from progress ------------------------------------------------


def _cut_points(total: int, rng: random.Random) -> list[int]:
    points = {0, 1, 2, total - 1, total, *range(0, total, max(1, total // 12))}
    points |= {rng.randrange(total + 1) for _ in range(6)}
    return sorted(p for p in points if 0 <= p <= total)


RESUME_CASES = [
    (seed, take, bursts)
    for seed in SEEDS[:4]
    for take, bursts in ((3, True), (10, True), (50, True), (10, False))
]


@pytest.mark.parametrize(
    ("seed", "take", "bursts"),
    RESUME_CASES,
    ids=[f"seed{s}-take{t}-{'bursty' if b else 'sparse'}" for s, t, b in RESUME_CASES],
)
def test_resume_from_progress_emits_exactly_the_remaining_rows(
    seed: int, take: int, bursts: bool
) -> None:
    table = random_table(seed, count=220 if bursts else 120, bursts=bursts)
    expected = window_ids(table)
    total = sum(expected.values())
    cuts = _cut_points(total, random.Random(seed * 1000 + take))
    full = drain(
        incremental(take=take), FakeGetConnector.of(table, replication_key=R), snapshot_at=cuts
    )
    problems = {}
    for cut in cuts:
        server = FakeGetConnector.of(table, replication_key=R)
        rest = drain(resume(full.snapshots[cut], take=take), server)
        got = emitted_ids(full.emitted[:cut]) + emitted_ids(rest.emitted)
        found = exactly_once_problems(got, expected)
        if any(found.values()):
            problems[cut] = found
        assert_no_skip(server)
    assert problems == {}, f"{len(problems)} of {len(cuts)} cut points go wrong"


@pytest.mark.parametrize("cut", [1, 49, 50, 51, 777, 2999, 3050], ids=lambda c: f"after{c}")
def test_resume_inside_a_dense_second(cut: int) -> None:
    rng = random.Random(cut)
    second = LO + timedelta(seconds=10, microseconds=600_000)
    table = [
        row_at(i, second + timedelta(microseconds=rng.randrange(0, 300_000))) for i in range(3000)
    ]
    table += [row_at(3000 + i, _at(20 + i)) for i in range(60)]
    expected = window_ids(table)
    full = drain(
        incremental(take=50), FakeGetConnector.of(table, replication_key=R), snapshot_at=[cut]
    )
    server = FakeGetConnector.of(table, replication_key=R)
    rest = drain(resume(full.snapshots[cut], take=50), server)
    assert_exactly_once(full.emitted[:cut] + rest.emitted, expected)


def test_resume_from_every_row_of_a_long_page_while_lo_trails() -> None:
    """Inside a page ``lo`` follows the newest shown value every ``PRUNE_AFTER`` rows, and
    ``seen`` holds every row emitted from ``lo`` on: a sync resumed from the checkpoint after
    any row of a 200-row page (one row a second, and bursts) emits every remaining row once."""
    window_lo = filter_value(LO)
    table = [row_at(i, _at(i + 0.2)) for i in range(300)]
    table += [row_at(300 + i, _at(400 + i // 5 + 0.1 * (i % 5))) for i in range(300)]
    expected = window_ids(table)
    cuts = list(range(1, sum(expected.values())))
    full = drain(
        incremental(take=200), FakeGetConnector.of(table, replication_key=R), snapshot_at=cuts
    )
    trailing = 0
    for cut in cuts:
        snapshot = full.snapshots[cut]
        newest = max(full.emitted[:cut], key=lambda row: str(row[R]))[R]
        exact_lo = max(filter_value(parse_afas_datetime(newest) - timedelta(seconds=1)), window_lo)
        assert snapshot["lo"] <= exact_lo, f"after {cut} rows lo is ahead of the rows emitted"
        trailing += snapshot["lo"] < exact_lo
        assert sum(len(v) for v in snapshot["seen"].values()) <= PRUNE_AFTER + 10, cut
        server = FakeGetConnector.of(table, replication_key=R)
        rest = drain(resume(snapshot, take=200), server)
        assert_exactly_once(full.emitted[:cut] + rest.emitted, expected)
    assert trailing > len(cuts) // 2, "precondition: lo trails inside pages"


@pytest.mark.parametrize("bursts", [True, False], ids=["bursty", "sparse"])
def test_a_planning_cursor_asks_what_the_emitting_one_asks(bursts: bool) -> None:
    """``plan`` (the window reader's worker cursor, fed the pages its twin emits) leads to the
    same requests as ``accept``; a page shorter than ``take`` ends it unread."""
    table = random_table(5, count=220, bursts=bursts)
    server = FakeGetConnector.of(table, replication_key=R)
    emitting, planning = incremental(take=10), incremental(take=10)
    pages = 0
    while not emitting.done:
        request = emitting.request()
        assert planning.request() == request, f"page {pages}"
        hashed = emitting.hashed(server.get(request))
        list(emitting.accept_hashed(hashed))
        planning.plan(iter(hashed), len(hashed))
        assert planning.done == emitting.done
        pages += 1
    assert pages > 10, "precondition: many pages"

    def unread() -> Iterator[HashedRow]:
        raise AssertionError("a short page was read")
        yield from ()

    short = incremental(take=10)
    short.plan(unread(), 9)
    assert short.done


def test_progress_is_json_and_names_a_local_wall_time() -> None:
    table = random_table(2)
    cursor = incremental(take=10)
    run = drain(cursor, FakeGetConnector.of(table, replication_key=R), snapshot_at=[0, 25])
    assert run.snapshots[0] == {"lo": "2026-03-02T08:00:00", "seen": {}}
    progress = run.snapshots[25]
    assert set(progress) == {"lo", "seen"}
    assert parse_afas_datetime(progress["lo"]) <= parse_afas_datetime(run.emitted[24][R])
    assert run.emitted[24][R] in progress["seen"]


# --- IncrementalCursor: the table changes during the sync ------------------------------------


@pytest.mark.parametrize("take", [3, 10, 50], ids=["take3", "take10", "take50"])
@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_rows_deleted_or_changed_between_pages_do_not_hide_other_rows(seed: int, take: int) -> None:
    table = random_table(seed)
    expected = window_ids(table)
    rng = random.Random(seed)
    touched: set[int] = set()

    def churn(server: FakeGetConnector) -> None:
        for _ in range(rng.randint(0, 2)):
            victim = rng.choice(list(server.rows))
            touched.add(server.rows.pop(victim).values["Id"])
        for _ in range(rng.randint(0, 2)):
            moved = server.rows[rng.choice(list(server.rows))]
            touched.add(moved.values["Id"])
            moved.stored = HI + timedelta(seconds=rng.uniform(0, 60))
            moved.values["Name"] += " (changed)"

    server = FakeGetConnector.of(table, replication_key=R)
    run = drain(incremental(take=take), server, after_page=churn)
    got = emitted_ids(run.emitted)
    assert sorted(i for i, n in got.items() if n > 1) == []
    untouched = Counter({i: n for i, n in expected.items() if i not in touched})
    assert sorted((untouched - got).elements()) == []
    assert set(got) <= set(expected)
    assert_no_skip(server)


# --- SeenRows ---------------------------------------------------------------------------------


def test_seen_rows_round_trip_and_consume_once() -> None:
    moment = "2026-03-02T08:00:01Z"
    row: Row = {"Id": 1, R: moment, "Name": "a"}
    other: Row = {"Id": 2, R: moment, "Name": "b"}
    cursor = incremental(take=10)
    emitted = list(cursor.accept([row]))
    assert emitted == [row]
    seen = SeenRows.from_state(json.loads(json.dumps(cursor.checkpoint()["seen"])))
    assert seen.consume(moment, row_hash(other)) is False
    assert seen.consume("2026-03-02T08:00:02Z", row_hash(row)) is False
    assert seen.consume(moment, row_hash(dict(row))) is True
    assert seen.consume(moment, row_hash(row)) is False
    assert seen.as_state() == {}


@pytest.mark.parametrize("state", [None, [], "x", 3], ids=["none", "list", "string", "number"])
def test_seen_rows_from_odd_state_is_empty(state: object) -> None:
    assert SeenRows.from_state(state).as_state() == {}


# --- KeysetCursor -----------------------------------------------------------------------------


def keyed_table(key_rows: list[dict[str, Any]]) -> list[Stored]:
    return [Stored(i, dict(values)) for i, values in enumerate(key_rows)]


def contents(rows: Iterable[Row]) -> Counter[str]:
    return Counter(json.dumps(row, sort_keys=True) for row in rows)


def table_contents(table: Iterable[Stored]) -> Counter[str]:
    return Counter(json.dumps(row.values, sort_keys=True) for row in table)


def assert_same_rows(emitted: list[Row], table: list[Stored]) -> None:
    got, expected = contents(emitted), table_contents(table)
    assert (sorted((got - expected).elements()), sorted((expected - got).elements())) == ([], [])


KEYSET_TAKES = [2, 3, 7, 50]


@pytest.mark.parametrize("take", KEYSET_TAKES, ids=[f"take{t}" for t in KEYSET_TAKES])
@pytest.mark.parametrize("seed", SEEDS[:4], ids=[f"seed{s}" for s in SEEDS[:4]])
def test_keyset_composite_unique_keys(seed: int, take: int) -> None:
    rng = random.Random(seed)
    keys = {(rng.randint(1, 3), rng.randint(1, 40), rng.randint(1, 4)) for _ in range(200)}
    rows = [
        {"UnitId": u, "EntryNo": e, "SeqNo": s, "Amount": rng.randint(-500, 500)}
        for u, e, s in keys
    ]
    rng.shuffle(rows)
    table = keyed_table(rows)
    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["UnitId", "EntryNo", "SeqNo"], take=take), server)
    assert_same_rows(run.emitted, table)
    order = [(r["UnitId"], r["EntryNo"], r["SeqNo"]) for r in run.emitted]
    assert order == sorted(order)
    assert_no_skip(server)


GROUP_SIZES: list[list[int]] = [
    [1, 7, 120, 3, 50, 51, 2],
    [200],
    [49, 50, 51, 100, 101],
    [8, 8, 8, 1, 15, 16, 14],
]


@pytest.mark.parametrize("take", [7, 50], ids=["take7", "take50"])
@pytest.mark.parametrize(
    "sizes", GROUP_SIZES, ids=["mixed", "one-big-group", "around-take", "around-2x-take7"]
)
def test_keyset_non_unique_keys_with_groups_bigger_than_take(sizes: list[int], take: int) -> None:
    rng = random.Random(sum(sizes) + take)
    rows = [
        {"Code": f"C{group:03d}", "Line": rng.randrange(10**9), "Text": f"g{group}"}
        for group, size in enumerate(sizes)
        for _ in range(size)
    ]
    rng.shuffle(rows)
    table = keyed_table(rows)
    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["Code"], take=take), server)
    assert_same_rows(run.emitted, table)
    assert [r["Code"] for r in run.emitted] == sorted(r["Code"] for r in run.emitted)
    assert_no_skip(server)
    if max(sizes) > take:
        assert any(int(p["skip"]) == -1 for p in server.requests)


@pytest.mark.parametrize("take", [2, 5, 50], ids=["take2", "take5", "take50"])
def test_keyset_identical_duplicate_rows_are_all_emitted(take: int) -> None:
    rows = [
        {"Code": c, "Text": "same"} for c, n in (("A", 3), ("B", 12), ("C", 1)) for _ in range(n)
    ]
    table = keyed_table(rows)
    run = drain(KeysetCursor(["Code"], take=take), FakeGetConnector.of(table))
    assert_same_rows(run.emitted, table)


@pytest.mark.parametrize("take", [3, 10], ids=["take3", "take10"])
def test_keyset_composite_non_unique_keys(take: int) -> None:
    rng = random.Random(take)
    rows = [
        {"A": rng.randint(1, 3), "B": rng.choice("xyz"), "Payload": rng.randrange(10**9)}
        for _ in range(150)
    ]
    table = keyed_table(rows)
    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["A", "B"], take=take), server)
    assert_same_rows(run.emitted, table)
    assert_no_skip(server)


@pytest.mark.parametrize("seed", SEEDS[:3], ids=[f"seed{s}" for s in SEEDS[:3]])
def test_keyset_rows_deleted_between_pages_do_not_hide_other_rows(seed: int) -> None:
    rng = random.Random(seed)
    rows: list[Row] = [{"Id": i, "Name": f"n{i}"} for i in rng.sample(range(10_000), 300)]
    table = keyed_table(rows)
    deleted: set[int] = set()

    def churn(server: FakeGetConnector) -> None:
        for _ in range(rng.randint(0, 3)):
            deleted.add(server.rows.pop(rng.choice(list(server.rows))).values["Id"])

    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["Id"], take=7), server, after_page=churn)
    got = emitted_ids(run.emitted)
    assert sorted(i for i, n in got.items() if n > 1) == []
    ids: set[int] = {r["Id"] for r in rows}
    assert sorted(ids - deleted - set(got)) == []


def test_keyset_first_and_following_requests() -> None:
    cursor = KeysetCursor(
        ["UnitId", "EntryNo"], take=2, extra=(Condition("Year", Op.EQUAL, "2026"),)
    )
    assert cursor.request().params() == {
        "skip": 0,
        "take": 2,
        "orderbyfieldids": "UnitId,EntryNo",
        "filterfieldids": "Year",
        "filtervalues": "2026",
        "operatortypes": "1",
    }
    page = [{"UnitId": 1, "EntryNo": 5, "Year": 2026}, {"UnitId": 1, "EntryNo": 7, "Year": 2026}]
    assert list(cursor.accept(page)) == page
    assert cursor.request().params() == {
        "skip": 0,
        "take": 2,
        "orderbyfieldids": "UnitId,EntryNo",
        "filterfieldids": "UnitId,Year;UnitId,EntryNo,Year",
        "filtervalues": "1,2026;1,7,2026",
        "operatortypes": "4,1;1,2,1",
    }


def test_keyset_none_key_value_raises_request_error() -> None:
    rows = [{"Code": None, "Text": f"t{i}"} for i in range(3)] + [
        {"Code": f"C{i}", "Text": "x"} for i in range(10)
    ]
    table = keyed_table(rows)
    with pytest.raises(AFASRequestError, match="'Code'"):
        drain(KeysetCursor(["Code"], take=5), FakeGetConnector.of(table))


def test_keyset_none_in_a_composite_key_raises_request_error() -> None:
    rows = [{"A": 1, "B": None if i == 2 else i} for i in range(6)]
    with pytest.raises(AFASRequestError, match="'B'"):
        drain(KeysetCursor(["A", "B"], take=3), FakeGetConnector.of(keyed_table(rows)))


def test_keyset_needs_keys() -> None:
    with pytest.raises(ValueError, match="key"):
        KeysetCursor([], take=10)


CASE_CODES = {
    "unique-mixed-case": ["apple", "Banana", "cherry", "Date", "elder", "Fig", "grape", "Kiwi"],
    "case-variants-of-one-value": ["a", "A", "b", "B", "b", "c", "C", "c", "d", "D", "e", "E"],
}


@pytest.mark.parametrize("take", [2, 3, 5], ids=["take2", "take3", "take5"])
@pytest.mark.parametrize("codes", list(CASE_CODES.values()), ids=list(CASE_CODES))
def test_keyset_string_keys_under_a_case_insensitive_collation(codes: list[str], take: int) -> None:
    """AFAS compares strings case-insensitively (SQL Server collation; the sandbox does too)."""
    table = keyed_table([{"Code": c, "Line": i} for i, c in enumerate(codes)])
    server = FakeGetConnector.of(table, case_insensitive=True)
    run = drain(KeysetCursor(["Code"], take=take), server, max_requests=200)
    assert_same_rows(run.emitted, table)


# --- SingleRequestCursor ----------------------------------------------------------------------


def test_single_request_reads_everything_at_once() -> None:
    table = keyed_table([{"Name": f"n{i}", "Group": "AB"[i % 2]} for i in range(250)])
    server = FakeGetConnector.of(table)
    cursor = SingleRequestCursor(["Name"], extra=(Condition("Group", Op.EQUAL, "B"),))
    run = drain(cursor, server)
    assert len(server.requests) == 1
    assert server.requests[0]["skip"] == -1
    assert server.requests[0]["take"] == -1
    assert server.requests[0]["orderbyfieldids"] == "Name"
    assert_same_rows(run.emitted, [row for row in table if row.values["Group"] == "B"])
    assert cursor.done
    assert cursor.checkpoint() is None


def test_single_request_without_order_or_filter() -> None:
    cursor = SingleRequestCursor([])
    assert cursor.request().params() == {"skip": -1, "take": -1}


# --- The consumer changes the rows it is given ----------------------------------------------
#
# The tap's post_process converts dates in the row dicts the cursor yielded. A cursor must take
# everything it needs later (content fingerprints, keys, shown dates) from the rows as AFAS sent
# them, when it accepts the page: never from a dict the consumer may have changed since.

CHANGE_TAKES = [1, 7, 100]
CHANGES = ["each", "page"]
CHANGE_IDS = ["row-changed-after-yield", "page-changed-after-accept"]


def unique_ids_table(count: int, seed: int) -> list[Stored]:
    rng = random.Random(seed)
    ids = rng.sample(range(1, 10 * count), count)
    return keyed_table([{"Id": i, "Name": f"n{i}", "When": "2026-03-02T08:00:00Z"} for i in ids])


@pytest.mark.parametrize("change", CHANGES, ids=CHANGE_IDS)
@pytest.mark.parametrize("take", CHANGE_TAKES, ids=[f"take{t}" for t in CHANGE_TAKES])
def test_keyset_single_key_emits_each_row_once_when_rows_are_changed(
    take: int, change: str
) -> None:
    table = unique_ids_table(250, seed=take)
    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["Id"], take=take), server, change=change)
    assert_same_rows(run.emitted, table)
    assert [r["Id"] for r in run.emitted] == sorted(r.values["Id"] for r in table)
    assert_no_skip(server)


@pytest.mark.parametrize("change", CHANGES, ids=CHANGE_IDS)
@pytest.mark.parametrize("take", CHANGE_TAKES, ids=[f"take{t}" for t in CHANGE_TAKES])
def test_keyset_composite_key_emits_each_row_once_when_rows_are_changed(
    take: int, change: str
) -> None:
    rng = random.Random(take)
    keys = sorted({(rng.randint(1, 3), rng.randint(1, 40), rng.randint(1, 4)) for _ in range(250)})
    rows = [
        {"UnitId": u, "EntryNo": e, "SeqNo": s, "EntryDate": "2026-01-31T00:00:00Z"}
        for u, e, s in keys
    ]
    rng.shuffle(rows)
    table = keyed_table(rows)
    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["UnitId", "EntryNo", "SeqNo"], take=take), server, change=change)
    assert_same_rows(run.emitted, table)
    order = [(r["UnitId"], r["EntryNo"], r["SeqNo"]) for r in run.emitted]
    assert order == sorted(order)
    assert_no_skip(server)


@pytest.mark.parametrize("change", CHANGES, ids=CHANGE_IDS)
@pytest.mark.parametrize("take", CHANGE_TAKES, ids=[f"take{t}" for t in CHANGE_TAKES])
def test_keyset_pages_full_of_one_key_value_emit_each_row_once_when_rows_are_changed(
    take: int, change: str
) -> None:
    """Groups of one key value larger than a page (read whole), and identical rows."""
    sizes = [1, 2, 9, 150, 3, 101, 1]
    rows = [
        {"Code": f"C{group:02d}", "Line": line % 4, "Text": "same"}
        for group, size in enumerate(sizes)
        for line in range(size)
    ]
    random.Random(take).shuffle(rows)
    table = keyed_table(rows)
    server = FakeGetConnector.of(table)
    run = drain(KeysetCursor(["Code"], take=take), server, change=change)
    assert_same_rows(run.emitted, table)
    assert any(int(p["skip"]) == -1 for p in server.requests), "no page was full of one key"
    assert_no_skip(server)


@pytest.mark.parametrize("change", CHANGES, ids=CHANGE_IDS)
@pytest.mark.parametrize("take", CHANGE_TAKES, ids=[f"take{t}" for t in CHANGE_TAKES])
def test_incremental_emits_each_row_once_when_rows_are_changed(take: int, change: str) -> None:
    table = random_table(3, count=160)
    server = FakeGetConnector.of(table, replication_key=R)
    cut = 40
    run = drain(incremental(take=take), server, change=change, snapshot_at=[cut])
    assert_exactly_once(run.emitted, window_ids(table))
    assert_no_skip(server)
    rest = drain(resume(run.snapshots[cut], take=take), server, change=change)
    assert_exactly_once(run.emitted[:cut] + rest.emitted, window_ids(table))


@pytest.mark.parametrize("change", CHANGES, ids=CHANGE_IDS)
def test_single_request_emits_each_row_once_when_rows_are_changed(change: str) -> None:
    table = keyed_table([{"Name": f"n{i}", "When": "2026-03-02T08:00:00Z"} for i in range(30)])
    run = drain(SingleRequestCursor(["Name"]), FakeGetConnector.of(table), change=change)
    assert_same_rows(run.emitted, table)


def test_progress_lo_is_one_second_before_the_newest_shown_value() -> None:
    """``lo`` is worked out from the shown text (the last digit, else by the calendar): the
    same as the calendar for every second of a minute, across midnight, a month, a leap day
    and a year; a shown value that is not a datetime is refused."""
    starts = [datetime(2024, 2, 28, 23, 58, 30), datetime(2025, 12, 31, 23, 59, 0)]
    shown = [
        (start + timedelta(seconds=s)).isoformat() + "Z" for start in starts for s in range(150)
    ]
    # One row per page: at the end of a page ``lo`` follows the newest shown value exactly.
    cursor = IncrementalCursor(R, ("K",), lo=datetime(2024, 1, 1), hi=datetime(2027, 1, 1), take=1)
    checkpoints = []
    for n, value in enumerate(shown):
        assert len(list(cursor.accept_hashed([(value, f"{n:04x}", {})]))) == 1
        checkpoints.append(cursor.checkpoint()["lo"])
    assert checkpoints == [
        (parse_afas_datetime(s) - timedelta(seconds=1)).isoformat() for s in shown
    ]
    bad = IncrementalCursor(R, ("K",), lo=datetime(2024, 1, 1), hi=datetime(2027, 1, 1), take=5)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        list(bad.accept_hashed([("2024-13-01T10:00:0xZ", "00", {})]))
