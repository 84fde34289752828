"""What each file stream downloads: the items a listing GetConnector (or the settings) names.

A ``FileItem`` is one file to fetch: its manifest key, the file connector URL, the record fields
known before the download, and the listing's modified date as AFAS shows it. Four kinds, one
per stream, differ only in those (composition: a ``FileKind`` is handed to ``ListingSource``):

=====================  ==============================  =======================================
stream                 URL                             file in the directory
=====================  ==============================  =======================================
subject_files          /SubjectConnector/{sid}/{fid}   subject_files/{sid}/{fid}-{name}
file_connector_files   /fileconnector/{fid}/{name}     file_connector_files/{fid}-{name}
images                 /ImageConnector/{id}?format=    images/{id}-{format}{ext from MIME}
reports                /reportconnector/{guid}         reports/{name}/{time}-{sha256[:12]}{ext}
=====================  ==============================  =======================================

The file id in each name keeps two files with one name apart. A listing without a
modified-date field is read by key (keyset paging). With one, it is read in order of that date
(``afas_profit.cursor.IncrementalCursor``: rows changed in ``[lo - 1 s, hi)``, as AFAS's ``>=``
on a second is unreliable, afas-rest-api.md 9.2), so the stream's records leave in date order;
a first sync then reads the rows whose date is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from afas_profit.client import ProfitClient
from afas_profit.conventions import detect_replication_key
from afas_profit.cursor import Cursor, IncrementalCursor, KeysetCursor
from afas_profit.errors import AFASConfigError
from afas_profit.file_decoder import FileDocument
from afas_profit.files import (
    ImageFormat,
    extension_for,
    file_connector_path,
    image_params,
    image_path,
    listing_fields,
    relative_path,
    report_params,
    report_path,
    subject_file_path,
)
from afas_profit.filters import Condition, Op
from afas_profit.metainfo import GetConnectorInfo
from afas_profit.window import EARLIEST
from tap_afas.file_settings import ListingSetting, ReportSetting

Row = dict[str, Any]
ONE_SECOND = timedelta(seconds=1)
LISTING_PAGE_SIZE = 1000


@dataclass(frozen=True)
class FileItem:
    """One file to fetch."""

    key: str  # unique within the stream (the manifest's key)
    label: str  # names the file in log lines
    path: str  # URL path under the base URL
    fields: Row  # record fields known before the download
    row: Row  # what the manifest keeps to retry it (the listing row's parts)
    modified: str | None = None  # the listing's modified date as AFAS shows it
    params: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class FileKind:
    """How the items of one stream are made and named."""

    stream: str
    roles: tuple[str, ...]  # the listing parts it needs (besides modified)
    item: Callable[[Row], FileItem]
    place: Callable[[FileItem, FileDocument, str], str]  # relative path (the time is given)
    key_properties: tuple[str, ...]
    properties: Mapping[str, Any]  # record fields besides the common ones
    refetch: bool = False  # fetched every sync (reports): the manifest only keeps the last SHA


def _id_type(value: Any) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def subject_kind() -> FileKind:
    def item(row: Row) -> FileItem:
        sid, fid, name = _id_type(row["subject_id"]), str(row["file_id"]), str(row["file_name"])
        return FileItem(
            key=f"{sid}/{fid}",
            label=f"dossier item {sid} file {name!r} (id {fid})",
            path=subject_file_path(sid, fid),
            fields={"subject_id": sid, "file_id": fid, "file_name": name},
            row=row,
            modified=row.get("modified"),
        )

    def place(item: FileItem, document: FileDocument, now: str) -> str:
        fields = item.fields
        return relative_path(
            "subject_files", fields["subject_id"], f"{fields['file_id']}-{fields['file_name']}"
        )

    return FileKind(
        "subject_files",
        ("subject_id", "file_id", "file_name"),
        item,
        place,
        ("subject_id", "file_id"),
        {
            "subject_id": {"type": ["integer", "string"]},
            "file_id": {"type": "string"},
            "file_name": {"type": "string"},
        },
    )


def file_connector_kind() -> FileKind:
    def item(row: Row) -> FileItem:
        fid, name = str(row["file_id"]), str(row["file_name"])
        return FileItem(
            key=fid,
            label=f"file {name!r} (GUID {fid})",
            path=file_connector_path(fid, name),
            fields={"file_id": fid, "file_name": name},
            row=row,
            modified=row.get("modified"),
        )

    def place(item: FileItem, document: FileDocument, now: str) -> str:
        fields = item.fields
        return relative_path("file_connector_files", f"{fields['file_id']}-{fields['file_name']}")

    return FileKind(
        "file_connector_files",
        ("file_id", "file_name"),
        item,
        place,
        ("file_id",),
        {"file_id": {"type": "string"}, "file_name": {"type": "string"}},
    )


def image_kind(image_format: ImageFormat) -> FileKind:
    format_name = image_format.name.lower()

    def item(row: Row) -> FileItem:
        image_id = _id_type(row["image_id"])
        return FileItem(
            key=f"{image_id}/{format_name}",
            label=f"image {image_id} ({format_name})",
            path=image_path(image_id),
            params=image_params(image_format),
            fields={"image_id": image_id, "format": format_name},
            row=row,
            modified=row.get("modified"),
        )

    def place(item: FileItem, document: FileDocument, now: str) -> str:
        image_id = item.fields["image_id"]
        return relative_path(
            "images", f"{image_id}-{format_name}{extension_for(document.mimetype)}"
        )

    return FileKind(
        "images",
        ("image_id",),
        item,
        place,
        ("image_id", "format"),
        {"image_id": {"type": ["integer", "string"]}, "format": {"type": "string"}},
    )


def report_kind() -> FileKind:
    def item(row: Row) -> FileItem:
        raise AssertionError("reports are not listed")  # pragma: no cover

    def place(item: FileItem, document: FileDocument, now: str) -> str:
        stamp = now.replace(":", "").replace("-", "")[:15]
        name = f"{stamp}-{document.sha256[:12]}{extension_for(document.mimetype)}"
        return relative_path("reports", item.fields["report_name"], name)

    return FileKind(
        "reports",
        (),
        item,
        place,
        ("report_id", "filters", "sha256"),
        {
            "report_id": {"type": "string"},
            "report_name": {"type": "string"},
            "filters": {"type": "string"},
        },
        refetch=True,
    )


def report_items(reports: tuple[ReportSetting, ...]) -> Iterator[FileItem]:
    for report in reports:
        params = report_params(report.filters)
        shown = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        yield FileItem(
            key=f"{report.report_id}?{shown}",
            label=f"report {report.name!r} ({report.report_id})",
            path=report_path(report.report_id),
            params=params,
            fields={"report_id": report.report_id, "report_name": report.name, "filters": shown},
            row={},
        )


class ListingSource:
    """The files a listing GetConnector names, read page by page."""

    def __init__(
        self, kind: FileKind, connector: GetConnectorInfo, setting: ListingSetting, name: str
    ) -> None:
        self.kind = kind
        self.connector = connector
        self.fields = listing_fields(connector, kind.roles, setting.fields, name)
        self.modified_field = _modified_field(connector, setting.fields, name)
        self.key_fields = tuple(self.fields[r] for r in kind.roles if r != "file_name")

    def items(self, client: ProfitClient, lo: datetime | None, hi: datetime) -> Iterator[FileItem]:
        """Listed files; with a modified date, those changed in ``[lo - 1 s, hi)`` (local time),
        plus, when ``lo`` is None (a first sync), those whose date is empty."""
        for cursor in self._cursors(lo, hi):
            while not cursor.done:
                for row in cursor.accept(client.get_rows(self.connector.id, cursor.request())):
                    yield self.kind.item(self.parts(row))

    def parts(self, row: Row) -> Row:
        """The listing row reduced to the parts an item is made from."""
        parts = {role: row.get(name) for role, name in self.fields.items()}
        if self.modified_field is not None:
            parts["modified"] = row.get(self.modified_field)
        for role, value in parts.items():
            if value is None and role != "modified":
                raise AFASConfigError(
                    f"GetConnector {self.connector.id!r} lists a row whose {role} field "
                    f"({self.fields[role]!r}) is empty; filter such rows out of the GetConnector "
                    "or choose other fields."
                )
        return parts

    def _cursors(self, lo: datetime | None, hi: datetime) -> list[Cursor]:
        keys, date = self.key_fields, self.modified_field
        if date is None:
            return [KeysetCursor(keys, take=LISTING_PAGE_SIZE)]
        start = EARLIEST if lo is None else lo - ONE_SECOND
        window = IncrementalCursor(date, keys, lo=start, hi=hi, take=LISTING_PAGE_SIZE)
        if lo is not None:
            return [window]
        empty = KeysetCursor(keys, take=LISTING_PAGE_SIZE, extra=[Condition(date, Op.EMPTY)])
        return [window, empty]


def _modified_field(
    connector: GetConnectorInfo, overrides: Mapping[str, str], setting: str
) -> str | None:
    if "modified" not in overrides:
        return detect_replication_key(connector)
    chosen = overrides["modified"] or None
    if chosen is not None:
        found = connector.field(chosen)
        if found is None or not found.is_datetime:
            raise AFASConfigError(
                f"Setting '{setting}.modified' is {chosen!r}, not a date-time field of "
                f'GetConnector {connector.id!r}; give its modified-date field or "" for none.'
            )
    return chosen
