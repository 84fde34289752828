"""``RequestRecorder``: every request a sandbox answers, seen from inside the sandbox's core.

It wraps ``sandbox.core.handle`` (no proxy, no mock: the requests come over real HTTP) and keeps
per request its method, path, query, headers, body, status, response body and times
(``Seen``), and the most requests that were in flight at once. The sandbox's own latency
(``sandbox.latency``, and ``slow`` faults) is slept inside the wrapper, so requests that overlap
on the wire overlap here and ``max_in_flight`` sees them. ``after`` runs once a request has
been answered (e.g. to change data while a sync runs).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from afas_sandbox import RunningSandbox
from afas_sandbox.sandbox import SimRequest

WRITE_METHODS = ("POST", "PUT", "DELETE")
SERVICE_PREFIX = "/ProfitRestServices"


@dataclass
class Seen:
    """One request the sandbox answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_body: bytes
    started: float
    finished: float

    @property
    def params(self) -> dict[str, str]:
        """The query parameters, names in lower case."""
        return {k.lower(): v for k, v in parse_qsl(self.query, keep_blank_values=True)}

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def json(self) -> Any:
        """The request body as JSON (None without a body)."""
        return json.loads(self.body) if self.body else None

    @property
    def response_json(self) -> Any:
        return json.loads(self.response_body)

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def relative(self) -> str:
        """The path after ``/ProfitRestServices``."""
        return self.path[len(SERVICE_PREFIX) :]

    @property
    def connector(self) -> str | None:
        """The connector of a ``/connectors/<id>[/...]`` request."""
        parts = [p for p in self.path.split("/") if p]
        if len(parts) >= 3 and parts[1].lower() == "connectors":
            return parts[2]
        return None


@dataclass
class RequestRecorder:
    """Records every request ``sandbox`` answers (see the module docstring)."""

    sandbox: RunningSandbox
    after: Callable[[Seen], None] | None = None
    seen: list[Seen] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        core = self.sandbox.core
        original = core.handle

        def handle(request: SimRequest) -> Any:
            started = time.monotonic()
            with self._lock:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                response = original(request)
                if response.delay_seconds > 0 and response.disruption is None:
                    time.sleep(response.delay_seconds)
                    response.delay_seconds = 0
            finally:
                with self._lock:
                    self._in_flight -= 1
            entry = Seen(
                request.method.upper(),
                request.path,
                request.query_string,
                dict(request.headers),
                request.body,
                response.status,
                response.body,
                started,
                time.monotonic(),
            )
            with self._lock:
                self.seen.append(entry)
            if self.after is not None:
                self.after(entry)
            return response

        core.handle = handle  # type: ignore[method-assign]

    @property
    def in_flight(self) -> int:
        """Requests the sandbox is answering right now."""
        with self._lock:
            return self._in_flight

    def snapshot(self) -> list[Seen]:
        """The requests answered so far (a copy: safe while requests arrive)."""
        with self._lock:
            return list(self.seen)

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.max_in_flight = 0

    def pages(self, connector: str) -> list[Seen]:
        """The requests to ``/connectors/<connector>`` (any method; the case is ignored)."""
        return [s for s in self.snapshot() if (s.connector or "").lower() == connector.lower()]

    def gets(self, connector: str) -> list[Seen]:
        """The GET requests to ``/connectors/<connector>`` (GetConnector pages, lookups)."""
        return [s for s in self.pages(connector) if s.method == "GET"]

    @property
    def writes(self) -> list[Seen]:
        return [s for s in self.snapshot() if s.is_write]

    def writes_to(self, connector: str) -> list[Seen]:
        """The writes to ``/connectors/<connector>`` and its sub-paths (nested objects)."""
        prefix = f"/connectors/{connector.lower()}"
        return [
            s
            for s in self.writes
            if s.relative.lower() == prefix or s.relative.lower().startswith(prefix + "/")
        ]
