"""The AFAS error tree, grouped by what the caller should do, and one response classifier.

    AFASError
    ├── AFASConfigError      bad settings: fix the configuration (fatal)
    ├── AFASAuthError        401/403, or a connector the token may not use (fatal)
    ├── AFASRequestError     AFAS refused the request: wrong field, bad filter, URL too long (fatal)
    │   └── AFASNotFoundError    404 for one file: deleted, or the token may not read it
    ├── AFASServerError      500 known to be transient, other 5xx, truncated bodies (retriable)
    │   └── AFASRateLimitError   503 maintenance / capacity, with retry_after (retriable)
    ├── AFASRejectedError    an UpdateConnector refused a record (the sink decides)
    └── AFASOutcomeUnknownError  a write was sent but no answer came back (check before resending)

Messages quote AFAS's ``externalMessage`` and ``profitLogReference`` and never carry the token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# 500 messages AFAS documents as temporary (afas-rest-api.md section 7 and 9.9).
TRANSIENT_MESSAGE_PATTERNS = (
    re.compile(r"maximale tijdsduur", re.I),
    re.compile(r"maximum duration", re.I),
    re.compile(r"out of memory", re.I),
    re.compile(r"out of string space", re.I),
    re.compile(r"insufficient disk space", re.I),
    re.compile(r"tempdb", re.I),
    re.compile(r"deadlock", re.I),
    re.compile(r"timeout", re.I),
    re.compile(r"(is|wordt) (momenteel )?(geblokkeerd|locked) door", re.I),
)
NOT_AUTHORIZED_PATTERN = re.compile(r"not supported for this app|niet geautoriseerd", re.I)


class AFASError(Exception):
    """Base of every error this package raises."""


class AFASConfigError(AFASError):
    """The configuration is wrong; the message says which setting and how to fix it."""


@dataclass
class AFASResponseInfo:
    """What an AFAS error response said, parsed from its body."""

    status: int
    external_message: str | None = None
    error_number: int | None = None
    profit_log_reference: str | None = None
    retry_after_seconds: float | None = None

    def quote(self) -> str:
        if not self.external_message:
            return f"HTTP {self.status}"
        reference = (
            f" (profitLogReference={self.profit_log_reference})"
            if self.profit_log_reference
            else ""
        )
        return f"AFAS said: '{self.external_message}'{reference}"


class AFASAPIError(AFASError):
    """An AFAS response that is an error; ``info`` holds what AFAS said."""

    def __init__(self, message: str, info: AFASResponseInfo | None = None) -> None:
        super().__init__(message)
        self.info = info


class AFASAuthError(AFASAPIError):
    """Authentication or authorisation failed; retrying cannot help."""


class AFASRequestError(AFASAPIError):
    """AFAS refused the request itself (field, filter, URL); retrying cannot help."""


class AFASNotFoundError(AFASRequestError):
    """A file connector answered 404: the file is gone, or the token may not read it."""


class AFASServerError(AFASAPIError):
    """A transient server-side failure; retry with backoff."""


class AFASRateLimitError(AFASServerError):
    """Maintenance or capacity (503); retry after ``info.retry_after_seconds``."""


class AFASRejectedError(AFASAPIError):
    """An UpdateConnector refused a record (validation or business rule)."""


class AFASOutcomeUnknownError(AFASAPIError):
    """A non-idempotent write may or may not have landed: never resend it blindly."""


def parse_error_body(status: int, body: bytes | str | None) -> AFASResponseInfo:
    """Read AFAS's error fields from a response body, tolerating empty or non-JSON bodies."""
    info = AFASResponseInfo(status=status)
    if not body:
        return info
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return info
    if not isinstance(data, dict):
        return info
    message = data.get("externalMessage") or data.get("message")
    if isinstance(message, str):
        info.external_message = message.strip()
    number = data.get("errorNumber")
    if isinstance(number, int):
        info.error_number = number
    reference = data.get("profitLogReference")
    if isinstance(reference, str):
        info.profit_log_reference = reference
    retry_after = data.get("retry_after")
    if isinstance(retry_after, (int, float)) and not isinstance(retry_after, bool):
        info.retry_after_seconds = float(retry_after)
    error = data.get("error")
    if info.external_message is None and isinstance(error, dict):
        text = error.get("message")
        if isinstance(text, str):
            info.external_message = text
    return info


def classify_response(status: int, body: bytes | str | None) -> type[AFASAPIError] | None:
    """The error class for an AFAS response, or None when it is a success.

    401/403 and "not authorized" answers are auth errors; 404 (wrong URL or a query string
    over 2049 characters), 400 and 500s with a functional message are request errors; 503,
    other 5xx and 500s with a known transient message are retriable server errors.
    """
    if status < 400:
        return None
    if status in (401, 403):
        return AFASAuthError
    if status == 503:
        return AFASRateLimitError
    if status == 500:
        info = parse_error_body(status, body)
        message = info.external_message or ""
        if NOT_AUTHORIZED_PATTERN.search(message):
            return AFASAuthError
        if not message or any(p.search(message) for p in TRANSIENT_MESSAGE_PATTERNS):
            return AFASServerError
        return AFASRequestError
    if status >= 500 or status in (408, 429):
        return AFASServerError
    return AFASRequestError


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every secret (and its obvious encodings) in ``text`` with ``<redacted>``."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "<redacted>")
    return text
