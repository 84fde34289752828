"""Contract tests of the sandbox's scripted faults and latency, seen from a plain HTTP client.

Layer: afas-sandbox only (plain ``requests``). Faults are added with ``sandbox.faults.add``
or loaded from a file; the test then observes what a client gets: status and body, a reset
connection, a cut-off body, a read timeout, or extra latency (lower bounds only).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from afas_sandbox import LatencyModel, RunningSandbox
from tests.support.sandbox_reading import RawClient

PERSONS = "/connectors/Profit_Persons"


def status_of(api: RawClient, path: str = PERSONS) -> int:
    return api.get(path, {"take": 1}).status_code


def timed_get(api: RawClient, path: str, params: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = api.get(path, params)
    return time.perf_counter() - started, response


# ----------------------------------------------------------------------------- status faults


def test_status_401_has_an_empty_body(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(status=401)
    response = api.get(PERSONS)
    assert response.status_code == 401
    assert response.content == b""


def test_status_404(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(status=404)
    assert status_of(api) == 404


def test_status_500_echoes_message_number_and_log_reference(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    reference = "0123456789ABCDEF0123456789ABCDEF"
    message = "De maximale tijdsduur voor het uitvoeren van de opdracht is verstreken."
    afas_sandbox.faults.add(
        status=500,
        external_message=message,
        error_number=-2147024891,
        profit_log_reference=reference,
    )
    response = api.get(PERSONS)
    assert response.status_code == 500
    assert response.json() == {
        "externalMessage": message,
        "errorNumber": -2147024891,
        "profitLogReference": reference,
    }


def test_status_503_carries_retry_after(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(status=503, retry_after=37)
    response = api.get(PERSONS)
    assert response.status_code == 503
    body = response.json()
    assert body["retry_after"] == 37
    assert body["error"]["code"] == "503"
    assert isinstance(body["error"]["message"], str)


def test_times_limits_the_number_of_hits(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(status=500, times=2)
    assert [status_of(api) for _ in range(5)] == [500, 500, 200, 200, 200]


def test_connector_glob_only_affects_that_connector(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    afas_sandbox.faults.add(status=503, connector="Profit_Debtors")
    assert status_of(api, "/connectors/Profit_Debtors") == 503
    assert status_of(api, "/connectors/Profit_Persons") == 200
    assert status_of(api, "/connectors/Profit_Transactions") == 200
    assert api.get("/profitversion").status_code == 200
    assert status_of(api, "/connectors/Profit_Debtors") == 503


@pytest.mark.parametrize(("probability", "expected"), [(0.0, 200), (1.0, 500)])
def test_probability_zero_never_one_always(
    api: RawClient, afas_sandbox: RunningSandbox, probability: float, expected: int
) -> None:
    afas_sandbox.faults.add(status=500, probability=probability)
    assert {status_of(api) for _ in range(25)} == {expected}


def test_clear_removes_every_fault(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(status=500)
    assert status_of(api) == 500
    afas_sandbox.faults.clear()
    assert status_of(api) == 200


# ----------------------------------------------------------------------------- transport faults


def test_reset_is_a_connection_error(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(kind="reset", times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get(PERSONS)
    assert status_of(api) == 200


def test_truncate_makes_requests_raise(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(kind="truncate", times=1)
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        api.get(PERSONS, {"take": 50})
    assert status_of(api) == 200


def test_slow_answer_is_a_read_timeout(afas_sandbox: RunningSandbox) -> None:
    afas_sandbox.faults.add(kind="slow", delay_seconds=2, times=1)
    headers = {"Authorization": afas_sandbox.tokens.full.header}
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(afas_sandbox.base_url + PERSONS, headers=headers, timeout=0.5)


def test_reset_after_a_write_leaves_the_outcome_unknown_but_written(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    afas_sandbox.faults.add(kind="reset", connector="KnPerson", method="POST", phase="after")
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": "Onzekerheid"}}}}
    before = api.all_rows("Profit_Persons")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/connectors/KnPerson", body)
    after = api.all_rows("Profit_Persons")
    assert len(after) == len(before) + 1
    assert [r["LastName"] for r in after if r not in before] == ["Onzekerheid"]


# ----------------------------------------------------------------------------- faults x writes

# What a client meets, as a name: an HTTP status, or how the exchange broke.
RESET, CUT, TIMEOUT = "reset", "cut off", "timeout"
CLIENT_TIMEOUT_SECONDS = 0.4
SLOW_SECONDS = 1.0


@dataclass(frozen=True)
class WriteFault:
    spec: dict[str, Any]
    phase: str
    meets: int | str  # what the client gets
    lands: bool  # whether the write is in the data afterwards
    afas_body: bool = False  # whether the answer is an AFAS error body


# AFAS ("API-responses bij connectoren"): 500 with its body = not committed, 503 = nothing
# processed; other answers after a write leave the outcome unknown, and the write landed.
WRITE_FAULTS = {
    "500-before": WriteFault({"status": 500}, "before", 500, False, afas_body=True),
    "500-after": WriteFault({"status": 500}, "after", 500, False, afas_body=True),
    "500-html-after": WriteFault({"status": 500, "body": "html"}, "after", 500, True),
    "500-empty-after": WriteFault({"status": 500, "body": "empty"}, "after", 500, True),
    "502-before": WriteFault({"status": 502}, "before", 502, False),
    "502-after": WriteFault({"status": 502}, "after", 502, True),
    "502-afas-after": WriteFault(
        {"status": 502, "body": "afas"}, "after", 502, False, afas_body=True
    ),
    "503-before": WriteFault({"status": 503, "retry_after": 0}, "before", 503, False),
    "503-after": WriteFault({"status": 503, "retry_after": 0}, "after", 503, False),
    "503-html-after": WriteFault({"status": 503, "body": "html"}, "after", 503, False),
    "504-before": WriteFault({"status": 504}, "before", 504, False),
    "504-after": WriteFault({"status": 504}, "after", 504, True),
    "401-after": WriteFault({"status": 401}, "after", 401, False),
    "reset-before": WriteFault({"kind": "reset"}, "before", RESET, False),
    "reset-after": WriteFault({"kind": "reset"}, "after", RESET, True),
    "truncate-before": WriteFault({"kind": "truncate"}, "before", CUT, True),
    "truncate-after": WriteFault({"kind": "truncate"}, "after", CUT, True),
    "slow-before": WriteFault(
        {"kind": "slow", "delay_seconds": SLOW_SECONDS}, "before", TIMEOUT, True
    ),
    "slow-after": WriteFault(
        {"kind": "slow", "delay_seconds": SLOW_SECONDS}, "after", TIMEOUT, True
    ),
}


def send(
    sandbox: RunningSandbox, method: str, path: str, body: Any = None
) -> requests.Response | str:
    """The response, or the name of how the exchange broke (RESET, CUT, TIMEOUT)."""
    try:
        return requests.request(
            method,
            sandbox.base_url + path,
            json=body,
            headers={"Authorization": sandbox.tokens.full.header},
            timeout=CLIENT_TIMEOUT_SECONDS,
        )
    except requests.exceptions.ReadTimeout:
        return TIMEOUT
    except requests.exceptions.ChunkedEncodingError:
        return CUT
    except requests.exceptions.ConnectionError as exc:
        return CUT if "IncompleteRead" in str(exc) else RESET


def assert_met(outcome: requests.Response | str, case: WriteFault) -> None:
    if isinstance(case.meets, str):
        assert outcome == case.meets
        return
    assert isinstance(outcome, requests.Response), outcome
    assert outcome.status_code == case.meets
    if case.afas_body:
        assert set(outcome.json()) == {"externalMessage", "errorNumber", "profitLogReference"}
    elif case.meets >= 500 and case.spec.get("body") == "html":
        assert outcome.headers["Content-Type"].startswith("text/html")


def plant(sandbox: RunningSandbox, case: WriteFault, connector: str, method: str) -> None:
    sandbox.faults.add(**case.spec, phase=case.phase, connector=connector, method=method, times=1)


def persons_by_id(api: RawClient) -> dict[str, dict[str, Any]]:
    return {r["PersonId"]: r for r in api.all_rows("Profit_Persons")}


@pytest.mark.parametrize("name", list(WRITE_FAULTS))
def test_post_under_a_fault_lands_as_afas_says(
    api: RawClient, afas_sandbox: RunningSandbox, name: str
) -> None:
    case = WRITE_FAULTS[name]
    last_name = f"Fout{name.replace('-', '')}"
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": last_name}}}}
    before = persons_by_id(api)
    plant(afas_sandbox, case, "KnPerson", "POST")
    assert_met(send(afas_sandbox, "POST", "/connectors/KnPerson", body), case)
    after = persons_by_id(api)
    landed = [r for r in after.values() if r["LastName"] == last_name]
    assert len(landed) == (1 if case.lands else 0)
    assert {k: r for k, r in after.items() if r["LastName"] != last_name} == before
    # The fault was used once: the same write now simply works.
    again = api.post("/connectors/KnPerson", body)
    assert again.status_code == 201, again.text


@pytest.mark.parametrize("name", ["500-after", "503-after", "502-after", "truncate-after"])
def test_put_under_a_fault_lands_as_afas_says(
    api: RawClient, afas_sandbox: RunningSandbox, name: str
) -> None:
    case = WRITE_FAULTS[name]
    number, person = sorted(persons_by_id(api).items())[3]
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": number, "LaNm": "Nieuw"}}}}
    plant(afas_sandbox, case, "KnPerson", "PUT")
    assert_met(send(afas_sandbox, "PUT", "/connectors/KnPerson", body), case)
    after = persons_by_id(api)
    assert after[number]["LastName"] == ("Nieuw" if case.lands else person["LastName"])


@pytest.mark.parametrize("name", ["500-after", "503-after", "504-after", "truncate-after"])
def test_delete_under_a_fault_lands_as_afas_says(
    api: RawClient, afas_sandbox: RunningSandbox, name: str
) -> None:
    case = WRITE_FAULTS[name]
    before = {r["SqNo"] for r in api.all_rows("Profit_FreeTable_K01")}
    log_before = len(api.all_rows("Profit_Deleted_Records"))
    sq_no = sorted(before)[1]
    plant(afas_sandbox, case, "KnCustomK01", "DELETE")
    outcome = send(afas_sandbox, "DELETE", f"/connectors/KnCustomK01/KnCustomK01/@SqNo/{sq_no}")
    assert_met(outcome, case)
    after = {r["SqNo"] for r in api.all_rows("Profit_FreeTable_K01")}
    assert after == (before - {sq_no} if case.lands else before)
    log_after = len(api.all_rows("Profit_Deleted_Records"))
    assert log_after == log_before + (1 if case.lands else 0)


def test_a_rolled_back_insert_uses_up_no_number(
    api: RawClient,
    afas_sandbox: RunningSandbox,
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": "Nummer"}}}}
    afas_sandbox.faults.add(status=500, phase="after", connector="KnPerson", times=1)
    assert api.post("/connectors/KnPerson", body).status_code == 500
    first = api.post("/connectors/KnPerson", body)
    assert first.status_code == 201, first.text
    # A sandbox with the same data that never saw the fault gives its first insert the same.
    twin = afas_sandbox_factory()
    other = RawClient(twin, twin.tokens.full.header)
    try:
        second = other.post("/connectors/KnPerson", body)
    finally:
        other.close()
    assert second.status_code == 201, second.text
    assert first.json()["results"] == second.json()["results"]


# ----------------------------------------------------------------------------- latency


def test_fixed_latency_is_a_lower_bound(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory(latency=LatencyModel(fixed_ms=200))
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        elapsed, response = timed_get(api, "/profitversion", {})
        assert response.status_code == 200
        assert elapsed >= 0.2
        elapsed, response = timed_get(api, PERSONS, {"take": 1})
        assert response.status_code == 200
        assert elapsed >= 0.2
    finally:
        api.close()


def test_per_row_latency_scales_with_rows(
    afas_sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = afas_sandbox_factory(latency=LatencyModel(per_row_ms=2))
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        elapsed, response = timed_get(
            api, "/connectors/Profit_Transactions", {"skip": 0, "take": 400}
        )
        assert response.status_code == 200
        assert len(response.json()["rows"]) == 400
        assert elapsed >= 400 * 0.002
        sandbox.latency.per_row_ms = 4
        elapsed, response = timed_get(
            api, "/connectors/Profit_Transactions", {"skip": 0, "take": 250}
        )
        assert len(response.json()["rows"]) == 250
        assert elapsed >= 250 * 0.004
    finally:
        api.close()


# ----------------------------------------------------------------------------- faults files


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_faults_file_is_loaded_at_start(
    afas_sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path, suffix: str
) -> None:
    faults = [
        {"status": 503, "connector": "Profit_Debtors", "retry_after": 9, "times": 1},
        {"kind": "status", "status": 500, "connector": "Profit_Subjects", "times": 2},
    ]
    path = tmp_path / f"faults{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(faults), encoding="utf-8")
    else:
        path.write_text(
            "- status: 503\n"
            "  connector: Profit_Debtors\n"
            "  retry_after: 9\n"
            "  times: 1\n"
            "- kind: status\n"
            "  status: 500\n"
            "  connector: Profit_Subjects\n"
            "  times: 2\n",
            encoding="utf-8",
        )
    sandbox = afas_sandbox_factory(faults_file=path)
    api = RawClient(sandbox, sandbox.tokens.full.header)
    try:
        first = api.get("/connectors/Profit_Debtors")
        assert first.status_code == 503
        assert first.json()["retry_after"] == 9
        assert status_of(api, "/connectors/Profit_Debtors") == 200
        assert [status_of(api, "/connectors/Profit_Subjects") for _ in range(3)] == [
            500,
            500,
            200,
        ]
        assert status_of(api) == 200
    finally:
        api.close()


def test_unknown_fault_key_is_a_value_error(afas_sandbox: RunningSandbox) -> None:
    with pytest.raises(ValueError, match="colour"):
        afas_sandbox.faults.add(status=500, colour="red")


def test_unknown_fault_key_in_a_faults_file_is_a_value_error(
    afas_sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps([{"status": 500, "colour": "red"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="colour"):
        afas_sandbox_factory(faults_file=path)
