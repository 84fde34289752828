"""From a batch of records to AFAS writes, with one outcome per record.

Steps for a batch:

1. Fingerprint each record and read the ledger: records that landed before are ``unchanged``; a
   record repeated within the batch is written once.
2. Verify records in doubt (an earlier run sent them and got no answer, or crashed while they were
   in flight) with the mapping's lookup: found (or, for a delete, gone) → they landed; not found →
   they are sent as new. Without a lookup they are reported ``outcome_unknown`` again, not sent.
3. Decide each record's action (``_sdc_deleted_at`` → delete; ``upsert`` → update when the lookup
   finds the key, else insert; ``diff_only`` → unchanged when the mapped values equal the row).
4. Build and validate the element against ``/metainfo/update`` (problems → rejected, no request).
5. Send the rest, ``batch_size`` elements per request and ``max_parallel_requests`` requests at a
   time, in waves that never hold the same key twice (two changes to one record keep their
   order). Each request's records are committed to the ledger as ``sending`` before it leaves and
   settled by its answer (see ``afas_profit.client`` for what an answer means).

A request body is one AFAS transaction: when a batch is refused, it is split in halves until the
refused record is alone; the others land. A write of unknown outcome is never sent again in the
same run: with a lookup the target checks at once whether it landed; when it is not (yet) found
it is reported ``outcome_unknown`` and the next run verifies it again before sending it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from afas_profit.client import ProfitClient
from afas_profit.errors import (
    AFASAuthError,
    AFASOutcomeUnknownError,
    AFASRejectedError,
    AFASServerError,
)
from afas_profit.lookups import lookup
from afas_profit.payloads import PayloadError, build_element, payload
from afas_profit.records import RecordConverter
from afas_profit.update_metainfo import UpdateConnectorInfo
from afas_profit.validation import validate_element
from target_afas.ledger import Entry, Ledger, LedgerEntry, Sending, fingerprint, scope_for
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
    lookup_value: str = ""
    element: dict[str, Any] | None = None
    result: RecordResult | None = None


class Dispatcher:
    """Writes batches of one stream through one UpdateConnector."""

    def __init__(
        self,
        mapping: StreamMapping,
        meta: UpdateConnectorInfo,
        client: ProfitClient,
        settings: TargetSettings,
        ledger: Ledger,
        logger: logging.Logger,
    ) -> None:
        self.mapping = mapping
        self.meta = meta
        self.client = client
        self.settings = settings
        self.ledger = ledger
        self.logger = logger
        self._converter: RecordConverter | None = None
        self.scope = scope_for(settings.environment.base_url, mapping.connector)

    def run(self, records: list[dict[str, Any]]) -> list[Item]:
        items = [self._prepare(record) for record in records]
        self._skip_known(items)
        self._resolve_existing([i for i in items if i.result is None])
        for item in items:
            if item.result is None:
                self._build(item)
        pending = [i for i in items if i.result is None]
        if self.settings.dry_run:
            for item in pending:
                self.logger.info("dry run: %s %s", self._describe(item), item.element)
                item.result = RecordResult(Outcome.DRY_RUN)
            return items
        for wave in _waves(pending):
            self._send_wave(wave)
        assert all(i.result is not None for i in items), "every record gets an outcome"
        return items

    # -- preparing -------------------------------------------------------------------------

    def _prepare(self, record: dict[str, Any]) -> Item:
        mapping = self.mapping
        item = Item(record=record, fingerprint=fingerprint(mapping.stream, record))
        item.action = "delete" if record.get(DELETED_AT) else mapping.action
        item.key = tuple(_text(record.get(mapping.key_property(k))) for k in mapping.keys)
        prop = mapping.lookup_property
        item.lookup_value = _text(record.get(prop)) if prop else ""
        if item.action in ("update", "upsert", "delete") and any(v == "" for v in item.key):
            item.result = self._reject(
                f"key field(s) {', '.join(mapping.keys)} empty in the record "
                f"(properties {', '.join(mapping.key_property(k) for k in mapping.keys)})"
            )
        return item

    def _skip_known(self, items: list[Item]) -> None:
        """Landed before → unchanged; repeated in this batch → once; in doubt → verified."""
        first: dict[str, Item] = {}
        for item in items:
            if item.result is None and item.fingerprint in first:
                item.result = RecordResult(Outcome.UNCHANGED, reason="same record earlier in input")
            elif item.result is None:
                first[item.fingerprint] = item
        known = self.ledger.states(self.scope, first)
        doubtful = []
        for key, entry in known.items():
            item = first[key]
            if entry.state is Entry.LANDED:
                item.result = RecordResult(
                    Outcome.UNCHANGED, reason="already written by an earlier run"
                )
            elif entry.state.in_doubt:
                doubtful.append((item, entry))
        if doubtful:
            self._verify_earlier(doubtful)

    def _verify_earlier(self, doubtful: list[tuple[Item, LedgerEntry]]) -> None:
        """Records an earlier run sent without an answer: did they land? Never send blindly."""
        if self.mapping.lookup is None:
            for item, _ in doubtful:
                item.result = RecordResult(
                    Outcome.OUTCOME_UNKNOWN,
                    reason="an earlier run sent it and got no answer; without a 'lookup' for "
                    "this stream it cannot be verified. Check AFAS; if it is missing, remove "
                    "its ledger entry (or configure 'lookup') to send it again",
                )
            return
        self._wait_for_requests_to_end([e for _, e in doubtful if e.state is Entry.SENDING])
        items = [item for item, _ in doubtful]
        landed = self._landed(items)
        done = [i for i in items if landed.get(i.fingerprint)]
        for item in done:
            item.result = RecordResult(
                Outcome.UNCHANGED, reason="written by an earlier run (verified by lookup)"
            )
        self.ledger.settle(self.scope, Entry.LANDED, [i.fingerprint for i in done])
        if done:
            self.logger.info(
                "%s: %d record(s) an earlier run sent without an answer are in AFAS; %d are not "
                "and are sent now",
                self.mapping.stream,
                len(done),
                len(items) - len(done),
            )

    def _wait_for_requests_to_end(self, entries: list[LedgerEntry]) -> None:
        """A request cut off by a crash may still run in AFAS: give it ``request_timeout``
        from when it was sent (as long as this target would have waited for its answer)."""
        if not entries:
            return
        newest = max(e.updated_at for e in entries)
        until = newest + timedelta(seconds=self.settings.environment.timeout_seconds)
        wait = (until - datetime.now(timezone.utc)).total_seconds()
        if wait > 0:
            self.logger.info(
                "%s: waiting %.1f s before verifying records an earlier run had in flight",
                self.mapping.stream,
                wait,
            )
            self.client.sleep(wait)

    def _resolve_existing(self, items: list[Item]) -> None:
        lookup_setting = self.mapping.lookup
        needing = [
            i
            for i in items
            if i.action == "upsert" or (self.mapping.diff_only and i.action == "update")
        ]
        if lookup_setting is None or not needing:
            for item in items:
                if item.action == "upsert":
                    item.action = "insert"
            return
        found = self._lookup([i.lookup_value for i in needing])
        for item in needing:
            rows = found.get(item.lookup_value.casefold(), [])
            if len(rows) > 1:
                item.result = self._reject(
                    f"{len(rows)} rows in {lookup_setting.connector} have "
                    f"{lookup_setting.field} = {item.lookup_value!r}"
                )
                continue
            if item.action == "upsert":
                item.action = "update" if rows else "insert"
            if rows and self.mapping.diff_only and self._unchanged(item.record, rows[0]):
                item.result = RecordResult(Outcome.UNCHANGED, reason="same values in AFAS")

    def _unchanged(self, record: dict[str, Any], row: dict[str, Any]) -> bool:
        existing = self._lookup_converter().convert(dict(row))
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
        """Send one request; its records are in the ledger as ``sending`` before it leaves."""
        action = items[0].action
        prints = [i.fingerprint for i in items]
        self.ledger.sending(
            self.scope, [Sending(i.fingerprint, self.mapping.stream, action) for i in items]
        )
        try:
            if action == "delete":
                self.client.write(
                    "DELETE", self._delete_path(items[0]), None, self._describe(items[0])
                )
                self.ledger.settle(self.scope, Entry.LANDED, prints)
                return [(items[0], RecordResult(Outcome.DELETED))]
            elements = [i.element for i in items if i.element is not None]
            body = payload(self.meta.root.name, elements)
            what = self._describe(items[0]) if len(items) == 1 else f"{len(items)} records"
            result = self.client.write(
                METHODS[action], f"/connectors/{self.mapping.connector}", body, what
            )
        except AFASRejectedError as exc:
            self.ledger.settle(self.scope, Entry.REJECTED, prints)
            if len(items) > 1:
                half = len(items) // 2
                return self._send_chunk(items[:half]) + self._send_chunk(items[half:])
            info = exc.info
            reason = info.external_message if info and info.external_message else str(exc)
            return [(items[0], self._reject(reason, info.profit_log_reference if info else None))]
        except AFASOutcomeUnknownError as exc:
            self.ledger.settle(self.scope, Entry.UNKNOWN, prints)
            return self._confirm(items, str(exc))
        except (AFASServerError, AFASAuthError):
            # AFAS stayed unavailable or refused the token: nothing was written; the run stops.
            self.ledger.forget(self.scope, prints)
            raise
        outcome = Outcome.INSERTED if action == "insert" else Outcome.UPDATED
        keys = _keys_per_element(result.results, self.meta.root.name, len(items))
        self.ledger.settle(self.scope, Entry.LANDED, prints, keys)
        return [
            (item, RecordResult(outcome, afas_keys=k)) for item, k in zip(items, keys, strict=True)
        ]

    def _confirm(self, items: list[Item], reason: str) -> list[tuple[Item, RecordResult]]:
        """After a write without an answer: did it land? It is not sent again in this run."""
        if self.mapping.lookup is None:
            return [
                (i, RecordResult(Outcome.OUTCOME_UNKNOWN, reason=f"{reason} No lookup to check."))
                for i in items
            ]
        landed = self._landed(items)
        results = []
        for item in items:
            if landed.get(item.fingerprint):
                outcome = {"insert": Outcome.INSERTED, "update": Outcome.UPDATED}.get(
                    item.action, Outcome.DELETED
                )
                results.append((item, RecordResult(outcome, reason="verified by lookup")))
            else:
                results.append(
                    (
                        item,
                        RecordResult(
                            Outcome.OUTCOME_UNKNOWN,
                            reason=f"{reason} Not found by the lookup (yet); the next run "
                            "checks again and sends it only if it is still missing.",
                        ),
                    )
                )
        self.ledger.settle(
            self.scope, Entry.LANDED, [i.fingerprint for i in items if landed.get(i.fingerprint)]
        )
        return results

    def _landed(self, items: list[Item]) -> dict[str, bool]:
        """Per fingerprint: does AFAS hold the record as it would be after the write?"""
        lookup_setting = self.mapping.lookup
        assert lookup_setting is not None
        values = [i.lookup_value for i in items if i.lookup_value]
        found = self._lookup(values) if values else {}
        landed: dict[str, bool] = {}
        for item in items:
            rows = found.get(item.lookup_value.casefold(), []) if item.lookup_value else []
            if item.action == "delete" or item.record.get(DELETED_AT):
                landed[item.fingerprint] = bool(item.lookup_value) and not rows
            elif item.action == "insert" or self.mapping.action == "insert":
                landed[item.fingerprint] = bool(rows)
            else:  # update / upsert: the row holds the values sent
                landed[item.fingerprint] = len(rows) == 1 and self._unchanged(item.record, rows[0])
        return landed

    def _lookup_converter(self) -> RecordConverter:
        """Turns the lookup connector's rows into record values (read once, when first needed)."""
        if self._converter is None:
            setting = self.mapping.lookup
            assert setting is not None
            info = self.client.get_connector_info(setting.connector)
            self._converter = RecordConverter(info, self.settings.zone)
        return self._converter

    def _lookup(self, values: list[str]) -> dict[str, list[dict[str, Any]]]:
        setting = self.mapping.lookup
        assert setting is not None
        return lookup(self.client, setting.connector, setting.field, values)

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


def _text(value: Any) -> str:
    return "" if value is None else str(value)


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
