"""Fixtures of the warehouse tests (helpers: ``tests/support``, e.g. ``warehouse_runs``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.warehouse_runs import Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """One database file in ``tmp_path``."""
    return Warehouse(tmp_path / "warehouse.duckdb")
