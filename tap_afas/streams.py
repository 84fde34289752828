"""``GetConnectorStream``: one stream per GetConnector, incremental on its modified-date field.

Which rows each request asks for is decided by an ``afas_profit.cursor`` cursor (see its module
docstring for why no row is missed or doubled); every request goes through ``ProfitClient`` (the
one door to AFAS: classification and retries). This class wires them into singer-sdk: records,
conversion and state. The resume point lives in the stream's state under ``afas_progress`` and is
updated row by row; the SDK writes it with every STATE message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from afas_profit.client import ProfitClient
from afas_profit.conventions import detect_replication_key, guess_primary_keys, stream_name_for
from afas_profit.cursor import (
    EMPTY_PENDING,
    Cursor,
    FirstSyncCursor,
    IncrementalCursor,
    KeysetCursor,
    SeenRows,
    SingleRequestCursor,
)
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition, Op
from afas_profit.metainfo import GetConnectorInfo
from afas_profit.records import RecordConverter
from afas_profit.schema_mapping import DELETED_AT, schema_from_metainfo
from afas_profit.times import filter_value, parse_afas_datetime, window_end, window_start
from tap_afas.deletes import DeletesReader
from tap_afas.key_snapshots import KeySnapshot

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_afas.settings import TapSettings

PROGRESS_KEY = "afas_progress"
DELETES_KEY = "afas_deletes_progress"
EARLIEST = datetime(1900, 1, 1)
Clock = Callable[[], datetime]


class _NullBookmarkNotice(logging.Filter):
    """singer-sdk warns once per record whose replication key is null. A first sync reads such
    rows on purpose (see FirstSyncCursor) and reports their number in one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "New replication value is null"


NULL_BOOKMARK_NOTICE = _NullBookmarkNotice()


