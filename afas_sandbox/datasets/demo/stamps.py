"""Audit timestamps of the demo data: Amsterdam local wall time with microseconds."""

from __future__ import annotations

import random
from datetime import date, timedelta

AUDIT_FIRST_DAY = date(2021, 1, 1)
AUDIT_LAST_DAY = date(2026, 10, 31)
BULK_SECONDS_PER_TABLE = 3  # bulk imports: many rows modified within one displayed second
# Hours of audit stamps, office hours weighted up. Hour 2 is left out: 02:00-03:00 does not
# exist on the spring DST day in Amsterdam.
STAMP_HOURS = (
    0, 1, 6, 7, 8, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 13, 13, 14, 14, 14, 15, 15, 15,
    16, 16, 17, 18, 19, 20, 21, 22, 23,
)  # fmt: skip

Stamps = tuple[str, str]  # created, modified


def iso_date(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def date_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def stamp_on(rng: random.Random, day: date) -> str:
    hour = rng.choice(STAMP_HOURS)
    minute, second, micro = rng.randrange(60), rng.randrange(60), rng.randrange(1_000_000)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}.{micro:06d}"
