"""Unit layer: ``afas_profit.validation`` (an element checked against update metainfo), pure.

Each problem kind the target must catch before sending (afas-rest-api.md sections 4 and 6):
unknown fields, ``@`` keys and objects; mandatory fields missing on insert or cleared with
``""``; int/decimal/boolean/date/blob types; string length; code tables; ``notzero``. Nested
elements are validated with their own ``@Action`` (or their parent's), and every problem of an
element is reported in one list.
"""

from __future__ import annotations

from typing import Any

import pytest

from afas_profit.update_metainfo import parse_update_connector
from afas_profit.validation import validate_element
from tests.unit.metainfo_documents import raw_update_field

_f = raw_update_field


META = parse_update_connector(
    "TestConnector",
    {
        "name": "KnTest",
        "fields": [
            _f("Id", "int", primaryKey=True),
            _f("Nm", mandatory=True, length=5),
            _f("Qty", "int", notzero=True),
            _f("Amt", "decimal", decimals=2, notzero=True),
            _f("Flag", "boolean"),
            _f("Da", "date", controlType=4),
            _f("Ts", "date", controlType=8),
            _f("Tm", "date", controlType=7),
            _f("Kind", values=[{"id": "A", "description": "a"}, {"id": "B", "description": "b"}]),
            _f(
                "Unit",
                "int",
                values=[{"id": "1", "description": "x"}, {"id": "2", "description": "y"}],
            ),
            _f("File", "blob"),
            _f("Free"),
        ],
        "objects": [
            {
                "name": "Line",
                "fields": [_f("LnNo", "int", primaryKey=True), _f("Ds", mandatory=True)],
                "objects": [{"name": "Sub", "fields": [_f("X", mandatory=True)], "objects": []}],
            },
            {"name": "Adr", "fields": [_f("Street", mandatory=True, length=10)], "objects": []},
        ],
    },
).root

VALID = {"@Id": 1, "Fields": {"Nm": "Jan"}}


def fields(**values: Any) -> dict[str, Any]:
    """A valid insert element with these Fields added."""
    return {"@Id": 1, "Fields": {"Nm": "Jan", **values}}


VALID_CASES = [
    pytest.param(VALID, "insert", id="minimal-insert"),
    pytest.param({"@Id": 1}, "update", id="update-needs-no-mandatory-fields"),
    pytest.param({"@Id": 1, "Fields": {"Qty": 3}}, "update", id="update-some-fields"),
    pytest.param(fields(Qty=-4, Amt="12.50", Flag=False), "insert", id="numbers-and-boolean"),
    pytest.param(fields(Amt=12.5), "insert", id="decimal-as-json-number"),
    pytest.param(fields(Da="2024-02-29"), "insert", id="date"),
    pytest.param(fields(Ts="2024-02-29T13:45:00"), "insert", id="datetime"),
    pytest.param(fields(Ts="2024-02-29T13:45"), "insert", id="datetime-without-seconds"),
    pytest.param(fields(Tm="09:30"), "insert", id="time-hh-mm"),
    pytest.param(fields(Tm="09:30:15"), "insert", id="time-hh-mm-ss"),
    pytest.param(fields(Kind="B", Unit=2), "insert", id="code-tables"),
    pytest.param(fields(File="aGVsbG8gd29ybGQ="), "insert", id="blob-base64"),
    pytest.param(fields(Nm="12345"), "insert", id="string-at-its-length"),
    pytest.param(fields(Free="x" * 5000), "insert", id="length-0-is-unlimited"),
    pytest.param(
        {"@Id": 1, "Fields": {"Qty": "", "Amt": "", "Kind": "", "Da": "", "Flag": ""}},
        "update",
        id="empty-string-clears-optional-fields",
    ),
    pytest.param(
        {
            **VALID,
            "Objects": [
                {
                    "Line": {
                        "Element": [{"@LnNo": 1, "Fields": {"Ds": "a"}}, {"Fields": {"Ds": "b"}}]
                    }
                },
                {"Adr": {"Element": {"Fields": {"Street": "Markt"}}}},
            ],
        },
        "insert",
        id="nested-list-and-object",
    ),
    pytest.param(
        {**VALID, "Objects": {"Adr": {"Element": {"Fields": {"Street": "Markt"}}}}},
        "insert",
        id="Objects-as-a-map",
    ),
    pytest.param(
        {"@Id": 1, "Objects": [{"Line": {"Element": {"@LnNo": 4}}}]},
        "update",
        id="nested-update-inherits-update",
    ),
    pytest.param(
        {
            **VALID,
            "Objects": [{"Line": {"Element": {"@LnNo": 4, "Fields": {"@Action": "update"}}}}],
        },
        "insert",
        id="nested-own-update-action",
    ),
]


