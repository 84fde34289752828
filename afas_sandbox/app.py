"""The WSGI adapter: werkzeug requests in, ``SimResponse`` out, load and transport faults made real.

``/ProfitRestServices/...`` goes to the AFAS core; ``/_sandbox/...`` is the admin endpoint and
answers loopback clients only. Around the core:
- a token with more requests in flight than ``parallel.limit`` gets AFAS's 503 with
  ``retry_after`` 1 at once (a request counts until its answer is sent);
- latency and ``slow`` faults wait here, outside every lock, so parallel requests overlap their
  delays; ``stop()`` ends every wait at once;
- a ``reset`` fault ends the TCP connection with a reset (RST, no response); ``truncate`` sends
  half the announced body of the real answer and closes the connection.
Both use the ``ConnectionControl`` the HTTP server puts in the environ (``http_server.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import ClosingIterator

from afas_sandbox.admin import ADMIN_PREFIX, handle_admin
from afas_sandbox.costs import RETRY_AFTER_SECONDS, ParallelLimit
from afas_sandbox.http_server import CONTROL_KEY, ConnectionControl
from afas_sandbox.responses import JSON_TYPE, SimResponse, maintenance
from afas_sandbox.sandbox import SimRequest
from afas_sandbox.world import World

MIN_TRUNCATED_LENGTH = 2

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from afas_sandbox.sandbox import AFASSandbox


class SandboxApp:
    """A WSGI application serving one sandbox."""

    def __init__(
        self, sandbox: AFASSandbox, world: World, *, parallel: ParallelLimit | None = None
    ) -> None:
        self.sandbox = sandbox
        self.world = world
        self.parallel = parallel if parallel is not None else ParallelLimit()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """End every latency or ``slow`` wait now (the server is shutting down)."""
        self._stopping.set()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        sim = SimRequest(
            method=request.method,
            path=request.path,
            query_string=environ.get("QUERY_STRING", ""),
            headers=dict(request.headers.items()),
            body=request.get_data(cache=False),
            remote_addr=request.remote_addr or "",
        )
        if sim.path.startswith(ADMIN_PREFIX):
            result = handle_admin(self.sandbox, self.world, sim)
            return self._send(result, environ, start_response)
        key = sim.header("Authorization") or ""
        if not self.parallel.enter(key):
            return self._send(maintenance(RETRY_AFTER_SECONDS), environ, start_response)
        try:
            result = self.sandbox.handle(sim)
            if result.delay_seconds > 0:
                self._stopping.wait(result.delay_seconds)
            body = self._send(result, environ, start_response)
        except BaseException:
            self.parallel.leave(key)
            raise
        return ClosingIterator(body, lambda: self.parallel.leave(key))

    @staticmethod
    def _send(
        result: SimResponse, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if result.disruption == "reset":
            _control(environ).reset()
            return []
        if result.disruption == "truncate":
            return _truncated(result.body, result.status, start_response, _control(environ))
        body = result.body if result.chunks is None else result.chunks()
        response = Response(body, status=result.status, headers=list(result.headers))
        if result.content_type is not None:
            response.content_type = result.content_type
        else:
            response.headers.pop("Content-Type", None)
        return response(environ, start_response)


def _control(environ: WSGIEnvironment) -> ConnectionControl:
    control = environ.get(CONTROL_KEY)
    if not isinstance(control, ConnectionControl):
        raise RuntimeError("transport faults need the sandbox's own HTTP server (http_server.py)")
    return control


def _truncated(
    body: bytes, status: int, start_response: StartResponse, control: ConnectionControl
) -> Iterator[bytes]:
    """Announce the whole body, send half, then close the connection (without announcing that).

    An empty answer (a DELETE's 200) announces a few bytes and sends none, so the client still
    meets a cut-off body rather than a complete empty one.
    """
    announced = max(len(body), MIN_TRUNCATED_LENGTH)
    start_response(
        f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
        [("Content-Type", JSON_TYPE), ("Content-Length", str(announced))],
    )
    yield body[: len(body) // 2]
    control.close_after_response()
