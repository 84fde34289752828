"""What the sandbox answers: the response value and AFAS's error bodies.

AFAS error bodies are ``{"externalMessage", "errorNumber", "profitLogReference"}`` with a 32-hex
reference (afas-rest-api.md section 7); maintenance is a 503 whose body carries ``retry_after``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

# errorNumber values seen on AFAS (afas-rest-api.md section 7).
ERROR_UNEXPECTED = -2147180999
ERROR_NOT_AUTHORIZED = -2147180996
ERROR_VALUE_DOES_NOT_EXIST = -2147220469
# Not documented by AFAS; used by the sandbox for its other validation messages.
ERROR_VALIDATION = -2147187700

JSON_TYPE = "application/json; charset=utf-8"

Disruption = Literal["reset", "truncate"]


@dataclass(slots=True)
class SimResponse:
    """A response before it goes on the wire, with optional transport misbehaviour."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay_seconds: float = 0.0
    disruption: Disruption | None = None
    rows: int = 0  # rows a GetConnector page returned
    skipped: int = 0  # rows it skipped first (its skip)
    # A body too large to hold (a big file): made while it is sent, instead of ``body``.
    chunks: Callable[[], Iterator[bytes]] | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def compact(value: Any) -> bytes:
    """Serialise like Profit 7: one line, no spaces (afas-rest-api.md section 3.5)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(value: Any, status: int = 200) -> SimResponse:
    return SimResponse(status=status, body=compact(value))


def new_log_reference() -> str:
    return uuid.uuid4().hex.upper()


def afas_error(
    message: str,
    *,
    status: int = 500,
    number: int = ERROR_UNEXPECTED,
    reference: str | None = None,
) -> SimResponse:
    """An AFAS error body with a fresh (or given) ``profitLogReference``."""
    return json_response(
        {
            "externalMessage": message,
            "errorNumber": number,
            "profitLogReference": reference or new_log_reference(),
        },
        status=status,
    )


def not_authorized(message: str, quirk: str) -> SimResponse:
    """A connector the token's App Connector lacks, or that does not exist.

    ``quirk`` is the ``unauthorized_connector`` quirk (quirks.py): ``401-body`` (AFAS's error
    body with ``message`` and errorNumber -2147180996), ``401-empty`` or ``500``.
    """
    if quirk == "401-empty":
        return empty(401)
    status = 500 if quirk == "500" else 401
    return afas_error(message, status=status, number=ERROR_NOT_AUTHORIZED)


def maintenance(retry_after_seconds: int) -> SimResponse:
    """AFAS's 503 during maintenance windows (body shape from afas-rest-api.md section 11g)."""
    return json_response(
        {
            "error": {
                "code": "503",
                "message": "Service temporarily unavailable due to maintenance.",
            },
            "retry_after": retry_after_seconds,
        },
        status=503,
    )


def empty(status: int) -> SimResponse:
    """A bodiless answer, as AFAS gives for a refused token and 403 (``Content-Length: 0``)."""
    return SimResponse(status=status, content_type=None)


def not_found() -> SimResponse:
    """IIS's 404 for a wrong URL or a query string over AFAS's length limit."""
    return SimResponse(
        status=404,
        body=b"<html><body><h2>404 - File or directory not found.</h2></body></html>",
        content_type="text/html",
    )