@pytest.mark.parametrize(("element", "action"), VALID_CASES)
def test_valid_elements_have_no_problems(element: dict[str, Any], action: str) -> None:
    assert validate_element(META, element, action) == []


# (element, action, fragments): every fragment must be in exactly one problem and every
# problem must carry one fragment, so nothing extra is reported either.
PROBLEM_CASES = [
    pytest.param(
        fields(Nope=1), "insert", ["KnTest: Nope is not a field of KnTest"], id="unknown-field"
    ),
    pytest.param(
        {"@Nope": 1, "Fields": {"Nm": "Jan"}},
        "insert",
        ["KnTest: @Nope is not a field of KnTest"],
        id="unknown-at-key",
    ),
    pytest.param(
        {"@Id": 1, "Nm": "Jan", "Fields": {"Nm": "Jan"}},
        "insert",
        ["KnTest: Nm is not a field of KnTest"],
        id="field-outside-Fields-without-at",
    ),
    pytest.param(
        {**VALID, "Objects": [{"Lines": {"Element": {}}}]},
        "insert",
        ["KnTest: Lines is not an object of KnTest"],
        id="unknown-object",
    ),
    pytest.param({"@Id": 1}, "insert", ["KnTest: Nm (LNm) is mandatory"], id="mandatory-insert"),
    pytest.param(
        {"@Id": 1, "Fields": {"Nm": ""}},
        "insert",
        ["KnTest: Nm (LNm) is mandatory"],
        id="mandatory-cleared-on-insert",
    ),
    pytest.param(
        {"@Id": 1, "Fields": {"Nm": ""}},
        "update",
        ["KnTest: Nm (LNm) is mandatory"],
        id="mandatory-cleared-on-update",
    ),
    pytest.param(
        {"@Id": 1, "Fields": {"@Action": "insert"}},
        "update",
        ["Nm (LNm) is mandatory"],
        id="element-action-overrides-request-action",
    ),
    pytest.param(fields(Qty="12"), "insert", ["Qty (LQty): '12' is not an integer"], id="int-text"),
    pytest.param(fields(Qty=1.5), "insert", ["Qty (LQty): 1.5 is not an integer"], id="int-float"),
    pytest.param(fields(Qty=True), "insert", ["Qty (LQty): True is not an integer"], id="int-bool"),
    pytest.param(
        fields(Amt="twelve"), "insert", ["Amt (LAmt): 'twelve' is not a number"], id="decimal"
    ),
    pytest.param(
        fields(Amt=True), "insert", ["Amt (LAmt): True is not a number"], id="decimal-bool"
    ),
    pytest.param(
        fields(Flag="true"), "insert", ["Flag (LFlag): 'true' is not true or false"], id="bool-text"
    ),
    pytest.param(fields(Flag=1), "insert", ["Flag (LFlag): 1 is not true or false"], id="bool-int"),
    pytest.param(
        fields(Da="01-03-2024"), "insert", ["Da (LDa): '01-03-2024' is not a date"], id="date-order"
    ),
    pytest.param(
        fields(Da=20240301), "insert", ["Da (LDa): 20240301 is not a date"], id="date-int"
    ),
    pytest.param(
        fields(Ts="2024-03-01 10:00"),
        "insert",
        ["Ts (LTs): '2024-03-01 10:00'"],
        id="datetime-space",
    ),
    pytest.param(fields(Tm="9:30"), "insert", ["Tm (LTm): '9:30' is not a date"], id="time-short"),
    pytest.param(
        fields(File="not base64!"), "insert", ["File (LFile): the file is not base64"], id="blob"
    ),
    pytest.param(
        fields(File=b"aGVsbG8="),
        "insert",
        ["File (LFile): the file is not base64"],
        id="blob-bytes",
    ),
    pytest.param(
        fields(Nm="123456"),
        "insert",
        ["Nm (LNm): 6 characters, at most 5 allowed"],
        id="length",
    ),
    pytest.param(
        fields(Kind="C"),
        "insert",
        ["Kind (LKind): 'C' is not in its code table (A, B)"],
        id="code-table",
    ),
    pytest.param(
        fields(Kind="a"), "insert", ["'a' is not in its code table"], id="code-table-case-matters"
    ),
    pytest.param(
        fields(Unit=3), "insert", ["Unit (LUnit): 3 is not in its code table (1, 2)"], id="int-code"
    ),
    pytest.param(fields(Qty=0), "insert", ["Qty (LQty): may not be zero"], id="notzero-int"),
    pytest.param(fields(Amt="0.00"), "insert", ["Amt (LAmt): may not be zero"], id="notzero-text"),
    pytest.param(fields(Amt=0.0), "insert", ["Amt (LAmt): may not be zero"], id="notzero-float"),
    pytest.param(
        {
            **VALID,
            "Objects": [{"Line": {"Element": [{"@LnNo": 1, "Fields": {"Ds": "a"}}, {"@LnNo": 2}]}}],
        },
        "insert",
        ["KnTest.Line: Ds (LDs) is mandatory"],
        id="nested-array-second-element",
    ),
    pytest.param(
        {
            "@Id": 1,
            "Objects": [{"Line": {"Element": {"@LnNo": 2, "Fields": {"@Action": "insert"}}}}],
        },
        "update",
        ["KnTest.Line: Ds (LDs) is mandatory"],
        id="nested-own-insert-inside-update",
    ),
    pytest.param(
        {
            "@Id": 1,
            "Fields": {"@Action": "insert", "Nm": "Jan"},
            "Objects": [{"Line": {"Element": {"@LnNo": 2}}}],
        },
        "update",
        ["KnTest.Line: Ds (LDs) is mandatory"],
        id="nested-inherits-parent-element-action",
    ),
    pytest.param(
        {
            **VALID,
            "Objects": [
                {
                    "Line": {
                        "Element": {"Fields": {"Ds": "a"}, "Objects": [{"Sub": {"Element": {}}}]}
                    }
                }
            ],
        },
        "insert",
        ["KnTest.Line.Sub: X (LX) is mandatory"],
        id="two-levels-deep-path",
    ),
    pytest.param(
        {**VALID, "Objects": [{"Adr": {"Element": {"Fields": {"Street": "Keizersgracht"}}}}]},
        "insert",
        ["KnTest.Adr: Street (LStreet): 13 characters, at most 10 allowed"],
        id="nested-length",
    ),
    pytest.param(
        {**VALID, "Objects": [{"Line": {"Element": {"Fields": {"Street": "x", "Ds": "y"}}}}]},
        "insert",
        ["KnTest.Line: Street is not a field of Line"],
        id="field-of-a-sibling-object",
    ),
    pytest.param(
        {**VALID, "Objects": [{"Line": {"Element": "text"}}]},
        "insert",
        ["KnTest.Line: the element is not an object"],
        id="nested-element-not-an-object",
    ),
    pytest.param([VALID], "insert", ["KnTest: the element is not an object"], id="root-not-object"),
]


