"""Tap layer: syncs against the sandbox over real HTTP; records compared with the sandbox's rows.

Expected records are the sandbox's own rows (``skip=-1&take=-1`` with plain ``requests``),
converted in the test with ``zoneinfo`` (see ``tests.support.sandbox_reading.expected_record``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from afas_sandbox import ManualClock, RunningSandbox
from tests.support.clock import clock_ahead
from tests.support.recorders import RequestRecorder
from tests.support.records import duplicates, key_of, multiset, utc
from tests.support.sandbox_reading import SandboxReader, local_to_utc_iso
from tests.support.tap_runs import TapRun, discover, run_tap, tap_config

INCREMENTAL = {
    "Profit_Persons": "ModifiedDate",
    "Profit_Organisations": "modified_date",
    "Profit_Employees": "Gewijzigd_op",
    "Profit_Debtors": "DatumGewijzigd",
    "Profit_Subjects": "Gewijzigd",
    "Profit_Transactions": "Mutatiedatum",
    "Profit_FreeTable_K01": "Datum_gewijzigd",
    "Profit_Deleted_Records": "Datum_mutatie",
}
FULL_TABLE = ("Profit_Administrations", "Profit_Subject_Attachments")
PERSON_KEY = ("PersonId",)
TRANSACTION_KEY = ("UnitId", "EntryNo", "SeqNo")


def stream(connector: str) -> str:
    return connector.lower()


def _keys(run: TapRun, connector: str) -> list[str]:
    key_fields = run.schemas[stream(connector)]["key_properties"]
    return [key_of(r, key_fields) for r in run.records(stream(connector))]


def _assert_exact(run: TapRun, reader: SandboxReader, connectors: list[str]) -> None:
    for connector in connectors:
        records = run.records(stream(connector))
        expected = reader.expected(connector)
        assert duplicates(_keys(run, connector)) == [], connector
        assert len(records) == len(expected), connector
        assert multiset(records) == multiset(expected), connector


def test_full_sync_emits_exactly_the_sandbox_rows(
    config: dict[str, Any], reader: SandboxReader
) -> None:
    run = run_tap(config)
    connectors = reader.connector_ids()
    assert set(run.schemas) == {stream(c) for c in connectors}
    assert set(run.by_stream) <= {stream(c) for c in connectors}
    _assert_exact(run, reader, connectors)
    # Sanity: the demo data is not empty where it matters.
    assert len(run.records("profit_transactions")) == 2000
    assert len(run.records("profit_persons")) > 100


def test_records_carry_utc_datetimes_iso_dates_times_and_exact_decimals(
    config: dict[str, Any], reader: SandboxReader
) -> None:
    run = run_tap(config)
    employee = run.records("profit_employees")[0]
    assert len(employee["StartTime"]) == 8  # HH:MM:SS
    assert employee["Gewijzigd_op"].endswith("+00:00")
    raw = {r["EmployeeId"]: r for r in reader.all_rows("Profit_Employees")}[employee["EmployeeId"]]
    assert employee["Gewijzigd_op"] == local_to_utc_iso(raw["Gewijzigd_op"])
    assert employee["Salary"] == raw["Salary"]  # Decimal == Decimal: every digit kept
    assert employee["BirthDate"] == raw["BirthDate"][:10]


def test_incremental_run_with_the_final_state_emits_nothing_new(config: dict[str, Any]) -> None:
    first = run_tap(config)
    assert first.state is not None
    second = run_tap(config, first.state)
    for connector in INCREMENTAL:
        assert second.records(stream(connector)) == [], connector
    for connector in FULL_TABLE:  # full-table streams are read whole every time
        assert multiset(second.records(stream(connector))) == multiset(
            first.records(stream(connector))
        )


def test_next_run_after_mutations_emits_exactly_the_changed_rows(
    afas_sandbox: RunningSandbox, config: dict[str, Any], reader: SandboxReader
) -> None:
    first = run_tap(config)
    persons = afas_sandbox.mutate("Profit_Persons", inserts=3, updates=12, deletes=2)
    transactions = afas_sandbox.mutate("Profit_Transactions", inserts=2, updates=15, deletes=2)
    assert persons.deleted
    assert transactions.deleted
    second = run_tap(config, first.state, clock=clock_ahead())

    for connector, result, key_fields in (
        ("Profit_Persons", persons, PERSON_KEY),
        ("Profit_Transactions", transactions, TRANSACTION_KEY),
    ):
        now = {key_of(r, key_fields): r for r in reader.expected(connector)}
        changed = (set(result.inserted) | set(result.updated)) & set(now)
        records = second.records(stream(connector))
        keys = [key_of(r, key_fields) for r in records]
        assert duplicates(keys) == [], connector
        assert set(keys) == changed, connector
        assert multiset(records) == multiset([now[k] for k in changed]), connector
        assert not set(keys) & set(result.deleted), connector

    deleted = second.records("profit_deleted_records")
    assert {r["Sleutel"] for r in deleted} == set(persons.deleted) | set(transactions.deleted)
    assert multiset(deleted) == multiset(reader.expected("Profit_Deleted_Records"))
    for connector in set(INCREMENTAL) - {
        "Profit_Persons",
        "Profit_Transactions",
        "Profit_Deleted_Records",
    }:
        assert second.records(stream(connector)) == [], connector


def test_records_never_pass_the_sync_start(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    # Rows stamped an hour ahead (sandbox clock) were changed after this sync starts.
    ahead = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    sandbox = afas_sandbox_factory(clock=ManualClock(ahead))
    future = sandbox.mutate("Profit_Persons", inserts=2, updates=5)
    started = datetime.now(timezone.utc)
    run = run_tap(tap_config(sandbox))
    for connector, field in INCREMENTAL.items():
        for record in run.records(stream(connector)):
            if record[field] is not None:  # undated rows are read by a first sync too
                assert utc(record[field]) <= started, (connector, record[field])
    assert run.state is not None
    for name, bookmark in run.state["bookmarks"].items():
        value = bookmark.get("replication_key_value")
        if value is not None:
            assert utc(value) <= started, (name, value)
    keys = {r["PersonId"] for r in run.records("profit_persons")}
    assert not keys & set(future.inserted + future.updated)


def _boundary(reader: SandboxReader) -> datetime:
    """A UTC second with rows one second before it and none shown at it (so not ambiguous)."""
    shown = {
        utc(local_to_utc_iso(r[field]))
        for connector, field in INCREMENTAL.items()
        for r in reader.all_rows(connector)
        if r[field]
    }
    transactions = sorted(
        utc(local_to_utc_iso(r["Mutatiedatum"])) for r in reader.all_rows("Profit_Transactions")
    )
    for candidate in transactions[len(transactions) // 2 :]:
        start = candidate + timedelta(seconds=1)
        if start not in shown:
            return start
    raise AssertionError("no usable boundary in the demo data")


def test_start_date_limits_the_first_sync(
    afas_sandbox: RunningSandbox, config: dict[str, Any], reader: SandboxReader
) -> None:
    start = _boundary(reader)
    run = run_tap({**config, "start_date": start.isoformat().replace("+00:00", "Z")})
    for connector, field in INCREMENTAL.items():
        expected = [r for r in reader.expected(connector) if r[field] and utc(r[field]) >= start]
        assert multiset(run.records(stream(connector))) == multiset(expected), connector
    # A row one second before the start exists and was left out (start_date is UTC, not local).
    before = start - timedelta(seconds=1)
    assert any(utc(r["Mutatiedatum"]) == before for r in reader.expected("Profit_Transactions"))
    for connector in FULL_TABLE:
        assert multiset(run.records(stream(connector))) == multiset(reader.expected(connector))


def test_filters_setting_limits_rows(config: dict[str, Any], reader: SandboxReader) -> None:
    run = run_tap(
        {
            **config,
            "filters": {
                "Profit_Transactions": [{"field": "UnitId", "operator": "=", "value": "1"}],
                "Profit_Persons": [{"field": "City", "operator": "starts_with", "value": "h"}],
                "Profit_Administrations": [{"field": "AdminId", "operator": 7, "value": "2"}],
            },
        }
    )
    transactions = [r for r in reader.expected("Profit_Transactions") if r["UnitId"] == 1]
    persons = [
        r for r in reader.expected("Profit_Persons") if (r["City"] or "").lower().startswith("h")
    ]
    administrations = [r for r in reader.expected("Profit_Administrations") if r["AdminId"] != 2]
    assert 0 < len(transactions) < 2000
    assert persons
    assert multiset(run.records("profit_transactions")) == multiset(transactions)
    assert multiset(run.records("profit_persons")) == multiset(persons)
    assert multiset(run.records("profit_administrations")) == multiset(administrations)
    # Connectors without a filter are read whole.
    assert multiset(run.records("profit_debtors")) == multiset(reader.expected("Profit_Debtors"))


def test_small_pages_still_give_exact_results(
    config: dict[str, Any], reader: SandboxReader, recorder: RequestRecorder
) -> None:
    run = run_tap({**config, "page_size": 7})
    _assert_exact(run, reader, reader.connector_ids())
    requests = [s for s in recorder.pages("Profit_Transactions") if s.params.get("skip") != "-1"]
    probes = [s for s in requests if s.params.get("take") == "1"]  # partition boundaries
    pages = [s for s in requests if s not in probes]
    assert len(probes) <= 2
    assert len(pages) > 2000 // 7 // 2  # it really paged
    assert all(s.params.get("take") == "7" for s in pages)


def test_integration_id_header_is_sent_on_every_request(
    config: dict[str, Any], recorder: RequestRecorder
) -> None:
    run_tap({**config, "integration_id": "12345_678900", "connectors": ["Profit_Persons"]})
    assert recorder.seen
    assert recorder.pages("Profit_Persons")
    for request in recorder.seen:
        assert request.header("IntegrationId") == "12345_678900", request.path


def test_replication_key_override_to_full_table_reads_everything_each_run(
    config: dict[str, Any], reader: SandboxReader
) -> None:
    settings = {
        **config,
        "connectors": ["Profit_Persons"],
        "replication_keys": {"Profit_Persons": ""},
    }
    first = run_tap(settings)
    second = run_tap(settings, first.state)
    expected = multiset(reader.expected("Profit_Persons"))
    assert multiset(first.records("profit_persons")) == expected
    assert multiset(second.records("profit_persons")) == expected


def test_token_accepted_as_xml_hex_data_or_base64(afas_sandbox: RunningSandbox) -> None:
    token = afas_sandbox.tokens.full
    for value in (
        token.xml,
        token.data,
        token.data.lower(),
        base64.b64encode(token.xml.encode()).decode(),
    ):
        run = run_tap(tap_config(afas_sandbox, token=value, connectors=["Profit_Administrations"]))
        assert len(run.records("profit_administrations")) == 3


def test_rows_with_an_empty_modified_date_are_read_by_the_first_sync_only(
    config: dict[str, Any],
) -> None:
    """The demo's free table has projects imported without a change date (SqNo 1, 14, 27,
    40): no modified-date window reaches them, so the first sync reads them after its window."""
    first = run_tap(config)
    undated = [r for r in first.records("profit_freetable_k01") if r["Datum_gewijzigd"] is None]
    assert [r["SqNo"] for r in undated] == [1, 14, 27, 40]
    assert "4 rows with an empty Datum_gewijzigd were read" in first.log
    assert "New replication value is null" not in first.log  # one line, not one per row
    assert first.state is not None
    assert "empty_pending" not in first.state["bookmarks"]["profit_freetable_k01"]["afas_progress"]

    second = run_tap(config, first.state)
    assert second.records("profit_freetable_k01") == []

    since = run_tap({**config, "start_date": "2000-01-01T00:00:00Z"})
    assert since.records("profit_freetable_k01")
    assert all(r["Datum_gewijzigd"] for r in since.records("profit_freetable_k01"))


def test_stream_maps_selection_and_flattening_still_apply(
    afas_sandbox: RunningSandbox, reader: SandboxReader
) -> None:
    """singer-sdk's record path is kept whole: a stream map (alias, filter, computed and dropped
    properties), flattening, and a property deselected in the catalog."""
    config = tap_config(
        afas_sandbox,
        connectors=["Profit_Persons"],
        flattening_enabled=True,
        flattening_max_depth=1,
        stream_maps={
            "profit_persons": {
                "__alias__": "people",
                "__filter__": "Gender == 'M'",
                "name": "FirstName + ' ' + LastName",
                "Phone": None,
            }
        },
    )
    catalog = discover(config)  # as discovered, then one property deselected
    (entry,) = catalog["streams"]
    for item in entry["metadata"]:
        if item["breadcrumb"] == ["properties", "Email"]:
            item["metadata"]["selected"] = False
    run = run_tap(config, catalog=catalog)
    expected = [r for r in reader.expected("Profit_Persons") if r["Gender"] == "M"]
    people = run.records("people")
    assert len(expected) > 10, "precondition: the demo has men and women"
    assert len(expected) < len(reader.expected("Profit_Persons"))
    assert run.records("profit_persons") == []
    assert sorted(r["PersonId"] for r in people) == sorted(r["PersonId"] for r in expected)
    by_id = {r["PersonId"]: r for r in expected}
    for record in people:
        source = by_id[record["PersonId"]]
        assert record["name"] == f"{source['FirstName']} {source['LastName']}"
        assert "Phone" not in record, "dropped by the map"
        assert "Email" not in record, "deselected in the catalog"
        assert record["ModifiedDate"] == source["ModifiedDate"]
