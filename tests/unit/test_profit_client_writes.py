"""Unit layer: ``ProfitClient.write`` and ``afas_profit.lookups.lookup`` against a sandbox over
real HTTP on loopback.

``lookup``: values are asked for in OR-groups, as many per request as fit, so every request's
query string stays within AFAS's 2049 characters (afas-rest-api.md section 3.2) however many
and however long the values; rows come back grouped by the case-folded key. ``write``: a 500
with an AFAS body is a rejection (never retried), 401/403 and "not authorized" are auth errors,
503 and a refused connection are retried (``sleep`` records the waits instead of sleeping; each
retry is one WARNING line), and a write whose answer is lost or is a 5xx without an AFAS body
(502, 504, reset, truncated, read time-out) is "outcome unknown", never resent, whatever the
method (afas-rest-api.md sections 6 and 7; the table in ``afas_profit.client``).
Expected rows are computed from every row fetched with ``skip=-1&take=-1`` and Python filtering.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from afas_profit.client import ProfitClient, RetryPolicy
from afas_profit.environment import ProfitEnvironment
from afas_profit.errors import (
    AFASAuthError,
    AFASOutcomeUnknownError,
    AFASRejectedError,
    AFASServerError,
)
from afas_profit.filters import MAX_QUERY_CHARS
from afas_profit.lookups import lookup
from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder, Seen
from tests.support.sandbox_reading import RawClient

MAX_TRIES = 3
HEX32 = r"[0-9A-F]{32}"
MAINTENANCE = "Service temporarily unavailable due to maintenance."


# --------------------------------------------------------------------------- helpers


@dataclass
class Harness:
    sandbox: RunningSandbox
    client: ProfitClient
    sleeps: list[float]
    recorder: RequestRecorder
    raw: RawClient

    def all_rows(self, connector: str) -> list[dict[str, Any]]:
        return self.raw.all_rows(connector)

    def persons(self, number: str) -> list[dict[str, Any]]:
        return [r for r in self.all_rows("Profit_Persons") if r["PersonId"] == number]

    def insert_persons(self, people: list[dict[str, Any]]) -> None:
        """Insert persons with a plain POST (MatchPer 7: always insert, BcCo kept)."""
        elements = [{"Fields": {"MatchPer": "7", **p}} for p in people]
        body = {"KnPerson": {"Element": elements}}
        response = self.raw.post("/connectors/KnPerson", body)
        assert response.status_code == 201, response.text


def make_client(
    sandbox: RunningSandbox, sleeps: list[float], token: str | None = None
) -> ProfitClient:
    environment = ProfitEnvironment.from_config(
        {
            "api_url": sandbox.base_url,
            "token": token or sandbox.tokens.full.xml,
            "request_timeout": 10,
        }
    )
    return ProfitClient(environment, retry=RetryPolicy(max_tries=MAX_TRIES), sleep=sleeps.append)


@pytest.fixture
def harness(afas_sandbox: RunningSandbox) -> Iterator[Harness]:
    sleeps: list[float] = []
    with RawClient(afas_sandbox, afas_sandbox.tokens.full.header) as raw:
        client = make_client(afas_sandbox, sleeps)
        yield Harness(afas_sandbox, client, sleeps, RequestRecorder(afas_sandbox), raw)


def person(number: str, last_name: str = "Tester", **fields: Any) -> dict[str, Any]:
    return {
        "KnPerson": {
            "Element": {"Fields": {"MatchPer": "7", "BcCo": number, "LaNm": last_name, **fields}}
        }
    }


def grouped(
    rows: list[dict[str, Any]], field_id: str, values: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """The expected lookup result: rows whose field equals a value (ASCII case-insensitive)."""
    wanted = {v.casefold() for v in values}
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = str(row[field_id]).casefold()
        if row[field_id] is not None and key in wanted:
            out.setdefault(key, []).append(row)
    return out


def _by_id(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {k: sorted(r["PersonId"] for r in rows) for k, rows in found.items()}


def _assert_within_limit(seen: list[Seen]) -> None:
    assert seen, "no GetConnector request was made"
    for s in seen:
        assert len(s.query) + 1 <= MAX_QUERY_CHARS, (len(s.query) + 1, s.query[:200])
        assert s.status == 200, s


# --------------------------------------------------------------------------- lookup


def test_lookup_many_person_ids_chunks_within_the_url_limit(harness: Harness) -> None:
    rows = harness.all_rows("Profit_Persons")
    existing = {r["PersonId"] for r in rows}
    assert len(existing) >= 500
    missing = {f"9{n:08d}" for n in range(60)}
    values = existing | missing

    found = lookup(harness.client, "Profit_Persons", "PersonId", values)

    seen = harness.recorder.gets("Profit_Persons")
    _assert_within_limit(seen)
    assert len(seen) > 5, "600+ values cannot fit in one query string"
    assert _by_id(found) == _by_id(grouped(rows, "PersonId", values))
    assert set(found) == existing, "every existing id once; unknown ids absent"
    assert all(len(v) == 1 for v in found.values())


def test_lookup_long_values_and_json_filters_stay_within_the_limit(harness: Harness) -> None:
    long_names = [f"{'Van-Der-Achternaam-' * 3}{n:03d}" for n in range(40)]  # 60 characters
    comma_names = [f"Jansen, Piet {n:03d} {'x' * 40}" for n in range(20)]  # needs filterjson
    harness.insert_persons(
        [{"BcCo": f"L{n:05d}", "LaNm": name} for n, name in enumerate(long_names + comma_names)]
    )
    rows = harness.all_rows("Profit_Persons")
    values = {*long_names, *comma_names, "Nobody, Really"}

    found = lookup(harness.client, "Profit_Persons", "LastName", values)

    seen = harness.recorder.gets("Profit_Persons")
    _assert_within_limit(seen)
    assert any("filterjson" in s.query.lower() for s in seen), "comma values need filterjson"
    assert _by_id(found) == _by_id(grouped(rows, "LastName", values))
    assert len(found) == len(long_names) + len(comma_names)


def test_lookup_groups_rows_case_insensitively(harness: Harness) -> None:
    harness.insert_persons(
        [
            {"BcCo": "Acme-Widgets-01", "LaNm": "Mixed"},
            {"BcCo": "lower-case-02", "LaNm": "Lower"},
            {"BcCo": "UPPER-CASE-03", "LaNm": "Upper"},
        ]
    )
    found = lookup(
        harness.client,
        "Profit_Persons",
        "PersonId",
        ["ACME-WIDGETS-01", "Lower-Case-02", "upper-case-03", "none"],
    )
    assert _by_id(found) == {
        "acme-widgets-01": ["Acme-Widgets-01"],
        "lower-case-02": ["lower-case-02"],
        "upper-case-03": ["UPPER-CASE-03"],
    }


def test_lookup_finds_a_row_once_when_two_spellings_fall_in_different_chunks(
    harness: Harness,
) -> None:
    # "ACME…" and "acme…" sort far apart once enough other values sit between them, so they are
    # asked for in different requests; the row must still be listed once (a second copy makes
    # the target see "2 rows have this key" and reject the record).
    between = [f"P{n:014d}" for n in range(120)]
    harness.insert_persons(
        [{"BcCo": "acme-widgets-01", "LaNm": "Acme"}]
        + [{"BcCo": b, "LaNm": "Filler"} for b in between]
    )
    found = lookup(
        harness.client,
        "Profit_Persons",
        "PersonId",
        ["ACME-WIDGETS-01", *between, "acme-widgets-01"],
    )
    assert len(harness.recorder.gets("Profit_Persons")) > 1
    assert _by_id(found)["acme-widgets-01"] == ["acme-widgets-01"]


def test_lookup_of_nothing_makes_no_request(harness: Harness) -> None:
    assert lookup(harness.client, "Profit_Persons", "PersonId", []) == {}
    assert harness.recorder.gets("Profit_Persons") == []


def test_lookup_matches_any_field_case_insensitively(harness: Harness) -> None:
    rows = harness.all_rows("Profit_Persons")
    found = lookup(harness.client, "Profit_Persons", "Country", ["nl", "B"])
    assert _by_id(found) == _by_id(grouped(rows, "Country", {"NL", "B"}))


def test_lookup_pages_past_a_thousand_rows_without_losing_any(harness: Harness) -> None:
    # 2000 transactions over 3 units: one OR-request matches them all, read in pages of 1000.
    # The pages must hold every row once, though many rows share the looked-up value (AFAS
    # orders ties randomly, so the order needs a tie-breaker for skip/take to be reliable).
    rows = harness.all_rows("Profit_Transactions")
    found = lookup(harness.client, "Profit_Transactions", "UnitId", ["1", "2", "3"])
    assert len(harness.recorder.gets("Profit_Transactions")) >= 2

    def keys(group: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((r["UnitId"], r["EntryNo"], r["SeqNo"]) for r in group)

    expected = grouped(rows, "UnitId", {"1", "2", "3"})
    assert {k: keys(v) for k, v in found.items()} == {k: keys(v) for k, v in expected.items()}


# --------------------------------------------------------------------------- send: success


def test_send_post_returns_the_keys(harness: Harness) -> None:
    result = harness.client.write(
        "POST", "/connectors/KnPerson", person("T0001", "Zoë Ŝtraße"), "insert"
    )
    assert result.status == 201
    assert result.results["KnPerson"]["BcCo"] == "T0001"
    (row,) = harness.persons("T0001")
    assert row["LastName"] == "Zoë Ŝtraße", "UTF-8 body"
    assert harness.sleeps == []


def test_send_element_array_returns_a_key_per_element(harness: Harness) -> None:
    body = {
        "KnPerson": {
            "Element": [
                {"Fields": {"MatchPer": "7", "BcCo": f"T{n}", "LaNm": f"N{n}"}} for n in range(3)
            ]
        }
    }
    result = harness.client.write("POST", "/connectors/KnPerson", body, "3 records")
    assert [k["BcCo"] for k in result.results["KnPerson"]] == ["T0", "T1", "T2"]


def test_send_put_and_delete(harness: Harness) -> None:
    harness.client.write("POST", "/connectors/KnPerson", person("T0002"), "insert")
    update = {
        "KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": "T0002", "FiNm": "Eva"}}}
    }
    assert harness.client.write("PUT", "/connectors/KnPerson", update, "update").status in (
        200,
        201,
    )
    assert harness.persons("T0002")[0]["FirstName"] == "Eva"
    deleted = harness.client.write(
        "DELETE", "/connectors/KnPerson/KnPerson/BcCo/T0002", None, "delete"
    )
    assert (deleted.status, deleted.results) == (200, None)
    assert harness.persons("T0002") == []


# --------------------------------------------------------------------------- send: failures


def test_functional_500_is_a_rejection_without_retry(harness: Harness) -> None:
    with pytest.raises(AFASRejectedError) as caught:
        harness.client.write(
            "POST",
            "/connectors/KnPerson",
            person("T0003", ViGe="Q"),
            "insert KnPerson (BcCo=T0003)",
        )
    info = caught.value.info
    assert info is not None
    assert info.status == 500
    assert info.error_number == -2147220469  # "The entered value for 'Geslacht' does not exist."
    assert "'Geslacht'" in (info.external_message or "")  # in the environment's language
    assert info.profit_log_reference is not None
    assert len(info.profit_log_reference) == 32
    message = str(caught.value)
    assert message.startswith("insert KnPerson (BcCo=T0003) failed: 500")
    assert info.profit_log_reference in message
    assert len(harness.recorder.writes) == 1
    assert harness.sleeps == []
    assert harness.persons("T0003") == []


def test_functional_500_fault_is_a_rejection(harness: Harness) -> None:
    harness.sandbox.faults.add(
        status=500,
        connector="KnPerson",
        method="POST",
        times=1,
        external_message="Het bedrag mag niet negatief zijn.",
        profit_log_reference="0123456789ABCDEF0123456789ABCDEF",
    )
    with pytest.raises(
        AFASRejectedError, match="profitLogReference=0123456789ABCDEF0123456789ABCDEF"
    ):
        harness.client.write("POST", "/connectors/KnPerson", person("T0004"), "insert")
    assert len(harness.recorder.writes) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_status_fails_at_once(harness: Harness, status: int) -> None:
    harness.sandbox.faults.add(status=status, connector="KnPerson", method="POST", times=1)
    with pytest.raises(AFASAuthError, match=rf"HTTP {status}"):
        harness.client.write("POST", "/connectors/KnPerson", person("T0005"), "insert")
    assert len(harness.recorder.writes) == 1
    assert harness.sleeps == []
    assert harness.persons("T0005") == []


def test_unknown_token_is_an_auth_error(harness: Harness) -> None:
    client = make_client(harness.sandbox, harness.sleeps, token="0F" * 32)
    with pytest.raises(AFASAuthError, match="refused the token"):
        client.write("POST", "/connectors/KnPerson", person("T0006"), "insert")
    assert harness.sleeps == []


def test_update_connector_not_in_the_app_connector_is_an_auth_error(harness: Harness) -> None:
    client = make_client(harness.sandbox, harness.sleeps, token=harness.sandbox.tokens.limited.xml)
    body = {"KnOrganisation": {"Element": {"Fields": {"MatchOga": "6", "Nm": "Acme"}}}}
    with pytest.raises(AFASAuthError) as caught:
        client.write("POST", "/connectors/KnOrganisation", body, "insert KnOrganisation")
    message = str(caught.value)
    assert message.startswith("insert KnOrganisation failed: 401")
    assert "App Connector" in message
    assert caught.value.info is not None
    assert caught.value.info.error_number == -2147180996  # "… not supported for this app …"
    assert harness.sleeps == []


def test_503_is_retried_honouring_retry_after(harness: Harness) -> None:
    harness.sandbox.faults.add(
        status=503, connector="KnPerson", method="POST", times=2, retry_after=3
    )
    result = harness.client.write("POST", "/connectors/KnPerson", person("T0007"), "insert")
    assert result.status == 201
    assert harness.sleeps == [3.0, 3.0]
    assert [s.status for s in harness.recorder.writes] == [503, 503, 201]
    assert len(harness.persons("T0007")) == 1


def test_503_until_the_last_try_is_a_server_error(harness: Harness) -> None:
    harness.sandbox.faults.add(status=503, connector="KnPerson", retry_after=5)
    with pytest.raises(AFASServerError, match="maintenance"):
        harness.client.write("POST", "/connectors/KnPerson", person("T0008"), "insert")
    assert len(harness.recorder.writes) == MAX_TRIES
    assert harness.sleeps == [5.0] * (MAX_TRIES - 1)
    assert harness.persons("T0008") == []


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        pytest.param(500, "afas", "rejected", id="500-afas-body"),
        pytest.param(500, "empty", "unknown", id="500-empty"),
        pytest.param(500, "html", "unknown", id="500-html"),
        pytest.param(502, "html", "unknown", id="502"),
        pytest.param(504, "empty", "unknown", id="504"),
    ],
)
def test_5xx_answers_to_writes_are_never_retried(
    harness: Harness, method: str, status: int, body: str, outcome: str
) -> None:
    """A 500 with AFAS's body: refused and rolled back (rejected). Any other 5xx: the write may
    have landed (unknown). Neither is sent again, whatever the method."""
    harness.client.write("POST", "/connectors/KnPerson", person("T0009"), "insert")
    update = {
        "KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": "T0009", "FiNm": "Ada"}}}
    }
    sent = person("T0019") if method == "POST" else update
    harness.sandbox.faults.add(
        status=status, connector="KnPerson", method=method, times=1, body=body, phase="after"
    )
    expected = AFASRejectedError if outcome == "rejected" else AFASOutcomeUnknownError
    with pytest.raises(expected):
        harness.client.write(method, "/connectors/KnPerson", sent, method.lower())
    assert harness.sleeps == []
    assert [s.method for s in harness.recorder.writes].count(method) == (
        2 if method == "POST" else 1
    )


def test_put_without_an_answer_is_unknown_not_resent(harness: Harness) -> None:
    harness.client.write("POST", "/connectors/KnPerson", person("T0011"), "insert")
    harness.sandbox.faults.add(
        kind="reset", connector="KnPerson", method="PUT", times=1, phase="after"
    )
    update = {"KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": "T0011", "FiNm": "Bo"}}}}
    with pytest.raises(AFASOutcomeUnknownError, match="may or may not have been written"):
        harness.client.write("PUT", "/connectors/KnPerson", update, "update")
    assert len([s for s in harness.recorder.writes if s.method == "PUT"]) == 1
    assert harness.sleeps == []
    assert harness.persons("T0011")[0]["FirstName"] == "Bo", "it did land"


def test_a_success_whose_body_breaks_off_is_a_success_sent_once(harness: Harness) -> None:
    """The status line said 201: the write landed, even if AFAS's keys were cut off."""
    harness.sandbox.faults.add(kind="truncate", connector="KnPerson", method="POST", times=1)
    result = harness.client.write("POST", "/connectors/KnPerson", person("T0014"), "insert")
    assert result.status == 201
    assert len(harness.recorder.writes) == 1
    assert len(harness.persons("T0014")) == 1


