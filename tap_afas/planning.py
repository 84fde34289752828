"""How one GetConnector is read: its key fields, replication key, filters, page size and deletes.

``StreamPlan.for_connector`` decides it once from the connector's metainfo and the settings
(explicit ``primary_keys`` / ``replication_keys`` first, then the conventions in
``afas_profit.conventions``) and refuses a setting that names a field the connector does not
have. The stream only wires the plan into singer-sdk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from afas_profit.conventions import detect_replication_key, guess_primary_keys, stream_name_for
from afas_profit.errors import AFASConfigError
from afas_profit.filters import Condition
from afas_profit.metainfo import GetConnectorInfo
from afas_profit.schema_mapping import schema_from_metainfo
from tap_afas.deletes import DeletesReader
from tap_afas.key_snapshots import KeySnapshot

if TYPE_CHECKING:
    from afas_profit.client import ProfitClient
    from tap_afas.settings import TapSettings


@dataclass(frozen=True)
class StreamPlan:
    """What the tap knows about reading one GetConnector."""

    connector: GetConnectorInfo
    name: str
    keys: list[str]
    replication_key: str | None
    filters: tuple[Condition, ...]
    take: int
    adaptive_take: bool  # no page_size set: window pages follow AFAS's latency (read_ahead.py)
    tracks_deletes: bool
    compares_keys: bool

    @classmethod
    def for_connector(cls, connector: GetConnectorInfo, settings: TapSettings) -> StreamPlan:
        chosen = settings.plan_for(connector.id)
        replication_key = (
            chosen.replication_key
            if chosen.replication_key_set
            else detect_replication_key(connector)
        )
        keys = (
            list(chosen.primary_keys)
            if chosen.primary_keys is not None
            else guess_primary_keys(connector)
        )
        for name in [*keys, *([replication_key] if replication_key else [])]:
            if connector.field(name) is None:
                raise AFASConfigError(
                    f"Field {name!r} (in 'primary_keys' or 'replication_keys' for "
                    f"{connector.id!r}) is not a field of that GetConnector. Its fields: "
                    f"{', '.join(f.id for f in connector.fields)}."
                )
        log = settings.deleted_records_log
        return cls(
            connector=connector,
            name=stream_name_for(connector.id),
            keys=keys,
            replication_key=replication_key,
            filters=chosen.filters,
            take=settings.page_size_for(len(connector.fields)),
            adaptive_take=not settings.page_size,
            tracks_deletes=log is not None and connector.id in log.entities,
            compares_keys=settings.compares_keys(connector.id),
        )

    @property
    def integer_first_key(self) -> bool:
        """The first key field holds integers: a full-table read can cut it into ranges."""
        field = self.connector.field(self.keys[0]) if self.keys else None
        return field is not None and field.data_type in ("int", "long")

    def schema(self) -> dict[str, Any]:
        return schema_from_metainfo(
            self.connector, with_deletes=self.tracks_deletes or self.compares_keys
        )

    def deletes_reader(self, client: ProfitClient, settings: TapSettings) -> DeletesReader | None:
        log = settings.deleted_records_log
        if log is None or not self.tracks_deletes:
            return None
        return DeletesReader(
            log, client, self.connector, self.keys, self.replication_key, settings.zone
        )

    def key_snapshot(self, client: ProfitClient, settings: TapSettings) -> KeySnapshot | None:
        comparison = settings.key_comparison
        if comparison is None or not self.compares_keys:
            return None
        return KeySnapshot(
            comparison.snapshot_dir / f"{self.name}.sqlite3",
            client,
            self.connector,
            self.keys,
            self.filters,
        )

    def unkeyed_warning(self) -> str | None:
        """What to tell the user when no unique key is known (None: keys are known)."""
        if self.keys:
            return None
        how = (
            "Rows are read by modified date and de-duplicated by content."
            if self.replication_key
            else "It is read in one request (skip=-1), which AFAS discourages for large data."
        )
        return (
            f"GetConnector {self.connector.id}: no unique key is known, so pages cannot be "
            f"ordered on a unique field. Set 'primary_keys' for it. {how}"
        )
