"""Unit layer: ``afas_profit.times`` and ``RecordConverter.to_utc`` (AFAS local time ↔ UTC).

Europe/Amsterdam in 2026: summer time starts 2026-03-29 01:00 UTC (wall 02:00 → 03:00) and
ends 2026-10-25 01:00 UTC (wall 03:00 → 02:00, so 02:00-03:00 happens twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from afas_profit.metainfo import GetConnectorInfo, GetField
from afas_profit.records import RecordConverter
from afas_profit.times import (
    filter_value,
    is_ambiguous,
    local_to_utc,
    parse_afas_datetime,
    record_date,
    record_datetime,
    record_time,
    utc_to_local,
    window_end,
    window_start,
)

AMS = ZoneInfo("Europe/Amsterdam")
UTC = timezone.utc


def _utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        (_utc(2026, 6, 15, 10, 20, 30, 999_999), datetime(2026, 6, 15, 12, 20, 30)),
        (_utc(2026, 1, 15, 10, 20, 30, 1), datetime(2026, 1, 15, 11, 20, 30)),
        (_utc(2026, 12, 31, 23, 30, 0), datetime(2027, 1, 1, 0, 30, 0)),
        (_utc(2026, 10, 25, 0, 30, 0), datetime(2026, 10, 25, 2, 0, 0)),
        (_utc(2026, 10, 25, 1, 30, 0), datetime(2026, 10, 25, 2, 0, 0)),
        (_utc(2026, 10, 25, 0, 0, 0), datetime(2026, 10, 25, 2, 0, 0)),
        (_utc(2026, 10, 25, 1, 59, 59, 500_000), datetime(2026, 10, 25, 2, 0, 0)),
        (_utc(2026, 10, 25, 2, 0, 0), datetime(2026, 10, 25, 3, 0, 0)),
        (_utc(2026, 10, 24, 23, 59, 59), datetime(2026, 10, 25, 1, 59, 59)),
        (_utc(2026, 3, 29, 1, 0, 0), datetime(2026, 3, 29, 3, 0, 0)),
        (_utc(2026, 3, 29, 0, 59, 59, 900_000), datetime(2026, 3, 29, 1, 59, 59)),
    ],
    ids=[
        "summer-floors-microseconds",
        "winter",
        "new-year-in-local-time",
        "autumn-first-pass-of-repeated-hour",
        "autumn-second-pass-of-repeated-hour",
        "autumn-repeated-hour-starts",
        "autumn-end-of-second-pass",
        "autumn-after-repeated-hour",
        "autumn-before-repeated-hour",
        "spring-forward",
        "spring-just-before",
    ],
)
def test_window_end(started: datetime, expected: datetime) -> None:
    end = window_end(started, AMS)
    assert end == expected
    assert end.tzinfo is None
    assert end.microsecond == 0
    # Never strictly inside the repeated hour (its start is fine: the bound is exclusive).
    assert not (is_ambiguous(end, AMS) and is_ambiguous(end - timedelta(seconds=1), AMS))
    assert local_to_utc(end, AMS) <= started


@pytest.mark.parametrize(
    ("bookmark", "expected"),
    [
        (_utc(2026, 6, 1, 8, 0, 0, 750_000), datetime(2026, 6, 1, 10, 0, 0)),
        (_utc(2026, 2, 1, 8, 0, 0), datetime(2026, 2, 1, 9, 0, 0)),
        (datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo")), datetime(2026, 6, 1, 5, 0)),
        (_utc(2026, 10, 25, 0, 45, 0), datetime(2026, 10, 25, 2, 0, 0)),
        (_utc(2026, 10, 25, 1, 15, 0), datetime(2026, 10, 25, 2, 0, 0)),
        (_utc(2026, 3, 29, 1, 0, 1), datetime(2026, 3, 29, 3, 0, 1)),
    ],
    ids=[
        "summer-floors-microseconds",
        "winter",
        "aware-non-utc",
        "autumn-first-pass-rewinds-to-hour-start",
        "autumn-second-pass-rewinds-to-hour-start",
        "spring",
    ],
)
def test_window_start(bookmark: datetime, expected: datetime) -> None:
    start = window_start(bookmark, AMS)
    assert start == expected
    assert start.tzinfo is None
    # Never after the bookmark: no row changed at or after it is skipped.
    assert local_to_utc(start, AMS) <= bookmark


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01T12:00:00Z", "2026-07-01T10:00:00+00:00"),
        ("2026-01-15T12:00:00Z", "2026-01-15T11:00:00+00:00"),
        ("2026-01-01T00:30:00Z", "2025-12-31T23:30:00+00:00"),
        ("2026-10-25T01:59:59Z", "2026-10-24T23:59:59+00:00"),
        ("2026-10-25T02:00:00Z", "2026-10-25T00:00:00+00:00"),
        ("2026-10-25T02:30:00Z", "2026-10-25T00:30:00+00:00"),
        ("2026-10-25T02:59:59Z", "2026-10-25T00:59:59+00:00"),
        ("2026-10-25T03:00:00Z", "2026-10-25T02:00:00+00:00"),
        ("2026-03-29T01:59:59Z", "2026-03-29T00:59:59+00:00"),
        ("2026-03-29T03:00:00Z", "2026-03-29T01:00:00+00:00"),
        ("2026-07-01T12:00:00", "2026-07-01T10:00:00+00:00"),
    ],
    ids=[
        "summer-plus-2",
        "winter-plus-1",
        "year-boundary",
        "autumn-before-repeat",
        "autumn-repeat-start-first-occurrence",
        "autumn-repeat-middle-first-occurrence",
        "autumn-repeat-end-first-occurrence",
        "autumn-after-repeat",
        "spring-before-gap",
        "spring-after-gap",
        "without-z",
    ],
)
def test_record_datetime_and_converter_agree(text: str, expected: str) -> None:
    assert record_datetime(text, AMS) == expected
    assert _converter().to_utc(text) == expected


def _converter() -> RecordConverter:
    field = GetField("ModifiedDate", "U001", "date", "Gewijzigd op", 0, 8, 0)
    return RecordConverter(GetConnectorInfo("C", "", (field,)), AMS)


def _walls(first: datetime, last: datetime) -> list[str]:
    walls = []
    hour = first
    while hour <= last:
        for minute, second in ((0, 0), (0, 1), (29, 30), (59, 59)):
            walls.append(filter_value(hour.replace(minute=minute, second=second)) + "Z")
        hour += timedelta(hours=1)
    return walls


DST_WALLS = _walls(datetime(2026, 3, 27, 0), datetime(2026, 3, 31, 0)) + _walls(
    datetime(2026, 10, 23, 0), datetime(2026, 10, 27, 0)
)


@pytest.mark.parametrize(
    "order",
    ["forward", "backward", "interleaved"],
    ids=["forward", "backward", "interleaved"],
)
def test_offset_cache_matches_the_slow_path_for_every_hour_around_both_changes(
    order: str,
) -> None:
    walls = list(DST_WALLS)
    if order == "backward":
        walls.reverse()
    elif order == "interleaved":
        walls = walls[1::2] + walls[::2]
    converter = _converter()
    for text in walls:
        assert converter.to_utc(text) == record_datetime(text, AMS), text
    # And a second pass, served from the cache.
    for text in reversed(walls):
        assert converter.to_utc(text) == record_datetime(text, AMS), text


def test_slow_path_offsets_around_the_changes() -> None:
    offsets = {
        text: datetime.fromisoformat(text[:19])
        - datetime.fromisoformat(record_datetime(text, AMS)).replace(tzinfo=None)
        for text in DST_WALLS
    }
    assert offsets["2026-03-29T01:59:59Z"] == timedelta(hours=1)
    assert offsets["2026-03-29T03:00:00Z"] == timedelta(hours=2)
    assert offsets["2026-10-25T02:29:30Z"] == timedelta(hours=2)
    assert offsets["2026-10-25T03:00:00Z"] == timedelta(hours=1)
    assert set(offsets.values()) == {timedelta(hours=1), timedelta(hours=2)}


@pytest.mark.parametrize(
    ("wall", "ambiguous"),
    [
        (datetime(2026, 10, 25, 1, 59, 59), False),
        (datetime(2026, 10, 25, 2, 0, 0), True),
        (datetime(2026, 10, 25, 2, 59, 59), True),
        (datetime(2026, 10, 25, 3, 0, 0), False),
        (datetime(2026, 7, 1, 12, 0, 0), False),
    ],
    ids=["before", "start", "end", "after", "summer"],
)
def test_is_ambiguous(wall: datetime, ambiguous: bool) -> None:
    assert is_ambiguous(wall, AMS) is ambiguous


def test_parse_and_format_round_trip_without_z() -> None:
    wall = parse_afas_datetime("2024-03-01T10:00:02Z")
    assert wall == datetime(2024, 3, 1, 10, 0, 2)
    assert filter_value(wall) == "2024-03-01T10:00:02"
    assert filter_value(datetime(2024, 3, 1, 10, 0, 2, 999_999)) == "2024-03-01T10:00:02"
    assert filter_value(datetime(1900, 1, 1)) == "1900-01-01T00:00:00"  # the earliest window start
    assert utc_to_local(_utc(2024, 3, 1, 9, 0, 2), AMS) == wall


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2020-11-22T00:00:00Z", "2020-11-22"), ("2020-11-22", "2020-11-22")],
    ids=["midnight-with-z", "plain-date"],
)
def test_record_date(text: str, expected: str) -> None:
    assert record_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1900-01-01T08:30:00Z", "08:30:00"), ("1900-01-01T23:59:59Z", "23:59:59")],
    ids=["morning", "end-of-day"],
)
def test_record_time(text: str, expected: str) -> None:
    assert record_time(text) == expected
