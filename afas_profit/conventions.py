"""Naming and key conventions: stream names, replication keys and primary keys.

- ``stream_name_for``: the connector id lower-cased, every run of characters other than
  ``a-z0-9`` replaced by one ``_`` (``Profit_FreeTable_K01`` → ``profit_freetable_k01``).
- Replication key: a datetime field whose id, lower-cased without ``_``, ``-`` and spaces, is
  one of ``MODIFIED_NAMES``.
- Primary key: the leading run of fields whose ids look like identifiers (end in ``id``, ``nr``,
  ``no``, ``nummer``, ``number``, ``code`` or ``key``); connectors list their key first.
"""

from __future__ import annotations

import re

from afas_profit.metainfo import GetConnectorInfo, GetField

MODIFIED_NAMES = (
    "modifieddate",
    "modified",
    "modifiedat",
    "modifiedon",
    "datemodified",
    "lastmodified",
    "lastmodifieddate",
    "gewijzigd",
    "gewijzigdop",
    "datumgewijzigd",
    "datumtijdgewijzigd",
    "mutatiedatum",
    "datummutatie",
    "datumwijziging",
    "wijzigingsdatum",
    "laatstgewijzigd",
)
_KEY_SUFFIX = re.compile(r"(id|nr|no|nummer|number|code|key)$", re.I)
_NON_NAME = re.compile(r"[^a-z0-9]+")


def stream_name_for(connector_id: str) -> str:
    name = _NON_NAME.sub("_", connector_id.lower()).strip("_")
    return name or "connector"


def _normalised(field_id: str) -> str:
    return re.sub(r"[\s_\-]", "", field_id).lower()


def detect_replication_key(connector: GetConnectorInfo) -> str | None:
    """The modified-date field of a connector, or None (then the stream syncs full-table)."""
    candidates = [f for f in connector.fields if f.data_type == "date" and not f.is_date]
    for name in MODIFIED_NAMES:
        for field in candidates:
            if _normalised(field.id) == name and not field.is_time:
                return field.id
    return None


def _looks_like_key(field: GetField) -> bool:
    return field.data_type in ("string", "int", "long") and bool(_KEY_SUFFIX.search(field.id))


def guess_primary_keys(connector: GetConnectorInfo) -> list[str]:
    keys: list[str] = []
    for field in connector.fields:
        if not _looks_like_key(field):
            break
        keys.append(field.id)
    return keys
