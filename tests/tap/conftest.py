"""Fixtures of the tap tests (helpers: ``tests/support``, e.g. ``tap_runs``, ``clock``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from afas_sandbox import ManualClock, RunningSandbox
from tests.support.tap_runs import tap_config


@pytest.fixture
def config(afas_sandbox: RunningSandbox) -> dict[str, Any]:
    """Tap config for the test's sandbox with the full demo token."""
    return tap_config(afas_sandbox)


@pytest.fixture
def tap_clock() -> ManualClock:
    """The clock the tap reads its window end from (passed in as ``clock=tap_clock.now``)."""
    return ManualClock(datetime(2026, 11, 1, tzinfo=timezone.utc))
