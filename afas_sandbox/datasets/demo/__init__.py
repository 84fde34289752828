"""The demo environment: realistic Dutch HR, CRM and finance data behind AFAS connectors."""

from __future__ import annotations

import sqlite3
from typing import Any

from afas_sandbox.auth import AppConnector, SandboxToken, demo_token_data
from afas_sandbox.datasets import Dataset
from afas_sandbox.datasets.demo import files as demo_files
from afas_sandbox.datasets.demo import generate
from afas_sandbox.datasets.demo.contacts import ContactWriter
from afas_sandbox.datasets.demo.entities import entity_ops
from afas_sandbox.datasets.demo.getconnectors import GET_CONNECTORS
from afas_sandbox.datasets.demo.relations import (
    ORGANISATION_KIND,
    PERSON_KIND,
    RelationWriter,
)
from afas_sandbox.datasets.demo.tables import DDL
from afas_sandbox.datasets.demo.updateconnectors import UPDATE_CONNECTORS
from afas_sandbox.datasets.demo.writers import (
    CustomK01Writer,
    EmployeeWriter,
    EntryWriter,
    SubjectWriter,
)

# 2: undated free-table rows; 3: decimals stored as exact text; 4: contacts (KnContact,
# Profit_Contacts) and multi-line Dutch memo texts; 5: demo files and images (demo_files.py)
DATASET_VERSION = "5"
DEFAULT_TRANSACTION_ROWS = 20_000

FULL_ACCESS = AppConnector(name="Singer integratie (volledig)", user="12345.SINGER")
LIMITED_ACCESS = AppConnector(
    name="HR-portaal (beperkt)",
    user="12345.HRPORTAAL",
    get_connectors=frozenset({"Profit_Administrations", "Profit_Employees", "Profit_Persons"}),
    update_connectors=frozenset({"KnPerson"}),
    other_connectors=frozenset(),  # no SubjectConnector: the dossier's files are refused
)
IP_RESTRICTED = AppConnector(
    name="Rapportage (IP-beperkt)",
    user="12345.RAPPORTAGE",
    allowed_ips=frozenset({"192.0.2.10"}),
)


def tokens() -> tuple[SandboxToken, ...]:
    return (
        SandboxToken("full", demo_token_data("full"), FULL_ACCESS),
        SandboxToken("limited", demo_token_data("limited"), LIMITED_ACCESS),
        SandboxToken("ip_restricted", demo_token_data("ip_restricted"), IP_RESTRICTED),
    )


def _populate_empty(conn: sqlite3.Connection, *, seed: int, rows: int) -> None:
    conn.executemany(
        "INSERT INTO administrations VALUES (?, ?)",
        [(1, "Demo Holding B.V."), (2, "Demo Services B.V."), (3, "Demo Stichting")],
    )


def _populate_demo(conn: sqlite3.Connection, *, seed: int, rows: int) -> None:
    generate.populate(conn, seed=seed, rows=rows)
    demo_files.populate(conn)


def subject_file(conn: sqlite3.Connection, sb_id: int, file_id: str) -> tuple[str, str, str] | None:
    row = conn.execute(
        "SELECT file_name, mime_type, data FROM subject_attachments"
        " WHERE sb_id = ? AND file_id = ?",
        (sb_id, file_id),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def dataset(*, empty: bool = False) -> Dataset:
    writers: dict[str, Any] = {
        "KnPerson": RelationWriter(PERSON_KIND),
        "KnOrganisation": RelationWriter(
            ORGANISATION_KIND, {"KnContact": ContactWriter(RelationWriter(PERSON_KIND))}
        ),
        "KnSubject": SubjectWriter(),
        "KnEmployee": EmployeeWriter(),
        "FiEntries": EntryWriter(),
        "KnCustomK01": CustomK01Writer(),
    }
    return Dataset(
        name="empty" if empty else "demo",
        version=DATASET_VERSION,
        ddl=DDL + demo_files.DDL,
        populate=_populate_empty if empty else _populate_demo,
        default_rows=0 if empty else DEFAULT_TRANSACTION_ROWS,
        get_connectors=GET_CONNECTORS + demo_files.GET_CONNECTORS,
        update_connectors=UPDATE_CONNECTORS,
        writers=writers,
        entities=entity_ops(),
        tokens=tokens(),
        subject_files=subject_file,
        make_faker=generate.make_faker,
    )
