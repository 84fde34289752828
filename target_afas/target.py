"""``TargetAFAS``: maps Singer records onto AFAS Profit UpdateConnector payloads.

STATE messages leave the target as soon as every record before them has an outcome: at each
STATE the sinks are drained and the STATE is emitted, once ``STATE_FLUSH_SECONDS`` have passed
since the last time or enough records for a few rounds of parallel requests came in (so a tap
that sends a STATE after every record does not make every request a batch of one).
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


ROUNDS_PER_FLUSH = 4  # rounds of max_parallel_requests requests a STATE may wait for


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
            client=ProfitClient(
                settings.environment,
                logger=self.logger,
                max_in_flight=settings.max_parallel_requests,
            ),
            ledger=Ledger(settings.ledger_path),
            rejects=rejects,
            summary=Summary(),
        )

    def _flush_at_state(self, records: int) -> bool:
        """Drain every sink and emit the STATE just read (see the module docstring); ``records``
        came in since the last time. True when it drained."""
        settings = self.afas.settings
        enough = settings.batch_size * settings.max_parallel_requests * ROUNDS_PER_FLUSH
        now = time.monotonic()
        if records < enough and now - self._last_flush < self.STATE_FLUSH_SECONDS:
            return False
        self._last_flush = now
        self.drain_all()
        return True


def main() -> None:
    """The ``target-afas`` console script: the config is checked before anything starts; every
    failure ends with one ERROR line (tap_afas/console.py)."""
    run_console(TargetAFAS, ConsoleChecks(settings=TargetSettings.from_config))
