"""The file streams: ``subject_files``, ``file_connector_files``, ``images`` and ``reports``.

One ``FileStream`` class, given a ``FileKind`` and where its items come from
(``tap_afas.file_sources``). A sync of one stream:

1. the manifest says what is already there (``tap_afas.file_store``);
2. files AFAS answered 404 for last time are tried first, then the listing is read: with a
   modified-date field only rows changed since the bookmark (minus a second), else every row;
   a listed file already in the manifest (same key, and same modified date where there is one)
   is not downloaded;
3. downloads run on ``max_parallel_requests`` threads (the client bounds the requests in flight
   for the whole tap); each answer is decoded while it streams (``afas_profit.file_decoder``)
   into a temporary file, then moved to its name, or into the record (``files.inline``);
4. one record per file written, in listing order (by modified date where there is one, so
   the bookmark advances with the records and an interrupted sync resumes near where it
   stopped); a file whose bytes did not change (a moved modified date, a report that is the
   same) gives no record; the manifest is updated after each record and saved at the end.

A 404 (file deleted, or the token may not read it) is one WARNING and is tried again next sync.
With ``inline``, a file over ``max_inline_bytes`` is one WARNING, no record and no truncated
content; it is tried (and refused) again next sync until the limit is raised.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from typing_extensions import override

from afas_profit.client import ProfitClient
from afas_profit.errors import AFASConfigError
from afas_profit.metainfo import EnvironmentInfo
from afas_profit.times import window_end, window_start
from tap_afas.file_downloads import Downloader, Outcome
from tap_afas.file_sources import (
    FileItem,
    FileKind,
    ListingSource,
    file_connector_kind,
    image_kind,
    report_items,
    report_kind,
    subject_kind,
)
from tap_afas.file_store import FileDirectory, Manifest
from tap_afas.output import flushed_at_end
from tap_afas.streams import NULL_BOOKMARK_NOTICE

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_afas.settings import TapSettings

Clock = Callable[[], datetime]
Record = dict[str, Any]
READ_AHEAD_PER_THREAD = 3  # downloads started ahead of the record next in line, per thread


class FileStream(Stream):
    """Files from one AFAS file connector: one record per file new since the last sync."""

    STATE_MSG_FREQUENCY = 100
    # Records leave in listing (date) order, except files retried from an earlier sync, which
    # come first; the bookmark is kept from moving back by ``_keep_bookmark``.
    check_sorted = False

    def __init__(
        self,
        tap: Tap,
        kind: FileKind,
        items: Callable[[datetime | None, datetime], Iterator[FileItem]],
        retry: Callable[[dict[str, Any]], FileItem],
        *,
        dated: bool,
        downloader: Downloader,
        settings: TapSettings,
        clock: Clock,
    ) -> None:
        super().__init__(tap, name=kind.stream, schema=file_schema(kind, downloader.inline))
        self.owner = tap  # its message writer is flushed when the records end
        self.kind = kind
        self._items = items
        self._retry = retry
        self.downloader = downloader
        self.settings = settings
        self.clock = clock
        self.primary_keys = list(kind.key_properties)
        self.replication_key = "modified" if dated else None
        logging.getLogger("singer_sdk").addFilter(NULL_BOOKMARK_NOTICE)

    @property
    @override
    def is_sorted(self) -> bool:
        return self.replication_key is not None  # records leave in listing (date) order

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[Record]:
        return flushed_at_end(self.owner, self._records(context))

    def _records(self, context: Mapping[str, Any] | None) -> Iterator[Record]:
        directory = self.downloader.directory
        if directory is not None:
            directory.prepare()
        state = self.get_context_state(context)
        manifest = (
            Manifest.in_directory(directory, self.name)
            if directory is not None
            else Manifest.in_state(state)
        )
        if directory is not None and directory.remove_leftovers(self.name):
            self.logger.info("%s: removed temporary files of an interrupted run", self.name)
        hi = window_end(self.clock(), self.settings.zone)
        lo = self._lower_bound(manifest)
        bookmark = state.get("replication_key_value")
        counts = {"downloaded": 0, "unchanged": 0, "warnings": 0}
        try:
            for outcome in self._download(self._wanted(manifest, lo, hi), manifest):
                key = outcome.item.key
                if outcome.warning is not None:
                    counts["warnings"] += 1
                    self.logger.warning("%s", outcome.warning)
                    if not self.kind.refetch:
                        manifest.retry_later(key, outcome.item.row)
                    continue
                assert outcome.entry is not None
                if outcome.record is not None:
                    counts["downloaded"] += 1
                    yield outcome.record
                else:
                    counts["unchanged"] += 1
                previous = manifest.files.get(key, {})
                manifest.add(
                    key, {**outcome.entry, "path": outcome.entry["path"] or previous.get("path")}
                )
        finally:
            manifest.save()
        self._keep_bookmark(state, bookmark)
        self.logger.info(
            "%s: %d files downloaded, %d unchanged, %d not available (warnings above)",
            self.name,
            counts["downloaded"],
            counts["unchanged"],
            counts["warnings"],
        )

    def _keep_bookmark(self, state: dict[str, Any], bookmark: Any) -> None:
        """A retried file older than the bookmark never moves the bookmark back (singer-sdk
        keeps the last value of a sorted stream, and retries come first)."""
        if self.replication_key is None or bookmark is None:
            return
        latest = state.get("replication_key_value")
        if latest is None or str(latest) < str(bookmark):
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = bookmark

    def _lower_bound(self, manifest: Manifest) -> datetime | None:
        """Where the listing starts (local time): the bookmark, when the manifest that goes
        with it exists; else ``start_date``; None reads every row."""
        if self.replication_key is None:
            return None
        if manifest.found:
            start = self.get_starting_timestamp(self.context)
        else:
            start = self.settings.start_date
            if self.get_context_state(self.context).get("replication_key_value"):
                self.logger.info(
                    "%s: no manifest of earlier downloads, so every listed file is read again",
                    self.name,
                )
        return None if start is None else window_start(start, self.settings.zone)

    def _wanted(
        self, manifest: Manifest, lo: datetime | None, hi: datetime
    ) -> Iterator[tuple[FileItem, str | None]]:
        """Items to download, each once, with the manifest's SHA-256 for it (or None)."""
        seen: set[str] = set()
        retries = sorted(
            (self._retry(row) for row in manifest.pending.values()),
            key=lambda item: item.modified or "",
        )
        for item in [*retries, *self._items(lo, hi)]:
            if item.key in seen or (
                not self.kind.refetch and manifest.has(item.key, item.modified)
            ):
                continue
            seen.add(item.key)
            previous = manifest.files.get(item.key)
            yield item, previous.get("sha256") if previous else None

    def _download(
        self, wanted: Iterator[tuple[FileItem, str | None]], manifest: Manifest
    ) -> Iterator[Outcome]:
        """Outcomes in the order of ``wanted``, downloaded on several threads meanwhile."""
        threads = self.settings.max_parallel_requests
        with ThreadPoolExecutor(threads, thread_name_prefix=f"tap-afas-{self.name}") as pool:
            running: deque[Future[Outcome]] = deque()
            try:
                for item, previous in wanted:
                    running.append(pool.submit(self.downloader.fetch, item, previous))
                    while running and (
                        running[0].done() or len(running) >= threads * READ_AHEAD_PER_THREAD
                    ):
                        yield running.popleft().result()
                while running:
                    yield running.popleft().result()
            finally:
                for future in running:
                    future.cancel()


