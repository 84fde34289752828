"""Wiring for singer-sdk's standard tap tests: one sandbox, started when the suite is collected.

``get_tap_test_class`` needs the tap's config when the class is created, and it runs discovery
right then (the stream and attribute tests are parametrized by the discovered streams), so a
sandbox must be listening before pytest collects the class. A fixture cannot do that: fixtures
run after collection. So the test module declares a placeholder class with a
``build_sdk_test_class(sandbox)`` static method, and ``pytest_pycollect_makeitem`` below
replaces it at collection time with the class that method returns. Importing the test module
starts nothing; the sandbox starts on a free port only when such a class is collected, once per
session, and ``config.add_cleanup`` stops it when the session ends.
"""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone

import pytest

from afas_sandbox import ManualClock, RunningSandbox, start_sandbox

SANDBOX_ROWS = 2000  # Profit_Transactions rows; the suite reads at most max_records_limit
BUILDER = "build_sdk_test_class"
_SANDBOX = pytest.StashKey[RunningSandbox]()


def sdk_sandbox(config: pytest.Config) -> RunningSandbox:
    """The session's demo sandbox for the generated classes (started on first use)."""
    if _SANDBOX not in config.stash:
        # The sandbox's clock stands an hour back, so rows a builder writes (e.g. deletes for
        # Profit_Deleted_Records) are stamped before the end of any sync window (the sync start).
        clock = ManualClock(datetime.now(timezone.utc) - timedelta(hours=1))
        sandbox = start_sandbox("demo", seed=1, rows=SANDBOX_ROWS, clock=clock)
        config.add_cleanup(sandbox.stop)
        config.stash[_SANDBOX] = sandbox
    return config.stash[_SANDBOX]


def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> pytest.Class | None:
    """Collect a placeholder class as the singer-sdk test class its builder returns."""
    if not (isinstance(collector, pytest.Module) and inspect.isclass(obj)):
        return None
    builder = getattr(obj, BUILDER, None)
    if builder is None:
        return None
    generated = builder(sdk_sandbox(collector.config))
    # A subclass keeps the placeholder's name and docstring in test ids and reports; the SDK's
    # parametrization (``params``) is inherited from the generated class.
    test_class = type(
        name,
        (generated,),
        {"__module__": obj.__module__, "__qualname__": name, "__doc__": obj.__doc__},
    )
    setattr(collector.obj, name, test_class)  # pytest.Class reads its class from the module
    return pytest.Class.from_parent(collector, name=name)
