"""Sandbox contract, quirks: every behaviour AFAS leaves unverified, under each of its values.

One test per quirk of ``afas_sandbox/quirks.py`` (the table there), each value observed over
HTTP; then the ways to choose them: ``start_sandbox(quirks=...)`` refusing unknown names and
values, and ``afas-sandbox serve --quirk NAME=VALUE``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox, start_sandbox
from afas_sandbox.cli import main as sandbox_main
from afas_sandbox.datasets import load_dataset
from afas_sandbox.inputs import SandboxInputError
from afas_sandbox.quirks import CHOICES, Quirks
from tests.support.sandbox_reading import RawClient

Factory = Callable[..., RunningSandbox]
ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}
NOT_AUTHORIZED = -2147180996
URL_FILE_WAIT_SECONDS = 120


@pytest.fixture
def clients(afas_sandbox_factory: Factory) -> Iterator[Callable[..., RawClient]]:
    """``clients(role="full", **quirks)``: a client of a fresh sandbox with those quirks."""
    made: list[RawClient] = []

    def make(role: str = "full", **quirks: str) -> RawClient:
        sandbox = afas_sandbox_factory(quirks=quirks)
        client = RawClient(sandbox, getattr(sandbox.tokens, role).header)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_the_defaults_are_the_documented_first_choices() -> None:
    assert Quirks().as_dict() == {name: values[0] for name, values in CHOICES.items()}


# --------------------------------------------------------------------------- language


def test_language_quirk_sets_the_environment_language(clients: Callable[..., RawClient]) -> None:
    english = clients(language="en")
    params = {"filterfieldids": "Nope", "filtervalues": "1", "operatortypes": "1"}
    response = english.get("/connectors/Profit_Persons", params)
    assert response.json()["externalMessage"] == "Connector field 'Nope' not found"
    asked = english.get("/connectors/Profit_Persons", params, headers={"Accept-Language": "nl-nl"})
    assert asked.json()["externalMessage"] == "Connectorveld 'Nope' niet gevonden"


# --------------------------------------------------------------------------- unauthorized


def _refused_calls(client: RawClient, subject: tuple[int, str]) -> list[requests.Response]:
    """A GetConnector, its metainfo, an UpdateConnector's metainfo and writes, a file: all
    outside the limited token's App Connector, plus a connector that does not exist."""
    sb_id, file_id = subject
    body = {"KnSubject": {"Element": {"Fields": {"StId": 1, "Ds": "Niet toegestaan"}}}}
    return [
        client.get("/connectors/Profit_Transactions", {"take": 1}),
        client.get("/metainfo/get/Profit_Transactions"),
        client.get("/metainfo/update/KnSubject"),
        client.post("/connectors/KnSubject", body),
        client.put("/connectors/KnSubject", body),
        client.delete(f"/connectors/KnSubject/KnSubject/@SbId/{sb_id}"),
        client.get(f"/SubjectConnector/{sb_id}/{file_id}"),
        client.get("/connectors/Profit_Does_Not_Exist"),
        client.post("/connectors/KnDoesNotExist", {"KnDoesNotExist": {}}),
    ]


@pytest.mark.parametrize("value", ["401-body", "401-empty", "500"])
def test_unauthorized_connector_quirk(clients: Callable[..., RawClient], value: str) -> None:
    limited = clients("limited", unauthorized_connector=value)
    full = RawClient(limited.sandbox, limited.sandbox.tokens.full.header)
    (attachment,) = full.get(
        "/connectors/Profit_Subject_Attachments", {"take": 1, "orderbyfieldids": "attachment_id"}
    ).json()["rows"]
    subject = (attachment["subject_id"], attachment["file_id"])
    subjects_before = full.all_rows("Profit_Subjects")
    for response in _refused_calls(limited, subject):
        where = f"{response.request.method} {response.request.path_url}"
        if value == "401-empty":
            assert response.status_code == 401, where
            assert response.content == b"", where
            continue
        assert response.status_code == int(value[:3]), where
        body = response.json()
        assert set(body) == ERROR_KEYS, where
        assert body["errorNumber"] == NOT_AUTHORIZED, where
        assert "niet geautoriseerd" in body["externalMessage"], where
    assert len(full.all_rows("Profit_Subjects")) == len(subjects_before)
    full.close()


# --------------------------------------------------------------------------- PUT status


def _person(api: RawClient) -> dict[str, Any]:
    rows: list[dict[str, Any]] = api.get(
        "/connectors/Profit_Persons", {"take": 1, "orderbyfieldids": "PersonId"}
    ).json()["rows"]
    return rows[0]


def _person_by_number(api: RawClient, number: str) -> dict[str, Any]:
    (row,) = api.all_rows(
        "Profit_Persons", filterfieldids="PersonId", filtervalues=number, operatortypes="1"
    )
    return row


