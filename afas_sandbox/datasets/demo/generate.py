"""Demo data generator: fills the demo tables with realistic Dutch data, deterministic per seed.

Row factories (``person_row`` ...) are shared with the world-mover, which inserts new rows later;
``populate`` builds the initial database. Randomness comes only from the ``random.Random`` and
seeded ``Faker("nl_NL")`` instances passed around, never from the global generator or the clock.
"""

from __future__ import annotations

import base64
import random
import sqlite3
import struct
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from faker import Faker

from afas_sandbox.datasets.demo.contacts import contact_rows
from afas_sandbox.datasets.demo.journal import (
    DEBTOR_COUNT,
    DEBTOR_ID_FIRST,
    TRANSACTION_COLUMNS,
    transaction_lines,
)
from afas_sandbox.datasets.demo.memos import subject_memo
from afas_sandbox.datasets.demo.stamps import (
    AUDIT_FIRST_DAY,
    AUDIT_LAST_DAY,
    BULK_SECONDS_PER_TABLE,
    Stamps,
    date_between,
    iso_date,
    stamp_on,
)
from afas_sandbox.datasets.demo.updateconnectors import (
    ADMINISTRATION_VALUES,
    FUNCTION_VALUES,
    LEGAL_FORM_VALUES,
    PROJECT_STATUS_VALUES,
    SUBJECT_TYPE_VALUES,
)

Row = dict[str, object]

PERSON_COUNT = 600
ORGANISATION_COUNT = 150
EMPLOYEE_COUNT = 120
DEBTOR_ORGANISATION_COUNT = 120  # the other debtors are persons
SUBJECT_COUNT = 400
ATTACHMENT_COUNT = 150
CUSTOM_K01_COUNT = 40
# Every 13th project (sq_no 1, 14, 27, 40) was imported without a change date: AFAS shows an
# empty "Datum gewijzigd" until the row is changed. No modified-date window reaches such rows.
K01_UNDATED_EVERY = 13
SUBJECT_LINK_WEIGHTS = (35, 40, 25)  # organisation, person, employee
PERSON_BC_CO_FIRST = 100001
ORGANISATION_BC_CO_FIRST = 200001
ORGANISATION_BC_ID_FIRST = 1001
EMPLOYEE_ID_FIRST = 1001
BULK_SHARE_RELATIONS = 0.05
BULK_SHARE_OTHER = 0.03
NEVER_MODIFIED_SHARE = 0.4
PHOTO_SHARE = 0.05
HOURS_PER_WEEK = (16.0, 24.0, 32.0, 36.0, 36.0, 38.0, 40.0, 40.0)
SALARY_MIN_EUR, SALARY_MAX_EUR = 2200.0, 7500.0

_PREFIXES = (
    "van der", "van den", "van de", "van het", "in 't", "van", "de", "den", "ter", "ten", "het",
    "te", "in", "op", "uit", "'t", "der", "von", "le", "la", "du", "d'",
)  # fmt: skip
_FOREIGN_PLACES = {
    "B": (("2000", "Antwerpen"), ("9000", "Gent"), ("1000", "Brussel"), ("3500", "Hasselt")),
    "D": (("47533", "Kleve"), ("52062", "Aachen"), ("40210", "Düsseldorf"), ("48143", "Münster")),
    "F": (("75001", "Paris"), ("59000", "Lille"), ("69001", "Lyon")),
}
_COUNTRIES = ("NL",) * 46 + ("B", "B", "D", "F")
_DEPARTMENTS = {
    "ADM": ("OE-FIN", "OE-HR"), "ADV": ("OE-ADV",), "CON": ("OE-ADV", "OE-ICT"),
    "DEV": ("OE-ICT",), "FIN": ("OE-FIN",), "HR": ("OE-HR",), "SUP": ("OE-SUP", "OE-ICT"),
    "MGR": ("OE-DIR", "OE-FIN", "OE-ICT", "OE-VERK"),
}  # fmt: skip
_TOPICS = (
    "de offerte", "de factuur", "een betalingsherinnering", "de adreswijziging", "jaargesprek",
    "contractverlenging", "een klacht over de levering", "de onboarding", "de opzegging",
    "prijsafspraken", "de projectplanning", "de btw-aangifte", "het servicecontract",
)  # fmt: skip
_SUBJECT_FORMATS = {
    1: "Notitie: {t}", 2: "Telefoongesprek over {t}", 3: "Brief inzake {t}",
    4: "E-mail: {t}", 5: "Contract {y} - {t}", 6: "Ziekmelding {d}",
}  # fmt: skip
_STATUS_WEIGHTS = {"A": 4, "G": 2, "O": 1}
_PROJECT_KINDS = ("Implementatie", "Migratie", "Renovatie", "Audit", "Uitbreiding", "Training")
_ATTACHMENT_KINDS = (
    ("contract_{y}.pdf", "application/pdf"), ("offerte_{n}.pdf", "application/pdf"),
    ("factuur_{y}-{n}.pdf", "application/pdf"), ("notitie.txt", "text/plain"),
    ("verslag_gesprek.txt", "text/plain"), ("scan_{n}.png", "image/png"),
)  # fmt: skip


