"""Target layer: target-afas copes with AFAS however it answers what its documents leave open.

The sandbox's quirks (afas_sandbox/quirks.py) choose among the answers AFAS may give:
- a PUT that succeeded answers 201 with ``results`` or 200 with no body;
- a POST of several elements answers their keys as an array, only the first or last key set,
  or 200 with no body;
- an UpdateConnector outside the token's App Connector (or misspelt) answers 401 with AFAS's
  body, 401 without one, or the "not authorized" message as a 500, in Dutch or English.
Each time the records land (or the run stops with one line naming the connector and what to
check), and the ledger knows what landed, so a second run writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afas_profit.errors import AFASAuthError
from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader, free_person_ids
from tests.support.singer_messages import stream_messages
from tests.support.target_mappings import PERSONS_LOOKUP, U_BUDGET, U_PROJECT_NAME, people_mapping
from tests.support.target_outputs import ledger_rows
from tests.support.target_runs import run_target, target_config

Factory = Callable[..., RunningSandbox]
PROJECTS = {
    "connector": "KnCustomK01",
    "action": "insert",
    "keys": ["SqNo"],
    "fields": {"SqNo": "seq", U_PROJECT_NAME: "project", U_BUDGET: "budget"},
}
ORGANISATIONS = {
    "connector": "KnOrganisation",
    "action": "insert",
    "keys": ["BcCo"],
    "fields": {"BcCo": "number", "Nm": "name", "MatchOga": "match"},
}


def _persons(reader: SandboxReader) -> dict[str, dict[str, Any]]:
    return {k: v[0] for k, v in reader.by_key("Profit_Persons", "PersonId").items()}


@pytest.mark.parametrize("put_status", ["201", "200"])
def test_updates_land_whether_put_answers_201_or_200(
    afas_sandbox_factory: Factory, tmp_path: Path, put_status: str
) -> None:
    sandbox = afas_sandbox_factory(quirks={"put_status": put_status})
    reader, recorder = SandboxReader(sandbox), RequestRecorder(sandbox)
    existing = free_person_ids(reader, 3)
    records = [
        {"PersonId": existing[0], "LastName": "Bijgewerkt-Een"},
        {"PersonId": existing[1], "LastName": "Bijgewerkt-Twee"},
        {"PersonId": "930001", "LastName": "Nieuw"},
        {"PersonId": existing[2], "LastName": "Bijgewerkt-Drie"},
    ]
    config = target_config(
        sandbox,
        tmp_path,
        {"people": people_mapping("upsert", lookup=PERSONS_LOOKUP)},
        batch_size=2,
    )
    run = run_target(config, stream_messages("people", records, ["PersonId"]))

    assert run.summary("people") == {"inserted": 1, "updated": 3}
    puts = [s for s in recorder.writes if s.method == "PUT"]
    assert puts
    assert {s.status for s in puts} == {int(put_status)}
    after = _persons(reader)
    assert {r["PersonId"]: after[r["PersonId"]]["LastName"] for r in records} == {
        r["PersonId"]: r["LastName"] for r in records
    }
    landed = ledger_rows(tmp_path / "ledger.sqlite3")
    assert sorted(r["outcome"] for r in landed) == ["inserted", "updated", "updated", "updated"]

    recorder.reset()
    again = run_target(config, stream_messages("people", records, ["PersonId"]))
    assert again.summary("people") == {"unchanged": 4}
    assert recorder.writes == []
    reader.close()


@pytest.mark.parametrize("shape", ["array", "first", "last", "none"])
def test_batched_inserts_land_whatever_shape_the_results_have(
    afas_sandbox_factory: Factory, tmp_path: Path, shape: str
) -> None:
    sandbox = afas_sandbox_factory(quirks={"multi_element_result": shape})
    reader, recorder = SandboxReader(sandbox), RequestRecorder(sandbox)
    records = [
        {"seq": 9100 + i, "project": f"Resultaatvorm {shape} {i}", "budget": "1250.50"}
        for i in range(5)
    ]
    config = target_config(sandbox, tmp_path, {"projects": PROJECTS}, batch_size=5)
    run = run_target(config, stream_messages("projects", records, ["seq"]))

    assert run.summary("projects") == {"inserted": 5}
    (post,) = recorder.writes
    assert post.status == (200 if shape == "none" else 201)
    stored = {r["SqNo"]: r for r in reader.all_rows("Profit_FreeTable_K01")}
    for record in records:
        row = stored[record["seq"]]
        assert (row["Projectnaam"], str(row["Budget"])) == (record["project"], "1250.50")
    assert len(ledger_rows(tmp_path / "ledger.sqlite3")) == 5
    reader.close()


@pytest.mark.parametrize("accept_language", ["nl-nl", "en-us", None])
@pytest.mark.parametrize("answer", ["401-body", "401-empty", "500"])
@pytest.mark.parametrize(
    ("token", "connector"),
    [("limited", "KnOrganisation"), ("full", "KnOrganisatie")],
    ids=["not-in-app-connector", "misspelt"],
)
def test_update_connector_the_token_may_not_use_stops_naming_it(
    afas_sandbox_factory: Factory,
    tmp_path: Path,
    answer: str,
    accept_language: str | None,
    token: str,
    connector: str,
) -> None:
    sandbox = afas_sandbox_factory(quirks={"unauthorized_connector": answer})
    recorder = RequestRecorder(sandbox)
    language = {"accept_language": accept_language} if accept_language else {}
    config = target_config(
        sandbox,
        tmp_path,
        {"orgs": {**ORGANISATIONS, "connector": connector}},
        token=getattr(sandbox.tokens, token).xml,
        **language,
    )
    records = [{"number": "880001", "name": "Geweigerd B.V.", "match": "6"}]
    run = run_target(config, stream_messages("orgs", records, ["number"]), expect_error=True)

    assert isinstance(run.error, AFASAuthError), run.error_text
    message = str(run.error)
    assert "\n" not in message
    assert f"UpdateConnector {connector!r}" in message
    assert "Add it to the App Connector in Profit, or fix the id" in message
    assert "mappings.orgs.connector" in message
    assert recorder.writes == [], "nothing is sent once the metainfo is refused"
    assert [(s.method, s.status) for s in recorder.seen] == [("GET", int(answer[:3]))]
    for form in (sandbox.tokens.limited.data, sandbox.tokens.full.data):
        assert form not in message
        assert form not in run.log
