"""The tap's settings: declared once (JSON Schema for ``--about`` and Meltano) and parsed once.

``TapSettings.from_config`` turns the validated config into a frozen object; nothing else in
the tap reads ``self.config``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.client import DEFAULT_PARALLEL_REQUESTS, MAX_PARALLEL_REQUESTS
from afas_profit.environment import ACCEPT_LANGUAGES, ProfitEnvironment
from afas_profit.errors import AFASConfigError
from afas_profit.filters import OPERATOR_NAMES, Condition, parse_filter_setting
from afas_profit.metainfo import ConnectorRef, GetConnectorInfo
from afas_profit.settings import environment_schema, zone_from_setting
from tap_afas.deletes import DeletedRecordsLog
from tap_afas.file_settings import DownloadSettings, file_properties
from tap_afas.key_snapshots import KeyComparison

PAGE_CELLS = 150_000  # AFAS: fields x rows per page below 150,000 (afas-rest-api.md 3.3)
MIN_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
DEFAULT_ZONE = "Europe/Amsterdam"
MAX_REQUEST_TIMEOUT_SECONDS = 1800  # AFAS itself stops a request after 900 s (section 7)
EARLIEST_START_YEAR = 1900  # the tap's first window starts in 1900
LATEST_START_YEAR = 9998  # a window end a year later must still be a datetime
_GLOB_CHARACTERS = "*?["


def _tap_properties() -> dict[str, dict[str, Any]]:
    return {
        "connectors": {
            "type": ["array", "null"],
            "items": {"type": "string", "minLength": 1},
            "title": "GetConnectors",
            "description": (
                "GetConnector ids or glob patterns to sync (e.g. Profit_Employees, Profit_*). "
                "Default: every GetConnector the token's App Connector offers (/metainfo)."
            ),
        },
        "exclude_connectors": {
            "type": ["array", "null"],
            "items": {"type": "string", "minLength": 1},
            "title": "Excluded GetConnectors",
            "description": "GetConnector ids or glob patterns to leave out.",
        },
        "start_date": {
            "type": ["string", "null"],
            "format": "date-time",
            "title": "Start date",
            "description": (
                "Only rows modified at or after this moment (ISO 8601; without a zone it is "
                "UTC) on the first sync of an incremental stream. Default: all history."
            ),
        },
        "page_size": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": PAGE_CELLS,
            "title": "Page size",
            "description": (
                "Rows per request (1 to 150,000). Default: 150,000 divided by the connector's "
                f"number of fields (AFAS's guidance), between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}; "
                "parallel incremental reads start at a quarter of it and grow to it where "
                "AFAS's latency makes big pages pay. A set page_size is used as is."
            ),
        },
        "max_parallel_requests": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_PARALLEL_REQUESTS,
            "default": DEFAULT_PARALLEL_REQUESTS,
            "title": "Parallel requests",
            "description": (
                "Requests in flight at once for the whole tap (AFAS allows at most "
                f"{MAX_PARALLEL_REQUESTS} per environment). A connector's window is read in pieces "
                "by this many requests at a time; records still leave in order. 1: one request at "
                "a time."
            ),
        },
        "request_timeout": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_REQUEST_TIMEOUT_SECONDS,
            "default": 300,
            "title": "Request timeout",
            "description": (
                "Seconds to wait for one AFAS response before retrying (at most "
                f"{MAX_REQUEST_TIMEOUT_SECONDS}; AFAS stops a request after 900)."
            ),
        },
        "replication_keys": {
            "type": ["object", "null"],
            "additionalProperties": {"type": ["string", "null"]},
            "title": "Replication key per connector",
            "description": (
                "Override the detected modified-date field per GetConnector id, e.g. "
                '{"Profit_Debtors": "DatumGewijzigd"}; "" or null syncs that connector full-table.'
            ),
        },
        "primary_keys": {
            "type": ["object", "null"],
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "title": "Primary key per connector",
            "description": (
                "Key fields per GetConnector id (a unique combination), e.g. "
                '{"Profit_Transactions": ["UnitId", "EntryNo", "SeqNo"]}. Default: the leading '
                "fields whose names end in Id, Nr, No, Nummer, Number, Code or Key."
            ),
        },
        "filters": {
            "type": ["object", "null"],
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "operator": {"type": ["string", "integer"]},
                        "value": {"type": ["string", "number", "boolean", "null"]},
                    },
                    "required": ["field", "operator"],
                },
            },
            "title": "Extra filters per connector",
            "description": (
                "Server-side filters added to every request of a GetConnector (AND-ed), e.g. "
                '{"Profit_Transactions": [{"field": "UnitId", "operator": "=", "value": "1"}]}. '
                f"Operators: {', '.join(OPERATOR_NAMES)} or AFAS numbers 1-15."
            ),
        },
        "timezone": {
            "type": ["string", "null"],
            "default": DEFAULT_ZONE,
            "title": "Environment time zone",
            "description": (
                "The zone AFAS writes its (falsely 'Z'-suffixed) times in; they become UTC in "
                "records and bookmarks."
            ),
        },
        "deleted_records_log": {
            "type": ["object", "null"],
            "properties": {
                "connector": {
                    "type": "string",
                    "description": "The log GetConnector, e.g. Profit_Deleted_Records.",
                },
                "entity_field": {
                    "type": "string",
                    "description": "Log field naming the table of the deleted row (default Tabel).",
                },
                "key_field": {
                    "type": "string",
                    "description": "Log field with the deleted row's key (default Sleutel).",
                },
                "date_field": {
                    "type": "string",
                    "description": "Log field with the deletion time (default Datum_mutatie).",
                },
                "key_separator": {
                    "type": "string",
                    "description": "Separator of composite key values in key_field (default ,).",
                },
                "entities": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "GetConnector id -> the entity_field value of its rows.",
                },
            },
            "title": "Deleted-records log",
            "description": (
                "Emit deletes (_sdc_deleted_at) from a GetConnector on a Profit deleted-records "
                'log, e.g. {"connector": "Profit_Deleted_Records", "entities": '
                '{"Profit_Persons": "Persoon"}}; optional entity_field (default Tabel), key_field '
                "(Sleutel), date_field (Datum_mutatie), key_separator (,) for composite keys."
            ),
        },
        "key_comparison_deletes": {
            "type": ["object", "null"],
            "properties": {
                "connectors": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "GetConnector ids or glob patterns to compare keys for.",
                },
                "snapshot_dir": {
                    "type": "string",
                    "description": "Directory for the key snapshots (.tap-afas/key-snapshots).",
                },
            },
            "title": "Deletes by key comparison",
            "description": (
                "Opt-in fallback for connectors without a deleted-records log: after each sync "
                "read all keys of these GetConnectors (ids or globs) and emit deletes "
                "(_sdc_deleted_at) for keys gone since the last run; key sets are kept in "
                "SQLite files under snapshot_dir (default .tap-afas/key-snapshots). Reads the "
                "whole connector: schedule it less often."
            ),
        },
        "accept_language": {
            "type": ["string", "null"],
            "enum": [*ACCEPT_LANGUAGES, None],
            "title": "Accept-Language",
            "description": "Language of AFAS's labels and messages (default: the environment's).",
        },
    }


def tap_config_schema() -> dict[str, Any]:
    schema = environment_schema()
    schema["properties"].update(_tap_properties())
    schema["properties"].update(file_properties())
    return schema


@dataclass(frozen=True, slots=True)
class ConnectorPlan:
    """What the tap knows about one connector from the settings."""

    replication_key: str | None
    replication_key_set: bool
    primary_keys: tuple[str, ...] | None
    filters: tuple[Condition, ...]


@dataclass(frozen=True)
class TapSettings:
    environment: ProfitEnvironment = field(repr=False)
    connectors: tuple[str, ...] | None
    exclude_connectors: tuple[str, ...]
    start_date: datetime | None
    page_size: int | None
    zone: ZoneInfo
    max_parallel_requests: int
    replication_keys: Mapping[str, str | None]
    primary_keys: Mapping[str, tuple[str, ...]]
    filters: Mapping[str, tuple[Condition, ...]]
    deleted_records_log: DeletedRecordsLog | None = None
    key_comparison: KeyComparison | None = None
    downloads: DownloadSettings | None = None  # the file streams (tap_afas/file_settings.py)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TapSettings:
        zone = zone_from_setting(config.get("timezone"), DEFAULT_ZONE)
        filters = config.get("filters") or {}
        return cls(
            environment=ProfitEnvironment.from_config(config),
            connectors=tuple(config["connectors"]) if config.get("connectors") else None,
            exclude_connectors=tuple(config.get("exclude_connectors") or ()),
            start_date=_start_date(config.get("start_date")),
            page_size=config.get("page_size") or None,
            zone=zone,
            max_parallel_requests=min(
                int(config.get("max_parallel_requests") or DEFAULT_PARALLEL_REQUESTS),
                MAX_PARALLEL_REQUESTS,
            ),
            replication_keys=dict(config.get("replication_keys") or {}),
            primary_keys={k: tuple(v) for k, v in (config.get("primary_keys") or {}).items()},
            filters={k: tuple(parse_filter_setting(k, v)) for k, v in filters.items()},
            deleted_records_log=DeletedRecordsLog.from_setting(config.get("deleted_records_log")),
            key_comparison=KeyComparison.from_setting(config.get("key_comparison_deletes")),
            downloads=DownloadSettings.from_config(config),
        )

    def check_paths(self) -> None:
        """Refuse, before anything starts, a folder the sync could not write."""
        if self.key_comparison is not None:
            self.key_comparison.check_snapshot_dir()

    def check_connector(self, connector: GetConnectorInfo) -> None:
        """Refuse filters on fields the GetConnector does not have (AFAS would answer 500)."""
        for condition in self.filters.get(connector.id, ()):
            if connector.field(condition.field_id) is None:
                raise AFASConfigError(
                    f"Setting 'filters' for {connector.id!r} filters on {condition.field_id!r}, "
                    "not a field of that GetConnector. Its fields: "
                    f"{', '.join(f.id for f in connector.fields)}."
                )

    def compares_keys(self, connector_id: str) -> bool:
        comparison = self.key_comparison
        return comparison is not None and any(
            fnmatch.fnmatchcase(connector_id, p) for p in comparison.connectors
        )

    def plan_for(self, connector_id: str) -> ConnectorPlan:
        return ConnectorPlan(
            replication_key=self.replication_keys.get(connector_id) or None,
            replication_key_set=connector_id in self.replication_keys,
            primary_keys=self.primary_keys.get(connector_id),
            filters=self.filters.get(connector_id, ()),
        )

    def page_size_for(self, field_count: int) -> int:
        """Rows per request: ``page_size``, else AFAS's guidance (150,000 cells per page)."""
        if self.page_size:
            return int(self.page_size)
        return max(MIN_PAGE_SIZE, min(MAX_PAGE_SIZE, PAGE_CELLS // max(field_count, 1)))

    def select(self, available: Sequence[ConnectorRef]) -> list[str]:
        """The connector ids to sync; an explicitly named unknown id is an error."""
        ids = [c.id for c in available]
        self._check_named_connectors(ids)
        if self.connectors is None:
            chosen = ids
        else:
            chosen = []
            for pattern in self.connectors:
                matches = [i for i in ids if fnmatch.fnmatchcase(i, pattern)]
                if not matches and not any(ch in pattern for ch in "*?["):
                    raise AFASConfigError(
                        f"GetConnector {pattern!r} (setting 'connectors') is not available to this "
                        f"token: it does not exist or is not in the App Connector. Available: "
                        f"{', '.join(ids) or '(none)'}."
                    )
                chosen.extend(m for m in matches if m not in chosen)
        return [
            i for i in chosen if not any(fnmatch.fnmatchcase(i, p) for p in self.exclude_connectors)
        ]

    def named_connectors(self) -> list[str]:
        """The connectors named in full in ``connectors`` (no wildcard), not excluded: their
        metainfo can be asked for before ``/metainfo`` has said they exist."""
        return [
            c
            for c in self.connectors or ()
            if not any(ch in c for ch in "*?[")
            and not any(fnmatch.fnmatchcase(c, p) for p in self.exclude_connectors)
        ]

    def _check_named_connectors(self, ids: Sequence[str]) -> None:
        """Settings per connector must name connectors the token offers (a typo does nothing)."""
        log = self.deleted_records_log
        named = [
            *(("replication_keys", c) for c in self.replication_keys),
            *(("primary_keys", c) for c in self.primary_keys),
            *(("filters", c) for c in self.filters),
            *((("deleted_records_log", log.connector),) if log else ()),
            *(("deleted_records_log.entities", c) for c in (log.entities if log else ())),
            *(
                ("key_comparison_deletes.connectors", c)
                for c in (self.key_comparison.connectors if self.key_comparison else ())
                if not any(ch in c for ch in _GLOB_CHARACTERS)
            ),
        ]
        for setting, connector_id in named:
            if connector_id not in ids:
                raise AFASConfigError(
                    f"Setting {setting!r} names GetConnector {connector_id!r}, which this token "
                    f"does not offer (a typo, or not in the App Connector). Available: "
                    f"{', '.join(ids) or '(none)'}."
                )


def _start_date(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise AFASConfigError(
            f"Setting 'start_date' is {str(value)[:60]!r}, not an ISO 8601 date-time "
            "(e.g. 2024-01-01T00:00:00Z)."
        ) from None
    if not EARLIEST_START_YEAR <= moment.year <= LATEST_START_YEAR:
        raise AFASConfigError(
            f"Setting 'start_date' is {value!r}, outside the years {EARLIEST_START_YEAR}-"
            f"{LATEST_START_YEAR} AFAS can hold: use a real date (e.g. 2020-01-01T00:00:00Z), or "
            "leave it out to sync all history."
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
