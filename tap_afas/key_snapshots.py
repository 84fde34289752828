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
import os
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
from tap_afas.input_files import unwritable_reason

SCAN_PAGE_SIZE = 5000
PRIVATE_FILE_MODE = 0o600  # key sets are customer data: readable by this user only
PRIVATE_FOLDER_MODE = 0o700


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

    def check_snapshot_dir(self) -> None:
        """Refuse, before the sync starts, a ``snapshot_dir`` that cannot be created or written."""
        reason = unwritable_reason(self.snapshot_dir, folder=True)
        if reason is not None:
            raise AFASConfigError(_snapshot_dir_error(self.snapshot_dir, reason))


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
        with closing(self._open()) as db:
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

    def _open(self) -> sqlite3.Connection:
        """The snapshot file, created readable by this user only (its folder too)."""
        try:
            self.path.parent.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
            db = sqlite3.connect(self.path)
        except (OSError, sqlite3.Error) as error:
            raise AFASConfigError(_snapshot_dir_error(self.path.parent, str(error))) from None
        try:
            db.execute("CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, seen INTEGER)")
        except sqlite3.Error as error:
            db.close()
            raise AFASConfigError(
                f"The key snapshot {str(self.path)!r} cannot be used ({error}): delete it (the "
                "next run then records the keys again, without deletes) or fix its permissions."
            ) from None
        return db

    def _encode(self, row: dict[str, Any]) -> str:
        return json.dumps([row.get(k) for k in self.keys], default=str)


def _snapshot_dir_error(folder: Path, reason: str) -> str:
    return (
        f"Setting 'key_comparison_deletes.snapshot_dir' ({str(folder)!r}) cannot hold the key "
        f"snapshots: {reason}. Point it at a folder this user can write (it is created when "
        "missing)."
    )
