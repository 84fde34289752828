"""How a GetConnector is read page by page without missing or doubling a row.

Three cursors, each a plan of requests that adapts to the rows it gets back:

``IncrementalCursor`` (a replication key R exists) reads the window ``lo <= R < hi`` in stored
values, ordered by R then the key fields. AFAS stores R with sub-second precision but shows it
rounded to the second, and filters compare the stored value (afas-rest-api.md sections 3.7 and
9.2). After a full page whose last row shows D, every row stored before D - 1s has been read,
so the next page starts at ``R >= D - 1s``; the rows already emitted that can come back (they
show D - 1s or D) are remembered by content hash and skipped. When a page does not move the
start forward (more than a page of rows within two shown seconds), the one stored second
``[lo, lo + 1s)`` is read whole in one request. No ``skip`` is ever sent, so rows that change or
disappear during the sync cannot shift a page. ``hi`` is the sync's start (see
``times.window_end``): rows changed during the sync are read by the next one.

``KeysetCursor`` (no replication key, key fields known) orders by the key fields and continues
with ``key >= last`` (composite keys as OR-groups), skipping the rows of the last key already
emitted; a page full of one key value is read whole.

``SingleRequestCursor`` (nothing to order on) reads everything in one request.

A stream's first incremental sync also reads the rows whose R is empty (``afas_profit.window``).

A cursor's ``checkpoint()`` is what a resumed sync needs to continue exactly where it stopped.

A cursor reads everything it needs from a page (content hashes, key values, shown dates) when
``accept`` is called, before it hands out the first row: the consumer may change the row dicts
in place from then on (the tap converts dates to UTC), and a hash taken afterwards would no
longer match the same row when AFAS sends it again on the next page.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from afas_profit.errors import AFASRequestError
from afas_profit.filters import Condition, Op, and_all, filter_params, order_param
from afas_profit.times import filter_value, parse_afas_datetime

Row = dict[str, Any]
HashedRow = tuple[str, str, Row]  # (shown replication key, content hash, row)
ONE_SECOND = timedelta(seconds=1)
PRUNE_AFTER = 16  # rows an IncrementalCursor's checkpoint may keep beyond what it must (_emit)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One GetConnector request: filter, order, skip and take."""

    where: Sequence[Sequence[Condition]]
    order: tuple[str, ...]
    skip: int
    take: int

    def params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"skip": self.skip, "take": self.take}
        params.update(order_param(self.order))
        params.update(filter_params(self.where))
        return params

    def describe(self) -> str:
        """The page in words, for log lines and error messages (no data values besides keys)."""
        groups = [
            " and ".join(
                f"{c.field_id} {_OP_TEXT.get(c.op, int(c.op))} {c.value}".strip() for c in g
            )
            for g in self.where
        ]
        where = " or ".join(f"({g})" for g in groups) if len(groups) > 1 else "".join(groups)
        window = f" where {where}" if where else ""
        return f"skip={self.skip} take={self.take}{window}"


_OP_TEXT = {Op.EQUAL: "=", Op.AT_LEAST: ">=", Op.AT_MOST: "<=", Op.GREATER: ">", Op.LESS: "<"}


def row_hash(row: Row) -> str:
    """A short fingerprint of a decoded row's content, stable across runs (field order is
    AFAS's). The window reader fingerprints a row's JSON text instead (``text_hash``)."""
    return hashlib.blake2b(repr(list(row.values())).encode("utf-8"), digest_size=8).hexdigest()


