"""Reading a whole GetConnector (a full-table stream) in parallel ranges of its first key.

``KeyRangeReader.rows()`` emits every row once, in key order:

- **First page.** A plain keyset page (``afas_profit.cursor.KeysetCursor``). A table that fits in
  it is one request. With ``parallel`` 1, or a first key field that is not an integer, the same
  cursor reads on page after page: exactly the sequential loop.
- **Ranges.** Otherwise one probe (``take=1`` ordered by the first key descending) finds the
  largest first-key value, and the rest is read in contiguous ranges ``[a, b)`` of the first key:
  the first cursor reads on up to its range's end, and the last range has no upper bound (rows
  added while the sync runs). A row belongs to exactly one range by its first key, and each range
  is read by its own exact KeysetCursor (nothing missed or doubled within it), so nothing is
  missed or doubled in all. Ranges are cut as workers pick them, about ``PIECE_PAGES`` of a page
  each by the density read so far (first-key values per row, each page weighed by its rows:
  ``afas_profit.ordered_reads``). A range that holds more is read on page after page; a first
  key with few distinct values (a unit, a year) gives ranges of one value.
- **Read and emit.** ``parallel`` worker threads read the frontmost ranges; the calling thread
  emits range after range as their pages arrive, so rows leave in key order. At most
  ``parallel + 1`` pages are held (read or being read, not yet emitted) besides the one being
  emitted; the emitting range may always read its next page. An error in a worker is raised in
  the calling thread; closing ``rows()`` stops the workers.
- **Prefetch.** ``prefetch()`` sends the first page's request at once, in a thread of its own,
  and ``rows()`` takes its answer; ``close()`` waits for it when the rows are not read.
- **Requests.** The sequential loop's, about ``1 / PIECE_PAGES`` times (each range ends with a
  shorter page), plus the probe. Requests in flight are further bounded by the client for the
  whole process.

A full-table sync keeps no checkpoint: a stopped sync reads the table again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from afas_profit.client import ProfitClient
from afas_profit.cursor import KeysetCursor, PageRequest, Row
from afas_profit.early_answer import EarlyAnswer
from afas_profit.filters import Condition, Op, and_all
from afas_profit.ordered_reads import PIECE_PAGES, OrderedReads, weighed_density


@dataclass
class _Range:
    """Rows whose first key is in ``[lo, hi)`` (None: unbounded), read by ``cursor``."""

    lo: int | None
    hi: int | None
    cursor: KeysetCursor
    items: list[list[Row]] = field(default_factory=list)  # pages read, not yet emitted
    waiting: int = 0  # pages in ``items`` the emitting thread has not taken
    busy: bool = False  # a worker is reading its next page
    finished: bool = False  # its cursor is done: every page is in ``items``
    read: int = 0  # pages read from it


class KeyRangeReader(OrderedReads):
    """Reads a whole GetConnector by key (see the module docstring)."""

    def __init__(
        self,
        client: ProfitClient,
        connector_id: str,
        keys: Sequence[str],
        *,
        take: int,
        extra: Sequence[Condition] = (),
        parallel: int = 1,
        integer_first_key: bool = False,
    ) -> None:
        """``integer_first_key``: ``keys[0]`` is an integer field (metainfo says so), so its
        values can be cut into ranges."""
        super().__init__(parallel, f"{connector_id}-keys")
        self.client = client
        self.connector_id = connector_id
        self.keys = tuple(keys)
        self.take = take
        self.extra = tuple(extra)
        self.integer_first_key = integer_first_key
        self.requests = 0
        self.ranged = False  # rows() read in parallel ranges
        self._count = threading.Lock()
        self._ranges: list[_Range] = []
        self._per_row = 1.0  # first-key values one row covers, as read so far
        self._top = 0  # the largest first-key value the probe found
        self._first: tuple[KeysetCursor, EarlyAnswer[list[Row]]] | None = None  # prefetch()

    def prefetch(self) -> bool:
        """Ask for the first page now, before ``rows()`` is called (the tap does so for the
        streams that sync next while one emits), in a thread of its own: ``rows()`` takes its
        answer, or raises what it raised. False (nothing sent) when asked for already."""
        if self._first is not None:
            return False
        first = KeysetCursor(self.keys, take=self.take, extra=self.extra)
        request = first.request()
        answer = EarlyAnswer(lambda: self._get(request), f"{self.connector_id}-first-page")
        self._first = (first, answer)
        return True

    def close(self) -> None:
        """Stop the workers, and wait for a prefetched first page not taken (dropped)."""
        first, self._first = self._first, None
        if first is not None:
            first[1].close()
        super().close()

    def rows(self) -> Iterator[Row]:
        """Every row once, in key order."""
        prefetched, self._first = self._first, None
        if prefetched is not None:
            first, answer = prefetched
            page = answer.result()
        else:
            first = KeysetCursor(self.keys, take=self.take, extra=self.extra)
            page = self._get(first.request())
        yield from first.accept(page)
        if first.done:
            return
        if self.parallel == 1 or not self.integer_first_key or not self._plan(first, page):
            while not first.done:
                yield from first.accept(self._get(first.request()))
            return
        self.ranged = True
        yield from self._in_parallel(self._emit_pieces)

    # -- planning ----------------------------------------------------------------------------

    def _plan(self, first: KeysetCursor, page: list[Row]) -> bool:
        """The first range (the first cursor, read on up to its end) and the rest after it;
        False when the rest is expected to fit in one range (read on sequentially)."""
        key = self.keys[0]
        assert first.last is not None
        try:
            low, last = int(page[0][key]), int(first.last[0])
        except (KeyError, TypeError, ValueError):
            return False  # not integers after all: the sequential cursor reads on
        top = self._probe_top()
        if top is None:
            return False
        self._top = top
        self._per_row = max(last - low, 1) / self.take
        end = last + self._width()
        if end > top:
            return False
        first.extra = (*first.extra, Condition(key, Op.LESS, str(end)))
        self._ranges = [_Range(None, end, first, read=1), self._rest(end)]
        return True

    def _probe_top(self) -> int | None:
        """The largest first-key value (``take=1`` ordered by it descending)."""
        key = self.keys[0]
        request = PageRequest(and_all([], self.extra), (f"-{key}",), skip=0, take=1)
        rows = self._get(request)
        try:
            return int(rows[0][key]) if rows else None
        except (KeyError, TypeError, ValueError):
            return None

    def _width(self) -> int:
        """First-key values a range of about ``PIECE_PAGES`` of a page covers."""
        return max(1, round(self._per_row * self.take * PIECE_PAGES))

    def _rest(self, lo: int) -> _Range:
        """The rows from first key ``lo`` on: cut when a worker picks it."""
        bound = (*self.extra, Condition(self.keys[0], Op.AT_LEAST, str(lo)))
        return _Range(lo, None, KeysetCursor(self.keys, take=self.take, extra=bound))

    def _cut(self, part: _Range) -> None:
        """``part`` is the rest, about to be read: it keeps one range's width and a new rest
        follows it (unless it is expected to end within that width)."""
        assert part.lo is not None
        end = part.lo + self._width()
        if end > self._top:
            return
        part.hi = end
        part.cursor.extra = (*part.cursor.extra, Condition(self.keys[0], Op.LESS, str(end)))
        self._ranges.append(self._rest(end))

    def _learn(self, part: _Range, rows: list[Row]) -> None:
        """First-key values per row, from a page just read: a full page spans its first to
        its last key; a shorter one (a range's end) its range, when that is bounded."""
        key = self.keys[0]
        try:
            if len(rows) >= self.take:
                span = float(int(rows[-1][key]) - int(rows[0][key]))
            elif part.lo is not None and part.hi is not None and part.read == 1:
                span = float(part.hi - part.lo)
            else:
                return
        except (KeyError, TypeError, ValueError):
            return
        self._per_row = weighed_density(self._per_row, span, len(rows), self.take)

    # -- reading (worker threads) ------------------------------------------------------------

    def _get(self, request: PageRequest) -> list[Row]:
        with self._count:
            self.requests += 1
        return self.client.get_rows(self.connector_id, request)

    @property
    def _pieces(self) -> list[_Range]:
        return self._ranges

    def _ahead(self) -> int:
        return self.parallel + 1

    def _read_pages(self) -> None:
        while True:
            with self._cond:
                part: _Range | None = self._wait_for(self._pick)
                if part is None:
                    return
                part.busy = True
                if part.hi is None and part.read == 0 and part is self._ranges[-1]:
                    self._cut(part)
                request = part.cursor.request()
            rows = self._get(request)
            fresh = list(part.cursor.accept(rows))  # the range's cursor moves on
            with self._cond:
                part.read += 1
                self._learn(part, rows)
                part.items.append(fresh)
                part.waiting += 1
                part.busy = False
                part.finished = part.cursor.done
                self._cond.notify_all()

    # -- emitting (the calling thread) -------------------------------------------------------

    def _emit_piece(self, piece: _Range) -> Iterator[Row]:
        taken = 0
        while True:
            with self._cond:
                rows = self._next_item(piece, taken)
                if rows is None:
                    return
                piece.items[taken] = []  # emitted pages are not kept
                taken += 1
                piece.waiting -= 1
                self._cond.notify_all()
            yield from rows
