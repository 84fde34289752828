"""Rows as AFAS shows them → records with true UTC datetimes and ISO dates and times.

Datetimes (controlType 8 and unknown date controls) become ISO 8601 UTC; dates become
``YYYY-MM-DD``; times ``HH:MM:SS``. The UTC offset is cached per local hour, so a page of
rows costs a few dictionary look-ups, not a zone calculation per value; the last converted texts
are remembered too (rows ordered by a modified date repeat their neighbours' values).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.metainfo import GetConnectorInfo
from afas_profit.times import is_ambiguous, local_to_utc

MAX_CACHED_HOURS = 4096
MAX_CACHED_VALUES = 8192


class RecordConverter:
    """Converts one connector's rows in place."""

    def __init__(self, connector: GetConnectorInfo, zone: ZoneInfo) -> None:
        self.zone = zone
        self.datetimes = tuple(f.id for f in connector.fields if f.is_datetime)
        self.dates = tuple(f.id for f in connector.fields if f.is_date)
        self.times = tuple(f.id for f in connector.fields if f.is_time)
        self._offsets: dict[str, timedelta] = {}
        self._converted: dict[str, str] = {}

    def convert(self, row: dict[str, Any]) -> dict[str, Any]:
        for name in self.datetimes:
            value = row.get(name)
            if value:
                row[name] = self.to_utc(value)
        for name in self.dates:
            value = row.get(name)
            if value:
                row[name] = value[:10]
        for name in self.times:
            value = row.get(name)
            if value:
                row[name] = value[11:19]
        return row

    def to_utc(self, text: str) -> str:
        """``2024-03-31T03:30:00Z`` (local wall time) → ``2024-03-31T01:30:00+00:00``."""
        known = self._converted.get(text)
        if known is not None:
            return known
        if len(self._converted) >= MAX_CACHED_VALUES:
            self._converted.clear()
        converted = self._converted[text] = self._to_utc(text)
        return converted

    def _to_utc(self, text: str) -> str:
        wall = datetime.fromisoformat(text[:19])
        hour = text[:13]
        offset = self._offsets.get(hour)
        if offset is None:
            offset = self._offset(wall)
            if not is_ambiguous(wall, self.zone):
                if len(self._offsets) >= MAX_CACHED_HOURS:
                    self._offsets.clear()
                self._offsets[hour] = offset
        return (wall - offset).replace(tzinfo=timezone.utc).isoformat()

    def _offset(self, wall: datetime) -> timedelta:
        return wall - local_to_utc(wall, self.zone).replace(tzinfo=None)
