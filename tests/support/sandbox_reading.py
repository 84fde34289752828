"""Plain ``requests`` reads of a sandbox, never through ``afas_profit``: what tests compare with.

- ``RawClient``: HTTP calls with one token (or none), responses as they come; ``all_rows``
  parses numbers as ``float`` (what ``response.json()`` gives).
- ``SandboxReader``: JSON with every number as ``Decimal`` (exact), the full token unless
  another header is given: metainfo, every row of a connector (``skip=-1&take=-1``), rows by
  key, and ``expected``: the rows converted the documented way (``expected_record``, computed
  here with ``zoneinfo``: datetimes Amsterdam local -> UTC, dates ``YYYY-MM-DD``, times
  ``HH:MM:SS``).
- Demo data helpers: persons that are no employee (``free_person_ids``), ``date_of``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import requests

from afas_sandbox import RunningSandbox

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CONTROL_DATE = 4
CONTROL_TIME = 7
TIMEOUT_SECONDS = 30

Row = dict[str, Any]


class RawClient:
    """Plain ``requests`` calls against one sandbox, authenticated with one token."""

    def __init__(self, sandbox: RunningSandbox, header: str | None) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        if header is not None:
            self.session.headers["Authorization"] = header

    def __enter__(self) -> RawClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def get(
        self, path: str, params: Mapping[str, Any] | str | None = None, **kw: Any
    ) -> requests.Response:
        if isinstance(params, Mapping):
            params = dict(params)
        return self.session.get(
            self.sandbox.base_url + path, params=params, timeout=TIMEOUT_SECONDS, **kw
        )

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.session.post(
            self.sandbox.base_url + path, json=body, timeout=TIMEOUT_SECONDS, **kw
        )

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.session.put(
            self.sandbox.base_url + path, json=body, timeout=TIMEOUT_SECONDS, **kw
        )

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.sandbox.base_url + path, timeout=TIMEOUT_SECONDS, **kw)

    def all_rows(self, connector: str, **params: Any) -> list[Row]:
        """Every row of a GetConnector in one call (skip=-1&take=-1), numbers as ``float``."""
        response = self.get(f"/connectors/{connector}", {"skip": -1, "take": -1, **params})
        assert response.status_code == 200, response.text
        rows: list[Row] = response.json()["rows"]
        return rows

    def close(self) -> None:
        self.session.close()


class SandboxReader(RawClient):
    """The sandbox's truth, numbers as ``Decimal``; the full token unless ``header`` is given."""

    def __init__(self, sandbox: RunningSandbox, header: str | None = None) -> None:
        super().__init__(sandbox, header or sandbox.tokens.full.header)

    def __enter__(self) -> SandboxReader:
        return self

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.get(path, dict(params or {}))
        assert response.status_code == 200, (path, response.status_code, response.text)
        return json.loads(response.content, parse_float=Decimal)

    def connector_ids(self) -> list[str]:
        return [c["id"] for c in self.get_json("/metainfo")["getConnectors"]]

    def fields(self, connector: str) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = self.get_json(f"/metainfo/get/{connector}")["fields"]
        return fields

    def all_rows(self, connector: str, **params: Any) -> list[Row]:
        """Every row of a GetConnector in one call (skip=-1&take=-1), numbers as ``Decimal``."""
        rows: list[Row] = self.get_json(
            f"/connectors/{connector}", {"skip": -1, "take": -1, **params}
        )["rows"]
        return rows

    def by_key(self, connector: str, key: str) -> dict[str, list[Row]]:
        """Every row of the connector grouped by ``key`` (as text)."""
        out: dict[str, list[Row]] = {}
        for row in self.all_rows(connector):
            out.setdefault(str(row[key]), []).append(row)
        return out

    def one(self, connector: str, key: str, value: Any) -> Row:
        rows = [r for r in self.all_rows(connector) if str(r[key]) == str(value)]
        assert len(rows) == 1, f"{connector}: {len(rows)} rows with {key} = {value!r}"
        return rows[0]

    def expected(self, connector: str) -> list[Row]:
        """Every row of the connector, converted the documented way."""
        fields = self.fields(connector)
        return [expected_record(row, fields) for row in self.all_rows(connector)]


def local_to_utc_iso(text: str) -> str:
    """``2026-03-29T03:00:00Z`` (Amsterdam wall time, false Z) -> ``...+00:00`` (first fold)."""
    wall = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return wall.replace(tzinfo=AMSTERDAM).astimezone(timezone.utc).isoformat()


def expected_record(row: Row, fields: Sequence[Mapping[str, Any]]) -> Row:
    """A sandbox row as the tap must emit it (dates, times and datetimes by control type)."""
    out = dict(row)
    for f in fields:
        value = out.get(f["id"])
        if f["dataType"] != "date" or value is None:
            continue
        control = int(f.get("controlType") or 0)
        if control == CONTROL_DATE:
            out[f["id"]] = value[:10]
        elif control == CONTROL_TIME:
            out[f["id"]] = value[11:19]
        else:
            out[f["id"]] = local_to_utc_iso(value)
    return out


def date_of(value: Any) -> str | None:
    """``1990-04-12T00:00:00Z`` (a date as AFAS shows it) -> ``1990-04-12``."""
    return None if value is None else str(value)[:10]


def employee_person_ids(reader: SandboxReader) -> set[str]:
    return {str(r["PersonId"]) for r in reader.all_rows("Profit_Employees")}


def free_person_ids(reader: SandboxReader, count: int) -> list[str]:
    """Numbers of demo persons that are no employee (so they may be deleted), sorted."""
    taken = employee_person_ids(reader)
    ids = sorted(str(r["PersonId"]) for r in reader.all_rows("Profit_Persons"))
    free = [i for i in ids if i not in taken]
    assert len(free) >= count
    return free[:count]
