"""Run a sandbox over real HTTP on loopback, in-process, and hand back a handle to it.

``start_sandbox()`` builds (or copies) the dataset, starts werkzeug's threaded WSGI server on a
free port in a background thread and returns a ``RunningSandbox``: the base URL, the tokens,
and the live objects to inspect and change (rows, world, faults, latency, clock).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from afas_sandbox.app import SandboxApp
from afas_sandbox.auth import SandboxToken
from afas_sandbox.clock import Clock
from afas_sandbox.datasets import Dataset, load_dataset
from afas_sandbox.faults import FaultPlan, LatencyModel
from afas_sandbox.sandbox import AFASSandbox
from afas_sandbox.store import Store, load_or_build_template
from afas_sandbox.world import MutationResult, World

DEFAULT_HOST = "127.0.0.1"
SERVICE_PATH = "/ProfitRestServices"
SHUTDOWN_POLL_SECONDS = 0.02


class _QuietHandler(WSGIRequestHandler):
    """No access log: a benchmark makes thousands of requests."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class TemplateCache:
    """Built datasets by (name, seed, rows), so each sandbox only copies one."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, int, int], sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def get(
        self, dataset: Dataset, *, seed: int, rows: int, db_path: Path | None = None
    ) -> sqlite3.Connection:
        key = (dataset.name, seed, rows)
        with self._lock:
            if key not in self._templates:
                self._templates[key] = load_or_build_template(
                    dataset, seed=seed, rows=rows, db_path=db_path
                )
            return self._templates[key]


@dataclass
class SandboxTokens:
    """The demo tokens of a sandbox by role."""

    full: SandboxToken
    limited: SandboxToken
    ip_restricted: SandboxToken


class RunningSandbox:
    """A sandbox serving HTTP; use as a context manager or call ``stop()``."""

    def __init__(self, core: AFASSandbox, world: World, server: BaseWSGIServer) -> None:
        self.core = core
        self.world = world
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="afas-sandbox",
            daemon=True,
        )
        self._thread.start()
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.root_url = f"http://{host}:{server.port}"
        self.base_url = self.root_url + SERVICE_PATH
        self.admin_url = self.root_url + "/_sandbox"
        by_name = {t.name: t for t in core.dataset.tokens}
        self.tokens = SandboxTokens(
            full=by_name["full"], limited=by_name["limited"], ip_restricted=by_name["ip_restricted"]
        )

    @property
    def faults(self) -> FaultPlan:
        return self.core.faults

    @property
    def latency(self) -> LatencyModel:
        return self.core.latency

    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def store(self) -> Store:
        return self.core.store

    def rows(self, connector: str) -> list[dict[str, Any]]:
        """Every row of a GetConnector as the API shows it."""
        return self.core.rows(connector)

    def mutate(
        self,
        connector: str,
        *,
        inserts: int = 0,
        updates: int = 0,
        deletes: int = 0,
        same_second: bool = False,
    ) -> MutationResult:
        """Insert, update and delete random rows of a GetConnector's data."""
        return self.world.mutate(
            connector, inserts=inserts, updates=updates, deletes=deletes, same_second=same_second
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.core.store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSandbox(base_url={self.base_url!r}, dataset={self.core.dataset.name!r})"


def start_sandbox(
    dataset: str = "demo",
    *,
    seed: int = 1,
    rows: int | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    db_path: Path | None = None,
    clock: Clock | None = None,
    latency: LatencyModel | None = None,
    faults_file: Path | None = None,
    templates: TemplateCache | None = None,
) -> RunningSandbox:
    """Start a sandbox serving ``http://{host}:{port}/ProfitRestServices`` (port 0 = free)."""
    definition = load_dataset(dataset)
    size = definition.default_rows if rows is None else rows
    if size < 0:
        raise ValueError("rows must not be negative")
    cache = templates or TemplateCache()
    template = cache.get(definition, seed=seed, rows=size, db_path=db_path)
    store = Store.copy_of(template)
    faults = FaultPlan(seed=seed)
    if faults_file is not None:
        faults.load(faults_file)
    core = AFASSandbox(definition, store, faults=faults, latency=latency, clock=clock)
    world = World(definition, store, core.clock, seed)
    server = make_server(
        host, port, SandboxApp(core, world), threaded=True, request_handler=_QuietHandler
    )
    return RunningSandbox(core, world, server)
