"""Unit layer: ``afas_profit.conventions`` (stream names, replication keys, primary keys)."""

from __future__ import annotations

import pytest

from afas_profit.conventions import detect_replication_key, guess_primary_keys, stream_name_for
from afas_profit.metainfo import GetConnectorInfo, GetField

DATE, TIME, DATETIME = 4, 7, 8


def _field(field_id: str, data_type: str = "string", control: int = 1) -> GetField:
    return GetField(field_id, "U001", data_type, field_id, 0, control, 0)


def _connector(*fields: GetField) -> GetConnectorInfo:
    return GetConnectorInfo("Profit_Test", "", fields)


@pytest.mark.parametrize(
    ("connector_id", "expected"),
    [
        ("Profit_FreeTable_K01", "profit_freetable_k01"),
        ("Profit_Persons", "profit_persons"),
        ("Profit_Subject_Attachments", "profit_subject_attachments"),
        ("ProfitGetConnectoren", "profitgetconnectoren"),
        ("Profit Article (image)", "profit_article_image"),
        ("Tap.AFAS--Export__2024", "tap_afas_export_2024"),
        ("__Leading_and_trailing__", "leading_and_trailing"),
        ("Débiteuren", "d_biteuren"),
        ("!!!", "connector"),
        ("123", "123"),
    ],
    ids=[
        "free-table",
        "persons",
        "three-parts",
        "no-separator",
        "spaces-and-brackets",
        "runs-collapse",
        "edges-stripped",
        "non-ascii",
        "nothing-left",
        "digits",
    ],
)
def test_stream_name_for(connector_id: str, expected: str) -> None:
    assert stream_name_for(connector_id) == expected


DEMO_MODIFIED_NAMES = [
    "ModifiedDate",
    "modified_date",
    "Gewijzigd_op",
    "DatumGewijzigd",
    "Gewijzigd",
    "Mutatiedatum",
    "Datum_gewijzigd",
    "Datum_mutatie",
]


@pytest.mark.parametrize("name", DEMO_MODIFIED_NAMES, ids=DEMO_MODIFIED_NAMES)
def test_detect_replication_key_for_each_demo_spelling(name: str) -> None:
    connector = _connector(
        _field("Id", "int"),
        _field("Description"),
        _field("BirthDate", "date", DATE),
        _field(name, "date", DATETIME),
        _field("Amount", "decimal"),
    )
    assert detect_replication_key(connector) == name


@pytest.mark.parametrize(
    "fields",
    [
        (_field("Id", "int"), _field("ModifiedDate", "date", DATE)),
        (_field("Id", "int"), _field("Gewijzigd", "date", DATE), _field("Mutatiedatum", "date", 4)),
        (_field("Id", "int"), _field("Gewijzigd_op", "date", TIME)),
        (_field("Id", "int"), _field("ModifiedDate", "string")),
        (_field("Id", "int"), _field("CreatedDate", "date", DATETIME)),
        (_field("Id", "int"),),
    ],
    ids=[
        "modified-name-but-date-only",
        "only-date-fields",
        "modified-name-but-time",
        "modified-name-but-string",
        "datetime-with-other-name",
        "no-dates-at-all",
    ],
)
def test_no_replication_key(fields: tuple[GetField, ...]) -> None:
    assert detect_replication_key(_connector(*fields)) is None


def test_date_only_namesake_does_not_hide_the_datetime() -> None:
    connector = _connector(
        _field("Id", "int"),
        _field("Gewijzigd", "date", DATE),
        _field("Datum_mutatie", "date", DATETIME),
    )
    assert detect_replication_key(connector) == "Datum_mutatie"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ((_field("PersonId"), _field("Name")), ["PersonId"]),
        ((_field("AdminId", "int"), _field("AdminNm")), ["AdminId"]),
        (
            (
                _field("UnitId", "int"),
                _field("EntryNo", "int"),
                _field("SeqNo", "int"),
                _field("Description"),
                _field("RelatedId"),
            ),
            ["UnitId", "EntryNo", "SeqNo"],
        ),
        ((_field("Debiteurnummer"), _field("Naam")), ["Debiteurnummer"]),
        ((_field("ArticleCode"), _field("Price", "decimal")), ["ArticleCode"]),
        ((_field("LOGID", "long"), _field("Tabel")), ["LOGID"]),
        ((_field("Name"), _field("PersonId")), []),
        ((_field("AmountNr", "decimal"), _field("PersonId")), []),
        ((_field("ModifiedId", "date", DATETIME),), []),
        ((), []),
    ],
    ids=[
        "string-id",
        "int-id",
        "composite-transaction-key",
        "dutch-nummer",
        "code",
        "upper-case-long",
        "key-not-leading",
        "decimal-is-no-key",
        "date-is-no-key",
        "no-fields",
    ],
)
def test_guess_primary_keys(fields: tuple[GetField, ...], expected: list[str]) -> None:
    assert guess_primary_keys(_connector(*fields)) == expected
