"""Per-record outcomes: what happened to every record, the reject file and the summary."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from afas_profit.errors import AFASConfigError

PRIVATE_FILE_MODE = 0o600


class Outcome(str, Enum):
    INSERTED = "inserted"
    UPDATED = "updated"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    OUTCOME_UNKNOWN = "outcome_unknown"
    DRY_RUN = "dry_run"

    @property
    def landed(self) -> bool:
        return self in (Outcome.INSERTED, Outcome.UPDATED, Outcome.DELETED)


@dataclass
class RecordResult:
    """The outcome of one record, AFAS's keys from ``results``, and why (when rejected)."""

    outcome: Outcome
    afas_keys: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    profit_log_reference: str | None = None


class RejectLog:
    """Appends rejected and unknown-outcome records to a JSONL file (if configured).

    The file holds whole records (personal data), so it is created readable by its owner only.
    Whether it can be written is checked at start, before any record is sent.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            _check_writable(path)

    def write(self, stream: str, record: dict[str, Any], result: RecordResult) -> None:
        if self.path is None:
            return
        line = json.dumps(
            {
                "stream": stream,
                "outcome": result.outcome.value,
                "reason": result.reason,
                "profitLogReference": result.profit_log_reference,
                "record": record,
            },
            default=str,
            ensure_ascii=False,
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            with os.fdopen(
                os.open(self.path, flags, PRIVATE_FILE_MODE), "a", encoding="utf-8"
            ) as f:
                f.write(line + "\n")


def _check_writable(path: Path) -> None:
    """Refuse a reject file that cannot be written, without creating anything."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    writable = os.access(path, os.W_OK) if path.exists() else os.access(folder, os.W_OK | os.X_OK)
    if path.is_dir() or not writable:
        raise AFASConfigError(
            f"Setting 'reject_file' ({path}) cannot be written. Point it at a file in a writable "
            "folder, or leave it empty to report rejected records in the log only."
        )


class Summary:
    """Counts of outcomes per stream."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def add(self, stream: str, outcome: Outcome) -> None:
        self.counts.setdefault(stream, Counter())[outcome.value] += 1

    def line(self, stream: str) -> str:
        counts = self.counts.get(stream, Counter())
        parts = ", ".join(f"{o.value} {counts[o.value]}" for o in Outcome if counts[o.value])
        return f"{stream}: {parts or 'no records'}"
