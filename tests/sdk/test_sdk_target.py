"""singer-sdk's standard target tests for target-afas, against the demo sandbox over real HTTP.

Layer: the whole target as singer-sdk sees it. ``get_target_test_class`` generates one test per
entry of the SDK's target suite (``singer_sdk/testing/target_tests.py``): ``--version``/``--about``
output (cli_prints) and one run per sample file in ``singer_sdk/testing/target_test_streams``
(array_data, camelcase, camelcase_complex_schema, duplicate_records, encoded_string_data,
invalid_schema, no_primary_keys, optional_attributes, pk_updates, record_before_schema,
record_missing_key_property, record_missing_fields, schema_no_properties, schema_updates,
special_chars_in_attributes): 16 tests. Three of them expect singer-sdk itself to refuse the
input (invalid_schema: InvalidInputLine, record_before_schema: RecordsWithoutSchemaException,
record_missing_key_property: MissingKeyPropertiesError); the others expect a clean run.

An API target only writes streams it has a mapping for, so the config below maps every sample
stream onto an UpdateConnector: KnCustomK01 (a free table with an auto-numbered key, the
project name mandatory) for flat streams, KnPerson (MatchPer 0: match on the number, so a
repeated id updates) for keyed ones, and KnPerson with a KnBasicAddressAdr taken ``from`` a
nested object where the sample nests one. ``on_reject`` is ``fail``, so a record AFAS (or the
target's validation) refuses fails the SDK test; nothing here is skipped or faked.

Not in the SDK's suite, so not generated: multiple_state_messages (singer-sdk comments it
out: it asserts one emitted STATE per input STATE, while a batching target emits the latest
STATE when its sinks drain; target-afas emits only the final one for that small file),
record_missing_required_property (singer-sdk's record validation refuses the record with
InvalidRecord), and the user_location files (no test uses them).

The generated tests run against one session sandbox, started at collection time by
``tests/sdk/conftest.py`` (the SDK needs the config when the class is built). The functions
after the class run a few sample files again with ``TargetTestRunner`` into a fresh sandbox
each and check what landed in AFAS, which the SDK's own tests do not look at.
"""

from __future__ import annotations

import importlib.resources
import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.testing import TargetTestRunner, get_target_test_class, target_test_streams
from singer_sdk.testing.factory import BaseTestClass

from afas_sandbox import RunningSandbox
from target_afas.target import TargetAFAS
from tests.support.sandbox_reading import RawClient

PROJECT = "U018A40C7A37A5B7A93502E52BF447225"  # KnCustomK01 Projectnaam (string 80, mandatory)
BUDGET = "U7CAD08037F825575A885C5EDD55A9ABF"  # KnCustomK01 Budget (decimal)
START = "U4D8A1ED93403544A85509B874257E1DF"  # KnCustomK01 Startdatum (date)
ACTIVE = "U1C68B5BDF2595E2ABFA1137C65389D71"  # KnCustomK01 Actief (boolean)
MEMBER = "U17890CCBFF3B5670A533F9CD449E7FBF"  # KnPerson Lidnummer (string 20)


def free_table(
    fields: dict[str, str], project: str, *, from_property: str | None = None
) -> dict[str, Any]:
    """A KnCustomK01 insert; ``project`` fills Projectnaam when the record has no value."""
    mapping: dict[str, Any] = {"connector": "KnCustomK01", "action": "insert", "fields": fields}
    mapping["defaults" if from_property else "constants"] = {PROJECT: project}
    return mapping


def person(fields: dict[str, str], *, match: str = "0", **extra: Any) -> dict[str, Any]:
    return {
        "connector": "KnPerson",
        "action": "insert",
        "fields": fields,
        "constants": {"MatchPer": match, **extra.pop("constants", {})},
        **extra,
    }


def address_from(prop: str, fields: dict[str, str], **constants: str) -> dict[str, Any]:
    return {"KnBasicAddressAdr": {"from": prop, "fields": fields, "constants": constants}}


OBJECT_STORE = person(
    {},
    match="7",
    constants={"LaNm": "SDK object_store"},
    objects=address_from("object_store", {"HmNr": "id"}, CoId="NL", Ad="Teststraat", Rs="Delft"),
)

