"""Target layer: insert, update, upsert, diff_only and delete, as AFAS sees them.

Requests are recorded at the sandbox to check what was sent (bodies, paths, how many) and
the data is read back over HTTP to check what landed; the summary log line and the ledger's
``landed`` table are checked against the same outcomes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from afas_sandbox import RunningSandbox
from target_afas.ledger import fingerprint
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader, free_person_ids
from tests.support.singer_messages import stream_messages
from tests.support.target_mappings import PERSONS_LOOKUP, U_PROJECT_NAME, people_mapping
from tests.support.target_outputs import ledger_rows
from tests.support.target_runs import run_target, target_config

UNCHANGED_BY_WRITE = ("ModifiedDate",)


def _persons(reader: SandboxReader) -> dict[str, dict[str, Any]]:
    rows = reader.by_key("Profit_Persons", "PersonId")
    assert all(len(v) == 1 for v in rows.values())
    return {k: v[0] for k, v in rows.items()}


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def _entry_keys(rows: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    return sorted((r["UnitId"], r["EntryNo"], r["SeqNo"]) for r in rows)


def _tap_record(row: dict[str, Any]) -> dict[str, Any]:
    """A Profit_Persons row as tap-afas emits it (for the mapped properties)."""
    return {
        "PersonId": row["PersonId"],
        "FirstName": row["FirstName"],
        "Prefix": row["Prefix"],
        "LastName": row["LastName"],
        "Gender": row["Gender"],
        "BirthDate": None if row["BirthDate"] is None else row["BirthDate"][:10],
        "Email": row["Email"],
    }


def test_insert_lands_and_keeps_afas_keys_in_the_ledger(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    records = [
        {"PersonId": "910001", "LastName": "Eerste", "Gender": "M"},
        {"PersonId": "910002", "LastName": "Tweede", "Gender": "V"},
    ]
    before = _persons(reader)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping()}),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 2}
    after = _persons(reader)
    assert set(after) - set(before) == {"910001", "910002"}
    assert [
        (after[r["PersonId"]]["LastName"], after[r["PersonId"]]["Gender"]) for r in records
    ] == [
        ("Eerste", "M"),
        ("Tweede", "V"),
    ]
    assert [s.method for s in recorder.writes] == ["POST", "POST"]

    landed = ledger_rows(tmp_path / "ledger.sqlite3")
    assert sorted((r["stream"], r["outcome"]) for r in landed) == [("people", "inserted")] * 2
    keys = sorted(json.loads(r["afas_keys"])["BcCo"] for r in landed)
    assert keys == ["910001", "910002"]
    assert all(json.loads(r["afas_keys"])["BcId"].isdigit() for r in landed)


def test_update_sends_key_and_changed_fields_only(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    person_id = free_person_ids(reader, 1)[0]
    before = _persons(reader)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping("update")}),
        stream_messages("people", [{"PersonId": person_id, "Email": "nieuw@example.nl"}]),
    )
    assert run.summary("people") == {"updated": 1}
    (put,) = recorder.writes
    assert (put.method, put.relative) == ("PUT", "/connectors/KnPerson")
    assert put.json == {
        "KnPerson": {"Element": {"Fields": {"BcCo": person_id, "EmAd": "nieuw@example.nl"}}}
    }
    after = _persons(reader)
    assert _without(after[person_id], "ModifiedDate") == {
        **_without(before[person_id], "ModifiedDate"),
        "Email": "nieuw@example.nl",
    }
    others = {k: v for k, v in after.items() if k != person_id}
    assert others == {k: v for k, v in before.items() if k != person_id}
    landed = ledger_rows(tmp_path / "ledger.sqlite3")
    assert [(r["outcome"], json.loads(r["afas_keys"])["BcCo"]) for r in landed] == [
        ("updated", person_id)
    ]


def test_empty_string_clears_a_field(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    before = _persons(reader)
    person_id = next(k for k in sorted(before) if before[k]["Email"] and before[k]["FirstName"])
    run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping("update")}),
        stream_messages("people", [{"PersonId": person_id, "Email": "", "FirstName": ""}]),
    )
    after = _persons(reader)[person_id]
    assert _without(after, "ModifiedDate") == {
        **_without(before[person_id], "ModifiedDate"),
        "Email": None,
        "FirstName": None,
    }


def test_null_leaves_a_field_alone_unless_null_means_clear(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    before = _persons(reader)
    kept, cleared = [k for k in sorted(before) if before[k]["Email"]][:2]
    mappings = {
        "keep": people_mapping("update"),
        "clear": people_mapping("update", null_means_clear=True),
    }
    messages = [
        *stream_messages("keep", [{"PersonId": kept, "Email": None, "LastName": "Houden"}]),
        *stream_messages("clear", [{"PersonId": cleared, "Email": None, "LastName": "Wissen"}]),
    ]
    run_target(target_config(afas_sandbox, tmp_path, mappings), messages)
    after = _persons(reader)
    assert (after[kept]["Email"], after[kept]["LastName"]) == (before[kept]["Email"], "Houden")
    assert (after[cleared]["Email"], after[cleared]["LastName"]) == (None, "Wissen")
    bodies = {
        s.json["KnPerson"]["Element"]["Fields"]["BcCo"]: s.json["KnPerson"]["Element"]["Fields"]
        for s in recorder.writes
    }
    assert bodies == {
        kept: {"BcCo": kept, "LaNm": "Houden"},
        cleared: {"BcCo": cleared, "EmAd": "", "LaNm": "Wissen"},
    }


def test_upsert_updates_existing_and_inserts_new(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    before = _persons(reader)
    existing = free_person_ids(reader, 2)
    records = [
        {"PersonId": existing[0], "LastName": "Bestaand-Een"},
        {"PersonId": "920001", "LastName": "Nieuw-Een", "Gender": "V"},
        {"PersonId": existing[1], "LastName": "Bestaand-Twee"},
        {"PersonId": "920002", "LastName": "Nieuw-Twee"},
    ]
    run = run_target(
        target_config(
            afas_sandbox, tmp_path, {"people": people_mapping("upsert", lookup=PERSONS_LOOKUP)}
        ),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 2, "updated": 2}
    after = _persons(reader)
    assert len(after) == len(before) + 2
    assert {r["PersonId"]: after[r["PersonId"]]["LastName"] for r in records} == {
        r["PersonId"]: r["LastName"] for r in records
    }
    assert after[existing[0]]["FirstName"] == before[existing[0]]["FirstName"]
    methods = sorted(
        (s.method, s.json["KnPerson"]["Element"]["Fields"]["BcCo"]) for s in recorder.writes
    )
    assert methods == sorted(
        [("PUT", existing[0]), ("PUT", existing[1]), ("POST", "920001"), ("POST", "920002")]
    )
    lookups = [
        s
        for s in recorder.seen
        if s.relative == "/connectors/Profit_Persons" and "filterfieldids" in s.params
    ]
    assert len(lookups) == 1, "the four keys are looked up in one request"
    assert set(lookups[0].params["filtervalues"].split(";")) == {r["PersonId"] for r in records}


def test_diff_only_makes_no_request_for_unchanged_records(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    before = _persons(reader)
    ids = sorted(before)[:4]
    records = [_tap_record(before[i]) for i in ids]
    records[2] = {**records[2], "Email": "veranderd@example.nl"}
    mapping = people_mapping("update", lookup=PERSONS_LOOKUP, diff_only=True)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        stream_messages("people", records, ["PersonId"], formats={"BirthDate": "date"}),
    )
    assert run.summary("people") == {"updated": 1, "unchanged": 3}
    (put,) = recorder.writes
    assert put.json["KnPerson"]["Element"]["Fields"]["BcCo"] == ids[2]
    after = _persons(reader)
    assert after[ids[2]]["Email"] == "veranderd@example.nl"
    for i in (ids[0], ids[1], ids[3]):
        assert after[i] == before[i]


def test_delete_action_uses_the_key_path(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    person_id = free_person_ids(reader, 1)[0]
    sb_id = sorted(r["SubjectId"] for r in reader.all_rows("Profit_Subjects"))[0]
    sq_no = sorted(r["SqNo"] for r in reader.all_rows("Profit_FreeTable_K01"))[0]
    mappings = {
        "gone_people": {
            "connector": "KnPerson",
            "action": "delete",
            "keys": ["BcCo"],
            "fields": {"BcCo": "PersonId"},
        },
        "gone_subjects": {"connector": "KnSubject", "action": "delete", "keys": ["SbId"]},
        "gone_projects": {
            "connector": "KnCustomK01",
            "action": "delete",
            "keys": ["SqNo"],
            "fields": {"SqNo": "seq"},
        },
    }
    messages = [
        *stream_messages("gone_people", [{"PersonId": person_id}]),
        *stream_messages("gone_subjects", [{"SbId": sb_id}]),
        *stream_messages("gone_projects", [{"seq": sq_no}]),
    ]
    run = run_target(target_config(afas_sandbox, tmp_path, mappings), messages)
    for stream in mappings:
        assert run.summary(stream) == {"deleted": 1}
    assert sorted((s.method, s.relative) for s in recorder.writes) == sorted(
        [
            ("DELETE", f"/connectors/KnPerson/KnPerson/BcCo/{person_id}"),
            ("DELETE", f"/connectors/KnSubject/KnSubject/@SbId/{sb_id}"),
            ("DELETE", f"/connectors/KnCustomK01/KnCustomK01/@SqNo/{sq_no}"),
        ]
    )
    assert person_id not in _persons(reader)
    assert sb_id not in {r["SubjectId"] for r in reader.all_rows("Profit_Subjects")}
    assert sq_no not in {r["SqNo"] for r in reader.all_rows("Profit_FreeTable_K01")}
    log = sorted((r["Tabel"], r["Sleutel"]) for r in reader.all_rows("Profit_Deleted_Records"))
    assert log == sorted(
        [("Persoon", person_id), ("Dossieritem", str(sb_id)), ("Vrije tabel K01", str(sq_no))]
    )
    assert sorted(r["outcome"] for r in ledger_rows(tmp_path / "ledger.sqlite3")) == ["deleted"] * 3


def _sdc_delete_case(
    reader: SandboxReader,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, str]], dict[str, Any]]:
    """Mappings (upsert/insert, not delete) with records carrying ``_sdc_deleted_at``."""
    keep_person, gone_person = free_person_ids(reader, 2)
    sb_id = sorted(r["SubjectId"] for r in reader.all_rows("Profit_Subjects"))[0]
    sq_no = sorted(r["SqNo"] for r in reader.all_rows("Profit_FreeTable_K01"))[0]
    mappings = {
        "people": people_mapping("upsert", lookup=PERSONS_LOOKUP),
        "subjects": {"connector": "KnSubject", "action": "update", "keys": ["SbId"]},
        "projects": {
            "connector": "KnCustomK01",
            "action": "update",
            "keys": ["SqNo"],
            "fields": {"SqNo": "seq", U_PROJECT_NAME: "name"},
        },
    }
    deleted_at = "2026-11-21T10:00:00+00:00"
    fmt = {"_sdc_deleted_at": "date-time"}
    people = [
        {"PersonId": keep_person, "LastName": "Blijft", "_sdc_deleted_at": None},
        {"PersonId": gone_person, "LastName": "Weg", "_sdc_deleted_at": deleted_at},
    ]
    messages = [
        *stream_messages("people", people, ["PersonId"], formats=fmt),
        *stream_messages(
            "subjects", [{"SbId": sb_id, "_sdc_deleted_at": deleted_at}], ["SbId"], formats=fmt
        ),
        *stream_messages(
            "projects",
            [{"seq": sq_no, "name": "Weg", "_sdc_deleted_at": deleted_at}],
            ["seq"],
            formats=fmt,
        ),
    ]
    paths = sorted(
        [
            ("DELETE", f"/connectors/KnPerson/KnPerson/BcCo/{gone_person}"),
            ("DELETE", f"/connectors/KnSubject/KnSubject/@SbId/{sb_id}"),
            ("DELETE", f"/connectors/KnCustomK01/KnCustomK01/@SqNo/{sq_no}"),
        ]
    )
    ids = {"keep": keep_person, "gone": gone_person, "sb_id": sb_id, "sq_no": sq_no}
    return mappings, messages, paths, ids


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="default-config"),
        pytest.param({"add_record_metadata": True}, id="add_record_metadata"),
    ],
)
def test_sdc_deleted_at_deletes_whatever_the_action(
    afas_sandbox: RunningSandbox,
    tmp_path: Path,
    reader: SandboxReader,
    recorder: RequestRecorder,
    extra: dict[str, Any],
) -> None:
    mappings, messages, paths, ids = _sdc_delete_case(reader)
    run = run_target(target_config(afas_sandbox, tmp_path, mappings, **extra), messages)
    deletes = sorted((s.method, s.relative) for s in recorder.writes if s.method == "DELETE")
    assert deletes == paths
    assert run.summary("people") == {"updated": 1, "deleted": 1}
    assert run.summary("subjects") == {"deleted": 1}
    assert run.summary("projects") == {"deleted": 1}
    persons = _persons(reader)
    assert ids["gone"] not in persons
    assert persons[ids["keep"]]["LastName"] == "Blijft"
    assert ids["sb_id"] not in {r["SubjectId"] for r in reader.all_rows("Profit_Subjects")}
    assert ids["sq_no"] not in {r["SqNo"] for r in reader.all_rows("Profit_FreeTable_K01")}


def test_composite_key_delete_path_and_refusal_reported(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    """A composite key goes into the path as ``UnId,JoCo/1,70``; AFAS's refusal is reported.

    The demo FiEntries needs the nested ``FiEntries/EnNo`` part to delete an entry, so this
    delete is refused: the record must come out rejected (with AFAS's message), not deleted.
    """
    before = reader.all_rows("Profit_Transactions")
    mapping = {
        "connector": "FiEntries",
        "action": "delete",
        "keys": ["UnId", "JoCo"],
        "fields": {"UnId": "unit", "JoCo": "journal"},
    }
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"entries": mapping}),
        stream_messages("entries", [{"unit": 1, "journal": "70"}]),
    )
    assert [(s.method, s.relative) for s in recorder.writes] == [
        ("DELETE", "/connectors/FiEntries/FiEntryPar/UnId,JoCo/1,70")
    ]
    assert run.summary("entries") == {"rejected": 1}
    assert _entry_keys(reader.all_rows("Profit_Transactions")) == _entry_keys(before)
    assert ledger_rows(tmp_path / "ledger.sqlite3") == []


def _elements(body: Any, root: str) -> list[dict[str, Any]]:
    element = body[root]["Element"]
    return element if isinstance(element, list) else [element]


@pytest.mark.parametrize("batch_size", [1, 5])
def test_two_changes_to_one_record_keep_their_order(
    afas_sandbox: RunningSandbox,
    tmp_path: Path,
    reader: SandboxReader,
    recorder: RequestRecorder,
    batch_size: int,
) -> None:
    afas_sandbox.latency.fixed_ms = 20
    person_id, *others = free_person_ids(reader, 5)
    records = [
        {"PersonId": person_id, "LastName": "Eerst"},
        *({"PersonId": o, "LastName": "Ander"} for o in others),
        {"PersonId": person_id, "LastName": "Laatst"},
    ]
    config = target_config(
        afas_sandbox,
        tmp_path,
        {"people": people_mapping("update")},
        max_parallel_requests=4,
        batch_size=batch_size,
    )
    run = run_target(config, stream_messages("people", records, ["PersonId"]))
    assert run.summary("people") == {"updated": 6}
    mine = [
        (s, e["Fields"]["LaNm"])
        for s in recorder.writes
        for e in _elements(s.json, "KnPerson")
        if e["Fields"]["BcCo"] == person_id
    ]
    assert [name for _, name in mine] == ["Eerst", "Laatst"]
    assert mine[0][0] is not mine[1][0], "never twice in one request"
    assert mine[0][0].finished <= mine[1][0].started
    assert _persons(reader)[person_id]["LastName"] == "Laatst"
    assert {p: _persons(reader)[p]["LastName"] for p in others} == dict.fromkeys(others, "Ander")


def test_update_puts_primary_keys_as_attributes(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    before = {r["SubjectId"]: r for r in reader.all_rows("Profit_Subjects")}
    sb_id = sorted(before)[3]
    mapping = {
        "connector": "KnSubject",
        "action": "update",
        "keys": ["SbId"],
        "fields": {"SbId": "id", "Ds": "subject"},
    }
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"subjects": mapping}),
        stream_messages("subjects", [{"id": sb_id, "subject": "Bijgewerkt onderwerp"}], ["id"]),
    )
    assert run.summary("subjects") == {"updated": 1}
    (put,) = recorder.writes
    assert put.json == {
        "KnSubject": {"Element": {"@SbId": sb_id, "Fields": {"Ds": "Bijgewerkt onderwerp"}}}
    }
    after = {r["SubjectId"]: r for r in reader.all_rows("Profit_Subjects")}
    assert _without(after[sb_id], "Gewijzigd") == {
        **_without(before[sb_id], "Gewijzigd"),
        "Subject": "Bijgewerkt onderwerp",
    }


def test_ledger_keeps_each_records_own_keys_from_a_batch(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mapping = {"connector": "KnSubject", "fields": {"StId": "type", "Ds": "subject"}}
    records = [{"type": 1, "subject": f"Ledger batch {i}"} for i in range(5)]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"notes": mapping}, batch_size=3),
        stream_messages("notes", records),
    )
    assert run.summary("notes") == {"inserted": 5}
    ids = {r["Subject"]: str(r["SubjectId"]) for r in reader.all_rows("Profit_Subjects")}
    landed = {
        r["fingerprint"]: (r["stream"], r["outcome"], json.loads(r["afas_keys"]))
        for r in ledger_rows(tmp_path / "ledger.sqlite3")
    }
    assert landed == {
        fingerprint("notes", r): ("notes", "inserted", {"SbId": ids[r["subject"]]}) for r in records
    }


def test_summary_line_counts_every_outcome(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    before = _persons(reader)
    same, changed = sorted(before)[:2]
    records = [
        _tap_record(before[same]),
        {**_tap_record(before[changed]), "LastName": "Gewijzigd"},
        {"PersonId": "930001", "LastName": "Nieuw"},
        {"PersonId": "930002", "LastName": "Fout", "Gender": "Q"},
    ]
    mapping = people_mapping("upsert", lookup=PERSONS_LOOKUP, diff_only=True)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        stream_messages("people", records, ["PersonId"]),
    )
    lines = [line for line in run.log_lines if "Summary people" in line]
    assert len(lines) == 1
    assert lines[0].endswith("Summary people: inserted 1, updated 1, unchanged 1, rejected 1")
