"""AFAS metainfo parsed into typed values: ``/metainfo`` and ``/metainfo/get/{id}``.

Only this module looks at raw metainfo JSON; past it everything is typed
(afas-rest-api.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from afas_profit.errors import AFASRequestError

DATA_TYPES = ("string", "int", "decimal", "date", "boolean", "blob", "long")
CONTROL_DATE = 4
CONTROL_TIME = 7
CONTROL_DATETIME = 8


@dataclass(frozen=True, slots=True)
class ConnectorRef:
    id: str
    description: str


@dataclass(frozen=True, slots=True)
class EnvironmentInfo:
    """``/metainfo``: the connectors the token's App Connector offers."""

    get_connectors: tuple[ConnectorRef, ...]
    update_connectors: tuple[ConnectorRef, ...]
    app_name: str
    environment_id: str


@dataclass(frozen=True, slots=True)
class GetField:
    """One GetConnector field (``id`` is the name in rows, filters and ordering)."""

    id: str
    field_id: str
    data_type: str
    label: str
    length: int
    control_type: int
    decimals: int

    @property
    def is_datetime(self) -> bool:
        return self.data_type == "date" and self.control_type not in (CONTROL_DATE, CONTROL_TIME)

    @property
    def is_date(self) -> bool:
        return self.data_type == "date" and self.control_type == CONTROL_DATE

    @property
    def is_time(self) -> bool:
        return self.data_type == "date" and self.control_type == CONTROL_TIME


@dataclass(frozen=True, slots=True)
class GetConnectorInfo:
    """``/metainfo/get/{id}``."""

    id: str
    description: str
    fields: tuple[GetField, ...]

    def field(self, field_id: str) -> GetField | None:
        for f in self.fields:
            if f.id == field_id:
                return f
        return None


def _refs(items: Any) -> tuple[ConnectorRef, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        ConnectorRef(str(i["id"]), str(i.get("description") or ""))
        for i in items
        if isinstance(i, dict) and "id" in i
    )


def parse_environment(document: Any) -> EnvironmentInfo:
    if not isinstance(document, dict):
        raise AFASRequestError("/metainfo did not answer with a JSON object")
    raw_info = document.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    return EnvironmentInfo(
        get_connectors=_refs(document.get("getConnectors")),
        update_connectors=_refs(document.get("updateConnectors")),
        app_name=str(info.get("appName") or ""),
        environment_id=str(info.get("envid") or ""),
    )


def parse_get_connector(connector_id: str, document: Any) -> GetConnectorInfo:
    """Parse ``/metainfo/get/{id}``; duplicate field ids are refused loudly."""
    if not isinstance(document, dict) or not isinstance(document.get("fields"), list):
        raise AFASRequestError(f"/metainfo/get/{connector_id} has no 'fields' list")
    fields: list[GetField] = []
    seen: set[str] = set()
    for raw in document["fields"]:
        field_id = str(raw.get("id") or "")
        if not field_id:
            raise AFASRequestError(f"/metainfo/get/{connector_id} has a field without 'id'")
        if field_id in seen:
            raise AFASRequestError(
                f"GetConnector {connector_id!r} has the field id {field_id!r} twice; rename one "
                "of them in the GetConnector definition in Profit."
            )
        seen.add(field_id)
        fields.append(
            GetField(
                id=field_id,
                field_id=str(raw.get("fieldId") or ""),
                data_type=str(raw.get("dataType") or "string"),
                label=str(raw.get("label") or field_id),
                length=int(raw.get("length") or 0),
                control_type=int(raw.get("controlType") or 0),
                decimals=int(raw.get("decimals") or 0),
            )
        )
    return GetConnectorInfo(
        id=str(document.get("name") or connector_id),
        description=str(document.get("description") or ""),
        fields=tuple(fields),
    )
