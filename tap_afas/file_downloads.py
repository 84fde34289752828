"""Fetching one file: through the client, decoded while it streams in, into its place.

``Downloader.fetch`` runs on the stream's worker threads. With a directory, the answer is
decoded into a temporary file (``tap_afas.file_store.PendingFile``) that is moved to its name
once complete; with ``files.inline`` into memory, at most ``max_inline_bytes``. It returns an
``Outcome``: a record (a new or changed file), nothing (same bytes as before), or a warning
(AFAS answered 404; too large to inline). Any other error is raised and stops the sync.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.client import ProfitClient
from afas_profit.errors import AFASNotFoundError
from afas_profit.file_decoder import FileDocument, FileDocumentDecoder, FileTooLargeError
from afas_profit.times import record_datetime
from tap_afas.file_settings import DownloadSettings
from tap_afas.file_sources import FileItem, FileKind
from tap_afas.file_store import FileDirectory, PendingFile

Clock = Callable[[], datetime]
Record = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What became of one item: a record, nothing new, or a warning."""

    item: FileItem
    record: Record | None = None
    entry: dict[str, Any] | None = None
    warning: str | None = None


class Downloader:
    """Fetches one item through the client, decoded while it streams in."""

    def __init__(
        self,
        client: ProfitClient,
        kind: FileKind,
        directory: FileDirectory | None,
        settings: DownloadSettings,
        clock: Clock,
        zone: ZoneInfo,
    ) -> None:
        self.client = client
        self.kind = kind
        self.directory = directory
        self.inline = settings.inline
        self.max_inline_bytes = settings.max_inline_bytes
        self.clock = clock
        self.zone = zone

    def fetch(self, item: FileItem, previous_sha256: str | None) -> Outcome:
        """Download ``item``; ``previous_sha256``: what the manifest holds for it, if anything."""
        what = f"{self.kind.stream}: {item.label}"
        try:
            if self.inline:
                document, content = self.client.download(
                    item.path, what, self._into_memory, item.params
                )
                pending = None
            else:
                document, pending = self.client.download(
                    item.path, what, self._into_file, item.params
                )
                content = None
        except AFASNotFoundError as exc:
            return Outcome(item, warning=f"{exc} It is tried again on the next sync.")
        except FileTooLargeError:
            return Outcome(
                item,
                warning=(
                    f"{what} is larger than files.max_inline_bytes ({self.max_inline_bytes} "
                    "bytes): skipped, no record (never truncated). Raise files.max_inline_bytes "
                    "or leave out files.inline to write it to files.directory."
                ),
            )
        return self._finish(item, document, pending, content, previous_sha256)

    def _into_file(self, chunks: Iterable[bytes]) -> tuple[FileDocument, PendingFile]:
        assert self.directory is not None
        pending = self.directory.new_file(self.kind.stream)
        try:
            decoder = FileDocumentDecoder(pending.write)
            for chunk in chunks:
                decoder.feed(chunk)
            return decoder.close(), pending
        except BaseException:
            pending.discard()
            raise

    def _into_memory(self, chunks: Iterable[bytes]) -> tuple[FileDocument, bytes]:
        content = bytearray()
        decoder = FileDocumentDecoder(content.extend, limit=self.max_inline_bytes)
        for chunk in chunks:
            decoder.feed(chunk)
        return decoder.close(), bytes(content)

    def _finish(
        self,
        item: FileItem,
        document: FileDocument,
        pending: PendingFile | None,
        content: bytes | None,
        previous_sha256: str | None,
    ) -> Outcome:
        now = self.clock().isoformat()
        entry: dict[str, Any] = {
            "sha256": document.sha256,
            "size": document.size,
            "modified": item.modified,
            "path": None,
        }
        if previous_sha256 == document.sha256:
            if pending is not None:
                pending.discard()
            return Outcome(item, entry=entry)
        path = None
        if pending is not None:
            path = self.kind.place(item, document, now)
            try:
                pending.commit(path)
            except BaseException:
                pending.discard()
                raise
        entry["path"] = path
        record: Record = {
            **item.fields,
            "mime_type": document.mimetype,
            "size": document.size,
            "sha256": document.sha256,
            "path": path,
            "downloaded_at": now,
        }
        if "modified" in self.kind.properties:
            modified = item.modified
            record["modified"] = record_datetime(modified, self.zone) if modified else None
        if content is not None:
            record["content_base64"] = base64.b64encode(content).decode("ascii")
        return Outcome(item, record=record, entry=entry)
