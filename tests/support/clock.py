"""Clocks for a tap's sync window, so no in-process test sleeps for the wall clock.

A sync reads rows changed up to the second it starts (exclusive), by the clock it is given
(``TapAFAS(clock=...)``, ``run_tap(clock=...)``); a sandbox without a ``ManualClock`` stamps
what it writes with the real time. So:

- a sync after writes that must see them runs ``clock_ahead()``: the real time a second on,
  its window ends after every row written so far;
- a sync before writes that must not see them runs ``clock_behind()``: the real time a second
  back, its window ends before anything written from now on, including
  ``mutate(same_second=True)`` stamps, which reach back up to a second.

Tests that set the moment themselves use an ``afas_sandbox.ManualClock`` and pass its ``now``.
``wait_for_next_second`` is the one wall-clock wait left, for syncs run as a command (a
subprocess such as ``meltano run``), which take no clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

Clock = Callable[[], datetime]

ONE_SECOND = timedelta(seconds=1)


def clock_ahead(by: timedelta = ONE_SECOND) -> Clock:
    """The real time ``by`` on (UTC): a sync on it reads every row written before it started."""
    return lambda: datetime.now(timezone.utc) + by


def clock_behind(by: timedelta = ONE_SECOND) -> Clock:
    """The real time ``by`` back (UTC): a sync on it reads no row written after it started."""
    return lambda: datetime.now(timezone.utc) - by


def wait_for_next_second() -> None:
    """Sleep past the current wall-clock second (pacing, not an assertion).

    Only for a sync run as a subprocess (a console script, ``meltano run``): it takes no clock,
    and it reads up to the second it starts (exclusive), so rows a test wrote in this second
    belong to the sync after it. An in-process sync takes ``clock_ahead()`` instead.
    """
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.05)
