"""Run one UpdateConnector request as one transaction (afas-rest-api.md sections 6.1-6.6).

POST inserts, PUT updates, ``@Action`` overrides per element; DELETE takes its keys from the URL,
with or without ``@`` before the key fields, composite keys comma-separated, and nested
objects appended after their parent's keys. Any rejected element rolls back the whole body and
answers 500 with an ``externalMessage``; success is 201 ``{"results": {<root>: {...}}}`` (an
array of key sets when ``Element`` was an array), and 200 with an empty body for DELETE.
Numbers in a body are read as ``Decimal`` (numbers.py): a decimal lands with every digit or
not at all, and NaN, Infinity or a huge exponent is refused with the 500 body, like any value
that does not fit its field.
"""

from __future__ import annotations

from typing import Any

from afas_sandbox.model import UpdateConnectorDef
from afas_sandbox.responses import (
    ERROR_NOT_AUTHORIZED,
    ERROR_VALIDATION,
    SimResponse,
    afas_error,
    json_response,
)
from afas_sandbox.store import Store
from afas_sandbox.updates.elements import Validator
from afas_sandbox.updates.messages import message
from afas_sandbox.updates.numbers import read_body
from afas_sandbox.updates.writer import (
    DeleteTarget,
    Element,
    UpdateRejectedError,
    UpdateWriter,
    WriteContext,
)

VERB_ACTIONS = {"POST": "insert", "PUT": "update"}


def run_write(
    store: Store,
    connector: UpdateConnectorDef,
    writer: UpdateWriter,
    *,
    verb: str,
    body: bytes,
    stamp: str,
    user: str,
    language: str,
) -> SimResponse:
    """Validate and apply a POST or PUT body."""
    if verb not in connector.verbs:
        return afas_error(
            message("verb_not_supported", language, verb=verb), number=ERROR_NOT_AUTHORIZED
        )
    try:
        document = read_body(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return json_response({"message": "Invalid json"}, status=400)
    validator = Validator(language)
    try:
        elements = validator.parse_body(connector, document, VERB_ACTIONS[verb])
        with store.transaction() as conn:
            ctx = WriteContext(conn=conn, stamp=stamp, user=user, language=language)
            results = [_apply(ctx, writer, element) for element in elements]
    except UpdateRejectedError as exc:
        return afas_error(exc.text, number=exc.number or ERROR_VALIDATION)
    root_body = document[connector.root.name]["Element"]
    result: Any = results if isinstance(root_body, list) else results[0]
    return json_response({"results": {connector.root.name: result}}, status=201)


def _apply(ctx: WriteContext, writer: UpdateWriter, element: Element) -> dict[str, str]:
    if element.action == "insert":
        return writer.insert(ctx, element)
    if element.action == "update":
        return writer.update(ctx, element)
    keys = {k: _as_text(v) for k, v in element.keys.items()}
    writer.delete(ctx, DeleteTarget(((element.obj.name, keys),)))
    return {}


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def run_delete(
    store: Store,
    connector: UpdateConnectorDef,
    writer: UpdateWriter,
    *,
    segments: list[str],
    stamp: str,
    user: str,
    language: str,
) -> SimResponse:
    """Apply ``DELETE /connectors/{id}/{Object}/{keys}/{values}[/{Sub}/{keys}/{values}…]``."""
    if "DELETE" not in connector.verbs:
        return afas_error(
            message("verb_not_supported", language, verb="DELETE"), number=ERROR_NOT_AUTHORIZED
        )
    try:
        target = parse_delete_path(connector, segments, language)
        with store.transaction() as conn:
            writer.delete(
                WriteContext(conn=conn, stamp=stamp, user=user, language=language), target
            )
    except UpdateRejectedError as exc:
        return afas_error(exc.text, number=exc.number or ERROR_VALIDATION)
    return SimResponse(status=200, content_type=None)


def parse_delete_path(
    connector: UpdateConnectorDef, segments: list[str], language: str
) -> DeleteTarget:
    """Turn the URL segments after the connector id into object names with key values."""
    if not segments or len(segments) % 3 != 0:
        raise UpdateRejectedError(
            "An unexpected error has occurred.",
        )
    path: list[tuple[str, dict[str, str]]] = []
    obj = None
    for i in range(0, len(segments), 3):
        name, key_text, value_text = segments[i : i + 3]
        obj = connector.root if obj is None else obj.object(name)
        if obj is None or obj.name != name:
            parent = path[-1][0] if path else connector.id
            raise UpdateRejectedError(message("unknown_object", language, name=name, object=parent))
        key_fields = [k.strip().removeprefix("@") for k in key_text.split(",")]
        values = value_text.split(",")
        if len(key_fields) != len(values):
            raise UpdateRejectedError("An unexpected error has occurred.")
        for key in key_fields:
            if obj.field(key) is None:
                raise UpdateRejectedError(
                    message("unknown_field", language, field=key, object=obj.name)
                )
        path.append((obj.name, dict(zip(key_fields, values, strict=True))))
    return DeleteTarget(tuple(path))
