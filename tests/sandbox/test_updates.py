"""Contract tests of the sandbox's UpdateConnectors over real HTTP (POST / PUT / DELETE).

Layer: afas-sandbox only (plain ``requests``, never ``afas_profit``). Every write is checked
through the GetConnectors that show its data, fetched with skip=-1&take=-1 and looked up in
Python. The sandbox runs on a ``ManualClock`` so modified stamps are exactly predictable.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afas_sandbox import ManualClock, RunningSandbox
from tests.support.sandbox_reading import RawClient

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# After every generated audit stamp of the demo data (those end in 2026).
START = datetime(2027, 3, 15, 12, 0, 0, tzinfo=timezone.utc)
ERROR_KEYS = {"externalMessage", "errorNumber", "profitLogReference"}
LOG_REFERENCE = re.compile(r"[0-9A-F]{32}")
NOT_EXIST_NUMBER = -2147220469
PROJECT_NAME_FIELD = "U018A40C7A37A5B7A93502E52BF447225"


def shown(moment: datetime) -> str:
    """How AFAS shows an audit timestamp: Amsterdam local time, whole seconds, false 'Z'."""
    return moment.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def afas_sandbox(
    afas_sandbox_factory: Callable[..., RunningSandbox], clock: ManualClock
) -> RunningSandbox:
    """The demo sandbox (seed 1, 2000 transactions) on a manual clock."""
    return afas_sandbox_factory(clock=clock)


# ----------------------------------------------------------------------------- helpers


def by_key(rows: list[dict[str, Any]], *fields: str) -> dict[str, dict[str, Any]]:
    """Rows by their key values joined with ','."""
    return {",".join(str(row[f]) for f in fields): row for row in rows}


def persons(api: RawClient) -> dict[str, dict[str, Any]]:
    return by_key(api.all_rows("Profit_Persons"), "PersonId")


def assert_afas_error(response: Any, status: int = 500) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["externalMessage"], str)
    assert body["externalMessage"]
    assert isinstance(body["errorNumber"], int)
    assert LOG_REFERENCE.fullmatch(body["profitLogReference"])
    return body


def custom_field_ids(api: RawClient, connector: str) -> dict[str, str]:
    """Label -> fieldId of the custom (U + 32 hex) fields of an UpdateConnector's root."""
    response = api.get(f"/metainfo/update/{connector}")
    assert response.status_code == 200, response.text
    return {
        f["label"]: f["fieldId"]
        for f in response.json()["fields"]
        if re.fullmatch(r"U[0-9A-F]{32}", f["fieldId"])
    }


def person_body(last_name: str, **fields: Any) -> dict[str, Any]:
    return {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "LaNm": last_name, **fields}}}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def deleted_records(api: RawClient) -> list[dict[str, Any]]:
    return api.all_rows("Profit_Deleted_Records")


