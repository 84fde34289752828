"""Discovery's metainfo requests, and sending them while the tap loads.

``MetainfoRequests`` sends ``/metainfo`` and ``/metainfo/get/{id}`` of the connectors named in
full in ``connectors`` at once, in parallel (within ``max_parallel_requests``, one of them
``/metainfo``), and the other chosen connectors' once ``/metainfo`` has answered (for a sync
given a catalog, only those whose streams it selects); ``TapAFAS.discover_streams`` reads the
answers.

``start`` is called by the ``tap-afas`` console script before it loads singer-sdk (about 0.2 s
of imports, most of an AFAS answer's latency): when the command line is a sync or a discovery
(only ``--config``, ``--state``, ``--catalog``, ``--discover``), the ``--config`` files hold only
this tap's own settings, and those settings, the ``--state`` and the ``--catalog`` file pass the
same checks the console makes before the first request, the requests leave at once. ``claim``
hands them to discovery when the tap then runs with the same settings. In every other case
(``--config ENV``, singer-sdk settings such as stream maps, a check that fails: the console
reports it as before) nothing is sent early and discovery sends its requests itself.

Logging is set up by singer-sdk after it loads, so the early requests' log lines (a retry, say)
are held and written through the tap's logger once discovery takes the requests over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from afas_profit.client import ProfitClient
from afas_profit.metainfo import EnvironmentInfo, GetConnectorInfo
from tap_afas.input_files import check_config, config_hint, read_config_files
from tap_afas.settings import TapSettings, tap_config_schema
from tap_afas.state_and_catalog import check_catalog, check_state

NAME = "tap-afas"
EARLY_LOGGER = f"{NAME}.early"  # the early requests' log lines, held until discovery claims them
FILE_OPTIONS = ("--config", "--state", "--catalog")


class MetainfoRequests:
    """The metainfo discovery needs, asked for as soon as this is built (module docstring)."""

    def __init__(self, settings: TapSettings, client: ProfitClient) -> None:
        self.settings = settings
        self.client = client
        parallel = settings.max_parallel_requests
        self._pool = ThreadPoolExecutor(parallel, "metainfo")
        self._environment = self._pool.submit(client.environment_info)
        self._early = {
            name: self._pool.submit(client.get_connector_info, name)
            for name in settings.named_connectors()[: parallel - 1]
        }

    def answers(
        self, synced: Callable[[str], bool] | None = None
    ) -> tuple[EnvironmentInfo, list[GetConnectorInfo]]:
        """``/metainfo``'s answer and the chosen connectors' metainfo, in ``/metainfo``'s
        order; a request's error is raised here. ``synced``: of the chosen connectors, the ones
        a sync reads (a catalog's selection); the others' metainfo is not asked for. What was
        asked early and is not chosen (an excluded connector) is not waited for."""
        try:
            environment = self._environment.result()
            chosen = self.settings.select(environment.get_connectors)
            if synced is not None:
                chosen = [c for c in chosen if synced(c)]
            asked = [
                self._early.get(c) or self._pool.submit(self.client.get_connector_info, c)
                for c in chosen
            ]
            return environment, [answer.result() for answer in asked]
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def drop(self) -> None:
        """The answers will not be read: nothing more is asked (what is in flight ends)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class _HeldLines(logging.Handler):
    """Log records kept until ``hand_over`` names the logger that writes them (and later ones)."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[logging.LogRecord] = []
        self._target: logging.Logger | None = None

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        if self._target is None:
            self._records.append(record)
        else:
            _write(self._target, record)

    def hand_over(self, target: logging.Logger) -> None:
        self.acquire()
        try:
            self._target = target
            held, self._records = self._records, []
        finally:
            self.release()
        for record in held:
            _write(target, record)


def _write(logger: logging.Logger, record: logging.LogRecord) -> None:
    """``record`` through ``logger``'s handlers, unless ``logger`` leaves its level out."""
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


@dataclass
class _Started:
    requests: MetainfoRequests
    held: _HeldLines


_started: _Started | None = None  # the requests ``start`` sent, until claimed


def start(argv: Sequence[str]) -> bool:
    """Send discovery's metainfo requests now, when ``argv`` is a run that discovers and its
    files pass the console's checks (module docstring); True when they were sent."""
    files = _file_options(argv)
    if files is None or not files.get("--config"):
        return False
    try:
        config = read_config_files(files["--config"], NAME)
        schema = tap_config_schema()
        if not set(config) <= set(schema["properties"]):
            return False  # singer-sdk's own settings (stream maps, ...): checked after it loads
        check_config(config, schema, config_hint(NAME))
        settings = TapSettings.from_config(config)
        settings.check_paths()
        for option, check in (("--state", check_state), ("--catalog", check_catalog)):
            for path in files.get(option, []):
                check(Path(path).read_text(encoding="utf-8"))
    except Exception:  # the console makes the same checks and says what is wrong
        return False
    global _started
    held = _HeldLines()
    logger = logging.Logger(EARLY_LOGGER)  # its own: no parent, no handler but ``held``
    logger.addHandler(held)
    client = ProfitClient(
        settings.environment, logger=logger, max_in_flight=settings.max_parallel_requests
    )
    _started = _Started(MetainfoRequests(settings, client), held)
    return True


def claim(settings: TapSettings, logger: logging.Logger) -> MetainfoRequests | None:
    """The requests ``start`` sent, when they were sent for these ``settings`` (once); their
    client logs through ``logger`` from now on, and the lines held so far are written."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    if started.requests.settings != settings:
        started.requests.drop()
        return None
    started.requests.client.logger = logger
    started.held.hand_over(logger)
    return started.requests


def _file_options(argv: Sequence[str]) -> dict[str, list[str]] | None:
    """The paths given to ``--config``/``--state``/``--catalog`` (``--opt path`` or
    ``--opt=path``); None when ``argv`` has anything else besides ``--discover``, or ENV."""
    files: dict[str, list[str]] = {}
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        option, equals, value = arg.partition("=")
        if option in FILE_OPTIONS:
            if not equals:
                if not rest:
                    return None
                value = rest.pop(0)
            if value == "ENV":
                return None
            files.setdefault(option, []).append(value)
        elif arg != "--discover":
            return None
    return files
