"""``wait_until``: poll a condition that another thread (a reader's worker, the sandbox) makes
true, instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.01


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """True once ``condition()`` is; False when ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