def test_each_retry_is_one_warning_line_with_attempt_and_wait(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.sandbox.faults.add(
        status=503, connector="KnPerson", method="POST", times=2, retry_after=2
    )
    with caplog.at_level("WARNING"):
        harness.client.write("POST", "/connectors/KnPerson", person("T0013"), "insert T0013")
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert lines == [
        f"insert T0013: attempt 1 of {MAX_TRIES} failed (HTTP 503: {MAINTENANCE}); "
        "retrying in 2.0 s",
        f"insert T0013: attempt 2 of {MAX_TRIES} failed (HTTP 503: {MAINTENANCE}); "
        "retrying in 2.0 s",
    ]
    assert len(harness.persons("T0013")) == 1


def test_post_that_never_left_is_retried_then_fails(harness: Harness) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = ProfitEnvironment.from_config(
        {
            "api_url": f"http://127.0.0.1:{port}/ProfitRestServices",
            "token": harness.sandbox.tokens.full.xml,
        }
    )
    sleeps: list[float] = []
    client = ProfitClient(environment, retry=RetryPolicy(max_tries=MAX_TRIES), sleep=sleeps.append)
    with pytest.raises(AFASServerError, match=rf"after {MAX_TRIES} attempts: connection refused"):
        client.write("POST", "/connectors/KnPerson", person("T0012"), "insert")
    assert sleeps == [1.0, 2.0]
