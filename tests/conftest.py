"""Fixtures every suite may use; the helpers behind them live in ``tests/support``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader


@pytest.fixture
def reader(afas_sandbox: RunningSandbox) -> Iterator[SandboxReader]:
    """Plain ``requests`` reads of the test's sandbox with the full token."""
    with SandboxReader(afas_sandbox) as r:
        yield r


@pytest.fixture
def recorder(afas_sandbox: RunningSandbox) -> RequestRecorder:
    """Every request the test's sandbox answers from now on."""
    return RequestRecorder(afas_sandbox)
