"""The admin endpoint ``/_sandbox``: change the world, faults and latency of a running sandbox.

Loopback clients only (403 otherwise), even when the server listens on another address.
- ``GET /_sandbox``: dataset, tokens and row counts;
- ``POST /_sandbox/mutate`` ``{"connector", "inserts", "updates", "deletes", "same_second"}``;
- ``GET|POST|DELETE /_sandbox/faults`` list, add (``Fault`` keys) or clear faults;
- ``PUT /_sandbox/latency`` ``{"fixed_ms", "per_row_ms"}``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict
from typing import Any

from afas_sandbox.responses import SimResponse, json_response, not_found
from afas_sandbox.sandbox import AFASSandbox, SimRequest
from afas_sandbox.world import World

ADMIN_PREFIX = "/_sandbox"


def handle_admin(sandbox: AFASSandbox, world: World, request: SimRequest) -> SimResponse:
    if not _is_loopback(request.remote_addr):
        return json_response({"error": "the admin endpoint answers loopback clients only"}, 403)
    route = request.path[len(ADMIN_PREFIX) :].strip("/")
    method = request.method.upper()
    try:
        body = _json_body(request)
        if route == "" and method == "GET":
            return json_response(info(sandbox))
        if route == "mutate" and method == "POST":
            result = world.mutate(
                str(body.get("connector", "")),
                inserts=int(body.get("inserts", 0)),
                updates=int(body.get("updates", 0)),
                deletes=int(body.get("deletes", 0)),
                same_second=bool(body.get("same_second", False)),
            )
            return json_response(result.as_dict())
        if route == "faults":
            if method == "POST":
                sandbox.faults.add(**body)
            elif method == "DELETE":
                sandbox.faults.clear()
            elif method != "GET":
                return not_found()
            return json_response({"faults": [asdict(f) for f in sandbox.faults.list()]})
        if route == "latency" and method == "PUT":
            sandbox.latency.fixed_ms = float(body.get("fixed_ms", 0.0))
            sandbox.latency.per_row_ms = float(body.get("per_row_ms", 0.0))
            return json_response(asdict(sandbox.latency))
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)
    return not_found()


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


def _json_body(request: SimRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    value = json.loads(request.body)
    if not isinstance(value, dict):
        raise ValueError("the request body must be a JSON object")
    return value


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
