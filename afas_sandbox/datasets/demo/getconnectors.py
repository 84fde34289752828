"""GetConnector definitions of the demo environment (what ``/metainfo/get/{id}`` describes).

Field ids and modified-date names differ per connector on purpose, as in real environments:
``ModifiedDate``, ``modified_date``, ``Gewijzigd_op``, ``DatumGewijzigd``, ``Gewijzigd``,
``Mutatiedatum``, ``Datum_gewijzigd``, ``Datum_mutatie`` and ``Datum_wijziging``. Memo fields
(``Body``, ``Remark``) are strings of length 0 holding several lines of text.
"""

from __future__ import annotations

from afas_sandbox.model import (
    CONTROL_CODE,
    CONTROL_DATE,
    CONTROL_DATETIME,
    CONTROL_TEXT,
    CONTROL_TIME,
    DataType,
    GetConnectorDef,
    GetField,
)


def _f(
    id_: str,
    field_id: str,
    data_type: DataType,
    label: str,
    column: str,
    length: int = 0,
    control: int = CONTROL_TEXT,
    decimals: int = 0,
) -> GetField:
    if data_type == "date" and control == CONTROL_TEXT:
        control = CONTROL_DATE
    return GetField(
        id=id_,
        field_id=field_id,
        data_type=data_type,
        label=label,
        column=column,
        length=length,
        control_type=control,
        decimals=decimals,
    )


ADMINISTRATIONS = GetConnectorDef(
    id="Profit_Administrations",
    description="Administraties (Profit)",
    source="administrations a",
    fields=(
        _f("AdminId", "U002", "int", "Administratie", "a.admin_id", 3, CONTROL_CODE),
        _f("AdminNm", "U001", "string", "Naam administratie", "a.name", 80),
    ),
)

PERSONS = GetConnectorDef(
    id="Profit_Persons",
    description="Personen",
    source="persons p",
    entity="persons",
    fields=(
        _f("PersonId", "U001", "string", "Nummer", "p.bc_co", 15, CONTROL_CODE),
        _f("SearchName", "U002", "string", "Zoeknaam", "p.search_name", 10),
        _f("CallName", "U003", "string", "Roepnaam", "p.call_name", 50),
        _f("FirstName", "U004", "string", "Voornaam", "p.first_name", 50),
        _f("Initials", "U005", "string", "Voorletters", "p.initials", 15),
        _f("Prefix", "U006", "string", "Voorvoegsel", "p.prefix", 15),
        _f("LastName", "U007", "string", "Achternaam", "p.last_name", 80),
        _f("Gender", "U008", "string", "Geslacht", "p.gender", 1, CONTROL_CODE),
        _f("BirthDate", "U009", "date", "Geboortedatum", "p.birth_date"),
        _f("Email", "U010", "string", "E-mail werk", "p.email", 255),
        _f("Phone", "U011", "string", "Telefoonnr. werk", "p.phone", 30),
        _f("Mobile", "U012", "string", "Mobiel werk", "p.mobile", 30),
        _f("Street", "U013", "string", "Straat", "p.street", 80),
        _f("HouseNumber", "U014", "int", "Huisnummer", "p.house_number", 9),
        _f("HouseNumberAdd", "U015", "string", "Toevoeging aan huisnr.", "p.house_number_add", 30),
        _f("ZipCode", "U016", "string", "Postcode", "p.zip_code", 20),
        _f("City", "U017", "string", "Woonplaats", "p.city", 50),
        _f("Country", "U018", "string", "Land", "p.country", 3, CONTROL_CODE),
        # Custom fields ("vrije velden"): shown under the id the administrator chose.
        _f("Lidnummer", "U019", "string", "Lidnummer", "p.member_number", 20),
        _f("Nieuwsbrief", "U020", "boolean", "Nieuwsbrief", "p.newsletter"),
        _f("Pasfoto", "U021", "blob", "Pasfoto", "p.photo"),
        _f("CreateDate", "U022", "date", "Aangemaakt op", "p.created", 0, CONTROL_DATETIME),
        _f("ModifiedDate", "U023", "date", "Gewijzigd op", "p.modified", 0, CONTROL_DATETIME),
    ),
)