def new_log_entries(api: RawClient, before: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """(Tabel, Sleutel, Mutatie, Datum_mutatie) of the deleted-records rows added since."""
    return sorted(
        (r["Tabel"], r["Sleutel"], r["Mutatie"], r["Datum_mutatie"])
        for r in deleted_records(api)
        if r not in before
    )


# ----------------------------------------------------------------------------- inserts


def test_post_person_with_address_shows_sent_values_and_clock_time(
    api: RawClient, clock: ManualClock
) -> None:
    custom = custom_field_ids(api, "KnPerson")
    before = persons(api)
    write_time = START + timedelta(minutes=7, seconds=13)
    clock.set(write_time)
    body = {
        "KnPerson": {
            "Element": {
                "Fields": {
                    "MatchPer": "7",
                    "FiNm": "Fenna",
                    "CaNm": "Fen",
                    "In": "F.J.",
                    "Is": "van der",
                    "LaNm": "Testhuizen",
                    "ViGe": "V",
                    "DaBi": "1991-04-30",
                    "EmAd": "fenna@example.nl",
                    "TeNr": "030-1234567",
                    "MbNr": "06-12345678",
                    custom["Lidnummer"]: "L-424242",
                    custom["Nieuwsbrief"]: True,
                },
                "Objects": {
                    "KnBasicAddressAdr": {
                        "Element": {
                            "Fields": {
                                "CoId": "NL",
                                "Ad": "Kerkstraat",
                                "HmNr": 12,
                                "HmAd": "bis",
                                "ZpCd": "3511 AB",
                                "Rs": "Utrecht",
                            }
                        }
                    }
                },
            }
        }
    }
    response = api.post("/connectors/KnPerson", body)
    assert response.status_code == 201, response.text
    result = response.json()
    assert set(result) == {"results"}
    assert set(result["results"]) == {"KnPerson"}
    keys = result["results"]["KnPerson"]
    assert set(keys) == {"BcId", "BcCo"}
    assert all(isinstance(v, str) and v for v in keys.values())
    assert keys["BcCo"] not in before

    after = persons(api)
    assert len(after) == len(before) + 1
    row = after[keys["BcCo"]]
    expected = {
        "FirstName": "Fenna",
        "CallName": "Fen",
        "Initials": "F.J.",
        "Prefix": "van der",
        "LastName": "Testhuizen",
        "Gender": "V",
        "BirthDate": "1991-04-30T00:00:00Z",
        "Email": "fenna@example.nl",
        "Phone": "030-1234567",
        "Mobile": "06-12345678",
        "Lidnummer": "L-424242",
        "Nieuwsbrief": True,
        "Street": "Kerkstraat",
        "HouseNumber": 12,
        "HouseNumberAdd": "bis",
        "ZipCode": "3511 AB",
        "City": "Utrecht",
        "Country": "NL",
        "Pasfoto": None,
        "ModifiedDate": shown(write_time),
        "CreateDate": shown(write_time),
    }
    assert {k: row[k] for k in expected} == expected
    assert row["ModifiedDate"] == "2027-03-15T13:07:13Z"  # CET = UTC+1 in mid-March


def test_element_array_inserts_all_and_answers_a_results_array(api: RawClient) -> None:
    before = persons(api)
    names = ["Arrayeen", "Arraytwee", "Arraydrie"]
    body = {
        "KnPerson": {
            "Element": [{"Fields": {"MatchPer": "7", "LaNm": n, "ViGe": "O"}} for n in names]
        }
    }
    response = api.post("/connectors/KnPerson", body)
    assert response.status_code == 201, response.text
    results = response.json()["results"]["KnPerson"]
    assert isinstance(results, list)
    assert len(results) == 3
    assert all(set(r) == {"BcId", "BcCo"} for r in results)
    assert all(isinstance(v, str) for r in results for v in r.values())
    after = persons(api)
    assert len(after) == len(before) + 3
    assert [after[r["BcCo"]]["LastName"] for r in results] == names


def test_objects_as_map_and_as_list_of_single_key_maps_are_the_same(api: RawClient) -> None:
    address = {
        "Element": {"Fields": {"CoId": "NL", "Ad": "Lijststraat", "HmNr": 5, "Rs": "Zwolle"}}
    }
    fields = {"MatchPer": "7", "FiNm": "Obje", "LaNm": "Objectvorm", "ViGe": "M"}
    as_map = {
        "KnPerson": {"Element": {"Fields": fields, "Objects": {"KnBasicAddressAdr": address}}}
    }
    as_list = {
        "KnPerson": {"Element": {"Fields": fields, "Objects": [{"KnBasicAddressAdr": address}]}}
    }
    first = api.post("/connectors/KnPerson", as_map)
    second = api.post("/connectors/KnPerson", as_list)
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    rows = persons(api)
    one = dict(rows[first.json()["results"]["KnPerson"]["BcCo"]])
    two = dict(rows[second.json()["results"]["KnPerson"]["BcCo"]])
    assert one["Street"] == "Lijststraat"
    assert one["HouseNumber"] == 5
    assert one["City"] == "Zwolle"
    for row in (one, two):
        del row["PersonId"]
    assert one == two


def test_knsubject_with_link_and_attachment_round_trips_via_subjectconnector(
    api: RawClient,
) -> None:
    person_no = next(iter(persons(api)))
    data = "Dit is de bijlage.\nRegel twee: é ü €\n".encode()
    body = {
        "KnSubject": {
            "Element": {
                "Fields": {"StId": 1, "Ds": "Notitie met bijlage", "Da": "2027-03-15"},
                "Objects": [
                    {"KnSubjectLink": {"Element": {"Fields": {"SfTp": 2, "SfId": person_no}}}},
                    {
                        "KnSubjectAttachment": {
                            "Element": {
                                "Fields": {"FileName": "notitie.txt", "FileStream": b64(data)}
                            }
                        }
                    },
                ],
            }
        }
    }
    response = api.post("/connectors/KnSubject", body)
    assert response.status_code == 201, response.text
    keys = response.json()["results"]["KnSubject"]
    assert set(keys) == {"SbId"}
    sb_id = keys["SbId"]
    assert isinstance(sb_id, str)

    subject = by_key(api.all_rows("Profit_Subjects"), "SubjectId")[sb_id]
    assert subject["Subject"] == "Notitie met bijlage"
    assert subject["SubjectType"] == 1
    assert subject["LinkedType"] == 2
    assert subject["LinkedId"] == person_no
    attachments = [
        a for a in api.all_rows("Profit_Subject_Attachments") if str(a["subject_id"]) == sb_id
    ]
    assert len(attachments) == 1
    assert attachments[0]["file_name"] == "notitie.txt"
    file_id = attachments[0]["file_id"]

    expected = {"filename": "notitie.txt", "mimetype": "text/plain", "filedata": b64(data)}
    by_path = api.get(f"/SubjectConnector/{sb_id}/{file_id}")
    assert by_path.status_code == 200, by_path.text
    assert by_path.json() == expected
    by_query = api.get("/SubjectConnector", {"SubjectId": sb_id, "FileId": file_id})
    assert by_query.status_code == 200, by_query.text
    assert by_query.json() == expected
    assert base64.b64decode(by_path.json()["filedata"]) == data


def test_subjectconnector_missing_file_is_404(api: RawClient) -> None:
    attachment = api.all_rows("Profit_Subject_Attachments")[0]
    sb_id, file_id = attachment["subject_id"], attachment["file_id"]
    assert api.get(f"/SubjectConnector/{sb_id}/{file_id}").status_code == 200
    assert api.get(f"/SubjectConnector/{sb_id}/{'0' * 32}").status_code == 404
    assert api.get(f"/SubjectConnector/999999/{file_id}").status_code == 404
    missing = api.get("/SubjectConnector", {"SubjectId": sb_id, "FileId": "F" * 32})
    assert missing.status_code == 404


def test_kncustomk01_with_custom_fields_shows_in_free_table(
    api: RawClient, clock: ManualClock
) -> None:
    custom = custom_field_ids(api, "KnCustomK01")
    assert custom["Projectnaam"] == PROJECT_NAME_FIELD
    before = by_key(api.all_rows("Profit_FreeTable_K01"), "SqNo")
    clock.advance(90)
    body = {
        "KnCustomK01": {
            "Element": {
                "Fields": {
                    PROJECT_NAME_FIELD: "Migratie naar de sandbox",
                    custom["Budget"]: 12500.5,
                    custom["Startdatum"]: "2027-05-01",
                    custom["Actief"]: True,
                    custom["Status"]: "A",
                }
            }
        }
    }
    response = api.post("/connectors/KnCustomK01", body)
    assert response.status_code == 201, response.text
    sq_no = response.json()["results"]["KnCustomK01"]["SqNo"]
    assert isinstance(sq_no, str)
    assert sq_no not in before
    after = by_key(api.all_rows("Profit_FreeTable_K01"), "SqNo")
    assert len(after) == len(before) + 1
    assert after[sq_no] == {
        "SqNo": int(sq_no),
        "Projectnaam": "Migratie naar de sandbox",
        "Budget": 12500.5,
        "Startdatum": "2027-05-01T00:00:00Z",
        "Actief": True,
        "Status": "A",
        "Datum_gewijzigd": shown(START + timedelta(seconds=90)),
    }


# ----------------------------------------------------------------------------- updates


def test_put_writes_only_sent_fields_and_empty_string_clears(
    api: RawClient, clock: ManualClock
) -> None:
    before = persons(api)
    number, old = next(
        (k, r)
        for k, r in before.items()
        if r["Email"] and r["Phone"] and r["City"] and r["FirstName"]
    )
    clock.advance(3600)
    body = {
        "KnPerson": {
            "Element": {
                "Fields": {"MatchPer": "0", "BcCo": number, "EmAd": "nieuw@example.nl", "TeNr": ""}
            }
        }
    }
    response = api.put("/connectors/KnPerson", body)
    assert response.status_code == 201, response.text
    assert response.json()["results"]["KnPerson"]["BcCo"] == number
    after = persons(api)
    assert len(after) == len(before)
    new = after[number]
    assert new["Email"] == "nieuw@example.nl"
    assert new["Phone"] is None
    assert new["ModifiedDate"] == shown(START + timedelta(hours=1))
    untouched = set(old) - {"Email", "Phone", "ModifiedDate"}
    assert {k: new[k] for k in untouched} == {k: old[k] for k in untouched}
    others_before = {k: r for k, r in before.items() if k != number}
    others_after = {k: r for k, r in after.items() if k != number}
    assert others_after == others_before


def test_post_matchper_0_on_existing_number_updates(api: RawClient) -> None:
    before = persons(api)
    number = sorted(before)[10]
    body = {
        "KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": number, "LaNm": "Gematcht"}}}
    }
    response = api.post("/connectors/KnPerson", body)
    assert response.status_code == 201, response.text
    assert response.json()["results"]["KnPerson"]["BcCo"] == number
    after = persons(api)
    assert len(after) == len(before)
    assert after[number]["LastName"] == "Gematcht"
    assert after[number]["FirstName"] == before[number]["FirstName"]