MAPPINGS: dict[str, dict[str, Any]] = {
    "test_array_data": free_table({BUDGET: "id"}, "SDK array_data"),
    "TestCamelcase": free_table({PROJECT: "clientName"}, "SDK camelcase", from_property="x"),
    "ForecastingTypeToCategory": free_table(
        {
            PROJECT: "ForecastingItemCategory",
            ACTIVE: "IsDeleted",
            START: "CreatedDate",
            BUDGET: "DisplayPosition",
        },
        "SDK forecasting",
        from_property="x",
    ),
    "test_duplicate_records": person(
        {"BcCo": "id", MEMBER: "metric"}, constants={"LaNm": "SDK duplicates"}
    ),
    "test_strings": free_table({PROJECT: "info", BUDGET: "id"}, "-", from_property="x"),
    "test_strings_in_objects": person(
        {},
        match="7",
        constants={"LaNm": "SDK strings in objects"},
        objects=address_from("info", {"Rs": "name", "Ad": "value"}, CoId="NL"),
    ),
    "test_strings_in_arrays": free_table({BUDGET: "id"}, "SDK strings in arrays"),
    "test_invalid_schema": free_table({}, "SDK invalid schema"),
    "test_no_pk": free_table({BUDGET: "metric"}, "SDK no primary keys"),
    "test_optional_attributes": free_table(
        {PROJECT: "optional", BUDGET: "id"}, "(no value)", from_property="x"
    ),
    "example_stream": person({"BcCo": "id", "LaNm": "name", "EmAd": "email"}),
    "test_record_before_schema": free_table({BUDGET: "metric"}, "SDK record before schema"),
    "test_record_missing_key_property": free_table({BUDGET: "metric"}, "SDK missing key"),
    "record_missing_fields": free_table(
        {PROJECT: "optional", BUDGET: "id"}, "(no value)", from_property="x"
    ),
    "test_record_missing_required_property": free_table({BUDGET: "metric"}, "SDK missing required"),
    "test_object_schema_with_properties": OBJECT_STORE,
    "test_object_schema_no_properties": OBJECT_STORE,
    "test_schema_updates": free_table(
        {PROJECT: "a2", BUDGET: "a1", ACTIVE: "a3"}, "SDK schema updates", from_property="x"
    ),
    "test:SpecialChars!in?attributes": person(
        {"LaNm": "_id"},
        match="7",
        objects=address_from("d", {"Ad": "agent:os:version", "Rs": "agent:type"}, CoId="NL"),
    ),
}


def target_config(sandbox: RunningSandbox) -> dict[str, Any]:
    return {
        "api_url": sandbox.base_url,
        "token": sandbox.tokens.full.xml,
        "mappings": MAPPINGS,
        "on_reject": "fail",
        "ledger_path": "",  # no ledger: every SDK test must really write
        "batch_size": 5,
    }


class TestTargetAFASStandard:
    """singer-sdk standard target tests for TargetAFAS, every sample stream mapped."""

    @staticmethod
    def build_sdk_test_class(sandbox: RunningSandbox) -> type[BaseTestClass]:
        return get_target_test_class(
            TargetAFAS, config=target_config(sandbox), parse_env_config=False
        )

    def test_replaced_by_generated_class(self) -> None:
        # Runs only if conftest.py's collection hook did not swap in the generated class.
        pytest.fail("tests/sdk/conftest.py did not build the singer-sdk test class")


# --------------------------------------------------------------------------- what landed


def run_sample(sandbox: RunningSandbox, name: str) -> TargetTestRunner:
    runner = TargetTestRunner(
        TargetAFAS,
        config=target_config(sandbox),
        input_io=io.StringIO(sample_text(name)),
        parse_env_config=False,
    )
    runner.sync_all()
    return runner


def rows(sandbox: RunningSandbox, connector: str) -> list[dict[str, Any]]:
    with RawClient(sandbox, sandbox.tokens.full.header) as client:
        return client.all_rows(connector)


def sample_text(name: str) -> str:
    path = importlib.resources.files(target_test_streams) / f"{name}.singer"
    return path.read_text(encoding="utf-8")


