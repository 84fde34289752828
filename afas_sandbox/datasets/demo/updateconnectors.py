"""UpdateConnector definitions of the demo environment (what ``/metainfo/update/{id}`` describes).

Field codes follow AFAS where they are documented (afas-rest-api.md sections 6.3 and 6.7);
custom fields carry ``U`` + 32 hex ids as AFAS gives them (section 4).
"""

from __future__ import annotations

from afas_sandbox.model import (
    CONTROL_CODE,
    CONTROL_DATE,
    DataType,
    UpdateConnectorDef,
    UpdateField,
    UpdateObjectDef,
)

# Custom ("vrije") field ids.
U_MEMBER_NUMBER = "U17890CCBFF3B5670A533F9CD449E7FBF"
U_NEWSLETTER = "UCE2C6BF85CCB51B1B8299A59CB55E583"
U_PROJECT_NAME = "U018A40C7A37A5B7A93502E52BF447225"
U_BUDGET = "U7CAD08037F825575A885C5EDD55A9ABF"
U_START_DATE = "U4D8A1ED93403544A85509B874257E1DF"
U_ACTIVE = "U1C68B5BDF2595E2ABFA1137C65389D71"
U_STATUS = "UC83B6A77368C5BFFB7A8A0DD7CA15045"

MATCH_PER_VALUES = (
    ("0", "Zoek op BcCo (Persoons-ID)"),
    ("1", "Burgerservicenummer"),
    ("2", "Naam + voorvoegsel + voorletter + geslacht"),
    ("3", "Naam + voorvoegsel + voorletter + geslacht + e-mail werk"),
    ("4", "Naam + voorvoegsel + voorletter + geslacht + mobiel werk"),
    ("5", "Naam + voorvoegsel + voorletter + geslacht + telefoon werk"),
    ("6", "Naam + voorvoegsel + voorletter + geslacht + geboortedatum"),
    ("7", "Altijd nieuw toevoegen"),
    ("9", "Gebruik de waarde van de bovenliggende entiteit"),
)
MATCH_OGA_VALUES = (
    ("0", "Zoek op BcCo"),
    ("1", "KvK-nummer"),
    ("2", "Fiscaal nummer"),
    ("3", "Naam"),
    ("4", "Adres"),
    ("5", "Postadres"),
    ("6", "Altijd nieuw toevoegen"),
    ("9", "Gebruik de waarde van de bovenliggende entiteit"),
)
GENDER_VALUES = (("M", "Man"), ("V", "Vrouw"), ("O", "Onbekend"), ("X", "Non-binair"))
COUNTRY_VALUES = (("NL", "Nederland"), ("B", "België"), ("D", "Duitsland"), ("F", "Frankrijk"))
LEGAL_FORM_VALUES = (
    ("BV", "Besloten vennootschap"),
    ("NV", "Naamloze vennootschap"),
    ("VOF", "Vennootschap onder firma"),
    ("EZ", "Eenmanszaak"),
    ("STI", "Stichting"),
    ("VER", "Vereniging"),
)
SUBJECT_TYPE_VALUES = (
    ("1", "Notitie"),
    ("2", "Telefoonnotitie"),
    ("3", "Brief"),
    ("4", "E-mail"),
    ("5", "Contract"),
    ("6", "Verzuimmelding"),
)
SUBJECT_LINK_TYPE_VALUES = (("1", "Organisatie"), ("2", "Persoon"), ("3", "Medewerker"))
FUNCTION_VALUES = (
    ("ADM", "Administratief medewerker"),
    ("ADV", "Adviseur"),
    ("CON", "Consultant"),
    ("DEV", "Ontwikkelaar"),
    ("FIN", "Financieel medewerker"),
    ("HR", "HR-adviseur"),
    ("MGR", "Manager"),
    ("SUP", "Supportmedewerker"),
)
ADMINISTRATION_VALUES = (
    ("1", "Demo Holding B.V."),
    ("2", "Demo Services B.V."),
    ("3", "Demo Stichting"),
)
JOURNAL_VALUES = (
    ("10", "Kas"),
    ("20", "Bank"),
    ("50", "Verkoop"),
    ("60", "Inkoop"),
    ("70", "Memoriaal"),
)
ACCOUNT_KIND_VALUES = (("1", "Grootboekrekening"), ("2", "Debiteur"), ("3", "Crediteur"))
PROJECT_STATUS_VALUES = (("A", "Actief"), ("G", "Gesloten"), ("O", "Offerte"))
CONTACT_KIND_VALUES = (
    ("AFD", "Afdeling bij organisatie"),
    ("AFL", "Afleveradres"),
    ("PRS", "Persoon bij organisatie"),
)


