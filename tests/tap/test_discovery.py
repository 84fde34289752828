"""Tap layer: discovery (``--discover``) against the sandbox's metainfo over real HTTP.

Expected catalogs are derived from the sandbox's own ``/metainfo`` and ``/metainfo/get/{id}``
read with plain ``requests``; the mapping rules are the documented ones (tap brief).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from tap_afas.tap import TapAFAS
from tests.support.plugin_runs import keep_signal_handlers
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.tap_runs import discover, discovery_error, run_tap, run_tap_cli, tap_config

DOCUMENTED_REPLICATION_KEYS: dict[str, str | None] = {
    "Profit_Administrations": None,
    "Profit_Persons": "ModifiedDate",
    "Profit_Organisations": "modified_date",
    "Profit_Employees": "Gewijzigd_op",
    "Profit_Debtors": "DatumGewijzigd",
    "Profit_Subjects": "Gewijzigd",
    "Profit_Subject_Attachments": None,
    "Profit_Transactions": "Mutatiedatum",
    "Profit_FreeTable_K01": "Datum_gewijzigd",
    "Profit_Deleted_Records": "Datum_mutatie",
    "Profit_Contacts": "Datum_wijziging",
    "Profit_Subject_Files": "LastModified",
    "Profit_Images": "Laatst_gewijzigd",
}

# The leading run of fields whose ids end in Id/Nr/No/Nummer/Number/Code/Key.
DOCUMENTED_KEYS: dict[str, list[str]] = {
    "Profit_Administrations": ["AdminId"],
    "Profit_Persons": ["PersonId"],
    "Profit_Organisations": ["OrganisationId"],
    "Profit_Employees": ["EmployeeId", "PersonId"],
    "Profit_Debtors": ["DebtorId", "RelationId"],
    "Profit_Subjects": ["SubjectId"],
    "Profit_Subject_Attachments": ["attachment_id", "subject_id", "file_id"],
    "Profit_Transactions": ["UnitId", "EntryNo", "SeqNo"],
    "Profit_FreeTable_K01": ["SqNo"],
    "Profit_Deleted_Records": ["LogId"],
    "Profit_Contacts": ["ContactId"],
    "Profit_Subject_Files": ["SubjectId", "FileId"],
    "Profit_Images": ["ImageId"],
}

STREAM_NAMES = {
    "Profit_Administrations": "profit_administrations",
    "Profit_Persons": "profit_persons",
    "Profit_Organisations": "profit_organisations",
    "Profit_Contacts": "profit_contacts",
    "Profit_Employees": "profit_employees",
    "Profit_Debtors": "profit_debtors",
    "Profit_Subjects": "profit_subjects",
    "Profit_Subject_Attachments": "profit_subject_attachments",
    "Profit_Transactions": "profit_transactions",
    "Profit_FreeTable_K01": "profit_freetable_k01",
    "Profit_Deleted_Records": "profit_deleted_records",
    "Profit_Subject_Files": "profit_subject_files",
    "Profit_Images": "profit_images",
}


def _streams(catalog: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["tap_stream_id"]: s for s in catalog["streams"]}


def _root_metadata(stream: dict[str, Any]) -> dict[str, Any]:
    for entry in stream.get("metadata", []):
        if entry["breadcrumb"] == []:
            root: dict[str, Any] = entry["metadata"]
            return root
    return {}


def _replication_key(stream: dict[str, Any]) -> str | None:
    key: str | None = stream.get("replication_key") or _root_metadata(stream).get("replication-key")
    return key


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _expected_property(field: dict[str, Any]) -> tuple[set[str], str | None, str | None]:
    """(JSON types, format, contentEncoding) per the documented dataType table."""
    data_type = field["dataType"]
    control = int(field.get("controlType") or 0)
    if data_type == "int":
        return {"integer", "null"}, None, None
    if data_type == "decimal":
        return {"number", "null"}, None, None
    if data_type == "boolean":
        return {"boolean", "null"}, None, None
    if data_type == "blob":
        return {"string", "null"}, None, "base64"
    if data_type == "date":
        fmt = {4: "date", 7: "time"}.get(control, "date-time")
        return {"string", "null"}, fmt, None
    return {"string", "null"}, None, None


def test_cli_discover_lists_one_stream_per_get_connector_of_the_token(
    afas_sandbox: RunningSandbox, reader: SandboxReader, tmp_path: Path
) -> None:
    done = run_tap_cli(tmp_path, tap_config(afas_sandbox), "--discover")
    assert done.returncode == 0, done.stderr[-2000:]
    catalog = json.loads(done.stdout)
    streams = _streams(catalog)
    connectors = reader.connector_ids()
    assert sorted(connectors) == sorted(DOCUMENTED_REPLICATION_KEYS)
    assert sorted(streams) == sorted(STREAM_NAMES[c] for c in connectors)
    for connector in connectors:
        stream = streams[STREAM_NAMES[connector]]
        assert stream["stream"] == STREAM_NAMES[connector]
        assert stream["key_properties"] == DOCUMENTED_KEYS[connector], connector
        assert _replication_key(stream) == DOCUMENTED_REPLICATION_KEYS[connector], connector
        method = "INCREMENTAL" if DOCUMENTED_REPLICATION_KEYS[connector] else "FULL_TABLE"
        assert stream.get("replication_method") == method, connector


def test_transactions_and_administrations_as_documented(afas_sandbox: RunningSandbox) -> None:
    streams = _streams(discover(tap_config(afas_sandbox)))
    transactions = streams["profit_transactions"]
    assert transactions["key_properties"] == ["UnitId", "EntryNo", "SeqNo"]
    assert _replication_key(transactions) == "Mutatiedatum"
    assert transactions["replication_method"] == "INCREMENTAL"
    administrations = streams["profit_administrations"]
    assert _replication_key(administrations) is None
    assert administrations["replication_method"] == "FULL_TABLE"


def test_schemas_map_every_data_type_and_use_labels_as_descriptions(
    afas_sandbox: RunningSandbox, reader: SandboxReader
) -> None:
    streams = _streams(discover(tap_config(afas_sandbox)))
    seen_types: set[tuple[str, int]] = set()
    for connector in reader.connector_ids():
        properties = streams[STREAM_NAMES[connector]]["schema"]["properties"]
        fields = reader.fields(connector)
        extra = set(properties) - {f["id"] for f in fields}
        assert all(name.startswith("_sdc_") for name in extra), (connector, extra)
        for field in fields:
            prop = properties.get(field["id"])
            assert prop is not None, (connector, field["id"])
            types, fmt, encoding = _expected_property(field)
            assert _types(prop) == types, (connector, field["id"], prop)
            assert prop.get("format") == fmt, (connector, field["id"], prop)
            assert prop.get("contentEncoding") == encoding, (connector, field["id"], prop)
            assert prop.get("description") == field["label"], (connector, field["id"], prop)
            control = int(field.get("controlType") or 0) if field["dataType"] == "date" else 0
            seen_types.add((field["dataType"], control))
    # The demo covers every documented type, including the three date controls.
    assert {"string", "int", "decimal", "boolean", "blob"} <= {t for t, _ in seen_types}
    assert {("date", 4), ("date", 7), ("date", 8)} <= seen_types


def test_custom_fields_and_blob_are_in_the_persons_schema(afas_sandbox: RunningSandbox) -> None:
    persons = _streams(discover(tap_config(afas_sandbox)))["profit_persons"]
    properties = persons["schema"]["properties"]
    assert _types(properties["Lidnummer"]) == {"string", "null"}
    assert properties["Lidnummer"]["description"] == "Lidnummer"
    assert _types(properties["Nieuwsbrief"]) == {"boolean", "null"}
    assert properties["Pasfoto"].get("contentEncoding") == "base64"
    assert properties["ModifiedDate"].get("format") == "date-time"
    assert properties["BirthDate"].get("format") == "date"


def test_limited_token_lists_only_its_three_connectors(afas_sandbox: RunningSandbox) -> None:
    config = tap_config(afas_sandbox, token=afas_sandbox.tokens.limited.xml)
    streams = _streams(discover(config))
    assert sorted(streams) == ["profit_administrations", "profit_employees", "profit_persons"]


@pytest.mark.parametrize(
    ("token", "connector"),
    [
        ("limited", "Profit_Transactions"),  # exists, not in the limited App Connector
        ("full", "Profit_DoesNotExist"),  # does not exist
    ],
)
def test_named_connector_the_token_may_not_use_is_an_error_naming_it(
    afas_sandbox: RunningSandbox, token: str, connector: str
) -> None:
    config = tap_config(
        afas_sandbox,
        token=getattr(afas_sandbox.tokens, token).xml,
        connectors=["Profit_Persons", connector],
    )
    message = discovery_error(config)
    assert connector in message


def test_glob_patterns_and_exclude_connectors_select_streams(afas_sandbox: RunningSandbox) -> None:
    config = tap_config(
        afas_sandbox,
        connectors=["Profit_Subject*", "Profit_Persons", "Profit_Free?able_K01"],
        exclude_connectors=["*_Attachments", "*_Files"],
    )
    streams = _streams(discover(config))
    assert sorted(streams) == ["profit_freetable_k01", "profit_persons", "profit_subjects"]


def test_exclude_connectors_alone_removes_from_all(afas_sandbox: RunningSandbox) -> None:
    config = tap_config(afas_sandbox, exclude_connectors=["Profit_Transactions", "*Deleted*"])
    streams = _streams(discover(config))
    expected = set(STREAM_NAMES.values()) - {"profit_transactions", "profit_deleted_records"}
    assert set(streams) == expected


def test_replication_key_and_primary_key_overrides_show_in_the_catalog(
    afas_sandbox: RunningSandbox,
) -> None:
    config = tap_config(
        afas_sandbox,
        replication_keys={"Profit_Debtors": "CreatedOn", "Profit_Persons": ""},
        primary_keys={"Profit_Debtors": ["DebtorId"], "Profit_Subject_Attachments": ["file_id"]},
    )
    streams = _streams(discover(config))
    debtors = streams["profit_debtors"]
    assert _replication_key(debtors) == "CreatedOn"
    assert debtors["replication_method"] == "INCREMENTAL"
    assert debtors["key_properties"] == ["DebtorId"]
    persons = streams["profit_persons"]
    assert _replication_key(persons) is None
    assert persons["replication_method"] == "FULL_TABLE"
    assert streams["profit_subject_attachments"]["key_properties"] == ["file_id"]
    # Untouched connectors keep their detected keys.
    assert _replication_key(streams["profit_transactions"]) == "Mutatiedatum"


def test_null_replication_key_override_means_full_table(afas_sandbox: RunningSandbox) -> None:
    config = tap_config(afas_sandbox, replication_keys={"Profit_Transactions": None})
    transactions = _streams(discover(config))["profit_transactions"]
    assert _replication_key(transactions) is None
    assert transactions["replication_method"] == "FULL_TABLE"


@pytest.mark.parametrize(
    "override",
    [
        {"replication_keys": {"Profit_Debtors": "ChangedWhen"}},
        {"primary_keys": {"Profit_Debtors": ["DebtorId", "ChangedWhen"]}},
    ],
)
def test_override_naming_a_missing_field_is_a_clear_error(
    afas_sandbox: RunningSandbox, override: dict[str, Any]
) -> None:
    message = discovery_error(tap_config(afas_sandbox, **override))
    assert "ChangedWhen" in message
    assert "Profit_Debtors" in message


@pytest.mark.parametrize("parallel", [1, 4])
def test_connectors_metainfo_is_read_in_parallel_within_the_limit(
    afas_sandbox_factory: Callable[..., RunningSandbox], parallel: int
) -> None:
    """One metainfo request per connector: 13 connectors at 50 ms each take 0.65 s one by one,
    a quarter of that four at a time; the catalog is the same either way, in the same order."""
    sandbox = afas_sandbox_factory()
    one_by_one = discover(tap_config(sandbox, max_parallel_requests=1))
    sandbox.latency.fixed_ms = 50
    recorder = RequestRecorder(sandbox)
    catalog = discover(tap_config(sandbox, max_parallel_requests=parallel))
    assert catalog == one_by_one
    gets = [s for s in recorder.seen if s.path.split("/metainfo/")[-1].startswith("get/")]
    assert len(gets) == len(DOCUMENTED_KEYS)
    assert recorder.max_in_flight == parallel


def test_named_connectors_metainfo_is_asked_for_while_metainfo_answers(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    """Connectors named in full (no wildcard) are asked for while /metainfo answers: discovery
    costs one latency, not two; a wildcard waits for /metainfo's list, a name that turns out
    not to exist still gets the one clear error."""
    sandbox = afas_sandbox_factory()
    sandbox.latency.fixed_ms = 150
    recorder = RequestRecorder(sandbox)
    named = ["Profit_Transactions", "Profit_Persons"]
    catalog = discover(tap_config(sandbox, connectors=named, max_parallel_requests=3))
    assert sorted(s["tap_stream_id"] for s in catalog["streams"]) == sorted(
        ["profit_transactions", "profit_persons"]
    )
    (listing,) = [s for s in recorder.seen if s.path.endswith("/metainfo")]
    gets = [s for s in recorder.seen if "/metainfo/get/" in s.path]
    assert sorted(s.path.rsplit("/", 1)[-1] for s in gets) == sorted(named)
    assert all(s.started < listing.finished for s in gets)

    recorder.seen.clear()
    discover(tap_config(sandbox, connectors=["Profit_Trans*"], max_parallel_requests=3))
    (listing,) = [s for s in recorder.seen if s.path.endswith("/metainfo")]
    (get,) = [s for s in recorder.seen if "/metainfo/get/" in s.path]
    assert get.started >= listing.finished

    message = discovery_error(tap_config(sandbox, connectors=["Profit_Nope"]))
    assert "'Profit_Nope' (setting 'connectors') is not available to this token" in message


def _selecting(catalog: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """``catalog`` with only ``streams`` selected, as Meltano passes it to a sync."""
    chosen = json.loads(json.dumps(catalog))
    for entry in chosen["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return chosen


def _metainfo_gets(recorder: RequestRecorder) -> list[str]:
    return sorted(s.path.rsplit("/", 1)[-1] for s in recorder.seen if "/metainfo/get/" in s.path)


def test_a_sync_with_a_catalog_asks_only_for_the_selected_connectors_metainfo(
    afas_sandbox: RunningSandbox,
) -> None:
    """singer-sdk syncs only the streams a catalog selects, so a sync given one (Meltano always
    gives one) asks for the metainfo of those connectors only; its records are those connectors'
    rows. A discovery given the same catalog still lists every connector."""
    catalog = _selecting(
        discover(tap_config(afas_sandbox)), {"profit_persons", "profit_administrations"}
    )
    recorder = RequestRecorder(afas_sandbox)
    run = run_tap(tap_config(afas_sandbox), catalog=catalog)
    assert _metainfo_gets(recorder) == ["Profit_Administrations", "Profit_Persons"]
    assert sorted(run.by_stream) == ["profit_administrations", "profit_persons"]
    with SandboxReader(afas_sandbox) as reader:
        for connector in ("Profit_Administrations", "Profit_Persons"):
            assert len(run.records(connector.lower())) == len(reader.all_rows(connector))
    # The bookmarks of streams the catalog leaves out are kept as they came.
    state = run_tap(tap_config(afas_sandbox)).state
    assert state is not None
    kept = run_tap(tap_config(afas_sandbox), state, catalog=catalog).state
    assert kept is not None
    for name in ("profit_transactions", "profit_debtors", "profit_subjects"):
        assert kept["bookmarks"][name] == state["bookmarks"][name], name

    recorder.seen.clear()  # singer-sdk's --discover builds the tap without the catalog; in
    # process a tap given one can still be asked to discover
    with keep_signal_handlers():
        tap = TapAFAS(config=tap_config(afas_sandbox), catalog=catalog, parse_env_config=False)
        listed = json.loads(tap.run_discovery())
    assert len(listed["streams"]) == len(DOCUMENTED_KEYS)
    assert _metainfo_gets(recorder) == sorted(DOCUMENTED_KEYS)