def sample_records(name: str, stream: str) -> list[dict[str, Any]]:
    messages = [json.loads(line) for line in sample_text(name).splitlines() if line.strip()]
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def test_encoded_strings_land_unchanged(afas_sandbox: RunningSandbox) -> None:
    before = {r["SqNo"] for r in rows(afas_sandbox, "Profit_FreeTable_K01")}
    run_sample(afas_sandbox, "encoded_string_data")
    new = [r for r in rows(afas_sandbox, "Profit_FreeTable_K01") if r["SqNo"] not in before]
    arrays = "SDK strings in arrays"
    expected = sample_records("encoded_string_data", "test_strings")
    assert sorted(
        (int(r["Budget"]), r["Projectnaam"]) for r in new if r["Projectnaam"] != arrays
    ) == sorted((r["id"], r["info"]) for r in expected)
    assert sorted(int(r["Budget"]) for r in new if r["Projectnaam"] == arrays) == [1, 2, 3, 4, 5, 6]
    people = {r["Street"]: r["City"] for r in rows(afas_sandbox, "Profit_Persons")}
    for record in sample_records("encoded_string_data", "test_strings_in_objects"):
        assert people.get(record["info"]["value"]) == record["info"]["name"], record


def test_duplicate_records_keep_their_order(afas_sandbox: RunningSandbox) -> None:
    run_sample(afas_sandbox, "duplicate_records")
    last: dict[str, str] = {}
    for record in sample_records("duplicate_records", "test_duplicate_records"):
        last[str(record["id"])] = str(record["metric"])
    found = {
        r["PersonId"]: r["Lidnummer"]
        for r in rows(afas_sandbox, "Profit_Persons")
        if r["PersonId"] in last
    }
    assert found == last == {"1": "100", "2": "20"}


def test_optional_attributes_fall_back_to_the_default(afas_sandbox: RunningSandbox) -> None:
    before = {r["SqNo"] for r in rows(afas_sandbox, "Profit_FreeTable_K01")}
    run_sample(afas_sandbox, "optional_attributes")
    new = [r for r in rows(afas_sandbox, "Profit_FreeTable_K01") if r["SqNo"] not in before]
    assert sorted((int(r["Budget"]), r["Projectnaam"]) for r in new) == [
        (1, "This is optional"),
        (2, "(no value)"),
        (3, "Also optional"),
        (4, "(no value)"),
    ]


def test_nested_objects_and_special_characters(afas_sandbox: RunningSandbox) -> None:
    run_sample(afas_sandbox, "schema_no_properties")
    run_sample(afas_sandbox, "special_chars_in_attributes")
    people = rows(afas_sandbox, "Profit_Persons")
    assert sorted(r["HouseNumber"] for r in people if r["LastName"] == "SDK object_store") == [
        1,
        1,
        2,
        2,
    ]
    (special,) = [r for r in people if r["LastName"] == "a2e98886"]
    assert (special["Street"], special["City"], special["Country"]) == ("10.13.1", "desktop", "NL")


def test_about_through_the_sdk_runner(afas_sandbox: RunningSandbox) -> None:
    runner = TargetTestRunner(
        TargetAFAS, config=target_config(afas_sandbox), parse_env_config=False
    )
    target = runner.new_target()
    assert isinstance(target, TargetAFAS)
    out = io.StringIO()
    with redirect_stdout(out):
        target.print_about(output_format="json")
    about = json.loads(out.getvalue())
    assert about["name"] == "target-afas"
    assert "stream-maps" in about["capabilities"]
    settings = about["settings"]["properties"]
    assert {"mappings", "on_reject", "batch_size", "max_parallel_requests", "ledger_path"} <= set(
        settings
    )
    assert "mappings" in about["settings"]["required"]
    target.afas.ledger.close()


@pytest.mark.parametrize(
    ("change", "remove"),
    [
        pytest.param({}, "mappings", id="mappings-missing"),
        pytest.param({}, "token", id="token-missing"),
        pytest.param({"on_reject": "abort"}, None, id="on-reject-not-in-enum"),
        pytest.param({"batch_size": "ten"}, None, id="batch-size-not-integer"),
    ],
)
def test_config_validation_through_the_sdk_runner(
    afas_sandbox: RunningSandbox, change: dict[str, Any], remove: str | None
) -> None:
    config = {**target_config(afas_sandbox), **change}
    if remove is not None:
        config.pop(remove)
    runner = TargetTestRunner(TargetAFAS, config=config, parse_env_config=False)
    with pytest.raises(ConfigValidationError):
        runner.new_target()
