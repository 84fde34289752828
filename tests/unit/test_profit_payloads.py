"""Unit layer: ``afas_profit.payloads`` (records into UpdateConnector elements), pure.

The metainfo is hand-written (parsed with ``parse_update_connector``) so every data type and
control type appears once: AFAS payload conventions from afas-rest-api.md section 6.2 (key
fields as ``@Field``, ``Fields``, ``Objects`` as a list of single-key maps, ``Element`` an
object or an array) and the value forms (dates ``YYYY-MM-DD``, date-times Amsterdam local,
decimals as exact strings, booleans as JSON booleans, ``""`` clears).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afas_profit.errors import AFASConfigError
from afas_profit.payloads import ObjectMapping, PayloadError, build_element, coerce, payload
from afas_profit.update_metainfo import UpdateField, UpdateObject, parse_update_connector
from tests.unit.metainfo_documents import raw_update_field

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


_f = raw_update_field


DOCUMENT: dict[str, Any] = {
    "name": "KnTest",
    "fields": [
        _f("Id", "int", primaryKey=True),
        _f("Nm", mandatory=True, length=20),
        _f("Qty", "int"),
        _f("Big", "long"),
        _f("Amt", "decimal", decimals=2, notzero=True),
        _f("Flag", "boolean"),
        _f("Da", "date", controlType=4),
        _f("Ts", "date", controlType=8),
        _f("Tm", "date", controlType=7),
        _f("Kind", values=[{"id": "A", "description": "a"}, {"id": "B", "description": "b"}]),
        _f("File", "blob"),
    ],
    "objects": [
        {
            "name": "Line",
            "fields": [
                _f("LnNo", "int", primaryKey=True),
                _f("Ds", mandatory=True),
                _f("Am", "decimal"),
            ],
            "objects": [{"name": "Sub", "fields": [_f("X")], "objects": []}],
        },
        {"name": "Adr", "fields": [_f("Street", mandatory=True), _f("City")], "objects": []},
    ],
}
META = parse_update_connector("TestConnector", DOCUMENT).root


def spec(field_id: str) -> UpdateField:
    found = META.field(field_id)
    assert found is not None
    return found


def mapping(setting: dict[str, Any]) -> ObjectMapping:
    return ObjectMapping.from_setting("KnTest", setting, "mappings.test")


def build(setting: dict[str, Any], record: dict[str, Any], **options: Any) -> dict[str, Any]:
    m = mapping(setting)
    m.check_against(META, "mappings.test")
    return build_element(META, m, record, zone=options.pop("zone", AMSTERDAM), **options)


# --------------------------------------------------------------------------- flat fields

FLAT_CASES = [
    pytest.param(
        {},
        {"Id": 5, "Nm": "Jansen", "Other": "ignored", "_sdc_extracted_at": "x"},
        {"@Id": 5, "Fields": {"Nm": "Jansen"}},
        id="identity-mapping-takes-same-named-properties",
    ),
    pytest.param(
        {"fields": {"Nm": "name", "Qty": "count"}},
        {"name": "Bakker", "count": "12", "Nm": "not this one"},
        {"Fields": {"Nm": "Bakker", "Qty": 12}},
        id="fields-map-afas-field-to-property",
    ),
    pytest.param(
        {"fields": {"Id": "id", "Nm": "name"}},
        {"id": "7", "name": "x"},
        {"@Id": 7, "Fields": {"Nm": "x"}},
        id="primary-key-as-attribute",
    ),
    pytest.param(
        {"fields": {"Id": "id"}},
        {"id": 7},
        {"@Id": 7},
        id="only-a-key-no-Fields",
    ),
    pytest.param(
        {"fields": {"Nm": "name", "Qty": "qty"}},
        {"name": "x"},
        {"Fields": {"Nm": "x"}},
        id="property-absent-from-record-left-out",
    ),
    pytest.param(
        {"fields": {"Kind": "kind"}, "constants": {"Kind": "A"}},
        {"kind": "B"},
        {"Fields": {"Kind": "A"}},
        id="constant-beats-record-value",
    ),
    pytest.param(
        {"fields": {"Kind": "kind"}, "defaults": {"Kind": "A"}},
        {"kind": "B"},
        {"Fields": {"Kind": "B"}},
        id="record-value-beats-default",
    ),
    pytest.param(
        {"fields": {"Kind": "kind"}, "defaults": {"Kind": "A"}},
        {},
        {"Fields": {"Kind": "A"}},
        id="default-when-property-absent",
    ),
    pytest.param(
        {"fields": {"Kind": "kind"}, "defaults": {"Kind": "A"}},
        {"kind": None},
        {"Fields": {"Kind": "A"}},
        id="default-when-property-null",
    ),
    pytest.param(
        {"fields": {"Kind": "kind"}, "defaults": {"Kind": "A"}, "constants": {"Kind": "B"}},
        {},
        {"Fields": {"Kind": "B"}},
        id="constant-beats-default",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "constants": {"Qty": "3", "Flag": "true"}},
        {"name": "x"},
        {"Fields": {"Nm": "x", "Qty": 3, "Flag": True}},
        id="constants-are-coerced-too",
    ),
    pytest.param(
        {"fields": {"Nm": "name", "Qty": "qty", "Da": "day"}},
        {"name": "", "qty": "", "day": ""},
        {"Fields": {"Nm": "", "Qty": "", "Da": ""}},
        id="empty-string-clears-any-type",
    ),
    pytest.param(
        {"fields": {"Nm": "name", "Qty": "qty"}},
        {"name": None, "qty": None},
        {},
        id="null-left-out",
    ),
    pytest.param(
        {"action": "update", "fields": {"Nm": "name"}},
        {"name": "x"},
        {"Fields": {"Nm": "x", "@Action": "update"}},
        id="object-action-inside-Fields",
    ),
]


@pytest.mark.parametrize(("setting", "record", "expected"), FLAT_CASES)
def test_flat_elements(
    setting: dict[str, Any], record: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert build(setting, record) == expected


def test_null_means_clear_sends_empty_string() -> None:
    setting = {"fields": {"Nm": "name", "Qty": "qty", "Kind": "kind"}, "defaults": {"Kind": "A"}}
    record = {"name": None, "qty": None, "kind": None}
    assert build(setting, record, null_means_clear=True) == {
        "Fields": {"Nm": "", "Qty": "", "Kind": ""}
    }
    assert build(setting, record) == {"Fields": {"Kind": "A"}}


# --------------------------------------------------------------------------- nested objects

LINES = [
    {"no": 1, "text": "huur", "amount": Decimal("1250.00"), "sub": {"X": "a"}},
    {"no": 2, "text": "btw", "amount": Decimal("262.50"), "sub": None},
]

NESTED_CASES = [
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Adr": {"fields": {"Street": "street"}}}},
        {"name": "x", "street": "Markt"},
        {"Fields": {"Nm": "x"}, "Objects": [{"Adr": {"Element": {"Fields": {"Street": "Markt"}}}}]},
        id="from-the-same-record",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Adr": {"from": "address"}}},
        {"name": "x", "address": {"Street": "Markt", "City": "Delft", "Zip": "ignored"}},
        {
            "Fields": {"Nm": "x"},
            "Objects": [{"Adr": {"Element": {"Fields": {"Street": "Markt", "City": "Delft"}}}}],
        },
        id="from-an-object-property-one-element",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Adr": {"from": "address"}}},
        {"name": "x", "address": '{"Street": "Markt"}'},
        {"Fields": {"Nm": "x"}, "Objects": [{"Adr": {"Element": {"Fields": {"Street": "Markt"}}}}]},
        id="from-a-json-text-property",
    ),
    pytest.param(
        {
            "fields": {"Nm": "name"},
            "objects": {
                "Line": {
                    "from": "lines",
                    "fields": {"LnNo": "no", "Ds": "text", "Am": "amount"},
                    "objects": {"Sub": {"from": "sub"}},
                }
            },
        },
        {"name": "x", "lines": LINES},
        {
            "Fields": {"Nm": "x"},
            "Objects": [
                {
                    "Line": {
                        "Element": [
                            {
                                "@LnNo": 1,
                                "Fields": {"Ds": "huur", "Am": "1250.00"},
                                "Objects": [{"Sub": {"Element": {"Fields": {"X": "a"}}}}],
                            },
                            {"@LnNo": 2, "Fields": {"Ds": "btw", "Am": "262.50"}},
                        ]
                    }
                }
            ],
        },
        id="from-an-array-property-element-array-and-deeper-object",
    ),
    pytest.param(
        {"objects": {"Line": {"from": "lines", "fields": {"Ds": "text"}}}},
        {"lines": [{"text": "only"}]},
        {"Objects": [{"Line": {"Element": [{"Fields": {"Ds": "only"}}]}}]},
        id="array-of-one-stays-an-array",
    ),
    pytest.param(
        # Taps that cannot emit arrays (e.g. after flattening) send them as JSON text; the
        # module parses that text, so every item must become an element, as for a real array.
        {"objects": {"Line": {"from": "lines", "fields": {"Ds": "text"}}}},
        {"lines": '[{"text": "first"}, {"text": "second"}]'},
        {
            "Objects": [
                {"Line": {"Element": [{"Fields": {"Ds": "first"}}, {"Fields": {"Ds": "second"}}]}}
            ]
        },
        id="from-a-json-text-array-property-keeps-every-item",
    ),
    pytest.param(
        {
            "fields": {"Nm": "name"},
            "objects": {
                "Adr": {"from": "address", "action": "insert"},
                "Line": {"from": "lines", "fields": {"Ds": "text"}, "action": "update"},
            },
        },
        {"name": "x", "address": {"Street": "Markt"}, "lines": [{"text": "a"}]},
        {
            "Fields": {"Nm": "x"},
            "Objects": [
                {"Adr": {"Element": {"Fields": {"Street": "Markt", "@Action": "insert"}}}},
                {"Line": {"Element": [{"Fields": {"Ds": "a", "@Action": "update"}}]}},
            ],
        },
        id="two-objects-with-their-own-actions",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Adr": {"from": "address"}}},
        {"name": "x", "address": None},
        {"Fields": {"Nm": "x"}},
        id="null-source-no-object",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Line": {"from": "lines"}}},
        {"name": "x", "lines": []},
        {"Fields": {"Nm": "x"}},
        id="empty-array-no-object",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Adr": {"fields": {"Street": "street"}}}},
        {"name": "x", "street": None},
        {"Fields": {"Nm": "x"}},
        id="all-null-sub-object-left-out",
    ),
    pytest.param(
        {"fields": {"Nm": "name"}, "objects": {"Adr": {"from": "address"}}},
        {"name": "x"},
        {"Fields": {"Nm": "x"}},
        id="absent-source-no-object",
    ),
]


@pytest.mark.parametrize(("setting", "record", "expected"), NESTED_CASES)
def test_nested_objects(
    setting: dict[str, Any], record: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert build(setting, record) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(5, "property 'address' is not an object or an array of objects", id="number"),
        pytest.param(["a", "b"], "not an object or an array of objects", id="array-of-strings"),
        pytest.param("not json", "property 'address' is not an object or array", id="text"),
        pytest.param('"json text"', "not an object or an array of objects", id="json-string"),
    ],
)
def test_bad_sub_object_source(value: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        build({"objects": {"Adr": {"from": "address"}}}, {"address": value})


# --------------------------------------------------------------------------- coercion

COERCIONS = [
    # int / long
    pytest.param("Qty", 12, 12, id="int-from-int"),
    pytest.param("Qty", "12", 12, id="int-from-text"),
    pytest.param("Qty", " -12 ", -12, id="int-from-padded-negative-text"),
    pytest.param("Qty", "+7", 7, id="int-from-plus-text"),
    pytest.param("Qty", Decimal("12"), 12, id="int-from-Decimal"),
    pytest.param("Qty", Decimal("12.000"), 12, id="int-from-Decimal-with-zero-decimals"),
    pytest.param("Qty", 12.0, 12, id="int-from-whole-float"),
    pytest.param("Big", "9007199254740993", 9007199254740993, id="long-beyond-float-precision"),
    # decimal
    pytest.param("Amt", Decimal("1250.00"), "1250.00", id="decimal-keeps-trailing-zeros"),
    pytest.param("Amt", Decimal("0.1"), "0.1", id="decimal-exact"),
    pytest.param("Amt", 0.1, "0.1", id="decimal-from-float-shortest-repr"),
    pytest.param("Amt", "12345678901234.56", "12345678901234.56", id="decimal-from-long-text"),
    pytest.param("Amt", 10, "10", id="decimal-from-int"),
    pytest.param("Amt", Decimal("1E+3"), "1000", id="decimal-no-exponent"),
    pytest.param("Amt", "-2.5", "-2.5", id="decimal-negative-text"),
    # boolean
    pytest.param("Flag", True, True, id="bool-true"),
    pytest.param("Flag", False, False, id="bool-false"),
    pytest.param("Flag", "true", True, id="bool-from-true-text"),
    pytest.param("Flag", "FALSE", False, id="bool-from-upper-text"),
    pytest.param("Flag", "1", True, id="bool-from-1-text"),
    pytest.param("Flag", 0, False, id="bool-from-0"),
    pytest.param("Flag", "ja", True, id="bool-from-dutch-ja"),
    pytest.param("Flag", "nee", False, id="bool-from-dutch-nee"),
    # date (controlType 4)
    pytest.param("Da", "2024-02-29", "2024-02-29", id="date-from-text"),
    pytest.param("Da", date(2024, 2, 29), "2024-02-29", id="date-from-date"),
    pytest.param(
        "Da", "2024-03-30T23:30:00+00:00", "2024-03-31", id="date-from-utc-winter-next-local-day"
    ),
    pytest.param(
        "Da", "2024-06-30T22:30:00Z", "2024-07-01", id="date-from-utc-summer-next-local-day"
    ),
    pytest.param("Da", "2024-06-30T21:30:00Z", "2024-06-30", id="date-from-utc-summer-same-day"),
    pytest.param(
        "Da", datetime(2024, 12, 31, 23, 0, tzinfo=timezone.utc), "2025-01-01", id="date-from-aware"
    ),
    pytest.param("Da", "2024-06-30T22:30:00", "2024-06-30", id="date-from-naive-is-local"),
    # date-time (controlType 8): UTC -> Amsterdam local, around both DST switches
    pytest.param("Ts", "2024-01-15T12:00:00Z", "2024-01-15T13:00:00", id="datetime-winter-cet"),
    pytest.param("Ts", "2024-07-01T12:00:00+00:00", "2024-07-01T14:00:00", id="datetime-summer"),
    pytest.param(
        "Ts", "2024-03-31T00:59:59Z", "2024-03-31T01:59:59", id="datetime-before-spring-switch"
    ),
    pytest.param(
        "Ts", "2024-03-31T01:00:00Z", "2024-03-31T03:00:00", id="datetime-at-spring-switch"
    ),
    pytest.param(
        "Ts", "2024-10-27T00:30:00Z", "2024-10-27T02:30:00", id="datetime-autumn-first-fold"
    ),
    pytest.param(
        "Ts", "2024-10-27T01:30:00Z", "2024-10-27T02:30:00", id="datetime-autumn-second-fold"
    ),
    pytest.param(
        "Ts", "2024-07-01T14:00:00+02:00", "2024-07-01T14:00:00", id="datetime-local-offset"
    ),
    pytest.param(
        "Ts", "2024-07-01T12:00:00.999999Z", "2024-07-01T14:00:00", id="datetime-drops-fraction"
    ),
    pytest.param(
        "Ts",
        datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc),
        "2024-07-01T14:00:00",
        id="datetime-from-aware-object",
    ),
    pytest.param("Ts", "2024-07-01T09:15:00", "2024-07-01T09:15:00", id="datetime-naive-kept"),
    # time (controlType 7)
    pytest.param("Tm", "09:30", "09:30", id="time-hh-mm"),
    pytest.param("Tm", "09:30:15", "09:30:15", id="time-hh-mm-ss"),
    pytest.param("Tm", "2024-07-01T07:30:00Z", "09:30:00", id="time-from-utc-datetime"),
    # strings and blobs
    pytest.param("Nm", 12, "12", id="string-from-int"),
    pytest.param("Nm", Decimal("1.50"), "1.50", id="string-from-Decimal"),
    pytest.param("Nm", True, "true", id="string-from-bool"),
    pytest.param("Nm", "  spaced  ", "  spaced  ", id="string-kept-as-is"),
    pytest.param("File", "aGVsbG8=", "aGVsbG8=", id="blob-base64-text"),
    # clearing
    pytest.param("Qty", "", "", id="empty-clears-int"),
    pytest.param("Flag", "", "", id="empty-clears-bool"),
    pytest.param("Amt", None, "", id="none-coerces-to-clear"),
]


@pytest.mark.parametrize(("field_id", "value", "expected"), COERCIONS)
def test_coerce(field_id: str, value: Any, expected: Any) -> None:
    result = coerce(spec(field_id), value, AMSTERDAM)
    assert result == expected
    assert type(result) is type(expected)


def test_coerce_honours_the_configured_zone() -> None:
    assert coerce(spec("Ts"), "2024-07-01T12:00:00Z", ZoneInfo("UTC")) == "2024-07-01T12:00:00"
    assert coerce(spec("Da"), "2024-06-30T22:30:00Z", ZoneInfo("UTC")) == "2024-06-30"
    new_york = ZoneInfo("America/New_York")
    assert coerce(spec("Ts"), "2024-07-01T12:00:00Z", new_york) == "2024-07-01T08:00:00"


BAD_VALUES = [
    pytest.param("Qty", "12.5", "int", id="int-from-fraction-text"),
    pytest.param("Qty", Decimal("12.5"), "int", id="int-from-fraction-Decimal"),
    pytest.param("Qty", 12.5, "int", id="int-from-fraction-float"),
    pytest.param("Qty", True, "int", id="int-from-bool"),
    pytest.param("Qty", "twelve", "int", id="int-from-word"),
    pytest.param("Qty", "1e3", "int", id="int-from-exponent-text"),
    pytest.param("Big", "12x", "long", id="long-from-junk"),
    pytest.param("Amt", "abc", "decimal", id="decimal-from-word"),
    pytest.param("Amt", "NaN", "decimal", id="decimal-nan"),
    pytest.param("Amt", "Infinity", "decimal", id="decimal-infinity"),
    pytest.param("Amt", True, "decimal", id="decimal-from-bool"),
    pytest.param("Flag", "maybe", "boolean", id="bool-from-word"),
    pytest.param("Flag", 2, "boolean", id="bool-from-2"),
    pytest.param("Da", "31-03-2024", "date", id="date-dutch-order"),
    pytest.param("Da", "2024-02-30", "date", id="date-impossible-day"),
    pytest.param("Da", "yesterday", "date", id="date-word"),
    pytest.param("Ts", "2024-07-01 noon", "date", id="datetime-junk"),
]


@pytest.mark.parametrize(("field_id", "value", "kind"), BAD_VALUES)
def test_coerce_refuses(field_id: str, value: Any, kind: str) -> None:
    label = spec(field_id).label
    with pytest.raises(PayloadError) as caught:
        coerce(spec(field_id), value, AMSTERDAM)
    message = str(caught.value)
    assert message.startswith(f"{field_id} ({label}): ")
    assert message.endswith(f"is not a valid {kind}")
    assert repr(str(value)) in message


@pytest.mark.parametrize(
    "value", [pytest.param({"a": 1}, id="object"), pytest.param([1, 2], id="array")]
)
def test_coerce_refuses_structures_for_a_single_value(value: Any) -> None:
    with pytest.raises(PayloadError, match=r"^Nm \(LNm\): expected a single value$"):
        coerce(spec("Nm"), value, AMSTERDAM)


def test_payload_error_quotes_at_most_40_characters_of_the_value() -> None:
    value = "x" * 100
    with pytest.raises(PayloadError) as caught:
        coerce(spec("Qty"), value, AMSTERDAM)
    assert repr("x" * 40) in str(caught.value)
    assert "x" * 41 not in str(caught.value)


def test_build_element_reports_the_field_of_a_bad_value() -> None:
    with pytest.raises(PayloadError, match=r"^Qty \(LQty\): 'many' is not a valid int$"):
        build({"fields": {"Nm": "name", "Qty": "qty"}}, {"name": "x", "qty": "many"})


def test_build_element_reports_a_bad_value_in_a_nested_element() -> None:
    setting = {"objects": {"Line": {"from": "lines", "fields": {"LnNo": "no"}}}}
    with pytest.raises(PayloadError, match=r"^LnNo \(LLnNo\): 'first' is not a valid int$"):
        build(setting, {"lines": [{"no": 1}, {"no": "first"}]})


# --------------------------------------------------------------------------- mapping checks


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        pytest.param(
            {"fields": {"Nope": "x"}},
            r"^mappings\.test: Nope not a field of KnTest; its fields are Id, Nm, ",
            id="unknown-field",
        ),
        pytest.param(
            {"constants": {"Nope": 1, "Nm": "x", "Also": 2}},
            r"^mappings\.test: Nope, Also not a field of KnTest",
            id="unknown-constants-all-named",
        ),
        pytest.param(
            {"defaults": {"Nope": 1}}, r"Nope not a field of KnTest", id="unknown-default"
        ),
        pytest.param(
            {"objects": {"Lines": {}}},
            r"^mappings\.test: 'Lines' is not an object of KnTest; its objects are Line, Adr\.$",
            id="unknown-object",
        ),
        pytest.param(
            {"objects": {"Line": {"fields": {"Street": "s"}}}},
            r"^mappings\.test\.objects\.Line: Street not a field of Line; its fields are "
            r"LnNo, Ds, Am\.$",
            id="field-of-another-object",
        ),
        pytest.param(
            {"objects": {"Line": {"objects": {"Deeper": {}}}}},
            r"^mappings\.test\.objects\.Line: 'Deeper' is not an object of Line; its objects "
            r"are Sub\.$",
            id="unknown-object-two-levels",
        ),
        pytest.param(
            {"objects": {"Adr": {"objects": {"Any": {}}}}},
            r"'Any' is not an object of Adr; its objects are \(none\)\.$",
            id="object-without-objects",
        ),
    ],
)
def test_check_against_refuses_unknown_names(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(AFASConfigError, match=message):
        mapping(setting).check_against(META, "mappings.test")


def test_check_against_accepts_known_names() -> None:
    setting = {
        "fields": {"Id": "id", "Nm": "name"},
        "constants": {"Kind": "A"},
        "defaults": {"Qty": 1},
        "objects": {"Line": {"from": "lines", "objects": {"Sub": {"fields": {"X": "x"}}}}},
    }
    mapping(setting).check_against(META, "mappings.test")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        pytest.param({"fields": ["Nm"]}, "'fields' must map AFAS field ids", id="fields-list"),
        pytest.param({"objects": ["Line"]}, "'objects' must map object names", id="objects-list"),
        pytest.param({"action": "upsert"}, "action 'upsert' is not insert, update", id="action"),
        pytest.param(
            {"objects": {"Line": {"action": "merge"}}},
            r"^mappings\.test\.objects\.Line: action 'merge'",
            id="nested-action",
        ),
    ],
)
def test_from_setting_refuses_malformed_mappings(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(AFASConfigError, match=message):
        mapping(setting)


def test_from_setting_reads_every_part() -> None:
    m = mapping(
        {
            "fields": {"Nm": "name"},
            "constants": {"Kind": "A"},
            "defaults": {"Qty": 1},
            "objects": {"Line": {"from": "lines", "action": "insert"}},
        }
    )
    assert m == ObjectMapping(
        name="KnTest",
        fields={"Nm": "name"},
        constants={"Kind": "A"},
        defaults={"Qty": 1},
        objects=(ObjectMapping(name="Line", source="lines", action="insert"),),
    )


# --------------------------------------------------------------------------- request body


def test_payload_one_element_is_an_object() -> None:
    element = {"Fields": {"Nm": "x"}}
    assert payload("KnTest", [element]) == {"KnTest": {"Element": element}}


def test_payload_several_elements_are_an_array() -> None:
    elements: list[dict[str, Any]] = [{"Fields": {"Nm": "x"}}, {"Fields": {"Nm": "y"}}, {"@Id": 3}]
    assert payload("FiEntryPar", elements) == {"FiEntryPar": {"Element": elements}}


def test_build_element_for_a_sub_object_alone() -> None:
    sub = META.object("Line")
    assert isinstance(sub, UpdateObject)
    line = ObjectMapping.from_setting("Line", {"fields": {"LnNo": "n"}}, "m")
    assert build_element(sub, line, {"n": "4"}, zone=AMSTERDAM) == {"@LnNo": 4}
