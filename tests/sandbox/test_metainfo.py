"""Sandbox contract, metainfo layer: /metainfo, /metainfo/get/{id}, /metainfo/update/{id}.

Pins afas-rest-api.md section 4 and 11 (a)-(c) and the brief's demo contract: the exact key
sets (with AFAS's spellings ``decimalsFieldId`` vs ``decimalFieldId`` and ``notzero``), the six
data types, the date controlTypes, custom ``U`` + 32 hex field ids, root object names,
the demo's GetConnectors with their different modified-date names, compact JSON, and
case-insensitive paths. Also /profitversion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.sandbox_reading import RawClient

DATA_TYPES = {"string", "int", "decimal", "date", "boolean", "blob"}
GET_FIELD_KEYS = {
    "id",
    "fieldId",
    "dataType",
    "label",
    "length",
    "controlType",
    "decimals",
    "decimalsFieldId",
}
UPDATE_FIELD_KEYS = {
    "fieldId",
    "primaryKey",
    "dataType",
    "label",
    "mandatory",
    "length",
    "decimals",
    "decimalFieldId",
    "notzero",
    "controlType",
    "values",
}
REQUIRED_GET = [
    "Profit_Administrations",
    "Profit_Employees",
    "Profit_Persons",
    "Profit_Organisations",
    "Profit_Debtors",
    "Profit_Subjects",
    "Profit_Transactions",
    "Profit_Deleted_Records",
    "Profit_FreeTable_K01",
]
DEMO_GET = [
    *REQUIRED_GET,
    "Profit_Subject_Attachments",
    "Profit_Contacts",
    "Profit_Subject_Files",
    "Profit_Images",
]
DEMO_UPDATE = ["KnPerson", "KnOrganisation", "KnSubject", "KnEmployee", "FiEntries", "KnCustomK01"]
ROOT_NAMES = {
    "KnPerson": "KnPerson",
    "KnOrganisation": "KnOrganisation",
    "KnSubject": "KnSubject",
    "KnEmployee": "AfasEmployee",
    "FiEntries": "FiEntryPar",
    "KnCustomK01": "KnCustomK01",
}
MODIFIED_FIELDS = {
    "Profit_Persons": "ModifiedDate",
    "Profit_Organisations": "modified_date",
    "Profit_Employees": "Gewijzigd_op",
    "Profit_Debtors": "DatumGewijzigd",
    "Profit_Subjects": "Gewijzigd",
    "Profit_Transactions": "Mutatiedatum",
    "Profit_FreeTable_K01": "Datum_gewijzigd",
    "Profit_Deleted_Records": "Datum_mutatie",
    "Profit_Contacts": "Datum_wijziging",
}
CUSTOM_FIELD = re.compile(r"U[0-9A-F]{32}")
PROJECT_NAME_FIELD = "U018A40C7A37A5B7A93502E52BF447225"


def _json(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers.get("Content-Type", "").startswith("application/json")
    return response.json()


def _assert_compact(response: requests.Response) -> None:
    """The body is one-line compact JSON: re-serialising it compactly gives the same bytes."""
    value = json.loads(response.content)
    candidates = {
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("utf-8"),
    }
    assert response.content in candidates, response.content[:300]
    assert b"\n" not in response.content


def _walk_update_objects(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for child in node["objects"]:
        yield from _walk_update_objects(child, f"{path}/{child['name']}")


def _update_fields(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for _, node in _walk_update_objects(meta, meta["name"]) for f in node["fields"]]


# --- /metainfo ------------------------------------------------------------------------------


def test_metainfo_shape(client: RawClient) -> None:
    response = client.get("/metainfo")
    body = _json(response)
    _assert_compact(response)
    assert set(body) == {"updateConnectors", "getConnectors", "info"}
    for key in ("updateConnectors", "getConnectors"):
        assert isinstance(body[key], list)
        assert body[key]
        for entry in body[key]:
            assert set(entry) == {"id", "description"}
            assert isinstance(entry["id"], str)
            assert isinstance(entry["description"], str)
            assert entry["description"]
        ids = [entry["id"] for entry in body[key]]
        assert len(ids) == len(set(ids))
    info = body["info"]
    assert set(info) == {"envid", "appName", "group", "tokenExpiry"}
    assert all(isinstance(v, str) and v for v in info.values())


def test_metainfo_lists_the_demo_connectors(client: RawClient) -> None:
    body = _json(client.get("/metainfo"))
    get_ids = {c["id"] for c in body["getConnectors"]}
    update_ids = {c["id"] for c in body["updateConnectors"]}
    assert get_ids >= set(REQUIRED_GET)
    assert get_ids == set(DEMO_GET)
    assert update_ids == set(DEMO_UPDATE)


# --- /metainfo/get/{id} ---------------------------------------------------------------------


@pytest.mark.parametrize("connector", DEMO_GET)
def test_get_metainfo_shape(client: RawClient, connector: str) -> None:
    response = client.get(f"/metainfo/get/{connector}")
    meta = _json(response)
    _assert_compact(response)
    assert set(meta) == {"name", "description", "fields"}
    assert meta["name"] == connector
    assert isinstance(meta["description"], str)
    assert meta["description"]
    assert meta["fields"]
    for field in meta["fields"]:
        assert set(field) == GET_FIELD_KEYS, field
        for key in ("id", "fieldId", "dataType", "label", "decimalsFieldId"):
            assert isinstance(field[key], str), (key, field)
        for key in ("length", "controlType", "decimals"):
            assert type(field[key]) is int, (key, field)
        assert field["id"]
        assert field["fieldId"]
        assert field["dataType"] in DATA_TYPES
        assert field["length"] >= 0
        assert field["decimals"] >= 0
        if field["dataType"] == "date":
            assert field["controlType"] in (4, 7, 8), field
    ids = [f["id"] for f in meta["fields"]]
    assert len(ids) == len({i.lower() for i in ids})


def test_every_data_type_appears_in_get_metainfo(client: RawClient) -> None:
    seen: set[str] = set()
    date_controls: set[int] = set()
    for connector in DEMO_GET:
        for field in _json(client.get(f"/metainfo/get/{connector}"))["fields"]:
            seen.add(field["dataType"])
            if field["dataType"] == "date":
                date_controls.add(field["controlType"])
    assert seen == DATA_TYPES
    assert date_controls == {4, 7, 8}


def test_get_metainfo_of_documented_fields(client: RawClient) -> None:
    def fields(connector: str) -> dict[str, dict[str, Any]]:
        meta = _json(client.get(f"/metainfo/get/{connector}"))
        return {f["id"]: f for f in meta["fields"]}

    persons = fields("Profit_Persons")
    assert persons["Pasfoto"]["dataType"] == "blob"
    assert persons["Lidnummer"]["dataType"] == "string"
    assert persons["Nieuwsbrief"]["dataType"] == "boolean"
    assert persons["BirthDate"]["dataType"] == "date"
    assert persons["BirthDate"]["controlType"] == 4
    employees = fields("Profit_Employees")
    assert employees["StartTime"]["dataType"] == "date"
    assert employees["StartTime"]["controlType"] == 7
    assert employees["HoursPerWeek"]["dataType"] == "decimal"
    transactions = fields("Profit_Transactions")
    for key in ("UnitId", "EntryNo", "SeqNo"):
        assert transactions[key]["dataType"] == "int"
    assert set(fields("Profit_Subject_Attachments")) == {
        "attachment_id",
        "subject_id",
        "file_id",
        "file_name",
    }
    assert set(fields("Profit_Deleted_Records")) == {
        "LogId",
        "Tabel",
        "Sleutel",
        "Mutatie",
        "Gebruiker",
        "Datum_mutatie",
    }


def test_modified_date_field_names_differ_across_connectors(client: RawClient) -> None:
    for connector, name in MODIFIED_FIELDS.items():
        meta = _json(client.get(f"/metainfo/get/{connector}"))
        by_id = {f["id"]: f for f in meta["fields"]}
        assert name in by_id, (connector, name)
        assert by_id[name]["dataType"] == "date"
        assert by_id[name]["controlType"] == 8
        # No other connector's modified-date name appears here.
        others = set(MODIFIED_FIELDS.values()) - {name}
        assert not others & set(by_id), connector
    assert len(set(MODIFIED_FIELDS.values())) == len(MODIFIED_FIELDS)
    for connector in ("Profit_Administrations", "Profit_Subject_Attachments"):
        meta = _json(client.get(f"/metainfo/get/{connector}"))
        assert all(f["dataType"] != "date" for f in meta["fields"]), connector


# --- /metainfo/update/{id} ------------------------------------------------------------------


@pytest.mark.parametrize("connector", DEMO_UPDATE)
def test_update_metainfo_shape(client: RawClient, connector: str) -> None:
    response = client.get(f"/metainfo/update/{connector}")
    meta = _json(response)
    _assert_compact(response)
    assert set(meta) == {"name", "description", "fields", "objects"}
    assert isinstance(meta["description"], str)
    assert meta["description"]
    count = 0
    for path, node in _walk_update_objects(meta, meta["name"]):
        if node is not meta:
            assert set(node) == {"name", "fields", "objects"}, path
        assert isinstance(node["name"], str)
        assert isinstance(node["fields"], list)
        assert isinstance(node["objects"], list)
        assert node["fields"], path
        for field in node["fields"]:
            count += 1
            assert set(field) == UPDATE_FIELD_KEYS, (path, field)
            for key in ("fieldId", "dataType", "label", "decimalFieldId"):
                assert isinstance(field[key], str), (path, key, field)
            for key in ("primaryKey", "mandatory", "notzero"):
                assert type(field[key]) is bool, (path, key, field)
            for key in ("length", "decimals", "controlType"):
                assert type(field[key]) is int, (path, key, field)
            assert field["dataType"] in DATA_TYPES
            values = field["values"]
            if values is not None:
                assert isinstance(values, list)
                assert values, (path, field["fieldId"])
                for value in values:
                    assert set(value) == {"id", "description"}
                    assert isinstance(value["id"], str)
                    assert isinstance(value["description"], str)
    assert count >= 2


@pytest.mark.parametrize(("connector", "root"), sorted(ROOT_NAMES.items()))
def test_update_metainfo_name_is_root_object(client: RawClient, connector: str, root: str) -> None:
    assert _json(client.get(f"/metainfo/update/{connector}"))["name"] == root


def test_update_metainfo_nesting(client: RawClient) -> None:
    """Nested objects as documented: KnPerson address, KnEmployee, FiEntries, KnSubject."""

    def paths(connector: str) -> set[str]:
        meta = _json(client.get(f"/metainfo/update/{connector}"))
        return {path for path, _ in _walk_update_objects(meta, meta["name"])}

    assert "KnPerson/KnBasicAddressAdr" in paths("KnPerson")
    assert {
        "AfasEmployee/KnPerson",
        "AfasEmployee/AfasContract",
        "AfasEmployee/AfasSalary",
    } <= paths("KnEmployee")
    assert "FiEntryPar/FiEntries" in paths("FiEntries")
    assert {"KnSubject/KnSubjectLink", "KnSubject/KnSubjectAttachment"} <= paths("KnSubject")


def test_update_metainfo_documented_field_details(client: RawClient) -> None:
    person = _json(client.get("/metainfo/update/KnPerson"))
    by_id = {f["fieldId"]: f for f in person["fields"]}
    assert by_id["LaNm"]["mandatory"] is True
    assert {v["id"] for v in by_id["ViGe"]["values"]} == {"M", "V", "O", "X"}
    assert by_id["LaNm"]["values"] is None
    subject = _json(client.get("/metainfo/update/KnSubject"))
    sb_id = {f["fieldId"]: f for f in subject["fields"]}["SbId"]
    assert sb_id["primaryKey"] is True
    employee = _json(client.get("/metainfo/update/KnEmployee"))
    salary_node = next(o for o in employee["objects"] if o["name"] == "AfasSalary")
    em_sa = {f["fieldId"]: f for f in salary_node["fields"]}["EmSa"]
    assert em_sa["notzero"] is True
    assert em_sa["dataType"] == "decimal"


@pytest.mark.parametrize("connector", ["KnPerson", "KnCustomK01"])
def test_custom_field_ids_appear_in_update_metainfo(client: RawClient, connector: str) -> None:
    meta = _json(client.get(f"/metainfo/update/{connector}"))
    custom = [f for f in _update_fields(meta) if CUSTOM_FIELD.fullmatch(f["fieldId"])]
    assert custom, connector
    if connector == "KnCustomK01":
        project = {f["fieldId"]: f for f in custom}[PROJECT_NAME_FIELD]
        assert project["mandatory"] is True


# --- other endpoints and casing -------------------------------------------------------------


def test_profitversion(client: RawClient) -> None:
    response = client.get("/profitversion")
    body = _json(response)
    _assert_compact(response)
    assert set(body) == {"version"}
    assert isinstance(body["version"], str)
    assert body["version"]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/MetaInfo", "getConnectors"),
        ("/METAINFO", "getConnectors"),
        ("/ProfitVersion", "version"),
        ("/PROFITVERSION", "version"),
        ("/MetaInfo/Get/Profit_Persons", "fields"),
        ("/metainfo/GET/profit_persons", "fields"),
        ("/MetaInfo/Update/KnPerson", "objects"),
        ("/METAINFO/UPDATE/knperson", "objects"),
    ],
)
def test_paths_are_case_insensitive(client: RawClient, path: str, key: str) -> None:
    body = _json(client.get(path))
    assert key in body


def test_case_insensitive_paths_give_the_same_answer(client: RawClient) -> None:
    assert _json(client.get("/MetaInfo")) == _json(client.get("/metainfo"))
    assert _json(client.get("/ProfitVersion")) == _json(client.get("/profitversion"))
    assert _json(client.get("/METAINFO/GET/PROFIT_PERSONS")) == _json(
        client.get("/metainfo/get/Profit_Persons")
    )