def places(value: float, decimals: int = 2) -> str:
    """A decimal as stored: text with the field's places (metainfo ``decimals``), as AFAS
    shows it (``1000.0`` → ``1000.00``); rounded here, at generation, never when read."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"


def make_faker(seed: int) -> Faker:
    """A Dutch Faker with its own seeded generator."""
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    return fake


def _audit_pairs(rng: random.Random, count: int, bulk_share: float) -> list[Stamps]:
    """(created, modified) pairs, created ascending, with a few bulk-import seconds."""
    span_days = (AUDIT_LAST_DAY - AUDIT_FIRST_DAY).days
    created = sorted(
        stamp_on(rng, AUDIT_FIRST_DAY + timedelta(days=rng.randint(0, span_days)))
        for _ in range(count)
    )
    bulk = [
        stamp_on(rng, AUDIT_FIRST_DAY + timedelta(days=rng.randint(span_days // 2, span_days)))
        for _ in range(BULK_SECONDS_PER_TABLE)
    ]
    pairs = []
    for stamp in created:
        draw = rng.random()
        if draw < bulk_share:
            modified = f"{rng.choice(bulk)[:20]}{rng.randrange(1_000_000):06d}"
            stamp = min(stamp, modified)
        elif draw < bulk_share + NEVER_MODIFIED_SHARE:
            modified = stamp
        else:
            later = date_between(rng, date.fromisoformat(stamp[:10]), AUDIT_LAST_DAY)
            modified = max(stamp, stamp_on(rng, later))
        pairs.append((stamp, modified))
    return pairs


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _split_prefix(last_name: str) -> tuple[str | None, str]:
    for prefix in _PREFIXES:
        if last_name.startswith(prefix + " "):
            return prefix, last_name[len(prefix) + 1 :]
    return None, last_name


def _bsn(rng: random.Random) -> str:
    """A 9-digit burgerservicenummer that passes the 11-test."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def _address(rng: random.Random, fake: Faker) -> Row:
    country = rng.choice(_COUNTRIES)
    postcode = str(fake.postcode()).replace(" ", "")
    zip_code, city = f"{postcode[:4]} {postcode[4:].upper()}", fake.city()
    if country != "NL":
        zip_code, city = rng.choice(_FOREIGN_PLACES[country])
    extra = rng.choice(("A", "B", "bis", "1", "2-hoog", "rd")) if rng.random() < 0.1 else None
    return {
        "street": fake.street_name(),
        "house_number": rng.randint(1, 250),
        "house_number_add": extra,
        "zip_code": zip_code,
        "city": city,
        "country": country,
    }


