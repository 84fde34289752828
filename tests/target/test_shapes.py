"""Target layer: every mapping shape writes exactly the data the records ask for.

Each test sends Singer records through ``TargetAFAS`` (in-process) to the sandbox over HTTP
and reads the result back through the GetConnectors with ``skip=-1&take=-1``: flat objects
with a nested object from the same record, nested objects from an object property and from an
array property, attachments, custom-field free tables, identity mappings, constants and
defaults, and UTC date-times written in the environment's local time.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path
from typing import Any

from afas_sandbox import RunningSandbox
from tests.support.recorders import RequestRecorder
from tests.support.sandbox_reading import SandboxReader, date_of
from tests.support.singer_messages import stream_messages
from tests.support.target_mappings import (
    ADDRESS_FIELDS,
    U_ACTIVE,
    U_BUDGET,
    U_PROJECT_NAME,
    U_START_DATE,
    U_STATUS,
    journal_mapping,
    people_mapping,
)
from tests.support.target_outputs import ledger_rows
from tests.support.target_runs import run_target, target_config

PERSON_COMPUTED = ("SearchName", "CreateDate", "ModifiedDate")  # AFAS fills these itself
NEW_PERSON_FIELDS = (
    "PersonId", "CallName", "FirstName", "Initials", "Prefix", "LastName", "Gender", "BirthDate",
    "Email", "Phone", "Mobile", "Street", "HouseNumber", "HouseNumberAdd", "ZipCode", "City",
    "Country", "Lidnummer", "Nieuwsbrief", "Pasfoto",
)  # fmt: skip


def _person_row(
    reader: SandboxReader, person_id: str, *, keep: tuple[str, ...] = ()
) -> dict[str, Any]:
    row = reader.one("Profit_Persons", "PersonId", person_id)
    return {k: v for k, v in row.items() if k not in PERSON_COMPUTED or k in keep}


def _new_person_row(**values: Any) -> dict[str, Any]:
    """A Profit_Persons row of a new person: every field empty except ``values``."""
    row: dict[str, Any] = dict.fromkeys(NEW_PERSON_FIELDS)
    row.update(values)
    return row


def test_flat_person_with_address_from_the_same_record(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mapping = people_mapping(
        constants={"MatchPer": "0"},
        objects={"KnBasicAddressAdr": {"fields": dict(ADDRESS_FIELDS)}},
    )
    records = [
        {
            "PersonId": "900001",
            "FirstName": "Sanne",
            "Prefix": "de",
            "LastName": "Vries",
            "Gender": "V",
            "BirthDate": "1990-04-12",
            "Email": "sanne.devries@example.nl",
            "Street": "Keizersgracht",
            "HouseNumber": 12,
            "ZipCode": "1015 CJ",
            "City": "Amsterdam",
            "Country": "NL",
        },
        {
            "PersonId": "900002",
            "FirstName": "Daan",
            "Prefix": None,
            "LastName": "Bakker",
            "Gender": "M",
            "BirthDate": "1985-11-02",
            "Email": "daan.bakker@example.nl",
            "Street": "Oudegracht",
            "HouseNumber": 201,
            "ZipCode": "3511 NK",
            "City": "Utrecht",
            "Country": "NL",
        },
    ]
    before = len(reader.all_rows("Profit_Persons"))
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 2}
    assert len(reader.all_rows("Profit_Persons")) == before + 2
    for record in records:
        expected = _new_person_row(**{k: v for k, v in record.items() if k != "BirthDate"})
        expected["BirthDate"] = f"{record['BirthDate']}T00:00:00Z"
        assert _person_row(reader, str(record["PersonId"])) == expected


def test_organisation_with_constants_and_address(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mapping = {
        "connector": "KnOrganisation",
        "keys": ["BcCo"],
        "fields": {
            "BcCo": "OrganisationId",
            "Nm": "Name",
            "CcNr": "CocNumber",
            "FiNr": "FiscalNumber",
            "ViLe": "LegalForm",
            "EmAd": "Email",
            "TeNr": "Phone",
            "HoPa": "Website",
        },
        "constants": {"MatchOga": "0"},
        "objects": {
            "KnBasicAddressAdr": {
                "fields": {"Ad": "Street", "HmNr": "HouseNumber", "ZpCd": "ZipCode", "Rs": "City"},
                "constants": {"CoId": "B"},
            }
        },
    }
    record = {
        "OrganisationId": "290001",
        "Name": "Bakkerij De Korenschoof B.V.",
        "CocNumber": "12345678",
        "FiscalNumber": "NL001234567B01",
        "LegalForm": "BV",
        "Email": "info@korenschoof.example",
        "Phone": "+32 3 123 45 67",
        "Website": "https://korenschoof.example",
        "Street": "Meir",
        "HouseNumber": 50,
        "ZipCode": "2000",
        "City": "Antwerpen",
    }
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"organisations": mapping}),
        stream_messages("organisations", [record], ["OrganisationId"]),
    )
    assert run.summary("organisations") == {"inserted": 1}
    row = reader.one("Profit_Organisations", "OrganisationId", "290001")
    row.pop("created_date")
    row.pop("modified_date")
    assert row == {**record, "HouseNumberAdd": None, "Country": "B"}


def test_subject_with_link_and_attachment(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    person_id = sorted(reader.by_key("Profit_Persons", "PersonId"))[0]
    content = "Afspraak bevestigd.\nGroet, Sanne — ✓".encode()
    mapping = {
        "connector": "KnSubject",
        "fields": {"StId": "type", "Ds": "subject", "SbTx": "body", "Da": "date"},
        "objects": {
            "KnSubjectLink": {
                "fields": {"SfTp": "link_type", "SfId": "link_id"},
                "constants": {"DoCRM": True},
            },
            "KnSubjectAttachment": {
                "from": "attachment",
                "fields": {"FileName": "name", "FileStream": "data"},
            },
        },
    }
    record = {
        "type": 4,
        "subject": "E-mail: afspraak target-test 7731",
        "body": "Zie bijlage.",
        "date": "2026-03-02",
        "link_type": 2,
        "link_id": person_id,
        "attachment": {"name": "bevestiging.txt", "data": base64.b64encode(content).decode()},
    }
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"subjects": mapping}),
        stream_messages("subjects", [record]),
    )
    assert run.summary("subjects") == {"inserted": 1}

    subject = reader.one("Profit_Subjects", "Subject", record["subject"])
    sb_id = subject["SubjectId"]
    assert {k: subject[k] for k in ("SubjectType", "Body", "LinkedToCrm", "LinkedType")} == {
        "SubjectType": 4,
        "Body": "Zie bijlage.",
        "LinkedToCrm": True,
        "LinkedType": 2,
    }
    assert subject["LinkedId"] == person_id
    assert date_of(subject["SubjectDate"]) == "2026-03-02"

    attachments = [
        a for a in reader.all_rows("Profit_Subject_Attachments") if a["subject_id"] == sb_id
    ]
    assert [a["file_name"] for a in attachments] == ["bevestiging.txt"]
    document = reader.get_json(f"/SubjectConnector/{sb_id}/{attachments[0]['file_id']}")
    assert document["filename"] == "bevestiging.txt"
    assert base64.b64decode(document["filedata"]) == content

    # The key AFAS gave the new subject is kept in the ledger.
    assert [r["afas_keys"] for r in ledger_rows(tmp_path / "ledger.sqlite3")] == [
        f'{{"SbId": "{sb_id}"}}'
    ]


def test_employee_with_person_contract_and_salary(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    mapping = {
        "connector": "KnEmployee",
        "keys": ["EmId"],
        "fields": {"EmId": "employee_id", "Bl": "blocked"},
        "objects": {
            "KnPerson": {
                "from": "person",
                "fields": {
                    "BcCo": "number",
                    "FiNm": "first",
                    "Is": "prefix",
                    "LaNm": "last",
                    "ViGe": "gender",
                    "DaBi": "born",
                    "EmAd": "email",
                },
            },
            "AfasContract": {
                "fields": {"DaBe": "start", "FuId": "function", "DpId": "unit", "HrWk": "hours"}
            },
            "AfasSalary": {"fields": {"DaBe": "start", "EmSa": "salary"}},
        },
    }
    record = {
        "employee_id": "E9001",
        "blocked": False,
        "start": "2026-02-01",
        "function": "DEV",
        "unit": "OE-ICT",
        "hours": 32.5,
        "salary": "4321.55",
        "person": {
            "number": "909001",
            "first": "Fenna",
            "prefix": "van der",
            "last": "Meer",
            "gender": "V",
            "born": "1994-06-30",
            "email": "fenna.vandermeer@example.nl",
        },
    }
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"employees": mapping}),
        stream_messages("employees", [record], ["employee_id"]),
    )
    assert run.summary("employees") == {"inserted": 1}

    body = recorder.writes_to("KnEmployee")[0].json
    assert list(body) == ["AfasEmployee"]  # the root object name from /metainfo/update

    row = reader.one("Profit_Employees", "EmployeeId", "E9001")
    row.pop("Gewijzigd_op")
    assert row == {
        "EmployeeId": "E9001",
        "PersonId": "909001",
        "FirstName": "Fenna",
        "Prefix": "van der",
        "LastName": "Meer",
        "Gender": "V",
        "BirthDate": "1994-06-30T00:00:00Z",
        "Email": "fenna.vandermeer@example.nl",
        "Blocked": False,
        "EmploymentStart": "2026-02-01T00:00:00Z",
        "EmploymentEnd": None,
        "FunctionCode": "DEV",
        "DepartmentCode": "OE-ICT",
        "HoursPerWeek": Decimal("32.5"),
        "Salary": Decimal("4321.55"),
        "StartTime": None,
    }
    assert _person_row(reader, "909001")["LastName"] == "Meer"


def test_journal_entry_lines_from_an_array(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mapping = journal_mapping()  # the entry's lines come from its "lines" array
    lines = [
        {"kind": "1", "account": "4000", "date": "2026-11-20", "description": "Huur A",
         "debit": 1250.1, "credit": None},
        {"kind": "1", "account": "4010", "date": "2026-11-20", "description": "Huur B",
         "debit": "0.07", "credit": None},
        {"kind": "1", "account": "1100", "date": "2026-11-21", "description": "Bank",
         "debit": None, "credit": "1250.17"},
    ]  # fmt: skip
    record = {"year": 2026, "period": 11, "unit": 2, "journal": "70", "lines": lines}
    before = {(r["UnitId"], r["EntryNo"]) for r in reader.all_rows("Profit_Transactions")}
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"journal": mapping}),
        stream_messages("journal", [record]),
    )
    assert run.summary("journal") == {"inserted": 1}

    new = [
        r
        for r in reader.all_rows("Profit_Transactions")
        if (r["UnitId"], r["EntryNo"]) not in before
    ]
    new.sort(key=lambda r: r["SeqNo"])
    assert len({r["EntryNo"] for r in new}) == 1
    got = [
        (
            r["UnitId"],
            r["SeqNo"],
            r["Year"],
            r["Period"],
            r["JournalId"],
            r["AccountKind"],
            r["AccountNo"],
            date_of(r["EntryDate"]),
            r["Description"],
            r["AmountDebit"],
            r["AmountCredit"],
        )
        for r in new
    ]
    assert got == [
        (2, 1, 2026, 11, "70", "1", "4000", "2026-11-20", "Huur A", Decimal("1250.10"), None),
        (2, 2, 2026, 11, "70", "1", "4010", "2026-11-20", "Huur B", Decimal("0.07"), None),
        (2, 3, 2026, 11, "70", "1", "1100", "2026-11-21", "Bank", None, Decimal("1250.17")),
    ]
    keys = [r["afas_keys"] for r in ledger_rows(tmp_path / "ledger.sqlite3")]
    assert keys == [f'{{"UnId": "2", "EnNo": "{new[0]["EntryNo"]}"}}']


def test_free_table_with_custom_field_ids(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    mapping = {
        "connector": "KnCustomK01",
        "keys": ["SqNo"],
        "fields": {
            "SqNo": "seq",
            U_PROJECT_NAME: "project",
            U_BUDGET: "budget",
            U_START_DATE: "start",
            U_ACTIVE: "active",
            U_STATUS: "status",
        },
    }
    records = [
        {"seq": 9001, "project": "Migratie Loket", "budget": "125000.50", "start": "2026-05-01",
         "active": True, "status": "A"},
        {"seq": 9002, "project": "Offerte Portaal", "budget": 0.01, "start": None,
         "active": False, "status": "O"},
    ]  # fmt: skip
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"projects": mapping}),
        stream_messages("projects", records, ["seq"]),
    )
    assert run.summary("projects") == {"inserted": 2}
    sent = [s.json["KnCustomK01"]["Element"] for s in recorder.writes_to("KnCustomK01")]
    sent.sort(key=lambda e: e["@SqNo"])
    assert sent == [
        {"@SqNo": 9001, "Fields": {U_PROJECT_NAME: "Migratie Loket", U_BUDGET: "125000.50",
                                   U_START_DATE: "2026-05-01", U_ACTIVE: True, U_STATUS: "A"}},
        {"@SqNo": 9002, "Fields": {U_PROJECT_NAME: "Offerte Portaal", U_BUDGET: "0.01",
                                   U_ACTIVE: False, U_STATUS: "O"}},
    ], "key as @SqNo, decimals as exact strings, booleans as JSON, null left out"  # fmt: skip
    rows = reader.by_key("Profit_FreeTable_K01", "SqNo")
    got = []
    for seq in ("9001", "9002"):
        (row,) = rows[seq]
        row.pop("Datum_gewijzigd")
        got.append(row)
    assert got == [
        {"SqNo": 9001, "Projectnaam": "Migratie Loket", "Budget": Decimal("125000.50"),
         "Startdatum": "2026-05-01T00:00:00Z", "Actief": True, "Status": "A"},
        {"SqNo": 9002, "Projectnaam": "Offerte Portaal", "Budget": Decimal("0.01"),
         "Startdatum": None, "Actief": False, "Status": "O"},
    ]  # fmt: skip


def test_identity_mapping_takes_properties_named_like_fields(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    mapping = {"connector": "KnPerson", "keys": ["BcCo"], "objects": {"KnBasicAddressAdr": {}}}
    record = {
        "BcCo": "900300",
        "MatchPer": "0",
        "FiNm": "Ilse",
        "LaNm": "Jansen",
        "ViGe": "X",
        "EmAd": "ilse@example.nl",
        "CoId": "NL",
        "Ad": "Lange Voorhout",
        "HmNr": 3,
        "Rs": "Den Haag",
        "loyalty_tier": "gold",  # no such field: not sent
    }
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"relations": mapping}),
        stream_messages("relations", [record], ["BcCo"]),
    )
    assert run.summary("relations") == {"inserted": 1}
    sent = recorder.writes_to("KnPerson")[0].json
    assert "loyalty_tier" not in str(sent)
    assert _person_row(reader, "900300") == _new_person_row(
        PersonId="900300",
        FirstName="Ilse",
        LastName="Jansen",
        Gender="X",
        Email="ilse@example.nl",
        Country="NL",
        Street="Lange Voorhout",
        HouseNumber=3,
        City="Den Haag",
    )


def test_constants_override_and_defaults_fill_in(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    mapping = people_mapping(
        constants={"MatchPer": "0", "ViGe": "O"},
        defaults={"EmAd": "onbekend@example.nl", "FiNm": "N.N."},
        objects={
            "KnBasicAddressAdr": {
                "fields": dict(ADDRESS_FIELDS),
                "defaults": {"CoId": "NL", "Rs": "Onbekend"},
            }
        },
    )
    records = [
        # No Email, FirstName None, no Country or City: the defaults fill them in.
        {"PersonId": "900401", "LastName": "Smit", "Gender": "M", "FirstName": None,
         "Street": "Dorpsstraat", "HouseNumber": 1},
        # Its own values win over the defaults; the constant still wins over Gender.
        {"PersonId": "900402", "LastName": "Mulder", "Gender": "V", "FirstName": "Eva",
         "Email": "eva@example.nl", "Street": "Markt", "Country": "B", "City": "Gent"},
    ]  # fmt: skip
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": mapping}),
        stream_messages("people", records, ["PersonId"]),
    )
    assert run.summary("people") == {"inserted": 2}
    assert _person_row(reader, "900401") == _new_person_row(
        PersonId="900401",
        FirstName="N.N.",
        LastName="Smit",
        Gender="O",
        Email="onbekend@example.nl",
        Street="Dorpsstraat",
        HouseNumber=1,
        City="Onbekend",
        Country="NL",
    )
    assert _person_row(reader, "900402") == _new_person_row(
        PersonId="900402",
        FirstName="Eva",
        LastName="Mulder",
        Gender="O",
        Email="eva@example.nl",
        Street="Markt",
        City="Gent",
        Country="B",
    )


def test_utc_datetimes_are_written_in_amsterdam_local_time(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader, recorder: RequestRecorder
) -> None:
    """A date field gets the Amsterdam date of a UTC moment: +1 h in winter, +2 h in summer."""
    cases = {
        "900501": ("1990-01-15T23:30:00+00:00", "1990-01-16"),  # 00:30 CET
        "900502": ("1990-01-15T22:30:00+00:00", "1990-01-15"),  # 23:30 CET
        "900503": ("1990-07-31T22:30:00Z", "1990-08-01"),  # 00:30 CEST
        "900504": ("1990-07-31T21:30:00+00:00", "1990-07-31"),  # 23:30 CEST
    }
    records = [
        {"PersonId": pid, "LastName": "Tijd", "BirthDate": moment}
        for pid, (moment, _) in cases.items()
    ]
    run = run_target(
        target_config(afas_sandbox, tmp_path, {"people": people_mapping()}),
        stream_messages("people", records, ["PersonId"], formats={"BirthDate": "date-time"}),
    )
    assert run.summary("people") == {"inserted": 4}
    sent = {
        s.json["KnPerson"]["Element"]["Fields"]["BcCo"]: s.json["KnPerson"]["Element"]["Fields"][
            "DaBi"
        ]
        for s in recorder.writes_to("KnPerson")
    }
    assert sent == {pid: local for pid, (_, local) in cases.items()}
    for pid, (_, local) in cases.items():
        assert date_of(_person_row(reader, pid)["BirthDate"]) == local


def test_timezone_setting_changes_the_local_date(
    afas_sandbox: RunningSandbox, tmp_path: Path, reader: SandboxReader
) -> None:
    records = [{"PersonId": "900601", "LastName": "Zone", "BirthDate": "1990-07-31T22:30:00Z"}]
    run_target(
        target_config(
            afas_sandbox, tmp_path, {"people": people_mapping()}, timezone="America/New_York"
        ),
        stream_messages("people", records, ["PersonId"], formats={"BirthDate": "date-time"}),
    )
    assert date_of(_person_row(reader, "900601")["BirthDate"]) == "1990-07-31"