def test_post_matchper_7_always_inserts(api: RawClient) -> None:
    before = persons(api)
    twin = next(r for r in before.values() if r["Gender"] and r["Initials"])
    fields = {"In": twin["Initials"], "ViGe": twin["Gender"]}
    if twin["Prefix"]:
        fields["Is"] = twin["Prefix"]
    response = api.post("/connectors/KnPerson", person_body(twin["LastName"], **fields))
    assert response.status_code == 201, response.text
    number = response.json()["results"]["KnPerson"]["BcCo"]
    after = persons(api)
    assert len(after) == len(before) + 1
    assert number not in before
    assert after[twin["PersonId"]] == twin


def test_matchoga_0_updates_existing_and_matchoga_6_inserts(api: RawClient) -> None:
    def organisations() -> dict[str, dict[str, Any]]:
        return by_key(api.all_rows("Profit_Organisations"), "OrganisationId")

    before = organisations()
    number, existing = sorted(before.items())[3]
    update = {
        "KnOrganisation": {
            "Element": {"Fields": {"MatchOga": "0", "BcCo": number, "Nm": "Hernoemd B.V."}}
        }
    }
    response = api.post("/connectors/KnOrganisation", update)
    assert response.status_code == 201, response.text
    middle = organisations()
    assert len(middle) == len(before)
    assert middle[number]["Name"] == "Hernoemd B.V."

    insert = {"KnOrganisation": {"Element": {"Fields": {"MatchOga": "6", "Nm": existing["Name"]}}}}
    response = api.post("/connectors/KnOrganisation", insert)
    assert response.status_code == 201, response.text
    new_number = response.json()["results"]["KnOrganisation"]["BcCo"]
    after = organisations()
    assert len(after) == len(before) + 1
    assert new_number not in before
    assert after[new_number]["Name"] == existing["Name"]


