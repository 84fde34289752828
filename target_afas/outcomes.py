"""Per-record outcomes: what happened to every record, the reject file and the summary."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


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
    """Appends rejected and unknown-outcome records to a JSONL file (if configured)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

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
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")


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
