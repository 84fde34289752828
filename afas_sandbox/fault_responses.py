"""What a scripted fault turns a request into, and the store a refused write sees.

``fault_response`` builds the answer a client gets (see the table in ``faults.py``);
``DiscardedWrites`` is the store handed to a request whose answer will say AFAS committed
nothing, so the write is really carried out and then rolled back. Neither knows HTTP.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from afas_sandbox.faults import Fault
from afas_sandbox.responses import (
    SimResponse,
    afas_error,
    empty,
    json_response,
    maintenance,
    not_found,
)
from afas_sandbox.store import Store

GATEWAY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body>"
    "<center><h1>{status} {reason}</h1></center></body></html>"
)


def fault_response(fault: Fault, handled: SimResponse | None) -> SimResponse:
    """The response ``fault`` turns this request into (``handled``: the real answer, if any)."""
    if fault.kind == "reset":
        return SimResponse(status=500, disruption="reset")
    if fault.kind == "truncate":
        base = handled or json_response({"skip": 0, "take": 100, "rows": []})
        base.disruption = "truncate"
        return base
    if fault.kind == "slow":
        base = handled or json_response({"skip": 0, "take": 100, "rows": []})
        base.delay_seconds += fault.delay_seconds
        return base
    body = fault.answer_body
    if body == "empty":
        return empty(fault.status)
    if body == "html":
        if fault.status == 404:
            return not_found()
        reason = HTTP_STATUS_CODES.get(fault.status, "Error")
        page = GATEWAY_PAGE.format(status=fault.status, reason=reason)
        return SimResponse(status=fault.status, body=page.encode(), content_type="text/html")
    if fault.status == 503:
        return maintenance(fault.retry_after)
    return afas_error(
        fault.external_message,
        status=fault.status,
        number=fault.error_number,
        reference=fault.profit_log_reference,
    )


class _DiscardedError(Exception):
    """Raised at the end of a discarded transaction to make the store roll it back."""


class DiscardedWrites(Store):
    """The same database, but every transaction is rolled back at its end.

    Everything a write does (validation, autonumbers, the rows) happens and then disappears, as
    on AFAS when it answers 500 with its error body: "the transaction is not committed".
    """

    def __init__(self, store: Store) -> None:
        # Wraps the store instead of owning a connection, so Store.__init__ is not called.
        self._inner = store

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        return self._inner.query(sql, params)

    def scalar(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self._inner.scalar(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._inner.transaction() as conn:
                yield conn
                raise _DiscardedError
        except _DiscardedError:
            return

    def close(self) -> None:
        """The wrapped store belongs to the sandbox; it is closed there."""