ORGANISATIONS = GetConnectorDef(
    id="Profit_Organisations",
    description="Organisaties",
    source="organisations o",
    entity="organisations",
    fields=(
        _f("OrganisationId", "U001", "string", "Nummer", "o.bc_co", 15, CONTROL_CODE),
        _f("Name", "U002", "string", "Naam", "o.name", 255),
        _f("CocNumber", "U003", "string", "KvK-nummer", "o.coc_number", 30),
        _f("FiscalNumber", "U004", "string", "Fiscaal nummer", "o.fiscal_number", 30),
        _f("LegalForm", "U005", "string", "Rechtsvorm", "o.legal_form", 10, CONTROL_CODE),
        _f("Email", "U006", "string", "E-mail", "o.email", 255),
        _f("Phone", "U007", "string", "Telefoonnr.", "o.phone", 30),
        _f("Website", "U008", "string", "Internetadres", "o.website", 255),
        _f("Street", "U009", "string", "Straat", "o.street", 80),
        _f("HouseNumber", "U010", "int", "Huisnummer", "o.house_number", 9),
        _f("HouseNumberAdd", "U011", "string", "Toevoeging", "o.house_number_add", 30),
        _f("ZipCode", "U012", "string", "Postcode", "o.zip_code", 20),
        _f("City", "U013", "string", "Plaats", "o.city", 50),
        _f("Country", "U014", "string", "Land", "o.country", 3, CONTROL_CODE),
        _f("created_date", "U015", "date", "Aangemaakt op", "o.created", 0, CONTROL_DATETIME),
        _f("modified_date", "U016", "date", "Gewijzigd op", "o.modified", 0, CONTROL_DATETIME),
    ),
)

CONTACTS = GetConnectorDef(
    id="Profit_Contacts",
    description="Contactpersonen",
    source="contacts c LEFT JOIN organisations o ON o.bc_co = c.organisation_bc_co",
    fields=(
        _f("ContactId", "U001", "int", "Contact", "c.cd_id", 9, CONTROL_CODE),
        _f("ContactType", "U002", "string", "Soort contact", "c.kind", 3, CONTROL_CODE),
        _f("OrganisationId", "U003", "string", "Organisatie", "c.organisation_bc_co", 15),
        _f("OrganisationName", "U004", "string", "Naam organisatie", "o.name", 255),
        _f("PersonId", "U005", "string", "Persoon", "c.person_bc_co", 15),
        _f("Department", "U006", "string", "Afdeling", "c.department", 255),
        _f("JobTitle", "U007", "string", "Functie op visitekaartje", "c.job_title", 50),
        _f("Email", "U008", "string", "E-mail werk", "c.email", 255),
        _f("Phone", "U009", "string", "Telefoonnr. werk", "c.phone", 255),
        _f("Mobile", "U010", "string", "Mobiel werk", "c.mobile", 255),
        # A memo: length 0, several lines of text (see memos.py).
        _f("Remark", "U011", "string", "Opmerking", "c.remark", 0),
        _f("Blocked", "U012", "boolean", "Geblokkeerd", "c.blocked"),
        _f("CreatedOn", "U013", "date", "Aangemaakt op", "c.created", 0, CONTROL_DATETIME),
        _f("Datum_wijziging", "U014", "date", "Datum wijziging", "c.modified", 0, CONTROL_DATETIME),
    ),
)

