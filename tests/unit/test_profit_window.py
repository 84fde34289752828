"""Unit layer: ``afas_profit.window.WindowReader`` against the sandbox over real HTTP.

The data are the demo transactions with their stored modified dates (``t.modified``) set by the
test in the sandbox's database, so every row's stored time is known to the microsecond: bursts
of more than a page in one stored second, rows at ``x.6`` s (shown ``x + 1``), gaps of hours,
a lone row, rows just outside the window that show its edges. The truth is every row the
sandbox returns with ``skip=-1&take=-1`` whose stored time is in ``[lo, hi)``, in AFAS's order
(stored time, then the keys): partitions are contiguous ranges of stored time emitted in order,
so the reader must emit exactly that sequence, whatever its partitions, splits and threads did.
Requests are observed by wrapping the sandbox core's ``handle`` (``PageLog`` on a
``tests.support.recorders.RequestRecorder``).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from afas_profit.client import ProfitClient, RetryPolicy, decode_row
from afas_profit.cursor import Cursor, KeysetCursor, PageRequest, SeenRows, row_hash, text_hash
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import AFASConfigError, AFASRequestError, AFASServerError
from afas_profit.filters import Condition, Op
from afas_profit.read_ahead import MIN_PAGES, ReadAhead
from afas_profit.times import filter_value
from afas_profit.window import PIECE_PAGES, Progress, WindowReader
from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder, Seen
from tests.support.sandbox_reading import SandboxReader

Row = dict[str, Any]
Key = tuple[int, int, int]
Factory = Callable[..., RunningSandbox]

CONNECTOR = "Profit_Transactions"
R = "Mutatiedatum"
KEYS = ("UnitId", "EntryNo", "SeqNo")
LO = datetime(2026, 3, 2, 8, 0, 0)  # local wall-clock time, far from any DST change
HI = LO + timedelta(hours=6)
HI_SECONDS = 6 * 3600
OUTSIDE = datetime(2020, 1, 1)  # the stored time of every row a test does not place
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def at(seconds: float, base: datetime = LO) -> datetime:
    return base + timedelta(microseconds=round(seconds * 1_000_000))


def shown(stored: datetime) -> str:
    """How AFAS shows a stored time: rounded half up to the second, with a false ``Z``."""
    return filter_value(stored + timedelta(microseconds=500_000)) + "Z"


# --------------------------------------------------------------------------- the sandbox's truth


def key_of(row: Row) -> Key:
    return (int(row["UnitId"]), int(row["EntryNo"]), int(row["SeqNo"]))


def place(sandbox: RunningSandbox, stamps: Sequence[datetime]) -> dict[Key, datetime]:
    """Give the first ``len(stamps)`` transactions these stored times, every other one a time
    in 2020 (outside every window); returns every row's stored time by key."""
    rows = sandbox.store.query(
        "SELECT rowid, unit_id, entry_no, seq_no FROM transactions ORDER BY rowid"
    )
    assert len(rows) >= len(stamps), "precondition: enough transactions to place"
    stored: dict[Key, datetime] = {}
    updates = []
    for i, (rowid, unit, entry, seq) in enumerate(rows):
        moment = stamps[i] if i < len(stamps) else OUTSIDE + timedelta(seconds=i)
        stored[(unit, entry, seq)] = moment
        updates.append((moment.strftime(STAMP_FORMAT), rowid))
    with sandbox.store.transaction() as conn:
        conn.executemany("UPDATE transactions SET modified = ? WHERE rowid = ?", updates)
    return stored


def all_rows(sandbox: RunningSandbox, connector: str = CONNECTOR) -> list[Row]:
    """Every row with ``skip=-1&take=-1``, read with plain ``requests`` (not ``afas_profit``)."""
    with SandboxReader(sandbox) as reader:
        return reader.all_rows(connector)


