"""``GetConnectorStream``: one stream per GetConnector, incremental on its modified-date field.

How a connector is read is decided once by ``tap_afas.planning.StreamPlan``; which rows each
request asks for by ``afas_profit.window.WindowReader`` (incremental: partitions read in parallel,
emitted in order) or an ``afas_profit.cursor`` cursor (full table); every request goes through
``ProfitClient`` (the one door to AFAS). Readers own their checkpoints: this class puts the live
checkpoint into the stream's state under ``afas_progress`` and singer-sdk writes it with every
STATE message. A stream that resumes from its checkpoint can be prepared before it syncs
(``prepare``, called by ``tap_afas.prefetch`` while the streams before it emit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from afas_profit.client import ProfitClient
from afas_profit.cursor import Cursor, KeysetCursor, SingleRequestCursor
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition, Op
from afas_profit.key_ranges import KeyRangeReader
from afas_profit.metainfo import GetConnectorInfo
from afas_profit.records import RecordConverter
from afas_profit.schema_mapping import DELETED_AT
from afas_profit.times import filter_value, window_end, window_start
from afas_profit.window import Progress, WindowReader
from tap_afas.output import flushed_at_end
from tap_afas.planning import StreamPlan

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_afas.settings import TapSettings

PROGRESS_KEY = "afas_progress"
DELETES_KEY = "afas_deletes_progress"
Clock = Callable[[], datetime]


class _NullBookmarkNotice(logging.Filter):
    """singer-sdk warns once per record whose replication key is null. A first sync reads such
    rows on purpose (see ``WindowReader``) and reports their number in one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "New replication value is null"


NULL_BOOKMARK_NOTICE = _NullBookmarkNotice()


@dataclass(frozen=True)
class _Prepared:
    """A stream's window, planned and its first page asked for before the stream syncs."""

    started: datetime
    hi: datetime
    reader: WindowReader | KeyRangeReader


def _nothing(stream: GetConnectorStream) -> None:
    """``on_start`` of a stream without prefetching."""


def _nothing_more() -> None:
    """``on_error`` of a stream without prefetching."""


