"""The write-ahead ledger: what happened to every record sent to AFAS, committed before it is sent.

Each record is known by its fingerprint (its content without Singer bookkeeping) within a scope:
the AFAS environment (its base URL, derived from environment id and type or ``api_url``) and the
UpdateConnector. Before a request leaves, its records are committed as ``sending``; the answer
turns them into ``landed``, ``rejected`` or ``unknown``. So after any crash or failure:

- ``landed``: written; a re-run skips the record (outcome ``unchanged``).
- ``rejected``: AFAS refused it and rolled back; a re-run sends it again.
- ``sending`` / ``unknown``: it may or may not have landed. A re-run verifies it with the
  mapping's lookup before anything is resent, or reports ``outcome_unknown`` again. Never a
  second request for a record that may have landed.

A record that landed in one environment is unknown in every other one (a new scope), so moving
from a test environment to production writes everything there. The file is SQLite in WAL mode
with full sync (a commit is on disk before the request is sent), created readable by its owner
only (0600): it holds record fingerprints and AFAS keys.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from afas_profit.errors import AFASConfigError

SINGER_METADATA_PREFIX = "_sdc_"
KEPT_METADATA = ("_sdc_deleted_at",)
PRIVATE_FILE_MODE = 0o600
LOGGER = logging.getLogger("target-afas")


class Entry(str, Enum):
    """A record's state in the ledger."""

    SENDING = "sending"
    LANDED = "landed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @property
    def in_doubt(self) -> bool:
        return self in (Entry.SENDING, Entry.UNKNOWN)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    state: Entry
    action: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Sending:
    """A record about to be sent: its fingerprint, stream and action."""

    fingerprint: str
    stream: str
    action: str


def fingerprint(stream: str, record: Mapping[str, Any]) -> str:
    """A record's identity for the ledger: its content without Singer bookkeeping fields."""
    content = {
        k: v
        for k, v in record.items()
        if not k.startswith(SINGER_METADATA_PREFIX) or k in KEPT_METADATA
    }
    text = json.dumps([stream, content], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scope_for(base_url: str, connector: str) -> str:
    """The ledger scope of an UpdateConnector in one AFAS environment."""
    return f"{base_url.rstrip('/').casefold()}|{connector.casefold()}"


class Ledger:
    """Record states by scope and fingerprint; ``None`` path = remember nothing."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._legacy = False
        if path is not None:
            self._db = _open(path)
            self._legacy = _has_unscoped_entries(self._db)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def states(self, scope: str, fingerprints: Iterable[str]) -> dict[str, LedgerEntry]:
        """The known entries among ``fingerprints``."""
        if self._db is None:
            return {}
        wanted = list(dict.fromkeys(fingerprints))
        found: dict[str, LedgerEntry] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT fingerprint, state, action, updated_at FROM writes "
                    f"WHERE scope = ? AND fingerprint IN ({marks})",
                    (scope, *chunk),
                ).fetchall()
                for key, state, action, at in rows:
                    found[key] = LedgerEntry(Entry(state), action, datetime.fromisoformat(at))
                if self._legacy:
                    rest = [k for k in chunk if k not in found]
                    marks = ",".join("?" * len(rest))
                    for key, at in self._db.execute(
                        f"SELECT fingerprint, at FROM landed WHERE fingerprint IN ({marks})", rest
                    ).fetchall():
                        found[key] = LedgerEntry(Entry.LANDED, "", datetime.fromisoformat(at))
        return found

    def sending(self, scope: str, items: Sequence[Sending]) -> None:
        """Commit ``items`` as being sent (call before the request leaves)."""
        now = _now()
        self._write(
            "INSERT INTO writes (scope, fingerprint, stream, state, action, afas_keys, updated_at) "
            "VALUES (?, ?, ?, 'sending', ?, '{}', ?) ON CONFLICT(scope, fingerprint) DO UPDATE "
            "SET state = 'sending', action = excluded.action, updated_at = excluded.updated_at",
            [(scope, i.fingerprint, i.stream, i.action, now) for i in items],
        )

    def settle(
        self,
        scope: str,
        state: Entry,
        fingerprints: Sequence[str],
        afas_keys: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Commit the outcome of records sent (or verified)."""
        now = _now()
        keys = afas_keys or [{} for _ in fingerprints]
        self._write(
            "UPDATE writes SET state = ?, afas_keys = ?, updated_at = ? "
            "WHERE scope = ? AND fingerprint = ?",
            [
                (state.value, json.dumps(dict(k), default=str), now, scope, f)
                for f, k in zip(fingerprints, keys, strict=True)
            ],
        )

    def forget(self, scope: str, fingerprints: Sequence[str]) -> None:
        """Drop entries of records that provably were not written (nothing reached AFAS)."""
        self._write(
            "DELETE FROM writes WHERE scope = ? AND fingerprint = ? AND state = 'sending'",
            [(scope, f) for f in fingerprints],
        )

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
                self._db = None

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self._db is None or not rows:
            return
        with self._lock, self._db:
            self._db.executemany(sql, rows)


def _open(path: Path) -> sqlite3.Connection:
    where = f"Setting 'ledger_path' ({path})"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS writes (scope TEXT NOT NULL, fingerprint TEXT NOT NULL, "
            "stream TEXT, state TEXT NOT NULL, action TEXT, afas_keys TEXT, updated_at TEXT, "
            "PRIMARY KEY (scope, fingerprint))"
        )
        db.isolation_level = "DEFERRED"  # transactions from here on: one per write call
    except (OSError, sqlite3.Error) as exc:
        raise AFASConfigError(
            f"{where} cannot be opened as the ledger: {exc}. Point it at a writable file "
            "(its folder is created), or set it to an empty string to write without a ledger."
        ) from None
    return db


def _has_unscoped_entries(db: sqlite3.Connection) -> bool:
    """A ledger from before scopes (table ``landed``): its records count as landed everywhere."""
    legacy = db.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'landed'"
    ).fetchone()[0]
    if not legacy:
        return False
    count = db.execute("SELECT count(*) FROM landed").fetchone()[0]
    if count:
        LOGGER.warning(
            "The ledger holds %d records landed by an older target-afas that did not tell AFAS "
            "environments apart; they count as landed in every environment. Use a new "
            "'ledger_path' for another environment.",
            count,
        )
    return bool(count)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
