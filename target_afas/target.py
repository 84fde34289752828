"""``TargetAFAS``: maps Singer records onto AFAS Profit UpdateConnector payloads.

STATE messages leave the target as soon as every record before them has an outcome: at each
STATE the sinks are drained (at most once per ``STATE_FLUSH_SECONDS``, so a tap that sends a
STATE after every record does not make every request a batch of one), then the STATE is emitted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from singer_sdk import Target

from afas_profit.client import ProfitClient
from tap_afas.console import ConsoleChecks, run_console
from target_afas.ledger import Ledger
from target_afas.outcomes import RejectLog, Summary
from target_afas.reader import StateFlushingReader
from target_afas.settings import TargetSettings, target_config_schema
from target_afas.sinks import UpdateConnectorSink


@dataclass
class AFASConnection:
    """What every sink of one run shares: settings, client, ledger and reports."""

    settings: TargetSettings
    client: ProfitClient
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
    STATE_FLUSH_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._last_flush = time.monotonic()
        kwargs.setdefault("message_reader", StateFlushingReader(self._flush_at_state))
        super().__init__(*args, **kwargs)
        settings = TargetSettings.from_config(self.config)
        rejects = RejectLog(settings.reject_file)
        self.afas = AFASConnection(
            settings=settings,
            client=ProfitClient(settings.environment, logger=self.logger),
            ledger=Ledger(settings.ledger_path),
            rejects=rejects,
            summary=Summary(),
        )

    def _flush_at_state(self) -> None:
        """Drain every sink and emit the STATE just read (see the module docstring)."""
        now = time.monotonic()
        if now - self._last_flush >= self.STATE_FLUSH_SECONDS:
            self._last_flush = now
            self.drain_all()


def main() -> None:
    """The ``target-afas`` console script: the config is checked before anything starts; every
    failure ends with one ERROR line (tap_afas/console.py)."""
    run_console(TargetAFAS, ConsoleChecks(settings=TargetSettings.from_config))