def test_action_inside_fields_turns_a_post_into_an_update(api: RawClient) -> None:
    subjects = by_key(api.all_rows("Profit_Subjects"), "SubjectId")
    sb_id = sorted(subjects, key=int)[5]
    body = {
        "KnSubject": {
            "Element": {"@SbId": int(sb_id), "Fields": {"@Action": "update", "Ds": "Bijgewerkt"}}
        }
    }
    response = api.post("/connectors/KnSubject", body)
    assert response.status_code == 201, response.text
    after = by_key(api.all_rows("Profit_Subjects"), "SubjectId")
    assert len(after) == len(subjects)
    assert after[sb_id]["Subject"] == "Bijgewerkt"
    assert after[sb_id]["SubjectType"] == subjects[sb_id]["SubjectType"]


def test_put_subject_with_nested_attachment_action_insert(api: RawClient) -> None:
    subjects = by_key(api.all_rows("Profit_Subjects"), "SubjectId")
    sb_id = sorted(subjects, key=int)[7]
    attachments_before = api.all_rows("Profit_Subject_Attachments")
    body = {
        "KnSubject": {
            "Element": {
                "@SbId": sb_id,
                "Fields": {"Ds": "Met nieuwe bijlage"},
                "Objects": [
                    {
                        "KnSubjectAttachment": {
                            "Element": {
                                "Fields": {
                                    "@Action": "insert",
                                    "FileName": "bijlage.pdf",
                                    "FileStream": b64(b"%PDF-1.4 sandbox"),
                                }
                            }
                        }
                    }
                ],
            }
        }
    }
    response = api.put("/connectors/KnSubject", body)
    assert response.status_code == 201, response.text
    assert response.json()["results"]["KnSubject"]["SbId"] == sb_id
    after = by_key(api.all_rows("Profit_Subjects"), "SubjectId")
    assert len(after) == len(subjects)
    assert after[sb_id]["Subject"] == "Met nieuwe bijlage"
    attachments_after = api.all_rows("Profit_Subject_Attachments")
    new = [a for a in attachments_after if a not in attachments_before]
    assert len(new) == 1
    assert str(new[0]["subject_id"]) == sb_id
    assert new[0]["file_name"] == "bijlage.pdf"
    fetched = api.get(f"/SubjectConnector/{sb_id}/{new[0]['file_id']}")
    assert fetched.status_code == 200
    assert fetched.json()["filedata"] == b64(b"%PDF-1.4 sandbox")