def _png_b64(rng: random.Random) -> str:
    """Base64 of a valid 1x1 RGB PNG in a random colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = b"\x00" + bytes(rng.randrange(256) for _ in range(3))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(pixel, 9)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def person_row(rng: random.Random, fake: Faker, *, bc_id: int, bc_co: str, stamp: str) -> Row:
    """One ``persons`` row."""
    gender = rng.choice("MMMMMMMMMMVVVVVVVVVVOX")
    first = {"M": fake.first_name_male, "V": fake.first_name_female}.get(gender, fake.first_name)()
    prefix, last = _split_prefix(fake.last_name())
    initials = first[0].upper() + "."
    if rng.random() < 0.4:
        initials += rng.choice("ABCDEFGHIJKLMNPRSTW") + "."
    full_last = f"{prefix} {last}" if prefix else last
    email = f"{_slug(first)}.{_slug(full_last)}@{fake.free_email_domain()}"
    return {
        "bc_id": bc_id,
        "bc_co": bc_co,
        "search_name": last.upper()[:10],
        "call_name": first,
        "first_name": first,
        "initials": initials,
        "prefix": prefix,
        "last_name": last,
        "gender": gender,
        "birth_date": iso_date(date_between(rng, date(1955, 1, 1), date(2005, 12, 31))),
        "bsn": _bsn(rng) if rng.random() < 0.9 else None,
        "email": email if rng.random() < 0.95 else None,
        "phone": fake.phone_number() if rng.random() < 0.8 else None,
        "mobile": f"06-{rng.randrange(10**8):08d}" if rng.random() < 0.7 else None,
        **_address(rng, fake),
        "member_number": f"L-{rng.randint(10000, 99999)}" if rng.random() < 0.5 else None,
        "newsletter": rng.choice((0, 1, 1, None)),
        "photo": _png_b64(rng) if rng.random() < PHOTO_SHARE else None,
        "created": stamp,
        "modified": stamp,
    }


def organisation_row(rng: random.Random, fake: Faker, *, bc_id: int, bc_co: str, stamp: str) -> Row:
    """One ``organisations`` row."""
    name: str = fake.company()
    suffix = name.rsplit(" ", 1)[-1]
    forms = [code for code, _ in LEGAL_FORM_VALUES]
    legal_form = suffix if suffix in forms else rng.choice(forms)
    domain = f"{_slug(name)[:30]}.{rng.choice(('nl', 'nl', 'nl', 'com', 'eu'))}"
    return {
        "bc_id": bc_id,
        "bc_co": bc_co,
        "name": name,
        "coc_number": str(rng.randrange(10_000_000, 100_000_000)),
        "fiscal_number": f"NL{rng.randrange(10**8, 10**9)}B{rng.randint(1, 3):02d}"
        if rng.random() < 0.85
        else None,
        "legal_form": legal_form,
        "email": f"{rng.choice(('info', 'administratie', 'contact'))}@{domain}",
        "phone": fake.phone_number() if rng.random() < 0.9 else None,
        "website": f"https://www.{domain}" if rng.random() < 0.8 else None,
        **_address(rng, fake),
        "created": stamp,
        "modified": stamp,
    }


def employee_row(
    rng: random.Random, fake: Faker, *, em_id: str, person_bc_co: str, stamp: str
) -> Row:
    """One ``employees`` row (``fake`` is accepted for a uniform factory signature)."""
    start = date_between(rng, date(2005, 1, 1), date(2026, 6, 30))
    end = start + timedelta(days=rng.randint(180, 3000)) if rng.random() < 0.12 else None
    function_code = rng.choice(FUNCTION_VALUES)[0]
    return {
        "em_id": em_id,
        "person_bc_co": person_bc_co,
        "blocked": int(rng.random() < (0.5 if end else 0.02)),
        "start_date": iso_date(start),
        "end_date": iso_date(end) if end else None,
        "function_code": function_code,
        "department_code": rng.choice(_DEPARTMENTS.get(function_code, ("OE-ALG",))),
        "hours_per_week": places(rng.choice(HOURS_PER_WEEK)),
        "salary": places(rng.uniform(SALARY_MIN_EUR, SALARY_MAX_EUR)),
        "work_start_time": f"1900-01-01T{rng.randint(7, 9):02d}:{rng.randrange(0, 60, 15):02d}:00",
        "created": stamp,
        "modified": stamp,
    }


def debtor_row(
    rng: random.Random,
    fake: Faker,
    *,
    debtor_id: str,
    relation_bc_co: str | None,
    name: str,
    stamp: str,
) -> Row:
    """One ``debtors`` row; organisations (bc_co ``2...``) get a VAT number."""
    is_organisation = (relation_bc_co or "").startswith(str(ORGANISATION_BC_CO_FIRST)[0])
    limit = rng.choice((0.0, 1000.0, 2500.0, 5000.0, 10000.0, rng.uniform(500, 50000)))
    return {
        "debtor_id": debtor_id,
        "relation_bc_co": relation_bc_co,
        "name": name,
        "credit_limit": places(limit),
        "payment_condition": rng.choice(("14", "30", "30", "30", "60")),
        "blocked": int(rng.random() < 0.05),
        "vat_number": f"NL{rng.randrange(10**8, 10**9)}B01" if is_organisation else None,
        "balance": places(0.0 if rng.random() < 0.2 else rng.uniform(-2500, 25000)),
        "currency": "EUR" if rng.random() < 0.95 else rng.choice(("USD", "GBP")),
        "created": stamp,
        "modified": stamp,
    }


def subject_row(
    rng: random.Random, fake: Faker, *, sb_id: int, link_type: int, link_id: str, stamp: str
) -> Row:
    """One ``subjects`` row (dossier item) linked to an organisation, person or employee."""
    types = [int(code) for code, _ in SUBJECT_TYPE_VALUES if link_type == 3 or code != "6"]
    type_id = rng.choice(types)
    day = date.fromisoformat(stamp[:10]) - timedelta(days=rng.randint(0, 5))
    text = _SUBJECT_FORMATS.get(type_id, "{t}")
    hour, minute = rng.randint(8, 17), rng.randrange(0, 60, 5)
    subject = text.format(t=rng.choice(_TOPICS), y=day.year, d=day.strftime("%d-%m-%Y"))
    # The lorem paragraph only seeds the Dutch memo: drawing it keeps every later value as it was.
    seed_text = fake.paragraph(nb_sentences=rng.randint(1, 4)) if rng.random() < 0.7 else None
    return {
        "sb_id": sb_id,
        "type_id": type_id,
        "subject": subject,
        "body": None if seed_text is None else subject_memo(f"{sb_id}/{seed_text}", type_id, day),
        "subject_date": iso_date(day),
        "subject_time": f"1900-01-01T{hour:02d}:{minute:02d}:00" if rng.random() < 0.6 else None,
        "link_crm": int(link_type != 3 and rng.random() < 0.8),
        "link_type": link_type,
        "link_id": link_id,
        "created": stamp,
        "modified": stamp,
    }


def custom_k01_row(rng: random.Random, fake: Faker, *, sq_no: int, stamp: str) -> Row:
    """One ``custom_k01`` row (free table with projects)."""
    codes = [code for code, _ in PROJECT_STATUS_VALUES]
    status = rng.choices(codes, weights=[_STATUS_WEIGHTS.get(code, 1) for code in codes])[0]
    place = fake.city() if rng.random() < 0.5 else fake.company()
    return {
        "sq_no": sq_no,
        "project_name": f"{rng.choice(_PROJECT_KINDS)} {place}",
        "budget": places(rng.uniform(5_000, 250_000)),
        "start_date": iso_date(date_between(rng, date(2020, 1, 1), date(2026, 12, 31))),
        "active": int(status == "A"),
        "status": status,
        "modified": stamp,
    }


def _attachment_row(rng: random.Random, fake: Faker, attachment_id: int, sb_id: int) -> Row:
    pattern, mime_type = rng.choice(_ATTACHMENT_KINDS)
    file_name = pattern.format(y=rng.randint(2021, 2026), n=rng.randint(100, 9999))
    text = fake.paragraph(nb_sentences=3)
    if mime_type == "image/png":
        data = _png_b64(rng)
    else:
        raw = text.encode()
        if mime_type == "application/pdf":
            raw = b"%PDF-1.4\n%" + raw[:400] + b"\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<"
            raw += b"/Root 1 0 R>>\n%%EOF\n"
        data = base64.b64encode(raw).decode()
    return {
        "attachment_id": attachment_id,
        "sb_id": sb_id,
        "file_id": f"{rng.getrandbits(128):032X}",
        "file_name": file_name,
        "mime_type": mime_type,
        "data": data,
    }


def _insert(conn: sqlite3.Connection, table: str, rows: Sequence[Row]) -> None:
    columns = list(rows[0])
    marks = ", ".join(":" + column for column in columns)
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _person_name(row: Row) -> str:
    return " ".join(str(row[k]) for k in ("first_name", "prefix", "last_name") if row[k])


def populate(conn: sqlite3.Connection, *, seed: int, rows: int) -> None:
    """Fill every (empty) table with demo data; ``rows`` is the number of transaction lines."""
    if rows == 1:
        raise ValueError("a journal entry needs at least 2 lines: rows must be 0 or >= 2")
    rng, fake = random.Random(seed), make_faker(seed)

    def audited(count: int, share: float, make: Callable[[int, str], Row]) -> list[Row]:
        """``count`` rows made with their created stamp, then given their modified stamp."""
        out = []
        for i, (created, modified) in enumerate(_audit_pairs(rng, count, share)):
            row = make(i, created)
            out.append({**row, "modified": max(modified, str(row.get("created", "")))})
        return out

    def person(i: int, stamp: str) -> Row:
        return person_row(rng, fake, bc_id=i + 1, bc_co=str(PERSON_BC_CO_FIRST + i), stamp=stamp)

    def organisation(i: int, stamp: str) -> Row:
        bc_co = str(ORGANISATION_BC_CO_FIRST + i)
        return organisation_row(
            rng, fake, bc_id=ORGANISATION_BC_ID_FIRST + i, bc_co=bc_co, stamp=stamp
        )

    persons = audited(PERSON_COUNT, BULK_SHARE_RELATIONS, person)
    organisations = audited(ORGANISATION_COUNT, BULK_SHARE_RELATIONS, organisation)
    staff = rng.sample(persons, EMPLOYEE_COUNT)

    def employee(i: int, stamp: str) -> Row:
        em_id, bc_co = f"{EMPLOYEE_ID_FIRST + i:09d}", str(staff[i]["bc_co"])
        stamp = max(stamp, str(staff[i]["created"]))  # a person is registered before hiring
        return employee_row(rng, fake, em_id=em_id, person_bc_co=bc_co, stamp=stamp)

    employees = audited(EMPLOYEE_COUNT, BULK_SHARE_OTHER, employee)
    relations = rng.sample(organisations, DEBTOR_ORGANISATION_COUNT)
    relations += rng.sample(persons, DEBTOR_COUNT - DEBTOR_ORGANISATION_COUNT)
    rng.shuffle(relations)

    def debtor(i: int, stamp: str) -> Row:
        rel = relations[i]
        name = str(rel["name"]) if "name" in rel else _person_name(rel)
        stamp, debtor_id = max(stamp, str(rel["created"])), str(DEBTOR_ID_FIRST + i)
        row = debtor_row(
            rng, fake, debtor_id=debtor_id, relation_bc_co=str(rel["bc_co"]), name=name, stamp=stamp
        )
        return {**row, "vat_number": rel.get("fiscal_number")}

    debtors = audited(DEBTOR_COUNT, BULK_SHARE_OTHER, debtor)
    links = ((1, organisations, "bc_co"), (2, persons, "bc_co"), (3, employees, "em_id"))

    def subject(i: int, stamp: str) -> Row:
        link_type, targets, key = rng.choices(links, weights=SUBJECT_LINK_WEIGHTS)[0]
        target = rng.choice(targets)
        link_id, stamp = str(target[key]), max(stamp, str(target["created"]))
        return subject_row(
            rng, fake, sb_id=i + 1, link_type=link_type, link_id=link_id, stamp=stamp
        )

    subjects = audited(SUBJECT_COUNT, BULK_SHARE_OTHER, subject)
    attached = sorted(rng.choices(range(1, SUBJECT_COUNT + 1), k=ATTACHMENT_COUNT))
    attachments = [_attachment_row(rng, fake, i + 1, sb_id) for i, sb_id in enumerate(attached)]
    k01 = audited(
        CUSTOM_K01_COUNT,
        BULK_SHARE_OTHER,
        lambda i, stamp: custom_k01_row(rng, fake, sq_no=i + 1, stamp=stamp),
    )
    k01 = [
        {**row, "modified": None} if i % K01_UNDATED_EVERY == 0 else row
        for i, row in enumerate(k01)
    ]
    if not conn.in_transaction:
        conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO administrations (admin_id, name) VALUES (?, ?)",
        [(int(code), name) for code, name in ADMINISTRATION_VALUES],
    )
    for table, table_rows in (
        ("persons", persons), ("organisations", organisations), ("employees", employees),
        ("debtors", debtors), ("subjects", subjects), ("subject_attachments", attachments),
        ("custom_k01", k01), ("contacts", contact_rows(seed, organisations, persons)),
    ):  # fmt: skip
        _insert(conn, table, table_rows)
    columns, marks = ", ".join(TRANSACTION_COLUMNS), ", ".join("?" * len(TRANSACTION_COLUMNS))
    sql = f"INSERT INTO transactions ({columns}) VALUES ({marks})"
    conn.executemany(sql, transaction_lines(rng, rows))  # streamed: memory stays flat
    conn.commit()
