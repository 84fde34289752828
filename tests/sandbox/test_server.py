"""Contract tests of the sandbox's HTTP server: keep-alive, transport faults on the wire, the
per-token parallel-call limit and a clean stop.

Layer: afas-sandbox only, over real HTTP on loopback, seen with plain ``requests`` and raw
sockets (a reset and a cut-off body are checked byte for byte, not only as a client's error).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from afas_sandbox import LatencyModel, RunningSandbox
from afas_sandbox.costs import DEFAULT_MAX_PARALLEL
from afas_sandbox.inputs import SandboxInputError
from tests.sandbox.test_cli_and_datasets import REPO_ROOT, full_token, header_of, serving, stop
from tests.support.sandbox_reading import RawClient

PERSONS = "/connectors/Profit_Persons"
ORDERED_PAGE = f"{PERSONS}?skip=0&take=50&orderbyfieldids=PersonId"
WIRE_TIMEOUT_SECONDS = 10.0


def raw_get(sandbox: RunningSandbox, path: str) -> socket.socket:
    """A raw socket that has sent ``GET path`` with the full token and nothing more."""
    address = urlsplit(sandbox.root_url)
    assert address.hostname is not None
    assert address.port is not None
    sock = socket.create_connection((address.hostname, address.port), WIRE_TIMEOUT_SECONDS)
    request = (
        f"GET /ProfitRestServices{path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Authorization: {sandbox.tokens.full.header}\r\n\r\n"
    )
    sock.sendall(request.encode("ascii"))
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def parallel_statuses(
    sandbox: RunningSandbox, headers: list[str], path: str = PERSONS
) -> list[requests.Response]:
    """One GET per header, all sent at the same moment, each on its own connection."""
    start = threading.Barrier(len(headers))
    responses: list[requests.Response | None] = [None] * len(headers)

    def call(index: int, header: str) -> None:
        start.wait()
        responses[index] = requests.get(
            sandbox.base_url + path, headers={"Authorization": header}, timeout=30
        )

    threads = [threading.Thread(target=call, args=(i, h)) for i, h in enumerate(headers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


# ----------------------------------------------------------------------------- keep-alive


def test_a_session_reuses_one_connection(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    before = afas_sandbox.connections_accepted
    responses = [api.get(PERSONS, {"take": 5}) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all(r.headers.get("Connection", "").lower() != "close" for r in responses)
    assert afas_sandbox.connections_accepted - before == 1


def test_a_client_that_asks_to_close_gets_a_connection_per_request(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    before = afas_sandbox.connections_accepted
    responses = [api.get(PERSONS, {"take": 5}, headers={"Connection": "close"}) for _ in range(2)]
    assert [r.headers["Connection"].lower() for r in responses] == ["close", "close"]
    assert afas_sandbox.connections_accepted - before == 2


def test_an_error_answer_keeps_the_connection(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    before = afas_sandbox.connections_accepted
    assert api.get(PERSONS, {"skip": 2, "take": -1}).status_code == 500
    assert api.get("/NoSuchEndpoint").status_code == 404
    assert api.get(PERSONS, {"take": 1}).status_code == 200
    assert afas_sandbox.connections_accepted - before == 1


# ----------------------------------------------------------------------------- transport faults


def test_reset_sends_nothing_and_ends_with_a_tcp_reset(afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(kind="reset", times=1)
    sock = raw_get(afas_sandbox, PERSONS)
    try:
        with pytest.raises(ConnectionResetError):
            sock.recv(65536)  # a FIN first would return b"" here instead
    finally:
        sock.close()


def test_truncate_sends_half_the_announced_body_then_closes(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    whole = api.get(ORDERED_PAGE).content
    afas_sandbox.faults.add(kind="truncate", times=1)
    sock = raw_get(afas_sandbox, ORDERED_PAGE)
    try:
        received = read_to_end(sock)
    finally:
        sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"Content-Length: {len(whole)}".encode() in head.split(b"\r\n")
    assert body == whole[: len(whole) // 2]


def test_a_session_recovers_from_a_reset_on_a_new_connection(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    before = afas_sandbox.connections_accepted
    assert api.get(PERSONS, {"take": 1}).status_code == 200
    afas_sandbox.faults.add(kind="reset", times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get(PERSONS, {"take": 1})
    assert api.get(PERSONS, {"take": 1}).status_code == 200
    assert afas_sandbox.connections_accepted - before == 2


def test_stop_ends_a_slow_answer_at_once(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory()
    sandbox.faults.add(kind="slow", delay_seconds=60)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(RawClient(sandbox, sandbox.tokens.full.header).get(PERSONS).status_code)
        except requests.exceptions.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=call)
    client.start()
    deadline = time.monotonic() + WIRE_TIMEOUT_SECONDS
    while sandbox.parallel.in_flight() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.parallel.in_flight() == 1
    started = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - started < 3.0
    client.join(timeout=WIRE_TIMEOUT_SECONDS)
    assert not client.is_alive()
    assert outcome == [200]  # the answer in progress was sent before the server stopped


def test_a_port_given_is_the_port_served(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    sandbox = afas_sandbox_factory(port=free_port)
    assert sandbox.base_url == f"http://127.0.0.1:{free_port}/ProfitRestServices"
    headers = {"Authorization": sandbox.tokens.full.header}
    assert requests.get(sandbox.base_url + "/profitversion", headers=headers, timeout=30).ok


# ----------------------------------------------------------------------------- parallel calls


def test_more_requests_of_one_token_than_the_limit_get_afas_503(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory(max_parallel=2, latency=LatencyModel(fixed_ms=500))
    responses = parallel_statuses(sandbox, [sandbox.tokens.full.header] * 5)
    assert sorted(r.status_code for r in responses) == [200, 200, 503, 503, 503]
    refused = [r for r in responses if r.status_code == 503]
    assert all(r.json()["retry_after"] == 1 for r in refused)
    assert set(refused[0].json()) == {"error", "retry_after"}
    assert refused[0].json()["error"]["code"] == "503"
    assert sandbox.parallel.refused == 3
    # Slots are given back when the answers are sent: the next request is served.
    headers = {"Authorization": sandbox.tokens.full.header}
    assert requests.get(sandbox.base_url + PERSONS, headers=headers, timeout=30).status_code == 200


def test_the_limit_counts_per_token(afas_sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = afas_sandbox_factory(max_parallel=1, latency=LatencyModel(fixed_ms=500))
    tokens = sandbox.tokens
    responses = parallel_statuses(sandbox, [tokens.full.header, tokens.limited.header])
    assert [r.status_code for r in responses] == [200, 200]


def test_the_default_limit_is_eight_as_on_afas(afas_sandbox: RunningSandbox) -> None:
    assert afas_sandbox.parallel.limit == DEFAULT_MAX_PARALLEL == 8
    afas_sandbox.latency.fixed_ms = 800
    responses = parallel_statuses(afas_sandbox, [afas_sandbox.tokens.full.header] * 10)
    assert sorted(r.status_code for r in responses) == [200] * 8 + [503] * 2
    assert afas_sandbox.parallel.most_in_flight == 8


def test_zero_means_no_limit(afas_sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = afas_sandbox_factory(max_parallel=0, latency=LatencyModel(fixed_ms=300))
    responses = parallel_statuses(sandbox, [sandbox.tokens.full.header] * 12)
    assert [r.status_code for r in responses] == [200] * 12


@pytest.mark.parametrize("value", [-1, 1001, 2.5, "8", True])
def test_a_wrong_limit_is_refused_before_anything_starts(
    afas_sandbox_factory: Callable[..., RunningSandbox], value: object
) -> None:
    with pytest.raises(SandboxInputError, match="max_parallel") as refused:
        afas_sandbox_factory(max_parallel=value)
    assert refused.value.field == "max_parallel"


def test_serve_max_parallel_and_per_skipped_row_ms_from_the_command_line(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    args = ("--rows", "200", "--max-parallel", "1", "--latency-ms", "400")
    with serving(tmp_path, env, *args, "--per-skipped-row-ms", "2") as (process, url, out):
        header = header_of(full_token(out.read_text(encoding="utf-8")))
        path = "/connectors/Profit_Persons?take=1&orderbyfieldids=PersonId"
        statuses = []
        start = threading.Barrier(2)

        def call() -> None:
            start.wait()
            response = requests.get(url + path, headers={"Authorization": header}, timeout=30)
            statuses.append(response.status_code)

        callers = [threading.Thread(target=call) for _ in range(2)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(timeout=30)
        assert sorted(statuses) == [200, 503]
        started = time.monotonic()
        skipped = requests.get(
            url + path + "&skip=150", headers={"Authorization": header}, timeout=30
        )
        assert skipped.status_code == 200
        assert time.monotonic() - started >= 0.4 + 150 * 0.002
        stop(process)
    assert "ERROR" not in out.read_text(encoding="utf-8")
