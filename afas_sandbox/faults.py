"""Faults and latency as data: what goes wrong, for which requests, how often.

One vocabulary serves tests (``sandbox.faults.add(...)``), the CLI (``--faults FILE`` with a
YAML or JSON list of the same keys) and the admin endpoint. Kinds:
- ``status``: answer ``status`` instead (401/403 empty, 404 IIS page, 500 AFAS error body with
  ``external_message`` / ``profit_log_reference``, 503 with ``retry_after``);
- ``reset``: drop the TCP connection with a reset;
- ``truncate``: send half the body, then close;
- ``slow``: wait ``delay_seconds`` before answering (longer than the client's timeout).
``phase: after`` handles the request first (a write lands) and then misbehaves, which is how a
client meets "outcome unknown".
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

FaultKind = Literal["status", "reset", "truncate", "slow"]
KINDS = ("status", "reset", "truncate", "slow")


@dataclass
class Fault:
    """One scripted fault; ``times=None`` means every matching request."""

    kind: FaultKind = "status"
    status: int = 500
    connector: str | None = None
    method: str | None = None
    times: int | None = None
    probability: float = 1.0
    external_message: str = "An unexpected error has occurred."
    error_number: int = -2147180999
    profit_log_reference: str | None = None
    retry_after: int = 7200
    delay_seconds: float = 30.0
    phase: Literal["before", "after"] = "before"
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.phase not in ("before", "after"):
            raise ValueError(f"fault phase {self.phase!r} is not 'before' or 'after'")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"fault probability {self.probability} is not between 0 and 1")

    def matches(self, method: str, connector: str | None) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.connector is None:
            return True
        return connector is not None and fnmatch.fnmatchcase(
            connector.lower(), self.connector.lower()
        )


class FaultPlan:
    """The faults of one sandbox, consumed by matching requests in order of addition."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, **spec: Any) -> Fault:
        """Add a fault, e.g. ``add(status=503, retry_after=1, times=2, connector="Profit_*")``."""
        known = {f.name for f in fields(Fault)} - {"hits"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(known)}")
        fault = Fault(**spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, method: str, connector: str | None, phase: str) -> Fault | None:
        """The first live fault for this request in this phase; counts it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.phase != phase or not fault.matches(method, connector):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                return fault
        return None

    def load(self, path: Path) -> None:
        """Add the faults listed in a YAML or JSON file."""
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        items = data.get("faults", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValueError(f"{path}: expected a list of faults (or a 'faults:' key)")
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"{path}: every fault must be a mapping, got {item!r}")
            self.add(**item)


@dataclass
class LatencyModel:
    """Server time per request: ``fixed_ms`` plus ``per_row_ms`` for every row returned."""

    fixed_ms: float = 0.0
    per_row_ms: float = 0.0

    def seconds(self, rows: int) -> float:
        return (self.fixed_ms + self.per_row_ms * rows) / 1000.0
