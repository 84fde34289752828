"""Run a sandbox over real HTTP on loopback, in-process, and hand back a handle to it.

``start_sandbox()`` checks every input first (port, ``--db`` file, faults file, rows), listens
on the port, builds (or copies) the dataset, starts an HTTP/1.1 server with keep-alive and a
pool of worker threads (``http_server.py``) and returns a ``RunningSandbox``: the base URL, the
tokens, and the live objects to inspect and change (rows, world, faults, latency, the
parallel-call limit, clock). A refused input raises ``SandboxInputError`` (a ``ValueError``)
with one line saying what to do, before anything runs.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from afas_sandbox import dbfile
from afas_sandbox.app import SandboxApp
from afas_sandbox.auth import SandboxToken
from afas_sandbox.clock import Clock
from afas_sandbox.costs import DEFAULT_MAX_PARALLEL, LatencyModel, ParallelLimit
from afas_sandbox.datasets import Dataset, load_dataset
from afas_sandbox.faults import FaultPlan
from afas_sandbox.file_connectors import DEFAULT_FILE_MB, FileConnectors, check_file_mb
from afas_sandbox.http_server import MIN_WORKERS, SandboxHTTPServer
from afas_sandbox.inputs import SandboxInputError, check_port, check_rows
from afas_sandbox.quirks import Quirks
from afas_sandbox.sandbox import AFASSandbox
from afas_sandbox.store import Store, build_template
from afas_sandbox.world import MutationResult, World

DEFAULT_HOST = "127.0.0.1"
SERVICE_PATH = "/ProfitRestServices"
LISTEN_BACKLOG = 128
STOP_JOIN_SECONDS = 5.0
WORKERS_PER_PARALLEL_CALL = 3  # three tokens at their limit at once still find a worker each


class TemplateCache:
    """Built datasets by (name, seed, rows), so each sandbox only copies one."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, int, int, str], sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def get(
        self,
        dataset: Dataset,
        *,
        seed: int,
        rows: int,
        db_path: Path | None = None,
        rebuild: bool = False,
    ) -> sqlite3.Connection:
        key = (dataset.name, seed, rows, "" if db_path is None else str(db_path.resolve()))
        with self._lock:
            if key not in self._templates:
                if db_path is None:
                    template = build_template(dataset, seed=seed, rows=rows)
                else:
                    template = dbfile.load_or_build(
                        dataset, seed=seed, rows=rows, path=db_path, rebuild=rebuild
                    )
                self._templates[key] = template
            return self._templates[key]


@dataclass
class SandboxTokens:
    """The demo tokens of a sandbox by role."""

    full: SandboxToken
    limited: SandboxToken
    ip_restricted: SandboxToken


