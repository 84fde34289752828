"""Deletes found by comparing key sets: the opt-in fallback where no deleted-records log exists.

For each configured connector the tap reads every key (keyset paging over the whole connector)
at the end of a sync, compares them with the keys it saw last time, and emits a delete record
(``_sdc_deleted_at`` = the sync's start) for every key that is gone. The previous key set lives
in a small SQLite file per stream under ``snapshot_dir``, so memory stays flat however large the
connector is. The first run only records the keys. This reads the whole connector each time:
schedule it less often than the incremental syncs (afas-rest-api.md section 3.8, option b).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afas_profit.client import ProfitClient
from afas_profit.cursor import KeysetCursor
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition
from afas_profit.metainfo import GetConnectorInfo
from afas_profit.schema_mapping import DELETED_AT

SCAN_PAGE_SIZE = 5000


@dataclass(frozen=True)
class KeyComparison:
    """Which connectors get key-set delete detection, and where snapshots live."""

    connectors: tuple[str, ...]
    snapshot_dir: Path

    @classmethod
    def from_setting(cls, value: Any) -> KeyComparison | None:
        if not value:
            return None
        if not isinstance(value, dict) or not value.get("connectors"):
            raise AFASConfigError(
                "Setting 'key_comparison_deletes' needs 'connectors' (GetConnector ids or globs) "
                "and optionally 'snapshot_dir' (default .tap-afas/key-snapshots)."
            )
        return cls(
            connectors=tuple(value["connectors"]),
            snapshot_dir=Path(value.get("snapshot_dir") or ".tap-afas/key-snapshots"),
        )


class KeySnapshot:
    """Compares a connector's current keys with the previous run's, in a SQLite file."""

    def __init__(
        self,
        path: Path,
        client: ProfitClient,
        connector: GetConnectorInfo,
        keys: list[str],
        extra: tuple[Condition, ...],
    ) -> None:
        if not keys:
            raise AFASConfigError(
                f"GetConnector {connector.id!r} has no key fields, so deletes cannot be found by "
                "comparing keys: set 'primary_keys' for it."
            )
        self.path = path
        self.client = client
        self.connector = connector
        self.keys = keys
        self.extra = extra

    def deleted_records(
        self, deleted_at: str, replication_key: str | None
    ) -> Iterator[dict[str, Any]]:
        """Scan all keys, then yield a delete record for every key that disappeared."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as db:
            db.execute("CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, seen INTEGER)")
            first_run = db.execute("SELECT count(*) FROM keys").fetchone()[0] == 0
            db.execute("UPDATE keys SET seen = 0")
            cursor = KeysetCursor(self.keys, take=SCAN_PAGE_SIZE, extra=self.extra)
            while not cursor.done:
                rows = self.client.get_rows(self.connector.id, cursor.request())
                db.executemany(
                    "INSERT INTO keys VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET seen = 1",
                    ((self._encode(row),) for row in cursor.accept(rows)),
                )
            gone = (
                []
                if first_run
                else [k for (k,) in db.execute("SELECT key FROM keys WHERE seen = 0")]
            )
            db.execute("DELETE FROM keys WHERE seen = 0")
            db.commit()
        for key in gone:
            record: dict[str, Any] = {f.id: None for f in self.connector.fields}
            record.update(zip(self.keys, json.loads(key), strict=True))
            record[DELETED_AT] = deleted_at
            if replication_key:
                record[replication_key] = deleted_at
            yield record

    def _encode(self, row: dict[str, Any]) -> str:
        return json.dumps([row.get(k) for k in self.keys], default=str)