class GetConnectorStream(Stream):
    """A GetConnector read through a reader; full-table when it has no modified-date field."""

    STATE_MSG_FREQUENCY = 1000
    # Rows are typed by metainfo already (ints, Decimals, booleans, ISO strings).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    check_sorted = False  # rows are ordered by the stored value; shown values are rounded

    def __init__(
        self,
        tap: Tap,
        connector: GetConnectorInfo,
        settings: TapSettings,
        client: ProfitClient,
        clock: Clock,
    ) -> None:
        plan = StreamPlan.for_connector(connector, settings)
        super().__init__(tap, name=plan.name, schema=plan.schema())
        self.owner = tap  # its message writer is flushed when the records end
        self.plan = plan
        self.connector = connector
        self.settings = settings
        self.client = client
        self.clock = clock  # the time now, in UTC (tests set it)
        self.primary_keys = plan.keys
        self.replication_key = plan.replication_key
        self.deletes = plan.deletes_reader(client, settings)
        self.key_snapshot = plan.key_snapshot(client, settings)
        self.converter = RecordConverter(connector, settings.zone)
        # tap_afas.prefetch: the streams after this one ask for their first page once it starts
        self.on_start: Callable[[GetConnectorStream], None] = _nothing
        self.on_error: Callable[[], None] = _nothing_more
        self._prepared: _Prepared | None = None
        logging.getLogger("singer_sdk").addFilter(NULL_BOOKMARK_NOTICE)  # no-op when present
        warning = plan.unkeyed_warning()
        if warning:
            self.logger.warning("%s", warning)

    @property
    @override
    def is_sorted(self) -> bool:
        return self.replication_key is not None

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        return flushed_at_end(self.owner, self._records(context))

    def prepare(self) -> bool:
        """Send this stream's first request now, before it syncs (``tap_afas.prefetch``: while
        the streams before it emit): its window ends where it would end if it started now, and
        its reader asks for the first page (``WindowReader.prefetch``). Only a stream that
        resumes from its own checkpoint (every sync after the first): without one, where it
        starts is singer-sdk's to say when the stream starts. A full-table stream with a key
        asks for its first page by key (``KeyRangeReader.prefetch``). True when prepared."""
        if self._prepared is not None:
            return True
        started, hi = self._now()
        reader: WindowReader | KeyRangeReader
        if not self.replication_key:
            if not self.primary_keys:
                return False  # one request for the whole table, when the stream starts
            reader = self._key_range_reader()
        else:
            # Read, not through get_context_state: that adds an empty entry to the state
            # written while the streams before this one sync.
            state = self.tap_state.get("bookmarks", {}).get(self.name) or {}
            try:
                progress = self._progress(state)
            except AFASConfigError:
                return False  # said when the stream starts, as without prefetching
            if progress is None:
                return False
            reader = self._reader(progress, None, self.replication_key, hi)
        self._prepared = _Prepared(started, hi, reader)
        reader.prefetch()
        return True

    def close_prepared(self) -> None:
        """Stop a prepared reader that did not sync (the sync ended before this stream)."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            prepared.reader.close()

    def _records(self, context: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
        """Deletes logged in this sync's window first, then the rows, then keys gone. (No
        partitions: ``context`` is None, the state the stream's own, as ``prepare`` read.)"""
        prepared, self._prepared = self._prepared, None
        started, hi = (prepared.started, prepared.hi) if prepared else self._now()
        reader = prepared.reader if prepared else None
        self.on_start(self)
        try:
            state = self.get_context_state(context)
            if self.deletes is not None:
                yield from self._deleted_records(state, hi)
            if self.replication_key:
                assert not isinstance(reader, KeyRangeReader)
                yield from self._window(state, self.replication_key, hi, reader)
            else:
                assert not isinstance(reader, WindowReader)
                yield from self._full_table(reader)
            if self.key_snapshot is not None:
                yield from self.key_snapshot.deleted_records(
                    started.replace(microsecond=0).isoformat(), self.replication_key
                )
        except BaseException:
            self.on_error()  # the sync ends here: the streams prepared after this one stop
            raise

    def _now(self) -> tuple[datetime, datetime]:
        """The time now and the window end a stream starting now reads up to."""
        started = self.clock()
        return started, window_end(started, self.settings.zone)

    def _progress(self, state: Mapping[str, Any]) -> Progress | None:
        """The stream's checkpoint in ``state`` (None: none; a broken one is refused)."""
        return Progress.parse(state.get(PROGRESS_KEY), f"{PROGRESS_KEY} of {self.name}")

    def _start(self) -> datetime | None:
        """Where a stream without a checkpoint starts (None: all history, a first sync)."""
        start = self.get_starting_timestamp(self.context)
        return None if start is None else window_start(start, self.settings.zone)

    def _window(
        self,
        state: dict[str, Any],
        replication_key: str,
        hi: datetime,
        reader: WindowReader | None = None,
    ) -> Iterator[dict[str, Any]]:
        if reader is None:
            reader = self._reader(self._progress(state), self._start(), replication_key, hi)
        state[PROGRESS_KEY] = reader.checkpoint()
        self.logger.info(
            "GetConnector %s: reading %s from %s up to %s (local time, exclusive)%s",
            self.connector.id,
            replication_key,
            filter_value(reader.lo),
            filter_value(hi),
            "; first sync, so the rows where it is empty are read after the window"
            if reader.empty_rows is not None
            else "",
        )
        yield from reader.rows()
        if reader.emitted_empty:
            self.logger.info(
                "GetConnector %s: %d rows with an empty %s were read",
                self.connector.id,
                reader.emitted_empty,
                replication_key,
            )

    def _reader(
        self, progress: Progress | None, start: datetime | None, replication_key: str, hi: datetime
    ) -> WindowReader:
        plan = self.plan
        return WindowReader.resume(
            progress,
            start=start,
            first_sync_rows=lambda: self._empty_rows(replication_key),
            client=self.client,
            connector_id=self.connector.id,
            replication_key=replication_key,
            keys=plan.keys,
            hi=hi,
            take=plan.take,
            extra=plan.filters,
            parallel=self.settings.max_parallel_requests,
            adaptive_take=plan.adaptive_take,
        )

    def _empty_rows(self, replication_key: str) -> Cursor:
        """The rows no window reaches: ``replication_key`` is empty."""
        return self._table_cursor((*self.plan.filters, Condition(replication_key, Op.EMPTY)))

    def _full_table(self, reader: KeyRangeReader | None = None) -> Iterator[dict[str, Any]]:
        """By key, in parallel ranges of an integer first key (afas_profit.key_ranges); in one
        request when no key is known."""
        if not self.primary_keys:
            cursor = self._table_cursor(self.plan.filters)
            while not cursor.done:
                yield from cursor.accept(self.client.get_rows(self.connector.id, cursor.request()))
            return
        yield from (reader or self._key_range_reader()).rows()

    def _key_range_reader(self) -> KeyRangeReader:
        assert self.primary_keys
        return KeyRangeReader(
            self.client,
            self.connector.id,
            self.primary_keys,
            take=self.plan.take,
            extra=self.plan.filters,
            parallel=self.settings.max_parallel_requests,
            integer_first_key=self.plan.integer_first_key,
        )

    def _table_cursor(self, extra: tuple[Condition, ...]) -> Cursor:
        """Every row matching ``extra``: by key, or in one request when no key is known."""
        if self.primary_keys:
            return KeysetCursor(self.primary_keys, take=self.plan.take, extra=extra)
        return SingleRequestCursor([f.id for f in self.connector.fields], extra=extra)

    def _deleted_records(self, state: dict[str, Any], hi: datetime) -> Iterator[dict[str, Any]]:
        assert self.deletes is not None
        progress = Progress.parse(state.get(DELETES_KEY), f"{DELETES_KEY} of {self.name}")
        start = self._start() if self.replication_key else None
        cursor = self.deletes.cursor(lo=start, hi=hi, progress=progress)
        state[DELETES_KEY] = cursor.checkpoint()
        yield from self.deletes.records(cursor, self.logger.warning)

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Mapping[str, Any] | None
    ) -> Iterable[Mapping[str, Any] | None]:
        """Without child streams, no child context per record: singer-sdk's default builds one
        (a generator, a stream-map filter call and a copy per record) to sync none."""
        if self.child_streams:
            return super().generate_child_contexts(record, context)
        return ()

    @override
    def post_process(
        self, row: dict[str, Any], context: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        if row.get(DELETED_AT):
            return row  # delete records are built with their final (UTC) values
        return self.converter.convert(row)
