"""Writers for KnSubject, KnEmployee (AfasEmployee), FiEntries (FiEntryPar) and KnCustomK01.

KnPerson and KnOrganisation live in ``relations.py``. Every write stamps ``modified`` with the
request's time, so the change shows up in the matching GetConnector's incremental filter.
"""

from __future__ import annotations

import mimetypes
import uuid
from decimal import Decimal

from afas_sandbox.datasets.demo.relations import PERSON_KIND, RelationWriter
from afas_sandbox.datasets.demo.rows import (
    ENTITY_CUSTOM_K01,
    ENTITY_EMPLOYEE,
    ENTITY_ENTRY_LINE,
    ENTITY_SUBJECT,
    columns_of,
    exists,
    insert_row,
    next_int,
    update_row,
)
from afas_sandbox.datasets.demo.updateconnectors import (
    U_ACTIVE,
    U_BUDGET,
    U_PROJECT_NAME,
    U_START_DATE,
    U_STATUS,
)
from afas_sandbox.responses import ERROR_VALUE_DOES_NOT_EXIST
from afas_sandbox.updates.writer import DeleteTarget, Element, WriteContext

SUBJECT_COLUMNS = {"StId": "type_id", "Ds": "subject", "SbTx": "body", "Da": "subject_date"}
SUBJECT_LINK_COLUMNS = {"DoCRM": "link_crm", "SfTp": "link_type", "SfId": "link_id"}
LINK_TARGETS = {1: ("organisations", "bc_co"), 2: ("persons", "bc_co"), 3: ("employees", "em_id")}
CONTRACT_COLUMNS = {
    "DaBe": "start_date",
    "DaEe": "end_date",
    "FuId": "function_code",
    "DpId": "department_code",
    "HrWk": "hours_per_week",
}
CUSTOM_K01_COLUMNS = {
    U_PROJECT_NAME: "project_name",
    U_BUDGET: "budget",
    U_START_DATE: "start_date",
    U_ACTIVE: "active",
    U_STATUS: "status",
}


def _single_key(ctx: WriteContext, target: DeleteTarget, field: str, object_name: str) -> str:
    (_, keys), *rest = target.path
    if rest or field not in keys:
        raise ctx.reject("key_required", field=field, object=object_name)
    return keys[field]


class SubjectWriter:
    """KnSubject with its KnSubjectLink (destination) and KnSubjectAttachment (files)."""

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        sb_id = next_int(ctx.conn, "SELECT max(sb_id) FROM subjects", 1)
        values = {
            "sb_id": sb_id,
            **columns_of(element, SUBJECT_COLUMNS),
            **self._link(ctx, element),
        }
        values["created"] = values["modified"] = ctx.stamp
        insert_row(ctx.conn, "subjects", values)
        self._attachments(ctx, element, sb_id)
        return {"SbId": str(sb_id)}

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        sb_id = element.value("SbId")
        if sb_id is None:
            raise ctx.reject("key_required", field="SbId", object="KnSubject")
        values = {**columns_of(element, SUBJECT_COLUMNS), **self._link(ctx, element)}
        if update_row(ctx.conn, "subjects", {"sb_id": sb_id}, values, ctx.stamp) == 0:
            raise ctx.reject("record_missing", key=sb_id, object="KnSubject")
        self._attachments(ctx, element, int(sb_id))
        return {"SbId": str(sb_id)}

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None:
        sb_id = _single_key(ctx, target, "SbId", "KnSubject")
        if ctx.conn.execute("DELETE FROM subjects WHERE sb_id = ?", (sb_id,)).rowcount == 0:
            raise ctx.reject("record_missing", key=sb_id, object="KnSubject")
        ctx.conn.execute("DELETE FROM subject_attachments WHERE sb_id = ?", (sb_id,))
        ctx.log_delete(ENTITY_SUBJECT, str(sb_id))

    def _link(self, ctx: WriteContext, element: Element) -> dict[str, object]:
        link = element.one("KnSubjectLink")
        if link is None:
            return {}
        values = columns_of(link, SUBJECT_LINK_COLUMNS)
        kind, target = link.value("SfTp"), link.value("SfId")
        if target is not None:
            table, column = LINK_TARGETS.get(int(kind or 0), ("", ""))
            if not table or not exists(ctx.conn, table, column, target):
                raise ctx.reject("not_exist", ERROR_VALUE_DOES_NOT_EXIST, label="Bestemming")
        return values

    def _attachments(self, ctx: WriteContext, element: Element, sb_id: int) -> None:
        for attachment in element.objects.get("KnSubjectAttachment", []):
            name = str(attachment.value("FileName"))
            attachment_id = next_int(
                ctx.conn, "SELECT max(attachment_id) FROM subject_attachments", 1
            )
            insert_row(
                ctx.conn,
                "subject_attachments",
                {
                    "attachment_id": attachment_id,
                    "sb_id": sb_id,
                    "file_id": uuid.uuid4().hex.upper(),
                    "file_name": name,
                    "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
                    "data": attachment.value("FileStream"),
                },
            )


