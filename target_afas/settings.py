"""The target's settings: declared once (JSON Schema) and parsed once into frozen objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from afas_profit.client import DEFAULT_PARALLEL_REQUESTS, MAX_PARALLEL_REQUESTS
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import AFASConfigError
from afas_profit.payloads import ObjectMapping
from afas_profit.settings import environment_schema, zone_from_setting

ACTIONS = ("insert", "update", "upsert", "delete")
DEFAULT_LEDGER = ".target-afas/ledger.sqlite3"
DEFAULT_ZONE = "Europe/Amsterdam"
MAX_BATCH_SIZE = 1000  # AFAS: 1,000 FiEntries lines, 75 MB per request (afas-rest-api.md §9.10)

_OBJECT_MAPPING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "from": {"type": "string"},
        "action": {"type": "string", "enum": ["insert", "update", "delete"]},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "constants": {"type": "object"},
        "defaults": {"type": "object"},
        "objects": {"type": "object"},
    },
}


def target_config_schema() -> dict[str, Any]:
    schema = environment_schema()
    schema["properties"].update(
        {
            "mappings": {
                "type": "object",
                "title": "Mappings",
                "description": (
                    "One per incoming stream: {stream: {connector: UpdateConnector id, action: "
                    "insert|update|upsert|delete, keys: [AFAS key fields], fields: {AFAS field: "
                    "record property} (default: same names), constants, defaults, objects: "
                    "{SubObject: {from: property, fields, ...}}, lookup: {connector: GetConnector, "
                    "field: the field holding the value, property: the record property with the "
                    "value (default: the key's)}, diff_only, null_means_clear}}. Records with "
                    "_sdc_deleted_at are deleted. With a lookup, a write of unknown outcome is "
                    "verified before it is ever sent again."
                ),
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        **_OBJECT_MAPPING["properties"],
                        "connector": {"type": "string"},
                        "keys": {"type": "array", "items": {"type": "string"}},
                        "lookup": {
                            "type": "object",
                            "properties": {
                                "connector": {"type": "string"},
                                "field": {"type": "string"},
                                "property": {"type": "string"},
                            },
                            "required": ["connector", "field"],
                        },
                        "diff_only": {"type": "boolean"},
                        "null_means_clear": {"type": "boolean"},
                        "action": {"type": "string", "enum": list(ACTIONS)},
                    },
                    "required": ["connector"],
                },
            },
            "dry_run": {
                "type": ["boolean", "null"],
                "default": False,
                "title": "Dry run",
                "description": "Build, validate and log every payload; send no writes.",
            },
            "reject_file": {
                "type": ["string", "null"],
                "title": "Reject file",
                "description": "JSONL file that receives every rejected record with the reason.",
            },
            "on_reject": {
                "type": ["string", "null"],
                "enum": ["fail", "continue", None],
                "default": "fail",
                "title": "On reject",
                "description": (
                    "fail: stop after the batch that had a rejected record; continue: report it "
                    "(log, reject_file) and go on."
                ),
            },
            "max_parallel_requests": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_PARALLEL_REQUESTS,
                "default": DEFAULT_PARALLEL_REQUESTS,
                "title": "Parallel requests",
                "description": "Requests in flight at once (AFAS allows at most 8).",
            },
            "batch_size": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_BATCH_SIZE,
                "default": 1,
                "title": "Elements per request",
                "description": (
                    "Records sent in one request (one AFAS transaction; at most "
                    f"{MAX_BATCH_SIZE:,}). A failing batch is split until the bad record is "
                    "found; the others land."
                ),
            },
            "ledger_path": {
                "type": ["string", "null"],
                "default": DEFAULT_LEDGER,
                "title": "Idempotency ledger",
                "description": (
                    "SQLite file remembering which records landed, so a re-run after a crash "
                    "never writes them twice. Empty string: no ledger."
                ),
            },
            "timezone": {
                "type": ["string", "null"],
                "default": DEFAULT_ZONE,
                "title": "Environment time zone",
                "description": "UTC date-times in records are written in this local time.",
            },
        }
    )
    schema["required"] = [*schema["required"], "mappings"]
    return schema


@dataclass(frozen=True)
class Lookup:
    """Where existing records are found: a GetConnector, its field holding the value, and the
    record property with that value (``None``: the property of the mapping's one key field)."""

    connector: str
    field: str
    property: str | None = None


@dataclass(frozen=True)
class StreamMapping:
    stream: str
    connector: str
    action: str
    keys: tuple[str, ...]
    root: ObjectMapping
    lookup: Lookup | None
    diff_only: bool
    null_means_clear: bool

    @classmethod
    def from_setting(cls, stream: str, value: Mapping[str, Any]) -> StreamMapping:
        where = f"mappings.{stream}"
        action = str(value.get("action") or "insert")
        if action not in ACTIONS:
            raise AFASConfigError(f"{where}: action {action!r} is not one of {', '.join(ACTIONS)}.")
        keys = tuple(value.get("keys") or ())
        raw_lookup = value.get("lookup")
        lookup = (
            Lookup(
                str(raw_lookup["connector"]),
                str(raw_lookup["field"]),
                str(raw_lookup["property"]) if raw_lookup.get("property") else None,
            )
            if raw_lookup
            else None
        )
        diff_only = bool(value.get("diff_only"))
        if action in ("update", "upsert", "delete") and not keys:
            raise AFASConfigError(f"{where}: action {action!r} needs 'keys' (the AFAS key fields).")
        if (action == "upsert" or diff_only) and lookup is None:
            raise AFASConfigError(
                f"{where}: {'upsert' if action == 'upsert' else 'diff_only'} needs 'lookup' "
                '({"connector": GetConnector id, "field": the GetConnector field holding the key}).'
            )
        if (
            lookup is not None
            and len(keys) != 1
            and (lookup.property is None or action != "insert")
        ):
            raise AFASConfigError(
                f"{where}: 'lookup' works with exactly one key field in 'keys'; for an insert "
                "without keys, name the record property to look up in 'lookup.property'."
            )
        root = ObjectMapping.from_setting(
            "", {k: v for k, v in value.items() if k != "action"}, where
        )
        return cls(
            stream=stream,
            connector=str(value["connector"]),
            action=action,
            keys=keys,
            root=root,
            lookup=lookup,
            diff_only=diff_only,
            null_means_clear=bool(value.get("null_means_clear")),
        )

    @property
    def lookup_property(self) -> str | None:
        """The record property whose value the lookup searches for (None: no lookup)."""
        if self.lookup is None:
            return None
        if self.lookup.property is not None:
            return self.lookup.property
        return self.key_property(self.keys[0])

    def key_property(self, key: str) -> str:
        """The record property that holds AFAS key field ``key``."""
        fields = self.root.fields
        return fields.get(key, key) if fields is not None else key


@dataclass(frozen=True)
class TargetSettings:
    environment: ProfitEnvironment = field(repr=False)
    mappings: Mapping[str, StreamMapping]
    dry_run: bool
    reject_file: Path | None
    fail_on_reject: bool
    max_parallel_requests: int
    batch_size: int
    ledger_path: Path | None
    zone: ZoneInfo

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        mappings = config.get("mappings")
        if not isinstance(mappings, dict) or not mappings:
            raise AFASConfigError(
                "Setting 'mappings' is required: one entry per incoming stream, e.g. "
                '{"persons": {"connector": "KnPerson", "action": "insert"}}.'
            )
        zone = zone_from_setting(config.get("timezone"), DEFAULT_ZONE)
        ledger = config.get("ledger_path")
        if ledger is None:
            ledger = DEFAULT_LEDGER  # null means the default; only "" turns the ledger off
        reject_file = config.get("reject_file")
        return cls(
            environment=ProfitEnvironment.from_config(config),
            mappings={s: StreamMapping.from_setting(s, v) for s, v in mappings.items()},
            dry_run=bool(config.get("dry_run")),
            reject_file=Path(reject_file) if reject_file else None,
            fail_on_reject=(config.get("on_reject") or "fail") == "fail",
            max_parallel_requests=min(
                int(config.get("max_parallel_requests") or DEFAULT_PARALLEL_REQUESTS),
                MAX_PARALLEL_REQUESTS,
            ),
            batch_size=int(config.get("batch_size") or 1),
            ledger_path=Path(ledger) if ledger else None,
            zone=zone,
        )
