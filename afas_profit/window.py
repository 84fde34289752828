"""Reading a GetConnector's window ``lo <= R < hi`` in partitions, in parallel, emitted in order.

``WindowReader`` owns a stream's incremental read and its checkpoint:

- **Plan.** Two cheap probes (``take=1`` ordered by R ascending, then descending) find the first
  and last shown R in the window; the seconds between them are cut into ``parallel`` partitions
  ``[lo, b1), [b1, b2), …, [bn, hi)``. Boundaries are whole seconds of stored R, and AFAS filters
  compare stored values, so a row belongs to exactly one partition whatever it shows. No count,
  no ``skip``.
- **Read.** ``parallel`` worker threads read pages: each takes the frontmost partition that no
  one is reading and that is not read to its end, reads its next page with the partition's own
  exact ``IncrementalCursor`` (see ``afas_profit.cursor``: nothing missed or doubled within it),
  and puts it back. When workers are idle, a partition about to be read keeps about four pages
  of its range (judged by the stored time its last full page covered) and the rest is cut at
  whole seconds into pieces for them, queued right after it, so workers gather where records
  leave next. Requests in flight are further bounded
  by the client for the whole process.
- **Emit.** The calling thread emits partition 1's rows as their pages arrive, then partition
  2's, and so on: rows leave in R order per partition and partitions in R order, so a bookmark
  only moves forward. Each page is checked a second time by a twin cursor in the calling thread
  (fed the same hashed pages, in the same order): its progress is the checkpoint, exact row by
  row, and is the one ``checkpoint()`` returns. As partitions are contiguous and emitted in
  order, "the partitions completed and the position inside the current one" is one position:
  the current partition's ``lo`` and ``seen``. A resumed sync plans ``[lo, hi)`` again.
- **Memory.** A partition may be read while the pages held by it and the partitions before it
  (read or being read, not yet emitted) number fewer than ``parallel``; the emitting one may go
  one page beyond when it has nothing waiting, and no more than ``2 * parallel`` are held in
  all. So at most ``2 * parallel + 2`` pages of ``take`` rows are held (with the page being
  emitted), whatever the data size; the tap's pages are AFAS's guided size shared
  by the ``parallel`` requests, so that is about two guided pages.
- **Requests.** The plain sequential loop needs one request per full page plus a last, shorter
  one. This reader sends, per window: 2 probes (1 when the window is empty), and one more short
  last page per partition and per split (``parallel - 1`` partitions, plus the splits made when
  workers run dry). With ``parallel`` 1 there are no probes and no partitions: exactly the
  sequential cursor.

After the window, a first sync (no bookmark, no start date) reads the rows whose R is empty, by
key or in one request, sequentially: no window can reach them. A row changed later gets a
modified date and is read by a later sync's window. The checkpoint says ``empty_pending`` until
they are done; a sync stopped before then reads them all again (they have no bookmark to resume
from), so those rows can be emitted twice after such a stop.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from afas_profit.client import ProfitClient
from afas_profit.cursor import (
    ONE_SECOND,
    Cursor,
    HashedRow,
    IncrementalCursor,
    PageRequest,
    Row,
    SeenRows,
)
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition, Op, and_all
from afas_profit.times import filter_value, parse_afas_datetime

EARLIEST = datetime(1900, 1, 1)
SHARE_KEEP_PAGES = 4  # pages a partition keeps when the rest of its range is shared
EMPTY_PENDING = "empty_pending"  # in a checkpoint: the empty-R rows are not read yet


@dataclass(frozen=True, slots=True)
class Progress:
    """A parsed checkpoint: where the window continues, and what was emitted near there."""

    lo: datetime
    seen: SeenRows
    empty_pending: bool

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
        except (ValueError, TypeError):
            raise AFASConfigError(
                f"The state's {where} has an unreadable 'lo' or 'seen'. Remove it from the state "
                "to start this stream's window over."
            ) from None
        return cls(lo, parsed, bool(value.get(EMPTY_PENDING)))


@dataclass
class _Partition:
    """One contiguous range of R and the pages read from it, not yet emitted. One worker at a
    time reads its next page."""

    lo: datetime
    hi: datetime
    seen: SeenRows = field(default_factory=SeenRows)
    items: list[list[HashedRow] | datetime] = field(default_factory=list)
    finished: bool = False  # its cursor is done: every page is in ``items``
    waiting: int = 0  # pages in ``items`` not yet taken by the emitting thread
    busy: bool = False  # a worker is reading its next page
    cursor: IncrementalCursor | None = None  # plans its requests, page after page
    span: timedelta | None = None  # the stored time its last full page covered


class WindowReader:
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
    ) -> None:
        """``empty_rows``: on a first sync, the cursor for the rows whose R is empty."""
        self.client = client
        self.connector_id = connector_id
        self.replication_key = replication_key
        self.keys = tuple(keys)
        self.lo = lo
        self.hi = hi
        self.take = take
        self.extra = tuple(extra)
        self.parallel = max(1, parallel)
        self.empty_rows = empty_rows
        self._seen = seen or SeenRows()
        self._progress: dict[str, Any] = {"lo": filter_value(lo), "seen": self._seen.as_state()}
        if empty_rows is not None:
            self._progress[EMPTY_PENDING] = True
        self.emitted_empty = 0
        self._cond = threading.Condition()
        self._partitions: list[_Partition] = []
        self._emitting: _Partition | None = None
        self._idle = 0  # workers waiting for a partition they may read
        self._stop = False
        self._error: BaseException | None = None
        self._last_shown: datetime | None = None

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
            return cls(lo=progress.lo, seen=progress.seen, empty_rows=empty, **kwargs)
        empty = first_sync_rows if start is None else None
        return cls(lo=start or EARLIEST, empty_rows=empty, **kwargs)

    def checkpoint(self) -> dict[str, Any]:
        """Where a resumed sync continues: live, exact for every row emitted so far."""
        return self._progress

    def rows(self) -> Iterator[Row]:
        """Every row of the window once, in partition order; then, on a first sync, the rows
        whose R is empty. The checkpoint ends at ``{"lo": hi, "seen": {}}``."""
        if self.lo < self.hi:
            yield from self._window()
        if self.empty_rows is not None:
            cursor = self.empty_rows()
            while not cursor.done:
                for row in cursor.accept(self.client.get_rows(self.connector_id, cursor.request())):
                    self.emitted_empty += 1
                    yield row
        self._progress.clear()
        self._progress.update({"lo": filter_value(self.hi), "seen": {}})

    # -- planning ----------------------------------------------------------------------------

    def _plan(self) -> list[_Partition]:
        whole = _Partition(self.lo, self.hi, self._seen)
        if self.parallel == 1:
            return [whole]
        first = self._probe(ascending=True)
        if first is None:
            return []  # nothing in the window
        last = self._probe(ascending=False) or first
        self._last_shown = last
        start = max(_whole_second(first), self.lo)
        span = (last - start).total_seconds()
        if span < 2:
            return [whole]
        bounds = sorted(
            {
                _whole_second(start + timedelta(seconds=span * k / self.parallel))
                for k in range(1, self.parallel)
            }
            - {self.lo}
        )
        # Rows emitted before a resume (``seen``) show at most ``newest``, so they are stored
        # before ``newest + 0.5 s``: no boundary before that, or a later partition reads them again.
        newest = max([self.lo, *(parse_afas_datetime(s) for s in self._seen.as_state())])
        edges = [self.lo, *[b for b in bounds if newest < b < self.hi], self.hi]
        parts = [_Partition(a, b) for a, b in itertools.pairwise(edges)]
        parts[0].seen = self._seen
        return parts

    def _probe(self, *, ascending: bool) -> datetime | None:
        r = self.replication_key
        bounds = [
            Condition(r, Op.AT_LEAST, filter_value(self.lo)),
            Condition(r, Op.LESS, filter_value(self.hi)),
        ]
        order = (r, *self.keys) if ascending else (f"-{r}",)
        request = PageRequest(and_all([bounds], self.extra), order, skip=0, take=1)
        rows = self.client.get_rows(self.connector_id, request)
        shown = rows[0].get(r) if rows else None
        return parse_afas_datetime(str(shown)) if shown else None

    # -- reading (worker threads) ------------------------------------------------------------

    def _window(self) -> Iterator[Row]:
        self._partitions = self._plan()
        if not self._partitions:
            return
        if len(self._partitions) == 1 and self.parallel == 1:
            yield from self._read_here(self._partitions[0])
            return
        workers = [
            threading.Thread(target=self._work, name=f"{self.connector_id}-reader-{n}", daemon=True)
            for n in range(self.parallel)
        ]
        for worker in workers:
            worker.start()
        try:
            yield from self._emit_all()
        finally:
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            for worker in workers:
                worker.join()

    def _work(self) -> None:
        """Read one page at a time from the frontmost partition that may be read, until all
        are read: workers gather where records leave next."""
        while True:
            with self._cond:
                part = self._pick()
                while part is None and not self._stop and not self._all_read():
                    self._idle += 1
                    self._cond.wait()
                    self._idle -= 1
                    part = self._pick()
                if part is None or self._stop:
                    self._cond.notify_all()
                    return
                part.busy = True
                cursor = part.cursor or self._cursor(part, part.seen)
                part.cursor = cursor
                if self._idle and part.span is not None and not cursor.dense:
                    self._cut(part, cursor, part.span, pieces=self._idle)
                request = cursor.request()
            try:
                page = cursor.hashed(self.client.get_rows(self.connector_id, request))
                for _ in cursor.accept_hashed(page):
                    pass  # the twin cursor emits; this one only plans the next request
            except BaseException as exc:  # handed to the emitting thread, which raises it
                with self._cond:
                    self._error = self._error or exc
                    self._stop = True
                    self._cond.notify_all()
                return
            with self._cond:
                if len(page) >= self.take:
                    part.span = parse_afas_datetime(page[-1][0]) - parse_afas_datetime(page[0][0])
                part.items.append(page)
                part.waiting += 1
                part.busy = False
                part.finished = cursor.done
                self._cond.notify_all()

    def _pick(self) -> _Partition | None:
        """The frontmost partition not being read and not read to its end that may be read now:
        while the pages held by it and the partitions before it (read or being read, not yet
        emitted) stay under ``parallel`` and all pages held under ``2 * parallel``, or the
        emitting one when it has nothing to give."""
        total = sum(p.waiting + (1 if p.busy else 0) for p in self._partitions)
        held = 0
        for part in self._partitions:
            held += part.waiting + (1 if part.busy else 0)
            if part.busy or part.finished:
                continue
            if part is self._emitting and not part.waiting:
                return part
            if held < self.parallel and total < 2 * self.parallel:
                return part
        return None

    def _all_read(self) -> bool:
        return all(p.finished for p in self._partitions)

    def _cut(
        self, part: _Partition, cursor: IncrementalCursor, span: timedelta, pieces: int
    ) -> None:
        """Leave ``part`` about ``SHARE_KEEP_PAGES`` pages (judged by the time its last full
        page covered) and queue the rest after it, cut at whole seconds into ``pieces`` parts of
        that size (the last one takes what remains), for idle workers to read near the front.
        Nothing is cut when the rest looks no bigger than that."""
        end = cursor.hi
        if self._last_shown is not None:
            end = min(end, _whole_second(self._last_shown) + ONE_SECOND)
        step = SHARE_KEEP_PAGES * max(span, ONE_SECOND)
        cut = _whole_second(cursor.lo + step)
        if cut <= cursor.lo + ONE_SECOND or cut >= end or cut >= cursor.hi:
            return
        queued: list[_Partition] = []
        start = cut
        while start < cursor.hi:
            stop = _whole_second(start + step)
            if len(queued) == pieces - 1 or stop >= end or stop <= start:
                stop = cursor.hi
            queued.append(_Partition(start, stop))
            start = stop
        at = self._partitions.index(part) + 1
        self._partitions[at:at] = queued
        cursor.hi = cut
        part.hi = cut
        part.items.append(cut)  # tells the twin cursor, in page order
        self._cond.notify_all()

    # -- emitting (the calling thread) -------------------------------------------------------

    def _emit_all(self) -> Iterator[Row]:
        index = 0
        while True:
            with self._cond:
                if index >= len(self._partitions):
                    return
                part = self._partitions[index]
                self._emitting = part
                self._cond.notify_all()
            twin = self._cursor(part, part.seen, progress=self._progress)
            yield from self._emit_partition(part, twin)
            index += 1

    def _emit_partition(self, part: _Partition, twin: IncrementalCursor) -> Iterator[Row]:
        taken = 0
        while True:
            with self._cond:
                while taken >= len(part.items) and not part.finished and self._error is None:
                    self._cond.wait()
                if self._error is not None:
                    raise self._error
                if taken >= len(part.items):
                    return
                item = part.items[taken]
                part.items[taken] = []  # emitted pages are not kept
                taken += 1
                if isinstance(item, list):
                    part.waiting -= 1
                    self._cond.notify_all()
            if isinstance(item, datetime):
                twin.hi = item
                continue
            yield from twin.accept_hashed(item)

    def _read_here(self, part: _Partition) -> Iterator[Row]:
        """``parallel`` 1: the sequential cursor, in the calling thread."""
        cursor = self._cursor(part, part.seen, progress=self._progress)
        while not cursor.done:
            yield from cursor.accept(self.client.get_rows(self.connector_id, cursor.request()))

    def _cursor(
        self, part: _Partition, seen: SeenRows, progress: dict[str, Any] | None = None
    ) -> IncrementalCursor:
        return IncrementalCursor(
            self.replication_key,
            self.keys,
            lo=part.lo,
            hi=part.hi,
            take=self.take,
            extra=self.extra,
            seen=SeenRows.from_state(seen.as_state()),
            progress=progress,
        )


def _whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
