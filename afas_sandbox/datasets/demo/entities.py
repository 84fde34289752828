"""How the world changes each demo table (the ``EntityOps`` behind ``World.mutate``)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from typing import Any

from afas_sandbox.datasets.demo import generate
from afas_sandbox.datasets.demo.journal import transaction_rows
from afas_sandbox.datasets.demo.rows import (
    ENTITY_CUSTOM_K01,
    ENTITY_DEBTOR,
    ENTITY_EMPLOYEE,
    ENTITY_ENTRY_LINE,
    ENTITY_ORGANISATION,
    ENTITY_PERSON,
    ENTITY_SUBJECT,
    insert_row,
    next_int,
    random_key,
    random_rowids,
    update_row,
)
from afas_sandbox.updates.writer import WriteContext

Row = dict[str, Any]


class SimpleEntity:
    """A table with a one-column key: insert a generated row, change some columns, delete one.

    ``changing`` names the columns an update copies from a freshly generated row.
    """

    def __init__(
        self,
        *,
        table: str,
        key: str,
        entity: str,
        changing: tuple[str, ...],
        make: Callable[[WriteContext, random.Random, Any], Row],
        deletable: str = "1",
    ) -> None:
        self.table = table
        self.key = key
        self.entity = entity
        self.changing = changing
        self.make = make
        self.deletable = deletable

    def insert(self, ctx: WriteContext, rng: random.Random, fake: Any) -> list[str]:
        row = self.make(ctx, rng, fake)
        insert_row(ctx.conn, self.table, row)
        return [str(row[self.key])]

    def pick(self, conn: sqlite3.Connection, rng: random.Random, count: int) -> list[int]:
        return random_rowids(conn, rng, self.table, count)

    def update(self, ctx: WriteContext, rng: random.Random, fake: Any, rowid: int) -> list[str]:
        (key,) = ctx.conn.execute(
            f"SELECT {self.key} FROM {self.table} WHERE rowid = ?", (rowid,)
        ).fetchone()
        fresh = self.make(ctx, rng, fake)
        values = {column: fresh[column] for column in self.changing}
        update_row(ctx.conn, self.table, {self.key: key}, values, ctx.stamp)
        return [str(key)]

    def delete(self, ctx: WriteContext, rng: random.Random) -> list[str]:
        key = random_key(ctx.conn, rng, self.table, self.key, self.deletable)
        if key is None:
            return []
        ctx.conn.execute(f"DELETE FROM {self.table} WHERE {self.key} = ?", (key,))
        if self.table == "subjects":
            ctx.conn.execute("DELETE FROM subject_attachments WHERE sb_id = ?", (key,))
        ctx.log_delete(self.entity, str(key))
        return [str(key)]


def _new_person(ctx: WriteContext, rng: random.Random, fake: Any) -> Row:
    bc_id = next_int(ctx.conn, "SELECT max(bc_id) FROM persons", 1)
    bc_co = next_int(ctx.conn, "SELECT max(CAST(bc_co AS INTEGER)) FROM persons", 100001)
    return generate.person_row(rng, fake, bc_id=bc_id, bc_co=str(bc_co), stamp=ctx.stamp)


def _new_organisation(ctx: WriteContext, rng: random.Random, fake: Any) -> Row:
    bc_id = next_int(ctx.conn, "SELECT max(bc_id) FROM organisations", 100001)
    bc_co = next_int(ctx.conn, "SELECT max(CAST(bc_co AS INTEGER)) FROM organisations", 200001)
    return generate.organisation_row(rng, fake, bc_id=bc_id, bc_co=str(bc_co), stamp=ctx.stamp)


def _new_employee(ctx: WriteContext, rng: random.Random, fake: Any) -> Row:
    person = _new_person(ctx, rng, fake)
    insert_row(ctx.conn, "persons", person)
    number = next_int(ctx.conn, "SELECT max(CAST(em_id AS INTEGER)) FROM employees", 1001)
    return generate.employee_row(
        rng, fake, em_id=f"{number:09d}", person_bc_co=person["bc_co"], stamp=ctx.stamp
    )


def _new_debtor(ctx: WriteContext, rng: random.Random, fake: Any) -> Row:
    relation = ctx.conn.execute(
        "SELECT bc_co, name FROM organisations ORDER BY rowid LIMIT 1 OFFSET ?",
        (
            rng.randrange(
                max(1, ctx.conn.execute("SELECT count(*) FROM organisations").fetchone()[0])
            ),
        ),
    ).fetchone()
    bc_co, name = relation if relation else (None, fake.company())
    number = next_int(ctx.conn, "SELECT max(CAST(debtor_id AS INTEGER)) FROM debtors", 10001)
    return generate.debtor_row(
        rng, fake, debtor_id=str(number), relation_bc_co=bc_co, name=name, stamp=ctx.stamp
    )


def _new_subject(ctx: WriteContext, rng: random.Random, fake: Any) -> Row:
    sb_id = next_int(ctx.conn, "SELECT max(sb_id) FROM subjects", 1)
    person = random_key(ctx.conn, rng, "persons", "bc_co")
    return generate.subject_row(
        rng, fake, sb_id=sb_id, link_type=2, link_id=str(person), stamp=ctx.stamp
    )


def _new_custom(ctx: WriteContext, rng: random.Random, fake: Any) -> Row:
    sq_no = next_int(ctx.conn, "SELECT max(sq_no) FROM custom_k01", 1)
    return generate.custom_k01_row(rng, fake, sq_no=sq_no, stamp=ctx.stamp)


class TransactionEntity:
    """Journal entries: an insert books a balanced entry, a delete removes a whole entry."""

    def insert(self, ctx: WriteContext, rng: random.Random, fake: Any) -> list[str]:
        unit = rng.randint(1, 3)
        entry_no = next_int(
            ctx.conn, f"SELECT max(entry_no) FROM transactions WHERE unit_id = {unit}", 10001
        )
        rows = transaction_rows(rng, unit_id=unit, entry_no=entry_no, stamp=ctx.stamp)
        for row in rows:
            insert_row(ctx.conn, "transactions", row)
        return [f"{unit},{entry_no},{row['seq_no']}" for row in rows]

    def pick(self, conn: sqlite3.Connection, rng: random.Random, count: int) -> list[int]:
        return random_rowids(conn, rng, "transactions", count)

    def update(self, ctx: WriteContext, rng: random.Random, fake: Any, rowid: int) -> list[str]:
        unit, entry, seq = ctx.conn.execute(
            "SELECT unit_id, entry_no, seq_no FROM transactions WHERE rowid = ?", (rowid,)
        ).fetchone()
        values = {"description": f"Gecorrigeerd {rng.randint(1000, 9999)}"}
        update_row(ctx.conn, "transactions", {"rowid": rowid}, values, ctx.stamp)
        return [f"{unit},{entry},{seq}"]

    def delete(self, ctx: WriteContext, rng: random.Random) -> list[str]:
        rowid = random_key(ctx.conn, rng, "transactions", "rowid")
        if rowid is None:
            return []
        unit, entry = ctx.conn.execute(
            "SELECT unit_id, entry_no FROM transactions WHERE rowid = ?", (rowid,)
        ).fetchone()
        seqs = [
            s
            for (s,) in ctx.conn.execute(
                "SELECT seq_no FROM transactions WHERE unit_id = ? AND entry_no = ?", (unit, entry)
            )
        ]
        ctx.conn.execute(
            "DELETE FROM transactions WHERE unit_id = ? AND entry_no = ?", (unit, entry)
        )
        keys = [f"{unit},{entry},{s}" for s in seqs]
        for key in keys:
            ctx.log_delete(ENTITY_ENTRY_LINE, key)
        return keys


def entity_ops() -> dict[str, Any]:
    """The EntityOps of every changeable demo table, by table name."""
    return {
        "persons": SimpleEntity(
            table="persons",
            key="bc_co",
            entity=ENTITY_PERSON,
            changing=("email", "phone", "mobile", "street", "house_number", "zip_code", "city"),
            make=_new_person,
            deletable="bc_co NOT IN (SELECT person_bc_co FROM employees)",
        ),
        "organisations": SimpleEntity(
            table="organisations",
            key="bc_co",
            entity=ENTITY_ORGANISATION,
            changing=("email", "phone", "website", "street", "zip_code", "city"),
            make=_new_organisation,
        ),
        "employees": SimpleEntity(
            table="employees",
            key="em_id",
            entity=ENTITY_EMPLOYEE,
            changing=("hours_per_week", "salary", "function_code", "department_code"),
            make=_new_employee,
        ),
        "debtors": SimpleEntity(
            table="debtors",
            key="debtor_id",
            entity=ENTITY_DEBTOR,
            changing=("credit_limit", "balance", "blocked", "payment_condition"),
            make=_new_debtor,
        ),
        "subjects": SimpleEntity(
            table="subjects",
            key="sb_id",
            entity=ENTITY_SUBJECT,
            changing=("subject", "body"),
            make=_new_subject,
        ),
        "custom_k01": SimpleEntity(
            table="custom_k01",
            key="sq_no",
            entity=ENTITY_CUSTOM_K01,
            changing=("budget", "active", "status"),
            make=_new_custom,
        ),
        "transactions": TransactionEntity(),
    }
