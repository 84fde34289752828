"""From a batch of records to AFAS writes, with one outcome per record.

Steps for a batch: skip records the ledger says already landed; decide each record's action
(``_sdc_deleted_at`` → delete; ``upsert`` → update when the lookup finds the key, else insert;
``diff_only`` → unchanged when the mapped values equal the existing row); build and validate the
element against ``/metainfo/update`` (problems → rejected, no request); send the rest,
``batch_size`` elements per request and ``max_parallel_requests`` requests at a time, in waves
that never hold the same key twice (so two changes to one record keep their order).

A request body is one AFAS transaction: when a batch is refused, it is split in halves until
the refused record is alone; the others land. A POST without an answer is never sent again
blindly: with a lookup the target checks whether the record landed (and sends it once more
only when it did not); without one the outcome is "outcome unknown".
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from afas_profit.errors import AFASOutcomeUnknownError, AFASRejectedError
from afas_profit.payloads import PayloadError, build_element, payload
from afas_profit.records import RecordConverter
from afas_profit.update_metainfo import UpdateConnectorInfo
from afas_profit.validation import validate_element
from afas_profit.writes import ProfitWriter
from target_afas.ledger import Ledger, fingerprint
from target_afas.outcomes import Outcome, RecordResult
from target_afas.settings import StreamMapping, TargetSettings

DELETED_AT = "_sdc_deleted_at"
METHODS = {"insert": "POST", "update": "PUT"}


@dataclass
class Item:
    """One record on its way to AFAS."""

    record: dict[str, Any]
    fingerprint: str
    action: str = ""
    key: tuple[str, ...] = ()
    element: dict[str, Any] | None = None
    result: RecordResult | None = None
    retried: bool = field(default=False, repr=False)


class Dispatcher:
    """Writes batches of one stream through one UpdateConnector."""

    def __init__(
        self,
        mapping: StreamMapping,
        meta: UpdateConnectorInfo,
        writer: ProfitWriter,
        settings: TargetSettings,
        ledger: Ledger,
        logger: logging.Logger,
        lookup_converter: RecordConverter | None = None,
    ) -> None:
        self.mapping = mapping
        self.meta = meta
        self.writer = writer
        self.settings = settings
        self.ledger = ledger
        self.logger = logger
        self.converter = lookup_converter

    def run(self, records: list[dict[str, Any]]) -> list[Item]:
        items = [self._prepare(record) for record in records]
        self._resolve_existing([i for i in items if i.result is None])
        pending = [i for i in items if i.result is None]
        for item in pending:
            self._build(item)
        pending = [i for i in items if i.result is None]
        if self.settings.dry_run:
            for item in pending:
                self.logger.info("dry run: %s %s", self._describe(item), item.element)
                item.result = RecordResult(Outcome.DRY_RUN)
            return items
        for wave in _waves(pending):
            self._send_wave(wave)
        for item in items:
            assert item.result is not None, "every record gets an outcome"
            if item.result.outcome.landed:
                self.ledger.record(
                    item.fingerprint,
                    self.mapping.stream,
                    item.result.outcome.value,
                    item.result.afas_keys,
                )
        return items

    # -- preparing -------------------------------------------------------------------------

    def _prepare(self, record: dict[str, Any]) -> Item:
        item = Item(record=record, fingerprint=fingerprint(self.mapping.stream, record))
        if self.ledger.landed(item.fingerprint):
            item.result = RecordResult(
                Outcome.UNCHANGED, reason="already written by an earlier run"
            )
            return item
        mapping = self.mapping
        item.action = "delete" if record.get(DELETED_AT) else mapping.action
        values = []
        for key in mapping.keys:
            value = record.get(mapping.key_property(key))
            values.append("" if value is None else str(value))
        item.key = tuple(values)
        if item.action in ("update", "upsert", "delete") and any(v == "" for v in values):
            item.result = self._reject(
                f"key field(s) {', '.join(mapping.keys)} empty in the record "
                f"(properties {', '.join(mapping.key_property(k) for k in mapping.keys)})"
            )
        return item

    def _resolve_existing(self, items: list[Item]) -> None:
        lookup = self.mapping.lookup
        needing = [
            i
            for i in items
            if i.action == "upsert" or (self.mapping.diff_only and i.action == "update")
        ]
        if lookup is None or not needing:
            for item in items:
                if item.action == "upsert":
                    item.action = "insert"
            return
        found = self.writer.lookup(lookup.connector, lookup.field, [i.key[0] for i in needing])
        for item in needing:
            rows = found.get(item.key[0].casefold(), [])
            if len(rows) > 1:
                item.result = self._reject(
                    f"{len(rows)} rows in {lookup.connector} have {lookup.field} = {item.key[0]!r}"
                )
                continue
            if item.action == "upsert":
                item.action = "update" if rows else "insert"
            if rows and self.mapping.diff_only and self._unchanged(item.record, rows[0]):
                item.result = RecordResult(Outcome.UNCHANGED, reason="same values in AFAS")

    def _unchanged(self, record: dict[str, Any], row: dict[str, Any]) -> bool:
        existing = self.converter.convert(dict(row)) if self.converter else row
        fields = self.mapping.root.fields
        properties = list(fields.values()) if fields is not None else list(record)
        compared = [p for p in properties if p in existing and p in record]
        return bool(compared) and all(_same(record[p], existing[p]) for p in compared)

    def _build(self, item: Item) -> None:
        if item.action == "delete":
            return
        try:
            item.element = build_element(
                self.meta.root,
                self.mapping.root,
                item.record,
                zone=self.settings.zone,
                null_means_clear=self.mapping.null_means_clear,
            )
        except PayloadError as exc:
            item.result = self._reject(str(exc))
            return
        problems = validate_element(self.meta.root, item.element, item.action)
        if problems:
            item.result = self._reject("; ".join(problems))

    # -- sending ---------------------------------------------------------------------------

    def _send_wave(self, wave: list[Item]) -> None:
        chunks: list[list[Item]] = []
        size = self.settings.batch_size
        for action in ("insert", "update"):
            group = [i for i in wave if i.action == action]
            chunks.extend(group[n : n + size] for n in range(0, len(group), size))
        chunks.extend([i] for i in wave if i.action == "delete")
        workers = min(self.settings.max_parallel_requests, max(len(chunks), 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done in pool.map(self._send_chunk, chunks):
                for item, result in done:
                    item.result = result

    def _send_chunk(self, items: list[Item]) -> list[tuple[Item, RecordResult]]:
        action = items[0].action
        try:
            if action == "delete":
                self.writer.send(
                    "DELETE", self._delete_path(items[0]), None, self._describe(items[0])
                )
                return [(items[0], RecordResult(Outcome.DELETED))]
            elements = [i.element for i in items if i.element is not None]
            body = payload(self.meta.root.name, elements)
            what = self._describe(items[0]) if len(items) == 1 else f"{len(items)} records"
            result = self.writer.send(
                METHODS[action], f"/connectors/{self.mapping.connector}", body, what
            )
        except AFASRejectedError as exc:
            if len(items) > 1:
                half = len(items) // 2
                return self._send_chunk(items[:half]) + self._send_chunk(items[half:])
            info = exc.info
            return [
                (
                    items[0],
                    self._reject(
                        info.external_message if info and info.external_message else str(exc),
                        info.profit_log_reference if info else None,
                    ),
                )
            ]
        except AFASOutcomeUnknownError as exc:
            return [(item, self._confirm(item, str(exc))) for item in items]
        outcome = Outcome.INSERTED if action == "insert" else Outcome.UPDATED
        keys = _keys_per_element(result.results, self.meta.root.name, len(items))
        return [
            (item, RecordResult(outcome, afas_keys=k)) for item, k in zip(items, keys, strict=True)
        ]

    def _confirm(self, item: Item, reason: str) -> RecordResult:
        """After a POST without an answer: did the record land? Send it again only if not."""
        lookup = self.mapping.lookup
        if lookup is None or not item.key or not item.key[0]:
            return RecordResult(Outcome.OUTCOME_UNKNOWN, reason=reason + " No lookup to check it.")
        rows = self.writer.lookup(lookup.connector, lookup.field, [item.key[0]]).get(
            item.key[0].casefold()
        )
        if rows:
            return RecordResult(Outcome.INSERTED, afas_keys={lookup.field: item.key[0]})
        if item.retried:
            return RecordResult(Outcome.OUTCOME_UNKNOWN, reason=reason)
        item.retried = True
        return self._send_chunk([item])[0][1]

    def _delete_path(self, item: Item) -> str:
        keys = []
        for key in self.mapping.keys:
            spec = self.meta.root.field(key)
            keys.append(f"@{key}" if spec is not None and spec.primary_key else key)
        values = ",".join(quote(v, safe="") for v in item.key)
        return (
            f"/connectors/{self.mapping.connector}/{self.meta.root.name}/{','.join(keys)}/{values}"
        )

    def _describe(self, item: Item) -> str:
        key = ", ".join(f"{k}={v}" for k, v in zip(self.mapping.keys, item.key, strict=False))
        return f"{item.action} {self.mapping.connector}" + (f" ({key})" if key else "")

    def _reject(self, reason: str, reference: str | None = None) -> RecordResult:
        return RecordResult(Outcome.REJECTED, reason=reason, profit_log_reference=reference)


def _waves(items: list[Item]) -> list[list[Item]]:
    """Split items into consecutive groups in which no key appears twice."""
    waves: list[list[Item]] = []
    last_wave: dict[tuple[str, ...], int] = {}
    for item in items:
        key = tuple(v.casefold() for v in item.key)  # AFAS keys compare case-insensitively
        index = last_wave.get(key, -1) + 1 if any(key) else 0
        while len(waves) <= index:
            waves.append([])
        waves[index].append(item)
        if any(key):
            last_wave[key] = index
    return waves


def _keys_per_element(results: Any, root: str, count: int) -> list[dict[str, Any]]:
    value = results.get(root) if isinstance(results, dict) else None
    if isinstance(value, list) and len(value) == count:
        return [v if isinstance(v, dict) else {} for v in value]
    if isinstance(value, dict) and count == 1:
        return [value]
    return [{} for _ in range(count)]


def _same(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return bool(left) == bool(right) and type(left) is type(right)
    try:
        return Decimal(str(left)) == Decimal(str(right))
    except InvalidOperation:
        return str(left) == str(right)