# ----------------------------------------------------------------------------- KnEmployee


def employee_body(last_name: str, salary: Any = 4321.5) -> dict[str, Any]:
    return {
        "AfasEmployee": {
            "Element": {
                "Objects": [
                    {
                        "KnPerson": {
                            "Element": {
                                "Fields": {
                                    "MatchPer": "7",
                                    "FiNm": "Jan",
                                    "Is": "van",
                                    "LaNm": last_name,
                                    "ViGe": "M",
                                    "EmAd": "jan@example.nl",
                                }
                            }
                        }
                    },
                    {
                        "AfasContract": {
                            "Element": {
                                "@DaBe": "2027-04-01",
                                "Fields": {"HrWk": 32, "FuId": "DEV", "DpId": "OE-DEV"},
                            }
                        }
                    },
                    {
                        "AfasSalary": {
                            "Element": {"@DaBe": "2027-04-01", "Fields": {"EmSa": salary}}
                        }
                    },
                ]
            }
        }
    }


def test_knemployee_post_with_person_contract_and_salary(
    api: RawClient, clock: ManualClock
) -> None:
    before = by_key(api.all_rows("Profit_Employees"), "EmployeeId")
    persons_before = persons(api)
    clock.advance(42)
    response = api.post("/connectors/KnEmployee", employee_body("Dijkstra-Test"))
    assert response.status_code == 201, response.text
    results = response.json()["results"]
    assert set(results) == {"AfasEmployee"}
    assert set(results["AfasEmployee"]) == {"EmId"}
    em_id = results["AfasEmployee"]["EmId"]
    assert isinstance(em_id, str)
    after = by_key(api.all_rows("Profit_Employees"), "EmployeeId")
    assert len(after) == len(before) + 1
    row = after[em_id]
    expected = {
        "FirstName": "Jan",
        "Prefix": "van",
        "LastName": "Dijkstra-Test",
        "Gender": "M",
        "Email": "jan@example.nl",
        "EmploymentStart": "2027-04-01T00:00:00Z",
        "FunctionCode": "DEV",
        "DepartmentCode": "OE-DEV",
        "HoursPerWeek": 32.0,
        "Salary": 4321.5,
        "Gewijzigd_op": shown(START + timedelta(seconds=42)),
    }
    assert {k: row[k] for k in expected} == expected
    persons_after = persons(api)
    assert len(persons_after) == len(persons_before) + 1
    assert persons_after[row["PersonId"]]["LastName"] == "Dijkstra-Test"


def test_knemployee_body_with_knemployee_root_key_is_rejected(api: RawClient) -> None:
    before = by_key(api.all_rows("Profit_Employees"), "EmployeeId")
    persons_before = persons(api)
    body = {"KnEmployee": employee_body("Verkeerdewortel")["AfasEmployee"]}
    assert_afas_error(api.post("/connectors/KnEmployee", body))
    assert by_key(api.all_rows("Profit_Employees"), "EmployeeId") == before
    assert persons(api) == persons_before


# ----------------------------------------------------------------------------- FiEntries


def entry_body(lines: list[tuple[str, float | str | None, float | str | None]]) -> dict[str, Any]:
    return {
        "FiEntryPar": {
            "Element": {
                "Fields": {"Year": 2027, "Peri": 3, "UnId": 1, "JoCo": "70"},
                "Objects": [
                    {
                        "FiEntries": {
                            "Element": [
                                {
                                    "Fields": {
                                        "VaAs": "1",
                                        "AcNr": account,
                                        "EnDa": "2027-03-15",
                                        "Ds": f"Memoriaal {account}",
                                        **({"AmDe": debit} if debit is not None else {}),
                                        **({"AmCr": credit} if credit is not None else {}),
                                    }
                                }
                                for account, debit, credit in lines
                            ]
                        }
                    }
                ],
            }
        }
    }


def transactions(api: RawClient) -> dict[str, dict[str, Any]]:
    return by_key(api.all_rows("Profit_Transactions"), "UnitId", "EntryNo", "SeqNo")