def expected(
    sandbox: RunningSandbox, stored: dict[Key, datetime], lo: datetime = LO, hi: datetime = HI
) -> list[Row]:
    """The window's rows in the order AFAS sorts them: stored time, then the keys."""
    rows = [r for r in all_rows(sandbox) if lo <= stored[key_of(r)] < hi]
    rows.sort(key=lambda r: (stored[key_of(r)], key_of(r)))
    for row in rows:
        assert row[R] == shown(stored[key_of(row)]), "precondition: shown as AFAS rounds"
    return rows


def assert_exact(emitted: list[Row], truth: list[Row], where: str = "") -> None:
    """Every row once (multiset) and in AFAS's order; the message names the keys that differ."""
    got, want = Counter(key_of(r) for r in emitted), Counter(key_of(r) for r in truth)
    doubled = sorted(k for k, n in got.items() if n > 1)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert (doubled, missing, extra) == ([], [], []), f"doubled, missing, outside {where}"
    assert [key_of(r) for r in emitted] == [key_of(r) for r in truth], f"order {where}"
    assert emitted == truth, f"row contents {where}"
    marks = [r[R] for r in emitted]
    assert marks == sorted(marks), f"shown R went backwards {where}"


# --------------------------------------------------------------------------- observing requests


@dataclass
class Page:
    """One GetConnector request the sandbox answered."""

    params: dict[str, str]
    status: int
    keys: list[Key]

    @classmethod
    def of(cls, request: Seen) -> Page:
        rows = request.response_json["rows"] if request.status == 200 else []
        return cls(request.params, request.status, [key_of(r) for r in rows])

    @property
    def probe(self) -> bool:
        return self.params.get("take") == "1" and self.params.get("skip") == "0"


@dataclass
class PageLog:
    """The GetConnector requests a ``RequestRecorder`` on the sandbox sees, as ``Page``s (the
    keys they returned); ``after`` runs once the sandbox has answered one."""

    sandbox: RunningSandbox
    after: Callable[[Page], None] | None = None
    pages: list[Page] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        RequestRecorder(self.sandbox, after=self._answered)

    def _answered(self, request: Seen) -> None:
        if request.connector is None:
            return
        page = Page.of(request)
        with self.lock:
            self.pages.append(page)
        if self.after is not None:
            self.after(page)

    def snapshot(self) -> list[Page]:
        with self.lock:
            return list(self.pages)


# --------------------------------------------------------------------------- the reader


def client_for(sandbox: RunningSandbox, **options: Any) -> ProfitClient:
    environment = ProfitEnvironment.from_config(
        {"api_url": sandbox.base_url, "token": sandbox.tokens.full.xml}
    )
    return ProfitClient(environment, **options)


def no_first_sync() -> Cursor:
    pytest.fail("a reader with a start or a checkpoint read the empty-R rows")


def window_reader(
    client: ProfitClient,
    *,
    take: int,
    parallel: int,
    lo: datetime = LO,
    hi: datetime = HI,
    progress: Progress | None = None,
    text_hashes: bool = True,
    adaptive_take: bool = False,
) -> WindowReader:
    if progress is None and not text_hashes:  # as tap-afas before 0.9 read a window
        return WindowReader(
            client, CONNECTOR, R, KEYS, lo=lo, hi=hi, take=take, parallel=parallel,
            text_hashes=False,
        )  # fmt: skip
    return WindowReader.resume(
        progress,
        start=lo,
        first_sync_rows=no_first_sync,
        client=client,
        connector_id=CONNECTOR,
        replication_key=R,
        keys=KEYS,
        hi=hi,
        take=take,
        parallel=parallel,
        adaptive_take=adaptive_take,
    )


def row_text(client: ProfitClient, row: Row) -> bytes:
    """``row``'s JSON text as AFAS sends it."""
    where = [[Condition(k, Op.EQUAL, str(row[k])) for k in KEYS]]
    (raw,) = client.get_page(CONNECTOR, PageRequest(where, KEYS, skip=-1, take=-1)).raw_rows
    assert decode_row(raw) == row
    return bytes(raw)


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"{CONNECTOR}-reader-")]


