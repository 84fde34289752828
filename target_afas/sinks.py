"""``UpdateConnectorSink``: one sink per incoming stream, writing through one UpdateConnector.

Why a BatchSink: AFAS treats one request body as one transaction and allows a handful of
parallel calls, so records are collected (``max_size``) and written by ``Dispatcher`` in
requests of ``batch_size`` elements, ``max_parallel_requests`` at a time. singer-sdk drains
every sink before it emits a STATE message, so a STATE only follows records that all have an
outcome.

Idempotency (see ``target_afas.ledger``): every record is committed to a write-ahead ledger as
``sending`` before its request leaves and settled by the answer, so re-sending the records after
the last STATE (what a tap does after a crash) writes nothing twice: landed records are skipped,
records in doubt are verified with the mapping's ``lookup`` before anything is resent, or reported
"outcome unknown" without a lookup. Upserts look the key up too, so a record that already exists
is updated, not inserted. The target emits each STATE as soon as every record before it has an
outcome (``target_afas.target``), so a resumed run starts close to where a crash happened.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from singer_sdk import BatchSink
from typing_extensions import override

from afas_profit.errors import AFASConfigError, AFASRejectedError
from afas_profit.update_metainfo import parse_update_connector
from target_afas.dispatch import DELETED_AT, Dispatcher
from target_afas.outcomes import Outcome

if TYPE_CHECKING:
    from target_afas.target import TargetAFAS

RECORDS_PER_DRAIN_PER_REQUEST = 25
MIN_RECORDS_PER_DRAIN = 100


class UpdateConnectorSink(BatchSink):
    """Writes one stream's records through the UpdateConnector its mapping names."""

    def __init__(
        self,
        target: TargetAFAS,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: list[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.afas = target.afas
        settings = self.afas.settings
        mapping = settings.mappings.get(stream_name)
        if mapping is None:
            raise AFASConfigError(
                f"Stream {stream_name!r} has no entry in 'mappings' (mapped streams: "
                f"{', '.join(settings.mappings)}). Add one, or leave the stream out of the tap's "
                "selection."
            )
        document = self.afas.client.update_connector_metainfo(
            mapping.connector, setting=f"mappings.{stream_name}.connector"
        )
        meta = parse_update_connector(mapping.connector, document)
        replace(mapping.root, name=meta.root.name).check_against(
            meta.root, f"mappings.{stream_name}"
        )
        self.mapping = mapping
        self.dispatcher = Dispatcher(
            mapping, meta, self.afas.client, settings, self.afas.ledger, self.logger
        )

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Keep ``_sdc_*`` properties: ``_sdc_deleted_at`` marks a record as a delete."""
        return True

    @property
    @override
    def max_size(self) -> int:
        settings = self.afas.settings
        per_drain = (
            settings.batch_size * settings.max_parallel_requests * RECORDS_PER_DRAIN_PER_REQUEST
        )
        return max(per_drain, MIN_RECORDS_PER_DRAIN)

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        records = [_without_singer_metadata(r) for r in context.get("records", [])]
        items = self.dispatcher.run(records)
        failed = []
        for item in items:
            result = item.result
            assert result is not None
            self.afas.summary.add(self.stream_name, result.outcome)
            if result.outcome in (Outcome.REJECTED, Outcome.OUTCOME_UNKNOWN):
                self.afas.rejects.write(self.stream_name, item.record, result)
                self.logger.warning(
                    "%s: record %s %s: %s%s",
                    self.stream_name,
                    ", ".join(item.key) or "(no key)",
                    result.outcome.value,
                    result.reason,
                    f" (profitLogReference={result.profit_log_reference})"
                    if result.profit_log_reference
                    else "",
                )
                failed.append(result)
        if failed and self.afas.settings.fail_on_reject:
            first = failed[0]
            raise AFASRejectedError(
                f"{self.stream_name}: {len(failed)} record(s) not written (on_reject is 'fail'); "
                f"first: {first.outcome.value}: {first.reason}"
            )

    @override
    def clean_up(self) -> None:
        self.logger.info("Summary %s", self.afas.summary.line(self.stream_name))
        super().clean_up()


def _without_singer_metadata(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the tap sent it: SDK bookkeeping removed, a delete marker kept."""
    clean = {k: v for k, v in record.items() if not k.startswith("_sdc_")}
    if record.get(DELETED_AT):
        clean[DELETED_AT] = record[DELETED_AT]
    return clean
