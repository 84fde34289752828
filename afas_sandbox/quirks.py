"""Behaviour AFAS leaves undocumented or contradictory, made switchable per sandbox.

The notes (afas-rest-api.md section 12) list what nobody has verified against a real Profit
environment. The sandbox picks one answer for each (the default, first in the table) and lets
a test, a demo or a user pick another: ``start_sandbox(quirks={"put_status": "200"})`` or
``afas-sandbox serve --quirk put_status=200`` (repeat ``--quirk`` for more). A client that
copes with every value copes with AFAS whichever it turns out to be.

| quirk                    | values (default first)       | what it decides                        |
|--------------------------|------------------------------|----------------------------------------|
| `language`               | `nl`, `en`                   | messages when Accept-Language asks for |
|                          |                              | neither `nl…` nor `en…` [1]            |
| `unauthorized_connector` | `401-body`, `401-empty`,     | a connector the App Connector lacks or |
|                          | `500`                        | that does not exist [2]                |
| `put_status`             | `201`, `200`                 | a PUT that succeeded [3]               |
| `multi_element_result`   | `array`, `first`, `last`,    | a POST/PUT whose Element is an array   |
|                          | `none`                       | [4]                                    |
| `take_zero`              | `one-row`, `no-rows`,        | `take=0` on a GetConnector [5]         |
|                          | `error`                      |                                        |
| `delete_key_prefix`      | `both`, `at`, `bare`         | `@` before DELETE URL key fields [6]   |
| `filter_z`               | `refuse`, `ignore`,          | a date filter value ending in `Z` [7]  |
|                          | `no-match`                   |                                        |
| `memo_type`              | `string`, `blob`             | the metainfo dataType of memo fields   |
|                          |                              | (long texts) [8]                       |

[1] AFAS environments are Dutch; the header sets the language of messages (notes section 2).
[2] Get- and UpdateConnectors (metainfo, data, writes) and the SubjectConnector. AFAS's help
    page "API-responses bij connectoren" says 401; its troubleshooting page gives the message
    "… not supported for this app or the user is not authorized" (errorNumber -2147180996);
    its OpenAPI 401 has ``Content-Length: 0``. ``401-body``: 401 with that AFAS error body;
    ``401-empty``: 401, no body; ``500``: the error body as a 500.
[3] AFAS's OpenAPI lists 201 with ``results``; the help page says 200 is "executed" and 201
    "executed, with a body"; clients model a PUT as 200 without a body. ``200``: 200, no body.
[4] Undocumented. ``array``: ``results`` holds one key set per element; ``first`` / ``last``:
    only that element's key set; ``none``: 200 without a body.
[5] One row was seen in 2017 (PracticalAfas); ``no-rows``: an empty page (take echoed 0);
    ``error``: the 500 "unexpected error".
[6] AFAS's OpenAPI writes ``/KnSubject/KnSubject/@SbId/1``, its how-to ``…/SbId/1``. ``at`` or
    ``bare`` accept only that form; the other is an unknown field (500).
[7] AFAS prints dates with a ``Z`` and clients strip it from filters; AFAS's reaction is
    unknown (notes sections 3.2 and 12): a 500 (``refuse``), the ``Z`` dropped (``ignore``),
    or the condition true for no row (``no-match``).
[8] Memo fields (a dossier item's "Toelichting", a contact's "Opmerking") hold several lines of
    plain text. The sandbox describes them as ``string`` with length 0; AFAS's OpenAPI renders
    them as ``format: byte``, as it does real files, so Profit's metainfo may call them
    ``blob``. ``blob`` describes them so (in get and update metainfo); the data stays text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from afas_sandbox.filters import Condition, Filter
from afas_sandbox.inputs import SandboxInputError, shown
from afas_sandbox.model import GetConnectorDef

CHOICES: dict[str, tuple[str, ...]] = {
    "language": ("nl", "en"),
    "unauthorized_connector": ("401-body", "401-empty", "500"),
    "put_status": ("201", "200"),
    "multi_element_result": ("array", "first", "last", "none"),
    "take_zero": ("one-row", "no-rows", "error"),
    "delete_key_prefix": ("both", "at", "bare"),
    "filter_z": ("refuse", "ignore", "no-match"),
    "memo_type": ("string", "blob"),
}


@dataclass(frozen=True, slots=True)
class Quirks:
    """One value per quirk (see the module docstring); the defaults are the sandbox's choice."""

    language: str = "nl"
    unauthorized_connector: str = "401-body"
    put_status: str = "201"
    multi_element_result: str = "array"
    take_zero: str = "one-row"
    delete_key_prefix: str = "both"
    filter_z: str = "refuse"
    memo_type: str = "string"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | Quirks | None) -> Quirks:
        """Quirks from ``{name: value}``; an unknown name or value raises SandboxInputError."""
        if settings is None:
            return cls()
        if isinstance(settings, Quirks):
            return settings
        if not isinstance(settings, Mapping):
            raise SandboxInputError(
                f"quirks must be a mapping of quirk names to values, got {shown(settings)}",
                field="quirks",
            )
        values: dict[str, str] = {}
        for name, value in settings.items():
            choices = CHOICES.get(str(name))
            if choices is None:
                raise SandboxInputError(
                    f"unknown quirk {shown(name)}; known quirks: {', '.join(CHOICES)}",
                    field="quirks",
                )
            text = str(value) if isinstance(value, (str, int)) and value is not True else None
            if text not in choices:
                raise SandboxInputError(
                    f"quirk {name} must be one of {', '.join(choices)}, got {shown(value)}",
                    field=str(name),
                )
            values[str(name)] = text
        return replace(cls(), **values)

    def as_dict(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["put_status=200", …]`` (the CLI's ``--quirk NAME=VALUE``) as a mapping, checked."""
    settings: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SandboxInputError(
                f"--quirk {shown(item)} is not NAME=VALUE; for example --quirk put_status=200 "
                f"(quirks: {', '.join(CHOICES)})",
                field="quirk",
            )
        settings[name.strip()] = value.strip()
    Quirks.from_settings(settings)
    return settings


def filter_with_z(where: Filter, connector: GetConnectorDef, mode: str) -> Filter | None:
    """``where`` as the ``filter_z`` quirk reads it; ``None`` when no row can match.

    ``refuse`` leaves the ``Z`` for the query to refuse; ``ignore`` drops it; ``no-match``
    makes each condition with it false, so its AND-group matches nothing.
    """
    if mode == "refuse":
        return where
    kept: Filter = []
    for group in where:
        if mode == "ignore":
            kept.append([_without_z(c, connector) for c in group])
        elif not any(_has_z(c, connector) for c in group):
            kept.append(group)
    return kept if kept or not where else None


def _has_z(condition: Condition, connector: GetConnectorDef) -> bool:
    field = connector.field(condition.field_id)
    return (
        field is not None
        and field.data_type == "date"
        and condition.operator not in (8, 9)  # "is (not) empty" ignore their value
        and (condition.value or "").strip().upper().endswith("Z")
    )


def _without_z(condition: Condition, connector: GetConnectorDef) -> Condition:
    if not _has_z(condition, connector):
        return condition
    value = (condition.value or "").strip()[:-1]
    return Condition(condition.field_id, condition.operator, value)


def memo_as_blob(metainfo: dict[str, Any]) -> dict[str, Any]:
    """A metainfo document with its memo fields (string, length 0) described as ``blob``."""
    fields_ = [
        {**f, "dataType": "blob"} if f.get("dataType") == "string" and f.get("length") == 0 else f
        for f in metainfo.get("fields", [])
    ]
    objects = [memo_as_blob(o) for o in metainfo.get("objects", [])]
    return {
        **metainfo,
        "fields": fields_,
        **({"objects": objects} if "objects" in metainfo else {}),
    }
