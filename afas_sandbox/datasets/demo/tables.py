"""SQLite tables of the demo environment: the entities behind its Get- and UpdateConnectors.

Conventions that the connector definitions rely on:
- strings that AFAS compares case-insensitively (SQL Server's default collation) are
  ``COLLATE NOCASE``, so filters, ordering and indexes agree;
- dates are stored as ``YYYY-MM-DDT00:00:00``, times as ``1900-01-01THH:MM:SS``, and audit
  timestamps as Amsterdam local time with microseconds (``YYYY-MM-DDTHH:MM:SS.ffffff``), so plain
  string comparison is chronological and a filter on the second compares the stored value;
- booleans are 0/1, blobs base64 text, decimals TEXT with their exact digits (a REAL keeps
  15), compared by value through the ``AFAS_DECIMAL`` collation (afas_sandbox/store.py).
"""

from __future__ import annotations

DDL = """
CREATE TABLE administrations (
    admin_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE
);
CREATE TABLE persons (
    bc_id INTEGER PRIMARY KEY,
    bc_co TEXT NOT NULL UNIQUE COLLATE NOCASE,
    search_name TEXT COLLATE NOCASE,
    call_name TEXT COLLATE NOCASE,
    first_name TEXT COLLATE NOCASE,
    initials TEXT COLLATE NOCASE,
    prefix TEXT COLLATE NOCASE,
    last_name TEXT NOT NULL COLLATE NOCASE,
    gender TEXT COLLATE NOCASE,
    birth_date TEXT,
    bsn TEXT COLLATE NOCASE,
    email TEXT COLLATE NOCASE,
    phone TEXT COLLATE NOCASE,
    mobile TEXT COLLATE NOCASE,
    street TEXT COLLATE NOCASE,
    house_number INTEGER,
    house_number_add TEXT COLLATE NOCASE,
    zip_code TEXT COLLATE NOCASE,
    city TEXT COLLATE NOCASE,
    country TEXT COLLATE NOCASE,
    member_number TEXT COLLATE NOCASE,
    newsletter INTEGER,
    photo TEXT,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX persons_modified ON persons (modified, bc_co);
CREATE TABLE organisations (
    bc_id INTEGER PRIMARY KEY,
    bc_co TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    coc_number TEXT COLLATE NOCASE,
    fiscal_number TEXT COLLATE NOCASE,
    legal_form TEXT COLLATE NOCASE,
    email TEXT COLLATE NOCASE,
    phone TEXT COLLATE NOCASE,
    website TEXT COLLATE NOCASE,
    street TEXT COLLATE NOCASE,
    house_number INTEGER,
    house_number_add TEXT COLLATE NOCASE,
    zip_code TEXT COLLATE NOCASE,
    city TEXT COLLATE NOCASE,
    country TEXT COLLATE NOCASE,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX organisations_modified ON organisations (modified, bc_co);
CREATE TABLE contacts (
    cd_id INTEGER PRIMARY KEY,
    organisation_bc_co TEXT NOT NULL COLLATE NOCASE,
    kind TEXT NOT NULL COLLATE NOCASE,
    person_bc_co TEXT COLLATE NOCASE,
    department TEXT COLLATE NOCASE,
    job_title TEXT COLLATE NOCASE,
    email TEXT COLLATE NOCASE,
    phone TEXT COLLATE NOCASE,
    mobile TEXT COLLATE NOCASE,
    remark TEXT COLLATE NOCASE,
    blocked INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX contacts_modified ON contacts (modified, cd_id);
CREATE INDEX contacts_organisation ON contacts (organisation_bc_co);
CREATE TABLE employees (
    em_id TEXT PRIMARY KEY COLLATE NOCASE,
    person_bc_co TEXT NOT NULL COLLATE NOCASE,
    blocked INTEGER NOT NULL DEFAULT 0,
    start_date TEXT,
    end_date TEXT,
    function_code TEXT COLLATE NOCASE,
    department_code TEXT COLLATE NOCASE,
    hours_per_week TEXT,
    salary TEXT,
    work_start_time TEXT,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX employees_modified ON employees (modified, em_id);
CREATE TABLE debtors (
    debtor_id TEXT PRIMARY KEY COLLATE NOCASE,
    relation_bc_co TEXT COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    credit_limit TEXT,
    payment_condition TEXT COLLATE NOCASE,
    blocked INTEGER NOT NULL DEFAULT 0,
    vat_number TEXT COLLATE NOCASE,
    balance TEXT,
    currency TEXT COLLATE NOCASE,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX debtors_modified ON debtors (modified, debtor_id);
CREATE TABLE subjects (
    sb_id INTEGER PRIMARY KEY,
    type_id INTEGER NOT NULL,
    subject TEXT COLLATE NOCASE,
    body TEXT COLLATE NOCASE,
    subject_date TEXT,
    subject_time TEXT,
    link_crm INTEGER,
    link_type INTEGER,
    link_id TEXT COLLATE NOCASE,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE INDEX subjects_modified ON subjects (modified, sb_id);
CREATE TABLE subject_attachments (
    attachment_id INTEGER PRIMARY KEY,
    sb_id INTEGER NOT NULL,
    file_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    file_name TEXT NOT NULL COLLATE NOCASE,
    mime_type TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX subject_attachments_sb_id ON subject_attachments (sb_id);
CREATE TABLE transactions (
    unit_id INTEGER NOT NULL,
    entry_no INTEGER NOT NULL,
    seq_no INTEGER NOT NULL,
    year INTEGER NOT NULL,
    period INTEGER NOT NULL,
    journal_id TEXT NOT NULL COLLATE NOCASE,
    account_kind TEXT NOT NULL COLLATE NOCASE,
    account_no TEXT NOT NULL COLLATE NOCASE,
    description TEXT COLLATE NOCASE,
    entry_date TEXT NOT NULL,
    document_date TEXT,
    document_no TEXT COLLATE NOCASE,
    amount_debit TEXT,
    amount_credit TEXT,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    PRIMARY KEY (unit_id, entry_no, seq_no)
);
CREATE INDEX transactions_modified ON transactions (modified, unit_id, entry_no, seq_no);
CREATE TABLE custom_k01 (
    sq_no INTEGER PRIMARY KEY,
    project_name TEXT NOT NULL COLLATE NOCASE,
    budget TEXT,
    start_date TEXT,
    active INTEGER,
    status TEXT COLLATE NOCASE,
    modified TEXT
);
CREATE INDEX custom_k01_modified ON custom_k01 (modified, sq_no);
CREATE TABLE deleted_log (
    log_id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL COLLATE NOCASE,
    entity_key TEXT NOT NULL COLLATE NOCASE,
    mutation TEXT NOT NULL COLLATE NOCASE,
    user_id TEXT COLLATE NOCASE,
    at TEXT NOT NULL
);
CREATE INDEX deleted_log_at ON deleted_log (at, log_id);
"""
