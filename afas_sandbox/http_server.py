"""The HTTP/1.1 server under a sandbox: cheroot's threaded WSGI server, with keep-alive.

AFAS keeps connections alive, so a client that reuses its connections (a ``requests.Session``)
pays for TCP setup once, here as there. The server takes a socket that ``server.listen`` has
already bound (so a refused port is reported before anything starts), serves each request on a
pool of worker threads (idle keep-alive connections wait in a selector, not in a thread), counts
the connections it accepts, and stops cleanly: idle connections are closed, requests in progress
are finished.

Each request's WSGI environ carries a ``ConnectionControl`` (key ``CONTROL_KEY``) through which
the app makes transport faults real: ``reset`` ends the connection with a TCP reset and sends
nothing; ``close_after_response`` ends it after the (cut-off) answer.
"""

from __future__ import annotations

import logging
import socket
import struct
from typing import Any

from cheroot import wsgi
from cheroot.server import HTTPConnection
from cheroot.workers.threadpool import ThreadPool, WorkerThread

CONTROL_KEY = "afas_sandbox.connection"
KEEP_ALIVE_SECONDS = 60  # idle time before the server closes a kept-alive connection
SHUTDOWN_SECONDS = 2  # how long stop() lets requests in progress finish before cutting them off
MIN_WORKERS = 32
STOP_POLL_SECONDS = 0.02

log = logging.getLogger("afas_sandbox.http")


class ConnectionControl:
    """What the app may do to the connection of the request it is answering."""

    def __init__(self, request: Any) -> None:
        self._request = request

    def reset(self) -> None:
        """Send nothing of the response and end the connection with a TCP reset (RST)."""
        connection = self._request.conn
        # Linger 0: closing the socket sends RST instead of FIN.
        connection.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.aborted = True
        self._request.sent_headers = True  # the server writes no status line or headers
        self._request.close_connection = True

    def close_after_response(self) -> None:
        """End the connection once the response (as far as the app wrote it) is sent."""
        self._request.close_connection = True


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, with the request's ``ConnectionControl`` in the environ."""

    def __init__(self, req: Any) -> None:
        super().__init__(req)
        self.env[CONTROL_KEY] = ConnectionControl(req)


class _Connection(HTTPConnection):
    """A client connection: counted when accepted; an aborted one closes with a reset."""

    aborted = False

    def __init__(self, server: Any, sock: Any, makefile: Any) -> None:
        super().__init__(server, sock, makefile)
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold the body back for 40 ms on a kept-alive connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server.accepted += 1

    def close(self) -> None:
        if not self.aborted:
            super().close()
            return
        # No shutdown() first, which would send a FIN: release every reference to the socket
        # so that the kernel closes it now, with the reset that linger 0 asks for.
        self.rfile.close()
        self.socket.close()
        self.wfile.close()


class _Workers(ThreadPool):
    """cheroot's worker pool, with daemon threads: a sandbox left running (a test or script
    that never called ``stop()``) does not keep its process alive, as with werkzeug before."""

    def _spawn_worker(self) -> WorkerThread:
        worker = WorkerThread(self.server)  # type: ignore[no-untyped-call]  # untyped in its stub
        worker.daemon = True
        worker.name = f"afas-sandbox {worker.name}"
        worker.start()
        return worker


class SandboxHTTPServer(wsgi.Server):
    """cheroot's WSGI server on an already bound, listening socket."""

    ConnectionClass = _Connection

    def __init__(self, listening: socket.socket, app: Any, *, threads: int, backlog: int) -> None:
        host, port = listening.getsockname()[:2]
        super().__init__(
            (host, port),
            app,
            numthreads=threads,
            max=threads,
            request_queue_size=backlog,
            timeout=KEEP_ALIVE_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        self.gateway = _Gateway
        self.requests = _Workers(self, min=threads, max=threads)
        # The accept loop's select() timeout, which is also how long stop() waits for that loop.
        self.expiration_interval = STOP_POLL_SECONDS
        self.keep_alive_conn_limit = 10_000  # cheroot's default (10) would close the 11th
        self.accepted = 0  # connections accepted so far
        self._listening = listening

    def bind(self, family: Any, type: Any, proto: int = 0) -> socket.socket:
        """Use the socket bound beforehand instead of binding a new one (called by prepare)."""
        self.socket = self._listening
        return self._listening

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """cheroot's messages go to logging; its routine ones (a client that went away) at
        DEBUG, so a command line shows only real trouble."""
        log.log(logging.DEBUG if level <= logging.INFO else level, "%s", msg, exc_info=traceback)