class EmployeeWriter:
    """KnEmployee: root AfasEmployee with a nested KnPerson, AfasContract and AfasSalary."""

    def __init__(self) -> None:
        self.persons = RelationWriter(PERSON_KIND)

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        em_id = element.value("EmId")
        if em_id is None:
            number = next_int(ctx.conn, "SELECT max(CAST(em_id AS INTEGER)) FROM employees", 1001)
            em_id = f"{number:09d}"
        elif exists(ctx.conn, "employees", "em_id", em_id):
            raise ctx.reject("record_exists", key=em_id, object="AfasEmployee")
        person = element.one("KnPerson")
        if person is None:
            raise ctx.reject("mandatory", label="Persoon", field="KnPerson", object="AfasEmployee")
        person_result = self.persons.insert(ctx, person)
        values = {
            "em_id": em_id,
            "person_bc_co": person_result["BcCo"],
            "blocked": element.value("Bl") or 0,
            **self._employment(element),
        }
        values["created"] = values["modified"] = ctx.stamp
        insert_row(ctx.conn, "employees", values)
        return {"EmId": str(em_id)}

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        em_id = element.value("EmId")
        if em_id is None:
            raise ctx.reject("key_required", field="EmId", object="AfasEmployee")
        row = ctx.conn.execute(
            "SELECT person_bc_co FROM employees WHERE em_id = ?", (em_id,)
        ).fetchone()
        if row is None:
            raise ctx.reject("record_missing", key=em_id, object="AfasEmployee")
        values = {**self._employment(element)}
        if element.has("Bl"):
            values["blocked"] = element.value("Bl") or 0
        person = element.one("KnPerson")
        if person is not None:
            person.fields.pop("BcCo", None)
            person.fields.pop("MatchPer", None)
            person.fields["BcCo"] = row[0]
            self.persons.update(ctx, person)
        update_row(ctx.conn, "employees", {"em_id": em_id}, values, ctx.stamp)
        return {"EmId": str(em_id)}

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None:
        em_id = _single_key(ctx, target, "EmId", "AfasEmployee")
        if ctx.conn.execute("DELETE FROM employees WHERE em_id = ?", (em_id,)).rowcount == 0:
            raise ctx.reject("record_missing", key=em_id, object="AfasEmployee")
        ctx.log_delete(ENTITY_EMPLOYEE, em_id)

    @staticmethod
    def _employment(element: Element) -> dict[str, object]:
        values: dict[str, object] = {}
        contract = element.one("AfasContract")
        if contract is not None:
            values.update(columns_of(contract, CONTRACT_COLUMNS))
        salary = element.one("AfasSalary")
        if salary is not None and salary.has("EmSa"):
            values["salary"] = salary.value("EmSa")
        return values


