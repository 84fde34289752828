"""Fixtures for the sandbox contract tests: a sandbox per test and a raw HTTP client for it.

These tests pin the sandbox's own contract over real HTTP on loopback. They use ``requests``
directly (never ``afas_profit``), so the sandbox is checked independently of our client code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox, TemplateCache, start_sandbox
from afas_sandbox.pytest_plugin import FIXTURE_ROWS


class RawClient:
    """Plain ``requests`` calls against one sandbox, authenticated with one token."""

    def __init__(self, sandbox: RunningSandbox, header: str | None) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        if header is not None:
            self.session.headers["Authorization"] = header

    def get(
        self, path: str, params: dict[str, Any] | str | None = None, **kw: Any
    ) -> requests.Response:
        return self.session.get(self.sandbox.base_url + path, params=params, timeout=30, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.session.post(self.sandbox.base_url + path, json=body, timeout=30, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.session.put(self.sandbox.base_url + path, json=body, timeout=30, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.sandbox.base_url + path, timeout=30, **kw)

    def all_rows(self, connector: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a GetConnector in one call (skip=-1&take=-1)."""
        response = self.get(f"/connectors/{connector}", {"skip": -1, "take": -1, **params})
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["rows"]
        return rows

    def close(self) -> None:
        self.session.close()


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
