"""Hand-written AFAS metainfo pieces shared by the unit tests (no network)."""

from __future__ import annotations

from typing import Any


def raw_update_field(
    field_id: str, data_type: str = "string", *, label: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A field as AFAS writes it in ``/metainfo/update`` (every documented key present)."""
    raw: dict[str, Any] = {
        "fieldId": field_id,
        "primaryKey": False,
        "dataType": data_type,
        "label": f"L{field_id}" if label is None else label,
        "mandatory": False,
        "length": 0,
        "decimals": 0,
        "decimalFieldId": "",
        "notzero": False,
        "controlType": 1,
        "values": None,
    }
    raw.update(extra)
    return raw
