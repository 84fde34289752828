"""singer-sdk's standard tap tests for tap-afas, against the demo sandbox over real HTTP.

Layer: the whole tap as singer-sdk sees it. ``get_tap_test_class`` generates the tap tests
(``--about`` output, discovery, connection, final state), per-stream tests (schema valid,
records returned, record keys match the catalog, primary keys present and unique) and
per-attribute tests (date-time, boolean, integer and number values match their schema) for
every GetConnector of the demo environment: 111 tests.

The sandbox must be listening when the class is generated (the SDK discovers the streams then),
so the class below is a placeholder: ``conftest.py`` starts one session sandbox on a free port
during collection, calls ``build_sdk_test_class`` with it and collects the class it returns.
"""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.factory import BaseTestClass

from afas_sandbox import RunningSandbox
from tap_afas.tap import TapAFAS
from tests.support.tap_runs import tap_config

# Enough rows for every per-attribute test to see values; the SDK stops each stream after it.
MAX_RECORDS = 100
DELETED_PERSONS = 3


class TestTapAFASStandard:
    """singer-sdk standard tests for TapAFAS over all demo GetConnectors."""

    @staticmethod
    def build_sdk_test_class(sandbox: RunningSandbox) -> type[BaseTestClass]:
        # A fresh demo environment has an empty deletion log; delete a few persons so the
        # Profit_Deleted_Records stream has rows to check like every other stream.
        deleted = sandbox.mutate("Profit_Persons", deletes=DELETED_PERSONS).deleted
        assert len(deleted) == DELETED_PERSONS, deleted
        return get_tap_test_class(
            TapAFAS,
            config=tap_config(sandbox),  # all GetConnectors of the full token
            suite_config=SuiteConfig(max_records_limit=MAX_RECORDS),
        )

    def test_replaced_by_generated_class(self) -> None:
        # Runs only if conftest.py's collection hook did not swap in the generated class.
        pytest.fail("tests/sdk/conftest.py did not build the singer-sdk test class")
