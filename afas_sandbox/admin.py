"""The admin endpoint ``/_sandbox``: change the world, faults and latency of a running sandbox.

- ``GET /_sandbox``: dataset, tokens and row counts;
- ``POST /_sandbox/mutate`` ``{"connector", "inserts", "updates", "deletes", "same_second"}``;
- ``GET|POST|DELETE /_sandbox/faults`` list, add (``Fault`` keys) or clear faults;
- ``PUT /_sandbox/latency`` ``{"fixed_ms", "per_row_ms", "per_skipped_row_ms"}`` (a key left out
  is 0).

Any web page open in the user's browser could otherwise change or wipe the sandbox, so every
call must come from a loopback client (403), be addressed to a loopback name (``Host`` is
127.0.0.1, localhost or [::1], with or without port; 403, which also stops DNS rebinding) and,
when it changes something (POST, PUT, DELETE), carry ``Content-Type: application/json`` (415;
a browser cannot send that cross-origin without a CORS preflight, which the sandbox never
grants). Payloads are checked completely before anything changes: a wrong value or an unknown
key answers 400 naming the field. Every refusal is a JSON ``{"error": ...}`` body.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from afas_sandbox.inputs import (
    SandboxInputError,
    check_bool,
    check_int,
    check_keys,
    check_latency_ms,
    check_text,
)
from afas_sandbox.responses import SimResponse, json_response
from afas_sandbox.sandbox import AFASSandbox, SimRequest
from afas_sandbox.world import World

ADMIN_PREFIX = "/_sandbox"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
CHANGING_METHODS = frozenset({"POST", "PUT", "DELETE"})
JSON_MEDIA_TYPE = "application/json"
MAX_MUTATIONS = 100_000  # per call and kind; more would hold the data lock for minutes
MUTATE_KEYS = ("connector", "inserts", "updates", "deletes", "same_second")
LATENCY_KEYS = ("fixed_ms", "per_row_ms", "per_skipped_row_ms")

Handler = Callable[[AFASSandbox, World, dict[str, Any]], SimResponse]


def handle_admin(sandbox: AFASSandbox, world: World, request: SimRequest) -> SimResponse:
    if not _is_loopback(request.remote_addr):
        return _error(403, "the admin endpoint answers loopback clients only")
    host = request.header("Host")
    if _host_name(host) not in LOOPBACK_NAMES:
        return _error(
            403,
            f"the admin endpoint answers requests to 127.0.0.1, localhost or [::1] only, "
            f"not to Host {host!r}; call it through a loopback URL",
        )
    route = request.path[len(ADMIN_PREFIX) :].strip("/")
    method = request.method.upper()
    methods = ROUTES.get(route)
    if methods is None:
        return _error(404, f"no admin route {request.path!r}; routes: {', '.join(_listing())}")
    handler = methods.get(method)
    if handler is None:
        allowed = ", ".join(methods)
        response = _error(405, f"{route or '/'} takes {allowed}, not {method}")
        response.headers.append(("Allow", allowed))
        return response
    if method in CHANGING_METHODS and _media_type(request) != JSON_MEDIA_TYPE:
        return _error(
            415,
            f"admin calls that change something need Content-Type: {JSON_MEDIA_TYPE}, "
            f"not {request.header('Content-Type')!r}",
        )
    try:
        body = _json_body(request) if method in CHANGING_METHODS else {}
        return handler(sandbox, world, body)
    except SandboxInputError as exc:
        return _error(400, str(exc), field=exc.field)
    except ValueError as exc:  # World.mutate: a connector without changeable data
        return _error(400, str(exc))


def info(sandbox: AFASSandbox) -> dict[str, Any]:
    counts = {
        c.id: sandbox.store.scalar(f"SELECT count(*) FROM {c.source}")
        for c in sandbox.dataset.get_connectors
    }
    return {
        "dataset": sandbox.dataset.name,
        "tokens": {
            t.name: {"app_connector": t.app.name, "token": t.xml} for t in sandbox.tokens.values()
        },
        "row_counts": counts,
    }


def _info(sandbox: AFASSandbox, world: World, body: dict[str, Any]) -> SimResponse:
    return json_response(info(sandbox))


def _mutate(sandbox: AFASSandbox, world: World, body: dict[str, Any]) -> SimResponse:
    check_keys(body, MUTATE_KEYS, "mutate")
    connector = str(check_text("connector", body.get("connector")))
    counts = {
        name: check_int(name, body.get(name, 0), low=0, high=MAX_MUTATIONS)
        for name in ("inserts", "updates", "deletes")
    }
    same_second = check_bool("same_second", body.get("same_second", False))
    result = world.mutate(connector, **counts, same_second=same_second)
    return json_response(result.as_dict())


def _faults_listing(sandbox: AFASSandbox) -> SimResponse:
    return json_response({"faults": [asdict(f) for f in sandbox.faults.list()]})


def _list_faults(sandbox: AFASSandbox, world: World, body: dict[str, Any]) -> SimResponse:
    return _faults_listing(sandbox)


def _add_fault(sandbox: AFASSandbox, world: World, body: dict[str, Any]) -> SimResponse:
    sandbox.faults.add(**body)  # checked completely before the plan changes
    return _faults_listing(sandbox)


def _clear_faults(sandbox: AFASSandbox, world: World, body: dict[str, Any]) -> SimResponse:
    check_keys(body, (), "clear-faults")
    sandbox.faults.clear()
    return _faults_listing(sandbox)


def _set_latency(sandbox: AFASSandbox, world: World, body: dict[str, Any]) -> SimResponse:
    check_keys(body, LATENCY_KEYS, "latency")
    values = {name: check_latency_ms(name, body.get(name, 0.0)) for name in LATENCY_KEYS}
    sandbox.latency.fixed_ms = values["fixed_ms"]
    sandbox.latency.per_row_ms = values["per_row_ms"]
    sandbox.latency.per_skipped_row_ms = values["per_skipped_row_ms"]
    return json_response(asdict(sandbox.latency))


ROUTES: dict[str, dict[str, Handler]] = {
    "": {"GET": _info},
    "mutate": {"POST": _mutate},
    "faults": {"GET": _list_faults, "POST": _add_fault, "DELETE": _clear_faults},
    "latency": {"PUT": _set_latency},
}


def _listing() -> list[str]:
    return [
        f"{'|'.join(methods)} {ADMIN_PREFIX}{'/' if route else ''}{route}"
        for route, methods in ROUTES.items()
    ]


def _error(status: int, message: str, *, field: str | None = None) -> SimResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return json_response(body, status)


def _json_body(request: SimRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        value = json.loads(request.body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SandboxInputError(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SandboxInputError("the request body must be a JSON object")
    return value


def _media_type(request: SimRequest) -> str:
    return (request.header("Content-Type") or "").split(";")[0].strip().lower()


def _host_name(header: str | None) -> str | None:
    """The host part of a ``Host`` header (``[::1]:8765`` → ``::1``); None when malformed."""
    if header is None:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        name, bracket, port = value[1:].partition("]")
        if not bracket:
            return None
    else:
        name, colon, port = value.partition(":")
        port = colon + port
    if port and not (port.startswith(":") and port[1:].isdigit()):
        return None
    return name


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
