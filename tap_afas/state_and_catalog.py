"""What a tap-afas ``--state`` and ``--catalog`` file must look like, checked before the sync.

A state holds per stream the SDK's ``replication_key_value`` (a UTC date-time: every
replication key of this tap is a modified-date field) and the tap's resume points
``afas_progress`` / ``afas_deletes_progress`` (``lo``: a local wall-clock time, ``seen``: counts
of emitted rows by shown value and row hash; see afas_profit/cursor.py). A corrupt value would
otherwise crash the sync or, worse, silently restart it; it is refused with the bookmark's path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from afas_profit.errors import AFASConfigError
from tap_afas.input_files import check_against, parse_json_object, where

STATE_HINT = (
    "Fix that bookmark, or delete it (the stream then syncs again from start_date) or the whole "
    "state file."
)
STATE_FILE_HINT = (
    "Fix it (it is the value of the last STATE message a run wrote), or leave --state out to "
    "sync every stream from start_date."
)
CATALOG_HINT = "Write a catalog with 'tap-afas --discover' and select streams in its metadata."

_PROGRESS: dict[str, Any] = {
    "type": "object",
    "required": ["lo"],
    "properties": {
        "lo": {"type": "string"},
        "seen": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
        "empty_pending": {"type": "boolean"},
    },
}
PROGRESS_KEYS = ("afas_progress", "afas_deletes_progress")

STATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "bookmarks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "replication_key": {"type": ["string", "null"]},
                    "replication_key_value": {"type": ["string", "null"]},
                    "partitions": {"type": "array", "items": {"type": "object"}},
                    "progress_markers": {"type": "object"},
                    **dict.fromkeys(PROGRESS_KEYS, _PROGRESS),
                },
            },
        }
    },
}

CATALOG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["streams"],
    "properties": {
        "streams": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tap_stream_id", "schema"],
                "properties": {
                    "tap_stream_id": {"type": "string", "minLength": 1},
                    "stream": {"type": "string"},
                    "schema": {"type": "object"},
                    "key_properties": {"type": ["array", "null"], "items": {"type": "string"}},
                    "replication_key": {"type": ["string", "null"]},
                    "replication_method": {
                        "type": ["string", "null"],
                        "enum": ["FULL_TABLE", "INCREMENTAL", "LOG_BASED", None],
                    },
                    "metadata": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["breadcrumb", "metadata"],
                            "properties": {
                                "breadcrumb": {"type": "array", "items": {"type": "string"}},
                                "metadata": {"type": "object"},
                            },
                        },
                    },
                },
            },
        }
    },
}


def check_state(text: str) -> None:
    """Refuse a ``--state`` file this tap cannot resume from, naming the bookmark."""
    state = parse_json_object(text, "--state file", STATE_FILE_HINT)
    check_against(state, STATE_SCHEMA, "The --state file's", STATE_HINT)
    for stream, bookmark in (state.get("bookmarks") or {}).items():
        value = bookmark.get("replication_key_value")
        if value is not None and not _is_date_time(value):
            _refuse(
                ["bookmarks", stream, "replication_key_value"],
                value,
                "not a date-time (e.g. 2026-01-31T10:00:00+00:00)",
            )
        for key in PROGRESS_KEYS:
            progress = bookmark.get(key)
            if progress is not None and not _is_date_time(progress["lo"][:19]):
                _refuse(
                    ["bookmarks", stream, key, "lo"],
                    progress["lo"],
                    "not a date-time (e.g. 2026-01-31T10:00:00, AFAS's local time)",
                )


def check_catalog(text: str) -> None:
    """Refuse a ``--catalog`` file the SDK cannot read, naming the entry."""
    catalog = parse_json_object(text, "--catalog file", CATALOG_HINT)
    check_against(catalog, CATALOG_SCHEMA, "The --catalog file's", CATALOG_HINT)


def _is_date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _refuse(path: list[Any], value: Any, problem: str) -> None:
    raise AFASConfigError(
        f"The --state file's {where(path)!r} is {str(value)[:60]!r}, {problem}. {STATE_HINT}"
    )