@pytest.mark.parametrize(("value", "status"), [("201", 201), ("200", 200)])
def test_put_status_quirk(clients: Callable[..., RawClient], value: str, status: int) -> None:
    api = clients(put_status=value)
    number = _person(api)["PersonId"]
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": number, "CaNm": "Kees"}}}}
    response = api.put("/connectors/KnPerson", body)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["results"]["KnPerson"]["BcCo"] == number
    else:
        assert response.content == b""
    assert _person_by_number(api, number)["CallName"] == "Kees"
    # POST keeps its 201 with results either way.
    post = api.post(
        "/connectors/KnPerson", {"KnPerson": {"Element": {"Fields": {"LaNm": "Nieuw"}}}}
    )
    assert post.status_code == 201
    assert "BcCo" in post.json()["results"]["KnPerson"]


# --------------------------------------------------------------------------- multi-element


def _projects(api: RawClient, count: int) -> dict[str, Any]:
    fields = {
        f["label"]: f["fieldId"] for f in api.get("/metainfo/update/KnCustomK01").json()["fields"]
    }
    elements = [{"Fields": {fields["Projectnaam"]: f"Meervoud {i}"}} for i in range(count)]
    return {"KnCustomK01": {"Element": elements}}


@pytest.mark.parametrize("value", ["array", "first", "last", "none"])
def test_multi_element_result_quirk(clients: Callable[..., RawClient], value: str) -> None:
    api = clients(multi_element_result=value)
    before = {r["SqNo"] for r in api.all_rows("Profit_FreeTable_K01")}
    response = api.post("/connectors/KnCustomK01", _projects(api, 3))
    created = sorted({r["SqNo"] for r in api.all_rows("Profit_FreeTable_K01")} - before)
    assert len(created) == 3
    keys = [{"SqNo": str(n)} for n in created]
    if value == "none":
        assert (response.status_code, response.content) == (200, b"")
    else:
        assert response.status_code == 201, response.text
        result = response.json()["results"]["KnCustomK01"]
        assert result == {"array": keys, "first": keys[0], "last": keys[-1]}[value]
    one = {"KnCustomK01": {"Element": _projects(api, 1)["KnCustomK01"]["Element"][0]}}
    single = api.post("/connectors/KnCustomK01", one)
    assert single.status_code == 201
    assert set(single.json()["results"]["KnCustomK01"]) == {"SqNo"}, "one element: one key set"


# --------------------------------------------------------------------------- take=0


@pytest.mark.parametrize("value", ["one-row", "no-rows", "error"])
def test_take_zero_quirk(clients: Callable[..., RawClient], value: str) -> None:
    api = clients(take_zero=value)
    response = api.get("/connectors/Profit_Persons", {"skip": 5, "take": 0})
    if value == "error":
        assert response.status_code == 500
        assert set(response.json()) == ERROR_KEYS
        return
    assert response.status_code == 200
    body = response.json()
    assert (body["skip"], body["take"]) == (5, 0)
    assert len(body["rows"]) == (1 if value == "one-row" else 0)
    # take=1 and skip=-1 are untouched by the quirk.
    assert len(api.get("/connectors/Profit_Persons", {"take": 1}).json()["rows"]) == 1
    everything = api.get("/connectors/Profit_Persons", {"skip": -1, "take": 0}).json()["rows"]
    assert len(everything) > 100


# --------------------------------------------------------------------------- DELETE path


@pytest.mark.parametrize(
    ("value", "with_at", "without_at"),
    [("both", 200, 200), ("at", 200, 500), ("bare", 500, 200)],
)
def test_delete_key_prefix_quirk(
    clients: Callable[..., RawClient], value: str, with_at: int, without_at: int
) -> None:
    api = clients(delete_key_prefix=value)
    first, second = sorted(r["SubjectId"] for r in api.all_rows("Profit_Subjects"))[:2]
    at = api.delete(f"/connectors/KnSubject/KnSubject/@SbId/{first}")
    bare = api.delete(f"/connectors/KnSubject/KnSubject/SbId/{second}")
    assert (at.status_code, bare.status_code) == (with_at, without_at)
    remaining = {r["SubjectId"] for r in api.all_rows("Profit_Subjects")}
    assert (first in remaining, second in remaining) == (with_at != 200, without_at != 200)
    for refused in (r for r in (at, bare) if r.status_code == 500):
        assert "SbId" in refused.json()["externalMessage"]


# --------------------------------------------------------------------------- Z in filters


def _modified_filter(value: str, operator: str = "4") -> dict[str, str]:
    return {"filterfieldids": "ModifiedDate", "filtervalues": value, "operatortypes": operator}


