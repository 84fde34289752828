"""Sandbox contract, time layer: modified stamps in Amsterdam local time with a false 'Z'.

Pins afas-rest-api.md sections 3.7, 5 and 9 (quirks 2 and 3) with a ManualClock: a write at a
UTC instant shows as Europe/Amsterdam local time (+2 h in summer, +1 h in winter, both sides
of the DST changes), timestamps are stored with sub-second precision and shown rounded half up
to the second, and filters compare the stored value, so a row shown as ``10:00:02`` can fall
on either side of ``>= 10:00:02``. Also the world-mover's ``same_second`` mutations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from afas_sandbox import ManualClock, RunningSandbox
from tests.support.sandbox_reading import RawClient

UTC = timezone.utc
Row = dict[str, Any]
Factory = Callable[..., RunningSandbox]


@pytest.fixture
def timed(afas_sandbox_factory: Factory) -> Iterator[tuple[RunningSandbox, ManualClock, RawClient]]:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sandbox = afas_sandbox_factory(clock=clock)
    assert sandbox.clock is clock
    client = RawClient(sandbox, sandbox.tokens.full.header)
    yield sandbox, clock, client
    client.close()


def _post_person(client: RawClient, last_name: str) -> str:
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": last_name}}}}
    response = client.post("/connectors/KnPerson", body)
    assert response.status_code == 201, response.text
    number: str = response.json()["results"]["KnPerson"]["BcCo"]
    return number


def _person(client: RawClient, number: str) -> Row:
    response = client.get(
        "/connectors/Profit_Persons",
        {"filterfieldids": "PersonId", "filtervalues": number, "operatortypes": "1"},
    )
    assert response.status_code == 200, response.text
    rows: list[Row] = response.json()["rows"]
    assert len(rows) == 1
    return rows[0]


def _write_at(client: RawClient, clock: ManualClock, moment: datetime, name: str) -> Row:
    clock.set(moment)
    return _person(client, _post_person(client, name))


def _matching(
    client: RawClient, connector: str, field_id: str, op: int, value: str, key: str
) -> set[str]:
    response = client.get(
        f"/connectors/{connector}",
        {
            "skip": -1,
            "take": -1,
            "filterfieldids": field_id,
            "filtervalues": value,
            "operatortypes": str(op),
        },
    )
    assert response.status_code == 200, response.text
    return {row[key] for row in response.json()["rows"]}


# --- UTC instant -> Amsterdam local time with a 'Z' -----------------------------------------


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        (datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC), "2026-07-01T12:00:00Z"),
        (datetime(2026, 8, 31, 23, 15, 40, tzinfo=UTC), "2026-09-01T01:15:40Z"),
        (datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC), "2026-01-15T11:00:00Z"),
        (datetime(2026, 12, 31, 23, 30, 5, tzinfo=UTC), "2027-01-01T00:30:05Z"),
    ],
    ids=["summer", "summer-next-day", "winter", "winter-next-year"],
)
def test_api_write_shows_amsterdam_local_time(
    timed: tuple[RunningSandbox, ManualClock, RawClient], utc: datetime, shown: str
) -> None:
    _, clock, client = timed
    row = _write_at(client, clock, utc, "Tijdzone")
    assert row["ModifiedDate"] == shown
    assert row["CreateDate"] == shown


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        (datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC), "2026-07-01T12:00:00Z"),
        (datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC), "2026-01-15T11:00:00Z"),
    ],
    ids=["summer", "winter"],
)
def test_world_mutation_shows_amsterdam_local_time(
    timed: tuple[RunningSandbox, ManualClock, RawClient], utc: datetime, shown: str
) -> None:
    sandbox, clock, client = timed
    clock.set(utc)
    result = sandbox.mutate("Profit_Employees", updates=3)
    assert result.updated
    for key in set(result.updated):
        rows = client.get(
            "/connectors/Profit_Employees",
            {"filterfieldids": "EmployeeId", "filtervalues": key, "operatortypes": "1"},
        ).json()["rows"]
        assert [r["Gewijzigd_op"] for r in rows] == [shown]


def test_deleted_records_stamp_is_local_time(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    sandbox, clock, client = timed
    clock.set(datetime(2026, 7, 1, 6, 30, 0, tzinfo=UTC))
    result = sandbox.mutate("Profit_Subjects", deletes=2)
    assert len(result.deleted) == 2
    rows = client.all_rows("Profit_Deleted_Records")
    assert sorted(r["Sleutel"] for r in rows) == sorted(result.deleted)
    assert {r["Datum_mutatie"] for r in rows} == {"2026-07-01T08:30:00Z"}


def test_autumn_dst_change_both_instants_show_0230(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    """2026-10-25: 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET: the same local time."""
    _, clock, client = timed
    first = _write_at(client, clock, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Zomertijd")
    second = _write_at(client, clock, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Wintertijd")
    assert first["ModifiedDate"] == "2026-10-25T02:30:00Z"
    assert second["ModifiedDate"] == "2026-10-25T02:30:00Z"
    # Around the change: the local clock jumps back from 02:59:59 to 02:00:00.
    before = _write_at(client, clock, datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC), "Voor")
    after = _write_at(client, clock, datetime(2026, 10, 25, 1, 0, 0, tzinfo=UTC), "Na")
    assert before["ModifiedDate"] == "2026-10-25T02:59:59Z"
    assert after["ModifiedDate"] == "2026-10-25T02:00:00Z"


def test_spring_dst_change_skips_an_hour(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    _, clock, client = timed
    before = _write_at(client, clock, datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), "Voor")
    after = _write_at(client, clock, datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "Na")
    assert before["ModifiedDate"] == "2026-03-29T01:59:59Z"
    assert after["ModifiedDate"] == "2026-03-29T03:00:00Z"


# --- sub-second storage, rounded display, stored-value comparisons --------------------------

# Local (Amsterdam, CEST) 10:00:01.700 and 10:00:02.300 on 2026-06-15 are 08:00:… UTC.
EARLY = datetime(2026, 6, 15, 8, 0, 1, 700_000, tzinfo=UTC)
LATE = datetime(2026, 6, 15, 8, 0, 2, 300_000, tzinfo=UTC)


def test_sub_second_writes_show_rounded_to_the_second(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    _, clock, client = timed
    early = _write_at(client, clock, EARLY, "Vroeg")
    late = _write_at(client, clock, LATE, "Laat")
    assert early["ModifiedDate"] == "2026-06-15T10:00:02Z"
    assert late["ModifiedDate"] == "2026-06-15T10:00:02Z"


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        (datetime(2026, 6, 15, 8, 0, 2, 499_999, tzinfo=UTC), "2026-06-15T10:00:02Z"),
        (datetime(2026, 6, 15, 8, 0, 2, 500_000, tzinfo=UTC), "2026-06-15T10:00:03Z"),
        (datetime(2026, 6, 15, 8, 0, 2, 0, tzinfo=UTC), "2026-06-15T10:00:02Z"),
        (datetime(2026, 6, 15, 21, 59, 59, 600_000, tzinfo=UTC), "2026-06-16T00:00:00Z"),
    ],
    ids=["below-half", "half-up", "whole", "rounds-into-next-day"],
)
def test_rounding_is_half_up(
    timed: tuple[RunningSandbox, ManualClock, RawClient], utc: datetime, shown: str
) -> None:
    _, clock, client = timed
    assert _write_at(client, clock, utc, "Afronding")["ModifiedDate"] == shown


def test_filter_compares_the_stored_value_not_the_shown_second(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    """Both rows show 10:00:02, but only the one stored at .300 is >= 10:00:02."""
    _, clock, client = timed
    early_row = _write_at(client, clock, EARLY, "Vroeg")
    late_row = _write_at(client, clock, LATE, "Laat")
    early, late = early_row["PersonId"], late_row["PersonId"]
    assert early_row["ModifiedDate"] == late_row["ModifiedDate"] == "2026-06-15T10:00:02Z"
    ours = {early, late}

    def hits(op: int, value: str) -> set[str]:
        return _matching(client, "Profit_Persons", "ModifiedDate", op, value, "PersonId") & ours

    assert hits(2, "2026-06-15T10:00:02") == {late}
    assert hits(4, "2026-06-15T10:00:01") == {early, late}
    assert hits(2, "2026-06-15T10:00:01") == {early, late}
    assert hits(3, "2026-06-15T10:00:02") == {early}
    assert hits(5, "2026-06-15T10:00:03") == {early, late}
    assert hits(4, "2026-06-15T10:00:02") == {late}


def test_overlap_window_catches_both_boundary_rows(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    """The client remedy of API note 9.2: subtract a second from the last seen stamp."""
    _, clock, client = timed
    early = _write_at(client, clock, EARLY, "Vroeg")["PersonId"]
    late = _write_at(client, clock, LATE, "Laat")["PersonId"]
    found = _matching(
        client, "Profit_Persons", "ModifiedDate", 2, "2026-06-15T10:00:01", "PersonId"
    )
    assert {early, late} <= found


# --- same_second mutations ------------------------------------------------------------------


def test_same_second_mutations_share_one_displayed_second(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    sandbox, clock, client = timed
    clock.set(datetime(2026, 6, 15, 10, 0, 0, tzinfo=UTC))
    result = sandbox.mutate("Profit_Persons", inserts=5, updates=25, same_second=True)
    keys = set(result.inserted) | set(result.updated)
    assert len(result.inserted) == 5
    assert len(keys) >= 20
    rows = [r for r in client.all_rows("Profit_Persons") if r["PersonId"] in keys]
    assert {r["PersonId"] for r in rows} == keys
    shown = Counter(r["ModifiedDate"] for r in rows)
    second, count = shown.most_common(1)[0]
    assert count > len(rows) // 2, shown
    assert second == "2026-06-15T12:00:00Z"
    # The stamps lie inside the last half second before the clock: all are shown as 12:00:00
    # but stored before it, so '>= 12:00:00' finds none of them and '> 11:59:59' all.
    at_or_after = _matching(
        client, "Profit_Persons", "ModifiedDate", 2, "2026-06-15T12:00:00", "PersonId"
    )
    after_previous = _matching(
        client, "Profit_Persons", "ModifiedDate", 4, "2026-06-15T11:59:59", "PersonId"
    )
    shown_keys = {r["PersonId"] for r in rows if r["ModifiedDate"] == second}
    assert not at_or_after & shown_keys
    assert shown_keys <= after_previous


def test_mutations_without_same_second_share_the_clock_second(
    timed: tuple[RunningSandbox, ManualClock, RawClient],
) -> None:
    sandbox, clock, client = timed
    clock.set(datetime(2026, 1, 20, 9, 15, 30, tzinfo=UTC))
    result = sandbox.mutate("Profit_Persons", inserts=3, updates=5)
    keys = set(result.inserted) | set(result.updated)
    rows = [r for r in client.all_rows("Profit_Persons") if r["PersonId"] in keys]
    assert {r["ModifiedDate"] for r in rows} == {"2026-01-20T10:15:30Z"}
    assert keys <= _matching(
        client, "Profit_Persons", "ModifiedDate", 2, "2026-01-20T10:15:30", "PersonId"
    )
