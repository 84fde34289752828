"""Reading a GetConnector's window ``lo <= R < hi`` in pieces, in parallel, emitted in order.

``WindowReader`` owns a stream's incremental read and its checkpoint:

- **Pieces.** The window starts as one piece ``[lo, hi)``. Once a page has shown how much stored
  time a page of rows covers (its density), a worker about to read a piece leaves it about
  ``PIECE_PAGES`` of a page of its range (``FIRST_PIECE_PAGES`` while only the first page has
  shown a density) and queues the rest right after it, where the next worker cuts again: workers
  spread over consecutive pieces at the front, where records leave next, and a piece denser than
  expected is cut again when it is read on. Each page read adds to the density known, by its
  rows (``_learn``): a piece that overflows costs one more request, read after its first page
  while the records wait for it. Cuts are whole seconds of stored R, and AFAS filters compare
  stored values, so a row belongs to exactly one piece whatever it shows; never closer than the
  rows a piece's cursor has emitted (they are stored before its ``lo`` + 1.5 s), nor inside what
  a resumed checkpoint saw. One probe (``take=1`` ordered by R descending) finds the last shown
  R, so no piece is cut where the window has no rows. It is sent once the first page is in and
  was full; on a first sync (no checkpoint: usually the whole history) right after the first
  page is asked for, so the pieces cut when it is in use every request. No count, no ``skip``.
- **Read.** ``parallel`` worker threads read pages: each takes the frontmost piece that no one
  is reading and that is not read to its end, reads its next page with the piece's own exact
  ``IncrementalCursor`` (see ``afas_profit.cursor``: nothing missed or doubled within it), and
  puts it back. Requests in flight are further bounded by the client for the whole process.
- **Emit.** The calling thread emits piece 1's rows as their pages arrive, then piece 2's, and
  so on: rows leave in R order per piece and pieces in R order, so a bookmark only moves
  forward. Each page is checked a second time by a twin cursor in the calling thread (fed the
  same hashed pages, in the same order): its progress is the checkpoint, exact row by row, and
  is the one ``checkpoint()`` returns. As pieces are contiguous and emitted in order, "the
  pieces completed and the position inside the current one" is one position: the current piece's
  ``lo`` and ``seen``. A resumed sync reads ``[lo, hi)`` again.
- **Memory.** A worker starts a request while the pages held (read or being read, not yet
  emitted) number fewer than ``ReadAhead.pages()`` (``afas_profit.read_ahead``: as many as keep
  the records flowing, by the measured request and emit times; 2 to ``parallel + 1``), or for
  the emitting piece when it has nothing waiting. So at most ``parallel + 3`` pages are held
  with the one being emitted, whatever the data size, and about 4 when AFAS answers faster than
  records leave; on a first sync one more, the first page of the rows whose R is empty. A page
  read ahead is held as its rows' JSON text (``msgspec.Raw`` views into the body) with each
  row's shown R and hash (the hash of its text, ``text_hash``; a checkpoint from before has
  ``row_hash``es and is resumed with those); rows are decoded one at a time as they are emitted.
- **Page size.** ``take`` rows per request; with ``adaptive_take`` (the tap, unless the user set
  ``page_size``) pieces start at a quarter of it and grow to it when AFAS's latency makes big
  pages pay (``afas_profit.read_ahead``), so a fast AFAS costs a quarter of the memory. Each
  piece keeps the page size it was cut with.
- **Prefetch.** ``prefetch()`` plans the window and has one worker ask for its first page
  before ``rows()`` is called (the tap does so for the streams that sync next); until then
  nothing else is asked for (not the probe, not the empty-R rows) and that one page is held.
  ``close()`` stops a prefetched reader that is not read.
- **Requests.** The plain sequential loop needs one request per full page plus a last, shorter
  one. This reader sends one probe per window (none when the first page of a sync with a
  checkpoint holds it all) and one request per piece, plus one more for a piece that held more
  than a page: about ``1 / PIECE_PAGES`` times the loop's requests for the same page size (each
  piece ends with a shorter page), and the first pieces ``1 / FIRST_PIECE_PAGES`` times.
  Adaptive pages add the first pieces of a quarter page, until the probe has measured the
  latency (none when an earlier answer did), and against a fast AFAS stay at a quarter page:
  four times the requests, each cheap. With ``parallel`` 1 there is no probe and one piece:
  exactly the sequential cursor.

After the window, a first sync (no bookmark, no start date) reads the rows whose R is empty, by
key or in one request, sequentially: no window can reach them. Their first page is asked for by
a worker right after the window's first page (held as JSON text until the window's rows have
left), so it costs no time at the end. A row given a modified date during the sync has one at or
after ``hi`` and is read by a later sync's window, as is a row changed later. The checkpoint
says ``empty_pending`` until they are done; a sync stopped before then reads them all again
(they have no bookmark to resume from), so those rows can be emitted twice after such a stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

from afas_profit.client import FieldReader, Page, ProfitClient, decode_row
from afas_profit.cursor import (
    ONE_SECOND,
    Cursor,
    HashedRow,
    IncrementalCursor,
    PageRequest,
    Row,
    SeenRows,
    row_hash,
    text_hash,
)
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition, Op, and_all
from afas_profit.ordered_reads import (
    GROWTH,
    PIECE_PAGES,
    OrderedReads,
    weighed_density,
)
from afas_profit.read_ahead import ReadAhead
from afas_profit.times import filter_value, parse_afas_datetime

EARLIEST = datetime(1900, 1, 1)
FIRST_PIECE_PAGES = 0.6  # PIECE_PAGES while only the window's first page has shown a density
EMPTY_PENDING = "empty_pending"  # in a checkpoint: the empty-R rows are not read yet
HASH_KEY = "hash"  # in a checkpoint: how the hashes in ``seen`` were taken
TEXT_HASHES = "text"  # of each row's JSON text (``text_hash``); without it: ``row_hash``


@dataclass(frozen=True, slots=True)
class Progress:
    """A parsed checkpoint: where the window continues, and what was emitted near there."""

    lo: datetime
    seen: SeenRows
    empty_pending: bool
    text_hashes: bool = True  # False: ``seen`` holds ``row_hash``es (tap-afas before 0.9)

    @classmethod
    def parse(cls, value: Any, where: str) -> Progress | None:
        """The checkpoint in a stream's state (None: there is none); a broken one is refused."""
        if value is None:
            return None
        if not isinstance(value, Mapping) or not value.get("lo"):
            raise AFASConfigError(
                f"The state's {where} is not a checkpoint written by tap-afas "
                f"({type(value).__name__} without 'lo'). Remove it from the state to start this "
                "stream's window over."
            )
        try:
            lo = parse_afas_datetime(str(value["lo"]))
            seen = value.get("seen") or {}
            if not isinstance(seen, Mapping) or not all(
                isinstance(v, Mapping) for v in seen.values()
            ):
                raise ValueError("seen")
            parsed = SeenRows.from_state(dict(seen))
            for shown in parsed.buckets:  # shown values of R: the plan reads them
                parse_afas_datetime(shown)
            hashes = value.get(HASH_KEY)
            if hashes not in (None, TEXT_HASHES):
                raise ValueError(HASH_KEY)
        except (ValueError, TypeError):
            raise AFASConfigError(
                f"The state's {where} has an unreadable 'lo', 'seen' or 'hash'. Remove it from "
                "the state to start this stream's window over."
            ) from None
        text_hashes = hashes == TEXT_HASHES or not parsed.buckets
        return cls(lo, parsed, bool(value.get(EMPTY_PENDING)), text_hashes)