def _u(
    field_id: str,
    data_type: DataType,
    label: str,
    length: int = 0,
    *,
    key: bool = False,
    mandatory: bool = False,
    decimals: int = 0,
    notzero: bool = False,
    values: tuple[tuple[str, str], ...] | None = None,
) -> UpdateField:
    control = CONTROL_DATE if data_type == "date" else (CONTROL_CODE if values else 1)
    return UpdateField(
        field_id=field_id,
        data_type=data_type,
        label=label,
        primary_key=key,
        mandatory=mandatory,
        length=length,
        decimals=decimals,
        notzero=notzero,
        control_type=control,
        values=values,
    )


ADDRESS = UpdateObjectDef(
    name="KnBasicAddressAdr",
    description="Bezoekadres",
    fields=(
        _u("CoId", "string", "Land", 3, mandatory=True, values=COUNTRY_VALUES),
        _u("Ad", "string", "Straat", 80, mandatory=True),
        _u("HmNr", "int", "Huisnummer", 9),
        _u("HmAd", "string", "Toevoeging aan huisnr.", 30),
        _u("ZpCd", "string", "Postcode", 20),
        _u("Rs", "string", "Woonplaats", 50, mandatory=True),
        _u("PbAd", "boolean", "Postbusadres"),
        _u("BeginDate", "date", "Ingangsdatum adreswijziging"),
        _u("ResZip", "boolean", "Zoek woonplaats bij postcode"),
    ),
)

PERSON = UpdateObjectDef(
    name="KnPerson",
    description="Persoon",
    fields=(
        _u("MatchPer", "string", "Persoon vergelijken op", 1, values=MATCH_PER_VALUES),
        _u("BcCo", "string", "Nummer", 15),
        _u("AutoNum", "boolean", "Autonummering"),
        _u("PadAdr", "boolean", "Postadres is adres"),
        _u("SeNm", "string", "Zoeknaam", 10),
        _u("CaNm", "string", "Roepnaam", 50),
        _u("FiNm", "string", "Voornaam", 50),
        _u("In", "string", "Voorletters", 15),
        _u("Is", "string", "Voorvoegsel", 15),
        _u("LaNm", "string", "Achternaam", 80, mandatory=True),
        _u("SpNm", "boolean", "Geboortenaam apart vastleggen"),
        _u("TtId", "string", "Titel/aanhef", 3),
        _u("ViGe", "string", "Geslacht", 1, values=GENDER_VALUES),
        _u("DaBi", "date", "Geboortedatum"),
        _u("SoSe", "string", "BSN", 9),
        _u("EmAd", "string", "E-mail werk", 255),
        _u("TeNr", "string", "Telefoonnr. werk", 30),
        _u("MbNr", "string", "Mobiel werk", 30),
        _u(U_MEMBER_NUMBER, "string", "Lidnummer", 20),
        _u(U_NEWSLETTER, "boolean", "Nieuwsbrief"),
    ),
    objects=(ADDRESS,),
)

# A contact links an organisation to a department, a delivery address or a person (KnPerson
# nested in it); AFAS has no KnContact insert of its own: it is posted inside KnOrganisation,
# or through the sub-object URL /connectors/KnOrganisation/KnContact (afas-rest-api.md 6.1).
CONTACT = UpdateObjectDef(
    name="KnContact",
    description="Contact",
    fields=(
        _u("CdId", "int", "Contact", 9, key=True),
        _u("PadAdr", "boolean", "Postadres is adres"),
        _u("ViKc", "string", "Soort contact", 3, values=CONTACT_KIND_VALUES),
        _u("ExAd", "string", "Afdeling", 255),
        _u("FuDs", "string", "Functie op visitekaartje", 50),
        _u("EmAd", "string", "E-mail werk", 255),
        _u("TeNr", "string", "Telefoonnr. werk", 255),
        _u("MbNr", "string", "Mobiel werk", 255),
        _u("Re", "string", "Opmerking", 0),
        _u("Bl", "boolean", "Geblokkeerd"),
    ),
    objects=(ADDRESS, PERSON),
)

ORGANISATION = UpdateObjectDef(
    name="KnOrganisation",
    description="Organisatie",
    fields=(
        _u("MatchOga", "string", "Organisatie vergelijken op", 1, values=MATCH_OGA_VALUES),
        _u("BcCo", "string", "Nummer", 15),
        _u("AutoNum", "boolean", "Autonummering"),
        _u("PadAdr", "boolean", "Postadres is adres"),
        _u("Nm", "string", "Naam", 255, mandatory=True),
        _u("CcNr", "string", "KvK-nummer", 30),
        _u("FiNr", "string", "Fiscaal nummer", 30),
        _u("ViLe", "string", "Rechtsvorm", 10, values=LEGAL_FORM_VALUES),
        _u("EmAd", "string", "E-mail", 255),
        _u("TeNr", "string", "Telefoonnr.", 30),
        _u("HoPa", "string", "Internetadres", 255),
    ),
    objects=(ADDRESS, CONTACT),
)