@pytest.mark.parametrize(("element", "action", "fragments"), PROBLEM_CASES)
def test_each_problem_kind(element: Any, action: str, fragments: list[str]) -> None:
    problems = validate_element(META, element, action)
    _assert_matches(problems, fragments)


def _assert_matches(problems: list[str], fragments: list[str]) -> None:
    assert len(problems) == len(fragments), problems
    for fragment in fragments:
        hits = [p for p in problems if fragment in p]
        assert len(hits) == 1, (fragment, problems)


def test_all_problems_reported_together() -> None:
    element = {
        "@Id": "one",
        "@Bad": 1,
        "Fields": {
            "Qty": 0,
            "Amt": "x",
            "Flag": "yes",
            "Da": "tomorrow",
            "Kind": "Z",
            "File": "???",
            "Unknown": 1,
        },
        "Objects": [
            {"Line": {"Element": [{"Fields": {"Ds": ""}}, {"@LnNo": "x", "Fields": {"Ds": "ok"}}]}},
            {"Nowhere": {"Element": {}}},
            {"Adr": {"Element": {"Fields": {}}}},
        ],
    }
    problems = validate_element(META, element, "insert")
    _assert_matches(
        problems,
        [
            "KnTest: @Bad is not a field of KnTest",
            "KnTest: Unknown is not a field of KnTest",
            "KnTest: Id (LId): 'one' is not an integer",
            "KnTest: Qty (LQty): may not be zero",
            "KnTest: Amt (LAmt): 'x' is not a number",
            "KnTest: Flag (LFlag): 'yes' is not true or false",
            "KnTest: Da (LDa): 'tomorrow' is not a date",
            "KnTest: Kind (LKind): 'Z' is not in its code table",
            "KnTest: File (LFile): the file is not base64",
            "KnTest: Nm (LNm) is mandatory",
            "KnTest.Line: Ds (LDs) is mandatory",
            "KnTest.Line: LnNo (LLnNo): 'x' is not an integer",
            "KnTest: Nowhere is not an object of KnTest",
            "KnTest.Adr: Street (LStreet) is mandatory",
        ],
    )


def test_a_wrongly_typed_value_is_not_also_checked_for_length_or_code() -> None:
    # One problem per value: the type problem hides the later checks for that value.
    assert validate_element(META, fields(Unit="9"), "insert") == [
        "KnTest: Unit (LUnit): '9' is not an integer"
    ]


def test_path_prefix_is_prepended() -> None:
    problems = validate_element(META, {"@Id": 1}, "insert", "Outer.")
    assert problems == ["Outer.KnTest: Nm (LNm) is mandatory"]
