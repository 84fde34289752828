"""Fixtures of the bad-input tests (helpers: ``tests/badinput/cases.py``, ``tests/support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from afas_sandbox import RunningSandbox, TemplateCache, start_sandbox


@pytest.fixture(scope="module")
def shared_sandbox(afas_sandbox_templates: TemplateCache) -> Iterator[RunningSandbox]:
    """One sandbox for a module's cases: a refused input changes nothing there."""
    sandbox = start_sandbox("demo", rows=200, templates=afas_sandbox_templates)
    yield sandbox
    sandbox.stop()