@dataclass(frozen=True, slots=True)
class _HeldPage:
    """A page read ahead, as held until it is emitted: each row's JSON text, shown R and
    content hash (read by the worker, which does not keep the decoded rows)."""

    page: Page
    shown: list[str]  # each row's shown R
    digests: list[str]  # each row's content hash

    def __len__(self) -> int:
        return len(self.shown)

    def marks(self) -> Iterator[HashedRow]:
        """The rows as (shown R, hash, NO_ROW): what a cursor planning requests reads."""
        return zip(self.shown, self.digests, repeat(NO_ROW))

    def __iter__(self) -> Iterator[HashedRow]:
        """The rows as (shown R, hash, row), each decoded as it is asked for."""
        return zip(self.shown, self.digests, map(decode_row, self.page.raw_rows), strict=True)


_PROBE = object()  # a worker's task: the end probe
_EMPTY_ROWS = object()  # a worker's task: the first page of the empty-R rows
NO_ROW: Row = {}  # in a worker's marks: the row itself is decoded again when it is emitted
EMITTED = _HeldPage(Page([]), [], [])  # what an emitted page's place in a partition holds


@dataclass
class _Partition:
    """One contiguous range of R and the pages read from it, not yet emitted. One worker at a
    time reads its next page."""

    lo: datetime
    hi: datetime
    take: int  # rows per request, fixed for the piece (its twin cursor plans the same)
    seen: SeenRows = field(default_factory=SeenRows)
    items: list[_HeldPage | datetime] = field(default_factory=list)
    finished: bool = False  # its cursor is done: every page is in ``items``
    waiting: int = 0  # pages in ``items`` not yet taken by the emitting thread
    busy: bool = False  # a worker is reading its next page
    pages: int = 0  # pages read from it
    cursor: IncrementalCursor | None = None  # plans its requests, page after page