def text_hash(text: bytes | memoryview | Any) -> str:
    """A short fingerprint of a row's JSON text as AFAS sent it (a ``msgspec.Raw`` or bytes):
    AFAS writes the same row as the same text, and hashing it costs a third of ``row_hash``,
    which needs the row decoded first."""
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def format_value(value: Any) -> str:
    """A row value as an AFAS filter value (dates without the false ``Z``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and len(value) == 20 and value.endswith("Z") and value[10] == "T":
        return value[:19]
    return str(value)


class SeenRows:
    """Rows already emitted that a following request can return again, by shown value."""

    def __init__(self, buckets: dict[str, Counter[str]] | None = None) -> None:
        self.buckets: dict[str, Counter[str]] = buckets or {}

    def consume(self, shown: str, digest: str) -> bool:
        """True (and forget it) when the row with this ``row_hash`` was emitted already."""
        bucket = self.buckets.get(shown)
        if not bucket or bucket[digest] <= 0:
            return False
        bucket[digest] -= 1
        return True

    def as_state(self) -> dict[str, dict[str, int]]:
        return {k: {h: n for h, n in v.items() if n > 0} for k, v in self.buckets.items() if +v}

    @classmethod
    def from_state(cls, state: Any) -> SeenRows:
        if not isinstance(state, dict):
            return cls()
        return cls(
            {str(k): Counter({str(h): int(n) for h, n in v.items()}) for k, v in state.items()}
        )


class Cursor(ABC):
    """A plan of GetConnector requests that adapts to what each page returns."""

    done: bool = False

    @abstractmethod
    def request(self) -> PageRequest: ...

    @abstractmethod
    def accept(self, rows: list[Row]) -> Iterator[Row]:
        """Take one page's rows; return an iterator over the ones to emit, in order.

        What the cursor needs from the rows is read before this returns, so the caller may
        change the row dicts in place (before or after they are yielded). Consume the iterator
        completely before the next ``request()``.
        """

    def checkpoint(self) -> dict[str, Any] | None:
        """What a resumed sync needs to continue here (None: start over)."""
        return None


class IncrementalCursor(Cursor):
    """Read ``lo <= R < hi`` (local wall-clock, whole seconds) ordered by R and the keys.

    ``progress`` is kept current row by row (a resumed sync starts from it): ``seen`` holds
    every emitted row shown at or after ``lo``, and ``lo`` is one second before the newest
    shown value emitted, or up to ``PRUNE_AFTER`` rows behind it inside a page (see ``_emit``).
    """

    def __init__(
        self,
        replication_key: str,
        keys: Sequence[str],
        *,
        lo: datetime,
        hi: datetime,
        take: int,
        extra: Sequence[Condition] = (),
        seen: SeenRows | None = None,
        progress: dict[str, Any] | None = None,
    ) -> None:
        """``progress``: a dict to keep the progress in (its ``lo`` and ``seen`` are set; other
        keys stay), so a reader can hand one live checkpoint through several cursors."""
        self.replication_key = replication_key
        self.keys = tuple(keys)
        self.lo = lo
        self.hi = hi
        self.take = take
        self.extra = tuple(extra)
        self.seen = seen or SeenRows()
        self.dense = False
        self.done = lo >= hi
        self.progress: dict[str, Any] = {} if progress is None else progress
        self.progress["lo"] = filter_value(lo)
        self.progress["seen"] = self.seen.as_state()
        self._frontier_shown = ""  # the newest shown value emitted
        self._frontier_wall = ""  # its first 19 characters: ISO text compares as time
        self._lo_text = (lo, filter_value(lo))

    def request(self) -> PageRequest:
        r = self.replication_key
        upper = min(self.lo + ONE_SECOND, self.hi) if self.dense else self.hi
        bounds = [
            Condition(r, Op.AT_LEAST, filter_value(self.lo)),
            Condition(r, Op.LESS, filter_value(upper)),
        ]
        where = and_all([bounds], self.extra)
        if self.dense:
            return PageRequest(where, (r, *self.keys), skip=-1, take=-1)
        return PageRequest(where, (r, *self.keys), skip=0, take=self.take)

    def accept(self, rows: list[Row]) -> Iterator[Row]:
        return self.accept_hashed(self.hashed(rows))

    def hashed(self, rows: list[Row]) -> list[HashedRow]:
        """The page as (shown R, content hash, row): what the cursor reads of each row."""
        r = self.replication_key
        return [(str(row.get(r)), row_hash(row), row) for row in rows]

    def accept_hashed(self, page: Iterable[HashedRow]) -> Iterator[Row]:
        """``accept`` for a page already ``hashed`` (two cursors can share the work)."""
        return self._emit(page)

    def plan(self, page: Iterable[HashedRow], rows: int) -> None:
        """Take a page of ``rows`` rows whose rows another cursor emits, fed the same pages in
        the same order (the window reader's twin): only the next request matters here. A page
        shorter than ``take`` that is not a stored second read whole ends the cursor, as
        ``accept`` would, without a look at its rows (most pieces are read in one such page)."""
        if not self.dense and rows < self.take:
            self.done = True
            return
        for _ in self._emit(page):
            pass

    def _emit(self, page: Iterable[HashedRow]) -> Iterator[Row]:
        """Yield the page's rows (shown R, hash, row) not emitted before; then move on. The
        page is iterated once, in order (a reader may decode its rows as they are asked for).

        Each row is recorded in ``progress`` before it is yielded: it goes into ``seen`` at
        once; ``lo`` follows the newest shown value, and ``seen`` drops what is older, once
        ``PRUNE_AFTER`` rows have been added since the last time and at the end of the page
        (``_prune``). In between, ``lo`` is a few rows behind and ``seen`` holds those rows
        too: a sync resumed there reads them again and skips them. This loop runs for every
        row, twice in the window reader (its worker's cursor and the twin), so the newest
        shown value is kept in locals and the common steps are inline."""
        page_start = self.lo
        count = 0
        seen = self.seen if self.seen.buckets else None
        tail = self.progress["seen"]
        newest_shown, newest_wall = self._frontier_shown, self._frontier_wall
        added = 0  # rows added to ``seen`` since the last ``_prune``
        for shown, digest, row in page:
            count += 1
            if seen is not None and seen.consume(shown, digest):
                continue  # emitted before, and still in progress["seen"]
            if shown != newest_shown and shown[:19] > newest_wall:
                newest_shown, newest_wall = shown, shown[:19]
                if added >= PRUNE_AFTER:
                    self._frontier_shown, self._frontier_wall = newest_shown, newest_wall
                    self._prune()
                    added = 0
            added += 1
            bucket = tail.get(shown)
            if bucket is None:
                tail[shown] = {digest: 1}
            else:
                bucket[digest] = bucket.get(digest, 0) + 1
            yield row
        self._frontier_shown, self._frontier_wall = newest_shown, newest_wall
        self._prune()
        frontier = parse_afas_datetime(self._frontier_wall) if self._frontier_wall else None
        if self.dense:
            self.lo = page_start + ONE_SECOND
            self._reset_tail()
            self.dense = False
            self.done = self.lo >= self.hi
        elif count < self.take:
            self.done = True
        elif frontier is not None and frontier - ONE_SECOND > page_start:
            self.lo = frontier - ONE_SECOND
            self.seen = SeenRows.from_state(self.progress["seen"])
        else:
            # More than a page within two shown seconds: read the stored second whole.
            self.dense = True
            self.seen = SeenRows.from_state(self.progress["seen"])

    def _prune(self) -> None:
        """``lo`` moves to one second before the newest shown value emitted, and the emitted
        rows shown before that leave ``seen``: no request from ``lo`` on returns them (they are
        stored before ``lo`` - 0.5 s)."""
        if not self._frontier_wall:
            return
        floor = _second_before(self._frontier_wall)
        tail = self.progress["seen"]
        for old in [k for k in tail if k[:19] < floor]:
            del tail[old]
        if self._lo_text[0] != self.lo:  # self.lo moves once a page, at most
            self._lo_text = (self.lo, filter_value(self.lo))
        lo_text = self._lo_text[1]
        self.progress["lo"] = floor if floor > lo_text else lo_text

    def _reset_tail(self) -> None:
        """After a whole stored second: keep only the emitted rows that can come back.

        Rows stored in ``[lo, lo + 0.5s)`` show ``lo`` and may have been emitted by the page
        that led to the dense read; they are returned again by ``R >= lo``.
        """
        floor = filter_value(self.lo)
        kept = {k: v for k, v in self.progress["seen"].items() if k[:19] >= floor}
        self.progress["lo"] = floor
        self.progress["seen"] = kept
        self.seen = SeenRows.from_state(kept)

    def checkpoint(self) -> dict[str, Any]:
        return self.progress

    def finish(self) -> None:
        """The window is read: the checkpoint moves to its end, where the next sync starts."""
        self.progress.clear()
        self.progress.update({"lo": filter_value(self.hi), "seen": {}})


def _second_before(wall: str) -> str:
    """``2024-03-01T10:00:02`` → ``2024-03-01T10:00:01`` (a shown value's first 19 characters
    as a filter value); by text when only the last digit changes, else by the calendar (which
    also refuses a value that is not a datetime)."""
    last = wall[-1:]
    if len(wall) == 19 and "1" <= last <= "9" and wall[16] == ":" and wall[17] in "012345":
        return wall[:18] + chr(ord(last) - 1)
    return filter_value(parse_afas_datetime(wall) - ONE_SECOND)


class KeysetCursor(Cursor):
    """Read a whole connector ordered by its key fields, continuing after the last key."""

    def __init__(self, keys: Sequence[str], *, take: int, extra: Sequence[Condition] = ()) -> None:
        if not keys:
            raise ValueError("KeysetCursor needs key fields")
        self.keys = tuple(keys)
        self.take = take
        self.extra = tuple(extra)
        self.last: tuple[str, ...] | None = None
        self.seen: Counter[str] = Counter()
        self.whole_group = False
        self.strict = False

    def request(self) -> PageRequest:
        if self.last is None:
            return PageRequest(and_all([], self.extra), self.keys, skip=0, take=self.take)
        if self.whole_group:
            group = [Condition(k, Op.EQUAL, v) for k, v in zip(self.keys, self.last, strict=True)]
            return PageRequest(and_all([group], self.extra), self.keys, skip=-1, take=-1)
        groups = []
        for i, key in enumerate(self.keys):
            head = [
                Condition(k, Op.EQUAL, v) for k, v in zip(self.keys[:i], self.last, strict=False)
            ]
            last_part = i == len(self.keys) - 1
            op = Op.GREATER if (not last_part or self.strict) else Op.AT_LEAST
            groups.append([*head, Condition(key, op, self.last[i])])
        return PageRequest(and_all(groups, self.extra), self.keys, skip=0, take=self.take)

    def accept(self, rows: list[Row]) -> Iterator[Row]:
        fresh = self._fresh(rows)
        after = self._next_position(rows)
        return self._emit(fresh, after)

    def _emit(self, fresh: list[Row], after: _KeysetPosition) -> Iterator[Row]:
        yield from fresh
        self.done = after.done
        self.last = after.last
        self.seen = after.seen
        self.whole_group = after.whole_group
        self.strict = after.strict

    def _fresh(self, rows: list[Row]) -> list[Row]:
        """The rows not emitted before (the last key's rows come back with ``key >= last``)."""
        if not self.seen:
            return list(rows)
        seen = Counter(self.seen)
        left = sum(seen.values())
        fresh = []
        for i, row in enumerate(rows):
            if not left:  # every row that can come back did: the rest is new
                fresh.extend(rows[i:])
                break
            digest = row_hash(row)
            if seen[digest] > 0:
                seen[digest] -= 1
                left -= 1
                continue
            fresh.append(row)
        return fresh

    def _next_position(self, rows: list[Row]) -> _KeysetPosition:
        """Where to continue after this page, from its rows as AFAS sent them."""
        if self.whole_group:
            return _KeysetPosition(False, self.last, Counter(), whole_group=False, strict=True)
        if len(rows) < self.take:
            return _KeysetPosition(True, self.last, Counter(), whole_group=False, strict=False)
        last = self._key_of(rows[-1])
        same = [row for row in rows if _folded(self._key_of(row)) == _folded(last)]
        whole_group = (
            len(same) == len(rows) and self.last is not None and _folded(self.last) == _folded(last)
        )
        seen = Counter(row_hash(row) for row in same)
        return _KeysetPosition(False, last, seen, whole_group=whole_group, strict=False)

    def _key_of(self, row: Row) -> tuple[str, ...]:
        values = []
        for key in self.keys:
            value = row.get(key)
            if value is None:
                raise AFASRequestError(
                    f"Key field {key!r} is empty in a row, so rows cannot be paged by key. Set "
                    "'primary_keys' for this connector to fields that are never empty."
                )
            values.append(format_value(value))
        return tuple(values)


@dataclass(frozen=True, slots=True)
class _KeysetPosition:
    """Where a ``KeysetCursor`` continues once a page is emitted: ``last`` key, the hashes of
    the rows with that key (they come back with ``key >= last``), and how to read next."""

    done: bool
    last: tuple[str, ...] | None
    seen: Counter[str]
    whole_group: bool
    strict: bool


def _folded(key: tuple[str, ...]) -> tuple[str, ...]:
    """Key values as AFAS compares them: strings case-insensitively."""
    return tuple(value.casefold() for value in key)


class SingleRequestCursor(Cursor):
    """Everything in one request (``skip=-1&take=-1``): for connectors with nothing to order on."""

    def __init__(self, order: Sequence[str], extra: Sequence[Condition] = ()) -> None:
        self.order = tuple(order)
        self.extra = tuple(extra)

    def request(self) -> PageRequest:
        return PageRequest(and_all([], self.extra), self.order, skip=-1, take=-1)

    def accept(self, rows: list[Row]) -> Iterator[Row]:
        self.done = True
        return iter(rows)
