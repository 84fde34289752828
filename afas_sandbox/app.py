"""The WSGI adapter: werkzeug requests in, ``SimResponse`` out, transport faults made real.

``/ProfitRestServices/...`` goes to the AFAS core; ``/_sandbox/...`` is the admin endpoint and
answers loopback clients only. A ``reset`` fault aborts the TCP connection (RST, no response);
``truncate`` sends half the announced body of the real answer and closes; latency and ``slow``
faults sleep here, outside every lock, so other requests are served meanwhile.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from afas_sandbox.admin import ADMIN_PREFIX, handle_admin
from afas_sandbox.responses import JSON_TYPE
from afas_sandbox.sandbox import SimRequest
from afas_sandbox.world import World

MIN_TRUNCATED_LENGTH = 2

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from afas_sandbox.sandbox import AFASSandbox


class SandboxApp:
    """A WSGI application serving one sandbox."""

    def __init__(self, sandbox: AFASSandbox, world: World) -> None:
        self.sandbox = sandbox
        self.world = world

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
        else:
            result = self.sandbox.handle(sim)
        if result.delay_seconds > 0:
            time.sleep(result.delay_seconds)
        if result.disruption == "reset":
            _abort_connection(environ)
        if result.disruption == "truncate":
            return _truncated(result.body, result.status, start_response)
        response = Response(result.body, status=result.status, headers=list(result.headers))
        if result.content_type is not None:
            response.content_type = result.content_type
        else:
            response.headers.pop("Content-Type", None)
        return response(environ, start_response)


def _truncated(body: bytes, status: int, start_response: StartResponse) -> list[bytes]:
    """Announce the whole body, send half; the server then closes the connection.

    An empty answer (a DELETE's 200) announces a few bytes and sends none, so the client still
    meets a cut-off body rather than a complete empty one.
    """
    announced = max(len(body), MIN_TRUNCATED_LENGTH)
    start_response(
        f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
        [("Content-Type", JSON_TYPE), ("Content-Length", str(announced))],
    )
    return [body[: len(body) // 2]]


def _abort_connection(environ: dict[str, Any] | WSGIEnvironment) -> None:
    """Make the connection end with a TCP reset before any response byte is sent."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        # Linger 0: closing the socket sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    raise ConnectionAbortedError("sandbox fault: connection reset")
