"""The idempotency ledger: which records already landed in AFAS, by content hash.

A crash between a write and the next STATE message makes the tap send the same records again.
Before writing a record the sink looks its fingerprint up here; one that landed before is not
written again (outcome ``unchanged``). The ledger also keeps the keys AFAS returned. It is a
SQLite file, so it survives crashes and stays small (one row per record written).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SINGER_METADATA_PREFIX = "_sdc_"
KEPT_METADATA = ("_sdc_deleted_at",)


def fingerprint(stream: str, record: Mapping[str, Any]) -> str:
    """A record's identity for the ledger: its content without Singer bookkeeping fields."""
    content = {
        k: v
        for k, v in record.items()
        if not k.startswith(SINGER_METADATA_PREFIX) or k in KEPT_METADATA
    }
    text = json.dumps([stream, content], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Ledger:
    """Landed records by fingerprint; ``None`` path = remember nothing."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS landed (fingerprint TEXT PRIMARY KEY, stream TEXT, "
                "outcome TEXT, afas_keys TEXT, at TEXT)"
            )

    def landed(self, key: str) -> bool:
        if self._db is None:
            return False
        with self._lock:
            row = self._db.execute("SELECT 1 FROM landed WHERE fingerprint = ?", (key,)).fetchone()
        return row is not None

    def record(self, key: str, stream: str, outcome: str, afas_keys: Mapping[str, Any]) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO landed VALUES (?, ?, ?, ?, ?)",
                (
                    key,
                    stream,
                    outcome,
                    json.dumps(dict(afas_keys), default=str),
                    datetime.now(timezone.utc).isoformat(),
                ),
            )

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
                self._db = None
