"""The target class. Only ``--about`` works until UpdateConnector writes land (issue #4)."""

from __future__ import annotations

from typing import Any

from singer_sdk import RecordSink, Target

from afas_profit.settings import environment_schema


class UpdateConnectorSink(RecordSink):
    """Refuses every record: writing to UpdateConnectors arrives with issue #4."""

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        raise NotImplementedError(
            "target-afas cannot write yet: UpdateConnector writes arrive with issue #4. "
            "Only --about works in this version."
        )


class TargetAFAS(Target):
    """Singer target for AFAS Profit UpdateConnectors."""

    name = "target-afas"
    package_name = "tap-afas"
    config_jsonschema = environment_schema()
    default_sink_class = UpdateConnectorSink
