"""The tap class. Only ``--about`` works until GetConnector sync lands (issue #3)."""

from __future__ import annotations

from singer_sdk import Stream, Tap

from afas_profit.settings import environment_schema


class TapAFAS(Tap):
    """Singer tap for AFAS Profit GetConnectors."""

    name = "tap-afas"
    config_jsonschema = environment_schema()

    def discover_streams(self) -> list[Stream]:
        raise NotImplementedError(
            "tap-afas cannot sync yet: GetConnector discovery and sync arrive with issue #3. "
            "Only --about works in this version."
        )
