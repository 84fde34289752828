"""Unit layer: ``afas_profit.records.RecordConverter`` (rows as AFAS shows them → records)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afas_profit.metainfo import GetConnectorInfo, parse_get_connector
from afas_profit.records import RecordConverter
from afas_profit.times import record_datetime

AMS = ZoneInfo("Europe/Amsterdam")

METAINFO: dict[str, Any] = {
    "name": "Profit_Employees",
    "description": "Medewerkers",
    "fields": [
        {
            "id": "EmployeeId",
            "fieldId": "U001",
            "dataType": "string",
            "label": "Medewerker",
            "length": 15,
            "controlType": 5,
            "decimals": 0,
        },
        {
            "id": "Name",
            "fieldId": "U002",
            "dataType": "string",
            "label": "Naam",
            "length": 80,
            "controlType": 1,
            "decimals": 0,
        },
        {
            "id": "BirthDate",
            "fieldId": "U003",
            "dataType": "date",
            "label": "Geboortedatum",
            "length": 0,
            "controlType": 4,
            "decimals": 0,
        },
        {
            "id": "StartTime",
            "fieldId": "U004",
            "dataType": "date",
            "label": "Begintijd",
            "length": 0,
            "controlType": 7,
            "decimals": 0,
        },
        {
            "id": "Gewijzigd_op",
            "fieldId": "U005",
            "dataType": "date",
            "label": "Gewijzigd op",
            "length": 0,
            "controlType": 8,
            "decimals": 0,
        },
        {
            "id": "Logged",
            "fieldId": "U006",
            "dataType": "date",
            "label": "Gelogd",
            "length": 0,
            "controlType": 0,
            "decimals": 0,
        },
        {
            "id": "Salary",
            "fieldId": "U007",
            "dataType": "decimal",
            "label": "Salaris",
            "length": 12,
            "controlType": 1,
            "decimals": 2,
        },
        {
            "id": "Hours",
            "fieldId": "U008",
            "dataType": "int",
            "label": "Uren",
            "length": 3,
            "controlType": 1,
            "decimals": 0,
        },
        {
            "id": "Active",
            "fieldId": "U009",
            "dataType": "boolean",
            "label": "Actief",
            "length": 0,
            "controlType": 1,
            "decimals": 0,
        },
        {
            "id": "Photo",
            "fieldId": "U010",
            "dataType": "blob",
            "label": "Foto",
            "length": 0,
            "controlType": 1,
            "decimals": 0,
        },
        {
            "id": "Code",
            "fieldId": "U011",
            "dataType": "string",
            "label": "Datumcode",
            "length": 20,
            "controlType": 1,
            "decimals": 0,
        },
    ],
}


def _connector() -> GetConnectorInfo:
    return parse_get_connector("Profit_Employees", METAINFO)


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "EmployeeId": "000001005",
        "Name": "Jansen",
        "BirthDate": "1980-05-17T00:00:00Z",
        "StartTime": "1900-01-01T08:30:00Z",
        "Gewijzigd_op": "2026-07-01T12:34:56Z",
        "Logged": "2026-01-15T12:00:00Z",
        "Salary": Decimal("3125.50"),
        "Hours": 40,
        "Active": True,
        "Photo": "iVBORw0KGgo=",
        "Code": "2026-07-01T12:34:56Z",
    }
    row.update(changes)
    return row


def test_converter_sorts_fields_by_kind() -> None:
    converter = RecordConverter(_connector(), AMS)
    assert converter.datetimes == ("Gewijzigd_op", "Logged")
    assert converter.dates == ("BirthDate",)
    assert converter.times == ("StartTime",)


def test_convert_datetimes_dates_and_times_and_leaves_the_rest() -> None:
    converted = RecordConverter(_connector(), AMS).convert(_row())
    assert converted == {
        "EmployeeId": "000001005",
        "Name": "Jansen",
        "BirthDate": "1980-05-17",
        "StartTime": "08:30:00",
        "Gewijzigd_op": "2026-07-01T10:34:56+00:00",
        "Logged": "2026-01-15T11:00:00+00:00",
        "Salary": Decimal("3125.50"),
        "Hours": 40,
        "Active": True,
        "Photo": "iVBORw0KGgo=",
        "Code": "2026-07-01T12:34:56Z",
    }
    assert isinstance(converted["Salary"], Decimal)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Gewijzigd_op", None),
        ("BirthDate", None),
        ("StartTime", None),
        ("Gewijzigd_op", ""),
        ("Salary", None),
    ],
    ids=["null-datetime", "null-date", "null-time", "empty-datetime", "null-decimal"],
)
def test_empty_values_stay_as_they_are(field: str, value: object) -> None:
    converted = RecordConverter(_connector(), AMS).convert(_row(**{field: value}))
    assert converted[field] == value


def test_missing_fields_are_not_added() -> None:
    row = {"EmployeeId": "1", "Gewijzigd_op": "2026-02-01T00:30:00Z"}
    converted = RecordConverter(_connector(), AMS).convert(row)
    assert converted == {"EmployeeId": "1", "Gewijzigd_op": "2026-01-31T23:30:00+00:00"}


def test_convert_changes_the_row_in_place_and_returns_it() -> None:
    row = _row()
    result = RecordConverter(_connector(), AMS).convert(row)
    assert result is row
    assert row["BirthDate"] == "1980-05-17"


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Amsterdam", "2026-07-01T10:34:56+00:00"),
        ("UTC", "2026-07-01T12:34:56+00:00"),
        ("America/New_York", "2026-07-01T16:34:56+00:00"),
    ],
    ids=["amsterdam", "utc", "new-york"],
)
def test_timezone_setting_is_honoured(zone: str, expected: str) -> None:
    converted = RecordConverter(_connector(), ZoneInfo(zone)).convert(_row())
    assert converted["Gewijzigd_op"] == expected


def test_many_rows_share_one_converter_correctly() -> None:
    converter = RecordConverter(_connector(), AMS)
    summer = converter.convert(_row(Gewijzigd_op="2026-07-01T12:00:00Z"))
    winter = converter.convert(_row(Gewijzigd_op="2026-12-01T12:00:00Z"))
    summer_again = converter.convert(_row(Gewijzigd_op="2026-07-01T12:59:59Z"))
    assert summer["Gewijzigd_op"] == "2026-07-01T10:00:00+00:00"
    assert winter["Gewijzigd_op"] == "2026-12-01T11:00:00+00:00"
    assert summer_again["Gewijzigd_op"] == "2026-07-01T10:59:59+00:00"


@pytest.mark.parametrize(
    "zone",
    ["Europe/Amsterdam", "America/Sao_Paulo", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"],
)
def test_cached_offsets_agree_with_the_zone_for_every_value(zone: str) -> None:
    """Every 7 min 13 s over three years, in random order (the day cache filled in any order,
    days with a change of offset among them, half-hour changes in Lord Howe): each value
    converted as ``times.record_datetime`` converts it alone."""
    converter = RecordConverter(_connector(), ZoneInfo(zone))
    moment, values = datetime(2019, 1, 1), []
    while moment < datetime(2022, 1, 1):
        values.append(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
        moment += timedelta(minutes=7, seconds=13)
    random.Random(zone).shuffle(values)
    wrong = [v for v in values if converter.to_utc(v) != record_datetime(v, ZoneInfo(zone))]
    assert len(values) > 200_000
    assert wrong == []