def test_fientries_balanced_entry_is_booked(api: RawClient, clock: ManualClock) -> None:
    before = transactions(api)
    clock.advance(5)
    body = entry_body([("4000", 100.25, None), ("4010", "19.75", None), ("1100", None, 120.0)])
    response = api.post("/connectors/FiEntries", body)
    assert response.status_code == 201, response.text
    keys = response.json()["results"]["FiEntryPar"]
    assert set(keys) == {"UnId", "EnNo"}
    assert keys["UnId"] == "1"
    assert isinstance(keys["EnNo"], str)
    after = transactions(api)
    new = {k: r for k, r in after.items() if k not in before}
    assert len(after) == len(before) + 3
    assert all(r["UnitId"] == 1 and r["EntryNo"] == int(keys["EnNo"]) for r in new.values())
    lines = sorted(new.values(), key=lambda r: r["AccountNo"])
    assert [(r["AccountNo"], r["AmountDebit"], r["AmountCredit"]) for r in lines] == [
        ("1100", None, 120.0),
        ("4000", 100.25, None),
        ("4010", 19.75, None),
    ]
    assert all(r["JournalId"] == "70" and r["Year"] == 2027 and r["Period"] == 3 for r in lines)
    assert all(r["EntryDate"] == "2027-03-15T00:00:00Z" for r in lines)
    assert all(r["Mutatiedatum"] == shown(START + timedelta(seconds=5)) for r in lines)


def test_fientries_unbalanced_entry_is_refused_and_nothing_written(api: RawClient) -> None:
    before = transactions(api)
    body = entry_body([("4000", 100.0, None), ("1100", None, 99.99)])
    assert_afas_error(api.post("/connectors/FiEntries", body))
    assert transactions(api) == before


def test_put_on_fientries_is_not_allowed(api: RawClient) -> None:
    before = transactions(api)
    body = entry_body([("4000", 10.0, None), ("1100", None, 10.0)])
    assert_afas_error(api.put("/connectors/FiEntries", body))
    assert transactions(api) == before


# ----------------------------------------------------------------------------- deletes


@pytest.mark.parametrize("key_segment", ["@SbId", "SbId"])
def test_delete_subject_is_hard_and_logged(api: RawClient, key_segment: str) -> None:
    before = by_key(api.all_rows("Profit_Subjects"), "SubjectId")
    log_before = deleted_records(api)
    sb_id = sorted(before, key=int)[3]
    response = api.delete(f"/connectors/KnSubject/KnSubject/{key_segment}/{sb_id}")
    assert response.status_code == 200, response.text
    assert response.content == b""
    after = by_key(api.all_rows("Profit_Subjects"), "SubjectId")
    assert set(before) - set(after) == {sb_id}
    assert set(after) <= set(before)
    assert new_log_entries(api, log_before) == [("Dossieritem", sb_id, "Verwijderd", shown(START))]


@pytest.mark.parametrize("key_segment", ["@SqNo", "SqNo"])
def test_delete_custom_k01_is_hard_and_logged(api: RawClient, key_segment: str) -> None:
    before = by_key(api.all_rows("Profit_FreeTable_K01"), "SqNo")
    log_before = deleted_records(api)
    sq_no = sorted(before, key=int)[2]
    response = api.delete(f"/connectors/KnCustomK01/KnCustomK01/{key_segment}/{sq_no}")
    assert response.status_code == 200, response.text
    assert response.content == b""
    after = by_key(api.all_rows("Profit_FreeTable_K01"), "SqNo")
    assert set(before) - set(after) == {sq_no}
    assert len(after) == len(before) - 1
    assert new_log_entries(api, log_before) == [
        ("Vrije tabel K01", sq_no, "Verwijderd", shown(START))
    ]


def test_delete_fientry_removes_every_line_of_the_entry(api: RawClient, clock: ManualClock) -> None:
    before = transactions(api)
    log_before = deleted_records(api)
    clock.advance(61)
    per_entry: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in before.values():
        per_entry.setdefault((row["UnitId"], row["EntryNo"]), []).append(row)
    (unit, entry), lines = next((k, v) for k, v in sorted(per_entry.items()) if len(v) >= 3)
    journal = lines[0]["JournalId"]
    response = api.delete(
        f"/connectors/FiEntries/FiEntryPar/UnId,JoCo/{unit},{journal}/FiEntries/@EnNo/{entry}"
    )
    assert response.status_code == 200, response.text
    assert response.content == b""
    after = transactions(api)
    gone = {f"{unit},{entry},{r['SeqNo']}" for r in lines}
    assert set(before) - set(after) == gone
    assert set(after) <= set(before)
    stamp = shown(START + timedelta(seconds=61))
    assert new_log_entries(api, log_before) == sorted(
        ("Financiele mutatie", key, "Verwijderd", stamp) for key in gone
    )


# ----------------------------------------------------------------------------- one transaction


def test_element_array_with_one_invalid_element_writes_nothing(api: RawClient) -> None:
    before = persons(api)
    body = {
        "KnPerson": {
            "Element": [
                {"Fields": {"MatchPer": "7", "LaNm": "Goedeen"}},
                {"Fields": {"MatchPer": "7", "LaNm": "Foutief", "ViGe": "Q"}},
                {"Fields": {"MatchPer": "7", "LaNm": "Goedtwee"}},
            ]
        }
    }
    assert_afas_error(api.post("/connectors/KnPerson", body))
    assert persons(api) == before


