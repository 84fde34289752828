"""``TapAFAS``: discovers one stream per GetConnector from AFAS metainfo.

Discovery reads ``/metainfo`` (the connectors the token's App Connector offers), keeps the ones
selected by ``connectors`` / ``exclude_connectors``, and builds each stream's schema from
``/metainfo/get/{id}`` (asked for in parallel; for connectors named in full, while ``/metainfo``
answers: ``tap_afas.early_metainfo``, where the console script sends them before singer-sdk
loads). A sync given a catalog builds the streams it selects only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from singer_sdk import Stream, Tap
from typing_extensions import override

from afas_profit.client import ProfitClient
from afas_profit.conventions import stream_name_for
from tap_afas import early_metainfo
from tap_afas.console import ConsoleChecks, run_console
from tap_afas.file_streams import file_streams
from tap_afas.output import BufferedWriter
from tap_afas.prefetch import StreamPrefetch
from tap_afas.settings import TapSettings, tap_config_schema
from tap_afas.state_and_catalog import check_catalog, check_state
from tap_afas.streams import GetConnectorStream


class TapAFAS(Tap):
    """Singer tap for AFAS Profit GetConnectors."""

    name = "tap-afas"
    config_jsonschema = tap_config_schema()
    message_writer_class = BufferedWriter

    def __init__(self, *args: Any, clock: Callable[[], datetime] | None = None, **kwargs: Any):
        """``clock`` gives the time now in UTC (default: the system clock; tests set it)."""
        self.clock = clock or _utc_now
        self._discovering = False  # run_discovery: every connector, whatever a catalog selects
        super().__init__(*args, **kwargs)

    @override
    def run_discovery(self) -> str:
        """The catalog of every chosen connector, also when a ``--catalog`` is given."""
        self._discovering = True
        return super().run_discovery()

    @override
    def discover_streams(self) -> list[Stream]:
        settings = TapSettings.from_config(self.config)
        metainfo = early_metainfo.claim(settings, self.logger) or early_metainfo.MetainfoRequests(
            settings,
            ProfitClient(
                settings.environment,
                logger=self.logger,
                max_in_flight=settings.max_parallel_requests,
            ),
        )
        environment, infos = metainfo.answers(self._synced_connectors())
        client = metainfo.client
        streams: list[Stream] = []
        prefetch = StreamPrefetch(self, settings.max_parallel_requests - 1)
        for info in infos:
            settings.check_connector(info)
            stream = GetConnectorStream(self, info, settings, client, self.clock)
            stream.on_start, stream.on_error = prefetch.after, prefetch.close
            streams.append(stream)
        streams.extend(file_streams(self, settings, client, environment, self.clock))
        return streams

    def _synced_connectors(self) -> Callable[[str], bool] | None:
        """With an input catalog, a sync reads only the streams it selects (singer-sdk syncs
        no other), so only their connectors' metainfo is asked for; None (every chosen
        connector) for a discovery or without a catalog."""
        catalog = self.input_catalog
        if catalog is None or self._discovering:
            return None
        selected = {
            entry.tap_stream_id
            for entry in catalog.streams
            if entry.metadata.resolve_selection().get((), True)
        }
        return lambda connector_id: stream_name_for(connector_id) in selected


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _check_settings(config: Mapping[str, Any]) -> None:
    TapSettings.from_config(config).check_paths()


def main() -> None:
    """The ``tap-afas`` console script: config, state and catalog are checked before discovery
    and the first request (but see tap_afas/early_metainfo.py); every failure ends with one
    ERROR line (tap_afas/console.py). Called by tap_afas/launcher.py."""
    run_console(
        TapAFAS,
        ConsoleChecks(settings=_check_settings, state=check_state, catalog=check_catalog),
    )
