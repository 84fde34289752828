"""Target layer: records the target refuses, config errors, and what ``on_reject`` does.

Invalid records are found against ``/metainfo/update`` before sending: each comes out
"rejected" with a precise reason, in the reject file and a warning, and no request carries it.
``on_reject: continue`` goes on; ``fail`` writes the rest of the batch and then exits non-zero.
Config problems (unmapped stream, a field the connector does not have, a bad token) stop the
target before any write, and the token never appears in any output.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from afas_profit.errors import AFASAuthError, AFASConfigError, AFASRejectedError
from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.singer_messages import (
    inferred_properties,
    record_message,
    schema_message,
    state_message,
    stream_messages,
)
from tests.support.target_mappings import ADDRESS_FIELDS, JOURNAL, people_mapping
from tests.support.target_outputs import read_rejects
from tests.support.target_runs import run_target, run_target_cli, target_config


def _lines(amount: str, text: str = "Memoriaal") -> list[dict[str, Any]]:
    return [
        {"kind": "1", "account": "4000", "date": "2026-11-20", "debit": amount, "credit": None,
         "description": text},
        {"kind": "1", "account": "1100", "date": "2026-11-20", "debit": None, "credit": amount,
         "description": text},
    ]  # fmt: skip


def _entry(period: int, text: str, amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {"year": 2026, "period": period, "unit": 1, "journal": "70",
            "lines": _lines(amount, text), **extra}  # fmt: skip


def _person_ids(reader: SandboxReader) -> set[str]:
    return {str(r["PersonId"]) for r in reader.all_rows("Profit_Persons")}


def _descriptions(reader: SandboxReader) -> list[str]:
    return sorted(str(r["Description"]) for r in reader.all_rows("Profit_Transactions"))


BAD_PEOPLE: list[tuple[dict[str, Any], str]] = [
    (
        {"PersonId": "950001", "FirstName": "Zonder"},
        "KnPerson: LaNm (Achternaam) is mandatory",
    ),
    (
        {"PersonId": "950002", "LastName": "Type", "HouseNumber": "twaalf", "Street": "Markt",
         "City": "Delft", "Country": "NL"},
        "HmNr (Huisnummer): 'twaalf' is not a valid int",
    ),
    (
        {"PersonId": "950003", "LastName": "L" * 81},
        "KnPerson: LaNm (Achternaam): 81 characters, at most 80 allowed",
    ),
    (
        {"PersonId": "950004", "LastName": "Code", "Gender": "Q"},
        "KnPerson: ViGe (Geslacht): 'Q' is not in its code table (M, V, O, X)",
    ),
    (
        {"PersonId": "950005", "LastName": "Adres", "Street": "Markt", "Country": "NL"},
        "KnPerson.KnBasicAddressAdr: Rs (Woonplaats) is mandatory",
    ),
    (
        {"PersonId": "950006", "LastName": {"family": "Object"}},
        "LaNm (Achternaam): expected a single value",
    ),
]  # fmt: skip


def test_invalid_records_are_rejected_without_a_request(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    mapping = people_mapping(objects={"KnBasicAddressAdr": {"fields": dict(ADDRESS_FIELDS)}})
    good = [
        {"PersonId": "950101", "LastName": "Goed"},
        {"PersonId": "950102", "LastName": "Ook Goed", "Street": "Markt", "City": "Delft",
         "Country": "NL", "HouseNumber": 7},
    ]  # fmt: skip
    records = [good[0], *(bad for bad, _ in BAD_PEOPLE), good[1]]
    before = _person_ids(reader)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 2, "rejected": len(BAD_PEOPLE)}
    assert _person_ids(reader) - before == {"950101", "950102"}

    sent = [s.json["KnPerson"]["Element"]["Fields"]["BcCo"] for s in recorder.writes]
    assert sorted(sent) == ["950101", "950102"], "no request carries a rejected record"

    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert [r["record"] for r in rejects] == [bad for bad, _ in BAD_PEOPLE]
    for line, (_, reason) in zip(rejects, BAD_PEOPLE, strict=True):
        assert line["stream"] == "people"
        assert line["outcome"] == "rejected"
        assert reason in line["reason"], (reason, line["reason"])
        assert line["profitLogReference"] is None
    warnings = run.warnings()
    for bad, _ in BAD_PEOPLE:
        assert any(f"record {bad['PersonId']} rejected" in w for w in warnings), bad


def test_notzero_and_malformed_nested_data_are_rejected(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    records = [
        _entry(0, "Periode nul"),
        _entry(5, "Regels tekst", lines="geen regels"),
        _entry(5, "Regels getallen", lines=[1, 2]),
        _entry(5, "Goede boeking"),
    ]
    before = _descriptions(reader)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"journal": JOURNAL}),
        stream_messages("journal", records),
    )
    assert run.summary("journal") == {"inserted": 1, "rejected": 3}
    assert len(recorder.writes) == 1
    assert sorted(set(_descriptions(reader)) - set(before)) == ["Goede boeking"]
    reasons = [r["reason"] for r in read_rejects(tmp_path / "rejects.jsonl")]
    assert len(reasons) == 3
    assert "FiEntryPar: Peri (Periode): may not be zero" in reasons[0]
    assert "property 'lines' is not an object" in reasons[1]
    assert "property 'lines' is not an object or an array of objects" in reasons[2]


def test_update_without_its_key_is_rejected_without_a_request(
    afas_sandbox: RunningSandbox, tmp_path: Path, recorder: RequestRecorder
) -> None:
    records = [{"PersonId": None, "LastName": "Zonder sleutel"}, {"LastName": "Ook zonder"}]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping("update")}),
        stream_messages("people", records),
    )
    assert run.summary("people") == {"rejected": 2}
    assert recorder.writes == []
    reasons = [r["reason"] for r in read_rejects(tmp_path / "rejects.jsonl")]
    assert reasons == ["key field(s) BcCo empty in the record (properties PersonId)"] * 2


def test_on_reject_defaults_to_fail(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    config = target_config(afas_sandbox, tmp_path, {"people": people_mapping()})
    del config["on_reject"]
    records = [
        {"PersonId": "951501", "LastName": "Goed"},
        {"PersonId": "951502", "LastName": "Fout", "Gender": "Q"},
    ]
    run = run_target(config, stream_messages("people", records), expect_error=True)
    assert isinstance(run.error, AFASRejectedError)
    assert "1 record(s) not written" in str(run.error)
    assert "951501" in _person_ids(reader)


def test_on_reject_continue_goes_on_with_other_streams(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mappings = {"people": people_mapping(), "journal": JOURNAL}
    messages = [
        *stream_messages("people", [{"PersonId": "951001", "Gender": "Q", "LastName": "X"}]),
        state_message({"bookmarks": {"people": {"n": 1}}}),
        *stream_messages("journal", [_entry(3, "Na een afwijzing")]),
        state_message({"bookmarks": {"journal": {"n": 2}}}),
    ]
    run = run_target(target_config(afas_sandbox, tmp_path, mappings), messages)
    assert run.error is None
    assert run.summary("people") == {"rejected": 1}
    assert run.summary("journal") == {"inserted": 1}
    assert "Na een afwijzing" in _descriptions(reader)
    assert "951001" not in _person_ids(reader)
    assert run.states[-1] == {"bookmarks": {"journal": {"n": 2}}}


def test_on_reject_fail_writes_the_batch_then_exits_non_zero(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mappings = {"people": people_mapping(), "journal": JOURNAL}
    people = [
        {"PersonId": "952001", "LastName": "Voor"},
        {"PersonId": "952002", "LastName": "Fout", "Gender": "Q"},
        {"PersonId": "952003", "LastName": "Na"},
    ]
    messages = [
        *stream_messages("people", people, ["PersonId"]),
        state_message({"bookmarks": {"people": {"n": 3}}}),
        *stream_messages("journal", [_entry(4, "Na de fout")]),
    ]
    config = target_config(afas_sandbox, tmp_path, mappings, on_reject="fail")
    cli = run_target_cli(tmp_path, config, messages)
    assert cli.returncode != 0
    assert "on_reject is 'fail'" in cli.stderr
    assert "Traceback" not in cli.stderr
    assert "ViGe (Geslacht): 'Q' is not in its code table" in cli.stderr
    persons = _person_ids(reader)
    assert {"952001", "952003"} <= persons, "the good records of the batch are written"
    assert "952002" not in persons
    assert "Na de fout" not in _descriptions(reader), "the target stopped"
    assert cli.states == [], "no STATE after records that did not all land"
    rejects = read_rejects(tmp_path / "rejects.jsonl")
    assert [(r["record"]["PersonId"], r["outcome"]) for r in rejects] == [("952002", "rejected")]


def test_unmapped_stream_is_a_config_error(
    afas_sandbox: RunningSandbox, tmp_path: Path, recorder: RequestRecorder
) -> None:
    messages = [
        *stream_messages("people", [{"PersonId": "953001", "LastName": "Een"}]),
        *stream_messages("mystery_stream", [{"id": 1}]),
    ]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping()}),
        messages,
        expect_error=True,
    )
    assert isinstance(run.error, AFASConfigError)
    assert "'mystery_stream'" in str(run.error)
    assert "mappings" in str(run.error)
    assert recorder.writes == []

    cli = run_target_cli(tmp_path, target_config(afas_sandbox, tmp_path, {}), messages[2:])
    assert cli.returncode != 0
    assert "mappings" in cli.stderr

    config = target_config(afas_sandbox, tmp_path, {"people": people_mapping()})
    cli = run_target_cli(tmp_path, config, messages[2:])
    assert cli.returncode != 0
    assert "'mystery_stream' has no entry in 'mappings'" in cli.stderr
    assert "Traceback" not in cli.stderr  # one clear line, not a dump
    assert recorder.writes == []


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        pytest.param(
            people_mapping(fields={"BcCo": "PersonId", "LaNm": "LastName", "Nonsense": "x"}),
            "Nonsense not a field of KnPerson",
            id="unknown-field",
        ),
        pytest.param(
            people_mapping(constants={"Geslacht": "M"}),
            "Geslacht not a field of KnPerson",
            id="unknown-constant",
        ),
        pytest.param(
            people_mapping(objects={"KnBogusAdr": {}}),
            "'KnBogusAdr' is not an object of KnPerson",
            id="unknown-object",
        ),
        pytest.param(
            people_mapping(objects={"KnBasicAddressAdr": {"fields": {"Straat": "Street"}}}),
            "Straat not a field of KnBasicAddressAdr",
            id="unknown-nested-field",
        ),
    ],
)
def test_mapping_naming_a_missing_field_fails_at_start(
    afas_sandbox: RunningSandbox,
    tmp_path: Path,
    recorder: RequestRecorder,
    mapping: dict[str, Any],
    fragment: str,
) -> None:
    records = [{"PersonId": "954001", "LastName": "Een", "Street": "Markt", "x": "y"}]
    recorder.reset()
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        [
            schema_message("people", inferred_properties(records)),
            record_message("people", records[0]),
        ],
        expect_error=True,
    )
    assert isinstance(run.error, AFASConfigError)
    assert fragment in str(run.error)
    assert "mappings.people" in str(run.error)
    assert [(s.method, s.relative) for s in recorder.seen] == [
        ("GET", "/metainfo/update/KnPerson")
    ], "stopped after reading the connector's metainfo, before any record"


def _token_forms(xml: str) -> list[str]:
    data = xml.split("<data>")[1].split("</data>")[0]
    return [xml, data, data.lower(), base64.b64encode(xml.encode()).decode()]


def test_bad_token_stops_at_once_and_never_shows(
    afas_sandbox: RunningSandbox, tmp_path: Path, recorder: RequestRecorder
) -> None:
    bad = "<token><version>1</version><data>" + "AB12" * 16 + "</data></token>"
    config = target_config(afas_sandbox, tmp_path, {"people": people_mapping()}, token=bad)
    messages = stream_messages("people", [{"PersonId": "955001", "LastName": "Een"}])
    recorder.reset()
    run = run_target(config, messages, expect_error=True)
    assert isinstance(run.error, AFASAuthError)
    assert "401" in str(run.error)
    assert [(s.method, s.status) for s in recorder.seen] == [("GET", 401)], "no retries"

    cli = run_target_cli(tmp_path, config, messages)
    assert cli.returncode != 0
    assert "401" in cli.stderr
    outputs = [run.stdout, run.log, run.error_text, cli.stdout, cli.stderr]
    for form in _token_forms(bad):
        for text in outputs:
            assert form not in text
    assert all(s.method == "GET" for s in recorder.seen)


def test_auth_failure_on_a_write_stops_the_run_and_is_not_a_reject(
    afas_sandbox: RunningSandbox, tmp_path: Path, recorder: RequestRecorder
) -> None:
    afas_sandbox.faults.add(status=401, connector="KnPerson", method="POST")
    records = [{"PersonId": f"95600{i}", "LastName": "Een"} for i in range(1, 4)]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping()}, on_reject="continue"),
        stream_messages("people", records, ["PersonId"]),
        expect_error=True,
    )
    assert isinstance(run.error, AFASAuthError)
    posts = [json.dumps(s.json, sort_keys=True) for s in recorder.writes]
    assert len(posts) == len(set(posts)), "an auth failure is never retried"
    assert read_rejects(tmp_path / "rejects.jsonl") == []
    full = afas_sandbox.tokens.full.xml
    for form in _token_forms(full):
        assert form not in run.log
        assert form not in run.error_text