def file_schema(kind: FileKind, inline: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        **kind.properties,
        "mime_type": {"type": ["string", "null"]},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
        "path": {"type": ["string", "null"]},
        "downloaded_at": {"type": "string", "format": "date-time"},
    }
    if inline:
        properties["content_base64"] = {"type": ["string", "null"]}
    return {"type": "object", "properties": properties}


def file_streams(
    tap: Tap,
    settings: TapSettings,
    client: ProfitClient,
    environment: EnvironmentInfo,
    clock: Clock,
) -> list[Stream]:
    """The file streams the settings ask for (none without the ``files`` setting)."""
    downloads = settings.downloads
    if downloads is None:
        return []
    offered = {c.id for c in environment.get_connectors}
    for setting, connector_id in downloads.listing_connectors():
        if connector_id not in offered:
            raise AFASConfigError(
                f"Setting {setting!r} names GetConnector {connector_id!r}, which this token "
                "does not offer (a typo, or not in the App Connector)."
            )
    directory = FileDirectory(downloads.directory) if downloads.directory else None
    listings = [
        ("files.fields", downloads.subjects, subject_kind()),
        ("files.file_connector_fields", downloads.file_connector, file_connector_kind()),
        ("images.fields", downloads.images, image_kind(downloads.image_format)),
    ]
    streams: list[Stream] = []
    for setting, listing, kind in listings:
        if listing is None:
            continue
        source = ListingSource(kind, client.get_connector_info(listing.connector), listing, setting)
        if source.modified_field is not None:
            kind = _dated(kind)
        streams.append(
            FileStream(
                tap,
                kind,
                _listed(source, client),
                kind.item,
                dated=source.modified_field is not None,
                downloader=Downloader(client, kind, directory, downloads, clock, settings.zone),
                settings=settings,
                clock=clock,
            )
        )
    if downloads.reports:
        kind = report_kind()
        streams.append(
            FileStream(
                tap,
                kind,
                lambda lo, hi: report_items(downloads.reports),
                kind.item,
                dated=False,
                downloader=Downloader(client, kind, directory, downloads, clock, settings.zone),
                settings=settings,
                clock=clock,
            )
        )
    return streams


def _listed(
    source: ListingSource, client: ProfitClient
) -> Callable[[datetime | None, datetime], Iterator[FileItem]]:
    def items(lo: datetime | None, hi: datetime) -> Iterator[FileItem]:
        return source.items(client, lo, hi)

    return items


def _dated(kind: FileKind) -> FileKind:
    """``kind`` with a ``modified`` field (UTC) in its records: the listing has one."""
    properties = {
        **kind.properties,
        "modified": {"type": ["string", "null"], "format": "date-time"},
    }
    return replace(kind, properties=properties)