class EntryWriter:
    """FiEntries: a journal entry (FiEntryPar) with its lines; balanced, or refused."""

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        lines = element.objects.get("FiEntries", [])
        if not lines:
            raise ctx.reject("no_element", object="FiEntries")
        debit = sum((Decimal(str(x.value("AmDe") or 0)) for x in lines), Decimal(0))
        credit = sum((Decimal(str(x.value("AmCr") or 0)) for x in lines), Decimal(0))
        if debit != credit:
            raise ctx.reject("unbalanced", debit=f"{debit:.2f}", credit=f"{credit:.2f}")
        unit = int(element.value("UnId"))
        entry_no = next_int(
            ctx.conn, f"SELECT max(entry_no) FROM transactions WHERE unit_id = {unit}", 10001
        )
        for seq_no, line in enumerate(lines, start=1):
            if line.value("VaAs") == "2" and not exists(
                ctx.conn, "debtors", "debtor_id", line.value("AcNr")
            ):
                raise ctx.reject("not_exist", ERROR_VALUE_DOES_NOT_EXIST, label="Rekeningnummer")
            insert_row(
                ctx.conn,
                "transactions",
                {
                    "unit_id": unit,
                    "entry_no": entry_no,
                    "seq_no": seq_no,
                    "year": element.value("Year"),
                    "period": element.value("Peri"),
                    "journal_id": element.value("JoCo"),
                    "account_kind": line.value("VaAs"),
                    "account_no": line.value("AcNr"),
                    "description": line.value("Ds"),
                    "entry_date": line.value("EnDa"),
                    "document_date": line.value("BpDa"),
                    "document_no": line.value("BpNr"),
                    "amount_debit": line.value("AmDe"),
                    "amount_credit": line.value("AmCr"),
                    "created": ctx.stamp,
                    "modified": ctx.stamp,
                },
            )
        return {"UnId": str(unit), "EnNo": str(entry_no)}

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        raise ctx.reject("bad_action", action="update", object="FiEntryPar")

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None:
        """``FiEntryPar/UnId,JoCo/{unit},{journal}/FiEntries/EnNo/{entry}`` deletes an entry."""
        if len(target.path) != 2:
            raise ctx.reject("key_required", field="FiEntries/EnNo", object="FiEntryPar")
        (_, parent), (_, child) = target.path
        if "UnId" not in parent or "EnNo" not in child:
            raise ctx.reject("key_required", field="UnId, EnNo", object="FiEntryPar")
        where = "unit_id = ? AND entry_no = ?"
        params: list[object] = [parent["UnId"], child["EnNo"]]
        if "JoCo" in parent:
            where += " AND journal_id = ?"
            params.append(parent["JoCo"])
        seqs = ctx.conn.execute(f"SELECT seq_no FROM transactions WHERE {where}", params).fetchall()
        if not seqs:
            raise ctx.reject("record_missing", key=child["EnNo"], object="FiEntries")
        ctx.conn.execute(f"DELETE FROM transactions WHERE {where}", params)
        for (seq_no,) in seqs:
            ctx.log_delete(ENTITY_ENTRY_LINE, f"{parent['UnId']},{child['EnNo']},{seq_no}")


class CustomK01Writer:
    """KnCustomK01: a free table keyed by ``@SqNo``, with custom (U + 32 hex) fields."""

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        sq_no = element.value("SqNo")
        if sq_no is None:
            sq_no = next_int(ctx.conn, "SELECT max(sq_no) FROM custom_k01", 1)
        elif exists(ctx.conn, "custom_k01", "sq_no", sq_no):
            raise ctx.reject("record_exists", key=sq_no, object="KnCustomK01")
        values = {"sq_no": sq_no, **columns_of(element, CUSTOM_K01_COLUMNS), "modified": ctx.stamp}
        insert_row(ctx.conn, "custom_k01", values)
        return {"SqNo": str(sq_no)}

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        sq_no = element.value("SqNo")
        if sq_no is None:
            raise ctx.reject("key_required", field="SqNo", object="KnCustomK01")
        values = columns_of(element, CUSTOM_K01_COLUMNS)
        if update_row(ctx.conn, "custom_k01", {"sq_no": sq_no}, values, ctx.stamp) == 0:
            raise ctx.reject("record_missing", key=sq_no, object="KnCustomK01")
        return {"SqNo": str(sq_no)}

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None:
        sq_no = _single_key(ctx, target, "SqNo", "KnCustomK01")
        if ctx.conn.execute("DELETE FROM custom_k01 WHERE sq_no = ?", (sq_no,)).rowcount == 0:
            raise ctx.reject("record_missing", key=sq_no, object="KnCustomK01")
        ctx.log_delete(ENTITY_CUSTOM_K01, sq_no)