class WindowReader(OrderedReads):
    """Reads ``lo <= R < hi`` of one GetConnector (see the module docstring)."""

    def __init__(
        self,
        client: ProfitClient,
        connector_id: str,
        replication_key: str,
        keys: Sequence[str],
        *,
        lo: datetime,
        hi: datetime,
        take: int,
        extra: Sequence[Condition] = (),
        seen: SeenRows | None = None,
        parallel: int = 1,
        empty_rows: Callable[[], Cursor] | None = None,
        text_hashes: bool = True,
        adaptive_take: bool = False,
        first_sync: bool = False,
    ) -> None:
        """``empty_rows``: on a first sync, the cursor for the rows whose R is empty;
        ``text_hashes``: False when ``seen`` comes from a checkpoint with ``row_hash``es;
        ``adaptive_take``: ``take`` is the largest page, see ``afas_profit.read_ahead``;
        ``first_sync``: no checkpoint, the probe is sent without waiting for the first page."""
        super().__init__(parallel, f"{connector_id}-reader")
        self.client = client
        self.connector_id = connector_id
        self.replication_key = replication_key
        self.keys = tuple(keys)
        self.lo = lo
        self.hi = hi
        self.take = take
        self.extra = tuple(extra)
        self.empty_rows = empty_rows
        self._seen = seen or SeenRows()
        self._text_hashes = text_hashes
        self._shown = FieldReader(replication_key)
        self._progress: dict[str, Any] = {"lo": filter_value(lo), "seen": self._seen.as_state()}
        if text_hashes:
            self._progress[HASH_KEY] = TEXT_HASHES
        if empty_rows is not None:
            self._progress[EMPTY_PENDING] = True
        self.emitted_empty = 0
        # The empty-R rows' cursor and its first page, asked for with the window's first.
        self._empty_first: tuple[Cursor, Page | BaseException | None] | None = None
        self._pace = ReadAhead(self.parallel, take, adaptive=adaptive_take and self.parallel > 1)
        self._latency_known()  # from metainfo's answers, when there were some
        self._partitions: list[_Partition] = []
        self._per_row: timedelta | None = None  # stored time one row covered, last read
        self._pages_learnt = 0  # pages the density was learnt from (full or not)
        self._floor = lo
        self._end_probe = "todo"  # todo, running, done
        self._first_sync = first_sync
        self._started = False  # a worker has asked for the window's first page
        self._last_shown: datetime | None = None
        self._prefetching = False  # prefetch(): only the first page until rows() is called

    @classmethod
    def resume(
        cls,
        progress: Progress | None,
        *,
        start: datetime | None,
        first_sync_rows: Callable[[], Cursor],
        **kwargs: Any,
    ) -> WindowReader:
        """From a checkpoint, else from ``start`` (a first sync also reads the empty-R rows)."""
        if progress is not None:
            empty = first_sync_rows if progress.empty_pending else None
            return cls(
                lo=progress.lo,
                seen=progress.seen,
                empty_rows=empty,
                text_hashes=progress.text_hashes,
                **kwargs,
            )
        empty = first_sync_rows if start is None else None
        return cls(lo=start or EARLIEST, empty_rows=empty, first_sync=True, **kwargs)

    def checkpoint(self) -> dict[str, Any]:
        """Where a resumed sync continues: live, exact for every row emitted so far."""
        return self._progress

    def rows(self) -> Iterator[Row]:
        """Every row of the window once, in partition order; then, on a first sync, the rows
        whose R is empty. The checkpoint ends at ``{"lo": hi, "seen": {}}``."""
        if self.lo < self.hi:
            yield from self._window()
        if self.empty_rows is not None:
            cursor, first = self._empty_first or (self.empty_rows(), None)
            while not cursor.done:
                if isinstance(first, BaseException):
                    raise first
                if first is None:
                    page = self.client.get_rows(self.connector_id, cursor.request())
                else:
                    page = [decode_row(raw) for raw in first.raw_rows]
                first = None
                for row in cursor.accept(page):
                    self.emitted_empty += 1
                    yield row
        self._progress.clear()
        self._progress.update({"lo": filter_value(self.hi), "seen": {}, HASH_KEY: TEXT_HASHES})

    # -- planning ----------------------------------------------------------------------------

    def _plan(self) -> list[_Partition]:
        """One piece, the whole window: it is cut as pages show its density."""
        newest = max([self.lo, *(parse_afas_datetime(s) for s in self._seen.as_state())])
        # Rows emitted before a resume (``seen``) show at most ``newest``, so they are stored
        # before ``newest + 0.5 s``: no cut before that, or a later piece reads them again.
        self._floor = _whole_second(newest) + ONE_SECOND
        return [_Partition(self.lo, self.hi, self._pace.take, self._seen)]

    def _probe_end(self) -> None:
        """The last shown R in the window (``take=1`` ordered by R descending): pieces are not
        cut beyond it, where the window has no rows."""
        r = self.replication_key
        bounds = [
            Condition(r, Op.AT_LEAST, filter_value(self.lo)),
            Condition(r, Op.LESS, filter_value(self.hi)),
        ]
        request = PageRequest(and_all([bounds], self.extra), (f"-{r}",), skip=0, take=1)
        rows = self.client.get_rows(self.connector_id, request)
        shown = rows[0].get(r) if rows else None
        last = parse_afas_datetime(str(shown)) if shown else self.lo
        with self._cond:
            self._latency_known()
            self._last_shown = last
            self._end_probe = "done"
            self._cond.notify_all()

    # -- reading (worker threads) ------------------------------------------------------------

    def prefetch(self) -> bool:
        """Ask for the window's first page now, before ``rows()`` is called (the tap does so for
        the streams that sync next while one emits): one worker starts and reads that page
        only, held as read ahead; the probe, the empty-R rows and every other page wait for
        ``rows()``. False (nothing sent) with ``parallel`` 1 or an empty window."""
        if self.parallel == 1 or self.lo >= self.hi:
            return False
        with self._cond:
            if self._partitions:
                return False  # planned already: prefetched, or rows() under way
            self._partitions = self._plan()
            self._prefetching = True
        self._start_workers(1)
        return True

    def _window(self) -> Iterator[Row]:
        with self._cond:
            if not self._partitions:
                self._partitions = self._plan()
            self._prefetching = False
            self._cond.notify_all()
        if self.parallel == 1:
            yield from self._read_here(self._partitions[0])
            return
        yield from self._in_parallel(self._emit_pieces)

    def _prefetch_empty_rows(self, cursor: Cursor) -> None:
        """The first page of the rows whose R is empty (a first sync reads them after the
        window), asked for early so that no request follows the window's last records. What
        it raises is raised where the page is used."""
        page: Page | BaseException
        try:
            page = self.client.get_page(self.connector_id, cursor.request())
        except Exception as exc:
            page = exc
        with self._cond:
            self._empty_first = (cursor, page)

    def _read_pages(self) -> None:
        """Read one page at a time from the frontmost piece that may be read, until all are
        read. Once the window's first page is asked for, the next workers free send the end
        probe when due (``_probe_due``; it also measures AFAS's latency, which sizes pages)
        and, on a first sync, ask for the first page of the rows whose R is empty."""
        while True:
            with self._cond:
                task = self._wait_for(self._next_task)
                if task is None:
                    return
                if task is _PROBE:
                    self._end_probe = "running"
                elif task is _EMPTY_ROWS:
                    assert self.empty_rows is not None
                    empty = self.empty_rows()
                    self._empty_first = (empty, None)  # this worker asks
                else:
                    assert isinstance(task, _Partition)
                    part = task
                    part.busy = True
                    if not self._started:  # the probe and the empty-R rows may go now
                        self._started = True
                        self._cond.notify_all()
                    cursor = part.cursor or self._cursor(part, part.seen)
                    part.cursor = cursor
                    self._split(part, cursor)
                    request = cursor.request()
            try:
                if task is _PROBE:
                    self._probe_end()
                    continue
                if task is _EMPTY_ROWS:
                    self._prefetch_empty_rows(empty)
                    continue
                started = time.monotonic()
                held = self._held(self.client.get_page(self.connector_id, request))
                took = time.monotonic() - started
                cursor.plan(held.marks(), len(held))  # the twin cursor emits; this one plans
            except BaseException as exc:  # handed to the emitting thread, which raises it
                self._fail(exc)
                return
            with self._cond:
                self._learn(request, held.shown, part.take)
                self._pace.requested(took, len(held))
                part.items.append(held)
                part.pages += 1
                part.waiting += 1
                part.busy = False
                part.finished = cursor.done
                self._cond.notify_all()

    def _next_task(self) -> _Partition | object | None:
        """What a free worker does next: the window's first page, then the end probe when due
        and the empty-R rows' first page when there are some to read, then pages; while the
        window is prefetched, nothing after the first page."""
        if self._prefetching and self._started:
            return None
        if self._started and self._probe_due() and not self._all_read():
            return _PROBE
        if self._started and self.empty_rows is not None and self._empty_first is None:
            return _EMPTY_ROWS
        part: _Partition | None = self._pick()
        return part

    @property
    def _pieces(self) -> list[_Partition]:
        return self._partitions

    def _ahead(self) -> int:
        """``ReadAhead.pages``: at most ``parallel + 1``."""
        return self._pace.pages()

    def _latency_known(self) -> None:
        """The quickest answer the client has had (metainfo's, the probe's) sizes pages."""
        if self.client.quickest_answer is not None:
            self._pace.probed(self.client.quickest_answer)

    def _probe_due(self) -> bool:
        """The end probe is not sent yet, and this is a first sync or the first page is in
        (the window has more than a page)."""
        return self._end_probe == "todo" and (self._first_sync or self._per_row is not None)

    def _held(self, page: Page) -> _HeldPage:
        """What the cursors read of a page's rows: each one's shown R and content hash; the
        hash of its JSON text, or of its decoded values for a checkpoint that has those."""
        raw_rows = page.raw_rows
        if self._text_hashes:
            shown = self._shown
            return _HeldPage(
                page, [str(shown(raw)) for raw in raw_rows], [text_hash(raw) for raw in raw_rows]
            )
        r = self.replication_key
        rows = [decode_row(raw) for raw in raw_rows]
        return _HeldPage(page, [str(row.get(r)) for row in rows], [row_hash(row) for row in rows])

    def _learn(self, request: PageRequest, page: Sequence[str], take: int) -> None:
        """The stored time a row covers, from the page just read (``take`` rows asked): a full
        page covers its request's start to its last shown R; a shorter one its request's range.
        After the first page, what a page shows is weighed with what was known, as if that were
        ``PRIOR_ROWS`` of a page of rows (``weighed_density``): a piece's last few rows over a
        few hours say little (33 rows where 84 were expected made pieces 2.5 times too long,
        read page after page), a full page or a long gap says much."""
        lo, hi = (parse_afas_datetime(str(c.value)) for c in request.where[0][:2])
        if len(page) >= take:
            if self._per_row is None:  # the window's first page: not the time before its rows
                lo = max(lo, parse_afas_datetime(page[0]))
            span = max(parse_afas_datetime(page[-1]) - lo, ONE_SECOND)
        else:
            if self._last_shown is not None:
                hi = min(hi, _whole_second(self._last_shown) + ONE_SECOND)
            if hi <= lo:
                return
            span = hi - lo
        self._pages_learnt += 1
        known = self._per_row
        if known is None:  # the window's first page: all there is to go by
            rows = len(page) or 1 / GROWTH
            self._per_row = max(span * take / rows, ONE_SECOND) / take
            return
        self._per_row = max(weighed_density(known, span, len(page), take), ONE_SECOND / take)

    def _split(self, part: _Partition, cursor: IncrementalCursor) -> None:
        """Leave ``part`` about ``PIECE_PAGES`` of a page of its range (``FIRST_PIECE_PAGES``
        while only one page has shown a density) by the density learnt (or the piece's own when
        it is read on and its pages were denser) and queue the rest right after it, where the
        next worker cuts again: workers spread over the pieces at the front, where records leave
        next. Nothing is cut before the density is known, inside a stored second read whole, or
        when the rest would be less than half a piece."""
        if self._per_row is None or cursor.dense:
            return
        end = cursor.hi
        if self._last_shown is not None:
            end = min(end, _whole_second(self._last_shown) + ONE_SECOND)
        # Rows a cursor has emitted are stored before lo + 1.5 s (it continues one second
        # before the newest shown value it emitted); a piece not read yet has emitted none.
        margin = ONE_SECOND if part.pages == 0 and not part.seen.buckets else 2 * ONE_SECOND
        per_row = self._per_row
        if part.pages:  # read on: its own full pages say how dense the piece is
            per_row = min(per_row, max(cursor.lo - part.lo, ONE_SECOND) / (part.pages * part.take))
        # One page's density can be a season's: the first pieces leave a margin for more rows.
        pages = PIECE_PAGES if self._pages_learnt > 1 else FIRST_PIECE_PAGES
        length = per_row * part.take * pages
        cut = max(_whole_second(cursor.lo + length), cursor.lo + margin, self._floor)
        if cut >= cursor.hi or end - cut < length / 2:
            return
        rest = _Partition(cut, cursor.hi, self._pace.take)
        self._partitions.insert(self._partitions.index(part) + 1, rest)
        cursor.hi = cut
        part.hi = cut
        part.items.append(cut)  # tells the twin cursor, in page order
        self._cond.notify_all()

    # -- emitting (the calling thread) -------------------------------------------------------

    def _emit_piece(self, part: _Partition) -> Iterator[Row]:
        twin = self._cursor(part, part.seen, progress=self._progress)
        taken = 0
        while True:
            with self._cond:
                item = self._next_item(part, taken)
                if item is None:
                    return
                part.items[taken] = EMITTED  # emitted pages are not kept
                taken += 1
                if isinstance(item, _HeldPage):
                    part.waiting -= 1
                    self._cond.notify_all()
            if isinstance(item, datetime):
                twin.hi = item
                continue
            started = time.monotonic()
            yield from twin.accept_hashed(item)
            with self._cond:  # the consumer's time for the page: the read-ahead follows it
                self._pace.emitted(len(item), time.monotonic() - started)

    def _read_here(self, part: _Partition) -> Iterator[Row]:
        """``parallel`` 1: the sequential cursor, in the calling thread."""
        cursor = self._cursor(part, part.seen, progress=self._progress)
        while not cursor.done:
            page = self.client.get_page(self.connector_id, cursor.request())
            yield from cursor.accept_hashed(self._held(page))

    def _cursor(
        self, part: _Partition, seen: SeenRows, progress: dict[str, Any] | None = None
    ) -> IncrementalCursor:
        return IncrementalCursor(
            self.replication_key,
            self.keys,
            lo=part.lo,
            hi=part.hi,
            take=part.take,
            extra=self.extra,
            seen=SeenRows.from_state(seen.as_state()),
            progress=progress,
        )


def _whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
