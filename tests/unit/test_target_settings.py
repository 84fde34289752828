"""Unit layer: ``target_afas.settings`` (the target's config parsed into frozen objects), pure.

``StreamMapping.from_setting`` refuses mappings that cannot work (a bad action, update/delete
without keys, upsert or diff_only without a lookup, a lookup with other than one key) and
``TargetSettings.from_config`` applies the documented defaults (on_reject fail, 4 parallel
requests capped at AFAS's 8, one element per request, a ledger under .target-afas/, Amsterdam
time). The last tests go through ``TargetAFAS`` itself, whose JSON Schema singer-sdk enforces;
constructing it makes no request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from singer_sdk.exceptions import ConfigValidationError

from afas_profit.errors import AFASConfigError
from afas_profit.payloads import ObjectMapping
from target_afas.settings import (
    DEFAULT_LEDGER,
    Lookup,
    StreamMapping,
    TargetSettings,
    target_config_schema,
)
from target_afas.target import TargetAFAS

TOKEN = "<token><version>1</version><data>" + "AB" * 32 + "</data></token>"
LOOKUP = {"connector": "Profit_Persons", "field": "PersonId"}


def config(**extra: Any) -> dict[str, Any]:
    return {
        "api_url": "http://127.0.0.1:9/ProfitRestServices",
        "token": TOKEN,
        "mappings": {"people": {"connector": "KnPerson"}},
        **extra,
    }


# --------------------------------------------------------------------------- StreamMapping


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        pytest.param(
            {"connector": "KnPerson", "action": "merge"},
            r"^mappings\.people: action 'merge' is not one of insert, update, upsert, delete\.$",
            id="bad-action",
        ),
        pytest.param(
            {"connector": "KnPerson", "action": "update"},
            r"^mappings\.people: action 'update' needs 'keys'",
            id="update-without-keys",
        ),
        pytest.param(
            {"connector": "KnPerson", "action": "delete", "keys": []},
            r"action 'delete' needs 'keys'",
            id="delete-with-empty-keys",
        ),
        pytest.param(
            {"connector": "KnPerson", "action": "upsert", "lookup": LOOKUP},
            r"action 'upsert' needs 'keys'",
            id="upsert-without-keys",
        ),
        pytest.param(
            {"connector": "KnPerson", "action": "upsert", "keys": ["BcCo"]},
            r"^mappings\.people: upsert needs 'lookup'",
            id="upsert-without-lookup",
        ),
        pytest.param(
            {"connector": "KnPerson", "action": "update", "keys": ["BcCo"], "diff_only": True},
            r"^mappings\.people: diff_only needs 'lookup'",
            id="diff-only-without-lookup",
        ),
        pytest.param(
            {
                "connector": "FiEntries",
                "action": "upsert",
                "keys": ["UnId", "EnNo"],
                "lookup": {"connector": "Profit_Transactions", "field": "EntryNo"},
            },
            r"'lookup' works with exactly one key field in 'keys'",
            id="lookup-with-two-keys",
        ),
        pytest.param(
            {"connector": "KnPerson", "lookup": LOOKUP},
            r"'lookup' works with exactly one key field",
            id="lookup-without-keys",
        ),
        pytest.param(
            {"connector": "KnPerson", "fields": ["LaNm"]},
            r"^mappings\.people: 'fields' must map AFAS field ids",
            id="fields-not-a-map",
        ),
        pytest.param(
            {"connector": "KnPerson", "objects": {"KnBasicAddressAdr": {"action": "upsert"}}},
            r"^mappings\.people\.objects\.KnBasicAddressAdr: action 'upsert' is not insert",
            id="object-action-upsert",
        ),
    ],
)
def test_from_setting_refuses(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(AFASConfigError, match=message):
        StreamMapping.from_setting("people", setting)


def test_from_setting_defaults() -> None:
    mapping = StreamMapping.from_setting("people", {"connector": "KnPerson"})
    assert mapping == StreamMapping(
        stream="people",
        connector="KnPerson",
        action="insert",
        keys=(),
        root=ObjectMapping(name=""),
        lookup=None,
        diff_only=False,
        null_means_clear=False,
    )
    assert mapping.root.fields is None, "no 'fields': same names"


def test_from_setting_reads_everything() -> None:
    mapping = StreamMapping.from_setting(
        "people",
        {
            "connector": "KnPerson",
            "action": "upsert",
            "keys": ["BcCo"],
            "lookup": LOOKUP,
            "diff_only": True,
            "null_means_clear": True,
            "fields": {"BcCo": "PersonId", "LaNm": "LastName"},
            "constants": {"MatchPer": "0"},
            "defaults": {"ViGe": "O"},
            "objects": {"KnBasicAddressAdr": {"from": "address", "action": "insert"}},
        },
    )
    assert mapping.action == "upsert"
    assert mapping.keys == ("BcCo",)
    assert mapping.lookup == Lookup("Profit_Persons", "PersonId")
    assert (mapping.diff_only, mapping.null_means_clear) == (True, True)
    assert mapping.root == ObjectMapping(
        name="",
        fields={"BcCo": "PersonId", "LaNm": "LastName"},
        constants={"MatchPer": "0"},
        defaults={"ViGe": "O"},
        objects=(ObjectMapping(name="KnBasicAddressAdr", source="address", action="insert"),),
    )


@pytest.mark.parametrize("action", ["update", "upsert", "delete"])
def test_stream_action_is_not_an_element_action(action: str) -> None:
    # The stream's action picks the verb; it must not turn into "@Action" on the root element.
    setting = {"connector": "KnPerson", "action": action, "keys": ["BcCo"], "lookup": LOOKUP}
    assert StreamMapping.from_setting("people", setting).root.action is None


@pytest.mark.parametrize(
    ("fields", "key", "expected"),
    [
        pytest.param({"BcCo": "PersonId"}, "BcCo", "PersonId", id="mapped"),
        pytest.param(None, "BcCo", "BcCo", id="identity"),
        pytest.param({"LaNm": "LastName"}, "BcCo", "BcCo", id="key-not-in-fields"),
    ],
)
def test_key_property(fields: dict[str, str] | None, key: str, expected: str) -> None:
    setting: dict[str, Any] = {"connector": "KnPerson", "action": "delete", "keys": [key]}
    if fields is not None:
        setting["fields"] = fields
    assert StreamMapping.from_setting("people", setting).key_property(key) == expected


# --------------------------------------------------------------------------- TargetSettings


def test_from_config_defaults() -> None:
    settings = TargetSettings.from_config(config())
    assert settings.dry_run is False
    assert settings.reject_file is None
    assert settings.fail_on_reject is True
    assert settings.max_parallel_requests == 4
    assert settings.batch_size == 1
    assert settings.ledger_path == Path(DEFAULT_LEDGER) == Path(".target-afas/ledger.sqlite3")
    assert settings.zone == ZoneInfo("Europe/Amsterdam")
    assert settings.environment.base_url == "http://127.0.0.1:9/ProfitRestServices"
    assert list(settings.mappings) == ["people"]


@pytest.mark.parametrize(
    ("extra", "attribute", "expected"),
    [
        pytest.param({"on_reject": "continue"}, "fail_on_reject", False, id="on-reject-continue"),
        pytest.param({"on_reject": "fail"}, "fail_on_reject", True, id="on-reject-fail"),
        pytest.param({"on_reject": None}, "fail_on_reject", True, id="on-reject-null-is-fail"),
        pytest.param({"max_parallel_requests": 1}, "max_parallel_requests", 1, id="parallel-1"),
        pytest.param({"max_parallel_requests": 8}, "max_parallel_requests", 8, id="parallel-8"),
        pytest.param(
            {"max_parallel_requests": 50}, "max_parallel_requests", 8, id="parallel-capped-at-8"
        ),
        pytest.param(
            {"max_parallel_requests": "3"}, "max_parallel_requests", 3, id="parallel-from-text"
        ),
        pytest.param(
            {"max_parallel_requests": None}, "max_parallel_requests", 4, id="parallel-null"
        ),
        pytest.param({"batch_size": 20}, "batch_size", 20, id="batch-size"),
        pytest.param({"batch_size": "50"}, "batch_size", 50, id="batch-size-from-text"),
        pytest.param({"batch_size": None}, "batch_size", 1, id="batch-size-null"),
        pytest.param({"ledger_path": ""}, "ledger_path", None, id="ledger-empty-is-none"),
        pytest.param(
            {"ledger_path": "run/ledger.db"}, "ledger_path", Path("run/ledger.db"), id="ledger"
        ),
        pytest.param(
            # Every other setting treats null as "not set" (its default); the ledger is the
            # safety net against double writes, so null must not silently switch it off.
            {"ledger_path": None},
            "ledger_path",
            Path(DEFAULT_LEDGER),
            id="ledger-null-is-default",
        ),
        pytest.param({"reject_file": "r.jsonl"}, "reject_file", Path("r.jsonl"), id="reject"),
        pytest.param({"reject_file": ""}, "reject_file", None, id="reject-empty"),
        pytest.param({"dry_run": True}, "dry_run", True, id="dry-run"),
        pytest.param({"dry_run": None}, "dry_run", False, id="dry-run-null"),
        pytest.param({"timezone": "UTC"}, "zone", ZoneInfo("UTC"), id="zone-utc"),
        pytest.param({"timezone": None}, "zone", ZoneInfo("Europe/Amsterdam"), id="zone-null"),
    ],
)
def test_from_config_parses(extra: dict[str, Any], attribute: str, expected: object) -> None:
    assert getattr(TargetSettings.from_config(config(**extra)), attribute) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"mappings": None}, r"^Setting 'mappings' is required", id="no-mappings"),
        pytest.param({"mappings": {}}, r"^Setting 'mappings' is required", id="empty-mappings"),
        pytest.param({"mappings": []}, r"^Setting 'mappings' is required", id="list-mappings"),
        pytest.param(
            {"timezone": "Mars/Olympus"}, r"'timezone' is 'Mars/Olympus', not an IANA", id="zone"
        ),
        pytest.param({"token": None}, r"^Setting 'token' is required", id="no-token"),
        pytest.param(
            {"mappings": {"a": {"connector": "KnPerson", "action": "update"}}},
            r"^mappings\.a: action 'update' needs 'keys'",
            id="bad-stream-mapping",
        ),
    ],
)
def test_from_config_refuses(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(AFASConfigError, match=message):
        TargetSettings.from_config(config(**overrides))


def test_every_stream_gets_its_mapping() -> None:
    settings = TargetSettings.from_config(
        config(
            mappings={
                "people": {"connector": "KnPerson"},
                "gone": {"connector": "KnPerson", "action": "delete", "keys": ["BcCo"]},
            }
        )
    )
    assert {s: m.action for s, m in settings.mappings.items()} == {
        "people": "insert",
        "gone": "delete",
    }
    assert all(m.stream == s for s, m in settings.mappings.items())


# --------------------------------------------------------------------------- through TargetAFAS


def test_schema_declares_the_documented_defaults() -> None:
    properties = target_config_schema()["properties"]
    assert properties["on_reject"]["default"] == "fail"
    assert properties["max_parallel_requests"]["default"] == 4
    assert properties["max_parallel_requests"]["maximum"] == 8
    assert properties["batch_size"]["default"] == 1
    assert properties["ledger_path"]["default"] == DEFAULT_LEDGER
    assert "mappings" in target_config_schema()["required"]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"on_reject": "abort"}, id="on-reject-unknown"),
        pytest.param({"max_parallel_requests": 9}, id="parallel-over-8"),
        pytest.param({"max_parallel_requests": 0}, id="parallel-0"),
        pytest.param({"batch_size": 0}, id="batch-size-0"),
        pytest.param(
            {"mappings": {"people": {"action": "insert"}}}, id="mapping-without-connector"
        ),
        pytest.param(
            {"mappings": {"people": {"connector": "KnPerson", "action": "merge"}}},
            id="mapping-bad-action",
        ),
    ],
)
def test_target_refuses_config_outside_its_schema(extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigValidationError):
        TargetAFAS(config=config(**extra), parse_env_config=False)


def test_target_builds_its_settings(tmp_path: Path) -> None:
    target = TargetAFAS(
        config=config(
            batch_size=20,
            max_parallel_requests=6,
            on_reject="continue",
            ledger_path=str(tmp_path / "ledger.sqlite3"),
        ),
        parse_env_config=False,
    )
    try:
        settings = target.afas.settings
        assert (settings.batch_size, settings.max_parallel_requests) == (20, 6)
        assert settings.fail_on_reject is False
        assert (tmp_path / "ledger.sqlite3").exists()
    finally:
        target.afas.ledger.close()
