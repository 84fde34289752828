"""Deleted rows as Singer records with ``_sdc_deleted_at``, read from a deleted-records log.

AFAS deletes are hard deletes; Profit records them in "Wijzigingen …" data collections, which
a GetConnector can expose (afas-rest-api.md section 3.8). With the ``deleted_records_log``
setting the tap reads that log connector for each mapped stream (rows whose entity field has
the mapped value), incrementally on the log's date field, and emits one record per deleted key:
the key fields, ``_sdc_deleted_at``, the replication key set to the deletion time, and every
other field null. Deletes of a sync window are emitted before its rows, so a key deleted and
inserted again ends as a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.client import ProfitClient
from afas_profit.cursor import IncrementalCursor
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition, Op
from afas_profit.metainfo import GetConnectorInfo
from afas_profit.records import RecordConverter
from afas_profit.schema_mapping import DELETED_AT
from afas_profit.window import EARLIEST, Progress

LOG_PAGE_SIZE = 1000


@dataclass(frozen=True)
class DeletedRecordsLog:
    """Where deletes are logged and how log rows map onto GetConnectors."""

    connector: str
    entity_field: str
    key_field: str
    date_field: str
    key_separator: str
    entities: Mapping[str, str]

    @classmethod
    def from_setting(cls, value: Any) -> DeletedRecordsLog | None:
        if not value:
            return None
        if not isinstance(value, dict) or not value.get("connector") or not value.get("entities"):
            raise AFASConfigError(
                "Setting 'deleted_records_log' needs 'connector' (the log GetConnector, e.g. "
                "Profit_Deleted_Records) and 'entities' ({GetConnector id: value of the log's "
                'entity field}, e.g. {"Profit_Persons": "Persoon"}).'
            )
        return cls(
            connector=str(value["connector"]),
            entity_field=str(value.get("entity_field") or "Tabel"),
            key_field=str(value.get("key_field") or "Sleutel"),
            date_field=str(value.get("date_field") or "Datum_mutatie"),
            key_separator=str(value.get("key_separator") or ","),
            entities=dict(value["entities"]),
        )


class DeletesReader:
    """Reads the deletes of one stream's connector from the log, resumably."""

    def __init__(
        self,
        log: DeletedRecordsLog,
        client: ProfitClient,
        connector: GetConnectorInfo,
        keys: list[str],
        replication_key: str | None,
        zone: ZoneInfo,
    ) -> None:
        if not keys:
            raise AFASConfigError(
                f"GetConnector {connector.id!r} has no key fields, so its deletes cannot be "
                "matched: set 'primary_keys' for it or remove it from 'deleted_records_log'."
            )
        self.log = log
        self.client = client
        self.connector = connector
        self.keys = keys
        self.replication_key = replication_key
        self.converter = RecordConverter(connector, zone)
        self.entity = log.entities[connector.id]

    def cursor(
        self, *, lo: datetime | None, hi: datetime, progress: Progress | None
    ) -> IncrementalCursor:
        """A cursor over this entity's log rows in ``[lo, hi)`` (``lo`` None: all history),
        resuming from ``progress``."""
        return IncrementalCursor(
            self.log.date_field,
            (),
            lo=progress.lo if progress else (lo or EARLIEST),
            hi=hi,
            take=LOG_PAGE_SIZE,
            extra=(Condition(self.log.entity_field, Op.EQUAL, self.entity),),
            seen=progress.seen if progress else None,
        )

    def records(self, cursor: IncrementalCursor, warn: Any) -> Iterator[dict[str, Any]]:
        """Delete records, in log order; ``cursor.checkpoint()`` is current for each one and
        moves to the window's end when the log is read."""
        while not cursor.done:
            rows = self.client.get_rows(self.log.connector, cursor.request())
            for row in cursor.accept(rows):
                record = self._record(row, warn)
                if record is not None:
                    yield record
        cursor.finish()

    def _record(self, row: dict[str, Any], warn: Any) -> dict[str, Any] | None:
        raw_key = str(row.get(self.log.key_field) or "")
        parts = raw_key.split(self.log.key_separator) if raw_key else []
        if len(parts) != len(self.keys):
            warn(
                "Deleted-records log %s: key %r of %s does not fit the key fields %s of %s; "
                "this delete is not emitted.",
                self.log.connector,
                raw_key,
                self.entity,
                self.keys,
                self.connector.id,
            )
            return None
        record: dict[str, Any] = {f.id: None for f in self.connector.fields}
        for name, text in zip(self.keys, parts, strict=True):
            field = self.connector.field(name)
            is_int = field is not None and field.data_type in ("int", "long")
            record[name] = int(text) if is_int else text
        record[DELETED_AT] = self.converter.to_utc(str(row[self.log.date_field]))
        if self.replication_key:
            record[self.replication_key] = record[DELETED_AT]
        return record
