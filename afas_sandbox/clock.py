"""Time for the sandbox: an injectable clock and AFAS's Amsterdam-local timestamp strings.

AFAS stores and shows times in Europe/Amsterdam local time (the trailing ``Z`` it prints is
false; afas-rest-api.md sections 3.5 and 5). The sandbox stores audit timestamps as local
``YYYY-MM-DDTHH:MM:SS.ffffff`` strings and shows them rounded to the second.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that tests set and move; it stands still unless told otherwise."""

    def __init__(self, start: datetime) -> None:
        self._now = _as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = _as_utc(moment)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("ManualClock needs an aware datetime (for example with tzinfo=UTC)")
    return moment.astimezone(timezone.utc)


def local_stamp(moment: datetime) -> str:
    """Render an aware datetime as the stored Amsterdam-local string with microseconds."""
    return moment.astimezone(AMSTERDAM).strftime(STAMP_FORMAT)
