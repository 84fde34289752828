"""What a request costs on AFAS: server time (``LatencyModel``) and a slot (``ParallelLimit``).

AFAS answers a GetConnector page in time that grows with the rows it returns and with the rows
it skips first (afas-rest-api.md section 3.3: "big skips get slow"), and it serves at most
8 parallel calls per environment (sections 3.6 and 7). The sandbox charges the same way: a fixed
time per request, a time per row returned and a time per row skipped, slept by the HTTP layer
outside every lock so parallel requests overlap; and more requests of one token in flight than
``max_parallel`` get a 503 with ``retry_after`` 1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from afas_sandbox.inputs import MAX_DELAY_SECONDS, check_int, check_latency_ms

DEFAULT_MAX_PARALLEL = 8
MAX_PARALLEL_LIMIT = 1000
RETRY_AFTER_SECONDS = 1


@dataclass
class LatencyModel:
    """Server time per request: ``fixed_ms``, plus ``per_row_ms`` for every row returned, plus
    ``per_skipped_row_ms`` for every row a page skips (``skip=n`` pays for n rows; ``skip=-1``
    skips none and pays for every row it returns). At most ``MAX_DELAY_SECONDS`` in all."""

    fixed_ms: float = 0.0
    per_row_ms: float = 0.0
    per_skipped_row_ms: float = 0.0

    def __post_init__(self) -> None:
        self.fixed_ms = check_latency_ms("fixed_ms", self.fixed_ms)
        self.per_row_ms = check_latency_ms("per_row_ms", self.per_row_ms)
        self.per_skipped_row_ms = check_latency_ms("per_skipped_row_ms", self.per_skipped_row_ms)

    def seconds(self, rows: int, skipped: int = 0) -> float:
        total_ms = self.fixed_ms + self.per_row_ms * rows + self.per_skipped_row_ms * skipped
        return min(total_ms / 1000.0, MAX_DELAY_SECONDS)


def check_max_parallel(value: object) -> int:
    """A parallel-call limit: 0 (no limit) up to ``MAX_PARALLEL_LIMIT``."""
    return check_int("max_parallel", value, low=0, high=MAX_PARALLEL_LIMIT)


class ParallelLimit:
    """Requests in flight per token; ``enter`` refuses one more than ``limit`` (0 = no limit).

    The key is the request's ``Authorization`` header as sent; it is only counted, never shown.
    """

    def __init__(self, limit: int = DEFAULT_MAX_PARALLEL) -> None:
        self._limit = check_max_parallel(limit)
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self.refused = 0  # requests answered 503 because their token had too many in flight
        self.most_in_flight = 0  # the most requests of one token in flight at once so far

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = check_max_parallel(value)

    def enter(self, key: str) -> bool:
        """Take a slot for ``key``; ``False`` (and nothing taken) when its slots are all in use."""
        with self._lock:
            count = self._in_flight.get(key, 0)
            if self._limit and count >= self._limit:
                self.refused += 1
                return False
            self._in_flight[key] = count + 1
            self.most_in_flight = max(self.most_in_flight, count + 1)
            return True

    def leave(self, key: str) -> None:
        """Give back a slot taken by ``enter``."""
        with self._lock:
            count = self._in_flight.get(key, 0) - 1
            if count > 0:
                self._in_flight[key] = count
            else:
                self._in_flight.pop(key, None)

    def in_flight(self) -> int:
        """Requests in flight now, over all tokens."""
        with self._lock:
            return sum(self._in_flight.values())

    def __repr__(self) -> str:
        return f"ParallelLimit(limit={self._limit}, in_flight={self.in_flight()})"
