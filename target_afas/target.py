"""``TargetAFAS``: maps Singer records onto AFAS Profit UpdateConnector payloads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from singer_sdk import Target

from afas_profit.client import ProfitClient
from afas_profit.errors import run_command
from afas_profit.writes import ProfitWriter
from target_afas.ledger import Ledger
from target_afas.outcomes import RejectLog, Summary
from target_afas.settings import TargetSettings, target_config_schema
from target_afas.sinks import UpdateConnectorSink


@dataclass
class AFASConnection:
    """What every sink of one run shares: settings, client, writer, ledger and reports."""

    settings: TargetSettings
    client: ProfitClient
    writer: ProfitWriter
    ledger: Ledger
    rejects: RejectLog
    summary: Summary


class TargetAFAS(Target):
    """Singer target for AFAS Profit UpdateConnectors."""

    name = "target-afas"
    package_name = "tap-afas"
    config_jsonschema = target_config_schema()
    default_sink_class = UpdateConnectorSink
    max_parallelism = 1  # requests are parallel inside a sink, within AFAS's limit

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = TargetSettings.from_config(self.config)
        client = ProfitClient(settings.environment)
        self.afas = AFASConnection(
            settings=settings,
            client=client,
            writer=ProfitWriter(client),
            ledger=Ledger(settings.ledger_path),
            rejects=RejectLog(settings.reject_file),
            summary=Summary(),
        )


def main() -> None:
    """The ``target-afas`` console script: known failures end without a traceback."""
    run_command(TargetAFAS.cli, logging.getLogger(TargetAFAS.name))