EMPLOYEES = GetConnectorDef(
    id="Profit_Employees",
    description="Medewerkers",
    source="employees e JOIN persons p ON p.bc_co = e.person_bc_co",
    entity="employees",
    fields=(
        _f("EmployeeId", "U001", "string", "Medewerker", "e.em_id", 15, CONTROL_CODE),
        _f("PersonId", "U002", "string", "Persoonsnummer", "p.bc_co", 15, CONTROL_CODE),
        _f("FirstName", "U003", "string", "Voornaam", "p.first_name", 50),
        _f("Prefix", "U004", "string", "Voorvoegsel", "p.prefix", 15),
        _f("LastName", "U005", "string", "Achternaam", "p.last_name", 80),
        _f("Gender", "U006", "string", "Geslacht", "p.gender", 1, CONTROL_CODE),
        _f("BirthDate", "U007", "date", "Geboortedatum", "p.birth_date"),
        _f("Email", "U008", "string", "E-mail werk", "p.email", 255),
        _f("Blocked", "U009", "boolean", "Geblokkeerd", "e.blocked"),
        _f("EmploymentStart", "U010", "date", "Begindatum contract", "e.start_date"),
        _f("EmploymentEnd", "U011", "date", "Einddatum contract", "e.end_date"),
        _f("FunctionCode", "U012", "string", "Functie", "e.function_code", 10, CONTROL_CODE),
        _f("DepartmentCode", "U013", "string", "Organisatorische eenheid", "e.department_code", 15),
        _f("HoursPerWeek", "U014", "decimal", "Uren per week", "e.hours_per_week", 5, 1, 2),
        _f("Salary", "U015", "decimal", "Salaris", "e.salary", 12, 1, 2),
        _f("StartTime", "U016", "date", "Begintijd rooster", "e.work_start_time", 0, CONTROL_TIME),
        _f("Gewijzigd_op", "U017", "date", "Gewijzigd op", "e.modified", 0, CONTROL_DATETIME),
    ),
)

DEBTORS = GetConnectorDef(
    id="Profit_Debtors",
    description="Debiteuren",
    source="debtors d",
    entity="debtors",
    fields=(
        _f("DebtorId", "U001", "string", "Debiteurnummer", "d.debtor_id", 16, CONTROL_CODE),
        _f("RelationId", "U002", "string", "Nummer relatie", "d.relation_bc_co", 15),
        _f("Name", "U003", "string", "Naam", "d.name", 255),
        _f("CreditLimit", "U004", "decimal", "Kredietlimiet", "d.credit_limit", 12, 1, 2),
        _f("PaymentCondition", "U005", "string", "Betalingsvoorwaarde", "d.payment_condition", 3),
        _f("Blocked", "U006", "boolean", "Geblokkeerd", "d.blocked"),
        _f("VatNumber", "U007", "string", "Btw-nummer", "d.vat_number", 20),
        _f("Balance", "U008", "decimal", "Saldo", "d.balance", 14, 1, 2),
        _f("Currency", "U009", "string", "Valuta", "d.currency", 3, CONTROL_CODE),
        _f("CreatedOn", "U010", "date", "Aangemaakt op", "d.created", 0, CONTROL_DATETIME),
        _f("DatumGewijzigd", "U011", "date", "Datum gewijzigd", "d.modified", 0, CONTROL_DATETIME),
    ),
)

SUBJECTS = GetConnectorDef(
    id="Profit_Subjects",
    description="Dossieritems",
    source="subjects s",
    entity="subjects",
    fields=(
        _f("SubjectId", "U001", "int", "Dossieritem", "s.sb_id", 9, CONTROL_CODE),
        _f("SubjectType", "U002", "int", "Type dossieritem", "s.type_id", 9, CONTROL_CODE),
        _f("Subject", "U003", "string", "Onderwerp", "s.subject", 255),
        _f("Body", "U004", "string", "Toelichting", "s.body", 0),  # a memo (memos.py)
        _f("SubjectDate", "U005", "date", "Datum", "s.subject_date"),
        _f("SubjectTime", "U006", "date", "Tijd", "s.subject_time", 0, CONTROL_TIME),
        _f("LinkedToCrm", "U007", "boolean", "Dossier CRM", "s.link_crm"),
        _f("LinkedType", "U008", "int", "Type bestemming", "s.link_type", 9),
        _f("LinkedId", "U009", "string", "Bestemming", "s.link_id", 15),
        _f("Created", "U010", "date", "Aanmaakdatum", "s.created", 0, CONTROL_DATETIME),
        _f("Gewijzigd", "U011", "date", "Gewijzigd", "s.modified", 0, CONTROL_DATETIME),
    ),
)

SUBJECT_ATTACHMENTS = GetConnectorDef(
    id="Profit_Subject_Attachments",
    description="Bijlagen bij dossieritems",
    source="subject_attachments sa",
    fields=(
        _f("attachment_id", "U001", "int", "Bijlage", "sa.attachment_id", 9, CONTROL_CODE),
        _f("subject_id", "U002", "int", "Dossieritem", "sa.sb_id", 9),
        _f("file_id", "U003", "string", "Bestand", "sa.file_id", 50),
        _f("file_name", "U004", "string", "Bestandsnaam", "sa.file_name", 255),
    ),
)

