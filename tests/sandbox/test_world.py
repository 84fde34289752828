"""Contract tests of the sandbox's moving world (``mutate``) and its admin endpoint.

Layer: afas-sandbox only (plain ``requests``; ``handle_admin`` in-process for a remote
address that loopback HTTP cannot fake). Mutations are checked by comparing the key sets of all
rows (skip=-1&take=-1) before and after, and the deleted-records log.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from afas_sandbox import ManualClock, RunningSandbox
from afas_sandbox.admin import handle_admin
from afas_sandbox.sandbox import SimRequest
from tests.support.sandbox_reading import RawClient

START = datetime(2027, 3, 15, 12, 0, 0, tzinfo=timezone.utc)

CONNECTORS = {
    # connector: (key fields, modified field, Tabel in Profit_Deleted_Records)
    "Profit_Persons": (("PersonId",), "ModifiedDate", "Persoon"),
    "Profit_Transactions": (("UnitId", "EntryNo", "SeqNo"), "Mutatiedatum", "Financiele mutatie"),
    "Profit_FreeTable_K01": (("SqNo",), "Datum_gewijzigd", "Vrije tabel K01"),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def afas_sandbox(
    afas_sandbox_factory: Callable[..., RunningSandbox], clock: ManualClock
) -> RunningSandbox:
    return afas_sandbox_factory(clock=clock)


def keyed(api: RawClient, connector: str) -> dict[str, dict[str, Any]]:
    fields = CONNECTORS[connector][0]
    rows = api.all_rows(connector)
    result = {",".join(str(r[f]) for f in fields): r for r in rows}
    assert len(result) == len(rows), "key values must be unique"
    return result


# ----------------------------------------------------------------------------- mutate


@pytest.mark.parametrize("connector", list(CONNECTORS))
def test_mutate_changes_exactly_the_reported_keys(
    api: RawClient, afas_sandbox: RunningSandbox, clock: ManualClock, connector: str
) -> None:
    _, modified, table = CONNECTORS[connector]
    before = keyed(api, connector)
    log_before = api.all_rows("Profit_Deleted_Records")
    clock.advance(3600)
    result = afas_sandbox.mutate(connector, inserts=3, updates=5, deletes=2)
    after = keyed(api, connector)

    inserted, updated, deleted = set(result.inserted), set(result.updated), set(result.deleted)
    assert len(inserted) >= 3
    assert result.updated
    assert len(deleted) >= 2
    assert not inserted & set(before)
    assert set(after) == (set(before) | inserted) - deleted
    # Rows not touched are exactly as they were; updated ones carry a newer stamp.
    for key in set(before) & set(after) - updated:
        assert after[key] == before[key], key
    survivors = (updated & set(after)) - inserted
    assert survivors
    for key in survivors:  # (an empty modified date, None, counts as older than any)
        assert after[key][modified] > (before[key][modified] or ""), key
    for key in inserted & set(after):
        assert after[key][modified] > max(r[modified] or "" for r in before.values())
    logged = [
        (r["Tabel"], r["Sleutel"], r["Mutatie"])
        for r in api.all_rows("Profit_Deleted_Records")
        if r not in log_before
    ]
    assert sorted(logged) == sorted((table, key, "Verwijderd") for key in result.deleted)


def test_mutate_reports_composite_keys_of_transaction_lines(
    api: RawClient, afas_sandbox: RunningSandbox
) -> None:
    result = afas_sandbox.mutate("Profit_Transactions", inserts=2, deletes=1)
    after = keyed(api, "Profit_Transactions")
    for key in result.inserted + result.deleted:
        unit, entry, seq = key.split(",")
        assert f"{int(unit)},{int(entry)},{int(seq)}" == key
    # Deletes remove whole journal entries: no line of a deleted entry is left.
    deleted_entries = {tuple(k.split(",")[:2]) for k in result.deleted}
    assert not [k for k in after if tuple(k.split(",")[:2]) in deleted_entries]
    # Inserted entries balance.
    inserted_entries = {tuple(k.split(",")[:2]) for k in result.inserted}
    for entry in inserted_entries:
        lines = [r for k, r in after.items() if tuple(k.split(",")[:2]) == entry]
        debit = sum(r["AmountDebit"] or 0 for r in lines)
        credit = sum(r["AmountCredit"] or 0 for r in lines)
        assert round(debit, 2) == round(credit, 2)


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.7])
def test_same_second_puts_most_updates_in_one_displayed_second(
    api: RawClient, afas_sandbox: RunningSandbox, clock: ManualClock, fraction: float
) -> None:
    clock.set(START + timedelta(days=2, seconds=fraction))
    result = afas_sandbox.mutate("Profit_Transactions", updates=2000, same_second=True)
    assert len(result.updated) == 2000
    shown = Counter(r["Mutatiedatum"] for r in api.all_rows("Profit_Transactions"))
    second, count = shown.most_common(1)[0]
    assert count >= 1000, (second, count)


def test_mutate_between_page_requests(api: RawClient, afas_sandbox: RunningSandbox) -> None:
    fields = CONNECTORS["Profit_Transactions"][0]
    take = 300
    inserted: list[str] = []
    deleted: set[str] = set()
    for page in range(5):
        result = afas_sandbox.mutate("Profit_Transactions", inserts=1, updates=3, deletes=1)
        inserted.extend(result.inserted)
        deleted.update(result.deleted)
        response = api.get(
            "/connectors/Profit_Transactions",
            {"orderbyfieldids": ",".join(fields), "skip": page * take, "take": take},
        )
        assert response.status_code == 200, response.text
        got = [tuple(r[f] for f in fields) for r in response.json()["rows"]]
        everything = sorted(
            tuple(r[f] for f in fields) for r in api.all_rows("Profit_Transactions")
        )
        assert got == everything[page * take : (page + 1) * take]
    final = keyed(api, "Profit_Transactions")
    assert inserted
    assert {k for k in inserted if k not in deleted} <= set(final)
    assert not deleted & set(final)


def test_mutate_profit_administrations_is_a_value_error(afas_sandbox: RunningSandbox) -> None:
    with pytest.raises(ValueError, match="Profit_Administrations"):
        afas_sandbox.mutate("Profit_Administrations", inserts=1)


# ----------------------------------------------------------------------------- admin endpoint


@pytest.fixture
def admin(afas_sandbox: RunningSandbox) -> Callable[..., requests.Response]:
    session = requests.Session()

    def call(method: str, route: str = "", body: Any = None) -> requests.Response:
        # Calls that change something carry a JSON body (Content-Type: application/json).
        if body is None and method != "GET":
            body = {}
        return session.request(
            method, afas_sandbox.root_url + "/_sandbox" + route, json=body, timeout=30
        )

    return call


def test_admin_info_lists_tokens_and_row_counts(
    api: RawClient, afas_sandbox: RunningSandbox, admin: Callable[..., requests.Response]
) -> None:
    assert afas_sandbox.admin_url == afas_sandbox.root_url + "/_sandbox"
    response = admin("GET")
    assert response.status_code == 200, response.text
    info = response.json()
    assert afas_sandbox.tokens.full.xml in response.text
    assert afas_sandbox.tokens.limited.xml in response.text
    assert "tokens" in info
    counts = info["row_counts"]
    for connector in ("Profit_Persons", "Profit_Transactions", "Profit_Administrations"):
        assert counts[connector] == len(api.all_rows(connector)), connector
    assert counts["Profit_Transactions"] == 2000


def test_admin_mutate_over_http(api: RawClient, admin: Callable[..., requests.Response]) -> None:
    before = keyed(api, "Profit_Persons")
    response = admin(
        "POST",
        "/mutate",
        {"connector": "Profit_Persons", "inserts": 2, "updates": 1, "deletes": 1},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert len(result["inserted"]) == 2
    assert len(result["updated"]) == 1
    assert len(result["deleted"]) == 1
    after = keyed(api, "Profit_Persons")
    assert set(after) == (set(before) | set(result["inserted"])) - set(result["deleted"])


def test_admin_faults_over_http(
    api: RawClient, afas_sandbox: RunningSandbox, admin: Callable[..., requests.Response]
) -> None:
    added = admin(
        "POST", "/faults", {"status": 503, "retry_after": 5, "connector": "Profit_Persons"}
    )
    assert added.status_code == 200, added.text
    listed = admin("GET", "/faults")
    assert listed.status_code == 200
    faults = listed.json()["faults"]
    assert len(faults) == 1
    assert faults[0]["status"] == 503
    assert len(afas_sandbox.faults.list()) == 1
    response = api.get("/connectors/Profit_Persons", {"take": 1})
    assert response.status_code == 503
    assert response.json()["retry_after"] == 5
    assert api.get("/connectors/Profit_Debtors", {"take": 1}).status_code == 200
    cleared = admin("DELETE", "/faults")
    assert cleared.status_code == 200
    assert admin("GET", "/faults").json()["faults"] == []
    assert api.get("/connectors/Profit_Persons", {"take": 1}).status_code == 200


def test_admin_latency_over_http(
    api: RawClient, afas_sandbox: RunningSandbox, admin: Callable[..., requests.Response]
) -> None:
    response = admin("PUT", "/latency", {"fixed_ms": 250, "per_row_ms": 0})
    assert response.status_code == 200, response.text
    assert afas_sandbox.latency.fixed_ms == 250
    started = time.perf_counter()
    assert api.get("/profitversion").status_code == 200
    assert time.perf_counter() - started >= 0.25
    assert admin("PUT", "/latency", {"fixed_ms": 0, "per_row_ms": 0}).status_code == 200
    assert afas_sandbox.latency.fixed_ms == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_sandbox", b""),
        ("POST", "/_sandbox/mutate", b'{"connector": "Profit_Persons", "inserts": 5}'),
        ("POST", "/_sandbox/faults", b'{"status": 500}'),
        ("PUT", "/_sandbox/latency", b'{"fixed_ms": 5000}'),
    ],
)
def test_admin_refuses_a_non_loopback_client(
    api: RawClient, afas_sandbox: RunningSandbox, method: str, path: str, body: bytes
) -> None:
    persons = len(api.all_rows("Profit_Persons"))
    headers = {"Host": "127.0.0.1:8765", "Content-Type": "application/json"}
    request = SimRequest(
        method=method, path=path, headers=headers, body=body, remote_addr="192.0.2.1"
    )
    response = handle_admin(afas_sandbox.core, afas_sandbox.world, request)
    assert response.status == 403
    assert len(api.all_rows("Profit_Persons")) == persons
    assert afas_sandbox.faults.list() == []
    assert afas_sandbox.latency.fixed_ms == 0
    # The same request from loopback (IPv4 or IPv6) is served.
    local = SimRequest(method="GET", path="/_sandbox", headers=headers, remote_addr="::1")
    assert handle_admin(afas_sandbox.core, afas_sandbox.world, local).status == 200
