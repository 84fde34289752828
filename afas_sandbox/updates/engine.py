"""Run one UpdateConnector request as one transaction (afas-rest-api.md sections 6.1-6.6).

POST inserts, PUT updates, ``@Action`` overrides per element. ``POST /connectors/{id}/{Sub}``
(a sub-object URL such as ``KnOrganisation/KnContact``) updates the root element, found by
the key its body carries, and inserts the ``{Sub}`` elements in it ("update main record and
insert subrecord", AFAS's OpenAPI). DELETE takes its keys from the URL, with or without ``@``
before the key fields (quirk ``delete_key_prefix``), composite keys comma-separated, and nested
objects appended after their parent's keys. Any rejected element rolls back the whole body and
answers 500 with an ``externalMessage``; success is 201 ``{"results": {<root>: {...}}}`` (for
an ``Element`` array: quirk ``multi_element_result``; for PUT: quirk ``put_status``), and 200
with an empty body for DELETE. Messages are in the request's language (messages.py).
Numbers in a body are read as ``Decimal`` (numbers.py): a decimal lands with every digit or
not at all, and NaN, Infinity or a huge exponent is refused with the 500 body, like any value
that does not fit its field.
"""

from __future__ import annotations

from typing import Any

from afas_sandbox.messages import message
from afas_sandbox.model import UpdateConnectorDef
from afas_sandbox.quirks import Quirks
from afas_sandbox.responses import (
    ERROR_NOT_AUTHORIZED,
    ERROR_VALIDATION,
    SimResponse,
    afas_error,
    json_response,
)
from afas_sandbox.store import Store
from afas_sandbox.updates.elements import Validator
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
    quirks: Quirks,
    sub_object: str | None = None,
) -> SimResponse:
    """Validate and apply a POST or PUT body (``sub_object``: the URL's sub-object, POST only)."""
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
        if sub_object is None:
            elements = validator.parse_body(connector, document, VERB_ACTIONS[verb])
        else:
            elements = validator.parse_body(connector, document, "update", insert_into=sub_object)
        with store.transaction() as conn:
            ctx = WriteContext(conn=conn, stamp=stamp, user=user, language=language)
            results = [_apply(ctx, writer, element) for element in elements]
    except UpdateRejectedError as exc:
        return afas_error(exc.text, number=exc.number or ERROR_VALIDATION)
    several = isinstance(document[connector.root.name]["Element"], list)
    return _written(verb, connector.root.name, results, several=several, quirks=quirks)


def _written(
    verb: str, root: str, results: list[dict[str, str]], *, several: bool, quirks: Quirks
) -> SimResponse:
    """The success answer, shaped by the ``put_status`` and ``multi_element_result`` quirks."""
    if verb == "PUT" and quirks.put_status == "200":
        return SimResponse(status=200, content_type=None)
    result: Any = results[0]
    if several:
        shape = quirks.multi_element_result
        if shape == "none":
            return SimResponse(status=200, content_type=None)
        result = {"array": results, "first": results[0], "last": results[-1]}[shape]
    return json_response({"results": {root: result}}, status=201)


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
    quirks: Quirks,
) -> SimResponse:
    """Apply ``DELETE /connectors/{id}/{Object}/{keys}/{values}[/{Sub}/{keys}/{values}…]``."""
    if "DELETE" not in connector.verbs:
        return afas_error(
            message("verb_not_supported", language, verb="DELETE"), number=ERROR_NOT_AUTHORIZED
        )
    try:
        target = parse_delete_path(connector, segments, language, quirks.delete_key_prefix)
        with store.transaction() as conn:
            writer.delete(
                WriteContext(conn=conn, stamp=stamp, user=user, language=language), target
            )
    except UpdateRejectedError as exc:
        return afas_error(exc.text, number=exc.number or ERROR_VALIDATION)
    return SimResponse(status=200, content_type=None)


def parse_delete_path(
    connector: UpdateConnectorDef, segments: list[str], language: str, prefix: str = "both"
) -> DeleteTarget:
    """Turn the URL segments after the connector id into object names with key values.

    ``prefix`` (quirk ``delete_key_prefix``): ``both`` accepts ``@SbId`` and ``SbId``, ``at``
    only ``@SbId`` and ``bare`` only ``SbId``; the other form is an unknown field.
    """
    if not segments or len(segments) % 3 != 0:
        raise UpdateRejectedError(message("unexpected", language))
    path: list[tuple[str, dict[str, str]]] = []
    obj = None
    for i in range(0, len(segments), 3):
        name, key_text, value_text = segments[i : i + 3]
        obj = connector.root if obj is None else obj.object(name)
        if obj is None or obj.name != name:
            parent = path[-1][0] if path else connector.id
            raise UpdateRejectedError(message("unknown_object", language, name=name, object=parent))
        keys = [k.strip() for k in key_text.split(",")]
        values = value_text.split(",")
        if len(keys) != len(values):
            raise UpdateRejectedError(message("unexpected", language))
        for key in keys:
            refused = (prefix == "at" and not key.startswith("@")) or (
                prefix == "bare" and key.startswith("@")
            )
            if refused or obj.field(key.removeprefix("@")) is None:
                shown = key if refused else key.removeprefix("@")
                raise UpdateRejectedError(
                    message("unknown_field", language, field=shown, object=obj.name)
                )
        key_fields = [k.removeprefix("@") for k in keys]
        path.append((obj.name, dict(zip(key_fields, values, strict=True))))
    return DeleteTarget(tuple(path))
