"""``TapAFAS``: discovers one stream per GetConnector from AFAS metainfo.

Discovery reads ``/metainfo`` (the connectors the token's App Connector offers), keeps the ones
selected by ``connectors`` / ``exclude_connectors``, and builds each stream's schema from
``/metainfo/get/{id}``.
"""

from __future__ import annotations

import logging

from singer_sdk import Stream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from afas_profit.client import ProfitClient
from afas_profit.errors import AFASError, run_command
from tap_afas.settings import TapSettings, tap_config_schema
from tap_afas.streams import GetConnectorStream


class TapAFAS(Tap):
    """Singer tap for AFAS Profit GetConnectors."""

    name = "tap-afas"
    config_jsonschema = tap_config_schema()
    message_writer_class = MsgSpecWriter

    @override
    def discover_streams(self) -> list[Stream]:
        settings = TapSettings.from_config(self.config)
        client = ProfitClient(settings.environment)
        environment = client.environment_info()
        streams: list[Stream] = []
        for connector_id in settings.select(environment.get_connectors):
            info = client.get_connector_info(connector_id)
            streams.append(GetConnectorStream(self, info, settings, client))
        return streams


def main() -> None:
    """The ``tap-afas`` console script: known failures end without a traceback."""
    run_command(
        TapAFAS.cli,
        logging.getLogger(TapAFAS.name),
        (AFASError, FatalAPIError, RetriableAPIError),
    )