TRANSACTIONS = GetConnectorDef(
    id="Profit_Transactions",
    description="Financiele mutaties",
    source="transactions t",
    entity="transactions",
    fields=(
        _f("UnitId", "U001", "int", "Administratie", "t.unit_id", 3, CONTROL_CODE),
        _f("EntryNo", "U002", "int", "Nummer journaalpost", "t.entry_no", 9),
        _f("SeqNo", "U003", "int", "Volgnummer", "t.seq_no", 9),
        _f("Year", "U004", "int", "Boekjaar", "t.year", 4),
        _f("Period", "U005", "int", "Periode", "t.period", 2),
        _f("JournalId", "U006", "string", "Dagboek", "t.journal_id", 10, CONTROL_CODE),
        _f("AccountKind", "U007", "string", "Type rekening", "t.account_kind", 1, CONTROL_CODE),
        _f("AccountNo", "U008", "string", "Rekeningnummer", "t.account_no", 16, CONTROL_CODE),
        _f("Description", "U009", "string", "Omschrijving boeking", "t.description", 255),
        _f("EntryDate", "U010", "date", "Boekdatum", "t.entry_date"),
        _f("DocumentDate", "U011", "date", "Datum boekstuk", "t.document_date"),
        _f("DocumentNo", "U012", "string", "Boekstuknummer", "t.document_no", 20),
        _f("AmountDebit", "U013", "decimal", "Bedrag debet", "t.amount_debit", 14, 1, 2),
        _f("AmountCredit", "U014", "decimal", "Bedrag credit", "t.amount_credit", 14, 1, 2),
        _f("Mutatiedatum", "U015", "date", "Mutatiedatum", "t.modified", 0, CONTROL_DATETIME),
    ),
)

FREE_TABLE_K01 = GetConnectorDef(
    id="Profit_FreeTable_K01",
    description="Vrije tabel K01 (projecten)",
    source="custom_k01 k",
    entity="custom_k01",
    fields=(
        _f("SqNo", "U001", "int", "Volgnummer", "k.sq_no", 9, CONTROL_CODE),
        _f("Projectnaam", "U002", "string", "Projectnaam", "k.project_name", 80),
        _f("Budget", "U003", "decimal", "Budget", "k.budget", 12, 1, 2),
        _f("Startdatum", "U004", "date", "Startdatum", "k.start_date"),
        _f("Actief", "U005", "boolean", "Actief", "k.active"),
        _f("Status", "U006", "string", "Status", "k.status", 1, CONTROL_CODE),
        _f("Datum_gewijzigd", "U007", "date", "Datum gewijzigd", "k.modified", 0, CONTROL_DATETIME),
    ),
)

DELETED_RECORDS = GetConnectorDef(
    id="Profit_Deleted_Records",
    description="Wijzigingen: verwijderde gegevens",
    source="deleted_log l",
    fields=(
        _f("LogId", "U001", "int", "Volgnummer", "l.log_id", 9, CONTROL_CODE),
        _f("Tabel", "U002", "string", "Tabel", "l.entity", 50),
        _f("Sleutel", "U003", "string", "Sleutel", "l.entity_key", 100),
        _f("Mutatie", "U004", "string", "Soort mutatie", "l.mutation", 20),
        _f("Gebruiker", "U005", "string", "Gebruiker", "l.user_id", 50),
        _f("Datum_mutatie", "U006", "date", "Datum mutatie", "l.at", 0, CONTROL_DATETIME),
    ),
)

GET_CONNECTORS: tuple[GetConnectorDef, ...] = (
    ADMINISTRATIONS,
    PERSONS,
    ORGANISATIONS,
    CONTACTS,
    EMPLOYEES,
    DEBTORS,
    SUBJECTS,
    SUBJECT_ATTACHMENTS,
    TRANSACTIONS,
    FREE_TABLE_K01,
    DELETED_RECORDS,
)
