"""pytest fixtures (installed as a plugin): ``afas_sandbox`` gives each test its own sandbox.

Each test gets fresh data copied from a dataset built once per session. Fixtures:
``afas_sandbox`` (demo dataset, seed 1, small transaction table), ``afas_sandbox_factory``
(start more, with your own options; all stopped at test end) and ``afas_sandbox_templates``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from afas_sandbox.server import RunningSandbox, TemplateCache, start_sandbox

FIXTURE_ROWS = 2000


@pytest.fixture(scope="session")
def afas_sandbox_templates() -> TemplateCache:
    return TemplateCache()


@pytest.fixture
def afas_sandbox_factory(
    afas_sandbox_templates: TemplateCache,
) -> Iterator[Callable[..., RunningSandbox]]:
    started: list[RunningSandbox] = []

    def factory(dataset: str = "demo", **options: Any) -> RunningSandbox:
        options.setdefault("rows", FIXTURE_ROWS)
        options.setdefault("templates", afas_sandbox_templates)
        sandbox = start_sandbox(dataset, **options)
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def afas_sandbox(afas_sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return afas_sandbox_factory()