def test_entry_array_with_one_unbalanced_entry_writes_nothing(api: RawClient) -> None:
    before = transactions(api)
    good = entry_body([("4000", 50.0, None), ("1100", None, 50.0)])["FiEntryPar"]["Element"]
    bad = entry_body([("4000", 50.0, None), ("1100", None, 49.0)])["FiEntryPar"]["Element"]
    body = {"FiEntryPar": {"Element": [good, good, bad]}}
    assert_afas_error(api.post("/connectors/FiEntries", body))
    assert transactions(api) == before


# ----------------------------------------------------------------------------- validation


def test_code_table_value_that_does_not_exist(api: RawClient) -> None:
    before = persons(api)
    response = api.post(
        "/connectors/KnPerson",
        person_body("Codefout", ViGe="Q"),
        headers={"Accept-Language": "en-us"},
    )
    body = assert_afas_error(response)
    assert body["externalMessage"] == "The entered value for 'Geslacht' does not exist."
    assert body["errorNumber"] == NOT_EXIST_NUMBER
    assert persons(api) == before


def test_code_table_message_in_dutch_with_accept_language_nl(api: RawClient) -> None:
    response = api.post(
        "/connectors/KnPerson",
        person_body("Codefout", ViGe="Q"),
        headers={"Accept-Language": "nl-nl"},
    )
    body = assert_afas_error(response)
    assert body["errorNumber"] == NOT_EXIST_NUMBER
    assert body["externalMessage"] != "The entered value for 'Geslacht' does not exist."
    assert "Geslacht" in body["externalMessage"]
    assert "bestaat niet" in body["externalMessage"]


def test_mandatory_message_in_dutch_with_accept_language_nl(api: RawClient) -> None:
    english = assert_afas_error(
        api.post(
            "/connectors/KnPerson",
            person_body("", FiNm="Piet"),
            headers={"Accept-Language": "en-us"},
        )
    )
    dutch = assert_afas_error(
        api.post(
            "/connectors/KnPerson",
            person_body("", FiNm="Piet"),
            headers={"Accept-Language": "nl-nl"},
        )
    )
    assert dutch["externalMessage"] != english["externalMessage"]
    assert "verplicht" in dutch["externalMessage"]
    assert "mandatory" in english["externalMessage"].lower()


def no_last_name() -> dict[str, Any]:
    return {"KnPerson": {"Element": {"Fields": {"MatchPer": "7", "FiNm": "Zonderachternaam"}}}}


def bad_house_number() -> dict[str, Any]:
    address = {"Element": {"Fields": {"CoId": "NL", "Ad": "Straat", "HmNr": "abc", "Rs": "Ede"}}}
    body = person_body("Typefout")
    body["KnPerson"]["Element"]["Objects"] = {"KnBasicAddressAdr": address}
    return body


@pytest.mark.parametrize(
    ("connector", "body", "mentions"),
    [
        pytest.param("KnPerson", no_last_name(), ("LaNm", "Achternaam"), id="mandatory"),
        pytest.param("KnPerson", bad_house_number(), ("HmNr", "Huisnummer"), id="type"),
        pytest.param("KnPerson", person_body("x" * 81), ("LaNm", "Achternaam"), id="too-long"),
        pytest.param("KnEmployee", employee_body("Nulsalaris", 0), ("EmSa", "Salaris"), id="zero"),
        pytest.param("KnPerson", person_body("Onbekend", XyZz="1"), ("XyZz",), id="unknown-field"),
        pytest.param(
            "KnPerson",
            {
                "KnPerson": {
                    "Element": {
                        "Fields": {"MatchPer": "7", "LaNm": "Onbekendobject"},
                        "Objects": [{"KnFantasyObject": {"Element": {"Fields": {}}}}],
                    }
                }
            },
            ("KnFantasyObject",),
            id="unknown-object",
        ),
    ],
)
def test_validation_error_names_the_problem_and_writes_nothing(
    api: RawClient, connector: str, body: dict[str, Any], mentions: tuple[str, ...]
) -> None:
    before_persons = persons(api)
    before_employees = api.all_rows("Profit_Employees")
    error = assert_afas_error(api.post(f"/connectors/{connector}", body))
    assert any(m in error["externalMessage"] for m in mentions), error["externalMessage"]
    assert persons(api) == before_persons
    assert len(api.all_rows("Profit_Employees")) == len(before_employees)