@pytest.mark.parametrize("value", ["refuse", "ignore", "no-match"])
def test_filter_z_quirk(clients: Callable[..., RawClient], value: str) -> None:
    api = clients(filter_z=value)
    stamp = "2024-06-01T00:00:00"
    plain = api.get(
        "/connectors/Profit_Persons", {**_modified_filter(stamp), "take": -1, "skip": -1}
    )
    assert plain.status_code == 200
    expected = len(plain.json()["rows"])
    assert expected > 0
    with_z = api.get("/connectors/Profit_Persons", {**_modified_filter(stamp + "Z"), "take": 1000})
    if value == "refuse":
        assert with_z.status_code == 500
        return
    assert with_z.status_code == 200
    rows = with_z.json()["rows"]
    assert len(rows) == (expected if value == "ignore" else 0)

    # An OR-group without a Z still matches under no-match.
    def either(value_with_or_without_z: str) -> set[str]:
        params = {
            "filterfieldids": "ModifiedDate;PersonId",
            "filtervalues": f"{value_with_or_without_z};100001",
            "operatortypes": "4;1",
            "skip": -1,
            "take": -1,
        }
        response = api.get("/connectors/Profit_Persons", params)
        assert response.status_code == 200, response.text
        return {r["PersonId"] for r in response.json()["rows"]}

    if value == "no-match":
        assert either(stamp + "Z") == {"100001"}
    else:
        assert either(stamp + "Z") == either(stamp)
    # "is not empty" ignores its value, Z or not.
    filled = api.get("/connectors/Profit_Persons", _modified_filter("Z", "9")).json()["rows"]
    assert len(filled) == 100


# --------------------------------------------------------------------------- memo type


@pytest.mark.parametrize("value", ["string", "blob"])
def test_memo_type_quirk(clients: Callable[..., RawClient], value: str) -> None:
    api = clients(memo_type=value)
    get_fields = {f["id"]: f for f in api.get("/metainfo/get/Profit_Subjects").json()["fields"]}
    assert get_fields["Body"]["dataType"] == value
    assert get_fields["Subject"]["dataType"] == "string", "only memos (length 0) change"
    assert get_fields["SubjectDate"]["dataType"] == "date"
    update = api.get("/metainfo/update/KnOrganisation").json()
    (contact,) = [o for o in update["objects"] if o["name"] == "KnContact"]
    remark = next(f for f in contact["fields"] if f["fieldId"] == "Re")
    assert remark["dataType"] == value
    # The data stays plain text, and plain text is still accepted.
    rows = api.all_rows("Profit_Subjects")
    assert any("\r\n" in (r["Body"] or "") for r in rows)
    text = "Regel 1\r\nRegel 2"
    body = {"KnSubject": {"Element": {"Fields": {"StId": 1, "Ds": "Memo", "SbTx": text}}}}
    assert api.post("/connectors/KnSubject", body).status_code == 201


# --------------------------------------------------------------------------- choosing quirks


@pytest.mark.parametrize(
    ("quirks", "fragment"),
    [
        ({"put_status": "202"}, "put_status must be one of 201, 200"),
        ({"nope": "1"}, "unknown quirk 'nope'"),
        ({"language": "fr"}, "language must be one of nl, en"),
        ({"take_zero": True}, "take_zero must be one of"),
    ],
)
def test_start_sandbox_refuses_unknown_quirks(quirks: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SandboxInputError, match=fragment):
        start_sandbox("empty", quirks=quirks)


@pytest.mark.parametrize(
    "argument", ["put_status", "put_status=", "=200", "put_status=202", "nope=1"]
)
def test_cli_refuses_a_bad_quirk_with_one_line(
    argument: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = sandbox_main(["serve", "--port", "0", "--rows", "0", "--quirk", argument])
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("afas-sandbox: ERROR: ")
    assert "quirk" in lines[0]


def test_cli_serves_with_the_quirks_given(tmp_path: Path) -> None:
    url_file = tmp_path / "url.txt"
    command = [
        sys.executable, "-m", "afas_sandbox", "serve", "--port", "0", "--rows", "0",
        "--url-file", str(url_file), "--quirk", "put_status=200", "--quirk", "language=en",
    ]  # fmt: skip
    log = tmp_path / "sandbox.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + URL_FILE_WAIT_SECONDS
        while not url_file.exists() or not url_file.read_text().strip():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        base_url = url_file.read_text().strip()
        sandbox_token = _full_token_header()
        headers = {"Authorization": sandbox_token}
        person = requests.get(
            base_url + "/connectors/Profit_Persons", params={"take": 1}, headers=headers, timeout=30
        ).json()["rows"][0]
        body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": person["PersonId"]}}}}
        put = requests.put(
            base_url + "/connectors/KnPerson", json=body, headers=headers, timeout=30
        )
        assert (put.status_code, put.content) == (200, b"")
        refused = requests.get(base_url + "/connectors/Nope", headers=headers, timeout=30)
        assert refused.status_code == 401
        assert refused.json()["externalMessage"].startswith("GetConnector not supported")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _full_token_header() -> str:
    (full,) = [t for t in load_dataset("empty").tokens if t.name == "full"]
    return full.header