class GetConnectorStream(Stream):
    """A GetConnector read through a cursor; full-table when it has no modified-date field."""

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
        self.connector = connector
        self.settings = settings
        self.client = client
        self.clock = clock  # the time now, in UTC (tests set it)
        plan = settings.plan_for(connector.id)
        replication_key = (
            plan.replication_key if plan.replication_key_set else detect_replication_key(connector)
        )
        self.extra_filters = plan.filters
        keys = (
            list(plan.primary_keys)
            if plan.primary_keys is not None
            else guess_primary_keys(connector)
        )
        for name in [*(keys or []), *([replication_key] if replication_key else [])]:
            if connector.field(name) is None:
                raise AFASConfigError(
                    f"Field {name!r} (in 'primary_keys' or 'replication_keys' for "
                    f"{connector.id!r}) is not a field of that GetConnector. Its fields: "
                    f"{', '.join(f.id for f in connector.fields)}."
                )
        log = settings.deleted_records_log
        tracks_deletes = log is not None and connector.id in log.entities
        compares_keys = settings.compares_keys(connector.id)
        super().__init__(
            tap,
            name=stream_name_for(connector.id),
            schema=schema_from_metainfo(connector, with_deletes=tracks_deletes or compares_keys),
        )
        self.deletes = (
            DeletesReader(log, client, connector, keys, replication_key, settings.zone)
            if log is not None and tracks_deletes
            else None
        )
        self.key_snapshot = (
            KeySnapshot(
                settings.key_comparison.snapshot_dir / f"{self.name}.sqlite3",
                client,
                connector,
                keys,
                plan.filters,
            )
            if settings.key_comparison is not None and compares_keys
            else None
        )
        self._hi: datetime | None = None  # the sync's window end, set when a sync starts
        logging.getLogger("singer_sdk").addFilter(NULL_BOOKMARK_NOTICE)  # no-op when present
        self.primary_keys = keys
        self.replication_key = replication_key
        self.take = settings.page_size_for(len(connector.fields))
        self.converter = RecordConverter(connector, settings.zone)
        if not keys:
            self.logger.warning(
                "GetConnector %s: no unique key is known, so pages cannot be ordered on a unique "
                "field. Set 'primary_keys' for it. %s",
                connector.id,
                "Rows are read by modified date and de-duplicated by content."
                if replication_key
                else "It is read in one request (skip=-1), which AFAS discourages for large data.",
            )

    @property
    @override
    def is_sorted(self) -> bool:
        return self.replication_key is not None

    def _new_cursor(self) -> Cursor:
        r = self.replication_key
        if r:
            return self._incremental_cursor(r)
        if self.primary_keys:
            return KeysetCursor(self.primary_keys, take=self.take, extra=self.extra_filters)
        return SingleRequestCursor([f.id for f in self.connector.fields], extra=self.extra_filters)

    def _incremental_cursor(self, replication_key: str) -> IncrementalCursor | FirstSyncCursor:
        zone = self.settings.zone
        state = self.get_context_state(self.context)
        hi = self._hi or window_end(self.clock(), zone)
        progress = state.get(PROGRESS_KEY)
        seen = SeenRows()
        if isinstance(progress, dict) and progress.get("lo"):
            lo = parse_afas_datetime(str(progress["lo"]))
            seen = SeenRows.from_state(progress.get("seen"))
            first_sync = bool(progress.get(EMPTY_PENDING))
        else:
            start = self.get_starting_timestamp(self.context)
            lo = EARLIEST if start is None else window_start(start, zone)
            first_sync = start is None
        window = IncrementalCursor(
            replication_key,
            self.primary_keys or (),
            lo=lo,
            hi=hi,
            take=self.take,
            extra=self.extra_filters,
            seen=seen,
        )
        cursor = (
            FirstSyncCursor(window, self._empty_key_cursor(replication_key))
            if first_sync
            else window
        )
        state[PROGRESS_KEY] = cursor.progress
        self.logger.info(
            "GetConnector %s: reading %s from %s up to %s (local time, exclusive)",
            self.connector.id,
            replication_key,
            filter_value(lo),
            filter_value(hi),
        )
        if first_sync:
            self.logger.info(
                "GetConnector %s: first sync, so the rows whose %s is empty are read after the "
                "window",
                self.connector.id,
                replication_key,
            )
        return cursor

    def _empty_key_cursor(self, replication_key: str) -> Cursor:
        """The rows no window reaches: ``replication_key`` is empty (by key, or in one go)."""
        extra = (*self.extra_filters, Condition(replication_key, Op.EMPTY))
        if self.primary_keys:
            return KeysetCursor(self.primary_keys, take=self.take, extra=extra)
        return SingleRequestCursor([f.id for f in self.connector.fields], extra=extra)

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Deletes logged in this sync's window first, then the rows, then keys gone."""
        started = self.clock()
        self._hi = window_end(started, self.settings.zone)
        if self.deletes is not None:
            yield from self._deleted_records(context)
        yield from self._rows()
        if self.key_snapshot is not None:
            yield from self.key_snapshot.deleted_records(
                started.replace(microsecond=0).isoformat(), self.replication_key
            )

    def _deleted_records(self, context: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
        assert self.deletes is not None
        state = self.get_context_state(context)
        start = self.get_starting_timestamp(context) if self.replication_key else None
        lo = EARLIEST if start is None else window_start(start, self.settings.zone)
        hi = self._hi or window_end(self.clock(), self.settings.zone)
        cursor = self.deletes.cursor(lo=lo, hi=hi, progress=state.get(DELETES_KEY))
        state[DELETES_KEY] = cursor.progress
        yield from self.deletes.records(cursor, self.logger.warning)
        state[DELETES_KEY] = {"lo": filter_value(hi), "seen": {}}

    def _rows(self) -> Iterator[dict[str, Any]]:
        """The rows of this sync, page by page as the cursor asks for them."""
        cursor = self._new_cursor()
        while not cursor.done:
            rows = self.client.get_rows(self.connector.id, cursor.request())
            yield from cursor.accept(rows)
        window = cursor.window if isinstance(cursor, FirstSyncCursor) else cursor
        if self.replication_key and isinstance(window, IncrementalCursor):
            window.progress["lo"] = filter_value(window.hi)
            window.progress["seen"] = {}
            if isinstance(cursor, FirstSyncCursor) and cursor.emitted_empty:
                self.logger.info(
                    "GetConnector %s: %d rows with an empty %s were read",
                    self.connector.id,
                    cursor.emitted_empty,
                    self.replication_key,
                )

    @override
    def post_process(
        self, row: dict[str, Any], context: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        if row.get(DELETED_AT):
            return row  # delete records are built with their final (UTC) values
        return self.converter.convert(row)