@pytest.fixture
def sandbox(afas_sandbox_factory: Factory) -> RunningSandbox:
    return afas_sandbox_factory()


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[ProfitClient]:
    c = client_for(sandbox)
    yield c
    c.close()


# --------------------------------------------------------------------------- data shapes


def bursty() -> list[datetime]:
    """About 200 rows in the window, and rows just outside it that show its edges."""
    stamps = [at(0), at(0.4), at(-0.3)]  # lo itself; shown lo; stored before lo but shown lo
    stamps += [at(10 + i / 120) for i in range(110)]  # 110 rows in one stored second
    stamps += [at(20.6 + 5 * i) for i in range(20)]  # x.6 s, shown x + 1
    stamps += [at(21.6 + 5 * i) for i in range(10)]
    stamps += [at(2 * 3600 + 0.2)]  # after a gap of hours
    stamps += [at(3 * 3600 + 0.5)]  # a single row, stored at x.5 (shown x + 1)
    stamps += [at(5 * 3600 + i * 0.35) for i in range(40)]  # 40 rows over 14 s
    stamps += [at(-0.4, HI), at(-0.6, HI), at(0, HI), at(0.2, HI)]  # inside, inside, out, out
    return stamps


def resume_tail() -> list[datetime]:
    """40 rows over a minute, several per second at .1/.3/.6/.8, ending with rows stored at
    ``S + 0.2`` and ``S + 0.3`` (shown ``S``), ``S + 1.2`` and ``S + 2.2``: resumed after the
    row at ``S + 0.2`` the plan starts at ``S - 1`` and would cut at ``S`` itself."""
    stamps = [at(s + f) for s in range(0, 54, 6) for f in (0.1, 0.3, 0.6, 0.8)]
    return [*stamps, at(60.2), at(60.3), at(61.2), at(62.2)]


# --------------------------------------------------------------------------- 1 + 3: exact, in order


@pytest.mark.parametrize("take", [1, 7, 100], ids=lambda t: f"take{t}")
@pytest.mark.parametrize("parallel", [1, 2, 4, 8], ids=lambda p: f"parallel{p}")
def test_every_row_of_the_window_once_and_in_order(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int, take: int
) -> None:
    truth = expected(sandbox, place(sandbox, bursty()))
    assert len(truth) == 186
    recorder = PageLog(sandbox)
    reader = window_reader(client, take=take, parallel=parallel)
    emitted = list(reader.rows())
    assert_exact(emitted, truth)
    assert reader.checkpoint() == {"lo": filter_value(HI), "seen": {}, "hash": "text"}
    assert all(int(p.params["skip"]) <= 0 for p in recorder.snapshot())
    assert reader_threads() == []


# --------------------------------------------------------------------------- 2: boundaries


def every_second_split(seconds: int) -> list[datetime]:
    """Four rows in every stored second, at .1, .45, .55 and .9: every whole second ``c`` has
    rows stored before it that show ``c`` (at c - 0.45 and c - 0.1) and rows stored after it
    that show ``c`` too, so wherever a piece is cut, the cut falls inside a shown second."""
    return [at(s + f) for s in range(seconds) for f in (0.1, 0.45, 0.55, 0.9)]


