"""Sandbox contract, authentication layer: tokens, App Connector rights and IP restriction.

Pins afas-rest-api.md section 2 and the brief's decisions: a missing, malformed or unknown
token is a 401 with an empty body, a plain-text XML token a 500 AFAS error body, an
IP-restricted token a 403, and a connector outside the token's App Connector (or one that does
not exist) a 401 with AFAS's error body "... not supported for this app or the user is not
authorized" (help page "API-responses bij connectoren"; the other choices of the
``unauthorized_connector`` quirk are pinned in test_quirks.py). Messages are Dutch unless the
request asks for English.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox
from afas_sandbox.sandbox import SimRequest
from tests.support.sandbox_reading import RawClient

ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}
NOT_AUTHORIZED = -2147180996
NOT_AUTHORIZED_TEXTS = {
    ("get", "nl"): "Algemene melding: Deze GetConnector wordt niet ondersteund of de gebruiker is "
    "niet geautoriseerd.",
    ("update", "nl"): "Algemene melding: Deze UpdateConnector wordt niet ondersteund of de "
    "gebruiker is niet geautoriseerd.",
    ("get", "en"): "GetConnector not supported for this app or the user is not authorized",
    ("update", "en"): "UpdateConnector not supported for this app or the user is not authorized",
}
LIMITED_GET = {"Profit_Administrations", "Profit_Employees", "Profit_Persons"}
LIMITED_UPDATE = {"KnPerson"}
REQUIRED_GET = {
    "Profit_Administrations",
    "Profit_Employees",
    "Profit_Persons",
    "Profit_Organisations",
    "Profit_Debtors",
    "Profit_Subjects",
    "Profit_Transactions",
    "Profit_Deleted_Records",
    "Profit_FreeTable_K01",
}
HEX64 = "0123456789ABCDEF" * 4


def _b64(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def _xml(data: str) -> str:
    return f"<token><version>1</version><data>{data}</data></token>"


def _call(
    sandbox: RunningSandbox,
    method: str,
    path: str,
    authorization: str | None,
    body: Any = None,
    *,
    url: str | None = None,
) -> requests.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return requests.request(
        method,
        url if url is not None else sandbox.base_url + path,
        headers=headers,
        json=body,
        timeout=30,
    )


def _assert_error_body(response: requests.Response, status: int = 500) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["externalMessage"], str)
    assert body["externalMessage"]
    assert type(body["errorNumber"]) is int
    assert isinstance(body["profitLogReference"], str)
    assert re.fullmatch(r"[0-9A-F]{32}", body["profitLogReference"])
    return body


def _assert_not_authorized(response: requests.Response, kind: str, language: str = "nl") -> None:
    body = _assert_error_body(response, 401)
    assert body["externalMessage"] == NOT_AUTHORIZED_TEXTS[kind, language]
    assert body["errorNumber"] == NOT_AUTHORIZED


PERSON_POST = {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": "Autorisatietest"}}}}

# (method, path, body) of requests that a valid full token may make.
PROTECTED_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/metainfo", None),
    ("GET", "/metainfo/get/Profit_Persons", None),
    ("GET", "/metainfo/update/KnPerson", None),
    ("GET", "/connectors/Profit_Persons", None),
    ("GET", "/connectors/Profit_Does_Not_Exist", None),
    ("POST", "/connectors/KnPerson", PERSON_POST),
    ("PUT", "/connectors/KnPerson", PERSON_POST),
    ("DELETE", "/connectors/KnSubject/KnSubject/@SbId/1", None),
]
CALL_IDS = [f"{m} {p}" for m, p, _ in PROTECTED_CALLS]


# --- missing / malformed / unknown -> 401 with an empty body -----------------------------------


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED_CALLS, ids=CALL_IDS)
def test_missing_token_is_401_with_empty_body(
    shared: RunningSandbox, method: str, path: str, body: Any
) -> None:
    response = _call(shared, method, path, None, body)
    assert response.status_code == 401
    assert response.content == b""


def test_empty_authorization_header_is_401(shared: RunningSandbox) -> None:
    response = _call(shared, "GET", "/connectors/Profit_Persons", "")
    assert response.status_code == 401
    assert response.content == b""


def _malformed_headers(data: str) -> dict[str, str]:
    valid_xml = _xml(data)
    return {
        "bearer_scheme": "Bearer " + _b64(valid_xml),
        "basic_scheme": "Basic " + _b64(valid_xml),
        "no_scheme": _b64(valid_xml),
        "scheme_only": "AfasToken",
        "scheme_and_space": "AfasToken ",
        "bad_base64_chars": "AfasToken %%%not-base64%%%",
        "bad_base64_padding": "AfasToken " + _b64(valid_xml)[:-3],
        "base64_of_binary": "AfasToken " + _b64(b"\xff\xfe\xfd\x00\x81"),
        "base64_of_data_only": "AfasToken " + _b64(data),
        "xml_without_data": "AfasToken " + _b64("<token><version>1</version></token>"),
        "xml_short_data": "AfasToken " + _b64(_xml(HEX64[:63])),
        "xml_long_data": "AfasToken " + _b64(_xml(HEX64 + "A")),
        "xml_non_hex_data": "AfasToken " + _b64(_xml("Z" * 64)),
        "xml_wrong_root": "AfasToken "
        + _b64(f"<tok><version>1</version><data>{HEX64}</data></tok>"),
        "xml_wrong_version": "AfasToken "
        + _b64(f"<token><version>2</version><data>{HEX64}</data></token>"),
        "xml_unclosed": "AfasToken " + _b64(f"<token><version>1</version><data>{HEX64}"),
        "json_instead_of_xml": "AfasToken " + _b64('{"token": "' + HEX64 + '"}'),
    }


MALFORMED_NAMES = list(_malformed_headers(HEX64))


@pytest.mark.parametrize("name", MALFORMED_NAMES)
def test_malformed_token_is_401_with_empty_body(shared: RunningSandbox, name: str) -> None:
    header = _malformed_headers(shared.tokens.full.data)[name]
    for path in ("/metainfo", "/connectors/Profit_Persons"):
        response = _call(shared, "GET", path, header)
        assert response.status_code == 401, (name, path, response.text)
        assert response.content == b""


def test_unknown_token_is_401_with_empty_body(shared: RunningSandbox) -> None:
    known = {
        shared.tokens.full.data,
        shared.tokens.limited.data,
        shared.tokens.ip_restricted.data,
    }
    unknown = ("F" * 63) + "E"
    assert unknown not in known
    header = "AfasToken " + _b64(_xml(unknown))
    for method, path, body in PROTECTED_CALLS:
        response = _call(shared, method, path, header, body)
        assert response.status_code == 401, (method, path)
        assert response.content == b""


def test_valid_token_is_accepted(shared: RunningSandbox) -> None:
    """The positive control for the 401 tests: the same calls with the real header work."""
    header = shared.tokens.full.header
    assert header == "AfasToken " + _b64(_xml(shared.tokens.full.data))
    assert re.fullmatch(r"[0-9A-F]{64}", shared.tokens.full.data)
    response = _call(shared, "GET", "/connectors/Profit_Persons", header)
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 100


def test_plain_text_xml_token_is_500_with_error_body(shared: RunningSandbox) -> None:
    header = "AfasToken " + shared.tokens.full.xml
    for path in ("/metainfo", "/connectors/Profit_Persons"):
        response = _call(shared, "GET", path, header)
        _assert_error_body(response)


def test_plain_text_token_does_not_write(afas_sandbox: RunningSandbox, api: RawClient) -> None:
    before = len(api.all_rows("Profit_Persons"))
    header = "AfasToken " + afas_sandbox.tokens.full.xml
    _assert_error_body(_call(afas_sandbox, "POST", "/connectors/KnPerson", header, PERSON_POST))
    assert len(api.all_rows("Profit_Persons")) == before


# --- IP restriction -> 403 ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED_CALLS, ids=CALL_IDS)
def test_ip_restricted_token_from_loopback_is_403_with_empty_body(
    shared: RunningSandbox, method: str, path: str, body: Any
) -> None:
    response = _call(shared, method, path, shared.tokens.ip_restricted.header, body)
    assert response.status_code == 403
    assert response.content == b""


def test_ip_restricted_token_does_not_write(afas_sandbox: RunningSandbox, api: RawClient) -> None:
    before = len(api.all_rows("Profit_Persons"))
    header = afas_sandbox.tokens.ip_restricted.header
    response = _call(afas_sandbox, "POST", "/connectors/KnPerson", header, PERSON_POST)
    assert response.status_code == 403
    assert len(api.all_rows("Profit_Persons")) == before


def test_ip_restricted_token_from_an_allowed_address_works(shared: RunningSandbox) -> None:
    token = shared.tokens.ip_restricted
    allowed = token.app.allowed_ips
    assert allowed, "the ip_restricted token must name its allowed addresses"
    assert "127.0.0.1" not in allowed
    address = sorted(allowed)[0]

    def handle(remote_addr: str) -> int:
        request = SimRequest(
            method="GET",
            path="/ProfitRestServices/connectors/Profit_Administrations",
            headers={"Authorization": token.header},
            remote_addr=remote_addr,
        )
        return shared.core.handle(request).status

    assert handle(address) == 200
    assert handle("127.0.0.1") == 403
    assert handle("198.51.100.7") == 403


# --- App Connector rights (limited token) ---------------------------------------------------


def test_limited_token_app_connector_is_as_documented(shared: RunningSandbox) -> None:
    app = shared.tokens.limited.app
    assert app.get_connectors == LIMITED_GET
    assert app.update_connectors == LIMITED_UPDATE


@pytest.mark.parametrize("connector", sorted(LIMITED_GET))
def test_limited_token_reads_its_get_connectors(limited_client: RawClient, connector: str) -> None:
    response = limited_client.get(f"/connectors/{connector}", {"take": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["skip"] == 0
    assert body["take"] == 5
    assert 1 <= len(body["rows"]) <= 5
    meta = limited_client.get(f"/metainfo/get/{connector}")
    assert meta.status_code == 200
    assert meta.json()["name"] == connector


@pytest.mark.parametrize(
    "connector",
    [*sorted(REQUIRED_GET - LIMITED_GET), "Profit_Subject_Attachments"],
)
def test_limited_token_get_connector_outside_app_is_not_authorized(
    limited_client: RawClient, client: RawClient, connector: str
) -> None:
    assert client.get(f"/connectors/{connector}", {"take": 1}).status_code == 200  # exists
    _assert_not_authorized(limited_client.get(f"/connectors/{connector}", {"take": 1}), "get")
    _assert_not_authorized(limited_client.get(f"/metainfo/get/{connector}"), "get")


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [
        ("en-us", "en"),
        ("en", "en"),
        ("nl-nl", "nl"),
        ("nl-be", "nl"),
        ("de-de", "nl"),
        (None, "nl"),
    ],
)
def test_not_authorized_message_follows_accept_language(
    limited_client: RawClient, accept_language: str | None, language: str
) -> None:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    get = limited_client.get("/connectors/Profit_Transactions", headers=headers)
    _assert_not_authorized(get, "get", language)
    update = limited_client.get("/metainfo/update/KnSubject", headers=headers)
    _assert_not_authorized(update, "update", language)


def test_limited_token_may_not_download_dossier_files(
    shared: RunningSandbox, limited_client: RawClient, client: RawClient
) -> None:
    """The limited App Connector lacks the SubjectConnector: 401, for every file, both URL
    forms, while the full token downloads the same file."""
    attachment = client.get(
        "/connectors/Profit_Subject_Attachments", {"take": 1, "orderbyfieldids": "attachment_id"}
    ).json()["rows"][0]
    sb_id, file_id = attachment["subject_id"], attachment["file_id"]
    assert client.get(f"/SubjectConnector/{sb_id}/{file_id}").status_code == 200
    for response in (
        limited_client.get(f"/SubjectConnector/{sb_id}/{file_id}"),
        limited_client.get("/SubjectConnector", {"SubjectId": sb_id, "FileId": file_id}),
        limited_client.get(f"/SubjectConnector/{sb_id}/{'0' * 32}"),
    ):
        body = _assert_error_body(response, 401)
        assert "SubjectConnector" in body["externalMessage"]
        assert "filedata" not in response.text
    ip_restricted = shared.tokens.ip_restricted.header
    refused = _call(shared, "GET", f"/SubjectConnector/{sb_id}/{file_id}", ip_restricted)
    assert refused.status_code == 403


def test_not_authorized_reference_is_fresh_per_error(limited_client: RawClient) -> None:
    first = limited_client.get("/connectors/Profit_Transactions").json()["profitLogReference"]
    second = limited_client.get("/connectors/Profit_Transactions").json()["profitLogReference"]
    assert first != second


def test_limited_token_update_connector_outside_app_is_not_authorized(
    limited_api: RawClient, api: RawClient
) -> None:
    subjects_before = api.all_rows("Profit_Subjects")
    organisations_before = api.all_rows("Profit_Organisations")
    subject_id = subjects_before[0]["SubjectId"]
    organisation_id = organisations_before[0]["OrganisationId"]

    post = limited_api.post(
        "/connectors/KnSubject",
        {"KnSubject": {"Element": {"Fields": {"StId": 1, "Ds": "Niet toegestaan"}}}},
    )
    _assert_not_authorized(post, "update")
    put = limited_api.put(
        "/connectors/KnOrganisation",
        {
            "KnOrganisation": {
                "Element": {"Fields": {"MatchOga": "0", "BcCo": organisation_id, "Nm": "Gewijzigd"}}
            }
        },
    )
    _assert_not_authorized(put, "update")
    delete = limited_api.delete(f"/connectors/KnSubject/KnSubject/@SbId/{subject_id}")
    _assert_not_authorized(delete, "update")
    _assert_not_authorized(limited_api.get("/metainfo/update/KnSubject"), "update")

    # Nothing was written.
    assert api.all_rows("Profit_Subjects", orderbyfieldids="SubjectId") == sorted(
        subjects_before, key=lambda r: r["SubjectId"]
    )
    assert api.all_rows("Profit_Organisations", orderbyfieldids="OrganisationId") == sorted(
        organisations_before, key=lambda r: r["OrganisationId"]
    )


def test_limited_token_writes_its_update_connector(
    limited_client: RawClient, client: RawClient
) -> None:
    response = limited_client.post("/connectors/KnPerson", PERSON_POST)
    assert response.status_code == 201, response.text
    number = response.json()["results"]["KnPerson"]["BcCo"]
    rows = client.get(
        "/connectors/Profit_Persons",
        {"filterfieldids": "PersonId", "filtervalues": number, "operatortypes": "1"},
    ).json()["rows"]
    assert [r["LastName"] for r in rows] == ["Autorisatietest"]


@pytest.mark.parametrize("client_name", ["client", "limited_client"])
def test_non_existent_connectors_are_not_authorized(
    request: pytest.FixtureRequest, client_name: str
) -> None:
    client: RawClient = request.getfixturevalue(client_name)
    _assert_not_authorized(client.get("/connectors/Profit_Nope"), "get")
    _assert_not_authorized(client.get("/metainfo/get/Profit_Nope"), "get")
    _assert_not_authorized(client.post("/connectors/KnNope", {"KnNope": {}}), "update")
    _assert_not_authorized(client.put("/connectors/KnNope", {"KnNope": {}}), "update")
    _assert_not_authorized(client.delete("/connectors/KnNope/KnNope/@Id/1"), "update")
    _assert_not_authorized(client.get("/metainfo/update/KnNope"), "update")


def test_metainfo_of_limited_token_lists_only_its_connectors(limited_client: RawClient) -> None:
    response = limited_client.get("/metainfo")
    assert response.status_code == 200
    body = response.json()
    assert {c["id"] for c in body["getConnectors"]} == LIMITED_GET
    assert {c["id"] for c in body["updateConnectors"]} == LIMITED_UPDATE
    assert len(body["getConnectors"]) == len(LIMITED_GET)
    assert len(body["updateConnectors"]) == len(LIMITED_UPDATE)


def test_metainfo_of_full_token_lists_more(client: RawClient, limited_client: RawClient) -> None:
    full = client.get("/metainfo").json()
    limited = limited_client.get("/metainfo").json()
    full_get = {c["id"] for c in full["getConnectors"]}
    assert full_get >= REQUIRED_GET
    assert full_get > {c["id"] for c in limited["getConnectors"]}
    assert {c["id"] for c in full["updateConnectors"]} > LIMITED_UPDATE
    assert full["info"]["appName"] != limited["info"]["appName"]


# --- path casing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/profitrestservices/metainfo",
        "/PROFITRESTSERVICES/METAINFO",
        "/ProfitRestServices/MetaInfo/Get/Profit_Persons",
        "/profitrestservices/Connectors/Profit_Persons",
        "/PROFITRESTSERVICES/CONNECTORS/PROFIT_PERSONS",
        "/ProfitRestServices/connectors/profit_employees",
    ],
)
@pytest.mark.parametrize("token_name", ["full", "limited"])
def test_token_is_accepted_regardless_of_path_casing(
    shared: RunningSandbox, path: str, token_name: str
) -> None:
    header = getattr(shared.tokens, token_name).header
    url = shared.root_url + path
    response = _call(shared, "GET", path, header, url=url)
    assert response.status_code == 200, response.text
    missing = _call(shared, "GET", path, None, url=url)
    assert missing.status_code == 401
    assert missing.content == b""


def test_connector_casing_does_not_widen_limited_rights(shared: RunningSandbox) -> None:
    header = shared.tokens.limited.header
    for path in (
        "/profitrestservices/connectors/profit_transactions",
        "/PROFITRESTSERVICES/CONNECTORS/PROFIT_TRANSACTIONS",
    ):
        response = _call(shared, "GET", path, header, url=shared.root_url + path)
        _assert_not_authorized(response, "get")
