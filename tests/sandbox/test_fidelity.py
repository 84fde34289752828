"""Sandbox contract, fidelity to AFAS: message language, sub-object URLs, memo texts, decimals.

Pins, over HTTP:
- messages in the environment's language (Dutch) unless ``Accept-Language`` asks for English,
  for every kind of message the sandbox gives (filters, paging, validation, rights, token);
- ``POST /connectors/KnOrganisation/KnContact`` with AFAS's own OpenAPI example ("update main
  record in KnOrganisation and insert subrecord into KnContact") and nested KnOrganisation ->
  KnContact -> KnPerson bodies with ``@Action`` per object (afas-rest-api.md 6.1, 6.2, [DG]);
- memo fields (string of length 0) holding several CR LF separated lines of Dutch text;
- decimals shown with the places their metainfo declares (``42`` -> ``42.00``).
"""

from __future__ import annotations

import copy
import re
import string
from decimal import Decimal
from typing import Any

import pytest
import requests

from afas_sandbox import RunningSandbox
from afas_sandbox.messages import LANGUAGES, MESSAGE_KEYS, template
from tests.support.sandbox_reading import RawClient

ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}

# --------------------------------------------------------------------------- languages

# (id, method, path, params or body, Dutch text, English text)
MESSAGE_CASES: list[tuple[str, str, str, Any, str, str]] = [
    (
        "unknown-filter-field",
        "GET",
        "/connectors/Profit_Persons",
        {"filterfieldids": "Nope", "filtervalues": "1", "operatortypes": "1"},
        "Connectorveld 'Nope' niet gevonden",
        "Connector field 'Nope' not found",
    ),
    (
        "unknown-order-field",
        "GET",
        "/connectors/Profit_Persons",
        {"orderbyfieldids": "-Nope"},
        "Connectorveld 'Nope' niet gevonden",
        "Connector field 'Nope' not found",
    ),
    (
        "take-minus-one",
        "GET",
        "/connectors/Profit_Persons",
        {"skip": 2, "take": -1},
        "Er is een onverwachte fout opgetreden.",
        "An unexpected error has occurred.",
    ),
    (
        "filter-shapes-differ",
        "GET",
        "/connectors/Profit_Persons",
        {"filterfieldids": "Gender,City", "filtervalues": "V", "operatortypes": "1,1"},
        "Er is een onverwachte fout opgetreden.",
        "An unexpected error has occurred.",
    ),
    (
        "mandatory",
        "POST",
        "/connectors/KnPerson",
        {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "FiNm": "Piet"}}}},
        "Veld 'Achternaam' (LaNm) in 'KnPerson' is verplicht.",
        "Field 'Achternaam' (LaNm) in 'KnPerson' is mandatory.",
    ),
    (
        "unknown-body-field",
        "POST",
        "/connectors/KnPerson",
        {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": "Jansen", "Nope": 1}}}},
        "Veld 'Nope' bestaat niet in 'KnPerson'.",
        "Field 'Nope' does not exist in 'KnPerson'.",
    ),
    (
        "code-table",
        "POST",
        "/connectors/KnPerson",
        {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": "Jansen", "ViGe": "Q"}}}},
        "De ingevoerde waarde voor 'Geslacht' bestaat niet.",
        "The entered value for 'Geslacht' does not exist.",
    ),
    (
        "verb-not-supported",
        "PUT",
        "/connectors/FiEntries",
        {"FiEntryPar": {"Element": {"Fields": {"Year": 2026}}}},
        "Algemene melding: Deze UpdateConnector wordt niet ondersteund voor PUT.",
        "General message: This UpdateConnector is not supported for PUT.",
    ),
    (
        "delete-path-incomplete",
        "DELETE",
        "/connectors/KnSubject/KnSubject/@SbId",
        None,
        "Er is een onverwachte fout opgetreden.",
        "An unexpected error has occurred.",
    ),
    (
        "unknown-connector",
        "GET",
        "/connectors/Profit_Nope",
        None,
        "Algemene melding: Deze GetConnector wordt niet ondersteund of de gebruiker is niet "
        "geautoriseerd.",
        "GetConnector not supported for this app or the user is not authorized",
    ),
]
CASE_IDS = [case[0] for case in MESSAGE_CASES]
# Accept-Language -> the language AFAS answers in (the environment's, Dutch, when neither).
HEADERS = [
    (None, "nl"),
    ("nl-nl", "nl"),
    ("nl-be", "nl"),
    ("en-us", "en"),
    ("en", "en"),
    ("en-US,en;q=0.9", "en"),
    ("fr-fr", "nl"),
    ("de-de, en;q=0.5", "en"),
]


def _send(
    client: RawClient, method: str, path: str, payload: Any, accept_language: str | None
) -> requests.Response:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    if method == "GET":
        return client.get(path, payload, headers=headers)
    if method == "DELETE":
        return client.delete(path, headers=headers)
    if method == "PUT":
        return client.put(path, payload, headers=headers)
    return client.post(path, payload, headers=headers)


def _external_message(response: requests.Response) -> str:
    assert response.status_code in (401, 500), response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    text: str = body["externalMessage"]
    return text


@pytest.mark.parametrize(("accept_language", "language"), HEADERS)
@pytest.mark.parametrize(
    ("name", "method", "path", "payload", "dutch", "english"), MESSAGE_CASES, ids=CASE_IDS
)
def test_messages_come_in_the_requested_language_else_dutch(
    client: RawClient,
    name: str,
    method: str,
    path: str,
    payload: Any,
    dutch: str,
    english: str,
    accept_language: str | None,
    language: str,
) -> None:
    response = _send(client, method, path, payload, accept_language)
    assert _external_message(response) == (english if language == "en" else dutch), name


@pytest.mark.parametrize("accept_language", [None, "en-us"])
def test_plain_text_token_message_in_both_languages(
    shared: RunningSandbox, accept_language: str | None
) -> None:
    headers = {"Authorization": "AfasToken " + shared.tokens.full.xml}
    if accept_language:
        headers["Accept-Language"] = accept_language
    response = requests.get(shared.base_url + "/metainfo", headers=headers, timeout=30)
    assert response.status_code == 500
    text = _external_message(response)
    assert "Base64" in text
    assert text.startswith("The token" if accept_language else "Het token")


def test_messages_from_a_failed_write_are_dutch_and_write_nothing(
    api: RawClient,
) -> None:
    before = api.all_rows("Profit_Persons")
    body = {"KnPerson": {"Element": [{"Fields": {"MatchPer": "7", "LaNm": "Goed"}}, {}]}}
    response = api.post("/connectors/KnPerson", body)
    assert response.status_code == 500
    assert "verplicht" in _external_message(response)
    assert len(api.all_rows("Profit_Persons")) == len(before)


@pytest.mark.parametrize("key", MESSAGE_KEYS)
def test_every_message_has_a_dutch_and_an_english_text_with_the_same_fields(key: str) -> None:
    texts = {language: template(key, language) for language in LANGUAGES}
    fields = {
        language: {name for _, name, _, _ in string.Formatter().parse(text) if name}
        for language, text in texts.items()
    }
    assert fields["nl"] == fields["en"], key
    assert texts["nl"].strip()
    assert texts["en"].strip()
    assert texts["nl"] != texts["en"]


# --------------------------------------------------------------------------- sub-objects

# AFAS's OpenAPI example "Add contact" for POST /connectors/KnOrganisation/KnContact,
# verbatim but for the organisation number (file "Organisaties en personen.json").
ADD_CONTACT_EXAMPLE: dict[str, Any] = {
    "KnOrganisation": {
        "Element": {
            "Fields": {"MatchOga": "0", "BcCo": "1000372"},
            "Objects": {
                "KnContact": {
                    "Element": {
                        "Fields": {
                            "PadAdr": "1",
                            "ExAd": "Afdeling Verkoop",
                            "FuDs": "Directeur",
                            "MbNr": "334341800",
                            "EmAd": "john.doe@example.com",
                        },
                        "Objects": {
                            "KnBasicAddressAdr": {
                                "Element": {
                                    "Fields": {
                                        "PbAd": "0",
                                        "Ad": "Mauritiuslaan",
                                        "HmNr": "105",
                                        "ZpCd": "3833LC",
                                        "CoId": "NL",
                                        "Rs": "Leusden",
                                        "BeginDate": "2012-01-01",
                                        "ResZip": "0",
                                    }
                                }
                            },
                            "KnPerson": {
                                "Element": {
                                    "Fields": {
                                        "PadAdr": "1",
                                        "AutoNum": "1",
                                        "MatchPer": "2",
                                        "SeNm": "ZOEKNAAM",
                                        "CaNm": "Jan",
                                        "FiNm": "Jan",
                                        "In": "J.A.",
                                        "LaNm": "Jansen",
                                        "SpNm": "0",
                                        "ViGe": "M",
                                        "TtId": "ALG",
                                    },
                                    "Objects": {
                                        "KnBasicAddressAdr": {
                                            "Element": {
                                                "Fields": {
                                                    "PbAd": "0",
                                                    "Ad": "Mauritslaan",
                                                    "HmNr": "105",
                                                    "ZpCd": "3833LC",
                                                    "CoId": "NL",
                                                    "Rs": "Leusden",
                                                    "BeginDate": "2012-01-01",
                                                    "ResZip": "0",
                                                }
                                            }
                                        }
                                    },
                                }
                            },
                        },
                    }
                }
            },
        }
    }
}


def _add_contact(organisation: str, last_name: str = "Jansen") -> dict[str, Any]:
    body = copy.deepcopy(ADD_CONTACT_EXAMPLE)
    element = body["KnOrganisation"]["Element"]
    element["Fields"]["BcCo"] = organisation
    element["Objects"]["KnContact"]["Element"]["Objects"]["KnPerson"]["Element"]["Fields"][
        "LaNm"
    ] = last_name
    return body


def _contacts_of(api: RawClient, organisation: str) -> list[dict[str, Any]]:
    rows = api.all_rows(
        "Profit_Contacts",
        filterfieldids="OrganisationId",
        filtervalues=organisation,
        operatortypes="1",
    )
    return sorted(rows, key=lambda r: r["ContactId"])


def _organisation(api: RawClient, number: str) -> dict[str, Any]:
    (row,) = api.all_rows(
        "Profit_Organisations",
        filterfieldids="OrganisationId",
        filtervalues=number,
        operatortypes="1",
    )
    return row


def _persons_named(api: RawClient, last_name: str) -> list[dict[str, Any]]:
    return api.all_rows(
        "Profit_Persons", filterfieldids="LastName", filtervalues=last_name, operatortypes="1"
    )


def _a_organisation(api: RawClient) -> str:
    rows = api.get(
        "/connectors/Profit_Organisations", {"take": 1, "orderbyfieldids": "-OrganisationId"}
    ).json()["rows"]
    return str(rows[0]["OrganisationId"])


def test_afas_add_contact_example_inserts_a_contact_into_an_existing_organisation(
    api: RawClient,
) -> None:
    number = _a_organisation(api)
    organisation_before = _organisation(api, number)
    contacts_before = _contacts_of(api, number)
    organisations_before = len(api.all_rows("Profit_Organisations"))
    assert _persons_named(api, "Contactvoorbeeld") == []

    response = api.post(
        "/connectors/KnOrganisation/KnContact", _add_contact(number, "Contactvoorbeeld")
    )

    assert response.status_code == 201, response.text
    assert response.json()["results"]["KnOrganisation"]["BcCo"] == number
    (person,) = _persons_named(api, "Contactvoorbeeld")
    assert (person["FirstName"], person["Initials"], person["Gender"]) == ("Jan", "J.A.", "M")
    contacts = _contacts_of(api, number)
    assert len(contacts) == len(contacts_before) + 1
    new = contacts[-1]
    assert new["ContactId"] > max((c["ContactId"] for c in contacts_before), default=0)
    assert new["PersonId"] == person["PersonId"]
    assert new["ContactType"] == "PRS"
    assert (new["Department"], new["JobTitle"], new["Email"], new["Mobile"]) == (
        "Afdeling Verkoop",
        "Directeur",
        "john.doe@example.com",
        "334341800",
    )
    assert new["OrganisationName"] == organisation_before["Name"]
    # "Update main record": the organisation is updated (its modified date), not duplicated.
    assert len(api.all_rows("Profit_Organisations")) == organisations_before
    organisation_after = _organisation(api, number)
    assert organisation_after["modified_date"] != organisation_before["modified_date"]
    assert organisation_after["Name"] == organisation_before["Name"]


def test_sub_object_post_to_a_missing_organisation_writes_nothing(api: RawClient) -> None:
    contacts_before = api.all_rows("Profit_Contacts")
    response = api.post("/connectors/KnOrganisation/KnContact", _add_contact("999999", "Wees"))
    assert response.status_code == 500
    assert "999999" in _external_message(response)
    assert _persons_named(api, "Wees") == []
    assert len(api.all_rows("Profit_Contacts")) == len(contacts_before)


def test_sub_object_post_needs_the_sub_object_and_a_known_one(api: RawClient) -> None:
    number = _a_organisation(api)
    without = {"KnOrganisation": {"Element": {"Fields": {"MatchOga": "0", "BcCo": number}}}}
    response = api.post("/connectors/KnOrganisation/KnContact", without)
    assert response.status_code == 500
    assert "KnContact" in _external_message(response)
    unknown = api.post("/connectors/KnOrganisation/KnNope", _add_contact(number, "Nooitgezien"))
    assert unknown.status_code == 500
    assert "KnNope" in _external_message(unknown)
    put = api.put("/connectors/KnOrganisation/KnContact", _add_contact(number, "Nooitgezien"))
    assert put.status_code == 404
    assert _persons_named(api, "Nooitgezien") == []


def test_nested_organisation_contact_person_insert_lands_in_one_transaction(
    api: RawClient,
) -> None:
    person = {"Element": {"Fields": {"MatchPer": "7", "FiNm": "Ria", "LaNm": "Geneste"}}}
    body = {
        "KnOrganisation": {
            "Element": {
                "Fields": {"MatchOga": "6", "Nm": "Genest B.V.", "ViLe": "BV"},
                "Objects": [
                    {
                        "KnContact": {
                            "Element": [
                                {
                                    "Fields": {"ViKc": "PRS", "FuDs": "Eigenaar"},
                                    "Objects": [{"KnPerson": person}],
                                },
                                {"Fields": {"ViKc": "AFD", "ExAd": "Inkoop"}},
                            ]
                        }
                    }
                ],
            }
        }
    }
    response = api.post("/connectors/KnOrganisation", body)
    assert response.status_code == 201, response.text
    number = response.json()["results"]["KnOrganisation"]["BcCo"]
    (ria,) = _persons_named(api, "Geneste")
    contacts = _contacts_of(api, number)
    assert [
        (c["ContactType"], c["PersonId"], c["JobTitle"], c["Department"]) for c in contacts
    ] == [
        ("PRS", ria["PersonId"], "Eigenaar", None),
        ("AFD", None, None, "Inkoop"),
    ]
    assert {c["OrganisationName"] for c in contacts} == {"Genest B.V."}

    # A refused nested person rolls back the organisation and its other contact too.
    refused = copy.deepcopy(body)
    refused["KnOrganisation"]["Element"]["Fields"]["Nm"] = "Geweigerd B.V."
    nested = refused["KnOrganisation"]["Element"]["Objects"][0]["KnContact"]["Element"][0]
    nested["Objects"][0]["KnPerson"]["Element"]["Fields"]["ViGe"] = "Q"
    assert api.post("/connectors/KnOrganisation", refused).status_code == 500
    names = {r["Name"] for r in api.all_rows("Profit_Organisations")}
    assert "Geweigerd B.V." not in names
    assert len(_persons_named(api, "Geneste")) == 1


def test_put_with_actions_per_object_inserts_updates_and_deletes_contacts(
    api: RawClient,
) -> None:
    number = _a_organisation(api)
    outer = {"MatchOga": "0", "BcCo": number}

    def put(contact: dict[str, Any]) -> requests.Response:
        body = {
            "KnOrganisation": {
                "Element": {"Fields": outer, "Objects": {"KnContact": {"Element": contact}}}
            }
        }
        return api.put("/connectors/KnOrganisation", body)

    before = _contacts_of(api, number)
    inserted = put({"Fields": {"@Action": "insert", "ViKc": "AFD", "ExAd": "Kantine"}})
    assert inserted.status_code == 201, inserted.text
    (new,) = [c for c in _contacts_of(api, number) if c not in before]
    assert new["Department"] == "Kantine"

    multi_line = "Eerste regel\r\nTweede regel met € en ë\r\n\r\nNa een lege regel"
    updated = put({"@CdId": new["ContactId"], "Fields": {"ExAd": "Restaurant", "Re": multi_line}})
    assert updated.status_code == 201, updated.text
    (row,) = [c for c in _contacts_of(api, number) if c["ContactId"] == new["ContactId"]]
    assert (row["Department"], row["Remark"]) == ("Restaurant", multi_line)

    log_before = len(api.all_rows("Profit_Deleted_Records"))
    deleted = put({"@CdId": new["ContactId"], "Fields": {"@Action": "delete"}})
    assert deleted.status_code == 201, deleted.text
    assert _contacts_of(api, number) == before
    log = api.all_rows("Profit_Deleted_Records", orderbyfieldids="LogId")
    assert len(log) == log_before + 1
    assert (log[-1]["Tabel"], log[-1]["Sleutel"]) == ("Contact", str(new["ContactId"]))

    missing = put({"@CdId": 999999, "Fields": {"ExAd": "Nergens"}})
    assert missing.status_code == 500
    assert "999999" in _external_message(missing)


def test_deleting_an_organisation_deletes_and_logs_its_contacts(api: RawClient) -> None:
    number = _a_organisation(api)
    assert api.post("/connectors/KnOrganisation/KnContact", _add_contact(number)).status_code == 201
    contacts = _contacts_of(api, number)
    assert contacts
    response = api.delete(f"/connectors/KnOrganisation/KnOrganisation/BcCo/{number}")
    assert response.status_code == 200, response.text
    assert _contacts_of(api, number) == []
    logged = {
        r["Sleutel"] for r in api.all_rows("Profit_Deleted_Records") if r["Tabel"] == "Contact"
    }
    assert {str(c["ContactId"]) for c in contacts} <= logged


# --------------------------------------------------------------------------- memo texts


@pytest.mark.parametrize(
    ("connector", "field"), [("Profit_Subjects", "Body"), ("Profit_Contacts", "Remark")]
)
def test_memo_fields_hold_several_lines_of_dutch_text(
    client: RawClient, connector: str, field: str
) -> None:
    (meta,) = [
        f for f in client.get(f"/metainfo/get/{connector}").json()["fields"] if f["id"] == field
    ]
    assert (meta["dataType"], meta["length"]) == ("string", 0)
    response = client.get(f"/connectors/{connector}", {"skip": -1, "take": -1})
    texts = [r[field] for r in response.json()["rows"] if r[field]]
    assert len(texts) >= 50
    assert all("\r\n" in t for t in texts), "memo lines are separated Windows-style"
    assert all(t.count("\r\n") == t.count("\n") for t in texts), "no bare LF"
    assert max(t.count("\r\n") for t in texts) >= 4
    assert any("\r\n\r\n" in t for t in texts), "blank lines between paragraphs"
    joined = " ".join(texts)
    for dutch in (" de ", " het ", " een ", " en "):
        assert dutch in joined
    assert re.search(r"[€éëïöü]", joined)
    # The raw JSON escapes line breaks; the text round-trips exactly.
    assert "\\r\\n" in response.text
    assert "\r" not in response.text


def test_subject_memo_escapes_quotes_backslashes_and_tabs(client: RawClient) -> None:
    response = client.get("/connectors/Profit_Subjects", {"skip": -1, "take": -1})
    texts = [r["Body"] for r in response.json()["rows"] if r["Body"]]
    assert any("\\" in t for t in texts)
    assert any('"' in t for t in texts)
    assert any("\t" in t for t in texts)
    assert "\t" not in response.text  # sent escaped


def test_memo_written_through_knsubject_reads_back_unchanged(api: RawClient) -> None:
    text = 'Regel één\r\n\t- "citaat" en K:\\map\\bestand.pdf\r\n\r\nLaatste regel 😀'
    body = {"KnSubject": {"Element": {"Fields": {"StId": 1, "Ds": "Memo-test", "SbTx": text}}}}
    response = api.post("/connectors/KnSubject", body)
    assert response.status_code == 201, response.text
    sb_id = response.json()["results"]["KnSubject"]["SbId"]
    (row,) = api.all_rows(
        "Profit_Subjects", filterfieldids="SubjectId", filtervalues=sb_id, operatortypes="1"
    )
    assert row["Body"] == text


# --------------------------------------------------------------------------- decimals


def _decimal_fields(client: RawClient, connector: str) -> dict[str, int]:
    fields = client.get(f"/metainfo/get/{connector}").json()["fields"]
    return {f["id"]: f["decimals"] for f in fields if f["dataType"] == "decimal"}


@pytest.mark.parametrize(
    "connector",
    ["Profit_Employees", "Profit_Debtors", "Profit_Transactions", "Profit_FreeTable_K01"],
)
def test_demo_decimals_are_shown_with_their_declared_places(
    client: RawClient, connector: str
) -> None:
    places = _decimal_fields(client, connector)
    assert places
    assert set(places.values()) == {2}
    text = client.get(f"/connectors/{connector}", {"skip": -1, "take": -1}).text
    for field, decimals in places.items():
        shown = re.findall(rf'"{field}":(null|-?[0-9.]+)', text)
        numbers = [s for s in shown if s != "null"]
        assert numbers, field
        wrong = [s for s in numbers if not re.fullmatch(rf"-?[0-9]+\.[0-9]{{{decimals}}}", s)]
        assert wrong == [], (connector, field, wrong[:5])


@pytest.mark.parametrize(
    ("connector", "field"),
    [("Profit_Employees", "HoursPerWeek"), ("Profit_Debtors", "CreditLimit")],
)
def test_whole_demo_amounts_keep_their_zero_places(
    client: RawClient, connector: str, field: str
) -> None:
    text = client.get(f"/connectors/{connector}", {"skip": -1, "take": -1}).text
    assert re.search(rf'"{field}":[0-9]+\.00[,}}]', text), "36 hours is 36.00, not 36.0"
    assert not re.search(rf'"{field}":-?[0-9]+(\.[0-9])?[,}}]', text)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [(42, "42.00"), ("42", "42.00"), (42.5, "42.50"), ("0", "0.00"), (-7.1, "-7.10")],
)
def test_a_written_decimal_is_shown_with_its_places(api: RawClient, sent: Any, shown: str) -> None:
    fields = api.get("/metainfo/update/KnCustomK01").json()["fields"]
    by_label = {f["label"]: f for f in fields}
    budget, name = by_label["Budget"], by_label["Projectnaam"]
    assert budget["decimals"] == 2
    body = {
        "KnCustomK01": {
            "Element": {"Fields": {name["fieldId"]: "Decimalen", budget["fieldId"]: sent}}
        }
    }
    response = api.post("/connectors/KnCustomK01", body)
    assert response.status_code == 201, response.text
    sq_no = response.json()["results"]["KnCustomK01"]["SqNo"]
    page = api.get(
        "/connectors/Profit_FreeTable_K01",
        {"filterfieldids": "SqNo", "filtervalues": sq_no, "operatortypes": "1"},
    )
    assert f'"Budget":{shown},' in page.text
    assert page.json(parse_float=Decimal)["rows"][0]["Budget"] == Decimal(shown)