@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_pieces_cut_inside_busy_shown_seconds_stay_exact(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    stored = place(sandbox, every_second_split(300))
    truth = expected(sandbox, stored)
    reader = window_reader(client, take=50, parallel=parallel)
    emitted = list(reader.rows())
    assert_exact(emitted, truth)
    cuts = [p.lo for p in reader._partitions[1:]]
    assert len(cuts) >= 2 * parallel, f"precondition: the window was cut ({len(cuts)} cuts)"
    for cut in cuts:
        if cut >= at(300):
            continue  # the last piece, after the rows
        same = [stored[key_of(r)] for r in truth if r[R] == shown(cut)]
        assert min(same) < cut <= max(same), f"precondition: {cut} splits a shown second"


# --------------------------------------------------------------------------- 4: resume anywhere


def _read_until(reader: WindowReader, count: int) -> tuple[list[Row], dict[str, Any]]:
    """The first ``count`` rows, then the checkpoint (as a state file holds it); closes."""
    rows = reader.rows()
    before = [next(rows) for _ in range(count)]
    state = json.loads(json.dumps(copy.deepcopy(reader.checkpoint())))
    rows.close()
    return before, state


def test_resumed_from_any_row_the_rest_follows_exactly(
    sandbox: RunningSandbox, client: ProfitClient
) -> None:
    truth = expected(sandbox, place(sandbox, resume_tail()))
    assert len(truth) == 40
    switches = 0
    for cut in range(len(truth) + 1):
        first = window_reader(client, take=3, parallel=3)
        before, state = _read_until(first, cut)
        assert reader_threads() == [], "closing the rows stops the workers"
        later = [p.lo for p in first._partitions[1:]]
        if cut and state["lo"] in {filter_value(lo) for lo in later} and len(state["seen"]) == 1:
            switches += 1  # the cut came right after the first row of a later partition
        progress = Progress.parse(state, "test")
        after = list(window_reader(client, take=3, parallel=3, progress=progress).rows())
        assert_exact(before + after, truth, f"(cut after {cut} rows, state {state})")
    assert switches >= 2, "no cut fell on a partition switch"


def test_resumed_where_the_new_plan_would_cut_inside_the_seen_second(
    sandbox: RunningSandbox, client: ProfitClient
) -> None:
    stored = place(sandbox, resume_tail())
    truth = expected(sandbox, stored)
    index = next(i for i, r in enumerate(truth) if stored[key_of(r)] == at(60.2))
    # Read sequentially first: a parallel read can have started a piece at 60 itself, and its
    # checkpoint then says lo 60 (every row before is emitted), not the case under test.
    before, written = _read_until(window_reader(client, take=3, parallel=1), index + 1)
    # The case under test is the tightest checkpoint after these rows (as a page ending here
    # writes it): lo one second back, the row at 60 seen. Inside a page the checkpoint can
    # trail it (afas_profit.cursor.PRUNE_AFTER): older lo, more rows seen. Both resume exactly.
    at_60 = {text_hash(row_text(client, truth[index])): 1}
    tight = {"lo": filter_value(at(59)), "seen": {shown(at(60)): at_60}, "hash": "text"}
    assert written["lo"] <= tight["lo"]
    assert written["seen"][shown(at(60))] == at_60
    assert written["hash"] == "text"
    for state in (tight, written):
        progress = Progress.parse(state, "test")
        resumed = window_reader(client, take=3, parallel=3, progress=progress)
        assert_exact(before + list(resumed.rows()), truth, f"(resumed from {state})")


@pytest.mark.parametrize("parallel", [1, 3])
def test_a_checkpoint_of_decoded_row_hashes_still_resumes_exactly(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    """A checkpoint written before row texts were hashed (no "hash", ``row_hash``es in
    "seen") is resumed with those hashes; the next checkpoint after it uses text hashes."""
    stored = place(sandbox, resume_tail())
    truth = expected(sandbox, stored)
    resumes = 0
    for cut in range(1, len(truth) + 1, 3):
        old = window_reader(client, take=3, parallel=parallel, text_hashes=False)
        before, state = _read_until(old, cut)
        assert "hash" not in state
        for bucket in state["seen"].values():
            assert set(bucket) <= {row_hash(row) for row in truth}
        progress = Progress.parse(state, "test")
        assert progress is not None
        resumes += progress.text_hashes is False
        resumed = window_reader(client, take=3, parallel=parallel, progress=progress)
        after = list(resumed.rows())
        assert_exact(before + after, truth, f"(cut after {cut} rows, state {state})")
        assert resumed.checkpoint() == {"lo": filter_value(HI), "seen": {}, "hash": "text"}
    assert resumes >= 10, "most cuts leave rows in 'seen'"


# --------------------------------------------------------------------------- 4b: random shapes


@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed{s}")
def test_random_shapes_and_timings_read_and_resume_exactly(
    sandbox: RunningSandbox, client: ProfitClient, seed: int
) -> None:
    """Where pieces are cut depends on which page returns first: random data (sparse rows and
    bursts within a second), page sizes, readers and sandbox latency, read whole and resumed
    after a random row."""
    rng = random.Random(seed)
    stamps = [at(rng.uniform(0, HI_SECONDS - 1)) for _ in range(rng.randint(25, 200))]
    for _ in range(rng.randint(0, 5)):
        centre = rng.uniform(1, HI_SECONDS - 2)
        stamps += [at(centre + rng.uniform(-0.9, 0.9)) for _ in range(rng.randint(5, 60))]
    truth = expected(sandbox, place(sandbox, stamps))
    sandbox.latency.fixed_ms = rng.choice([0, 1, 3])
    take, parallel = rng.choice([1, 3, 7, 25, 100]), rng.choice([2, 3, 4, 8])
    # Odd seeds: page sizes change within the window as latency is measured.
    options: dict[str, Any] = {"take": take, "parallel": parallel, "adaptive_take": seed % 2 == 1}
    where = f"(seed {seed}, {options})"
    assert_exact(list(window_reader(client, **options).rows()), truth, where)
    cut = rng.randint(0, len(truth))
    before, state = _read_until(window_reader(client, **options), cut)
    progress = Progress.parse(state, "test")
    after = list(window_reader(client, progress=progress, **options).rows())
    assert_exact(before + after, truth, f"{where} resumed after {cut} rows")


# --------------------------------------------------------------------------- 5: work sharing


@pytest.mark.parametrize("parallel", [3, 4], ids=lambda p: f"parallel{p}")
def test_idle_workers_split_a_busy_partition_and_stay_exact(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    # 30 rows over the first 900 s, 270 over the last 100 s: the last partition is the busy one.
    stamps = [at(i * 30 + 0.3) for i in range(30)] + [at(900 + i * 0.37) for i in range(270)]
    truth = expected(sandbox, place(sandbox, stamps))
    sandbox.latency.fixed_ms = 5
    recorder = PageLog(sandbox)
    reader = window_reader(client, take=10, parallel=parallel)
    emitted = list(reader.rows())
    assert_exact(emitted, truth)
    parts = reader._partitions
    assert len(parts) > parallel, "no partition was split"
    assert all(a.hi == b.lo for a, b in itertools.pairwise(parts)), "contiguous"
    assert (parts[0].lo, parts[-1].hi) == (LO, HI)
    assert all(int(p.params["skip"]) <= 0 for p in recorder.snapshot())


# --------------------------------------------------------------------------- 6: bounded read-ahead


@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_a_slow_consumer_holds_a_bounded_number_of_pages(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    take = 10
    truth = expected(sandbox, place(sandbox, [at(i * 3 + 0.1) for i in range(400)]))
    recorder = PageLog(sandbox)
    consumed: set[Key] = set()
    most = most_once_measured = 0
    for n, row in enumerate(window_reader(client, take=take, parallel=parallel).rows(), 1):
        consumed.add(key_of(row))
        # A page is held from its answer until its last row was emitted.
        pending = [p for p in recorder.snapshot() if not p.probe and not set(p.keys) <= consumed]
        most = max(most, len(pending))
        if n > 3 * take:  # the consumer's time per page is measured (and reads since then)
            most_once_measured = max(most_once_measured, len(pending))
        if n % take == 0:
            time.sleep(0.02)  # the consumer: slower than the sandbox
    assert len(consumed) == len(truth)
    # Requested or read ahead: at most ``parallel`` + 1 (before the consumer is measured), the
    # emitting piece's one page beyond, and the page being emitted.
    bound = parallel + 3
    assert most <= bound, f"{most} pages held (read, not yet emitted) at once; at most {bound}"
    # Once the consumer is measured as slower than the sandbox: two pages (read_ahead.py).
    bound = MIN_PAGES + 2
    assert most_once_measured <= bound, f"{most_once_measured} pages held; at most {bound}"


@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_a_fast_consumer_of_a_slow_afas_keeps_every_reader_busy(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    truth = expected(sandbox, place(sandbox, [at(i * 2 + 0.1) for i in range(480)]))
    sandbox.latency.fixed_ms = 40
    recorder = RequestRecorder(sandbox)
    assert_exact(list(window_reader(client, take=10, parallel=parallel).rows()), truth)
    assert recorder.max_in_flight == parallel


def test_a_failure_in_a_reader_thread_is_raised_in_the_caller(
    sandbox: RunningSandbox, client: ProfitClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only a failed request: any error in a worker ends the read (the caller would
    otherwise wait for pages that never come)."""
    expected(sandbox, place(sandbox, [at(i * 2 + 0.1) for i in range(100)]))

    def broken(self: ReadAhead, seconds: float, rows: int) -> None:
        raise RuntimeError("the read-ahead broke")

    monkeypatch.setattr(ReadAhead, "requested", broken)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            list(window_reader(client, take=10, parallel=3).rows())
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=read, daemon=True)
    caller.start()
    caller.join(timeout=30)
    assert not caller.is_alive(), "the caller still waits for pages"
    assert [str(e) for e in outcome] == ["the read-ahead broke"]
    assert reader_threads() == []


# --------------------------------------------------------------------------- 6b: page sizes


@pytest.mark.parametrize(
    ("fixed_ms", "per_row_ms", "largest"),
    [(60, 0, True), (0, 5, False)],
    ids=["latency-dominates", "rows-dominate"],
)
def test_pages_grow_to_the_largest_size_only_when_latency_dominates(
    sandbox: RunningSandbox, fixed_ms: int, per_row_ms: int, largest: bool
) -> None:
    """Adaptive pages start at a quarter of ``take``; they grow to ``take`` when the fixed
    latency would be more than a third of a request, and stay small when rows cost the most."""
    truth = expected(sandbox, place(sandbox, [at(i * 0.9 + 0.1) for i in range(1000)]))
    fresh = client_for(sandbox)  # no answer timed yet: the window's probe measures latency
    sandbox.latency.fixed_ms, sandbox.latency.per_row_ms = fixed_ms, per_row_ms
    recorder = PageLog(sandbox)
    try:
        reader = window_reader(fresh, take=40, parallel=3, adaptive_take=True)
        assert_exact(list(reader.rows()), truth)
    finally:
        fresh.close()
    takes = [int(p.params["take"]) for p in recorder.snapshot() if not p.probe]
    assert takes[0] == 10, "the first page is the smallest"
    assert all(10 <= take <= 40 for take in takes), takes
    if largest:
        assert takes[-5:] == [40] * 5, takes
    else:  # 2 x latency / 5 ms per row: 10 rows while the sandbox answers within 25 ms
        assert max(takes) <= 20, takes


# --------------------------------------------------------------------------- 7: requests


@pytest.mark.parametrize("parallel", [1, 2, 4], ids=lambda p: f"parallel{p}")
@pytest.mark.parametrize(("rows", "take"), [(300, 25), (2000, 50)], ids=["300rows", "2000rows"])
def test_requests_are_about_one_per_piece_and_a_probe(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int, rows: int, take: int
) -> None:
    # 2000 rows: some 50 pieces, so pieces that stayed at FIRST_PIECE_PAGES (as when only full
    # pages counted as learnt, and pieces never fill a page) would exceed the bound below.
    truth = expected(sandbox, place(sandbox, [at(i * 7 + 0.2) for i in range(rows)]))
    recorder = PageLog(sandbox)
    reader = window_reader(client, take=take, parallel=parallel)
    assert_exact(list(reader.rows()), truth)
    pages = recorder.snapshot()
    assert all(int(p.params["skip"]) <= 0 for p in pages), "a request used skip"
    loop = len(truth) // take + 1  # the sequential loop: full pages and a last, shorter one
    probes = sum(p.probe for p in pages)
    assert probes == (0 if parallel == 1 else 1)
    # window.py: one request per piece of about PIECE_PAGES of a page, and one more for a piece
    # that held more than a page: about 1 / PIECE_PAGES times the loop on even data; the pieces
    # cut before a second page is in hold FIRST_PIECE_PAGES: at most one more per reader.
    bound = loop if parallel == 1 else math.ceil(loop / PIECE_PAGES) + 2 + parallel
    assert len(pages) - probes <= bound, f"{len(pages)} requests ({probes} probes); at most {bound}"


@pytest.mark.parametrize("parallel", [2, 4], ids=lambda p: f"parallel{p}")
def test_a_window_read_by_its_first_page_sends_nothing_more(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    truth = expected(sandbox, place(sandbox, [at(i * 7 + 0.2) for i in range(20)]))
    recorder = PageLog(sandbox)
    checkpoint = Progress(LO, SeenRows(), empty_pending=False)  # an incremental sync
    reader = window_reader(client, take=25, parallel=parallel, progress=checkpoint)
    assert_exact(list(reader.rows()), truth)
    assert len(recorder.snapshot()) == 1, "an incremental sync smaller than a page: one request"
    # A first sync (no checkpoint) sends its probe with the first page: one more request.
    sandbox.latency.fixed_ms = 30  # the probe leaves before the first page is back
    recorder = PageLog(sandbox)
    assert_exact(list(window_reader(client, take=25, parallel=parallel).rows()), truth)
    pages = recorder.snapshot()
    assert len(pages) == 2
    assert sum(p.probe for p in pages) == 1


# --------------------------------------------------------------------------- 8: errors


@pytest.mark.parametrize(
    ("message", "error"),
    [("Veld 'Mutatiedatum' bestaat niet.", AFASRequestError), ("Timeout expired", AFASServerError)],
    ids=["refused", "transient-retries-exhausted"],
)
def test_a_fault_after_some_pages_raises_in_the_caller_after_a_prefix(
    sandbox: RunningSandbox, message: str, error: type[Exception]
) -> None:
    truth = expected(sandbox, place(sandbox, [at(i * 2 + 0.3) for i in range(300)]))
    answered = Counter[str]()

    def break_after_twelve(page: Page) -> None:
        answered["pages"] += 1
        if answered["pages"] == 13:  # a probe and 12 pages
            sandbox.faults.add(status=500, connector=CONNECTOR, external_message=message)

    PageLog(sandbox, after=break_after_twelve)
    client = client_for(sandbox, retry=RetryPolicy(max_tries=2, base_wait_seconds=0.0))
    emitted: list[Row] = []
    rows = window_reader(client, take=10, parallel=4).rows()
    with pytest.raises(error, match=message):
        emitted.extend(rows)
    client.close()
    assert 0 < len(emitted) < len(truth)
    assert emitted == truth[: len(emitted)], "the rows before the error are not a prefix"
    assert reader_threads() == [], "worker threads left running"


# --------------------------------------------------------------------------- 9: first sync


FREE = "Profit_FreeTable_K01"
FREE_R = "Datum_gewijzigd"


@pytest.mark.parametrize("parallel", [1, 3], ids=lambda p: f"parallel{p}")
def test_a_first_sync_reads_the_undated_rows_once_after_the_window(
    sandbox: RunningSandbox, client: ProfitClient, parallel: int
) -> None:
    rows = all_rows(sandbox, FREE)
    stored = dict(sandbox.store.query("SELECT sq_no, modified FROM custom_k01"))
    dated = sorted((r for r in rows if r[FREE_R]), key=lambda r: (stored[r["SqNo"]], r["SqNo"]))
    undated = sorted((r for r in rows if not r[FREE_R]), key=lambda r: r["SqNo"])
    assert len(undated) >= 3, "precondition: the demo free table has undated rows"
    hi = datetime(2030, 1, 1)

    def empty_rows() -> Cursor:
        return KeysetCursor(("SqNo",), take=3, extra=(Condition(FREE_R, Op.EMPTY),))

    reader = WindowReader.resume(
        None,
        start=None,
        first_sync_rows=empty_rows,
        client=client,
        connector_id=FREE,
        replication_key=FREE_R,
        keys=("SqNo",),
        hi=hi,
        take=3,
        parallel=parallel,
    )
    marks: list[bool] = []
    emitted: list[Row] = []
    for row in reader.rows():
        emitted.append(row)
        marks.append(bool(reader.checkpoint().get("empty_pending")))
    assert emitted == dated + undated
    assert reader.emitted_empty == len(undated)
    assert all(marks), "the checkpoint said the undated rows were done before they were"
    assert reader.checkpoint() == {"lo": filter_value(hi), "seen": {}, "hash": "text"}


def test_the_undated_rows_are_asked_for_while_the_window_still_leaves(
    sandbox: RunningSandbox, client: ProfitClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their first request is sent right after the window's first, not after its last record
    left; a failure of that request is raised where the undated rows are read, after the
    window."""
    rows = all_rows(sandbox, FREE)
    undated = sorted((r for r in rows if not r[FREE_R]), key=lambda r: r["SqNo"])

    def empty_rows() -> Cursor:
        return KeysetCursor(("SqNo",), take=3, extra=(Condition(FREE_R, Op.EMPTY),))

    def reader() -> WindowReader:
        return WindowReader.resume(
            None, start=None, first_sync_rows=empty_rows, client=client, connector_id=FREE,
            replication_key=FREE_R, keys=("SqNo",), hi=datetime(2030, 1, 1), take=3, parallel=3,
        )  # fmt: skip

    sandbox.latency.fixed_ms = 20
    recorder = RequestRecorder(sandbox)
    emitted, last_dated_left = [], 0.0
    for row in reader().rows():
        emitted.append(row)
        if row[FREE_R]:
            time.sleep(0.01)  # a consumer slower than the sandbox
            last_dated_left = time.monotonic()
    assert emitted[-len(undated) :] == undated
    asked = [s for s in recorder.seen if s.params.get("operatortypes") == str(int(Op.EMPTY))]
    assert asked, "the undated rows were asked for"
    assert asked[0].started < last_dated_left, "asked for only after the window had left"

    first = min((s for s in recorder.seen if s not in asked), key=lambda s: s.started)
    assert asked[0].started < first.finished, "not asked for while the first page was read"

    def refusing_undated(read: Callable[[str, PageRequest], Any]) -> Callable[..., Any]:
        def refuse(connector_id: str, request: PageRequest) -> Any:
            if any(c.op == Op.EMPTY for group in request.where for c in group):
                raise AFASRequestError("the undated rows were refused")
            return read(connector_id, request)

        return refuse

    monkeypatch.setattr(client, "get_rows", refusing_undated(client.get_rows))
    monkeypatch.setattr(client, "get_page", refusing_undated(client.get_page))
    before: list[Row] = []
    with pytest.raises(AFASRequestError, match="undated rows were refused"):
        before.extend(reader().rows())
    assert len(before) == len(rows) - len(undated), "the window's rows left first"


# --------------------------------------------------------------------------- checkpoints refused


@pytest.mark.parametrize(
    "state",
    [
        {"seen": {}},
        {"lo": "yesterday", "seen": {}},
        {"lo": "2026-03-02T08:00:00", "seen": {"not a time": {"0123abcd": 1}}},
        {"lo": "2026-03-02T08:00:00", "seen": {"2026-03-02T08:00:01Z": 3}},
        {"lo": "2026-03-02T08:00:00", "seen": {}, "hash": "md5"},
    ],
    ids=["no-lo", "bad-lo", "bad-seen-time", "bad-seen-bucket", "bad-hash"],
)
def test_a_broken_checkpoint_is_refused_with_what_to_do(state: dict[str, Any]) -> None:
    with pytest.raises(AFASConfigError, match="Remove it from the state") as info:
        Progress.parse(state, "progress of profit_transactions")
    assert "\n" not in str(info.value)
