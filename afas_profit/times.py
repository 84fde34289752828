"""AFAS local time ↔ true UTC, correct across daylight-saving changes.

AFAS shows datetimes as ``YYYY-MM-DDTHH:MM:SSZ`` but the ``Z`` is false: the value is local
wall-clock time (Europe/Amsterdam by default; afas-rest-api.md sections 3.5 and 5). Filter
values must be local and must not carry the ``Z`` (section 3.2).

The autumn change repeats one wall-clock hour. A value inside it is ambiguous; it is read as
its first occurrence (summer time). Sync bounds never fall inside that hour (``window_end``),
so bookmarks stay exact.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

FILTER_FORMAT = "%Y-%m-%dT%H:%M:%S"


def parse_afas_datetime(text: str) -> datetime:
    """``2024-03-01T10:00:02Z`` (local wall time) → naive datetime."""
    return datetime.fromisoformat(text[:19])


def local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall time → aware UTC (ambiguous times: first occurrence)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def utc_to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """An aware datetime → naive local wall time."""
    return moment.astimezone(zone).replace(tzinfo=None)


def filter_value(wall: datetime) -> str:
    """A naive local wall time as an AFAS filter value (whole seconds, no ``Z``)."""
    return wall.isoformat(timespec="seconds")  # FILTER_FORMAT, three times faster than strftime


def is_ambiguous(wall: datetime, zone: ZoneInfo) -> bool:
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second


def window_end(started: datetime, zone: ZoneInfo) -> datetime:
    """The local wall-clock bound a sync reads up to (exclusive), never after ``started``.

    Whole seconds, and never inside a repeated (ambiguous) hour: during that hour the bound is
    the hour's start, so both passes of the hour are read together by a later sync.
    """
    wall = utc_to_local(started, zone).replace(microsecond=0)
    if not is_ambiguous(wall, zone):
        return wall
    while is_ambiguous(wall - timedelta(seconds=1), zone):
        wall -= timedelta(seconds=1)
    return wall


def window_start(bookmark: datetime, zone: ZoneInfo) -> datetime:
    """The local wall-clock lower bound for rows changed at or after ``bookmark`` (UTC)."""
    wall = utc_to_local(bookmark, zone).replace(microsecond=0)
    if is_ambiguous(wall, zone):
        # Start of the repeated hour: may read some rows again, never misses one.
        while is_ambiguous(wall - timedelta(seconds=1), zone):
            wall -= timedelta(seconds=1)
    return wall


def as_utc_iso(wall: datetime, zone: ZoneInfo) -> str:
    return local_to_utc(wall, zone).isoformat()


def record_datetime(text: str, zone: ZoneInfo) -> str:
    """A row's datetime value → ISO 8601 UTC."""
    return as_utc_iso(parse_afas_datetime(text), zone)


def record_date(text: str) -> str:
    return date.fromisoformat(text[:10]).isoformat()


def record_time(text: str) -> str:
    """Time fields come as ``1900-01-01THH:MM:SSZ``; keep the time of day."""
    return time.fromisoformat(text.rstrip("Z")[11:19]).isoformat()