SUBJECT = UpdateObjectDef(
    name="KnSubject",
    description="Dossieritem",
    fields=(
        _u("SbId", "int", "Dossieritem", 9, key=True),
        _u("StId", "int", "Type dossieritem", 9, mandatory=True, values=SUBJECT_TYPE_VALUES),
        _u("Ds", "string", "Onderwerp", 255),
        _u("SbTx", "string", "Toelichting", 0),
        _u("Da", "date", "Datum"),
    ),
    objects=(
        UpdateObjectDef(
            name="KnSubjectLink",
            description="Dossieritem koppeling",
            fields=(
                _u("DoCRM", "boolean", "Dossier CRM"),
                _u("SfTp", "int", "Type bestemming", 9, values=SUBJECT_LINK_TYPE_VALUES),
                _u("SfId", "string", "Bestemming", 15),
            ),
        ),
        UpdateObjectDef(
            name="KnSubjectAttachment",
            description="Bijlage",
            fields=(
                _u("FileName", "string", "Bestandsnaam", 255, mandatory=True),
                _u("FileStream", "blob", "Bestand", mandatory=True),
            ),
        ),
    ),
)

EMPLOYEE = UpdateObjectDef(
    name="AfasEmployee",
    description="Medewerker",
    fields=(
        _u("EmId", "string", "Medewerker", 15, key=True),
        _u("Bl", "boolean", "Geblokkeerd"),
    ),
    objects=(
        PERSON,
        UpdateObjectDef(
            name="AfasContract",
            description="Contract",
            fields=(
                _u("DaBe", "date", "Begindatum contract", key=True, mandatory=True),
                _u("DaEe", "date", "Einddatum contract"),
                _u("FuId", "string", "Functie", 10, values=FUNCTION_VALUES),
                _u("DpId", "string", "Organisatorische eenheid", 15),
                _u("HrWk", "decimal", "Uren per week", 5, decimals=2, notzero=True),
            ),
        ),
        UpdateObjectDef(
            name="AfasSalary",
            description="Salaris",
            fields=(
                _u("DaBe", "date", "Begindatum salaris", key=True, mandatory=True),
                _u("EmSa", "decimal", "Salaris", 12, decimals=2, notzero=True),
            ),
        ),
    ),
)

ENTRY = UpdateObjectDef(
    name="FiEntryPar",
    description="Journaalpost",
    fields=(
        _u("Year", "int", "Boekjaar", 4, mandatory=True),
        _u("Peri", "int", "Periode", 2, mandatory=True, notzero=True),
        _u("UnId", "int", "Administratie", 3, mandatory=True, values=ADMINISTRATION_VALUES),
        _u("JoCo", "string", "Dagboek", 10, mandatory=True, values=JOURNAL_VALUES),
        _u("AuNu", "boolean", "Autonummering journaalpost"),
    ),
    objects=(
        UpdateObjectDef(
            name="FiEntries",
            description="Boekingsregel",
            fields=(
                _u("EnNo", "int", "Nummer journaalpost", 9),
                _u(
                    "VaAs", "string", "Type rekening", 1, mandatory=True, values=ACCOUNT_KIND_VALUES
                ),
                _u("AcNr", "string", "Rekeningnummer", 16, mandatory=True),
                _u("EnDa", "date", "Boekdatum", mandatory=True),
                _u("BpDa", "date", "Datum boekstuk"),
                _u("BpNr", "string", "Boekstuknummer", 20),
                _u("Ds", "string", "Omschrijving boeking", 255),
                _u("AmDe", "decimal", "Bedrag debet", 14, decimals=2),
                _u("AmCr", "decimal", "Bedrag credit", 14, decimals=2),
            ),
        ),
    ),
)

CUSTOM_K01 = UpdateObjectDef(
    name="KnCustomK01",
    description="Vrije tabel K01",
    fields=(
        _u("SqNo", "int", "Volgnummer", 9, key=True),
        _u(U_PROJECT_NAME, "string", "Projectnaam", 80, mandatory=True),
        _u(U_BUDGET, "decimal", "Budget", 12, decimals=2),
        _u(U_START_DATE, "date", "Startdatum"),
        _u(U_ACTIVE, "boolean", "Actief"),
        _u(U_STATUS, "string", "Status", 1, values=PROJECT_STATUS_VALUES),
    ),
)

UPDATE_CONNECTORS: tuple[UpdateConnectorDef, ...] = (
    UpdateConnectorDef("KnPerson", "Persoon", PERSON),
    UpdateConnectorDef("KnOrganisation", "Organisatie", ORGANISATION),
    UpdateConnectorDef("KnSubject", "Dossieritem", SUBJECT),
    UpdateConnectorDef("KnEmployee", "Medewerker", EMPLOYEE),
    UpdateConnectorDef("FiEntries", "Journaalpost", ENTRY, frozenset({"POST", "DELETE"})),
    UpdateConnectorDef("KnCustomK01", "Vrije tabel K01", CUSTOM_K01),
)
