"""Checks of values a user hands the sandbox: command-line flags, fault files, admin payloads.

Each check returns the value it accepted or raises ``SandboxInputError``: one line that names
the value, says what is wrong and what to give instead. Callers check everything before they
change anything, so a refused input leaves the sandbox (and every file) as it was.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

MAX_PORT = 65535
MAX_ROWS = 2_000_000  # one in-memory copy per sandbox; more would exhaust a laptop's memory
MAX_LATENCY_MS = 600_000.0  # ten minutes, far beyond any client's timeout
MAX_DELAY_SECONDS = 3600.0
MAX_SHOWN_CHARS = 40


class SandboxInputError(ValueError):
    """A value given to the sandbox is wrong; the message says which and what to do.

    ``field`` names the offending key or flag when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def shown(value: Any) -> str:
    """A short, one-line rendering of a user's value for an error message."""
    text = repr(value).replace("\n", " ")
    if len(text) > MAX_SHOWN_CHARS:
        text = text[: MAX_SHOWN_CHARS - 3] + "..."
    return text


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_keys(payload: Mapping[str, Any], known: Collection[str], what: str) -> None:
    """Refuse keys the receiver does not know (a typo would otherwise be ignored silently)."""
    unknown = sorted(str(k) for k in payload if k not in known)
    if unknown:
        raise SandboxInputError(
            f"unknown {what} key {shown(unknown[0])}; known keys: {', '.join(sorted(known))}",
            field=unknown[0],
        )


def check_int(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    """A whole number in ``low..high`` (booleans and floats are refused)."""
    if not is_integer(value):
        raise SandboxInputError(f"{name} must be a whole number, got {shown(value)}", field=name)
    if value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise SandboxInputError(f"{name} must be a number {limit}, got {value}", field=name)
    return int(value)


def check_number(name: str, value: Any, *, low: float, high: float) -> float:
    """A finite number in ``low..high``; ints and floats, never booleans, NaN or strings."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise SandboxInputError(
            f"{name} must be a finite number from {low:g} to {high:g}, got {shown(value)}",
            field=name,
        )
    if not low <= value <= high:
        raise SandboxInputError(
            f"{name} must be from {low:g} to {high:g}, got {value:g}", field=name
        )
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise SandboxInputError(
            f"{name} must be one of {', '.join(options)}, got {shown(value)}", field=name
        )
    return value


def check_text(name: str, value: Any, *, optional: bool = False) -> str | None:
    """A non-empty string (or ``None`` when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SandboxInputError(f"{name} must be a non-empty text, got {shown(value)}", field=name)
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SandboxInputError(f"{name} must be true or false, got {shown(value)}", field=name)
    return value


def check_port(port: Any) -> int:
    return check_int("port", port, low=0, high=MAX_PORT)


def check_rows(rows: Any) -> int:
    return check_int("rows", rows, low=0, high=MAX_ROWS)


def check_latency_ms(name: str, value: Any) -> float:
    return check_number(name, value, low=0.0, high=MAX_LATENCY_MS)
