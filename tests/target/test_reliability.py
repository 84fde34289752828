"""Target layer: batches, retries, unknown outcomes, re-runs, dry runs, STATE and parallelism.

The sandbox refuses, drops and delays requests on cue (``faults``, ``latency``); the recorder
sees every request; the data is read back over HTTP. What must hold: one bad record never
sinks its batch, transient failures are retried, a POST without an answer is never blindly
sent twice, a re-run (also after a kill) writes nothing twice, a dry run writes nothing, STATE
only follows records with outcomes, and no more requests are in flight than allowed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from afas_profit.errors import AFASRejectedError
from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader
from tests.support.singer_messages import (
    record_message,
    singer_text,
    state_message,
    stream_messages,
)
from tests.support.target_mappings import JOURNAL, PERSONS_LOOKUP, people_mapping
from tests.support.target_outputs import ledger_rows, read_rejects
from tests.support.target_runs import run_target, run_target_cli, start_target_cli, target_config

PROFIT_LOG_REFERENCE = re.compile(r"[0-9A-F]{32}")

SUBJECTS = {
    "connector": "KnSubject",
    "fields": {"StId": "type", "Ds": "subject"},
    "objects": {"KnSubjectLink": {"fields": {"SfTp": "link_type", "SfId": "link_id"}}},
}


def _entry(text: str, debit: str = "100.00", credit: str = "100.00") -> dict[str, Any]:
    return {
        "year": 2026,
        "period": 6,
        "unit": 3,
        "journal": "70",
        "lines": [
            {"kind": "1", "account": "4000", "date": "2026-06-10", "debit": debit,
             "credit": None, "description": text},
            {"kind": "1", "account": "1100", "date": "2026-06-10", "debit": None,
             "credit": credit, "description": text},
        ],
    }  # fmt: skip


def _descriptions(reader: SandboxReader) -> list[str]:
    return [str(r["Description"]) for r in reader.all_rows("Profit_Transactions")]


def _subjects(reader: SandboxReader) -> list[str]:
    return [str(r["Subject"]) for r in reader.all_rows("Profit_Subjects")]


def _batch_size(body: Any, root: str) -> int:
    element = body[root]["Element"]
    return len(element) if isinstance(element, list) else 1


# --------------------------------------------------------------------------- batches


# AFAS answers in the language the request asks for, else in the environment's (Dutch).
LANGUAGES = pytest.mark.parametrize("accept_language", ["en-us", "nl-nl", None])
NOT_BALANCED = {
    "en-us": "The entry is not balanced (debit 100.00, credit 99.00).",
    "nl-nl": "De boeking is niet in balans (debet 100.00, credit 99.00).",
    None: "De boeking is niet in balans (debet 100.00, credit 99.00).",
}
DOES_NOT_EXIST = {
    "en-us": "The entered value for 'Bestemming' does not exist.",
    "nl-nl": "De ingevoerde waarde voor 'Bestemming' bestaat niet.",
    None: "De ingevoerde waarde voor 'Bestemming' bestaat niet.",
}


@LANGUAGES
def test_refused_record_does_not_sink_its_batch(
    afas_sandbox: RunningSandbox,
    tmp_path: Path,
    reader: SandboxReader,
    recorder: RequestRecorder,
    accept_language: str | None,
) -> None:
    texts = [f"Batch-isolatie {i}" for i in range(1, 6)]
    records = [_entry(t) for t in texts]
    records[2] = _entry(texts[2], credit="99.00")  # AFAS refuses: not balanced
    language = {"accept_language": accept_language} if accept_language else {}
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"journal": JOURNAL}, batch_size=5, **language),
        stream_messages("journal", records),
    )
    assert run.summary("journal") == {"inserted": 4, "rejected": 1}
    stored = _descriptions(reader)
    assert {t: stored.count(t) for t in texts} == {t: (0 if t == texts[2] else 2) for t in texts}, (
        "each good entry landed once (two lines), the bad one not at all"
    )

    sizes = [_batch_size(s.json, "FiEntryPar") for s in recorder.writes]
    assert sizes[0] == 5
    assert sorted(sizes) == [1, 2, 2, 3, 5]  # 5 -> 2 + 3 -> 3 = 1 + 2
    (reject,) = read_rejects(tmp_path / "rejects.jsonl")
    assert reject["outcome"] == "rejected"
    assert reject["reason"] == NOT_BALANCED[accept_language]
    assert PROFIT_LOG_REFERENCE.fullmatch(reject["profitLogReference"])
    assert reject["record"]["lines"][0]["description"] == texts[2]
    assert any(reject["profitLogReference"] in w for w in run.warnings())


@LANGUAGES
def test_afas_side_code_error_isolated_in_a_batch(
    afas_sandbox: RunningSandbox,
    tmp_path: Path,
    reader: SandboxReader,
    recorder: RequestRecorder,
    accept_language: str | None,
) -> None:
    """A link to a person that does not exist: only AFAS knows; the other four still land."""
    person_ids = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))[:5]
    texts = [f"Notitie batch {i}" for i in range(5)]
    records = [
        {"type": 1, "subject": t, "link_type": 2, "link_id": p}
        for t, p in zip(texts, person_ids, strict=True)
    ]
    records[4]["link_id"] = "999999"
    language = {"accept_language": accept_language} if accept_language else {}
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"notes": SUBJECTS}, batch_size=5, **language),
        stream_messages("notes", records),
    )
    assert run.summary("notes") == {"inserted": 4, "rejected": 1}
    stored = _subjects(reader)
    assert {t: stored.count(t) for t in texts} == {t: int(t != texts[4]) for t in texts}
    (reject,) = read_rejects(tmp_path / "rejects.jsonl")
    assert reject["reason"] == DOES_NOT_EXIST[accept_language]
    assert PROFIT_LOG_REFERENCE.fullmatch(reject["profitLogReference"])
    assert _batch_size(recorder.writes[0].json, "KnSubject") == 5


# --------------------------------------------------------------------------- retries


def test_maintenance_503_is_retried_after_retry_after(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    afas_sandbox.faults.add(status=503, retry_after=1, times=2, connector="KnPerson", method="POST")
    records = [{"PersonId": f"96100{i}", "LastName": f"Onderhoud {i}"} for i in range(1, 4)]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping()}),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 3}
    persons = {str(r["PersonId"]): r for r in reader.all_rows("Profit_Persons")}
    assert {r["PersonId"]: persons[r["PersonId"]]["LastName"] for r in records} == {
        r["PersonId"]: r["LastName"] for r in records
    }
    posts = recorder.writes
    assert sorted(s.status for s in posts) == [201, 201, 201, 503, 503]
    for refused in (s for s in posts if s.status == 503):
        retry = next(
            s for s in posts if s.status == 201 and s.body == refused.body
        )  # the same record, sent again
        assert retry.started - refused.finished >= 0.9, "retry_after (1 s) was honoured"
    assert read_rejects(tmp_path / "rejects.jsonl") == []


def test_reset_after_send_with_lookup_confirms_instead_of_resending(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    fault = afas_sandbox.faults.add(
        kind="reset", phase="after", connector="KnPerson", method="POST", times=1
    )
    mapping = people_mapping("upsert", lookup=PERSONS_LOOKUP)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        stream_messages("people", [{"PersonId": "962001", "LastName": "Verbroken"}]),
    )
    assert run.summary("people") == {"inserted": 1}
    rows = [r for r in reader.all_rows("Profit_Persons") if r["PersonId"] == "962001"]
    assert [r["LastName"] for r in rows] == ["Verbroken"], "exactly once"
    assert fault.hits == 1
    (post,) = recorder.writes
    lookups = [s for s in recorder.seen if "filterfieldids" in s.params]
    assert len(lookups) == 2
    assert lookups[1].started >= post.finished, "checked with the lookup after the reset"
    assert read_rejects(tmp_path / "rejects.jsonl") == []
    assert [r["outcome"] for r in ledger_rows(tmp_path / "ledger.sqlite3")] == ["inserted"]


def test_reset_after_send_without_lookup_is_outcome_unknown_and_not_resent(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    fault = afas_sandbox.faults.add(
        kind="reset", phase="after", connector="KnSubject", method="POST", times=1
    )
    record = {"type": 1, "subject": "Onbekende afloop 962"}
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"notes": SUBJECTS}, on_reject="continue"),
        stream_messages("notes", [record]),
    )
    assert run.summary("notes") == {"outcome_unknown": 1}
    assert _subjects(reader).count("Onbekende afloop 962") == 1, "it did land, once"
    assert fault.hits == 1
    assert [s.method for s in recorder.writes] == ["POST"], "never resent"
    (reject,) = read_rejects(tmp_path / "rejects.jsonl")
    assert reject["outcome"] == "outcome_unknown"
    assert reject["record"] == record
    assert reject["reason"]
    assert any("outcome_unknown" in w for w in run.warnings())
    assert ledger_rows(tmp_path / "ledger.sqlite3") == []


def test_reset_before_handling_with_lookup_is_sent_again_by_the_next_run_only(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    """The connection drops before AFAS wrote anything: not resent in the same run (it might
    still be processed); the next run finds it missing by lookup and sends it once."""
    fault = afas_sandbox.faults.add(
        kind="reset", phase="before", connector="KnPerson", method="POST", times=1
    )
    mapping = people_mapping("upsert", lookup=PERSONS_LOOKUP)
    config = target_config(afas_sandbox, tmp_path, {"people": mapping})
    messages = stream_messages("people", [{"PersonId": "962501", "LastName": "Opnieuw"}])
    first = run_target(config, messages)
    assert fault.hits == 1
    assert first.summary("people") == {"outcome_unknown": 1}
    assert [s.method for s in recorder.writes] == ["POST"]
    second = run_target(config, messages)
    assert second.summary("people") == {"inserted": 1}
    rows = [r for r in reader.all_rows("Profit_Persons") if r["PersonId"] == "962501"]
    assert [r["LastName"] for r in rows] == ["Opnieuw"]
    assert [s.method for s in recorder.writes] == ["POST", "POST"]


def test_read_timeout_after_send_with_lookup_confirms_instead_of_resending(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    afas_sandbox.faults.add(
        kind="slow", delay_seconds=1.0, connector="KnPerson", method="POST", times=1
    )
    mapping = people_mapping("upsert", lookup=PERSONS_LOOKUP)
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}, request_timeout=0.3),
        stream_messages("people", [{"PersonId": "962701", "LastName": "Traag"}]),
    )
    assert run.summary("people") == {"inserted": 1}
    rows = [r for r in reader.all_rows("Profit_Persons") if r["PersonId"] == "962701"]
    assert [r["LastName"] for r in rows] == ["Traag"]
    deadline = time.monotonic() + 5
    while not recorder.writes and time.monotonic() < deadline:
        time.sleep(0.05)  # pacing: the slow answer is recorded once the sandbox sent it
    assert [(s.method, s.status) for s in recorder.writes] == [("POST", 201)], "sent once"
    lookups = [s for s in recorder.seen if "filterfieldids" in s.params]
    assert len(lookups) == 2
    assert lookups[1].started < recorder.writes[0].finished, "checked while AFAS was still busy"


def test_many_upserts_are_looked_up_in_requests_within_the_url_limit(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    existing = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))[:150]
    new = [f"97{i:04d}" for i in range(150)]
    records = [{"PersonId": p, "LastName": f"Veel {p}"} for p in [*existing, *new]]
    before = len(reader.all_rows("Profit_Persons"))
    recorder.reset()
    run = run_target(
        target_config(
            afas_sandbox,
            tmp_path,
            {"people": people_mapping("upsert", lookup=PERSONS_LOOKUP)},
            batch_size=25,
        ),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 150, "updated": 150}
    lookups = [s for s in recorder.seen if "filterfieldids" in s.params]
    assert len(lookups) > 1
    assert all(len(s.query) + 1 <= 2049 for s in lookups)
    asked = [v for s in lookups for v in s.params["filtervalues"].split(";")]
    assert sorted(asked) == sorted(r["PersonId"] for r in records)
    rows = reader.all_rows("Profit_Persons")
    assert len(rows) == before + 150
    names = {str(r["PersonId"]): r["LastName"] for r in rows}
    assert {r["PersonId"]: names[r["PersonId"]] for r in records} == {
        r["PersonId"]: r["LastName"] for r in records
    }


# --------------------------------------------------------------------------- re-runs


def test_running_the_same_input_twice_writes_nothing_twice(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    texts = [f"Herhaling {i}" for i in range(5)]
    messages = stream_messages("notes", [{"type": 3, "subject": t} for t in texts])
    config = target_config(afas_sandbox, tmp_path, {"notes": SUBJECTS})
    first = run_target(config, messages)
    assert first.summary("notes") == {"inserted": 5}
    recorder.reset()
    second = run_target(config, messages)
    assert second.summary("notes") == {"unchanged": 5}
    assert recorder.writes == []
    stored = _subjects(reader)
    assert {t: stored.count(t) for t in texts} == dict.fromkeys(texts, 1)


def test_rerun_with_singer_metadata_is_still_recognised(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    """``_sdc_`` bookkeeping differs per run (received/batched at); the ledger ignores it."""
    texts = [f"Metadata {i}" for i in range(3)]
    messages = stream_messages("notes", [{"type": 3, "subject": t} for t in texts])
    config = target_config(afas_sandbox, tmp_path, {"notes": SUBJECTS}, add_record_metadata=True)
    run_target(config, messages)
    time.sleep(0.01)  # pacing only: the second run's _sdc_ timestamps differ
    recorder.reset()
    second = run_target(config, messages)
    assert second.summary("notes") == {"unchanged": 3}
    assert recorder.writes == []
    stored = _subjects(reader)
    assert {t: stored.count(t) for t in texts} == dict.fromkeys(texts, 1)


def test_killed_run_then_rerun_from_the_start_has_no_duplicates(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    texts = [f"Kill {i:03d}" for i in range(130)]
    records = [{"type": 1, "subject": t} for t in texts]
    messages = stream_messages("notes", records)
    config = target_config(afas_sandbox, tmp_path, {"notes": SUBJECTS}, batch_size=1)
    ledger = tmp_path / "ledger.sqlite3"

    process = start_target_cli(tmp_path, config)
    assert process.stdin is not None
    try:
        # A sink drains every 100 records here: send 100 and the stream's SCHEMA, keep the pipe
        # open, wait until they are written (in the ledger), then kill the target.
        process.stdin.write(singer_text(messages[:101]))
        process.stdin.flush()
        deadline = time.monotonic() + 30
        while len(ledger_rows(ledger)) < 100 and time.monotonic() < deadline:
            assert process.poll() is None, "the target ended early"
            time.sleep(0.05)
        assert len(ledger_rows(ledger)) == 100
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdin.close()
    assert process.returncode != 0
    assert sum(t in texts for t in _subjects(reader)) == 100

    recorder.reset()
    rerun = run_target_cli(tmp_path, config, messages)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert rerun.summary("notes") == {"inserted": 30, "unchanged": 100}
    assert len(recorder.writes) == 30
    stored = _subjects(reader)
    assert {t: stored.count(t) for t in texts} == dict.fromkeys(texts, 1)


# --------------------------------------------------------------------------- dry run


def test_dry_run_writes_nothing_and_logs_payloads(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    existing = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))[0]
    before = reader.all_rows("Profit_Persons")
    records = [
        {"PersonId": existing, "LastName": "Droog-Bestaand"},
        {"PersonId": "963001", "LastName": "Droog-Nieuw"},
    ]
    recorder.reset()
    run = run_target(
        target_config(
            afas_sandbox,
            tmp_path,
            {"people": people_mapping("upsert", lookup=PERSONS_LOOKUP)},
            dry_run=True,
        ),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"dry_run": 2}
    assert recorder.writes == []
    assert {s.relative for s in recorder.seen} == {
        "/metainfo/update/KnPerson",
        "/connectors/Profit_Persons",
    }
    dry = [line for line in run.log_lines if "dry run:" in line]
    assert len(dry) == 2
    assert any("update KnPerson" in d and "Droog-Bestaand" in d for d in dry)
    assert any("insert KnPerson" in d and "Droog-Nieuw" in d for d in dry)
    assert sorted(map(str, reader.all_rows("Profit_Persons"))) == sorted(map(str, before))
    assert ledger_rows(tmp_path / "ledger.sqlite3") == []


# --------------------------------------------------------------------------- STATE


def test_state_is_emitted_only_after_the_records_before_it_have_outcomes(
    afas_sandbox: RunningSandbox, tmp_path: Path, recorder: RequestRecorder
) -> None:
    afas_sandbox.latency.fixed_ms = 30
    records = [{"PersonId": f"96400{i}", "LastName": f"Staat {i}"} for i in range(1, 5)]
    state = {"bookmarks": {"people": {"replication_key_value": "2026-11-01T00:00:00+00:00"}}}
    answered_at_state: list[int] = []

    def on_line(line: str) -> None:
        answered_at_state.append(len([s for s in recorder.writes if s.status == 201]))

    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping()}),
        [*stream_messages("people", records, ["PersonId"]), state_message(state)],
        on_stdout_line=on_line,
    )
    assert run.states == [state]
    assert answered_at_state == [4], "all four writes were answered before the STATE"


def test_state_after_a_refused_record_is_not_emitted_with_on_reject_fail(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    messages = [
        *stream_messages("journal", [_entry("Staat goed"), _entry("Staat fout", credit="1.00")]),
        state_message({"bookmarks": {"journal": {"n": 2}}}),
    ]
    config = target_config(afas_sandbox, tmp_path, {"journal": JOURNAL}, on_reject="fail")
    run = run_target(config, messages, expect_error=True)
    assert isinstance(run.error, AFASRejectedError)
    assert run.states == []
    assert _descriptions(reader).count("Staat goed") == 2
    assert "Staat fout" not in _descriptions(reader)

    cli = run_target_cli(
        tmp_path, {**config, "ledger_path": str(tmp_path / "l2.sqlite3")}, messages
    )
    assert cli.returncode != 0
    assert cli.states == []


def test_state_after_a_refused_record_is_emitted_with_on_reject_continue(
    afas_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    state = {"bookmarks": {"journal": {"n": 2}}}
    messages = [
        *stream_messages("journal", [_entry("Door goed"), _entry("Door fout", credit="1.00")]),
        state_message(state),
    ]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"journal": JOURNAL}, on_reject="continue"),
        messages,
    )
    assert run.summary("journal") == {"inserted": 1, "rejected": 1}
    assert run.states == [state]


# --------------------------------------------------------------------------- parallelism


@pytest.mark.parametrize("limit", [1, 3])
def test_max_parallel_requests_is_respected(
    afas_sandbox: RunningSandbox,
    tmp_path: Path,
    reader: SandboxReader,
    recorder: RequestRecorder,
    limit: int,
) -> None:
    afas_sandbox.latency.fixed_ms = 40
    records = [{"PersonId": f"9650{i:02d}", "LastName": f"Parallel {i}"} for i in range(12)]
    recorder.reset()
    run = run_target(
        target_config(
            afas_sandbox, tmp_path, {"people": people_mapping()}, max_parallel_requests=limit
        ),
        [
            *stream_messages("people", records, ["PersonId"]),
            record_message("people", {"PersonId": "965099", "LastName": "Laatste"}),
        ],
    )
    assert run.summary("people") == {"inserted": 13}
    assert len(recorder.writes) == 13
    assert recorder.max_in_flight <= limit
    if limit > 1:
        assert recorder.max_in_flight > 1, "requests did run in parallel"
    ids = {str(r["PersonId"]) for r in reader.all_rows("Profit_Persons")}
    assert {r["PersonId"] for r in records} <= ids