def test_last_name_of_exactly_80_characters_is_accepted(api: RawClient) -> None:
    response = api.post("/connectors/KnPerson", person_body("y" * 80))
    assert response.status_code == 201, response.text
    number = response.json()["results"]["KnPerson"]["BcCo"]
    assert persons(api)[number]["LastName"] == "y" * 80


def test_invalid_json_is_400(api: RawClient) -> None:
    before = persons(api)
    response = api.session.post(
        api.sandbox.base_url + "/connectors/KnPerson",
        data=b'{"KnPerson": {"Element": ',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert persons(api) == before


# ----------------------------------------------------------------------------- incremental


def put_person(api: RawClient, sandbox: RunningSandbox) -> str:
    number = sorted(persons(api))[20]
    body = {"KnPerson": {"Element": {"Fields": {"MatchPer": "0", "BcCo": number, "MbNr": "06"}}}}
    assert api.put("/connectors/KnPerson", body).status_code == 201
    return number


def put_organisation(api: RawClient, sandbox: RunningSandbox) -> str:
    number = sorted(by_key(api.all_rows("Profit_Organisations"), "OrganisationId"))[20]
    body = {"KnOrganisation": {"Element": {"Fields": {"BcCo": number, "TeNr": "010-1"}}}}
    assert api.put("/connectors/KnOrganisation", body).status_code == 201
    return number


def put_employee(api: RawClient, sandbox: RunningSandbox) -> str:
    em_id = sorted(by_key(api.all_rows("Profit_Employees"), "EmployeeId"))[20]
    body = {"AfasEmployee": {"Element": {"@EmId": em_id, "Fields": {"Bl": True}}}}
    assert api.put("/connectors/KnEmployee", body).status_code == 201
    return em_id


def put_subject(api: RawClient, sandbox: RunningSandbox) -> str:
    sb_id = sorted(by_key(api.all_rows("Profit_Subjects"), "SubjectId"), key=int)[20]
    body = {"KnSubject": {"Element": {"@SbId": sb_id, "Fields": {"Ds": "Later"}}}}
    assert api.put("/connectors/KnSubject", body).status_code == 201
    return sb_id


def put_custom(api: RawClient, sandbox: RunningSandbox) -> str:
    sq_no = sorted(by_key(api.all_rows("Profit_FreeTable_K01"), "SqNo"), key=int)[20]
    body = {"KnCustomK01": {"Element": {"@SqNo": sq_no, "Fields": {PROJECT_NAME_FIELD: "Nieuw"}}}}
    assert api.put("/connectors/KnCustomK01", body).status_code == 201
    return sq_no


def post_entry(api: RawClient, sandbox: RunningSandbox) -> str:
    response = api.post(
        "/connectors/FiEntries", entry_body([("4000", 1.0, None), ("1100", None, 1.0)])
    )
    assert response.status_code == 201
    return response.json()["results"]["FiEntryPar"]["EnNo"]


@pytest.mark.parametrize(
    ("connector", "key", "modified", "write"),
    [
        ("Profit_Persons", "PersonId", "ModifiedDate", put_person),
        ("Profit_Organisations", "OrganisationId", "modified_date", put_organisation),
        ("Profit_Employees", "EmployeeId", "Gewijzigd_op", put_employee),
        ("Profit_Subjects", "SubjectId", "Gewijzigd", put_subject),
        ("Profit_FreeTable_K01", "SqNo", "Datum_gewijzigd", put_custom),
        ("Profit_Transactions", "EntryNo", "Mutatiedatum", post_entry),
    ],
)
def test_write_shows_in_incremental_filter_on_modified_field(
    api: RawClient,
    afas_sandbox: RunningSandbox,
    clock: ManualClock,
    connector: str,
    key: str,
    modified: str,
    write: Callable[[RawClient, RunningSandbox], str],
) -> None:
    since = START + timedelta(days=1)
    write_time = since + timedelta(minutes=10)
    clock.set(write_time)
    written = write(api, afas_sandbox)
    since_text = since.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%S")
    response = api.get(
        f"/connectors/{connector}",
        {
            "filterfieldids": modified,
            "filtervalues": since_text,
            "operatortypes": "2",
            "skip": -1,
            "take": -1,
        },
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert {str(r[key]) for r in rows} == {written}
    assert {r[modified] for r in rows} == {shown(write_time)}
    # The same, computed in Python from every row.
    everything = api.all_rows(connector)
    assert {str(r[key]) for r in everything if r[modified] and r[modified] >= shown(since)} == {
        written
    }  # (an empty modified date matches no >= filter)