class RunningSandbox:
    """A sandbox serving HTTP; use as a context manager or call ``stop()``.

    Made by ``start_sandbox`` or ``serve_core``; ``server`` has been prepared (it listens) and
    starts serving here, in a background thread.
    """

    def __init__(
        self,
        core: AFASSandbox,
        world: World,
        app: SandboxApp,
        server: SandboxHTTPServer,
        *,
        seed: int = 1,
        size: int = 0,
    ) -> None:
        self.core = core
        self.world = world
        self.seed = seed
        self.size = size  # rows of the large connector the data was built with
        self._app = app
        self._server = server
        self._stopped = False
        self._thread = threading.Thread(target=server.serve, name="afas-sandbox", daemon=True)
        self._thread.start()
        bound_host, port = server.socket.getsockname()[:2]
        host = bound_host if ":" not in bound_host else f"[{bound_host}]"
        self.root_url = f"http://{host}:{port}"
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
    def parallel(self) -> ParallelLimit:
        """Requests in flight per token; set ``parallel.limit`` (0 = no limit) at any time."""
        return self._app.parallel

    @property
    def connections_accepted(self) -> int:
        """TCP connections the server has accepted so far (kept-alive ones count once)."""
        count: int = self._server.accepted
        return count

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
        """Stop serving: waits end at once, requests in progress finish, connections close."""
        if self._stopped:
            return
        self._stopped = True
        self._app.stop()
        self._server.stop()
        self._thread.join(timeout=STOP_JOIN_SECONDS)
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
    dataset: str | None = None,
    *,
    seed: int | None = None,
    rows: int | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    db_path: Path | None = None,
    clock: Clock | None = None,
    latency: LatencyModel | None = None,
    faults_file: Path | None = None,
    templates: TemplateCache | None = None,
    rebuild: bool = False,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
    quirks: Mapping[str, str] | Quirks | None = None,
    file_mb: float = DEFAULT_FILE_MB,
) -> RunningSandbox:
    """Start a sandbox serving ``http://{host}:{port}/ProfitRestServices`` (port 0 = free).

    ``dataset``, ``seed`` and ``rows`` left out come from the sandbox file at ``db_path`` when
    there is one, else ``demo``, 1 and the dataset's default; see ``afas_sandbox.dbfile`` for
    when that file is reused, built, rebuilt (``rebuild``) or refused. ``max_parallel``: the
    requests of one token in flight at once before the next gets a 503 (0 = no limit).
    ``quirks``: ``{name: value}`` for behaviour AFAS leaves undocumented (quirks.py).
    ``file_mb``: the size of the large demo file behind the file connectors, in MB.
    """
    check_port(port)
    files = FileConnectors(check_file_mb(file_mb))
    chosen = Quirks.from_settings(quirks)
    parallel = ParallelLimit(max_parallel)
    found = dbfile.inspect(db_path) if db_path is not None else None
    name, seed, size = dbfile.choose(found, dataset, seed, rows)
    definition = load_dataset(name)
    size = check_rows(definition.default_rows if size is None else size)
    faults = FaultPlan(seed=seed)
    if faults_file is not None:
        faults.load(faults_file)
    listening = listen(host, port)
    try:
        cache = templates or TemplateCache()
        template = cache.get(definition, seed=seed, rows=size, db_path=db_path, rebuild=rebuild)
        store = Store.copy_of(template)
        core = AFASSandbox(
            definition,
            store,
            faults=faults,
            latency=latency,
            clock=clock,
            quirks=chosen,
            files=files,
        )
        world = World(definition, store, core.clock, seed)
    except BaseException:
        listening.socket.close()
        raise
    return serve_core(core, world, listening=listening, parallel=parallel, seed=seed, size=size)


def serve_core(
    core: AFASSandbox,
    world: World,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    listening: Listening | None = None,
    parallel: ParallelLimit | None = None,
    seed: int = 1,
    size: int = 0,
) -> RunningSandbox:
    """Serve a sandbox core that is already built (``start_sandbox`` builds one from a dataset)
    over HTTP on ``listening``, or else on ``host:port``."""
    limit = parallel if parallel is not None else ParallelLimit()
    bound = listening if listening is not None else listen(host, port)
    app = SandboxApp(core, world, parallel=limit)
    threads = max(MIN_WORKERS, WORKERS_PER_PARALLEL_CALL * limit.limit)
    try:
        server = SandboxHTTPServer(bound.socket, app, threads=threads, backlog=LISTEN_BACKLOG)
        server.prepare()
    except BaseException:
        bound.socket.close()
        raise
    return RunningSandbox(core, world, app, server, seed=seed, size=size)


@dataclass
class Listening:
    """A bound, listening TCP socket and the host and port it answers on."""

    socket: socket.socket
    host: str
    port: int


def listen(host: str, port: int) -> Listening:
    """Bind ``host:port``; ``SandboxInputError`` says why not and what to do instead."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name or "://" in name or "/" in name:
        raise SandboxInputError(
            f"--host {host!r} is not a network address; give an IP address or host name "
            "such as 127.0.0.1",
            field="host",
        )
    try:
        found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise SandboxInputError(
            f"--host {host!r} cannot be resolved ({exc}); give an address of this machine, "
            "such as 127.0.0.1",
            field="host",
        ) from None
    # Prefer IPv4 for a name such as localhost: clients try 127.0.0.1 first.
    family, kind, proto, _, address = min(found, key=lambda a: a[0] != socket.AF_INET)
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise SandboxInputError(_bind_problem(name, port, exc), field="port") from None
    bound_host, bound_port = sock.getsockname()[:2]
    return Listening(sock, bound_host, bound_port)


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use; stop the program using it or choose "
            "another --port (0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}; choose a port above 1023"
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine; give one of its addresses, such as "
            "127.0.0.1"
        )
    return f"cannot listen on {host}:{port} ({exc.strerror}); choose another --host or --port"
