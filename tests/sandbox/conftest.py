"""Fixtures for the sandbox contract tests: a sandbox per test and a raw HTTP client for it.

These tests pin the sandbox's own contract over real HTTP on loopback. They use ``requests``
directly (``tests.support.sandbox_reading.RawClient``, never ``afas_profit``), so the sandbox is
checked independently of our client code.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from afas_sandbox import RunningSandbox, TemplateCache, start_sandbox
from afas_sandbox.pytest_plugin import FIXTURE_ROWS
from tests.support.sandbox_reading import RawClient


@pytest.fixture(scope="module")
def shared(afas_sandbox_templates: TemplateCache) -> Iterator[RunningSandbox]:
    """One sandbox per module, for tests that only read (they must not change its data)."""
    sandbox = start_sandbox("demo", rows=FIXTURE_ROWS, templates=afas_sandbox_templates)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def client(shared: RunningSandbox) -> Iterator[RawClient]:
    """A full-access client of the module's shared, read-only sandbox."""
    raw = RawClient(shared, shared.tokens.full.header)
    yield raw
    raw.close()


@pytest.fixture(scope="module")
def limited_client(shared: RunningSandbox) -> Iterator[RawClient]:
    """A limited-token client of the module's shared, read-only sandbox."""
    raw = RawClient(shared, shared.tokens.limited.header)
    yield raw
    raw.close()


@pytest.fixture
def api(afas_sandbox: RunningSandbox) -> Iterator[RawClient]:
    """A client with the full-access demo token."""
    client = RawClient(afas_sandbox, afas_sandbox.tokens.full.header)
    yield client
    client.close()


@pytest.fixture
def limited_api(afas_sandbox: RunningSandbox) -> Iterator[RawClient]:
    """A client with the limited demo token (Administrations, Employees, Persons; KnPerson)."""
    client = RawClient(afas_sandbox, afas_sandbox.tokens.limited.header)
    yield client
    client.close()
