"""Reading a GetConnector's window ``lo <= R < hi`` in partitions, in parallel, emitted in order.

``WindowReader`` owns a stream's incremental read and its checkpoint:

- **Plan.** Two cheap probes (``take=1`` ordered by R ascending, then descending) find the first
  and last shown R in the window; the seconds between them are cut into ``parallel`` partitions
  ``[lo, b1), [b1, b2), …, [bn, hi)``. Boundaries are whole seconds of stored R, and AFAS filters
  compare stored values, so a row belongs to exactly one partition whatever it shows. No count,
  no ``skip``.
- **Read.** Up to ``parallel`` worker threads each read one partition with its own exact
  ``IncrementalCursor`` (see ``afas_profit.cursor``: nothing missed or doubled within it). A
  worker with nothing left to read asks the others to share: before its next request, a busy
  worker keeps about two more pages of its range (judged by the stored time its last full page
  covered) and queues the rest, from a whole second on, right after its own partition.
  Requests in flight are further bounded by the client for the whole process.
- **Emit.** The calling thread emits partition 1's rows as their pages arrive, then partition
  2's, and so on: rows leave in R order per partition and partitions in R order, so a bookmark
  only moves forward. Each page is checked a second time by a twin cursor in the calling thread
  (fed the same hashed pages, in the same order): its progress is the checkpoint, exact row by
  row, and is the one ``checkpoint()`` returns. As partitions are contiguous and emitted in
  order, "the partitions completed and the position inside the current one" is one position:
  the current partition's ``lo`` and ``seen``. A resumed sync plans ``[lo, hi)`` again.
- **Memory.** Pages requested or read but not yet emitted are capped at ``parallel``; only the
  emitting partition's worker may go one page beyond. At most ``parallel + 2`` pages of ``take``
  rows are held (with the page being emitted), whatever the data size.
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
SHARE_KEEP_PAGES = 2  # pages of its own range a reader keeps when it shares the rest
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
    """One contiguous range of R and the pages its worker has read, not yet emitted."""

    lo: datetime
    hi: datetime
    seen: SeenRows = field(default_factory=SeenRows)
    items: list[list[HashedRow] | datetime] = field(default_factory=list)
    assigned: bool = False
    finished: bool = False
    waiting: int = 0  # pages in ``items`` not yet taken by the emitting thread


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
        self._reserved = 0  # pages requested or read and not yet emitted
        self._hungry = 0
        self._readers = 0
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
            for n in range(min(self.parallel, max(len(self._partitions), self.parallel)))
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
        while True:
            with self._cond:
                part = self._next_unassigned()
                while part is None and self._readers and not self._stop:
                    self._hungry += 1
                    self._cond.notify_all()
                    self._cond.wait()
                    self._hungry -= 1
                    part = self._next_unassigned()
                if part is None or self._stop:
                    self._cond.notify_all()
                    return
                part.assigned = True
                self._readers += 1
            try:
                self._read(part)
            except BaseException as exc:  # handed to the emitting thread, which raises it
                with self._cond:
                    self._error = self._error or exc
                    self._stop = True
            finally:
                with self._cond:
                    part.finished = True
                    self._readers -= 1
                    self._cond.notify_all()

    def _next_unassigned(self) -> _Partition | None:
        return next((p for p in self._partitions if not p.assigned), None)

    def _read(self, part: _Partition) -> None:
        cursor = self._cursor(part, part.seen)
        span: timedelta | None = None  # the stored time one full page covered
        while not cursor.done:
            with self._cond:
                while (
                    self._reserved >= self.parallel
                    and (part is not self._emitting or part.waiting)
                    and not self._stop
                ):
                    self._cond.wait()
                if self._stop:
                    return
                unassigned = sum(1 for p in self._partitions if not p.assigned)
                if self._hungry > unassigned and not cursor.dense and span is not None:
                    self._share(part, cursor, span)
                self._reserved += 1
            page = cursor.hashed(self.client.get_rows(self.connector_id, cursor.request()))
            if len(page) >= self.take:
                span = parse_afas_datetime(page[-1][0]) - parse_afas_datetime(page[0][0])
            for _ in cursor.accept_hashed(page):
                pass  # the twin cursor emits; this one only plans the next request
            with self._cond:
                part.items.append(page)
                part.waiting += 1
                self._cond.notify_all()

    def _share(self, part: _Partition, cursor: IncrementalCursor, span: timedelta) -> None:
        """Leave ``part`` about ``SHARE_KEEP_PAGES`` more pages (judged by the time its last full
        page covered) and queue the rest, from a whole second on, right after it. Nothing is
        cut when the rest looks no bigger than that."""
        end = cursor.hi
        if self._last_shown is not None:
            end = min(end, _whole_second(self._last_shown) + ONE_SECOND)
        cut = _whole_second(cursor.lo + SHARE_KEEP_PAGES * max(span, ONE_SECOND))
        if cut <= cursor.lo + ONE_SECOND or cut >= end or cut >= cursor.hi:
            return
        upper = _Partition(cut, cursor.hi)
        self._partitions.insert(self._partitions.index(part) + 1, upper)
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
                    self._reserved -= 1
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
