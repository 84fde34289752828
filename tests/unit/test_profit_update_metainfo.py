"""Unit layer: ``afas_profit.update_metainfo`` (``/metainfo/update/{id}`` into a typed tree).

Hand-written documents pin each documented detail (afas-rest-api.md section 4: nested
``objects``, ``values`` null or a code table, ``primaryKey``, ``notzero`` all lower case,
``decimalFieldId`` spelled without the s); the real documents of every UpdateConnector of the
demo sandbox are fetched over HTTP and compared field by field with an independent walk of the
raw JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from afas_profit.errors import AFASRequestError
from afas_profit.update_metainfo import (
    UpdateConnectorInfo,
    UpdateField,
    UpdateObject,
    parse_update_connector,
)
from afas_sandbox import RunningSandbox
from tests.unit.metainfo_documents import raw_update_field


def _raw_field(field_id: str, data_type: str = "string", **extra: Any) -> dict[str, Any]:
    """A field the way AFAS writes it in update metainfo (every documented key present)."""
    extra.setdefault("label", f"Label {field_id}")
    return raw_update_field(field_id, data_type, **extra)


DOCUMENT: dict[str, Any] = {
    "name": "AfasEmployee",
    "description": "Medewerker",
    "fields": [
        _raw_field("EmId", primaryKey=True, length=15, label="Medewerker"),
        _raw_field("Bl", "boolean", label="Geblokkeerd"),
    ],
    "objects": [
        {
            "name": "KnPerson",
            "fields": [
                _raw_field("LaNm", mandatory=True, length=80, label="Achternaam"),
                _raw_field(
                    "ViGe",
                    length=1,
                    controlType=5,
                    values=[
                        {"id": "M", "description": "Man"},
                        {"id": "V", "description": "Vrouw"},
                    ],
                ),
                _raw_field("DaBi", "date", controlType=4),
            ],
            "objects": [
                {
                    "name": "KnBasicAddressAdr",
                    "fields": [_raw_field("HmNr", "int", length=9)],
                    "objects": [],
                }
            ],
        },
        {
            "name": "AfasSalary",
            "fields": [
                _raw_field("DaBe", "date", primaryKey=True, mandatory=True, controlType=4),
                _raw_field(
                    "EmSa",
                    "decimal",
                    length=12,
                    decimals=2,
                    decimalFieldId="EmSaDec",
                    notzero=True,
                ),
            ],
            "objects": [],
        },
    ],
}


def _field(field_id: str, data_type: str = "string", **extra: Any) -> UpdateField:
    values: dict[str, Any] = {
        "field_id": field_id,
        "data_type": data_type,
        "label": f"Label {field_id}",
        "primary_key": False,
        "mandatory": False,
        "length": 0,
        "decimals": 0,
        "notzero": False,
        "control_type": 1,
        "values": None,
    }
    values.update(extra)
    return UpdateField(**values)


EXPECTED_ROOT = UpdateObject(
    name="AfasEmployee",
    fields=(
        _field("EmId", primary_key=True, length=15, label="Medewerker"),
        _field("Bl", "boolean", label="Geblokkeerd"),
    ),
    objects=(
        UpdateObject(
            name="KnPerson",
            fields=(
                _field("LaNm", mandatory=True, length=80, label="Achternaam"),
                _field("ViGe", length=1, control_type=5, values=("M", "V")),
                _field("DaBi", "date", control_type=4),
            ),
            objects=(
                UpdateObject(
                    name="KnBasicAddressAdr", fields=(_field("HmNr", "int", length=9),), objects=()
                ),
            ),
        ),
        UpdateObject(
            name="AfasSalary",
            fields=(
                _field("DaBe", "date", primary_key=True, mandatory=True, control_type=4),
                _field("EmSa", "decimal", length=12, decimals=2, notzero=True),
            ),
            objects=(),
        ),
    ),
)


def test_document_parses_into_the_whole_tree() -> None:
    info = parse_update_connector("KnEmployee", DOCUMENT)
    assert info == UpdateConnectorInfo(connector_id="KnEmployee", root=EXPECTED_ROOT)


def test_root_name_comes_from_the_document_not_the_connector_id() -> None:
    info = parse_update_connector("KnEmployee", DOCUMENT)
    assert (info.connector_id, info.root.name) == ("KnEmployee", "AfasEmployee")


def test_missing_name_falls_back_to_the_connector_id() -> None:
    document = {"fields": [_raw_field("SqNo", "int", primaryKey=True)]}
    info = parse_update_connector("KnCustomK01", document)
    assert info.root.name == "KnCustomK01"
    assert info.root.fields == (_field("SqNo", "int", primary_key=True),)
    assert info.root.objects == ()


@pytest.mark.parametrize(
    ("path", "field_id", "attribute", "expected"),
    [
        pytest.param((), "EmId", "primary_key", True, id="primaryKey-root"),
        pytest.param(("AfasSalary",), "DaBe", "primary_key", True, id="primaryKey-nested"),
        pytest.param(("KnPerson",), "LaNm", "mandatory", True, id="mandatory"),
        pytest.param(("KnPerson",), "LaNm", "length", 80, id="length"),
        pytest.param(("KnPerson",), "ViGe", "values", ("M", "V"), id="values-code-table"),
        pytest.param(("KnPerson",), "DaBi", "values", None, id="values-null"),
        pytest.param(("KnPerson",), "DaBi", "control_type", 4, id="controlType-date"),
        pytest.param(("AfasSalary",), "EmSa", "notzero", True, id="notzero-lower-case"),
        pytest.param(("AfasSalary",), "EmSa", "decimals", 2, id="decimals-with-decimalFieldId"),
        pytest.param(("AfasSalary",), "EmSa", "data_type", "decimal", id="dataType"),
        pytest.param(
            ("KnPerson", "KnBasicAddressAdr"), "HmNr", "data_type", "int", id="two-levels-deep"
        ),
        pytest.param((), "Bl", "label", "Geblokkeerd", id="label"),
    ],
)
def test_field_attributes(
    path: tuple[str, ...], field_id: str, attribute: str, expected: object
) -> None:
    node = parse_update_connector("KnEmployee", DOCUMENT).root
    for name in path:
        found = node.object(name)
        assert found is not None, name
        node = found
    spec = node.field(field_id)
    assert spec is not None
    assert getattr(spec, attribute) == expected


def test_lookups_answer_none_for_unknown_names() -> None:
    root = parse_update_connector("KnEmployee", DOCUMENT).root
    assert root.field("Nope") is None
    assert root.object("Nope") is None
    assert root.field("LaNm") is None, "fields of a nested object are not the root's"
    assert root.object("KnBasicAddressAdr") is None, "nested objects are found from their parent"


@pytest.mark.parametrize(
    ("raw", "attribute", "expected"),
    [
        pytest.param(
            {"values": [{"id": 1, "description": "Notitie"}, {"id": 2, "description": "x"}]},
            "values",
            ("1", "2"),
            id="numeric-codes-as-text",
        ),
        pytest.param({"length": "80"}, "length", 80, id="length-as-text"),
        pytest.param({"controlType": None}, "control_type", 0, id="controlType-null"),
        pytest.param({"label": None}, "label", "F", id="label-missing-uses-fieldId"),
        pytest.param({"primaryKey": None}, "primary_key", False, id="primaryKey-null"),
        pytest.param({"dataType": None}, "data_type", "string", id="dataType-missing"),
    ],
)
def test_field_tolerates_loose_values(
    raw: dict[str, Any], attribute: str, expected: object
) -> None:
    document = {"name": "X", "fields": [{**_raw_field("F"), **raw}]}
    (spec,) = parse_update_connector("X", document).root.fields
    assert getattr(spec, attribute) == expected


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(None, id="null"),
        pytest.param([], id="list"),
        pytest.param({"name": "KnPerson"}, id="no-fields"),
        pytest.param({"name": "KnPerson", "fields": {}}, id="fields-not-a-list"),
    ],
)
def test_document_without_fields_list_is_refused(document: Any) -> None:
    with pytest.raises(AFASRequestError, match=r"/metainfo/update/KnPerson has no 'fields' list"):
        parse_update_connector("KnPerson", document)


# --------------------------------------------------------------------------- real documents


@pytest.fixture
def update_documents(afas_sandbox: RunningSandbox) -> dict[str, Any]:
    """Every ``/metainfo/update/{id}`` document the demo sandbox serves, by connector id."""
    session = requests.Session()
    session.headers["Authorization"] = afas_sandbox.tokens.full.header
    base = afas_sandbox.base_url
    listing = session.get(f"{base}/metainfo", timeout=30).json()
    documents = {
        c["id"]: session.get(f"{base}/metainfo/update/{c['id']}", timeout=30).json()
        for c in listing["updateConnectors"]
    }
    session.close()
    return documents


def _walk(raw: dict[str, Any], parsed: UpdateObject, where: str) -> int:
    """Compare a raw object with its parsed form; returns how many fields were compared."""
    assert parsed.name == raw["name"], where
    assert [f.field_id for f in parsed.fields] == [f["fieldId"] for f in raw["fields"]], where
    for raw_field, spec in zip(raw["fields"], parsed.fields, strict=True):
        here = f"{where}.{raw_field['fieldId']}"
        codes = raw_field["values"]
        assert spec.data_type == raw_field["dataType"], here
        assert spec.primary_key is raw_field["primaryKey"], here
        assert spec.mandatory is raw_field["mandatory"], here
        assert spec.notzero is raw_field["notzero"], here
        assert spec.length == raw_field["length"], here
        assert spec.decimals == raw_field["decimals"], here
        assert spec.control_type == raw_field["controlType"], here
        assert spec.label == raw_field["label"], here
        assert spec.values == (None if codes is None else tuple(str(c["id"]) for c in codes)), here
    raw_objects = raw.get("objects") or []
    assert [o.name for o in parsed.objects] == [o["name"] for o in raw_objects], where
    return len(parsed.fields) + sum(
        _walk(r, p, f"{where}.{r['name']}")
        for r, p in zip(raw_objects, parsed.objects, strict=True)
    )


def test_every_sandbox_update_connector_parses_faithfully(
    update_documents: dict[str, Any],
) -> None:
    assert {"KnPerson", "KnEmployee", "FiEntries", "KnSubject", "KnCustomK01"} <= set(
        update_documents
    )
    for connector, document in update_documents.items():
        info = parse_update_connector(connector, document)
        assert info.connector_id == connector
        assert _walk(document, info.root, connector) == _count_fields(document), connector


def _count_fields(raw: dict[str, Any]) -> int:
    return len(raw["fields"]) + sum(_count_fields(o) for o in raw.get("objects") or [])


@pytest.mark.parametrize(
    ("connector", "root", "path", "field_id", "check"),
    [
        pytest.param(
            "KnEmployee", "AfasEmployee", ("AfasSalary",), "EmSa", "notzero", id="KnEmployee"
        ),
        pytest.param("FiEntries", "FiEntryPar", (), "Peri", "notzero", id="FiEntries"),
        pytest.param("KnSubject", "KnSubject", (), "SbId", "primary_key", id="KnSubject"),
        pytest.param("KnCustomK01", "KnCustomK01", (), "SqNo", "primary_key", id="KnCustomK01"),
        pytest.param(
            "KnEmployee",
            "AfasEmployee",
            ("KnPerson", "KnBasicAddressAdr"),
            "Rs",
            "mandatory",
            id="KnEmployee-three-levels",
        ),
        pytest.param(
            "KnSubject",
            "KnSubject",
            ("KnSubjectAttachment",),
            "FileStream",
            "mandatory",
            id="KnSubject-blob",
        ),
    ],
)
def test_sandbox_documents_known_details(
    update_documents: dict[str, Any],
    connector: str,
    root: str,
    path: tuple[str, ...],
    field_id: str,
    check: str,
) -> None:
    node = parse_update_connector(connector, update_documents[connector]).root
    assert node.name == root
    for name in path:
        found = node.object(name)
        assert found is not None, name
        node = found
    spec = node.field(field_id)
    assert spec is not None
    assert getattr(spec, check) is True


def test_sandbox_knperson_gender_code_table(update_documents: dict[str, Any]) -> None:
    root = parse_update_connector("KnPerson", update_documents["KnPerson"]).root
    gender = root.field("ViGe")
    assert gender is not None
    assert gender.values == ("M", "V", "O", "X")
    birth = root.field("DaBi")
    assert birth is not None
    assert (birth.data_type, birth.control_type, birth.values) == ("date", 4, None)
