"""Pipeline layer: ``meltano run tap-afas <warehouse loader>`` lands exactly the sandbox's data.

For each warehouse (the embedded DuckDB file and a throwaway PostgreSQL cluster):

1. the first run loads every GetConnector: per table, the row count and a checksum of the
   values equal the sandbox's rows converted the way tap-afas converts them, and the column
   types are the expected ones;
2. the sandbox then inserts, updates and deletes rows in seven connectors; the second run is
   incremental (Meltano state) and afterwards the warehouse equals the sandbox again: the new
   rows are there, the updated rows carry the new values, the deleted rows are gone.

Deletes come from the sandbox environment's ``deleted_records_log`` (tap-afas emits a record
with the key, ``_sdc_deleted_at`` and nulls). What a loader makes of them, decided here:

- target-duckdb (target-duckdb-afas; meltano.yml: ``hard_delete: true``): the rows are
  removed, so the table is a mirror of AFAS.
- target-postgres 0.8.1 has no per-record hard delete (its ``hard_delete`` only acts on
  ACTIVATE_VERSION): the delete record is merged on the key, leaving a tombstone row (key,
  ``_sdc_deleted_at`` set, other columns null). The live rows (``_sdc_deleted_at`` is null)
  equal the sandbox; the tombstones are exactly the deleted keys.

Mutations left out on purpose: person updates (Profit_Employees joins person fields but its
``Gewijzigd_op`` does not move when only the person changes, as on AFAS: such a change is not
picked up incrementally) and subject deletes (they cascade to Profit_Subject_Attachments, a
full-table stream whose deletes only the key-comparison job finds, see test_meltano_jobs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tests.pipeline.conftest import (
    KEYS,
    REPLICATION_KEYS,
    Pipeline,
    PostgresServer,
    Row,
    SandboxTruth,
    Snapshot,
    Table,
    Warehouse,
    assert_warehouse_equals_sandbox,
    column_for,
    live_rows,
    read_warehouse,
    reset_schema,
    stream_name,
)
from tests.support.clock import wait_for_next_second
from tests.support.records import key_of

pytestmark = pytest.mark.pipeline

# Fields a GetConnector joins from another table: they change with that table, while the row's
# modified date stays (as on AFAS), so an incremental load does not pick the change up. The
# comparisons leave them out once the sandbox changed (Profit_Contacts shows its organisation's
# name; organisations are updated and deleted below).
JOINED_FIELDS: dict[str, set[str]] = {"Profit_Contacts": {"OrganisationName"}}

# Profit_Transactions (2000 rows) arrives in 4 batches: the first row of each batch must land.
BATCH_ROWS = "500"
MUTATIONS: dict[str, dict[str, int]] = {
    "Profit_Persons": {"inserts": 3, "deletes": 3},
    "Profit_Employees": {"inserts": 2, "updates": 2, "deletes": 1},
    "Profit_Organisations": {"inserts": 1, "updates": 1, "deletes": 1},
    "Profit_Debtors": {"inserts": 2, "updates": 3, "deletes": 2},
    "Profit_Subjects": {"inserts": 2, "updates": 2},
    "Profit_Transactions": {"inserts": 5, "updates": 4, "deletes": 3},
    "Profit_FreeTable_K01": {"inserts": 1, "updates": 2, "deletes": 1},
}

# AFAS field kind -> the column types each loader must create.
DUCKDB_TYPES = {
    "int": {"BIGINT"},
    # the places AFAS declares for the field (target-duckdb-afas), else decimal_scale (10)
    "decimal": {f"DECIMAL(38,{places})" for places in range(11)},
    "boolean": {"BOOLEAN"},
    "date": {"DATE"},
    "time": {"TIME"},
    "datetime": {"TIMESTAMP WITH TIME ZONE"},  # UTC instants
    "string": {"VARCHAR"},
}
POSTGRES_TYPES = {
    "int": {"bigint", "integer"},
    "decimal": {"numeric"},
    "boolean": {"boolean"},
    "date": {"date"},
    "time": {"time without time zone"},
    "datetime": {"timestamp without time zone", "timestamp with time zone"},
    "string": {"text", "character varying"},
}

# --------------------------------------------------------------------------- helpers


def assert_column_types(
    warehouse: Warehouse, truth: Snapshot, expected_types: dict[str, set[str]]
) -> None:
    wrong = []
    for connector, (fields, _) in truth.items():
        table = warehouse.tables[stream_name(connector)]
        for f in fields:
            column = column_for(table, f.id)
            if table.columns[column] not in expected_types[f.kind]:
                wrong.append(f"{table.name}.{column} ({f.kind}): {table.columns[column]}")
    assert not wrong, "unexpected column types:\n" + "\n".join(wrong)


def without_joined_fields(snapshot: Snapshot) -> Snapshot:
    """The snapshot without JOINED_FIELDS (see there)."""
    out: Snapshot = {}
    for connector, (fields, rows) in snapshot.items():
        joined = JOINED_FIELDS.get(connector, set())
        kept = [f for f in fields if f.id not in joined]
        out[connector] = (kept, [{k: v for k, v in r.items() if k not in joined} for r in rows])
    return out


def assert_names_as_afas_gives_them(warehouse: Warehouse, truth: Snapshot) -> None:
    """Both loaders name each column exactly as AFAS names the field (one set of dbt models
    serves both warehouses)."""
    for connector, (fields, _) in truth.items():
        columns = warehouse.tables[stream_name(connector)].columns
        assert sorted(c for c in columns if not c.startswith("_sdc_")) == sorted(
            f.id for f in fields
        ), connector


def mutate(sandbox: RunningSandbox) -> dict[str, dict[str, list[str]]]:
    changes = {
        connector: sandbox.mutate(connector, **counts).as_dict()
        for connector, counts in MUTATIONS.items()
    }
    wait_for_next_second()
    return changes


def keys_of(table: Table, connector: str, rows: Sequence[Row]) -> set[str]:
    columns = [column_for(table, k) for k in KEYS[connector]]
    pairs = list(zip(KEYS[connector], columns, strict=True))
    return {key_of({k: _plain(r[c]) for k, c in pairs}, KEYS[connector]) for r in rows}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return next(iter(value.values()))
    return value


def assert_changes_landed(
    before: Warehouse,
    after: Warehouse,
    changes: dict[str, dict[str, list[str]]],
    *,
    tombstones: bool,
) -> None:
    """The mutated keys are exactly where the mutations put them (beyond the full comparison)."""
    for connector, change in changes.items():
        name = stream_name(connector)
        old, new = before.tables[name], after.tables[name]
        live_before = keys_of(old, connector, live_rows(old))
        live_after = keys_of(new, connector, live_rows(new))
        inserted = set(change["inserted"]) - set(change["deleted"])
        deleted = set(change["deleted"])
        assert inserted <= live_after - live_before, (name, inserted, live_after - live_before)
        assert not deleted & live_after, (name, deleted & live_after)
        assert live_before - live_after == deleted & live_before, name
        if tombstones:
            dead = [r for r in new.rows if r["_sdc_deleted_at"] is not None]
            assert keys_of(new, connector, dead) == deleted, name
            key_columns = {column_for(new, k) for k in KEYS[connector]}
            for row in dead:
                # a tombstone: the key, _sdc_deleted_at, and the replication key (it carries
                # the deletion time too); every other column null
                others = {
                    c: v
                    for c, v in row.items()
                    if c not in key_columns
                    and not c.startswith("_sdc_")
                    and v is not None
                    and v != row["_sdc_deleted_at"]
                }
                assert not others, (name, row)
        # updates: keys that existed and still exist, with new values
        updated = set(change["updated"]) - deleted
        assert updated <= live_before & live_after, name
        old_rows = _by_key(old, connector)
        new_rows = _by_key(new, connector)
        for key in updated:
            assert _data(old_rows[key]) != _data(new_rows[key]), (name, key)


def _by_key(table: Table, connector: str) -> dict[str, Row]:
    return {next(iter(keys_of(table, connector, [r]))): r for r in table.rows}


def _data(row: Row) -> Row:
    return {c: v for c, v in row.items() if not c.startswith("_sdc_")}


def _moment(value: Any) -> datetime:
    assert isinstance(value, dict), value
    assert "datetime" in value, value
    return datetime.fromisoformat(value["datetime"])


def assert_incremental(before: Warehouse, after: Warehouse) -> None:
    """Run 2 re-loaded exactly the changed rows of incremental streams (deletes, inserts,
    updates; at most also rows of run 1's last modified second, which a sync re-reads), and
    every row of the full-table streams (no modified date)."""
    last_load = max(_moment(r["_sdc_batched_at"]) for t in before.tables.values() for r in t.rows)
    for name, table in after.tables.items():
        connector = next(c for c in KEYS if stream_name(c) == name)
        reloaded = [r for r in table.rows if _moment(r["_sdc_batched_at"]) > last_load]
        if REPLICATION_KEYS[connector] is None:
            assert len(reloaded) == len(table.rows), name
            continue
        old, new = _by_key(before.tables[name], connector), _by_key(table, connector)
        changed = {k for k, row in new.items() if k not in old or _data(old[k]) != _data(row)}
        reloaded_keys = keys_of(table, connector, reloaded)
        assert changed <= reloaded_keys, (name, changed - reloaded_keys)
        bookmark_column = column_for(table, REPLICATION_KEYS[connector])
        bookmark = max(
            (r[bookmark_column]["datetime"] for r in old.values() if r[bookmark_column]),
            default=None,
        )
        for key in reloaded_keys - changed:
            assert new[key][bookmark_column]["datetime"] == bookmark, (name, key, new[key])


# --------------------------------------------------------------------------- DuckDB


def test_duckdb_warehouse_gets_every_row_then_exactly_the_changes(pipeline: Pipeline) -> None:
    truth = SandboxTruth(pipeline.sandbox)
    target = str(pipeline.duckdb_path)

    pipeline.run("tap-afas", "target-duckdb", TARGET_DUCKDB_BATCH_SIZE_ROWS=BATCH_ROWS)
    first_truth = truth.snapshot()
    first = read_warehouse("duckdb", target)
    assert_warehouse_equals_sandbox(first, first_truth)
    sums = assert_warehouse_equals_sandbox(first, without_joined_fields(first_truth))
    assert_column_types(first, first_truth, DUCKDB_TYPES)
    assert_names_as_afas_gives_them(first, first_truth)
    assert sum(len(t.rows) for t in first.tables.values()) == sum(
        len(rows) for _, rows in first_truth.values()
    )

    changes = mutate(pipeline.sandbox)
    pipeline.run("tap-afas", "target-duckdb", TARGET_DUCKDB_BATCH_SIZE_ROWS=BATCH_ROWS)
    second = read_warehouse("duckdb", target)
    second_sums = assert_warehouse_equals_sandbox(second, without_joined_fields(truth.snapshot()))
    assert_changes_landed(first, second, changes, tombstones=False)
    assert_incremental(first, second)
    changed_tables = {stream_name(c) for c in MUTATIONS} | {"profit_deleted_records"}
    assert {n for n in sums if sums[n] != second_sums[n]} == changed_tables


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_warehouse_gets_every_row_then_exactly_the_changes(
    pipeline: Pipeline, postgres_server: PostgresServer
) -> None:
    reset_schema(postgres_server)
    env = {**postgres_server.loader_env(), "TARGET_POSTGRES_BATCH_SIZE_ROWS": BATCH_ROWS}
    truth = SandboxTruth(pipeline.sandbox)

    pipeline.run("tap-afas", "target-postgres", **env)
    first_truth = truth.snapshot()
    first = read_warehouse("postgres", postgres_server.dsn)
    assert_warehouse_equals_sandbox(first, first_truth)
    sums = assert_warehouse_equals_sandbox(first, without_joined_fields(first_truth))
    assert_column_types(first, first_truth, POSTGRES_TYPES)
    assert_names_as_afas_gives_them(first, first_truth)

    changes = mutate(pipeline.sandbox)
    pipeline.run("tap-afas", "target-postgres", **env)
    second = read_warehouse("postgres", postgres_server.dsn)
    second_sums = assert_warehouse_equals_sandbox(second, without_joined_fields(truth.snapshot()))
    assert_changes_landed(first, second, changes, tombstones=True)
    assert_incremental(first, second)
    changed_tables = {stream_name(c) for c in MUTATIONS} | {"profit_deleted_records"}
    assert {n for n in sums if sums[n] != second_sums[n]} == changed_tables
