"""Rows as AFAS shows them → records with true UTC datetimes and ISO dates and times.

Datetimes (controlType 8 and unknown date controls) become ISO 8601 UTC; dates become
``YYYY-MM-DD``; times ``HH:MM:SS``. The UTC offset is cached per local day (on the days the
offset changes, at most two a year, it is worked out per value), so a page of rows costs a
dictionary look-up per value, not a zone calculation. On a day with one offset of whole hours
(most zones, every day but the two DST changes) a value's minutes and seconds stay as they
are: the UTC text of each local hour is remembered and the value's ``:MM:SS`` appended, no
datetime built. Other values' converted texts are remembered (rows ordered by a modified date
repeat their neighbours' values).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.metainfo import GetConnectorInfo
from afas_profit.times import local_to_utc

MAX_CACHED_DAYS = 8192
MAX_CACHED_VALUES = 8192
MAX_CACHED_HOURS = 8192
ONE_DAY = timedelta(days=1)
ONE_HOUR = timedelta(hours=1)
_DATE: Callable[[str], str] = itemgetter(slice(None, 10))
_TIME: Callable[[str], str] = itemgetter(slice(11, 19))


class RecordConverter:
    """Converts one connector's rows in place."""

    def __init__(self, connector: GetConnectorInfo, zone: ZoneInfo) -> None:
        self.zone = zone
        self.datetimes = tuple(f.id for f in connector.fields if f.is_datetime)
        self.dates = tuple(f.id for f in connector.fields if f.is_date)
        self.times = tuple(f.id for f in connector.fields if f.is_time)
        self._day_offsets: dict[str, timedelta | None] = {}  # None: the offset changes that day
        self._converted: dict[str, str] = {}
        self._hours: dict[str, str] = {}  # "2024-03-01T10" (local) → "2024-03-01T09" (UTC)
        # Each field with its change, in one tuple: one loop per row (dates and times by a C
        # slice: ``2024-03-01T00:00:00Z`` → ``2024-03-01`` / ``00:00:00``).
        self._changes: tuple[tuple[str, Callable[[str], str]], ...] = (
            *((name, self.to_utc) for name in self.datetimes),
            *((name, _DATE) for name in self.dates),
            *((name, _TIME) for name in self.times),
        )

    def convert(self, row: dict[str, Any]) -> dict[str, Any]:
        for name, change in self._changes:
            value = row.get(name)
            if value:
                row[name] = change(value)
        return row

    def to_utc(self, text: str) -> str:
        """``2024-03-31T03:30:00Z`` (local wall time) → ``2024-03-31T01:30:00+00:00``."""
        hour = self._hours.get(text[:13])
        if hour is not None and text[13:14] == ":" and text[16:17] == ":":
            return hour + text[13:19] + "+00:00"
        known = self._converted.get(text)
        if known is not None:
            return known
        if len(self._converted) >= MAX_CACHED_VALUES:
            self._converted.clear()
        converted = self._converted[text] = self._to_utc(text)
        return converted

    def _to_utc(self, text: str) -> str:
        wall = datetime.fromisoformat(text[:19])
        offset = self._day_offsets.get(text[:10])
        if offset is None:
            offset = self._offset_on(text[:10], wall)
        elif not offset % ONE_HOUR:  # the whole day has it: the hour's UTC text serves all
            if len(self._hours) >= MAX_CACHED_HOURS:
                self._hours.clear()
            self._hours[text[:13]] = (wall - offset).isoformat()[:13]
        return (wall - offset).isoformat() + "+00:00"

    def _offset_on(self, day: str, wall: datetime) -> timedelta:
        """The offset at ``wall``: the day's, when it is the same from its start to its end."""
        if day not in self._day_offsets:
            start = wall.replace(hour=0, minute=0, second=0)
            first, last = self._offset(start), self._offset(start + ONE_DAY)
            if len(self._day_offsets) >= MAX_CACHED_DAYS:
                self._day_offsets.clear()
            self._day_offsets[day] = first if first == last else None
        offset = self._day_offsets[day]
        return self._offset(wall) if offset is None else offset

    def _offset(self, wall: datetime) -> timedelta:
        return wall - local_to_utc(wall, self.zone).replace(tzinfo=None)
